package awssim

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SQS (AWS JSON 1.0, query-compatible): enough to consume an EventBridge
// target queue. Queue timings (visibility, long polling, delays) run on
// real time, as consumers do; timestamps use the simulated clock like the
// events they carry.

// sqsQueryCodes are the legacy query error codes the SDK reports through the
// X-Amzn-Query-Error header (awsQueryCompatible).
var sqsQueryCodes = map[string]string{
	"QueueDoesNotExist":    "AWS.SimpleQueueService.NonExistentQueue",
	"QueueNameExists":      "QueueAlreadyExists",
	"PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
}

// sqsErr is an SQS error; it sets the query-compatible header so the SDK's
// ErrorCode() is the classic code, as against real SQS.
func sqsErr(r *request, code, format string, args ...any) *APIError {
	if r != nil && r.w != nil {
		q := sqsQueryCodes[code]
		if q == "" {
			q = code
		}
		r.w.Header().Set("X-Amzn-Query-Error", q+";Sender")
	}
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: 400}
}

func sqsNoQueue(r *request) *APIError {
	return sqsErr(r, "QueueDoesNotExist", "The specified queue does not exist.")
}

// sqsDefaults are a new queue's attributes.
var sqsDefaults = map[string]string{
	"VisibilityTimeout":             "30",
	"MaximumMessageSize":            "262144",
	"MessageRetentionPeriod":        "345600",
	"DelaySeconds":                  "0",
	"ReceiveMessageWaitTimeSeconds": "0",
	"SqsManagedSseEnabled":          "true",
}

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// sqsBaseURLLocked is the endpoint queue URLs live under.
func (s *Sim) sqsBaseURLLocked() string {
	if s.listener != nil {
		return "http://" + s.listener.Addr().String()
	}
	return "http://127.0.0.1"
}

func (s *Sim) createQueueLocked(name string, attrs map[string]string) *Queue {
	if q := s.queues[name]; q != nil {
		return q
	}
	now := s.clock.Now()
	q := &Queue{
		Name:       name,
		URL:        s.sqsBaseURLLocked() + "/" + s.opts.AccountID + "/" + name,
		ARN:        "arn:aws:sqs:" + s.opts.Region + ":" + s.opts.AccountID + ":" + name,
		Attributes: map[string]string{},
		waiters:    make(chan struct{}),
	}
	for k, v := range sqsDefaults {
		q.Attributes[k] = v
	}
	for k, v := range attrs {
		q.Attributes[k] = v
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	q.Attributes["CreatedTimestamp"], q.Attributes["LastModifiedTimestamp"] = ts, ts
	if s.queues == nil {
		s.queues = map[string]*Queue{}
	}
	s.queues[name] = q
	return q
}

// queueByURLLocked resolves a QueueUrl: <endpoint>/<account>/<name>.
func (s *Sim) queueByURLLocked(r *request, url string) (*Queue, *APIError) {
	if url == "" {
		return nil, sqsErr(r, "InvalidAddress", "The address %s is not valid for this endpoint.", url)
	}
	parts := strings.Split(strings.TrimRight(url, "/"), "/")
	if len(parts) < 2 {
		return nil, sqsErr(r, "InvalidAddress", "The address %s is not valid for this endpoint.", url)
	}
	name, account := parts[len(parts)-1], parts[len(parts)-2]
	q := s.queues[name]
	if q == nil || account != s.opts.AccountID {
		return nil, sqsNoQueue(r)
	}
	return q, nil
}

func decodeSQS(r *request, v any) *APIError {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return sqsErr(r, "InvalidParameterValue", "The request body could not be parsed: %v", err)
	}
	return nil
}

