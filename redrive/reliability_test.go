package redrive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// noRetryDeps uses an SQS client that does not retry, so every injected
// fault reaches opsctl's own retry and no-loss logic.
func (e *env) noRetryDeps(t *testing.T) Deps {
	d := e.deps(t)
	d.SQS = sqs.NewFromConfig(localawstest.Config(e.srv, 1))
	return d
}

var kinds = map[string]bool{"standard": false, "fifo": true}

// (a) Injected failures on every SQS operation the mover uses: throttling,
// 5xx and errors. Whatever happens, each message ends in the source or the
// DLQ, with body and attributes intact; transient faults are retried away.
func TestNoLossUnderInjectedFaults(t *testing.T) {
	faults := []struct {
		name string
		f    []localaws.Fault
	}{
		{"throttled sends", []localaws.Fault{{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.FaultThrottle, Times: 4}}},
		{"5xx on sends", []localaws.Fault{{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.Fault5xx, Times: 3}}},
		{"dropped send connections", []localaws.Fault{{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.FaultDrop, Times: 2}}},
		{"5xx and throttling on deletes", []localaws.Fault{
			{Service: "sqs", Operation: "DeleteMessageBatch", Kind: localaws.Fault5xx, Times: 3},
			{Service: "sqs", Operation: "DeleteMessageBatch", Kind: localaws.FaultThrottle, Times: 2},
		}},
		{"throttled and failing receives", []localaws.Fault{
			{Service: "sqs", Operation: "ReceiveMessage", Kind: localaws.FaultThrottle, Times: 2},
			{Service: "sqs", Operation: "ReceiveMessage", Kind: localaws.Fault5xx, Times: 2},
		}},
		{"failing visibility changes", []localaws.Fault{{Service: "sqs", Operation: "ChangeMessageVisibilityBatch", Kind: localaws.Fault5xx, Times: -1}}},
		{"everything at once", []localaws.Fault{
			{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.Fault5xx, Times: 2},
			{Service: "sqs", Operation: "DeleteMessageBatch", Kind: localaws.FaultThrottle, Times: 2},
			{Service: "sqs", Operation: "ReceiveMessage", Kind: localaws.Fault5xx, Times: 1},
			{Service: "sqs", Operation: "ChangeMessageVisibilityBatch", Kind: localaws.FaultThrottle, Times: 2},
		}},
	}
	for kind, fifo := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, "fauxqs")
			for i, tc := range faults {
				t.Run(tc.name, func(t *testing.T) {
					p := e.pair(t, fmt.Sprintf("faults-%s-%d", kind, i), fifo)
					const n = 45
					e.deadLetter(t, p, n)
					for _, f := range tc.f {
						e.srv.InjectFault(f)
					}
					o := fastOpts(p.dlq)
					o.Method = MethodClient
					o.Concurrency = 2
					o.VisibilityTimeout = 2e9 // short, so the heartbeat runs and failed visibility changes matter
					res, err := Redrive(context.Background(), e.noRetryDeps(t), o)
					e.srv.ClearFaults()
					if err != nil {
						t.Fatalf("redrive: %v", err)
					}
					target, left := e.drain(t, p.src), e.drain(t, p.dlq)
					dups := accounting(t, n, target, left)
					if res.Moved != n || len(left) != 0 || res.Failed != 0 {
						t.Fatalf("transient faults should be retried away: moved %d, left %d, result %+v", res.Moved, len(left), res)
					}
					if dups != 0 {
						t.Fatalf("%d duplicates without a crash", dups)
					}
					if fifo {
						checkGroupOrder(t, target)
					}
				})
			}
			t.Run("persistent send failure leaves everything in the DLQ", func(t *testing.T) {
				p := e.pair(t, "faults-"+kind+"-down", fifo)
				const n = 25
				e.deadLetter(t, p, n)
				e.srv.InjectFault(localaws.Fault{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.Fault5xx, Times: -1})
				o := fastOpts(p.dlq)
				o.Method, o.MaxAttempts = MethodClient, 2
				res, err := Redrive(context.Background(), e.noRetryDeps(t), o)
				e.srv.ClearFaults()
				if err != nil {
					t.Fatal(err)
				}
				var pe *opserr.PartialError
				if out := res.Outcome(); !errors.As(out, &pe) || res.Moved != 0 || res.Failed == 0 || res.RemainingInDLQ != n {
					t.Fatalf("want exit 3 with all %d in the DLQ: %v %+v", n, out, res)
				}
				if !fifo && res.Failed != n {
					// (FIFO: only each group's head was tried; the rest waited behind it.)
					t.Fatalf("want %d not moved, got %d", n, res.Failed)
				}
				if !strings.Contains(res.Outcome().Error(), fmt.Sprintf("%d messages in the DLQ now", n)) {
					t.Fatalf("outcome does not say how many are left: %v", res.Outcome())
				}
				target, left := e.drain(t, p.src), e.drain(t, p.dlq)
				accounting(t, n, target, left)
				if len(left) != n {
					t.Fatalf("want all %d still in the DLQ, got %d (target %d)", n, len(left), len(target))
				}
			})
		})
	}
}

