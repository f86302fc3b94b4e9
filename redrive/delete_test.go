package redrive

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/opserr"
)

// countCalls counts the endpoint's calls of op.
func countCalls(srv *localaws.Server, op string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Operation == op {
			n++
		}
	}
	return n
}

// A message whose send succeeded but whose delete from the DLQ failed is in
// both queues: the next run sends it again. Such messages are reported as
// sent-but-not-deleted (never as moved), the outcome is partial (exit 3),
// and a permanent delete error stops the run before more messages are sent.
//
// botocore sqs service-2.json: DeleteMessageBatch's errors include
// RequestThrottled, QueueDoesNotExist and InvalidSecurity; AccessDenied is
// SQS's common error for a missing permission (SQS API reference, "Common
// Errors": AccessDenied, HTTP 403... returned as AccessDeniedException 400 by
// the JSON protocol, AccessDenied in x-amzn-query-error).
func TestSentButNotDeletedIsReported(t *testing.T) {
	const n, concurrency = 60, 2
	tests := map[string]struct {
		fault     localaws.Fault
		permanent bool
	}{
		"AccessDenied (no sqs:DeleteMessage)": {fault: localaws.Fault{Service: "sqs", Operation: "DeleteMessageBatch", Kind: localaws.FaultError, Code: "AccessDenied", Status: 403, Times: -1}, permanent: true},
		"5xx past every retry":                {fault: localaws.Fault{Service: "sqs", Operation: "DeleteMessageBatch", Kind: localaws.Fault5xx, Times: -1}},
	}
	for kind, fifo := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, "fauxqs")
			i := 0
			for name, tc := range tests {
				i++
				t.Run(name, func(t *testing.T) {
					p := e.pair(t, "undeleted-"+kind+strings.Repeat("x", i), fifo)
					e.deadLetter(t, p, n)
					e.srv.ResetCalls()
					e.srv.InjectFault(tc.fault)
					o := fastOpts(p.dlq)
					o.Method, o.Concurrency, o.MaxAttempts = MethodClient, concurrency, 2
					o.VisibilityTimeout = 2e9 // what was not deleted reappears soon, for the drain
					res, err := Redrive(context.Background(), e.noRetryDeps(t), o)
					e.srv.ClearFaults()
					deletes := countCalls(e.srv, "DeleteMessageBatch")
					if err != nil {
						t.Fatalf("redrive: %v", err)
					}
					target, left := e.drain(t, p.src), e.drain(t, p.dlq)
					accounting(t, n, target, left)
					if len(target) == 0 {
						t.Fatal("nothing was sent: the test tests nothing")
					}
					// Every message that reached the target is still in the DLQ.
					if res.Moved != 0 || res.SentNotDeleted != int64(len(target)) {
						t.Fatalf("target has %d, result says moved %d, sent-not-deleted %d: %+v", len(target), res.Moved, res.SentNotDeleted, res)
					}
					var pe *opserr.PartialError
					out := res.Outcome()
					if !errors.As(out, &pe) || !strings.Contains(out.Error(), "not deleted") {
						t.Fatalf("want a partial outcome naming the undeleted messages, got %v", out)
					}
					if tc.permanent {
						if !strings.Contains(out.Error(), "sqs:DeleteMessage") || !strings.Contains(res.StoppedBecause, "sqs:DeleteMessage") {
							t.Fatalf("the permission is not named: %v / %q", out, res.StoppedBecause)
						}
						// Stopped at the first denied delete: only the batches
						// already in flight (concurrency × 10) were sent, and the
						// denied delete was not retried.
						if len(target) > concurrency*10 {
							t.Fatalf("%d messages sent after deletes were denied (at most %d in flight)", len(target), concurrency*10)
						}
						if deletes > concurrency*2 {
							t.Fatalf("%d DeleteMessageBatch calls: a permanent error was retried", deletes)
						}
					}
				})
			}
		})
	}
}
