package redrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// Lambda's own failure handling produces the DLQ messages the redrive then
// moves: asynchronous invokes of a failing function are retried as AWS does
// (Lambda developer guide, "Error handling and automatic retries": two
// retries by default, one minute after the first attempt and two minutes
// after the second; MaximumRetryAttempts and MaximumEventAgeInSeconds from
// the event invoke config), then the event goes to the function's
// dead-letter queue with RequestID, ErrorCode and ErrorMessage ("Dead-letter
// queues") or to its on-failure destination as an invocation record
// ("Capturing records of asynchronous invocations"). Retry times come from
// the endpoint's clock, here a fake one.
func TestRedriveOfDLQMessagesLambdaProduced(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}, SQSBackend: "fauxqs", Clock: clk})
	cfg := localawstest.Config(srv, 0)
	e := &lambdaEnv{env: &env{srv: srv, sqs: sqs.NewFromConfig(cfg)}, lambda: lambda.NewFromConfig(cfg), emu: srv.Service("lambda").(*lambdaemu.Server)}
	ctx := context.Background()
	asyncURL, asyncARN := e.queue(t, "resize-dlq")
	destURL, destARN := e.queue(t, "billing-failures")
	e.function(t, "resize", asyncARN, "")
	e.function(t, "billing", "", destARN)
	e.function(t, "expiring", "", destARN)
	if _, err := e.lambda.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("billing"), MaximumRetryAttempts: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lambda.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("expiring"), MaximumEventAgeInSeconds: aws.Int32(60)}); err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	broken.Store(true)
	fail := func(p []byte) ([]byte, error) {
		if broken.Load() {
			return nil, errors.New("Task timed out after 3.00 seconds")
		}
		return []byte("null"), nil
	}
	for _, fn := range []string{"resize", "billing", "expiring"} {
		e.emu.SetHandler(fn, fail)
	}
	const n = 4
	for i := 0; i < n; i++ {
		for _, fn := range []string{"resize", "billing"} {
			if _, err := e.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent,
				Payload: []byte(fmt.Sprintf(`{"%s":%d}`, fn, i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	attempts := func(fn string) int { return len(e.emu.Invocations(fn)) }
	step := func(d time.Duration) { clk.Advance(d); e.emu.Pump() }

	if attempts("resize") != n || e.count(t, asyncURL) != 0 {
		t.Fatalf("first attempts: %d, DLQ %d", attempts("resize"), e.count(t, asyncURL))
	}
	step(59 * time.Second) // no retry before a minute
	if attempts("resize") != n {
		t.Fatalf("retried after 59s: %d attempts", attempts("resize"))
	}
	step(time.Second) // 1m: the second attempt
	if attempts("resize") != 2*n || attempts("billing") != 2*n {
		t.Fatalf("second attempts: resize %d, billing %d", attempts("resize"), attempts("billing"))
	}
	// billing allows one retry: its events are in the destination now.
	if got := e.count(t, destURL); got != n {
		t.Fatalf("billing's %d failures not in the destination: %d", n, got)
	}
	// An event whose retry comes due after its 60 s maximum age is dropped
	// to the destination without that retry.
	if _, err := e.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("expiring"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"late":1}`)}); err != nil {
		t.Fatal(err)
	}
	step(61 * time.Second)
	if attempts("expiring") != 1 || e.count(t, destURL) != n+1 {
		t.Fatalf("expiring: %d attempts, destination %d", attempts("expiring"), e.count(t, destURL))
	}
	step(59 * time.Second) // 3m after the first attempt: the third
	if attempts("resize") != 3*n || e.count(t, asyncURL) != n {
		t.Fatalf("third attempts %d, DLQ %d", attempts("resize"), e.count(t, asyncURL))
	}
	if errs := e.emu.DeliveryErrors(); len(errs) != 0 {
		t.Fatalf("delivery errors: %v", errs)
	}

	// What Lambda wrote, as redrive sees it.
	pk, err := Peek(ctx, e.deps(t), PeekOptions{DLQ: asyncURL, Limit: n})
	if err != nil || len(pk.Messages) != n {
		t.Fatalf("peek: %v %+v", err, pk)
	}
	for _, m := range pk.Messages {
		code := m.MessageAttributes["ErrorCode"]
		if !m.isLambdaDLQMessage() || code.DataType != "Number" || aws.ToString(code.StringValue) != "200" ||
			aws.ToString(m.MessageAttributes["ErrorMessage"].StringValue) != "Task timed out after 3.00 seconds" || !strings.HasPrefix(m.Body, `{"resize":`) {
			t.Fatalf("DLQ message %+v", m)
		}
	}
	pk, err = Peek(ctx, e.deps(t), PeekOptions{DLQ: destURL, Limit: n + 1})
	conditions := map[string]int{}
	for _, m := range pk.Messages {
		rec, ok := asLambdaRecord(m.Body)
		var full struct {
			RequestContext struct {
				Condition              string `json:"condition"`
				ApproximateInvokeCount int    `json:"approximateInvokeCount"`
			} `json:"requestContext"`
			ResponseContext struct {
				FunctionError string `json:"functionError"`
			} `json:"responseContext"`
		}
		if !ok || json.Unmarshal([]byte(m.Body), &full) != nil || !strings.HasPrefix(rec.RequestContext.FunctionArn, "arn:aws:lambda:") {
			t.Fatalf("destination record %s", m.Body)
		}
		conditions[full.RequestContext.Condition]++
		if full.RequestContext.Condition == "RetriesExhausted" && (full.RequestContext.ApproximateInvokeCount != 2 || full.ResponseContext.FunctionError != "Unhandled") {
			t.Fatalf("record %s", m.Body)
		}
	}
	if err != nil || conditions["RetriesExhausted"] != n || conditions["EventAgeExceeded"] != 1 {
		t.Fatalf("destination records: %v %v", err, conditions)
	}
	time.Sleep(1100 * time.Millisecond) // the peeked messages are released (visibility 1s rounding)

	// The bug is fixed: redrive re-invokes with the original events.
	broken.Store(false)
	before := attempts("resize")
	res, err := Redrive(ctx, e.deps(t), fastOpts(asyncURL))
	if err != nil || res.Moved != n || res.Method != "client" || e.count(t, asyncURL) != 0 {
		t.Fatalf("redrive of the async DLQ: %v %+v", err, res)
	}
	got := map[string]bool{}
	for _, inv := range e.emu.Invocations("resize")[before:] {
		got[string(inv.Payload)] = true
	}
	for i := 0; i < n; i++ {
		if !got[fmt.Sprintf(`{"resize":%d}`, i)] {
			t.Fatalf("event %d not re-invoked with its payload: %v", i, got)
		}
	}
	res, err = Redrive(ctx, e.deps(t), fastOpts(destURL))
	if err != nil || res.Moved != n+1 || e.count(t, destURL) != 0 {
		t.Fatalf("redrive of the destination: %v %+v", err, res)
	}
	if e.emu.Pending() != 0 || e.count(t, asyncURL) != 0 {
		t.Fatalf("the re-invoked events failed again: pending %d", e.emu.Pending())
	}
}
