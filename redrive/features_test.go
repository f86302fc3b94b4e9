package redrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// lambdaEnv adds Lambda, CloudWatch and S3 clients to env.
type lambdaEnv struct {
	*env
	lambda *lambda.Client
	emu    *lambdaemu.Server
	cw     *cloudwatch.Client
	s3     *s3.Client
}

func newLambdaEnv(t *testing.T) *lambdaEnv {
	e := newEnv(t, "fauxqs")
	cfg := localawstest.Config(e.srv, 0)
	return &lambdaEnv{env: e, lambda: lambda.NewFromConfig(cfg), emu: e.srv.Service("lambda").(*lambdaemu.Server),
		cw: cloudwatch.NewFromConfig(cfg), s3: localawstest.S3(e.srv)}
}

func (e *lambdaEnv) deps(t *testing.T) Deps {
	d := e.env.deps(t)
	d.Lambda, d.CloudWatch, d.S3 = e.lambda, e.cw, e.s3
	return d
}

func (e *lambdaEnv) queue(t *testing.T, name string) (url, arn string) {
	out, err := e.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.QueueUrl, e.arn(t, *out.QueueUrl)
}

func (e *lambdaEnv) function(t *testing.T, name, dlqARN, onFailure string) {
	t.Helper()
	ctx := context.Background()
	in := &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String("arn:aws:iam::000000000000:role/r"),
		Runtime: lambdatypes.RuntimeNodejs20x, Handler: aws.String("index.handler"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("zip")}}
	if dlqARN != "" {
		in.DeadLetterConfig = &lambdatypes.DeadLetterConfig{TargetArn: aws.String(dlqARN)}
	}
	if _, err := e.lambda.CreateFunction(ctx, in); err != nil {
		t.Fatal(err)
	}
	if onFailure != "" {
		if _, err := e.lambda.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name),
			DestinationConfig: &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(onFailure)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// failAsync invokes fn asynchronously with a handler that fails and no
// retries, so Lambda (the emulation) sends the event to fn's DLQ or
// on-failure destination at once, with the attributes or record AWS uses.
func (e *lambdaEnv) failAsync(t *testing.T, fn, payload string) {
	t.Helper()
	ctx := context.Background()
	e.emu.SetHandler(fn, func([]byte) ([]byte, error) { return nil, errors.New("Task timed out after 3.00 seconds") })
	if _, err := e.lambda.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(fn)}); err == nil {
		_, err = e.lambda.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String(fn), MaximumRetryAttempts: aws.Int32(0)})
		if err != nil {
			t.Fatal(err)
		}
	} else if _, err := e.lambda.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(fn), MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	if errs := e.emu.DeliveryErrors(); len(errs) > 0 {
		t.Fatalf("Lambda could not dead-letter the event: %v", errs)
	}
}

