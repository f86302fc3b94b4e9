package redrive

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/internal/localaws"
)

func hasCall(srv *localaws.Server, op string) bool {
	for _, c := range srv.Calls() {
		if c.Operation == op {
			return true
		}
	}
	return false
}

// The native path (local-aws-sqs has message move tasks): each message goes
// back to its own source, progress is followed with ListMessageMoveTasks.
func TestNativeMoveTaskReturnsMessagesToSource(t *testing.T) {
	e := newEnv(t, "")
	p := e.pair(t, "native", false)
	const n = 30
	e.deadLetter(t, p, n)
	var progress []int64
	d := e.deps(t)
	d.Progress = func(done, total int64) { progress = append(progress, done) }
	e.srv.ResetCalls()
	res, err := Redrive(context.Background(), d, fastOpts(p.dlq))
	if err != nil {
		t.Fatalf("redrive: %v", err)
	}
	if res.Method != "native" || res.TaskHandle == "" || res.Moved != n {
		t.Fatalf("result %+v", res)
	}
	if !hasCall(e.srv, "StartMessageMoveTask") || !hasCall(e.srv, "ListMessageMoveTasks") || hasCall(e.srv, "SendMessageBatch") {
		t.Fatalf("want the move task and no client sends: %v", e.srv.Calls())
	}
	if len(progress) == 0 {
		t.Fatal("no progress reported")
	}
	target, left := e.drain(t, p.src), e.drain(t, p.dlq)
	if dups := accounting(t, n, target, left); dups != 0 || len(left) != 0 {
		t.Fatalf("dups %d, left %d", dups, len(left))
	}

	// A re-run with nothing to move makes no write call at all.
	e.srv.ResetCalls()
	res, err = Redrive(context.Background(), d, fastOpts(p.dlq))
	if err != nil || res.Moved != 0 {
		t.Fatalf("empty re-run: %v %+v", err, res)
	}
	if w := e.srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("empty re-run made write calls: %v", w)
	}
}

// Ctrl-C during a native move cancels the task with CancelMessageMoveTask.
func TestNativeMoveTaskIsCancelledOnInterrupt(t *testing.T) {
	e := newEnv(t, "")
	p := e.pair(t, "native-cancel", false)
	const n = 40
	e.deadLetter(t, p, n)
	ctx, cancel := context.WithCancel(context.Background())
	o := fastOpts(p.dlq)
	o.Rate = 2 // MaxNumberOfMessagesPerSecond: slow enough to interrupt
	o.Method = MethodNative
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for !hasCall(e.srv, "ListMessageMoveTasks") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	res, err := Redrive(ctx, e.deps(t), o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want an interrupted error, got %v (%+v)", err, res)
	}
	if !hasCall(e.srv, "CancelMessageMoveTask") {
		t.Fatal("the move task was not cancelled")
	}
	time.Sleep(300 * time.Millisecond)
	target, left := e.drain(t, p.src), e.drain(t, p.dlq)
	accounting(t, n, target, left)
	if len(left) == 0 {
		t.Fatal("the task moved everything despite the cancel")
	}
}

// The same DLQ on fauxqs (no move tasks): auto falls back to the client path.
func TestAutoFallsBackToClientWithoutMoveTasks(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "fallback", false)
	e.deadLetter(t, p, 20)
	res, err := Redrive(context.Background(), e.deps(t), fastOpts(p.dlq))
	if err != nil || res.Method != "client" || res.Moved != 20 {
		t.Fatalf("fallback: %v %+v", err, res)
	}
	accounting(t, 20, e.drain(t, p.src), e.drain(t, p.dlq))
}

// The client path on local-aws-sqs, whose Receive can return a moved message
// twice: opsctl handles each message once.
func TestClientPathOnLocalAWSSQS(t *testing.T) {
	e := newEnv(t, "")
	p := e.pair(t, "client-las", false)
	const n = 50
	e.deadLetter(t, p, n)
	o := fastOpts(p.dlq)
	o.Method = MethodClient
	res, err := Redrive(context.Background(), e.deps(t), o)
	if err != nil || res.Moved != n || res.Failed != 0 {
		t.Fatalf("redrive: %v %+v", err, res)
	}
	target, left := e.drain(t, p.src), e.drain(t, p.dlq)
	if dups := accounting(t, n, target, left); dups != 0 {
		t.Fatalf("%d duplicates", dups)
	}
}

// Messages sent to a DLQ directly have no source: the move task fails on
// them (CouldNotDetermineMessageSource) and the error says what to do.
func TestMoveTaskWithoutSourcesSaysWhatToDo(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 31s for local-aws-sqs to release the failed task's messages")
	}
	e := newEnv(t, "")
	p := e.pair(t, "nosource", false)
	const n = 20
	e.send(t, p.dlq, false, 0, n)
	res, err := Redrive(context.Background(), e.deps(t), fastOpts(p.dlq))
	if err == nil || !strings.Contains(err.Error(), "--to QUEUE or --method client") || res.Method != "native" {
		t.Fatalf("redrive: %v %+v", err, res)
	}
	o := fastOpts(p.dlq)
	o.To, o.VisibilityTimeout = p.src, 2e9
	time.Sleep(31 * time.Second) // the failed task's hold on the messages ends (local-aws-sqs)
	if res, err = Redrive(context.Background(), e.deps(t), o); err != nil || res.Moved != n {
		t.Fatalf("rerun with --to: %v %+v", err, res)
	}
	target, left := e.drain(t, p.src), e.drain(t, p.dlq)
	accounting(t, n, target, left)
}
