// Package awsx loads the AWS configuration opsctl's commands share.
//
// Configuration comes from config.LoadDefaultConfig, so everything the AWS CLI
// honours works: shared config and credentials files, profiles, SSO, the
// environment, web identity, and ECS/EC2 instance roles. The load is lazy:
// nothing touches credentials until a command actually calls AWS, so --help and
// usage errors never need them.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Options are the global AWS settings taken from flags or the environment.
type Options struct {
	Profile     string // --profile / AWS_PROFILE; empty means the SDK default chain
	Region      string // --region / AWS_REGION; empty means the profile's or environment's
	EndpointURL string // --endpoint-url / AWS_ENDPOINT_URL; one endpoint for every service
	MaxAttempts int    // 0 keeps the SDK default (or AWS_MAX_ATTEMPTS / max_attempts)
}

// ErrNoRegion is returned when no region can be resolved.
var ErrNoRegion = errors.New("no AWS region configured: pass --region or set AWS_REGION (or set region in your profile)")

// Validate checks the options without calling AWS.
func (o Options) Validate() error {
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return opserr.Usagef("invalid --endpoint-url %q: want an absolute http(s) URL such as http://127.0.0.1:4566", o.EndpointURL)
		}
	}
	if o.Region != "" && strings.ContainsAny(o.Region, " /\\") {
		return opserr.Usagef("invalid --region %q", o.Region)
	}
	return nil
}

// Loader resolves the AWS config once, on first use.
type Loader struct {
	opts Options

	mu   sync.Mutex
	cfg  aws.Config
	err  error
	done bool
}

// NewLoader returns a Loader for opts. It does no I/O.
func NewLoader(opts Options) *Loader { return &Loader{opts: opts} }

// Options returns the options the loader was built with.
func (l *Loader) Options() Options { return l.opts }

// Config loads (once) and returns the AWS configuration.
func (l *Loader) Config(ctx context.Context) (aws.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.cfg, l.err
	}
	cfg, err := Load(ctx, l.opts)
	if err != nil && errors.Is(err, context.Canceled) {
		return cfg, err // do not memoize a cancellation
	}
	l.cfg, l.err, l.done = cfg, err, true
	return cfg, err
}

// Load builds an aws.Config from the default chain plus opts.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	if err := opts.Validate(); err != nil {
		return aws.Config{}, err
	}
	var lo []func(*config.LoadOptions) error
	if opts.Profile != "" {
		lo = append(lo, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		lo = append(lo, config.WithRegion(opts.Region))
	}
	if opts.EndpointURL != "" {
		// Per-service AWS_ENDPOINT_URL_<SERVICE> variables still take precedence
		// for their service: the SDK resolves them after this base endpoint.
		lo = append(lo, config.WithBaseEndpoint(opts.EndpointURL))
	}
	lo = append(lo, config.WithAppID("opsctl"))
	maxAttempts := opts.MaxAttempts
	lo = append(lo, config.WithRetryer(func() aws.Retryer {
		// Adaptive mode: standard retries plus client-side rate limiting that
		// backs off when AWS throttles, which is what long cron runs want.
		return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			if maxAttempts > 0 {
				ao.StandardOptions = append(ao.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = maxAttempts
				})
			}
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, &opserr.UsageError{Err: ErrNoRegion}
	}
	return cfg, nil
}

// EffectiveEndpoint is the endpoint override in force: the --endpoint-url flag,
// else AWS_ENDPOINT_URL, else "" (the SDK's regional default).
func (o Options) EffectiveEndpoint() string {
	if o.EndpointURL != "" {
		return o.EndpointURL
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// EffectiveProfile is the profile in force ("default" when none is named).
func (o Options) EffectiveProfile() string {
	if o.Profile != "" {
		return o.Profile
	}
	if p := os.Getenv("AWS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// S3Options returns client options for S3. With a custom endpoint (LocalStack,
// MinIO, the local test endpoint) S3 is addressed path-style, as those servers
// expect and as the AWS CLI does.
func S3Options(cfg aws.Config, endpoint string) func(*s3.Options) {
	return func(o *s3.Options) {
		if endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" {
			o.UsePathStyle = true
		}
	}
}

// NewS3 returns an S3 client for cfg, path-style when an endpoint is overridden.
func (l *Loader) NewS3(ctx context.Context) (*s3.Client, error) {
	cfg, err := l.Config(ctx)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, S3Options(cfg, l.opts.EffectiveEndpoint())), nil
}
