package redrive

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/lambdaemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// A Lambda client that does not retry, so one injected fault is one error.
func (e *lambdaEnv) noRetryDeps(t *testing.T) Deps {
	d := e.deps(t)
	d.Lambda = lambda.NewFromConfig(localawstest.Config(e.srv, 1))
	return d
}

// Lambda discovery errors are reported, never taken for "no Lambda DLQs".
// botocore lambda service-2.json: ListFunctions and
// ListFunctionEventInvokeConfigs; AccessDeniedException is Lambda's error
// for a missing permission (Lambda API reference, "Common Errors").
func TestLambdaDiscoveryErrorsAreReported(t *testing.T) {
	denied := map[string]struct {
		fault      localaws.Fault
		permission string
	}{
		"ListFunctions denied":                  {localaws.Fault{Service: "lambda", Operation: "ListFunctions", Kind: localaws.FaultError, Code: "AccessDeniedException", Status: 403, Times: -1}, "lambda:ListFunctions"},
		"ListFunctionEventInvokeConfigs denied": {localaws.Fault{Service: "lambda", Operation: "ListFunctionEventInvokeConfigs", Kind: localaws.FaultError, Code: "AccessDeniedException", Status: 403, Times: -1}, "lambda:ListFunctionEventInvokeConfigs"},
		"ListFunctions failing":                 {localaws.Fault{Service: "lambda", Operation: "ListFunctions", Kind: localaws.Fault5xx, Times: -1}, "lambda:ListFunctions"},
	}
	e := newLambdaEnv(t)
	ctx := context.Background()
	p := e.pair(t, "orders", false)
	e.deadLetter(t, p, 3)
	_, asyncARN := e.queue(t, "resize-dlq")
	e.function(t, "resize", asyncARN, "")
	e.failAsync(t, "resize", `{"image":1}`)
	for name, tc := range denied {
		t.Run(name, func(t *testing.T) {
			e.srv.InjectFault(tc.fault)
			defer e.srv.ClearFaults()
			res, err := List(ctx, e.noRetryDeps(t), ListOptions{NoSample: true})
			var pe *opserr.PartialError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.permission) {
				t.Fatalf("list: want a partial error naming %s, got %v", tc.permission, err)
			}
			if len(res.Incomplete) != 1 || len(res.DLQs) == 0 || res.DLQs[0].Name != "orders-dlq" {
				t.Fatalf("the SQS part is still listed and the gap is said: %+v", res)
			}
			e.srv.ResetCalls()
			_, err = Redrive(ctx, e.noRetryDeps(t), fastOpts("resize-dlq"))
			if err == nil || !strings.Contains(err.Error(), tc.permission) || !strings.Contains(err.Error(), "Lambda dead-letter queue") {
				t.Fatalf("redrive: want an error naming %s, got %v", tc.permission, err)
			}
			if w := e.srv.WriteCalls(); len(w) != 0 {
				t.Fatalf("redrive wrote after failing to tell the DLQ's kind: %v", w)
			}
		})
	}
}

// On an endpoint with message move tasks (local-aws-sqs), a Lambda DLQ is
// never handed to the native move task (SQS StartMessageMoveTask: "Non-SQS
// queue sources of dead-letter queues, such as Lambda or Amazon SNS topics,
// are currently not supported").
func TestNativeMoveTaskIsNeverUsedForALambdaDLQ(t *testing.T) {
	e := newEnv(t, "")
	cfg := localawstest.Config(e.srv, 0)
	le := &lambdaEnv{env: e, lambda: lambda.NewFromConfig(cfg), emu: e.srv.Service("lambda").(*lambdaemu.Server)}
	ctx := context.Background()
	url, arn := le.queue(t, "thumbs-dlq")
	le.function(t, "thumbs", arn, "")
	for i := 0; i < 4; i++ {
		le.failAsync(t, "thumbs", `{"image":1}`)
	}
	le.emu.SetHandler("thumbs", nil)
	o := fastOpts(url)
	o.Method = MethodNative
	e.srv.ResetCalls()
	if _, err := Redrive(ctx, le.deps(t), o); err == nil || !strings.Contains(err.Error(), "does not support Lambda DLQs") {
		t.Fatalf("--method native on a Lambda DLQ: %v", err)
	}
	res, err := Redrive(ctx, le.deps(t), fastOpts(url))
	if err != nil || res.Method != "client" || res.Moved != 4 {
		t.Fatalf("auto: %v %+v", err, res)
	}
	if hasCall(e.srv, "StartMessageMoveTask") {
		t.Fatal("a move task was started for a Lambda DLQ")
	}
}