// (c) A target that rejects some entries of a batch: transient per-entry
// failures are retried, permanent ones stay in the DLQ, the rest is moved,
// and FIFO groups stop at their first unsent message so order holds.
func TestPartialBatchFailures(t *testing.T) {
	for kind, fifo := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, "fauxqs")
			p := e.pair(t, "partial-"+kind, fifo)
			const n = 90
			e.deadLetter(t, p, n)
			permanent := func(body string) bool { return strings.Contains(body, `"n":7,`) || strings.Contains(body, `"n":44,`) }
			f := installEntryFailer(t, e, &entryFailer{decide: func(q, body string, attempt int) (string, bool) {
				switch {
				case permanent(body):
					return "InvalidParameterValue", true
				case attempt <= 2 && len(body)%3 == 0: // transient, twice
					return "InternalError", false
				}
				return "", false
			}})
			o := fastOpts(p.dlq)
			o.Method = MethodClient
			res, err := Redrive(context.Background(), e.deps(t), o)
			if err != nil {
				t.Fatal(err)
			}
			target, left := e.drain(t, p.src), e.drain(t, p.dlq)
			if dups := accounting(t, n, target, left); dups != 0 {
				t.Fatalf("%d duplicates", dups)
			}
			if f.Rejected() == 0 {
				t.Fatal("the failer rejected nothing: the test tests nothing")
			}
			for _, m := range target {
				if permanent(*m.Body) {
					t.Fatalf("a permanently rejected message reached the target: %s", *m.Body)
				}
			}
			if !fifo {
				if len(left) != 2 || res.Failed != 2 || res.Moved != n-2 {
					t.Fatalf("want exactly the 2 rejected left: left %d, result %+v", len(left), res)
				}
			} else {
				checkGroupOrder(t, target)
				// Everything behind a rejected message in its group stayed too.
				for _, m := range left {
					if m.Attributes["MessageGroupId"] != testGroup(7) && m.Attributes["MessageGroupId"] != testGroup(44) {
						t.Fatalf("message of an unaffected group left behind: %s", *m.Body)
					}
				}
				if res.Failed < 2 || res.RemainingInDLQ != int64(len(left)) {
					t.Fatalf("result says %d not moved and %d left, DLQ has %d", res.Failed, res.RemainingInDLQ, len(left))
				}
			}
			if res.Outcome() == nil {
				t.Fatal("some messages were not moved: want a partial outcome")
			}
		})
	}
}

