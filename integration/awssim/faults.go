package awssim

import (
	"crypto/rand"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an error injected into matching API calls.
type Fault struct {
	Service string `json:"service"`          // autoscaling, ec2, ec2-instance-connect, sqs
	Action  string `json:"action,omitempty"` // "" = every action of the service
	Code    string `json:"code,omitempty"`   // e.g. InternalFailure, Throttling
	Message string `json:"message,omitempty"`
	Status  int    `json:"status,omitempty"` // HTTP status; default by code (5xx for internal errors, else 400)
	// Count limits how many calls fail (0 = unlimited).
	Count int `json:"count,omitempty"`
	// Probability in (0,1] fails that share of matching calls (0 = always).
	Probability float64 `json:"probability,omitempty"`
	// Hang blocks the call until the client gives up (request context ends).
	Hang bool `json:"hang,omitempty"`
	// Reset closes the connection without any response.
	Reset bool `json:"reset,omitempty"`
	// DropResponse runs the call (it takes effect) and then closes the
	// connection without its answer: the ambiguous failure a timeout or a
	// lost reply leaves the caller with.
	DropResponse bool `json:"drop_response,omitempty"`
}

type activeFault struct {
	id string
	Fault
	hits int
}

// bucket is a token bucket refilled in real time: throttling protects a
// real service from real request rates, whatever the simulated speed.
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time) bool {
	b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type throttleConf struct {
	rate  float64
	burst int
}

// faults holds everything that makes calls fail or slow. It has its own lock
// because it is consulted before Sim.mu is taken (a hanging call must not
// block the world).
type faults struct {
	mu       sync.Mutex
	list     []*activeFault
	nextID   int
	latency  map[string]time.Duration // "service:Action" or "service:"
	throttle map[string]throttleConf  // by service
	buckets  map[string]*bucket       // by bucket name (see bucketName)
	expired  map[string]bool          // access keys whose token "expired"
	draws    *draws                   // the Sim's
}

func (f *faults) init() {
	f.list = nil
	f.latency = map[string]time.Duration{}
	f.throttle = map[string]throttleConf{}
	f.buckets = map[string]*bucket{}
	f.expired = map[string]bool{}
}

// defaultThrottles approximate AWS's published or observed defaults; they
// are only used when Options.Throttle is set. EC2 rates are per category
// (see bucketName); Auto Scaling has one bucket for all its APIs.
var defaultThrottles = map[string]throttleConf{
	svcAutoScaling:     {rate: 10, burst: 40},
	svcEC2:             {rate: 20, burst: 100},
	svcInstanceConnect: {rate: 10, burst: 20},
}

// bucketName maps a call to its token bucket: one shared bucket for all of
// Auto Scaling, EC2 buckets per API category, one per other service.
func bucketName(r *request) string {
	if r.Service != svcEC2 {
		return r.Service
	}
	a := r.Action
	if strings.HasPrefix(a, "Describe") || strings.HasPrefix(a, "Get") {
		for k := range r.Params {
			if strings.HasPrefix(k, "Filter.") || strings.HasPrefix(k, "MaxResults") || strings.Contains(k, "Id.") {
				return "ec2:non-mutating"
			}
		}
		return "ec2:unfiltered"
	}
	switch a {
	case "RunInstances", "TerminateInstances", "CreateLaunchTemplate", "CreateLaunchTemplateVersion",
		"DeleteLaunchTemplate", "CreateKeyPair", "ImportKeyPair", "DeleteKeyPair", "CreateTags", "DeleteTags":
		return "ec2:mutating"
	}
	return "ec2:uncategorized"
}

// throttleError is the service's own throttling error.
func throttleError(service string) *APIError {
	switch service {
	case svcAutoScaling:
		return &APIError{Code: "Throttling", Message: "Rate exceeded", Status: 400}
	case svcEC2:
		return &APIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded.", Status: 503}
	default:
		return &APIError{Code: "ThrottlingException", Message: "Rate exceeded", Status: 400}
	}
}

// errHijacked tells ServeHTTP the connection was taken over (reset fault):
// nothing must be written.
var errHijacked = &APIError{Code: "awssim.ConnectionReset"}

func (s *Sim) newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// beforeCall counts the call, applies injected latency, throttling and
// injected errors. Runs without s.mu.
func (s *Sim) beforeCall(r *request) *APIError {
	key := r.Service + ":" + r.Action
	s.mu.Lock()
	s.counters[key]++
	s.mu.Unlock()

	f := &s.faults
	f.mu.Lock()
	delay, ok := f.latency[key]
	if !ok {
		delay = f.latency[r.Service+":"]
	}
	f.mu.Unlock()
	if delay > 0 {
		if err := s.sleepReal(r, delay); err != nil {
			return err
		}
	}

	f.mu.Lock()
	if conf, ok := f.throttle[r.Service]; ok && conf.rate > 0 {
		name := bucketName(r)
		b := f.buckets[name]
		if b == nil {
			b = &bucket{rate: conf.rate, burst: float64(conf.burst), tokens: float64(conf.burst), last: time.Now()}
			f.buckets[name] = b
		}
		if !b.take(time.Now()) {
			f.mu.Unlock()
			return throttleError(r.Service)
		}
	}
	var hit *activeFault
	for i, af := range f.list {
		if af.Service != r.Service || (af.Action != "" && af.Action != r.Action) {
			continue
		}
		if af.Probability > 0 && af.Probability < 1 && f.draws.float64() >= af.Probability {
			continue
		}
		hit = af
		af.hits++
		if af.Count > 0 && af.hits >= af.Count {
			f.list = append(f.list[:i:i], f.list[i+1:]...)
		}
		break
	}
	f.mu.Unlock()
	if hit == nil {
		return nil
	}
	switch {
	case hit.Hang:
		select {
		case <-r.http.Context().Done():
		case <-s.stop:
		}
		return hit.apiError()
	case hit.Reset:
		resetConn(r.w)
		return errHijacked
	case hit.DropResponse:
		r.dropResponse = true
		return nil
	}
	return hit.apiError()
}

func (af *activeFault) apiError() *APIError {
	e := &APIError{Code: af.Code, Message: af.Message, Status: af.Status}
	if e.Code == "" {
		e.Code = "InternalFailure"
	}
	if e.Status == 0 {
		switch e.Code {
		case "InternalFailure", "InternalError", "InternalServerError", "ServiceException":
			e.Status = 500
		case "ServiceUnavailable", "Unavailable", "RequestLimitExceeded", "EC2InstanceUnavailableException":
			e.Status = 503
		default:
			e.Status = 400
		}
	}
	if e.Message == "" {
		switch e.Code {
		case "Throttling", "ThrottlingException":
			e.Message = "Rate exceeded"
		case "RequestLimitExceeded":
			e.Message = "Request limit exceeded."
		case "ScalingActivityInProgress":
			e.Message = "Scaling activity is in progress and blocks this action."
		case "ResourceContention":
			e.Message = "You already have a pending update to an Auto Scaling resource (for example, a group, instance, or load balancer)."
		default:
			e.Message = "An internal error occurred (injected " + e.Code + ", status " + strconv.Itoa(e.Status) + ")."
		}
	}
	return e
}

// resetConn closes the client connection abruptly (RST where possible).
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// sleepReal waits d of real time, ending early with the request.
func (s *Sim) sleepReal(r *request, d time.Duration) *APIError {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.http.Context().Done():
		return &APIError{Code: "RequestCanceled", Message: "client went away", Status: 499}
	case <-s.stop:
		return &APIError{Code: "ServiceUnavailable", Message: "simulator shutting down", Status: 503}
	}
}

