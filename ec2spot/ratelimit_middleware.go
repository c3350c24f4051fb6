package ec2spot

import (
	"context"
	"fmt"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// The limiters run inside the SDK's retry loop, once per attempt: a retry
// is a request too, and each attempt's throttle reply slows the family down.
const rateLimitMiddlewareID = "ec2spot.RateLimit"

// apiOption adds the family limiters to every client built from one SDK
// configuration; the family is the client's service ID.
func (s *limiterSet) apiOption(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc(rateLimitMiddlewareID, s.handle), "Retry", middleware.After)
}

func (s *limiterSet) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	lim := s.forService(awsmiddleware.GetServiceID(ctx))
	if lim == nil {
		return next.HandleFinalize(ctx, in)
	}
	start := time.Now()
	if err := lim.wait(ctx); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("waiting for the client-side %s rate limit: %w", awsmiddleware.GetServiceID(ctx), err)
	}
	s.observeWait(ctx, start)
	out, md, err := next.HandleFinalize(ctx, in)
	switch {
	case err == nil:
		lim.succeeded()
	case IsThrottle(err):
		lim.throttled()
	}
	return out, md, err
}

// forService maps an SDK service ID onto its family's limiter.
func (s *limiterSet) forService(serviceID string) *apiLimiter {
	switch serviceID {
	case "Auto Scaling":
		return s.autoScaling
	case "EC2":
		return s.ec2
	case "EC2 Instance Connect":
		return s.instanceConnect
	default:
		return nil // STS, SQS: not budgeted
	}
}
