package localawstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/wait"
)

// Eventually polls check every 50 ms of real time until it reports done, for
// at most timeout, through internal/wait (the one poller), and fails the test
// with what it waited for and the last state check reported. Tests use it for
// what moves on real time outside the endpoint's clock: kinesis-local, a
// child opsctl process. check may call t.Fatal for a permanent failure.
func Eventually(t testing.TB, what string, timeout time.Duration, check func() (done bool, state string)) {
	t.Helper()
	_, err := wait.Until(context.Background(), wait.Options{What: what, Timeout: timeout, Interval: 50 * time.Millisecond},
		func(context.Context) (wait.Status, error) {
			done, state := check()
			return wait.Status{Done: done, State: state}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
}

// WaitObjects waits (30 s at most) until at least n objects are under
// s3://bucket/prefix and returns their keys. Each listing is a request, so
// the endpoint first brings its time-driven emulations (Firehose buffers) up
// to its clock.
func WaitObjects(t testing.TB, srv *localaws.Server, bucket, prefix string, n int) []string {
	t.Helper()
	c := S3(srv)
	var keys []string
	Eventually(t, fmt.Sprintf("%d objects under s3://%s/%s", n, bucket, prefix), 30*time.Second, func() (bool, string) {
		out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		keys = keys[:0]
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		return len(keys) >= n, fmt.Sprintf("%d objects", len(keys))
	})
	return keys
}
