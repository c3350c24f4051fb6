package ec2spot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2instanceconnect"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AWSOptions select how the SDK finds region and credentials. Empty fields
// leave the SDK's standard chain (environment, shared files, web identity,
// container and instance roles) in charge; AWS_ENDPOINT_URL and the
// per-service endpoint variables are honoured by the SDK itself.
type AWSOptions struct {
	Region          string
	Profile         string
	ConfigFile      string
	CredentialsFile string
	AssumeRole      *AssumeRoleOptions

	// RetryMode is aws.RetryModeStandard or aws.RetryModeAdaptive (which
	// adds client-side rate limiting on throttles); empty = standard.
	RetryMode aws.RetryMode
	// RetryMaxAttempts bounds the attempts per API call (including the
	// first); 0 = the SDK default (3).
	RetryMaxAttempts int
	// RetryBackoff overrides the retry delays (tests use zero delays).
	RetryBackoff retry.BackoffDelayer
	// RateLimits are client-side budgets per API family, shared by every
	// client built from the configuration; zero rates are unlimited.
	RateLimits RateLimits

	// CallTimeout bounds one HTTP attempt of any call (the SQS client adds
	// its long-poll wait); 0 = no bound.
	CallTimeout time.Duration

	// Observer counts every HTTP attempt and rate-limit wait; nil = none.
	Observer Observer

	// IMDSRegionTimeout bounds the instance-metadata region lookup made
	// when no region is configured; 0 = 5s.
	IMDSRegionTimeout time.Duration

	// Endpoint sends every client to this URL (the SDK's BaseEndpoint);
	// empty = the SDK's own resolution. Not a plugin_config key: tests use
	// it to reach their own simulator without process environment, so they
	// can run in parallel.
	Endpoint string
}

// AssumeRoleOptions make the plugin assume a role with the base credentials.
type AssumeRoleOptions struct {
	RoleARN     string
	ExternalID  string
	SessionName string
	Duration    time.Duration // 0 = the SDK default (15m)
}

// ErrNoRegion is returned when neither configuration nor instance metadata
// name a region.
var ErrNoRegion = errors.New("no AWS region configured: set plugin_config region, AWS_REGION, or region in the AWS profile (on EC2 the instance metadata region is used when reachable)")

// LoadAWSConfig resolves the SDK configuration. Without a configured region
// it falls back to the EC2 instance metadata region.
func LoadAWSConfig(ctx context.Context, o AWSOptions) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(o) }),
	}
	if o.CallTimeout > 0 {
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(o.CallTimeout)))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.ConfigFile != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{o.ConfigFile}))
	}
	if o.CredentialsFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{o.CredentialsFile}))
	}

	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}

	if cfg.Region == "" {
		// A separate pass: with WithEC2IMDSRegion an unreachable metadata
		// service fails the whole load, which must not happen when a region
		// is configured anyway.
		timeout := o.IMDSRegionTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		imdsCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		withIMDS, err := config.LoadDefaultConfig(imdsCtx, append(opts, config.WithEC2IMDSRegion())...)
		if err != nil {
			return aws.Config{}, fmt.Errorf("%w (instance metadata: %w)", ErrNoRegion, err)
		}
		if withIMDS.Region == "" {
			return aws.Config{}, ErrNoRegion
		}
		cfg = withIMDS
	}

	// After loading: the SDK applies a custom CA bundle (AWS_CA_BUNDLE)
	// only to its own client type.
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient() // what the service clients default to
	}
	cfg.HTTPClient = &CloseSafeClient{Client: cfg.HTTPClient}

	// One limiter set per configuration: every client built from it
	// shares the budgets (STS and SQS calls are not budgeted).
	limiters := newLimiterSet(o.RateLimits)
	if o.Observer != nil { // innermost, so it counts only attempts sent
		limiters.observer = o.Observer
		cfg.APIOptions = append(cfg.APIOptions, observerAPIOption(o.Observer))
	}
	cfg.APIOptions = append(cfg.APIOptions, limiters.apiOption)

	if ar := o.AssumeRole; ar != nil {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), ar.RoleARN, func(ao *stscreds.AssumeRoleOptions) {
			if ar.ExternalID != "" {
				ao.ExternalID = aws.String(ar.ExternalID)
			}
			if ar.SessionName != "" {
				ao.RoleSessionName = ar.SessionName
			}
			if ar.Duration > 0 {
				ao.Duration = ar.Duration
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}

	// Resolve credentials now, so a missing or unassumable identity is
	// reported as such rather than as the first API call failing.
	if cfg.Credentials == nil {
		return aws.Config{}, errors.New(noCredentials)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ar := o.AssumeRole; ar != nil {
			return aws.Config{}, fmt.Errorf("assuming role %s failed (the base identity needs sts:AssumeRole on it, and the role's trust policy must allow the base identity): %w", ar.RoleARN, err)
		}
		return aws.Config{}, fmt.Errorf("%s: %w", noCredentials, err)
	}
	return cfg, nil
}

const noCredentials = "no usable AWS credentials: give the runner manager an instance profile role, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, or a profile (plugin_config profile, config_file, credentials_file)"

func newRetryer(o AWSOptions) aws.Retryer {
	std := func(so *retry.StandardOptions) {
		if o.RetryMaxAttempts > 0 {
			so.MaxAttempts = o.RetryMaxAttempts
		}
		// nil keeps the SDK's own delays: full jitter from 1 s after a
		// throttle, from 50 ms after other errors. A retry still waits in
		// the family limiter, which a throttle has just slowed down.
		if o.RetryBackoff != nil {
			so.Backoff = o.RetryBackoff
		}
	}
	switch o.RetryMode {
	case aws.RetryModeAdaptive:
		return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, std)
		})
	default: // standard; the provider validates the mode
		return retry.NewStandard(std)
	}
}

// NewClients builds the service clients from one SDK configuration.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		AutoScaling:     autoscaling.NewFromConfig(cfg),
		EC2:             ec2.NewFromConfig(cfg),
		InstanceConnect: ec2instanceconnect.NewFromConfig(cfg),
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			// A long poll legitimately waits up to 20 s for a message.
			switch c := cfg.HTTPClient.(type) {
			case *CloseSafeClient:
				if t := c.timeout(); t > 0 {
					o.HTTPClient = c.withTimeout(t + sqsLongPollWait)
				}
			case *awshttp.BuildableClient:
				if t := c.GetTimeout(); t > 0 {
					o.HTTPClient = c.WithTimeout(t + sqsLongPollWait)
				}
			}
		}),
	}
}

// ZeroBackoff is a retry delayer without delays, for tests.
var ZeroBackoff retry.BackoffDelayer = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })

// sqsLongPollWait is the longest SQS long poll (WaitTimeSeconds 20) plus a
// margin, added to the SQS client's per-attempt timeout.
const sqsLongPollWait = 25 * time.Second
