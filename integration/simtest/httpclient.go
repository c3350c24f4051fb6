package simtest

import (
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// HTTPClient is the HTTP client for SDK clients that talk to a simulator
// (aws.Config.HTTPClient): the SDK's default client, with the request body
// fix of closeSafeBody.
func HTTPClient() *CloseSafeClient {
	return &CloseSafeClient{Client: awshttp.NewBuildableClient()}
}

// CloseSafeClient passes requests to Client with their body wrapped so
// that reading it after the SDK closed it ends cleanly.
//
// Why: net/http's write loop, after sending Content-Length bytes of a
// request body, copies the body once more to check that nothing is left.
// The SDK closes the body as soon as Do returns, and its body type then
// answers that copy (through WriteTo) with io.EOF as an error. When the
// response beat the write loop to that check (a local simulator under CPU
// load), the transport takes the error for a failed write and closes the
// connection while the response body is still being read: the call fails
// with "use of closed network connection" although the simulator answered.
// Hiding WriteTo makes the check use Read, which ends with a plain EOF.
type CloseSafeClient struct {
	Client interface {
		Do(*http.Request) (*http.Response, error)
	}
}

// Do implements aws.HTTPClient.
func (c *CloseSafeClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.WithContext(r.Context()) // a shallow copy: the caller's request stays as it was
		r.Body = closeSafeBody{r.Body}
	}
	return c.Client.Do(r)
}

// closeSafeBody exposes only Read and Close of the SDK's request body.
type closeSafeBody struct{ rc io.ReadCloser }

func (b closeSafeBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b closeSafeBody) Close() error               { return b.rc.Close() }