func (e *lambdaEnv) put(t *testing.T, url, body string, attrs map[string]string) {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: map[string]types.MessageAttributeValue{}}
	for k, v := range attrs {
		dt := "String"
		if _, err := strconv.Atoi(v); err == nil {
			dt = "Number"
		}
		in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String(dt), StringValue: aws.String(v)}
	}
	if _, err := e.sqs.SendMessage(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// A Lambda async DLQ is redriven by re-invoking its function with the
// original payload (InvocationType Event); an on-failure destination record
// by re-invoking with its requestPayload. Throttling is retried.
func TestLambdaRedrive(t *testing.T) {
	e := newLambdaEnv(t)
	ctx := context.Background()
	asyncURL, asyncARN := e.queue(t, "resize-dlq")
	destURL, destARN := e.queue(t, "billing-failures")
	e.function(t, "resize", asyncARN, "")
	e.function(t, "billing", "", destARN)
	const n = 12
	// Lambda itself dead-letters the failing events (MaximumRetryAttempts 0:
	// at once), as the emulation does it (lambdaemu async.go).
	for i := 0; i < n; i++ {
		e.failAsync(t, "resize", fmt.Sprintf(`{"image":%d}`, i))
		e.failAsync(t, "billing", fmt.Sprintf(`{"invoice":%d,"lines":[1,2]}`, i))
	}
	if e.count(t, asyncURL) != n || e.count(t, destURL) != n {
		t.Fatalf("Lambda dead-lettered %d and %d of %d events", e.count(t, asyncURL), e.count(t, destURL), n)
	}
	e.emu.SetHandler("resize", nil) // fixed: invocations succeed
	e.emu.SetHandler("billing", nil)
	e.emu.Throttle("resize", 3)

	before := len(e.emu.Invocations("resize"))
	res, err := Redrive(ctx, e.deps(t), fastOpts(asyncURL))
	if err != nil || res.Moved != n || res.Method != "client" {
		t.Fatalf("async DLQ redrive: %v %+v", err, res)
	}
	got := map[string]bool{}
	for _, inv := range e.emu.Invocations("resize")[before:] {
		if inv.Type != "Event" {
			t.Fatalf("invocation type %s, want Event", inv.Type)
		}
		got[string(inv.Payload)] = true
	}
	for i := 0; i < n; i++ {
		if !got[fmt.Sprintf(`{"image":%d}`, i)] {
			t.Fatalf("event %d not re-invoked with its original payload: %v", i, got)
		}
	}
	if e.count(t, asyncURL) != 0 {
		t.Fatal("async DLQ not empty")
	}

	before = len(e.emu.Invocations("billing"))
	res, err = Redrive(ctx, e.deps(t), fastOpts(destURL))
	if err != nil || res.Moved != n {
		t.Fatalf("destination redrive: %v %+v", err, res)
	}
	invs := e.emu.Invocations("billing")[before:]
	if len(invs) != n {
		t.Fatalf("%d billing invocations, want %d", len(invs), n)
	}
	for _, inv := range invs {
		var p struct {
			Invoice *int  `json:"invoice"`
			Lines   []int `json:"lines"`
		}
		if err := json.Unmarshal(inv.Payload, &p); err != nil || p.Invoice == nil || len(p.Lines) != 2 || strings.Contains(string(inv.Payload), "requestContext") {
			t.Fatalf("want the record's requestPayload, got %s", inv.Payload)
		}
	}

	// A function that does not exist: nothing is lost, exit 3.
	e.failAsync(t, "resize", `{"image":99}`)
	o := fastOpts(asyncURL)
	o.ToLambda = "ghost"
	res, err = Redrive(ctx, e.deps(t), o)
	var pe *opserr.PartialError
	if err != nil || !errors.As(res.Outcome(), &pe) || res.Failed != 1 || e.count(t, asyncURL) != 1 {
		t.Fatalf("missing function: %v %+v", err, res)
	}
}

// Discovery finds all three kinds of DLQ, their sources and alarms.
func TestListFindsEveryKindOfDLQ(t *testing.T) {
	e := newLambdaEnv(t)
	ctx := context.Background()
	p := e.pair(t, "orders", false)
	e.deadLetter(t, p, 3)
	_, asyncARN := e.queue(t, "resize-dlq")
	_, destARN := e.queue(t, "billing-failures")
	e.queue(t, "plain")
	e.function(t, "resize", asyncARN, "")
	e.function(t, "billing", "", destARN)
	e.function(t, "thumbs", asyncARN, "")
	e.emu.SetPageSize(1) // paging through functions
	_, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("orders-dlq-not-empty"), Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateNumberOfMessagesVisible"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String("orders-dlq")}},
		Statistic:  cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(0),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := List(ctx, e.deps(t), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]DLQ{}
	for _, d := range res.DLQs {
		byName[d.Name] = d
	}
	if len(byName) != 3 {
		t.Fatalf("want 3 DLQs, got %+v", res.DLQs)
	}
	o := byName["orders-dlq"]
	if strings.Join(o.Kinds, ",") != KindSQSRedrive || strings.Join(o.Sources, ",") != "orders" || o.Depth != 3 ||
		o.Alarmed == nil || !*o.Alarmed || o.Alarms[0] != "orders-dlq-not-empty" || o.OldestAgeSeconds == nil {
		t.Fatalf("orders-dlq: %+v", o)
	}
	r := byName["resize-dlq"]
	if strings.Join(r.Kinds, ",") != KindLambdaAsyncDLQ || strings.Join(r.Sources, ",") != "lambda:resize,lambda:thumbs" || r.Alarmed == nil || *r.Alarmed {
		t.Fatalf("resize-dlq: %+v", r)
	}
	if b := byName["billing-failures"]; strings.Join(b.Kinds, ",") != KindLambdaDestination || strings.Join(b.Sources, ",") != "lambda:billing" {
		t.Fatalf("billing-failures: %+v", b)
	}
	// The age sample leaves the messages visible.
	if v := e.count(t, p.dlq); v != 3 {
		t.Fatalf("list consumed messages: %d left", v)
	}
	time.Sleep(1100 * time.Millisecond)
	out, _ := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.dlq), AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if out.Attributes["ApproximateNumberOfMessages"] != "3" {
		t.Fatalf("sampled messages not visible again: %v", out.Attributes)
	}
}

