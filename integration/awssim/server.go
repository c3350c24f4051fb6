package awssim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Service names as they appear in the SigV4 credential scope.
const (
	svcAutoScaling     = "autoscaling"
	svcEC2             = "ec2"
	svcInstanceConnect = "ec2-instance-connect"
	svcSQS             = "sqs"
)

// request is one parsed API call.
type request struct {
	Service   string
	Action    string
	Params    url.Values // AWS Query / EC2 Query form parameters
	Body      []byte     // JSON protocols: the raw request body
	AccessKey string
	RequestID string
	http      *http.Request
	w         http.ResponseWriter // for faults that hijack the connection
	// dropResponse: run the call, then reset the connection (Fault.DropResponse).
	dropResponse bool
}

// APIError is an error the way AWS reports it; each protocol encodes it in
// its own envelope.
type APIError struct {
	Code    string
	Message string
	Status  int // HTTP status; default 400
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func errf(code string, status int, format string, args ...any) *APIError {
	return &APIError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// handler serves one action. It runs with s.mu held. The result is encoded by
// the service's protocol: for the query protocols a struct whose XML encoding
// is the inner result (see writeQueryResult/writeEC2Result), for the JSON
// protocols any value json.Marshal encodes as the response body.
type handler func(s *Sim, r *request) (any, *APIError)

// credential scope: Credential=AKID/20260101/us-east-1/autoscaling/aws4_request
var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request,\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$`)

// ServeHTTP routes AWS API calls on the SigV4 credential scope and control
// calls under /_sim/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	if strings.HasPrefix(hr.URL.Path, "/_sim/") {
		s.serveControl(w, hr)
		return
	}
	body, err := io.ReadAll(io.LimitReader(hr.Body, 10<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r := &request{Body: body, http: hr, w: w, RequestID: s.newRequestID()}

	m := authRE.FindStringSubmatch(hr.Header.Get("Authorization"))
	if m == nil {
		// Without a scope we cannot tell the protocol; AWS answers unsigned
		// query calls with a query-style MissingAuthenticationToken.
		r.Service = guessService(hr, body)
		code, msg := "MissingAuthenticationToken", "Request is missing Authentication Token"
		if hr.Header.Get("Authorization") != "" {
			code, msg = "IncompleteSignature", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters, correctly formatted."
		}
		s.writeError(w, r, &APIError{Code: code, Message: msg, Status: http.StatusForbidden})
		return
	}
	r.AccessKey, r.Service = m[1], m[4]
	if region := m[3]; region != s.opts.Region {
		msg := fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", region)
		if r.Service == svcEC2 {
			s.writeError(w, r, &APIError{Code: "AuthFailure", Status: http.StatusUnauthorized, Message: msg})
		} else {
			s.writeError(w, r, sigMismatch(r.Service, msg))
		}
		return
	}
	if apiErr := s.checkSignature(hr, body, m); apiErr != nil {
		s.writeError(w, r, apiErr)
		return
	}

	switch r.Service {
	case svcAutoScaling, svcEC2:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			s.writeError(w, r, errf("MalformedQueryString", 400, "%v", err))
			return
		}
		r.Params = form
		r.Action = form.Get("Action")
	case svcInstanceConnect, svcSQS, svcEvents:
		// X-Amz-Target: AWSEC2InstanceConnectService.SendSSHPublicKey / AmazonSQS.ReceiveMessage
		t := hr.Header.Get("X-Amz-Target")
		r.Action = t[strings.LastIndex(t, ".")+1:]
	default:
		s.writeError(w, r, errf("UnrecognizedClientException", 400, "The security token included in the request is invalid for service %q.", r.Service))
		return
	}

	h := s.routes[r.Service][r.Action]
	if h == nil {
		s.writeError(w, r, errf("InvalidAction", 400, "The action %s is not valid for this web service.", r.Action))
		return
	}
	result, apiErr := s.call(r, h)
	if apiErr != nil {
		s.writeError(w, r, apiErr)
		return
	}
	s.writeResult(w, r, result)
}

// call counts the call, applies injected latency, throttling and faults,
// then runs the handler under the lock.
func (s *Sim) call(r *request, h handler) (any, *APIError) {
	if apiErr := s.beforeCall(r); apiErr != nil {
		return nil, apiErr
	}
	s.mu.Lock()
	s.advanceLocked()
	result, apiErr := h(s, r)
	s.mu.Unlock()
	if r.dropResponse {
		resetConn(r.w)
		return nil, errHijacked
	}
	return result, apiErr
}

func guessService(hr *http.Request, body []byte) string {
	if t := hr.Header.Get("X-Amz-Target"); t != "" {
		if strings.HasPrefix(t, "AmazonSQS") {
			return svcSQS
		}
		return svcInstanceConnect
	}
	if strings.Contains(string(body), "Version=2011-01-01") {
		return svcAutoScaling
	}
	return svcEC2
}

const (
	autoScalingNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
	ec2NS         = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

func (s *Sim) writeResult(w http.ResponseWriter, r *request, result any) {
	switch r.Service {
	case svcAutoScaling:
		writeQueryResult(w, r, result)
	case svcEC2:
		writeEC2Result(w, r, result)
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Service == svcSQS {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		}
		w.Header().Set("X-Amzn-RequestId", r.RequestID)
		if result == nil {
			result = struct{}{}
		}
		b, err := json.Marshal(result)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(b)
	}
}

// writeQueryResult writes <ActionResponse><ActionResult>…</ActionResult>…,
// the AWS Query envelope. result's own XML element name is ignored: its
// fields are written inside <ActionResult>.
func writeQueryResult(w http.ResponseWriter, r *request, result any) {
	inner, err := innerXML(result)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", r.RequestID)
	fmt.Fprintf(w, `<?xml version="1.0"?>`+"\n"+`<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		r.Action, autoScalingNS, r.Action, inner, r.Action, r.RequestID, r.Action)
}

// writeEC2Result writes <ActionResponse><requestId/>…</ActionResponse>, the
// EC2 Query envelope (no Result wrapper).
func writeEC2Result(w http.ResponseWriter, r *request, result any) {
	inner, err := innerXML(result)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>`,
		r.Action, ec2NS, r.RequestID, inner, r.Action)
}

// innerXML encodes v and strips its outer element, leaving its children.
func innerXML(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	// EncodeElement names the outer element itself, so anonymous struct
	// results work too.
	var buf strings.Builder
	buf.Grow(4096)
	if err := xml.NewEncoder(&buf).EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "result"}}); err != nil {
		return "", err
	}
	str := buf.String()
	open := strings.Index(str, ">")
	closeTag := strings.LastIndex(str, "</")
	if open < 0 || closeTag < open {
		return "", nil // self-closing: no children
	}
	return str[open+1 : closeTag], nil
}

func (s *Sim) writeError(w http.ResponseWriter, r *request, e *APIError) {
	if e == errHijacked {
		return
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	switch r.Service {
	case svcAutoScaling:
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-RequestId", r.RequestID)
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			autoScalingNS, typ, xmlEscape(e.Code), xmlEscape(e.Message), r.RequestID)
	case svcEC2:
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			xmlEscape(e.Code), xmlEscape(e.Message), r.RequestID)
	default:
		ct := "application/x-amz-json-1.1"
		if r.Service == svcSQS {
			ct = "application/x-amz-json-1.0"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Amzn-RequestId", r.RequestID)
		w.Header().Set("X-Amzn-ErrorType", e.Code)
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
		_, _ = w.Write(b)
	}
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
