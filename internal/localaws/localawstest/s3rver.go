package localawstest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/localaws"
)

// S3rver starts s3rver (a third-party S3 server) for the test and stops it at
// cleanup. Skipped when it is not installed, except under CI (any non-empty
// CI value), where that fails.
func S3rver(t testing.TB) *localaws.S3rver {
	t.Helper()
	srv, err := localaws.StartS3rver(context.Background(), "", t.TempDir())
	if err != nil {
		if errors.Is(err, localaws.ErrEmulatorsMissing) && !InCI() {
			t.Skipf("%v", err)
		}
		t.Fatalf("start s3rver: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// S3rverClient returns a path-style S3 client for srv.
func S3rverClient(srv *localaws.S3rver) *s3.Client {
	return s3.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
		BaseEndpoint: aws.String(srv.URL),
	}, func(o *s3.Options) { o.UsePathStyle = true })
}

// S3rverEnv returns the environment for running opsctl with S3 on srv and
// every other service on the local endpoint ep (nil: S3 only, as a user of
// an S3-only server would run it).
func S3rverEnv(t testing.TB, srv *localaws.S3rver, ep *localaws.Server, extra ...string) []string {
	dir := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
	if ep != nil {
		env = append(env, "AWS_ENDPOINT_URL="+ep.URL, "AWS_ENDPOINT_URL_S3="+srv.URL)
	} else {
		env = append(env, "AWS_ENDPOINT_URL="+srv.URL)
	}
	return append(env, extra...)
}