func (s *Sim) sqsCreateQueue(r *request) (any, *APIError) {
	var in struct {
		QueueName  string
		Attributes map[string]string
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	if !queueNameRE.MatchString(in.QueueName) {
		return nil, sqsErr(r, "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	for k := range in.Attributes {
		if _, ok := sqsDefaults[k]; !ok && k != "Policy" && k != "RedrivePolicy" {
			return nil, sqsErr(r, "InvalidAttributeName", "Unknown Attribute %s.", k)
		}
	}
	if q := s.queues[in.QueueName]; q != nil {
		for k, v := range in.Attributes {
			if q.Attributes[k] != v {
				return nil, sqsErr(r, "QueueNameExists", "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
	}
	q := s.createQueueLocked(in.QueueName, in.Attributes)
	return map[string]string{"QueueUrl": q.URL}, nil
}

func (s *Sim) sqsGetQueueURL(r *request) (any, *APIError) {
	var in struct{ QueueName string }
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q := s.queues[in.QueueName]
	if q == nil {
		return nil, sqsNoQueue(r)
	}
	return map[string]string{"QueueUrl": q.URL}, nil
}

// queueCounts counts visible, in-flight and delayed messages.
func queueCounts(q *Queue, now time.Time) (visible, inflight, delayed int) {
	for _, m := range q.messages {
		switch {
		case !now.Before(m.visibleAt):
			visible++
		case m.ReceiveCount > 0:
			inflight++
		default:
			delayed++
		}
	}
	return
}

func (s *Sim) sqsGetQueueAttributes(r *request) (any, *APIError) {
	var in struct {
		QueueURL       string `json:"QueueUrl"`
		AttributeNames []string
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	visible, inflight, delayed := queueCounts(q, time.Now())
	all := map[string]string{
		"QueueArn":                              q.ARN,
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inflight),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(delayed),
	}
	for k, v := range q.Attributes {
		all[k] = v
	}
	out := map[string]string{}
	for _, name := range in.AttributeNames {
		if name == "All" {
			out = all
			break
		}
		v, ok := all[name]
		if !ok {
			return nil, sqsErr(r, "InvalidAttributeName", "Unknown Attribute %s.", name)
		}
		out[name] = v
	}
	if len(out) == 0 {
		return struct{}{}, nil
	}
	return map[string]any{"Attributes": out}, nil
}

type sqsMessageJSON struct {
	MessageID     string            `json:"MessageId"`
	ReceiptHandle string            `json:"ReceiptHandle"`
	MD5OfBody     string            `json:"MD5OfBody"`
	Body          string            `json:"Body"`
	Attributes    map[string]string `json:"Attributes,omitempty"`
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sqsReceiveMessage long-polls: with no visible message it releases the
// lock and waits (real time) for a send, a visibility expiry, the wait
// time, or the client giving up.
func (s *Sim) sqsReceiveMessage(r *request) (any, *APIError) {
	var in struct {
		QueueURL                    string `json:"QueueUrl"`
		MaxNumberOfMessages         int
		WaitTimeSeconds             *int
		VisibilityTimeout           *int
		AttributeNames              []string
		MessageSystemAttributeNames []string
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	if in.MaxNumberOfMessages == 0 {
		in.MaxNumberOfMessages = 1
	}
	if in.MaxNumberOfMessages < 1 || in.MaxNumberOfMessages > 10 {
		return nil, sqsErr(r, "InvalidParameterValue", "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", in.MaxNumberOfMessages)
	}
	wait, _ := strconv.Atoi(q.Attributes["ReceiveMessageWaitTimeSeconds"])
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
	}
	if wait < 0 || wait > 20 {
		return nil, sqsErr(r, "InvalidParameterValue", "Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait)
	}
	visibility, _ := strconv.Atoi(q.Attributes["VisibilityTimeout"])
	if in.VisibilityTimeout != nil {
		visibility = *in.VisibilityTimeout
	}
	if visibility < 0 || visibility > 43200 {
		return nil, sqsErr(r, "InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", visibility)
	}
	attrNames := slices.Concat(in.AttributeNames, in.MessageSystemAttributeNames)

	ctx := context.Background()
	if r.http != nil {
		ctx = r.http.Context()
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		now := time.Now()
		if msgs := s.takeMessagesLocked(q, in.MaxNumberOfMessages, now, time.Duration(visibility)*time.Second, attrNames); len(msgs) > 0 || !now.Before(deadline) {
			return map[string]any{"Messages": msgs}, nil
		}
		// Wake for a new message, the next visibility expiry or the deadline.
		wake := deadline
		for _, m := range q.messages {
			if m.visibleAt.Before(wake) {
				wake = m.visibleAt
			}
		}
		arrived := q.waiters
		timer := time.NewTimer(time.Until(wake))
		s.mu.Unlock()
		stopped := false
		select {
		case <-arrived:
		case <-timer.C:
		case <-ctx.Done():
		case <-s.stop:
			stopped = true
		}
		timer.Stop()
		s.mu.Lock()
		if ctx.Err() != nil {
			return nil, sqsErr(r, "RequestCanceled", "The client closed the connection.")
		}
		if stopped || s.queues[q.Name] != q {
			return map[string]any{"Messages": []sqsMessageJSON{}}, nil // closing, or queue reset meanwhile
		}
	}
}

// takeMessagesLocked receives up to n visible messages, hiding each for
// the visibility timeout under a fresh receipt handle.
func (s *Sim) takeMessagesLocked(q *Queue, n int, now time.Time, visibility time.Duration, attrNames []string) []sqsMessageJSON {
	var out []sqsMessageJSON
	for _, m := range q.messages {
		if len(out) == n {
			break
		}
		if now.Before(m.visibleAt) {
			continue
		}
		m.ReceiveCount++
		m.visibleAt = now.Add(visibility)
		m.ReceiptHandle = newReceiptHandle(q.Name, m.ID)
		out = append(out, sqsMessageJSON{
			MessageID: m.ID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: md5Hex(m.Body), Body: m.Body,
			Attributes: messageAttributes(m, attrNames),
		})
	}
	return out
}

func messageAttributes(m *Message, names []string) map[string]string {
	all := map[string]string{
		"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount),
		"SentTimestamp":           strconv.FormatInt(m.SentAt.UnixMilli(), 10),
		"SenderId":                "AIDAIENQZJOLO23YVJ4VO",
	}
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Receipt handles name the queue and message, plus randomness so each
// receive gets a distinct handle.
func newReceiptHandle(queue, msgID string) string {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString([]byte(queue + "\x00" + msgID + "\x00" + hex.EncodeToString(nonce)))
}

func parseReceiptHandle(h string) (queue, msgID string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// sqsDeleteMessage deletes by receipt handle; a well-formed handle of a
// message already deleted succeeds, as on SQS.
func (s *Sim) sqsDeleteMessage(r *request) (any, *APIError) {
	var in struct {
		QueueURL      string `json:"QueueUrl"`
		ReceiptHandle string
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	queue, msgID, ok := parseReceiptHandle(in.ReceiptHandle)
	if !ok || queue != q.Name {
		return nil, sqsErr(r, "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", in.ReceiptHandle)
	}
	q.removeMessage(msgID)
	return struct{}{}, nil
}

func (s *Sim) sqsSendMessage(r *request) (any, *APIError) {
	var in struct {
		QueueURL     string `json:"QueueUrl"`
		MessageBody  string
		DelaySeconds *int
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	if in.MessageBody == "" {
		return nil, sqsErr(r, "MissingParameter", "The request must contain the parameter MessageBody.")
	}
	delay, _ := strconv.Atoi(q.Attributes["DelaySeconds"])
	if in.DelaySeconds != nil {
		delay = *in.DelaySeconds
	}
	if delay < 0 || delay > 900 {
		return nil, sqsErr(r, "InvalidParameterValue", "Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", delay)
	}
	m := s.enqueueLocked(q, in.MessageBody, time.Duration(delay)*time.Second, false)
	return map[string]string{"MessageId": m.ID, "MD5OfMessageBody": md5Hex(m.Body)}, nil
}

// enqueueLocked adds a message (at the front when front is set) and wakes
// long-polling receivers.
func (s *Sim) enqueueLocked(q *Queue, body string, delay time.Duration, front bool) *Message {
	m := &Message{ID: newUUID(), Body: body, SentAt: s.clock.Now(), visibleAt: time.Now().Add(delay)}
	if front {
		q.messages = append([]*Message{m}, q.messages...)
	} else {
		q.messages = append(q.messages, m)
	}
	close(q.waiters)
	q.waiters = make(chan struct{})
	return m
}

func (s *Sim) sqsPurgeQueue(r *request) (any, *APIError) {
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if apiErr := decodeSQS(r, &in); apiErr != nil {
		return nil, apiErr
	}
	q, apiErr := s.queueByURLLocked(r, in.QueueURL)
	if apiErr != nil {
		return nil, apiErr
	}
	q.messages = nil
	return struct{}{}, nil
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// CreateQueue creates a standard queue (or returns the existing one) and
// returns its URL.
func (s *Sim) CreateQueue(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createQueueLocked(name, nil).URL
}

// SendRawMessage puts body on a queue as SendMessage does (e.g. a malformed
// event).
func (s *Sim) SendRawMessage(queueName, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queueName]
	if q == nil {
		return fmt.Errorf("awssim: queue %q does not exist", queueName)
	}
	s.enqueueLocked(q, body, 0, false)
	return nil
}
