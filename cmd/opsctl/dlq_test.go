package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/redrive"
)

func TestDLQFlagsToOptions(t *testing.T) {
	tests := map[string]struct {
		args []string
		want any
	}{
		"redrive with every flag": {
			args: []string{"dlq", "redrive", "orders-dlq", "--to", "orders-replay", "--filter", `body contains "x"`, "--limit", "5",
				"--rate", "50/s", "--concurrency", "8", "--archive", "s3://arch/dlq/", "--dry-run", "--method", "client", "--breaker-ratio", "0.3", "--visibility-timeout", "30s"},
			want: redrive.Options{DLQ: "orders-dlq", To: "orders-replay", Filter: `body contains "x"`, Limit: 5, Rate: 50, Concurrency: 8,
				Archive: "s3://arch/dlq/", DryRun: true, Method: "client", BreakerRatio: 0.3, VisibilityTimeout: 30 * time.Second},
		},
		"redrive to lambda, defaults": {
			args: []string{"dlq", "redrive", "resize-dlq", "--to-lambda", "resize"},
			want: redrive.Options{DLQ: "resize-dlq", ToLambda: "resize", Concurrency: 8, Method: "auto", BreakerRatio: 0.5, VisibilityTimeout: time.Minute},
		},
		"peek": {
			args: []string{"dlq", "peek", "orders-dlq", "--limit", "3", "--filter", "age > 1h"},
			want: redrive.PeekOptions{DLQ: "orders-dlq", Limit: 3, Filter: "age > 1h"},
		},
		"export": {
			args: []string{"dlq", "export", "orders-dlq", "--to", "out.jsonl", "--delete"},
			want: redrive.ExportOptions{DLQ: "orders-dlq", To: "out.jsonl", Delete: true, Concurrency: 4},
		},
		"import": {
			args: []string{"dlq", "import", "out.jsonl", "--to", "orders", "--rate", "600/m"},
			want: redrive.ImportOptions{From: "out.jsonl", To: "orders", Rate: 10, Concurrency: 4},
		},
		"list": {args: []string{"dlq", "list", "--prefix", "ord"}, want: redrive.ListOptions{Prefix: "ord"}},
		"redrive to a function ARN with alias": {
			args: []string{"dlq", "redrive", "q", "--to-lambda", "arn:aws:lambda:us-east-1:123456789012:function:resize:live"},
			want: redrive.Options{DLQ: "q", ToLambda: "arn:aws:lambda:us-east-1:123456789012:function:resize:live", Concurrency: 8, Method: "auto", BreakerRatio: 0.5, VisibilityTimeout: time.Minute},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _, code, out := runCapture(t, nil, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Fatalf("options\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDLQUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for name, args := range map[string][]string{
		// Caught before any AWS call, exit 2 (nothing called):
		"export concurrency 0":        {"dlq", "export", "q", "--to", "out.jsonl", "--concurrency", "0"},
		"import concurrency 0":        {"dlq", "import", "f.jsonl", "--to", "q", "--concurrency", "0"},
		"export concurrency negative": {"dlq", "export", "q", "--to", "out.jsonl", "--concurrency", "-3"},
		"rate NaN":                    {"dlq", "redrive", "q", "--rate", "NaN"},
		"rate NaN per minute":         {"dlq", "redrive", "q", "--rate", "nan/m"},
		"rate Inf":                    {"dlq", "redrive", "q", "--rate", "+Inf/s"},
		"import rate NaN":             {"dlq", "import", "f.jsonl", "--to", "q", "--rate", "NaN"},
		"breaker ratio NaN":           {"dlq", "redrive", "q", "--breaker-ratio", "NaN"},
		"breaker ratio Inf":           {"dlq", "redrive", "q", "--breaker-ratio", "Inf"},
		// botocore lambda service-2.json: Invoke FunctionName is a
		// NamespacedFunctionName (pattern of names, ARNs and partial ARNs, max 256).
		"to-lambda with a space":       {"dlq", "redrive", "q", "--to-lambda", "resize image"},
		"to-lambda an SQS ARN":         {"dlq", "redrive", "q", "--to-lambda", "arn:aws:sqs:us-east-1:123456789012:q"},
		"to-lambda bad character":      {"dlq", "redrive", "q", "--to-lambda", "resize!"},
		"to-lambda too many qualifier": {"dlq", "redrive", "q", "--to-lambda", "resize:v1:v2"},
		"archive is a directory":       {"dlq", "redrive", "q", "--archive", dir},
		"export to a directory":        {"dlq", "export", "q", "--to", dir},
		"archive in a missing dir":     {"dlq", "redrive", "q", "--archive", filepath.Join(dir, "nope", "a.jsonl")},

		"no DLQ":            {"dlq", "redrive"},
		"two DLQs":          {"dlq", "peek", "a", "b"},
		"bad rate":          {"dlq", "redrive", "q", "--rate", "fast"},
		"bad filter":        {"dlq", "redrive", "q", "--filter", "body >"},
		"to and to-lambda":  {"dlq", "redrive", "q", "--to", "a", "--to-lambda", "f"},
		"native + filter":   {"dlq", "redrive", "q", "--method", "native", "--filter", `body contains "a"`},
		"bad archive":       {"dlq", "redrive", "q", "--archive", "gs://b/p"},
		"export without to": {"dlq", "export", "q"},
		"import without to": {"dlq", "import", "f.jsonl"},
		"zero peek limit":   {"dlq", "peek", "q", "--limit", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			got, _, code, out := runCapture(t, nil, args...)
			if code != 2 || got != nil {
				t.Fatalf("want exit 2 before any call, got %d (%v): %s", code, got, out)
			}
		})
	}
}

// The built binary against the local endpoint, one run per command.
func TestBinaryDLQCommands(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}, SQSBackend: "fauxqs"})
	env := localawstest.Env(t, srv)
	c := sqs.NewFromConfig(localawstest.Config(srv, 0))
	ctx := context.Background()
	mk := func(name string, attrs map[string]string) string {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		return *out.QueueUrl
	}
	dlq := mk("orders-dlq", nil)
	mk("orders", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":"3"}`})
	other := mk("orders-replay", nil)
	const n = 20
	for i := 0; i < n; i++ {
		_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String(fmt.Sprintf(`{"n":%d,"status":"%s"}`, i, []string{"FAILED", "OK"}[i%2])),
			MessageAttributes: map[string]types.MessageAttributeValue{"seq": {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(i))}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	depth := func(url string) int {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
		nv, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
		return v + nv
	}

	// list
	r := localawstest.Run(t, env, "dlq", "list", "--no-sample")
	if r.Code != 0 || !strings.Contains(r.Stdout, "orders-dlq") || !strings.Contains(r.Stdout, "sqs-redrive") || !strings.Contains(r.Stdout, "NONE") {
		t.Fatalf("list: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "list", "-o", "json")
	var lr redrive.ListResult
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &lr) != nil || len(lr.DLQs) != 1 || lr.DLQs[0].Depth != n || lr.DLQs[0].Sources[0] != "orders" {
		t.Fatalf("list json: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}

	// peek
	r = localawstest.Run(t, env, "dlq", "peek", "orders-dlq", "--limit", "2", "--filter", `$.status == "FAILED"`)
	if r.Code != 0 || strings.Count(r.Stdout, "MessageID:") != 2 || !strings.Contains(r.Stdout, `"status":"FAILED"`) || strings.Contains(r.Stdout, `"OK"`) {
		t.Fatalf("peek: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if depth(dlq) != n {
		t.Fatal("peek consumed messages")
	}

	// redrive: dry run, then a filtered, archived move to another queue
	r = localawstest.Run(t, env, "dlq", "redrive", "orders-dlq", "--to", "orders-replay", "--dry-run", "-o", "json")
	var res redrive.Result
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil || !res.DryRun || res.WouldMove["sqs:orders-replay"] != n || depth(other) != 0 {
		t.Fatalf("dry run: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	archive := filepath.Join(t.TempDir(), "archive.jsonl")
	r = localawstest.Run(t, env, "dlq", "redrive", "orders-dlq", "--to", "orders-replay", "--filter", `$.status == "FAILED"`, "--archive", archive, "-o", "json")
	res = redrive.Result{}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil || res.Moved != n/2 || res.Archived != n/2 || res.FilteredOut != n/2 || depth(other) != n/2 || depth(dlq) != n/2 {
		t.Fatalf("redrive: %d %+v\n%s", r.Code, res, r.Stderr)
	}
	if data, err := os.ReadFile(archive); err != nil || strings.Count(string(data), "\n") != n/2 {
		t.Fatalf("archive: %v %q", err, data)
	}

	// Sends that keep failing: exit 3, the output says how many are still in the DLQ.
	srv.InjectFault(localaws.Fault{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.FaultError, Code: "AccessDenied", Status: 403, Times: -1})
	r = localawstest.Run(t, env, "dlq", "redrive", "orders-dlq", "--to", "orders-replay", "--method", "client")
	srv.ClearFaults()
	if r.Code != 3 || !strings.Contains(r.Stderr, "could not be moved") || !strings.Contains(r.Stdout, "still in the DLQ") || depth(dlq) != n/2 {
		t.Fatalf("failing sends: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	// export (with delete) and import
	file := filepath.Join(t.TempDir(), "export.jsonl")
	r = localawstest.Run(t, env, "dlq", "export", "orders-dlq", "--to", file, "--delete")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("export --delete without --yes must refuse: %d %s", r.Code, r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "export", "orders-dlq", "--to", file, "--delete", "--yes")
	if r.Code != 0 || depth(dlq) != 0 {
		t.Fatalf("export: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "import", file, "--to", "orders-replay", "-o", "json")
	var ir redrive.ImportResult
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &ir) != nil || ir.Sent != n/2 || depth(other) != n {
		t.Fatalf("import: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}

	// An empty DLQ: nothing to do, exit 0, no write call.
	srv.ResetCalls()
	r = localawstest.Run(t, env, "dlq", "redrive", "orders-dlq")
	if r.Code != 0 || len(srv.WriteCalls()) != 0 {
		t.Fatalf("empty redrive: %d %v %s", r.Code, srv.WriteCalls(), r.Stderr)
	}
}

// The binary redrives a Lambda async DLQ by re-invoking the function.
func TestBinaryDLQRedrivesLambda(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}, SQSBackend: "fauxqs"})
	env := localawstest.Env(t, srv)
	cfg := localawstest.Config(srv, 0)
	c := sqs.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("resize-dlq")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("resize"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: lambdatypes.RuntimeNodejs20x, Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("zip")},
		DeadLetterConfig: &lambdatypes.DeadLetterConfig{TargetArn: aws.String("arn:aws:sqs:us-east-1:000000000000:resize-dlq")}}); err != nil {
		t.Fatal(err)
	}
	// The function fails and is not retried (MaximumRetryAttempts 0), so
	// Lambda (the emulation) dead-letters each event at once, with RequestID,
	// ErrorCode and ErrorMessage (Lambda developer guide, "Dead-letter queues").
	emu := srv.Service("lambda").(*lambdaemu.Server)
	emu.SetHandler("resize", func([]byte) ([]byte, error) { return nil, fmt.Errorf("Task timed out after 3.00 seconds") })
	if _, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("resize"), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("resize"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(fmt.Sprintf(`{"image":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	emu.SetHandler("resize", nil) // fixed
	before := len(emu.Invocations("resize"))
	r := localawstest.Run(t, env, "dlq", "list", "--no-sample")
	if r.Code != 0 || !strings.Contains(r.Stdout, "lambda-async-dlq") || !strings.Contains(r.Stdout, "lambda:resize") {
		t.Fatalf("list: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "redrive", "resize-dlq", "-o", "json")
	var res redrive.Result
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil || res.Moved != 5 || res.Method != "client" {
		t.Fatalf("redrive: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	invs := emu.Invocations("resize")[before:]
	if len(invs) != 5 || invs[0].Type != "Event" || !strings.HasPrefix(string(invs[0].Payload), `{"image":`) {
		t.Fatalf("invocations %+v", invs)
	}
}

// A role without sqs:DeleteMessage: the binary reports the messages it sent
// but could not delete, in the table and in JSON, names the permission and
// exits 3 (SQS API reference, "Common Errors": AccessDenied).
func TestBinaryDLQReportsSentButNotDeleted(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}, SQSBackend: "fauxqs"})
	env := localawstest.Env(t, srv)
	c := sqs.NewFromConfig(localawstest.Config(srv, 0))
	ctx := context.Background()
	var dlqURL *string
	for _, name := range []string{"pay-dlq", "pay"} {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if dlqURL == nil {
			dlqURL = out.QueueUrl
		}
	}
	for i := 0; i < 15; i++ {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlqURL, MessageBody: aws.String(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	srv.InjectFault(localaws.Fault{Service: "sqs", Operation: "DeleteMessageBatch", Kind: localaws.FaultError, Code: "AccessDenied", Status: 403, Times: -1})
	for _, format := range []string{"table", "json"} {
		r := localawstest.Run(t, env, "dlq", "redrive", "pay-dlq", "--to", "pay", "--method", "client", "--concurrency", "1", "--visibility-timeout", "1s", "-o", format)
		if r.Code != 3 || !strings.Contains(r.Stderr, "sqs:DeleteMessage") {
			t.Fatalf("%s: want exit 3 naming sqs:DeleteMessage, got %d\n%s\n%s", format, r.Code, r.Stdout, r.Stderr)
		}
		if format == "table" && !strings.Contains(r.Stdout, "Sent, not deleted:") {
			t.Fatalf("table does not report the undeleted messages:\n%s", r.Stdout)
		}
		if format == "json" {
			var res redrive.Result
			if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || res.SentNotDeleted == 0 || res.Moved != 0 || res.SentNotDeleted > 10 {
				t.Fatalf("json: %v %s", err, r.Stdout)
			}
		}
		time.Sleep(1100 * time.Millisecond) // the undeleted batch becomes visible again
	}
}

// dlq audit finds consumers without a DLQ, each with the command that fixes
// it; dlq add gives them one (plan → diff → apply), a dry run writes
// nothing, a re-run writes nothing, and the audit is then clean. The built
// binary against the local endpoint.
func TestBinaryDLQAddAndAudit(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS, localaws.EmulatorSQS}})
	env := localawstest.Env(t, srv)
	cfg := localawstest.Config(srv, 0)
	c := sqs.NewFromConfig(cfg)
	lc := lambda.NewFromConfig(cfg)
	ctx := context.Background()
	attrs := func(url string) map[string]string {
		out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	mk := func(name string, a map[string]string) string {
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: a})
		if err != nil {
			t.Fatal(err)
		}
		return *out.QueueUrl
	}
	orders := mk("orders", nil)
	events := mk("events.fifo", map[string]string{"FifoQueue": "true"})
	mk("billing-dlq", nil)
	mk("billing", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:billing-dlq","maxReceiveCount":"3"}`})
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("resize"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: lambdatypes.RuntimeNodejs20x, Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("zip")}}); err != nil {
		t.Fatal(err)
	}
	// An event invoke config marks it as invoked asynchronously.
	if _, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("resize"), MaximumRetryAttempts: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}

	// resize consumes orders through an event source mapping.
	if _, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("resize"), EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:orders")}); err != nil {
		t.Fatal(err)
	}
	// An SNS subscription without a redrive policy.
	sc := sns.NewFromConfig(cfg)
	topic, err := sc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("order-events")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := sc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:billing"), ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatal(err)
	}

	r := localawstest.Run(t, env, "dlq", "audit", "-o", "json")
	var ar redrive.AuditResult
	if r.Code != 3 || json.Unmarshal([]byte(r.Stdout), &ar) != nil {
		t.Fatalf("audit: want exit 3, got %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	fixes := map[string]string{}
	for _, f := range ar.Findings {
		fixes[f.Resource] = f.Fix
		if f.Resource == "orders" && !strings.Contains(f.Detail, "consumed by Lambda (resize)") {
			t.Fatalf("the finding does not name the consuming function: %+v", f)
		}
	}
	want := map[string]string{"orders": "opsctl dlq add orders", "events.fifo": "opsctl dlq add events.fifo", "resize": "opsctl dlq add --lambda resize"}
	for res, fix := range want {
		if fixes[res] != fix {
			t.Fatalf("audit findings %+v: want %s fixed by %q", ar.Findings, res, fix)
		}
	}
	for _, quiet := range []string{"billing", "billing-dlq"} {
		if _, ok := fixes[quiet]; ok {
			t.Fatalf("%s has a DLQ (or is one) but was reported", quiet)
		}
	}
	var subFix string
	for _, f := range ar.Findings {
		if f.Kind == redrive.FindingSubscription && f.ARN == aws.ToString(sub.SubscriptionArn) {
			subFix = f.Fix
		}
	}
	if !strings.Contains(subFix, "aws sns set-subscription-attributes --subscription-arn "+aws.ToString(sub.SubscriptionArn)+" --attribute-name RedrivePolicy") {
		t.Fatalf("subscription finding: %q in %+v", subFix, ar.Findings)
	}
	// Apply the fix it names (SNS API reference, SetSubscriptionAttributes: RedrivePolicy).
	if _, err := sc.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn, AttributeName: aws.String("RedrivePolicy"),
		AttributeValue: aws.String(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:billing-dlq"}`)}); err != nil {
		t.Fatal(err)
	}

	// Dry run: the plan, and no write call.
	srv.ResetCalls()
	r = localawstest.Run(t, env, "dlq", "add", "orders", "--email", "ops@example.com", "--dry-run")
	if r.Code != 0 || !strings.Contains(r.Stdout, "orders-dlq") || !strings.Contains(r.Stdout, "planned") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("dry run: %d %v\n%s\n%s", r.Code, srv.WriteCalls(), r.Stdout, r.Stderr)
	}

	// Apply, for a standard queue, a FIFO queue and a function.
	for _, args := range [][]string{{"orders", "--email", "ops@example.com"}, {"events.fifo", "--max-receive", "3"}, {"--lambda", "resize"}} {
		r = localawstest.Run(t, env, append([]string{"dlq", "add", "-o", "json"}, args...)...)
		var res redrive.AddResult
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &res) != nil || plan.Writes(res.Changes) == 0 {
			t.Fatalf("add %v: %d\n%s\n%s", args, r.Code, r.Stdout, r.Stderr)
		}
	}
	// botocore sqs service-2.json SetQueueAttributes: RedrivePolicy
	// {deadLetterTargetArn, maxReceiveCount}; RedriveAllowPolicy
	// {redrivePermission: byQueue, sourceQueueArns}; MessageRetentionPeriod max 1,209,600.
	dlqURL := strings.Replace(orders, "/orders", "/orders-dlq", 1)
	d := attrs(dlqURL)
	if d["MessageRetentionPeriod"] != "1209600" || !strings.Contains(d["RedriveAllowPolicy"], `"byQueue"`) || !strings.Contains(d["RedriveAllowPolicy"], "arn:aws:sqs:us-east-1:000000000000:orders") {
		t.Fatalf("orders-dlq attributes: %v", d)
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs(orders)["RedrivePolicy"]), &rp); err != nil || rp.DeadLetterTargetArn != "arn:aws:sqs:us-east-1:000000000000:orders-dlq" || fmt.Sprint(rp.MaxReceiveCount) != "5" {
		t.Fatalf("orders RedrivePolicy: %v %+v", err, rp)
	}
	fd := attrs(strings.Replace(events, "/events.fifo", "/events-dlq.fifo", 1))
	if fd["FifoQueue"] != "true" || !strings.Contains(attrs(events)["RedrivePolicy"], "events-dlq.fifo") {
		t.Fatalf("FIFO DLQ: %v / %v", fd, attrs(events)["RedrivePolicy"])
	}
	eic, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("resize")})
	if err != nil || eic.DestinationConfig == nil || aws.ToString(eic.DestinationConfig.OnFailure.Destination) != "arn:aws:sqs:us-east-1:000000000000:resize-dlq" || aws.ToInt32(eic.MaximumRetryAttempts) != 1 {
		t.Fatalf("resize's event invoke config: %v %+v", err, eic)
	}

	// A re-run changes nothing: no write call.
	srv.ResetCalls()
	r = localawstest.Run(t, env, "dlq", "add", "orders", "--email", "ops@example.com")
	if r.Code != 0 || !strings.Contains(r.Stdout, "no changes") || len(srv.WriteCalls()) != 0 {
		t.Fatalf("re-run: %d %v\n%s\n%s", r.Code, srv.WriteCalls(), r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "dlq", "audit")
	if r.Code != 0 {
		t.Fatalf("audit after add: want exit 0, got %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// Bad input: exit 2 before any call.
	for _, args := range [][]string{{"dlq", "add"}, {"dlq", "add", "q", "--lambda", "f"}, {"dlq", "add", "q", "--max-receive", "0"}, {"dlq", "add", "q", "--max-receive", "1001"}, {"dlq", "add", "--lambda", "bad name"}, {"dlq", "add", "q", "--email", "nobody"}} {
		if r := localawstest.Run(t, env, args...); r.Code != 2 {
			t.Fatalf("%v: want exit 2, got %d %s", args, r.Code, r.Stderr)
		}
	}
}
