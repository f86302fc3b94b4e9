// Package localawstest starts the local AWS endpoint for tests and builds the
// pieces tests need around it: an aws.Config for in-process SDK clients, the
// environment for running the opsctl binary against it, and the binary itself.
package localawstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/localaws"
)

// Start runs an endpoint for the test and closes it at cleanup. When the
// options ask for npm emulators that are not installed the test is skipped,
// unless under CI (see InCI), where it fails: CI must never silently skip them.
func Start(t testing.TB, opts localaws.Options) *localaws.Server {
	t.Helper()
	srv, err := localaws.New(context.Background(), opts)
	if err != nil {
		if errors.Is(err, localaws.ErrEmulatorsMissing) {
			if InCI() {
				t.Fatalf("%v\nunder CI the npm emulators must be installed (make emulators)", err)
			}
			t.Skipf("%v", err)
		}
		t.Fatalf("start local endpoint: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// InCI reports whether the tests run under CI: any non-empty CI value counts
// (CI=true, CI=1, CI=yes — each CI system sets its own), so a CI run never
// silently skips a test whose tools are missing.
func InCI() bool { return os.Getenv("CI") != "" }

// Config returns an aws.Config that sends every call to srv with static test
// credentials. maxAttempts 0 keeps the SDK default.
func Config(srv *localaws.Server, maxAttempts int) aws.Config {
	cfg := aws.Config{
		Region:       srv.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				if maxAttempts > 0 {
					o.MaxAttempts = maxAttempts
				}
				o.MaxBackoff = 20e6 // 20ms: fast retries against the local endpoint
			})
		},
	}
	return cfg
}

// S3 returns a path-style S3 client for srv.
func S3(srv *localaws.Server) *s3.Client {
	return s3.NewFromConfig(Config(srv, 0), func(o *s3.Options) { o.UsePathStyle = true })
}

// Env returns the environment for running opsctl against srv: only PATH and
// HOME survive from the caller, so no real AWS configuration can leak in.
func Env(t testing.TB, srv *localaws.Server, extra ...string) []string {
	dir := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_ENDPOINT_URL=" + srv.URL,
		"AWS_REGION=" + srv.Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_RETRY_MODE=adaptive",
	}
	return append(env, extra...)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/opsctl once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "opsctl-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "opsctl")
		cmd := exec.Command("go", "build", "-o", buildPath, "-ldflags", "-X main.version=v0.0.0-test -X main.commit=testcommit", "./cmd/opsctl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/opsctl: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Result is one run of the binary.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs the opsctl binary with env and args.
func Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	return RunContext(t, context.Background(), env, args...)
}

// RunContext is Run with a context (cancel it to kill the process).
func RunContext(t testing.TB, ctx context.Context, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = env
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run opsctl: %v", err)
		}
		code = ee.ExitCode()
	}
	return Result{Stdout: so.String(), Stderr: se.String(), Code: code}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the opsctl module")
	}
	return filepath.Dir(mod), nil
}
