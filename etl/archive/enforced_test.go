package archive_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The local endpoint enforces IAM on Firehose delivery (package iampolicy),
// so every archive test that sees an object delivered proves the generated
// trust and role policies suffice. This one proves the converse: without
// the statement that lets the role write the prefix, nothing is delivered,
// and nothing is lost — the records arrive once the statement is back, as
// Firehose retries.
func TestDeliveryNeedsTheGeneratedWriteStatement(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	o := dynamoOpts()
	o.BufferInterval = 60 * time.Second
	mustCreate(t, e, o)

	d, err := e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	roleARN := aws.ToString(d.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription.RoleARN)
	roleName := lastSegment(roleARN)
	names, err := e.iamc.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName)})
	if err != nil || len(names.PolicyNames) != 1 {
		t.Fatalf("role policies %+v %v", names, err)
	}
	pol, err := e.iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(names.PolicyNames[0])})
	if err != nil {
		t.Fatal(err)
	}
	full, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(full), &doc); err != nil {
		t.Fatal(err)
	}
	var kept []map[string]any
	for _, st := range doc.Statement {
		if st["Sid"] != "WriteThisPrefix" {
			kept = append(kept, st)
		}
	}
	if len(kept) != len(doc.Statement)-1 {
		t.Fatalf("no WriteThisPrefix statement in %s", full)
	}
	crippled, _ := json.Marshal(map[string]any{"Version": doc.Version, "Statement": kept})
	put := func(d string) {
		t.Helper()
		if _, err := e.iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(names.PolicyNames[0]),
			PolicyDocument: aws.String(d)}); err != nil {
			t.Fatal(err)
		}
	}
	put(string(crippled))

	putRecords(t, e, "orders", []record{{"a", `{"eventName":"INSERT"}`}})
	// The stream reads the record (its read permissions are intact) and
	// then cannot write it: it stays buffered through several intervals.
	deadline := time.Now().Add(30 * time.Second)
	for e.emu.BufferedRecords("orders") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the record was never read from Kinesis")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // > 3 buffer intervals at the test's time scale
	out, err := e.s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("acme-cdc"), Prefix: aws.String("cdc/orders/data/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 || e.emu.BufferedRecords("orders") != 1 {
		t.Fatalf("delivered %d objects without s3:PutObject (buffered %d)", len(out.Contents), e.emu.BufferedRecords("orders"))
	}

	put(full)
	deliveredKeys(t, e, "cdc/orders/data/", 1)
}

func lastSegment(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
