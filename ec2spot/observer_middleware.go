package ec2spot

import (
	"context"
	"strings"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// The Observer's view of AWS requests: every HTTP attempt and every
// client-side rate-limit wait.

// observerMiddlewareID counts every attempt, inside the retry loop beside
// the rate limiter.
const observerMiddlewareID = "ec2spot.Observe"

// observerAPIOption counts the HTTP attempts of every client built from
// one SDK configuration.
func observerAPIOption(obs Observer) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc(observerMiddlewareID,
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				outcome := "success"
				switch {
				case err == nil:
				case IsThrottle(err):
					outcome = "throttled"
				default:
					outcome = "error"
				}
				obs.APIRequest(ServiceLabel(awsmiddleware.GetServiceID(ctx)), awsmiddleware.GetOperationName(ctx), outcome)
				return out, md, err
			}), "Retry", middleware.After)
	}
}

// ServiceLabel names an SDK service ID as IAM does ("Auto Scaling" →
// "autoscaling").
func ServiceLabel(serviceID string) string {
	switch serviceID {
	case "Auto Scaling":
		return "autoscaling"
	case "EC2":
		return "ec2"
	case "EC2 Instance Connect":
		return "ec2-instance-connect"
	case "SQS":
		return "sqs"
	case "STS":
		return "sts"
	default:
		return strings.ToLower(strings.ReplaceAll(serviceID, " ", "-"))
	}
}

// observeWait reports a rate-limit wait that ended.
func (s *limiterSet) observeWait(ctx context.Context, start time.Time) {
	if s.observer != nil {
		s.observer.LimiterWait(ServiceLabel(awsmiddleware.GetServiceID(ctx)), time.Since(start))
	}
}
