package ec2spot

import (
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// NewHTTPClient is an HTTP client with the request body fix of
// CloseSafeClient the plugin's SDK clients have (LoadAWSConfig): the SDK's
// default client, with a per-attempt timeout when timeout > 0. For SDK
// clients built by hand, as tests do.
func NewHTTPClient(timeout time.Duration) *CloseSafeClient {
	bc := awshttp.NewBuildableClient()
	if timeout > 0 {
		bc = bc.WithTimeout(timeout)
	}
	return &CloseSafeClient{Client: bc}
}

// CloseSafeClient passes requests to Client with their body wrapped so
// that reading it after the SDK closed it ends cleanly.
//
// Why: net/http's write loop, after sending Content-Length bytes of a
// request body, copies the body once more to check that nothing is left.
// The SDK closes the body as soon as the response headers arrive, and its
// body type then answers that copy (through WriteTo) with io.EOF as an
// error. When the response beat the write loop to that check, the
// transport takes the error for a failed write and closes the connection
// while the response body is still being read: the call fails with "use of
// closed network connection" (and is retried) although AWS answered.
// Hiding WriteTo makes the check use Read, which ends with a plain EOF.
type CloseSafeClient struct {
	Client aws.HTTPClient
}

// Do implements aws.HTTPClient.
func (c *CloseSafeClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.WithContext(r.Context()) // a shallow copy: the caller's request stays as it was
		r.Body = closeSafeBody{r.Body}
	}
	return c.Client.Do(r)
}

// timeout is the per-attempt timeout of the SDK client inside, 0 = none.
func (c *CloseSafeClient) timeout() time.Duration {
	if bc, ok := c.Client.(*awshttp.BuildableClient); ok {
		return bc.GetTimeout()
	}
	return 0
}

// withTimeout is c with another per-attempt timeout; c when the client
// inside has none to change.
func (c *CloseSafeClient) withTimeout(d time.Duration) *CloseSafeClient {
	if bc, ok := c.Client.(*awshttp.BuildableClient); ok {
		return &CloseSafeClient{Client: bc.WithTimeout(d)}
	}
	return c
}

// closeSafeBody exposes only Read and Close of the SDK's request body.
type closeSafeBody struct{ rc io.ReadCloser }

func (b closeSafeBody) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b closeSafeBody) Close() error               { return b.rc.Close() }
