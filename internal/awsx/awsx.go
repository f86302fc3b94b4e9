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
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

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
			return opserr.Usagef("invalid --endpoint-url %q: want an absolute http(s) URL such as http://127.0.0.1:4566", RedactURL(o.EndpointURL))
		}
	}
	if o.Region != "" {
		if err := ValidateRegion(o.Region); err != nil {
			return opserr.Usagef("invalid --region (or AWS_REGION) %q: %v", o.Region, err)
		}
	}
	return nil
}

// ValidateRegion checks that region can be a region name: one DNS label of
// lowercase letters, digits and hyphens (us-east-1, eu-central-2,
// us-gov-west-1), as the SDK's endpoint rules require of the region parameter
// (smithy rules function isValidHostLabel). The SDK would otherwise reject it
// only at the first call, with a message that does not name the flag.
func ValidateRegion(region string) error {
	if len(region) == 0 || len(region) > 63 {
		return errors.New("want a region name such as us-east-1")
	}
	for i, r := range region {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(region)-1
		if !ok {
			return errors.New("want a region name such as us-east-1 (lowercase letters, digits and hyphens)")
		}
	}
	return nil
}

// RedactURL returns raw without the credentials a URL can carry (user info,
// query string), for messages and whoami. A value that does not parse is
// replaced entirely: it may be a secret pasted in the wrong place.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.Host == "" {
		// Not an absolute URL ("user:secret@host" parses as scheme "user"):
		// keep only what follows the last '@'.
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			return "***@" + raw[i+1:]
		}
		return raw
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// Loader resolves the AWS config once, on first use.
type Loader struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	cfg  aws.Config
	err  error
	done bool

	called atomic.Bool // an AWS request was attempted with this config
}

// Called reports whether any AWS request has been attempted with the
// loader's configuration: after that, an error is no longer a usage error
// ("found before any AWS call, nothing changed") but a failure.
func (l *Loader) Called() bool { return l != nil && l.called.Load() }

// NewLoader returns a Loader for opts. It does no I/O.
func NewLoader(opts Options) *Loader { return &Loader{opts: opts} }

// SetLogger routes the SDK's own log lines (retries, checksum notices) to
// log, at log's level, instead of the SDK's plain-text stderr default.
func (l *Loader) SetLogger(log *slog.Logger) { l.log = log }

// Options returns the options the loader was built with.
func (l *Loader) Options() Options { return l.opts }

// Config loads (once) and returns the AWS configuration.
func (l *Loader) Config(ctx context.Context) (aws.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.cfg, l.err
	}
	cfg, err := load(ctx, l.opts, l.log)
	if err != nil && errors.Is(err, context.Canceled) {
		return cfg, err // do not memoize a cancellation
	}
	if err == nil {
		cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("opsctlCallSeen",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					l.called.Store(true)
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	}
	l.cfg, l.err, l.done = cfg, err, true
	return cfg, err
}

// Load builds an aws.Config from the default chain plus opts.
//
// Endpoints resolve per service as the AWS SDKs and tools reference guide
// ("Service-specific endpoints") describes: a service-specific setting —
// AWS_ENDPOINT_URL_<SERVICE>, then the profile's `services` section — beats a
// global one (--endpoint-url, AWS_ENDPOINT_URL, the profile's endpoint_url),
// which beats the SDK's regional default. See ServiceEndpoints.
func Load(ctx context.Context, opts Options) (aws.Config, error) { return load(ctx, opts, nil) }

func load(ctx context.Context, opts Options, log *slog.Logger) (aws.Config, error) {
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
	// The global endpoint is NOT passed as config.WithBaseEndpoint: the SDK
	// reports a LoadOptions base endpoint as the answer for every service, so
	// it would win over AWS_ENDPOINT_URL_SQS and the services section.
	if log != nil {
		lo = append(lo, config.WithLogger(slogLogger{log}))
	}
	lo = append(lo, config.WithAppID("opsctl"))
	// maxAttempts is read when a client builds its retryer, after the load
	// below has resolved AWS_MAX_ATTEMPTS / max_attempts.
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
	if maxAttempts == 0 {
		// A custom retryer makes the SDK skip AWS_MAX_ATTEMPTS and the
		// profile's max_attempts; apply them here (the variable first, as the
		// SDK orders its sources).
		maxAttempts = configuredMaxAttempts(cfg.ConfigSources)
	}
	if cfg.Region == "" {
		return aws.Config{}, &opserr.UsageError{Err: ErrNoRegion}
	}
	if err := ValidateRegion(cfg.Region); err != nil {
		return aws.Config{}, opserr.Usagef("invalid region %q from the profile or environment: %v", cfg.Region, err)
	}
	if opts.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(opts.EndpointURL)
		if _, ok := os.LookupEnv("AWS_ENDPOINT_URL"); ok {
			// Each service client skips the service-specific settings when
			// AWS_ENDPOINT_URL is set and AWS_ENDPOINT_URL_<SERVICE> is not,
			// which would let the global variable beat a services section.
			// Its value is in opts.EndpointURL (the flag's variable) and now
			// in cfg.BaseEndpoint; clear it so the per-service lookup runs.
			os.Unsetenv("AWS_ENDPOINT_URL")
		}
	}
	return cfg, nil
}

// configuredMaxAttempts returns AWS_MAX_ATTEMPTS, else the profile's
// max_attempts, else 0.
func configuredMaxAttempts(sources []any) int {
	for _, want := range []string{"env", "shared"} {
		for _, s := range sources {
			switch c := s.(type) {
			case config.EnvConfig:
				if want == "env" && c.RetryMaxAttempts > 0 {
					return c.RetryMaxAttempts
				}
			case config.SharedConfig:
				if want == "shared" && c.RetryMaxAttempts > 0 {
					return c.RetryMaxAttempts
				}
			}
		}
	}
	return 0
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
		// Client options run after the client resolved its endpoint, so
		// BaseEndpoint is set by any override, per-service ones included.
		if endpoint != "" || o.BaseEndpoint != nil {
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
