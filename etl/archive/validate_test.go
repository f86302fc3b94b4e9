package archive_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// Bad input is refused before any call to the endpoint, exit 2 (issue 16
// item 7). Bucket names follow the S3 user guide's "General purpose bucket
// naming rules" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html);
// the DynamoDB table name botocore dynamodb service-2.json TableName (min 3,
// max 255, pattern [a-zA-Z0-9_.-]+); the log retention the enum of botocore
// logs service-2.json shape Days (PutRetentionPolicy.retentionInDays).
func TestCreateRefusesBadInputBeforeAnyCall(t *testing.T) {
	e := start(t)
	long := func(n int, c string) string { return strings.Repeat(c, n) }
	cases := []struct {
		name   string
		change func(o *archive.Options)
		want   string
	}{
		{"bucket as an IPv4 address", func(o *archive.Options) { o.Bucket = "192.168.5.4" }, "IP address"},
		{"bucket with the xn-- prefix", func(o *archive.Options) { o.Bucket = "xn--archive" }, "prefix xn--"},
		{"bucket with the sthree- prefix", func(o *archive.Options) { o.Bucket = "sthree-archive" }, "prefix sthree-"},
		{"bucket with the amzn-s3-demo- prefix", func(o *archive.Options) { o.Bucket = "amzn-s3-demo-bucket" }, "prefix amzn-s3-demo-"},
		{"bucket with the -s3alias suffix", func(o *archive.Options) { o.Bucket = "archive-s3alias" }, "suffix -s3alias"},
		{"bucket with the --ol-s3 suffix", func(o *archive.Options) { o.Bucket = "archive--ol-s3" }, "suffix --ol-s3"},
		{"bucket with the .mrap suffix", func(o *archive.Options) { o.Bucket = "archive.mrap" }, "suffix .mrap"},
		{"bucket with the --x-s3 suffix", func(o *archive.Options) { o.Bucket = "archive--x-s3" }, "suffix --x-s3"},
		{"bucket of 2 characters", func(o *archive.Options) { o.Bucket = "ab" }, "3 to 63"},
		{"bucket of 64 characters", func(o *archive.Options) { o.Bucket = long(64, "a") }, "3 to 63"},
		{"bucket with uppercase", func(o *archive.Options) { o.Bucket = "Acme-cdc" }, "only lowercase"},
		{"bucket with an underscore", func(o *archive.Options) { o.Bucket = "acme_cdc" }, "only lowercase"},
		{"bucket ending with a hyphen", func(o *archive.Options) { o.Bucket = "acme-cdc-" }, "begin and end"},
		{"bucket starting with a period", func(o *archive.Options) { o.Bucket = ".acme" }, "begin and end"},
		{"bucket with adjacent periods", func(o *archive.Options) { o.Bucket = "acme..cdc" }, "adjacent periods"},
		{"dynamodb table of 2 characters", func(o *archive.Options) { o.DynamoDBTable = "ab" }, "3-255"},
		{"dynamodb table of 256 characters", func(o *archive.Options) { o.DynamoDBTable = long(256, "t") }, "3-255"},
		{"dynamodb table with a slash", func(o *archive.Options) { o.DynamoDBTable = "a/b/c" }, "3-255"},
		{"log retention 2 days", func(o *archive.Options) { o.LogRetentionDays = 2 }, "CloudWatch Logs accepts only 1, 3, 5, 7, 14"},
		{"log retention 366 days", func(o *archive.Options) { o.LogRetentionDays = 366 }, "invalid --log-retention-days 366"},
		{"log retention negative", func(o *archive.Options) { o.LogRetentionDays = -1 }, "invalid --log-retention-days -1"},
		{"buffer of 129 MiB", func(o *archive.Options) { o.BufferMB = 129 }, "1-128 MiB"},
		{"prefix with a leading slash", func(o *archive.Options) { o.Prefix = "/cdc/" }, "does not start with '/'"},
		// issue 16 item 4: the prefix goes into the role's Resource ARN and
		// its s3:prefix StringLike condition, where these widen the grant
		// (IAM user guide, "IAM JSON policy elements: Resource", "Policy variables").
		{"prefix with *", func(o *archive.Options) { o.Prefix = "cdc/*" }, "IAM wildcards"},
		{"prefix with ?", func(o *archive.Options) { o.Prefix = "cdc/?rders/" }, "IAM wildcards"},
		{"prefix with a policy variable", func(o *archive.Options) { o.Prefix = "cdc/${aws:username}/" }, "policy variables"},
		{"prefix with a Firehose expression", func(o *archive.Options) { o.Prefix = "cdc/!{timestamp:yyyy}/" }, "Firehose expressions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := dynamoOpts()
			c.change(&o)
			e.srv.ResetCalls()
			res, err := archive.Create(context.Background(), e.deps, o)
			if opserr.ExitCode(err) != opserr.ExitUsage || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v (exit %d), want a usage error naming %q", err, opserr.ExitCode(err), c.want)
			}
			if calls := e.srv.Calls(); len(calls) != 0 || res.Changes != nil {
				t.Fatalf("bad input reached the endpoint: %d calls, %d changes", len(calls), len(res.Changes))
			}
		})
	}
}

