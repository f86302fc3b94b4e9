package awsx

import (
	"fmt"

	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/opserr"
)

// isolate points the SDK at empty config files and clears AWS_* variables so
// the developer's own configuration cannot leak into a test.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, kv := range os.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				if k := kv[:i]; len(k) > 4 && k[:4] == "AWS_" {
					t.Setenv(k, "")
					os.Unsetenv(k)
				}
				break
			}
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

func TestLoad(t *testing.T) {
	tests := map[string]struct {
		opts      Options
		env       map[string]string
		config    string
		wantErr   error
		wantUsage bool
		region    string
	}{
		"missing region names the flag and variable": {
			opts: Options{}, wantErr: ErrNoRegion, wantUsage: true,
		},
		"region from flag": {
			opts: Options{Region: "eu-west-1"}, region: "eu-west-1",
		},
		"region from environment": {
			env: map[string]string{"AWS_REGION": "ap-south-1"}, region: "ap-south-1",
		},
		"region from named profile": {
			opts:   Options{Profile: "prod"},
			config: "[profile prod]\nregion = us-west-2\n",
			region: "us-west-2",
		},
		"flag region beats profile": {
			opts:   Options{Profile: "prod", Region: "eu-central-1"},
			config: "[profile prod]\nregion = us-west-2\n",
			region: "eu-central-1",
		},
		"unknown profile is an error": {
			opts: Options{Profile: "nope", Region: "us-east-1"},
		},
		"bad endpoint is a usage error": {
			opts: Options{Region: "us-east-1", EndpointURL: "localhost:4566"}, wantUsage: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := isolate(t)
			if tc.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config"), []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := Load(context.Background(), tc.opts)
			switch {
			case tc.wantErr != nil || tc.wantUsage:
				if err == nil {
					t.Fatalf("want error, got region %q", cfg.Region)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantUsage && opserr.ExitCode(err) != opserr.ExitUsage {
					t.Fatalf("exit code %d, want usage", opserr.ExitCode(err))
				}
			case tc.region == "":
				if err == nil {
					t.Fatalf("want error")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Region != tc.region {
					t.Fatalf("region = %q, want %q", cfg.Region, tc.region)
				}
			}
		})
	}
}

func TestLoadEndpointAndRetryer(t *testing.T) {
	isolate(t)
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", EndpointURL: "http://127.0.0.1:4566", MaxAttempts: 7})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:4566" {
		t.Fatalf("BaseEndpoint = %v", cfg.BaseEndpoint)
	}
	if got := cfg.Retryer().MaxAttempts(); got != 7 {
		t.Fatalf("MaxAttempts = %d, want 7", got)
	}
}

func TestLoaderIsLazyAndMemoized(t *testing.T) {
	isolate(t)
	l := NewLoader(Options{Region: "us-east-1"})
	a, err := l.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	b, _ := l.Config(context.Background())
	if a.Region != b.Region {
		t.Fatalf("config was loaded twice: %q then %q", a.Region, b.Region)
	}
}

func TestErrorCode(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "role not found"}
	tests := map[string]struct {
		err  error
		want string
	}{
		"nil":               {nil, ""},
		"plain error":       {errors.New("boom"), ""},
		"api error":         {api, "NoSuchEntity"},
		"wrapped api error": {fmt.Errorf("get role %q: %w", "x", api), "NoSuchEntity"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ErrorCode(tc.err); got != tc.want {
				t.Fatalf("ErrorCode = %q, want %q", got, tc.want)
			}
		})
	}
}
