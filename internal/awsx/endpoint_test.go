package awsx

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/opsctl/opsctl/internal/opserr"
)

// The precedence of endpoint settings, one case per rule. Source: AWS SDKs and
// Tools Reference Guide, "Service-specific endpoints": the global endpoint
// (AWS_ENDPOINT_URL or a profile's endpoint_url) "is overridden by any
// configured service-specific endpoint"; AWS_ENDPOINT_URL_<SERVICE> "overrides
// any global endpoint set in AWS_ENDPOINT_URL"; the services section sets an
// endpoint_url per service identifier (sqs, s3, ...). opsctl's --endpoint-url
// is a global endpoint too: README promises the per-service settings beat it.
func TestEndpointPrecedence(t *testing.T) {
	const services = "[services local]\nsqs =\n  endpoint_url = http://sqs-config:9\n"
	tests := map[string]struct {
		flag   string
		env    map[string]string
		config string
		sqs    string // SQS client's endpoint; "" = AWS default
		s3     string
	}{
		"nothing set: AWS default": {},
		"flag alone applies to every service": {
			flag: "http://global:1", sqs: "http://global:1", s3: "http://global:1",
		},
		"service variable beats the flag": {
			flag: "http://global:1", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://sqs-env:2"},
			sqs: "http://sqs-env:2", s3: "http://global:1",
		},
		"service variable beats AWS_ENDPOINT_URL": {
			flag: "http://global:1", // the flag's variable: the CLI reads AWS_ENDPOINT_URL into --endpoint-url
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://global:1", "AWS_ENDPOINT_URL_SQS": "http://sqs-env:2"},
			sqs:  "http://sqs-env:2", s3: "http://global:1",
		},
		"services section beats the flag": {
			flag: "http://global:1", config: "[default]\nservices = local\n" + services,
			sqs: "http://sqs-config:9", s3: "http://global:1",
		},
		"services section beats AWS_ENDPOINT_URL": {
			flag: "http://global:1", env: map[string]string{"AWS_ENDPOINT_URL": "http://global:1"},
			config: "[default]\nservices = local\n" + services,
			sqs:    "http://sqs-config:9", s3: "http://global:1",
		},
		"service variable beats services section": {
			env:    map[string]string{"AWS_ENDPOINT_URL_SQS": "http://sqs-env:2"},
			config: "[default]\nservices = local\n" + services,
			sqs:    "http://sqs-env:2",
		},
		"services section beats the profile's endpoint_url": {
			config: "[default]\nendpoint_url = http://profile:3\nservices = local\n" + services,
			sqs:    "http://sqs-config:9", s3: "http://profile:3",
		},
		"flag beats the profile's endpoint_url": {
			flag: "http://global:1", config: "[default]\nendpoint_url = http://profile:3\n",
			sqs: "http://global:1", s3: "http://global:1",
		},
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS drops service settings, keeps the flag": {
			flag: "http://global:1", env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL_SQS": "http://sqs-env:2"},
			config: "[default]\nservices = local\n" + services,
			sqs:    "http://global:1", s3: "http://global:1",
		},
		"service variable alone leaves other services on AWS": {
			env: map[string]string{"AWS_ENDPOINT_URL_S3": "http://minio:9000"},
			s3:  "http://minio:9000",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := isolate(t)
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := Load(context.Background(), Options{Region: "us-east-1", EndpointURL: tc.flag})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(sqs.NewFromConfig(cfg).Options().BaseEndpoint); got != tc.sqs {
				t.Errorf("sqs endpoint = %q, want %q", got, tc.sqs)
			}
			s3c := s3.NewFromConfig(cfg, S3Options(cfg, ""))
			if got := aws.ToString(s3c.Options().BaseEndpoint); got != tc.s3 {
				t.Errorf("s3 endpoint = %q, want %q", got, tc.s3)
			}
			if want := tc.s3 != ""; s3c.Options().UsePathStyle != want {
				t.Errorf("s3 path style = %v, want %v (on for any overridden S3 endpoint)", s3c.Options().UsePathStyle, want)
			}
			eps := ServiceEndpoints(cfg)
			if eps["sqs"] != tc.sqs || eps["s3"] != tc.s3 {
				t.Errorf("ServiceEndpoints = %v, want sqs %q s3 %q", eps, tc.sqs, tc.s3)
			}
		})
	}
}