// alarmFake is an in-memory CloudWatch for the alarm logic.
type alarmFake struct {
	alarms map[string][]string // queue|metric → alarm names
	err    error
	calls  []string
}

func (f *alarmFake) DescribeAlarmsForMetric(ctx context.Context, in *cloudwatch.DescribeAlarmsForMetricInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsForMetricOutput, error) {
	f.calls = append(f.calls, aws.ToString(in.Namespace)+"/"+aws.ToString(in.MetricName)+"/"+aws.ToString(in.Dimensions[0].Value))
	if f.err != nil {
		return nil, f.err
	}
	out := &cloudwatch.DescribeAlarmsForMetricOutput{}
	for _, n := range f.alarms[aws.ToString(in.Dimensions[0].Value)+"|"+aws.ToString(in.MetricName)] {
		out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n)})
	}
	return out, nil
}

func TestAlarmsForChecksDepthAndAgeMetrics(t *testing.T) {
	tests := map[string]struct {
		alarms  map[string][]string
		err     error
		want    []string
		alarmed *bool
	}{
		"depth alarm":        {alarms: map[string][]string{"q|ApproximateNumberOfMessagesVisible": {"a"}}, want: []string{"a"}, alarmed: aws.Bool(true)},
		"age alarm":          {alarms: map[string][]string{"q|ApproximateAgeOfOldestMessage": {"b"}}, want: []string{"b"}, alarmed: aws.Bool(true)},
		"both, deduplicated": {alarms: map[string][]string{"q|ApproximateAgeOfOldestMessage": {"b", "a"}, "q|ApproximateNumberOfMessagesVisible": {"a"}}, want: []string{"a", "b"}, alarmed: aws.Bool(true)},
		"other queue only":   {alarms: map[string][]string{"other|ApproximateNumberOfMessagesVisible": {"x"}}, want: []string{}, alarmed: aws.Bool(false)},
		"cloudwatch denied":  {err: errors.New("AccessDenied"), alarmed: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &alarmFake{alarms: tc.alarms, err: tc.err}
			d := &DLQ{Name: "q"}
			err := alarmsFor(context.Background(), Deps{CloudWatch: f}, d)
			if (err != nil) != (tc.err != nil) {
				t.Fatalf("err %v", err)
			}
			if (d.Alarmed == nil) != (tc.alarmed == nil) || (d.Alarmed != nil && *d.Alarmed != *tc.alarmed) {
				t.Fatalf("alarmed %v, want %v", d.Alarmed, tc.alarmed)
			}
			if tc.err == nil && strings.Join(d.Alarms, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("alarms %v, want %v", d.Alarms, tc.want)
			}
			if len(f.calls) == 0 || !strings.HasPrefix(f.calls[0], "AWS/SQS/") {
				t.Fatalf("calls %v", f.calls)
			}
		})
	}
}

// Peek shows messages and leaves them in the queue, visible at once.
func TestPeekDoesNotConsume(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "peek", false)
	e.deadLetter(t, p, 25)
	res, err := Peek(context.Background(), e.deps(t), PeekOptions{DLQ: p.dlq, Limit: 4, Filter: `$.kind == "refund"`})
	if err != nil || len(res.Messages) != 4 {
		t.Fatalf("peek: %v %+v", err, res)
	}
	for _, m := range res.Messages {
		if !strings.Contains(m.Body, "refund") || m.ReceiveCount == 0 || m.SentAt.IsZero() || m.MessageAttributes["label"].StringValue == nil {
			t.Fatalf("peeked message %+v", m)
		}
	}
	out, _ := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.dlq), AttributeNames: []types.QueueAttributeName{"All"}})
	if out.Attributes["ApproximateNumberOfMessages"] != "25" || out.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("peek left messages hidden: %v", out.Attributes)
	}
}

