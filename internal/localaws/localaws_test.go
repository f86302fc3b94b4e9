package localaws_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func TestEndpointRoutesEachServiceBySigV4Name(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: localaws.AllEmulators})
	ctx := context.Background()
	cfg := localawstest.Config(srv, 0)

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("sts (fauxqs): %v", err)
	}
	if aws.ToString(id.Account) != localaws.DefaultAccount {
		t.Fatalf("account = %q", aws.ToString(id.Account))
	}

	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("routing-q")})
	if err != nil {
		t.Fatalf("sqs (local-aws-sqs): %v", err)
	}
	if !strings.Contains(aws.ToString(q.QueueUrl), "routing-q") {
		t.Fatalf("queue url %q", aws.ToString(q.QueueUrl))
	}

	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("routing-t")})
	if err != nil {
		t.Fatalf("sns (fauxqs): %v", err)
	}
	if !strings.HasPrefix(aws.ToString(topic.TopicArn), "arn:aws:sns:") {
		t.Fatalf("topic arn %q", aws.ToString(topic.TopicArn))
	}

	kc := kinesis.NewFromConfig(cfg)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("routing-s"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("kinesis (kinesis-local): %v", err)
	}

	s3c := localawstest.S3(srv)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("routing-b")}); err != nil {
		t.Fatalf("s3 (gofakes3): %v", err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("routing-b"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, c := range srv.Calls() {
		seen[c.Service+"."+c.Operation] = true
	}
	for _, want := range []string{"sts.GetCallerIdentity", "sqs.CreateQueue", "sns.CreateTopic", "kinesis.CreateStream", "s3.CreateBucket", "s3.PutObject"} {
		if !seen[want] {
			t.Errorf("call log misses %s (have %v)", want, seen)
		}
	}
}

func TestFaultInjection(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	ctx := context.Background()
	s3c := s3.NewFromConfig(localawstest.Config(srv, 1), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fault-bucket")}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		fault    localaws.Fault
		wantCode string
		wantErr  bool
	}{
		"aws error with chosen code": {fault: localaws.Fault{Kind: localaws.FaultError, Code: "AccessDenied", Status: 403}, wantCode: "AccessDenied", wantErr: true},
		"throttling":                 {fault: localaws.Fault{Kind: localaws.FaultThrottle}, wantCode: "SlowDown", wantErr: true},
		"5xx":                        {fault: localaws.Fault{Kind: localaws.Fault5xx}, wantCode: "InternalError", wantErr: true},
		"dropped connection":         {fault: localaws.Fault{Kind: localaws.FaultDrop}, wantErr: true},
		"slow response still served": {fault: localaws.Fault{Kind: localaws.FaultSlow, Delay: 50 * time.Millisecond}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := tc.fault
			// PutObject, not a HEAD: net/http silently replays idempotent
			// requests on a dropped keep-alive connection.
			f.Service, f.Operation = "s3", "PutObject"
			srv.InjectFault(f)
			start := time.Now()
			put := func() error {
				_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("fault-bucket"), Key: aws.String("k"), Body: strings.NewReader("v")})
				return err
			}
			err := put()
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("not an API error: %v", err)
				}
				if ae.ErrorCode() != tc.wantCode {
					t.Fatalf("code = %q, want %q", ae.ErrorCode(), tc.wantCode)
				}
			}
			if tc.fault.Kind == localaws.FaultSlow && time.Since(start) < 50*time.Millisecond {
				t.Fatalf("slow fault did not delay")
			}
			// The fault is consumed: the next call succeeds.
			if err := put(); err != nil {
				t.Fatalf("fault not consumed: %v", err)
			}
		})
	}
}

func TestFaultsAreRetriedBySDK(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	ctx := context.Background()
	s3c := localawstest.S3(srv) // default 3 attempts
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("retry-bucket")}); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	srv.InjectFault(localaws.Fault{Service: "s3", Operation: "PutObject", Kind: localaws.FaultThrottle, Times: 2})
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("retry-bucket"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("two throttles then success should be retried through: %v", err)
	}
	var faulted, ok int
	for _, c := range srv.Calls() {
		if c.Operation == "PutObject" {
			if c.Faulted {
				faulted++
			} else {
				ok++
			}
		}
	}
	if faulted != 2 || ok != 1 {
		t.Fatalf("faulted=%d ok=%d, want 2 and 1", faulted, ok)
	}
	if w := srv.WriteCalls(); len(w) != 3 {
		t.Fatalf("WriteCalls = %v", w)
	}
}

func TestControlAPIAndUnsignedRequests(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	resp, err := http.Post(srv.URL+"/_localaws/faults", "application/json", strings.NewReader(`{"service":"s3","kind":"5xx","times":1}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("inject over HTTP: %v %v", err, resp)
	}
	_, err = localawstest.S3(srv).ListBuckets(context.Background(), &s3.ListBucketsInput{}, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		t.Fatal("fault injected over HTTP did not apply")
	}
	resp, err = http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "not SigV4-signed") {
		t.Fatalf("unsigned request: %d %s", resp.StatusCode, b)
	}
	if _, err := localaws.New(context.Background(), localaws.Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("non-loopback address accepted")
	}
}

func TestControlClockAdvances(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	srv, err := localaws.New(context.Background(), localaws.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	before := clk.Now()
	resp, err := http.Post(srv.URL+"/_localaws/clock", "application/json", strings.NewReader(`{"advance":"15m"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || clk.Now().Sub(before) != 15*time.Minute {
		t.Fatalf("status %d, moved %v", resp.StatusCode, clk.Now().Sub(before))
	}
	resp, _ = http.Post(srv.URL+"/_localaws/clock", "application/json", strings.NewReader(`{"advance":"-1m"}`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("negative advance: %d", resp.StatusCode)
	}
}