// --archive writes every message durably before it is sent: the test checks
// the file at each SendMessageBatch.
func TestArchiveIsWrittenBeforeSending(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "archived", false)
	const n = 40
	e.deadLetter(t, p, n)
	path := filepath.Join(t.TempDir(), "archive.jsonl")
	var mu sync.Mutex
	var problems []string
	installEntryFailer(t, e, &entryFailer{
		decide: func(string, string, int) (string, bool) { return "", false },
		onSend: func(q string, bodies []string) {
			data, _ := os.ReadFile(path)
			for _, b := range bodies {
				quoted := strings.ReplaceAll(b, `"`, `\"`)
				if !strings.Contains(string(data), quoted) {
					mu.Lock()
					problems = append(problems, b)
					mu.Unlock()
				}
			}
		},
	})
	o := fastOpts(p.dlq)
	o.Archive = path
	res, err := Redrive(context.Background(), e.deps(t), o)
	if err != nil || res.Method != "client" || res.Archived != n || res.Moved != n {
		t.Fatalf("redrive: %v %+v", err, res)
	}
	if len(problems) > 0 {
		t.Fatalf("%d messages were sent before they were archived: %v", len(problems), problems[:1])
	}
	// The archive replays: import it into a fresh queue.
	out, err := e.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: awsString("replay")})
	if err != nil {
		t.Fatal(err)
	}
	ir, err := Import(context.Background(), e.deps(t), ImportOptions{From: path, To: *out.QueueUrl})
	if err != nil || ir.Sent != n {
		t.Fatalf("import: %v %+v", err, ir)
	}
	accounting(t, n, e.drain(t, *out.QueueUrl), nil)
}

func awsString(s string) *string { return &s }

// A receive whose response is lost hides its messages for a visibility
// timeout; the run waits for them instead of finishing with them stranded.
//
// Also when the SDK retries the receive itself (its default retryer retries
// a dropped connection), so that no error reaches opsctl: the retried
// attempt is visible in the response metadata.
func TestLostReceiveResponses(t *testing.T) {
	e := newEnv(t, "fauxqs")
	for name, deps := range map[string]func(*testing.T) Deps{"opsctl sees the error": e.noRetryDeps, "the SDK retries it away": e.deps} {
		t.Run(name, func(t *testing.T) {
			p := e.pair(t, "lost-"+strconv.Itoa(len(name)), false)
			const n = 30
			e.deadLetter(t, p, n)
			l := &receiveLoser{inner: e.srv.Service("sqs"), lose: 2}
			e.srv.Handle("sqs", l)
			defer e.srv.Handle("sqs", l.inner)
			o := fastOpts(p.dlq)
			o.Method, o.VisibilityTimeout = MethodClient, 2e9
			res, err := Redrive(context.Background(), deps(t), o)
			if err != nil || res.Moved != n || res.RemainingInDLQ != 0 {
				t.Fatalf("redrive: %v %+v", err, res)
			}
			accounting(t, n, e.drain(t, p.src), e.drain(t, p.dlq))
		})
	}
}

// A slow target: sends take longer than the visibility timeout. The batch's
// visibility is extended while it is in flight, so no other worker receives
// it again and nothing is sent twice.
func TestVisibilityIsExtendedWhileABatchIsInFlight(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "slow", false)
	const n = 20
	e.deadLetter(t, p, n)
	e.srv.InjectFault(localaws.Fault{Service: "sqs", Operation: "SendMessageBatch", Kind: localaws.FaultSlow, Delay: 3500e6, Times: 2})
	o := fastOpts(p.dlq)
	o.Method, o.Concurrency, o.VisibilityTimeout = MethodClient, 3, 2e9
	e.srv.ResetCalls()
	res, err := Redrive(context.Background(), e.deps(t), o)
	if err != nil || res.Moved != n {
		t.Fatalf("redrive: %v %+v", err, res)
	}
	if !hasCall(e.srv, "ChangeMessageVisibilityBatch") {
		t.Fatal("visibility was never extended")
	}
	if dups := accounting(t, n, e.drain(t, p.src), e.drain(t, p.dlq)); dups != 0 {
		t.Fatalf("%d messages sent twice: their visibility ran out while in flight", dups)
	}
}