// --filter, --limit and --dry-run on the client path.
func TestFilterLimitAndDryRun(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "select", false)
	const n = 40
	e.deadLetter(t, p, n)
	ctx := context.Background()

	e.srv.ResetCalls()
	o := fastOpts(p.dlq)
	o.DryRun, o.Filter = true, `$.kind == "order"`
	res, err := Redrive(ctx, e.deps(t), o)
	if err != nil || res.Moved != 0 || res.WouldMove["sqs:select"] != n/2 || res.FilteredOut != n/2 || len(res.Samples) != 5 {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	for _, c := range e.srv.WriteCalls() {
		if c.Operation != "ChangeMessageVisibilityBatch" { // releasing what was looked at is the only change
			t.Fatalf("dry run made a write call: %v", c)
		}
	}
	if e.count(t, p.src) != 0 || e.count(t, p.dlq) != n {
		t.Fatal("dry run moved messages")
	}

	o = fastOpts(p.dlq)
	o.Filter, o.Limit = `$.kind == "order"`, 7
	res, err = Redrive(ctx, e.deps(t), o)
	if err != nil || res.Moved != 7 || res.Method != "client" {
		t.Fatalf("limited: %v %+v", err, res)
	}
	target := e.drain(t, p.src)
	for _, m := range target {
		if !strings.Contains(*m.Body, `"order"`) {
			t.Fatalf("filtered-out message moved: %s", *m.Body)
		}
	}
	if len(target) != 7 {
		t.Fatalf("%d moved, want 7", len(target))
	}
	left := e.drain(t, p.dlq)
	accounting(t, n, target, left)
}

// The breaker stops a redrive whose messages keep coming back: a consumer
// on the source queue fails every message, so SQS returns it to the DLQ.
func TestCircuitBreakerStopsWhenMessagesComeBack(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "bouncing", false)
	const n = 200
	e.deadLetter(t, p, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the broken consumer
		defer wg.Done()
		for ctx.Err() == nil {
			r, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.src), MaxNumberOfMessages: 10, VisibilityTimeout: 1, WaitTimeSeconds: 1})
			if err != nil {
				continue
			}
			var rel []types.ChangeMessageVisibilityBatchRequestEntry
			for i, m := range r.Messages {
				rel = append(rel, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
			}
			if len(rel) > 0 {
				e.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(p.src), Entries: rel})
			}
		}
	}()
	o := fastOpts(p.dlq)
	o.Method, o.Rate, o.Concurrency, o.EmptyReceives = MethodClient, 20, 1, 3
	res, err := Redrive(context.Background(), e.deps(t), o)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var pe *opserr.PartialError
	if res.CircuitBreaker != "open" || res.Returned < 5 || !errors.As(res.Outcome(), &pe) {
		t.Fatalf("breaker: %+v", res)
	}
	t.Logf("breaker opened after %d moved, %d came back: %s", res.Moved, res.Returned, res.CircuitBreakerReason)
	// What came back was not sent again: no message went to the source twice.
	if res.Moved > n {
		t.Fatalf("%d sends for %d messages: returned messages were redriven again", res.Moved, n)
	}
	accounting(t, n, e.drain(t, p.src), e.drain(t, p.dlq))
}

// Export to a file and to S3, with and without --delete, and import back.
func TestExportImportRoundTrip(t *testing.T) {
	e := newLambdaEnv(t)
	ctx := context.Background()
	p := e.pair(t, "exp", false)
	const n = 30
	e.deadLetter(t, p, n)
	file := filepath.Join(t.TempDir(), "dlq.jsonl")

	res, err := Export(ctx, e.deps(t), ExportOptions{DLQ: p.dlq, To: file, WaitTime: time.Second})
	if err != nil || res.Moved != n || e.count(t, p.dlq) != n {
		t.Fatalf("export without delete: %v %+v (left %d)", err, res, e.count(t, p.dlq))
	}
	data, _ := os.ReadFile(file)
	if lines := strings.Count(string(data), "\n"); lines != n {
		t.Fatalf("%d lines, want %d", lines, n)
	}

	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dlq-archive")}); err != nil {
		t.Fatal(err)
	}
	res, err = Export(ctx, e.deps(t), ExportOptions{DLQ: p.dlq, To: "s3://dlq-archive/exp/", Delete: true, WaitTime: time.Second})
	if err != nil || res.Moved != n || e.count(t, p.dlq) != 0 {
		t.Fatalf("export with delete: %v %+v", err, res)
	}
	replay, _ := e.queue(t, "replay")
	ir, err := Import(ctx, e.deps(t), ImportOptions{From: "s3://dlq-archive/exp/", To: "replay"})
	if err != nil || ir.Sent != n || ir.Read != n {
		t.Fatalf("import: %v %+v", err, ir)
	}
	if dups := accounting(t, n, e.drain(t, replay), nil); dups != 0 {
		t.Fatalf("%d duplicates", dups)
	}
}

