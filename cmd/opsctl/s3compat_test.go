package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// whoami against an S3-only server (s3rver answers STS's POST / with an
// error that is not STS's): what can be known, and exit 4.
func TestWhoamiOnAnEndpointWithoutSTS(t *testing.T) {
	s3s := localawstest.S3rver(t)
	env := localawstest.S3rverEnv(t, s3s, nil)
	r := localawstest.Run(t, env, "whoami", "--output", "json")
	if r.Code != opserr.ExitNoIdentity {
		t.Fatalf("exit %d, want %d: %s %s", r.Code, opserr.ExitNoIdentity, r.Stdout, r.Stderr)
	}
	var id struct {
		Account          string            `json:"account"`
		Region           string            `json:"region"`
		Endpoint         string            `json:"endpoint"`
		Endpoints        map[string]string `json:"endpoints"`
		CredentialSource string            `json:"credential_source"`
		IdentityError    string            `json:"identity_error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &id); err != nil {
		t.Fatalf("whoami JSON: %v\n%s", err, r.Stdout)
	}
	if id.Account != "" || id.Region != "us-east-1" || id.Endpoint != s3s.URL || id.Endpoints["s3"] != s3s.URL ||
		id.CredentialSource == "" || id.IdentityError == "" {
		t.Fatalf("whoami = %+v", id)
	}
	if !strings.Contains(r.Stderr, "identity could not be read") {
		t.Fatalf("stderr does not say so: %s", r.Stderr)
	}
	r = localawstest.Run(t, env, "whoami")
	if r.Code != opserr.ExitNoIdentity || !strings.Contains(r.Stdout, "Identity:") || !strings.Contains(r.Stdout, "Region:") {
		t.Fatalf("table: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
}

// dlq's S3 paths (--archive, export to and import from s3://) with S3 on
// s3rver and SQS on the local endpoint: AWS_ENDPOINT_URL_S3 sends S3 calls
// to one server, everything else to the other.
func TestDLQArchiveExportImportOnS3rver(t *testing.T) {
	s3s := localawstest.S3rver(t)
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}, SQSBackend: "fauxqs"})
	env := localawstest.S3rverEnv(t, s3s, srv)
	ctx := context.Background()
	s3c := localawstest.S3rverClient(s3s)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ops-archive")}); err != nil {
		t.Fatal(err)
	}
	c := sqs.NewFromConfig(localawstest.Config(srv, 0))
	mk := func(name string) string {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return *out.QueueUrl
	}
	dlq, replay := mk("orders-dlq"), mk("orders-replay")
	const n = 12
	for i := 0; i < n; i++ {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	depth := func(url string) int {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
		nv, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
		return v + nv
	}
	lines := func(prefix string) int {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("ops-archive"), Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, o := range out.Contents {
			g, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ops-archive"), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(g.Body)
			g.Body.Close()
			total += strings.Count(string(b), "\n")
		}
		return total
	}

	r := localawstest.Run(t, env, "dlq", "redrive", "orders-dlq", "--to", "orders-replay", "--archive", "s3://ops-archive/redrive/", "-o", "json")
	if r.Code != 0 || depth(replay) != n || depth(dlq) != 0 || lines("redrive/") != n {
		t.Fatalf("redrive --archive: exit %d, replay %d, archived lines %d\n%s\n%s", r.Code, depth(replay), lines("redrive/"), r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "export", "orders-replay", "--to", "s3://ops-archive/export/", "--delete", "--yes")
	if r.Code != 0 || depth(replay) != 0 || lines("export/") != n {
		t.Fatalf("export: exit %d, left %d, lines %d\n%s", r.Code, depth(replay), lines("export/"), r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "import", "s3://ops-archive/export/", "--to", "orders-dlq")
	if r.Code != 0 || depth(dlq) != n {
		t.Fatalf("import: exit %d, depth %d\n%s", r.Code, depth(dlq), r.Stderr)
	}
	if n := countCalls(srv, "s3"); n != 0 {
		t.Fatalf("the local endpoint saw %d S3 calls: AWS_ENDPOINT_URL_S3 was not honoured", n)
	}
}

// etl rebuild on a server that ignores conditional writes: refused, naming
// the flag that accepts the risk; accepted with it.
func TestRebuildRefusesAnUnprotectedLockOnS3rver(t *testing.T) {
	s3s := localawstest.S3rver(t)
	env := localawstest.S3rverEnv(t, s3s, nil)
	ctx := context.Background()
	s3c := localawstest.S3rverClient(s3s)
	for _, b := range []string{"lake", "tables"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	ev := `{"eventID":"1","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1000,"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"qty":{"N":"1"}}},"eventSource":"aws:dynamodb"}` + "\n"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String("cdc/orders/o-1"), Body: strings.NewReader(ev)}); err != nil {
		t.Fatal(err)
	}
	args := []string{"etl", "rebuild", "--source", "s3://lake/cdc/orders/", "--format", "dynamodb", "--dest", "s3://tables/orders/"}
	r := localawstest.Run(t, env, args...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "--allow-unprotected-lock") {
		t.Fatalf("unprotected: exit %d: %s", r.Code, r.Stderr)
	}
	r = localawstest.Run(t, env, append(args, "--allow-unprotected-lock", "-o", "json")...)
	if r.Code != 0 || !strings.Contains(r.Stderr, "without a working lock") {
		t.Fatalf("accepted: exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
}