// AWS_MAX_ATTEMPTS and the profile's max_attempts (SDK reference guide,
// "Retry behavior") reach the clients' retryer.
func TestMaxAttemptsFromEnvironmentAndProfile(t *testing.T) {
	tests := map[string]struct {
		opts   Options
		env    map[string]string
		config string
		want   int
	}{
		"SDK default":             {want: 3},
		"AWS_MAX_ATTEMPTS":        {env: map[string]string{"AWS_MAX_ATTEMPTS": "9"}, want: 9},
		"profile max_attempts":    {config: "[default]\nmax_attempts = 6\n", want: 6},
		"variable beats profile":  {env: map[string]string{"AWS_MAX_ATTEMPTS": "8"}, config: "[default]\nmax_attempts = 6\n", want: 8},
		"option beats everything": {opts: Options{MaxAttempts: 2}, env: map[string]string{"AWS_MAX_ATTEMPTS": "8"}, want: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := isolate(t)
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tc.opts.Region = "us-east-1"
			cfg, err := Load(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := sqs.NewFromConfig(cfg).Options().Retryer.MaxAttempts(); got != tc.want {
				t.Fatalf("client retryer MaxAttempts = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRegionValidation(t *testing.T) {
	tests := map[string]struct {
		region string
		ok     bool
	}{
		"us-east-1":     {"us-east-1", true},
		"gov":           {"us-gov-west-1", true},
		"uppercase":     {"US-EAST-1", false},
		"space":         {"us east 1", false},
		"control chars": {"us-east-1\x1b[31m", false},
		"trailing dash": {"us-east-", false},
		"url":           {"https://x", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Options{Region: tc.region}.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate(%q) = %v", tc.region, err)
			}
			if err != nil && (opserr.ExitCode(err) != opserr.ExitUsage || !strings.Contains(err.Error(), "--region")) {
				t.Fatalf("want a usage error naming --region, got %v", err)
			}
		})
	}
	// A bad region from the profile is caught before any call too.
	dir := isolate(t)
	os.WriteFile(filepath.Join(dir, "config"), []byte("[default]\nregion = eu west\n"), 0o600)
	if _, err := Load(context.Background(), Options{}); opserr.ExitCode(err) != opserr.ExitUsage {
		t.Fatalf("profile region: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4566":                      "http://127.0.0.1:4566",
		"http://AKIAXXX:s3cr3t@minio:9000/":          "http://minio:9000/",
		"https://host/path?X-Amz-Security-Token=abc": "https://host/path",
		"": "",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	err := Options{EndpointURL: "minio:s3cr3t@host"}.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("bad endpoint error echoes the secret: %v", err)
	}
}

// The SDK's log lines obey the slog level and handler.
func TestSDKLogsGoThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	l := slogLogger{slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	l.Logf(logging.Debug, "request %d", 1)
	l.Logf(logging.Warn, "Response has no supported checksum. Not validating response payload.")
	if buf.Len() != 0 {
		t.Fatalf("debug lines leaked at warn level: %s", buf.String())
	}
	l.Logf(logging.Warn, "retrying %s", "x")
	if !strings.HasPrefix(buf.String(), "{") || !strings.Contains(buf.String(), `"level":"WARN"`) {
		t.Fatalf("not a slog JSON line: %s", buf.String())
	}
}

// Which STS failures mean "this endpoint has no STS" (whoami exit 4) and
// which are real credential failures (exit 1).
func TestNoSTSClassification(t *testing.T) {
	tests := map[string]struct {
		err  error
		want bool
	}{
		// MinIO's answer, as reported in issue 20.
		"minio unsupported action": {&smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "Unsupported action GetCallerIdentity"}, true},
		"unknown action code":      {&smithy.GenericAPIError{Code: "InvalidAction", Message: "x"}, true},
		"not an STS body":          {&smithy.DeserializationError{Err: errors.New("xml")}, true},
		// botocore sts service-2.json: GetCallerIdentity's callers see these
		// for bad credentials; they are failures, not a missing service.
		"expired token":   {&smithy.GenericAPIError{Code: "ExpiredToken", Message: "The security token included in the request is expired"}, false},
		"invalid key":     {&smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}, false},
		"connection lost": {errors.New("dial tcp: connection refused"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := noSTS(tc.err); got != tc.want {
				t.Fatalf("noSTS = %v, want %v", got, tc.want)
			}
		})
	}
}