// A FIFO DLQ exported with --delete and imported into a FIFO queue keeps
// each group's order, and a repeated import is deduplicated by SQS.
func TestExportImportFIFO(t *testing.T) {
	e := newLambdaEnv(t)
	ctx := context.Background()
	p := e.pair(t, "expf", true)
	const n = 30
	e.deadLetter(t, p, n)
	file := filepath.Join(t.TempDir(), "dlq.jsonl")
	res, err := Export(ctx, e.deps(t), ExportOptions{DLQ: p.dlq, To: file, Delete: true, Concurrency: 1, WaitTime: time.Second})
	if err != nil || res.Moved != n || e.count(t, p.dlq) != 0 {
		t.Fatalf("export: %v %+v", err, res)
	}
	out, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("replay.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		ir, err := Import(ctx, e.deps(t), ImportOptions{From: file, To: "replay.fifo"})
		if err != nil || ir.Sent != n {
			t.Fatalf("import %d: %v %+v", i, err, ir)
		}
	}
	got := e.drain(t, *out.QueueUrl)
	if dups := accounting(t, n, got, nil); dups != 0 {
		t.Fatalf("%d duplicates after a repeated FIFO import", dups)
	}
	checkGroupOrder(t, got)
}

func TestOptionsValidate(t *testing.T) {
	bad := map[string]Options{
		"no DLQ":               {},
		"bad queue name":       {DLQ: "has space"},
		"bad ARN":              {DLQ: "arn:aws:sns:us-east-1:1:topic"},
		"to and to-lambda":     {DLQ: "q", To: "a", ToLambda: "f"},
		"bad filter":           {DLQ: "q", Filter: "body >"},
		"negative limit":       {DLQ: "q", Limit: -1},
		"too much concurrency": {DLQ: "q", Concurrency: 65},
		"bad archive":          {DLQ: "q", Archive: "ftp://x/y"},
		"native with filter":   {DLQ: "q", Method: MethodNative, Filter: `body contains "x"`},
		"native with archive":  {DLQ: "q", Method: MethodNative, Archive: "a.jsonl"},
		"unknown method":       {DLQ: "q", Method: "teleport"},
		"rate NaN":             {DLQ: "q", Rate: math.NaN()},
		"breaker ratio NaN":    {DLQ: "q", BreakerRatio: math.NaN()},
		"breaker ratio +Inf":   {DLQ: "q", BreakerRatio: math.Inf(1)},
		// Lambda API reference, Invoke FunctionName: "If you specify only the
		// function name, it is limited to 64 characters in length."
		"function name of 65": {DLQ: "q", ToLambda: strings.Repeat("f", 65)},
		"archive a directory": {DLQ: "q", Archive: os.TempDir()},
	}
	for _, ok := range []string{strings.Repeat("f", 64), "resize:live", "resize:$LATEST", "123456789012:function:resize", "arn:aws:lambda:eu-west-1:123456789012:function:" + strings.Repeat("f", 100)} {
		if err := (&Options{DLQ: "q", ToLambda: ok}).Validate(); err != nil {
			t.Errorf("--to-lambda %s rejected: %v", ok, err)
		}
	}
	for name, o := range bad {
		t.Run(name, func(t *testing.T) {
			var u *opserr.UsageError
			if err := o.Validate(); !errors.As(err, &u) {
				t.Fatalf("want a usage error, got %v", err)
			}
		})
	}
	if err := (&Options{DLQ: "https://sqs.us-east-1.amazonaws.com/1/q", To: "arn:aws:sqs:us-east-1:123456789012:q2", Archive: "s3://bucket/p/"}).Validate(); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]float64{"": 0, "200": 200, "200/s": 200, "600/m": 10, "3600/h": 1} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"fast", "-1/s", "10/d", "0"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
}

// The depth sensor: failures pour into the DLQ faster than opsctl drains it
// (the bug is not fixed), so the DLQ grows above its starting depth.
func TestCircuitBreakerWatchesAGrowingDLQ(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "storm", false)
	const n = 50
	e.deadLetter(t, p, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // new failures: 100 messages a second straight into the DLQ
		defer wg.Done()
		for i := 1000; ctx.Err() == nil; i += 10 {
			e.send(t, p.dlq, false, i, 10)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	o := fastOpts(p.dlq)
	o.Method, o.Rate, o.Concurrency = MethodClient, 20, 1
	res, err := Redrive(context.Background(), e.deps(t), o)
	cancel()
	wg.Wait()
	if err != nil || res.CircuitBreaker != "open" || !strings.Contains(res.CircuitBreakerReason, "the DLQ grew by") {
		t.Fatalf("breaker: %v %+v", err, res)
	}
	t.Logf("breaker opened after %d moved: %s", res.Moved, res.CircuitBreakerReason)
	accounting(t, n, e.drain(t, p.src), e.drain(t, p.dlq))
}