// InjectFault makes matching calls fail and returns the fault's id (for
// RemoveFault).
func (s *Sim) InjectFault(f Fault) string {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.nextID++
	id := "fault-" + strconv.Itoa(s.faults.nextID)
	s.faults.list = append(s.faults.list, &activeFault{id: id, Fault: f})
	return id
}

// RemoveFault removes one injected fault; it reports whether it existed.
func (s *Sim) RemoveFault(id string) bool {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, af := range s.faults.list {
		if af.id == id {
			s.faults.list = append(s.faults.list[:i:i], s.faults.list[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every injected fault (latency and throttles stay).
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.list = nil
}

// SetLatency delays every call to service/action by d of real time before
// it is served; action "" applies to all actions of the service without
// their own setting; d = 0 removes the setting.
func (s *Sim) SetLatency(service, action string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	key := service + ":" + action
	if d <= 0 {
		delete(s.faults.latency, key)
		return
	}
	s.faults.latency[key] = d
}

// SetThrottle enables token-bucket throttling for a service: ratePerSec
// tokens refill per real second up to burst. Auto Scaling has one bucket
// for all its APIs (like the per-account bucket), EC2 one per API category,
// each with these numbers. ratePerSec <= 0 disables throttling.
func (s *Sim) SetThrottle(service string, ratePerSec float64, burst int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for name := range s.faults.buckets {
		if name == service || strings.HasPrefix(name, service+":") {
			delete(s.faults.buckets, name)
		}
	}
	if ratePerSec <= 0 {
		delete(s.faults.throttle, service)
		return
	}
	if burst < 1 {
		burst = 1
	}
	s.faults.throttle[service] = throttleConf{rate: ratePerSec, burst: burst}
}

// ExpireCredentials makes calls signed with accessKey fail as if its
// session token had expired (expired=false undoes it).
func (s *Sim) ExpireCredentials(accessKey string, expired bool) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if expired {
		s.faults.expired[accessKey] = true
	} else {
		delete(s.faults.expired, accessKey)
	}
}

func (s *Sim) credentialsExpired(accessKey string) bool {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.expired[accessKey]
}

// Calls returns a copy of the per-call counters ("autoscaling:SetDesiredCapacity" → n).
func (s *Sim) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counters))
	for k, v := range s.counters {
		out[k] = v
	}
	return out
}

// CallCount returns how many service/action calls were received (including
// throttled and failed ones).
func (s *Sim) CallCount(service, action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[service+":"+action]
}

// ResetCalls zeroes the call counters.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters = map[string]int{}
}
