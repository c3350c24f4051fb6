package ec2spot

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// errorCode is the AWS error code of err, or "" when err is not an AWS API
// error (network failures, cancellations, credential resolution).
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// IsAccessDenied reports whether AWS refused the call for lack of IAM
// permission.
func IsAccessDenied(err error) bool {
	switch errorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthException":
		return true
	}
	return false
}

// IsBadCredentials reports whether AWS rejected the credentials themselves.
func IsBadCredentials(err error) bool {
	switch errorCode(err) {
	case "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
		"AuthFailure", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
		"IncompleteSignature", "MissingAuthenticationToken":
		return true
	}
	return false
}

// IsThrottle reports whether AWS throttled the call (after the SDK's own
// retries gave up).
func IsThrottle(err error) bool {
	switch errorCode(err) {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "EC2ThrottledException",
		"TooManyRequestsException", "RequestThrottled", "SlowDown":
		return true
	}
	return false
}

// isValidationError: Auto Scaling reports every rejected argument, including
// "instance not in group" and "above max size", as ValidationError; callers
// confirm the reason from the group's state rather than parsing the message.
func isValidationError(err error) bool { return errorCode(err) == "ValidationError" }

// explain wraps an API error from action with what to do about it.
func explain(action string, err error) error {
	switch {
	case IsAccessDenied(err):
		return fmt.Errorf("access denied calling %s: grant this action to the runner manager's IAM identity (see the IAM policy in the README): %w", action, err)
	case IsBadCredentials(err):
		return fmt.Errorf("AWS rejected the credentials calling %s: check the profile, credentials file, environment or role (assume_role): %w", action, err)
	case IsThrottle(err):
		return fmt.Errorf("throttled by AWS calling %s (the Auto Scaling rate limit is shared by the whole account and region): %w", action, err)
	default:
		return fmt.Errorf("calling %s: %w", action, err)
	}
}