// Names the rules allow pass, at the edges of each rule.
func TestValidateAcceptsNamesAtTheEdgesOfTheRules(t *testing.T) {
	for _, b := range []string{"abc", strings.Repeat("a", 63), "my.archive-1", "1archive", "192.168.5.4a", "axn--b", "archive-s3aliasx", "s3alias"} {
		if err := archive.ValidateBucketName(b); err != nil {
			t.Errorf("bucket %q refused: %v", b, err)
		}
	}
	for _, d := range archive.LogRetentionDays {
		if err := archive.ValidateLogRetentionDays(d); err != nil {
			t.Errorf("retention %d refused: %v", d, err)
		}
	}
	o := mysqlOpts()
	o.SourceTable = strings.Repeat("d", 64) + "." + strings.Repeat("t", 64) // MySQL: 64 characters per identifier
	if err := o.Validate(); err != nil {
		t.Errorf("64-character MySQL identifiers refused: %v", err)
	}
	o.SourceTable = strings.Repeat("d", 65) + ".t"
	if err := o.Validate(); opserr.ExitCode(err) != opserr.ExitUsage {
		t.Errorf("65-character MySQL identifier accepted: %v", err)
	}
	p := postgresOpts()
	p.SourceTable = "public." + strings.Repeat("u", 63) // Postgres: NAMEDATALEN-1 = 63 bytes
	if err := p.Validate(); err != nil {
		t.Errorf("63-byte Postgres identifier refused: %v", err)
	}
	p.SourceTable = "public." + strings.Repeat("u", 64)
	if err := p.Validate(); opserr.ExitCode(err) != opserr.ExitUsage {
		t.Errorf("64-byte Postgres identifier accepted (Postgres would truncate it): %v", err)
	}
}

// A failure after some writes is partial (exit 3) and says what was
// already created; the re-run creates only the rest.
func TestCreateFailingHalfwayIsPartialAndSaysWhatWasCreated(t *testing.T) {
	e := start(t)
	e.table(t, "orders")
	// A permanent refusal (AccessDenied) of the log group, after the
	// bucket and the stream were created.
	e.srv.InjectFault(localaws.Fault{Service: "logs", Operation: "CreateLogGroup", Kind: localaws.FaultError, Code: "AccessDeniedException", Status: 400,
		Message: "User is not authorized to perform: logs:CreateLogGroup"})
	res, err := archive.Create(context.Background(), e.deps, dynamoOpts())
	if opserr.ExitCode(err) != opserr.ExitPartial {
		t.Fatalf("err = %v (exit %d), want partial (3)", err, opserr.ExitCode(err))
	}
	for _, want := range []string{"create log group", "AccessDeniedException", "already done: create s3-bucket acme-cdc", "create kinesis-stream orders", "re-run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := plan.Count(res.Changes); n.Applied == 0 || n.Failed != 1 || n.Skipped == 0 {
		t.Fatalf("changes %+v", n)
	}
	again := mustCreate(t, e, dynamoOpts())
	for _, c := range again.Changes {
		if c.Action == plan.ActionCreate && (c.Resource == archive.ResBucket || c.Resource == archive.ResStream) {
			t.Errorf("re-run created %s %s again", c.Resource, c.Name)
		}
	}
	if n := plan.Count(again.Changes); n.Failed != 0 || n.Applied == 0 {
		t.Fatalf("re-run %+v", n)
	}
}
