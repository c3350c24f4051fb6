package awssim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSkew is how far a request's X-Amz-Date may be from real time, as AWS.
const maxSkew = 15 * time.Minute

// checkSignature validates the SigV4 header parsed into m (see authRE:
// 1 access key, 2 date, 3 region, 4 service, 5 signed headers, 6 signature).
// Any key is accepted when Options.Credentials is nil; otherwise the key must
// be known and the signature is recomputed with its secret.
func (s *Sim) checkSignature(hr *http.Request, body []byte, m []string) *APIError {
	service := m[4]
	amzDate := hr.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return &APIError{Code: "IncompleteSignature", Status: 403,
			Message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if t.Format("20060102") != m[2] {
		return sigMismatch(service, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+m[2]+"' != '"+t.Format("20060102")+"'.")
	}
	if d := time.Since(t); d > maxSkew || d < -maxSkew {
		if service == svcEC2 {
			return &APIError{Code: "RequestExpired", Status: 400, Message: "Request has expired."}
		}
		return sigMismatch(service, "Signature expired: "+amzDate+" is now earlier than "+time.Now().UTC().Add(-maxSkew).Format("20060102T150405Z")+" (now - 15 min.)")
	}
	if s.credentialsExpired(m[1]) {
		return expiredToken(service)
	}
	if s.opts.Credentials == nil {
		return nil
	}
	secret, ok := s.opts.Credentials[m[1]]
	if !ok {
		return invalidKey(service)
	}
	want, err := resign(hr, body, m, secret, t)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(m[6])) != 1 {
		return sigMismatch(service, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

// resign rebuilds the request from the headers the client signed and signs
// it again with the SDK's signer at the client's signing time.
func resign(hr *http.Request, body []byte, m []string, secret string, t time.Time) (string, error) {
	u := *hr.URL
	u.Scheme, u.Host = "http", hr.Host
	req, err := http.NewRequestWithContext(hr.Context(), hr.Method, u.String(), http.NoBody)
	if err != nil {
		return "", err
	}
	req.Host = hr.Host
	for _, name := range strings.Split(m[5], ";") {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			req.Header[http.CanonicalHeaderKey(name)] = hr.Header.Values(name)
		}
	}
	req.Header.Del("Authorization")
	payloadHash := hr.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: m[1], SecretAccessKey: secret, SessionToken: hr.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(hr.Context(), creds, req, payloadHash, m[4], m[3], t); err != nil {
		return "", err
	}
	got := req.Header.Get("Authorization")
	i := strings.LastIndex(got, "Signature=")
	if i < 0 {
		return "", nil
	}
	return got[i+len("Signature="):], nil
}

func isJSONService(service string) bool {
	return service == svcInstanceConnect || service == svcSQS || service == svcEvents
}

// invalidKey is each protocol's "unknown access key" error.
func invalidKey(service string) *APIError {
	switch {
	case service == svcEC2:
		return &APIError{Code: "AuthFailure", Status: 401, Message: "AWS was not able to validate the provided access credentials"}
	case isJSONService(service):
		return &APIError{Code: "UnrecognizedClientException", Status: 400, Message: "The security token included in the request is invalid."}
	default:
		return &APIError{Code: "InvalidClientTokenId", Status: 403, Message: "The security token included in the request is invalid."}
	}
}

func sigMismatch(service, msg string) *APIError {
	if isJSONService(service) {
		return &APIError{Code: "InvalidSignatureException", Status: 400, Message: msg}
	}
	return &APIError{Code: "SignatureDoesNotMatch", Status: 403, Message: msg}
}

// expiredToken is what an expired STS session token gets.
func expiredToken(service string) *APIError {
	switch {
	case isJSONService(service):
		return &APIError{Code: "ExpiredTokenException", Status: 400, Message: "The security token included in the request is expired"}
	case service == svcEC2:
		return &APIError{Code: "ExpiredToken", Status: 400, Message: "The security token included in the request is expired"}
	default:
		return &APIError{Code: "ExpiredToken", Status: 403, Message: "The security token included in the request is expired"}
	}
}
