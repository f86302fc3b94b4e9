package redrive

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// (b) SIGKILL of the opsctl binary mid-run, many times at different points,
// then one run to completion: every message is in the source or the DLQ.
//
// Duplicates come only from messages sent but not yet deleted when a kill
// lands: each worker holds at most one receive (10 messages) at a time, so a
// kill can duplicate at most concurrency × 10 messages, and kills × that in
// all. The test chooses n larger than that bound, so the bound can fail, and
// it kills each run after its k-th SendMessageBatch (k random), so every kill
// lands while messages are being moved, never before the run starts or after
// it ends.
func TestNoLossWhenKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the binary many times")
	}
	bin := localawstest.Binary(t)
	for kind, fifo := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, "fauxqs")
			p := e.pair(t, "killed-"+kind, fifo)
			const n, kills, concurrency, batch = 800, 8, 4, 10
			const bound = kills * concurrency * batch
			if bound >= n {
				t.Fatalf("the bound %d must be below the %d messages or the test cannot fail", bound, n)
			}
			e.deadLetter(t, p, n)
			env := localawstest.Env(t, e.srv)
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 7))
			t.Logf("seed %d", seed)
			args := []string{"dlq", "redrive", p.dlq, "--method", "client", "--visibility-timeout", "2s",
				"--concurrency", strconv.Itoa(concurrency), "--rate", "600/s", "--output", "json"}
			for i := 0; i < kills; i++ {
				e.srv.ResetCalls()
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				var se strings.Builder
				cmd.Stderr = &se
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				after := 1 + rng.IntN(4) // kill after this many sends of this run
				deadline := time.After(60 * time.Second)
			wait:
				for {
					select {
					case err := <-exited:
						t.Fatalf("run %d ended before its kill (after send %d): %v\n%s", i, after, err, se.String())
					case <-deadline:
						cmd.Process.Kill()
						t.Fatalf("run %d made fewer than %d sends in 60s", i, after)
					case <-time.After(2 * time.Millisecond):
						if countCalls(e.srv, "SendMessageBatch") >= after {
							break wait
						}
					}
				}
				cmd.Process.Kill() // SIGKILL: no cleanup, no deferred release
				<-exited
				if left := e.count(t, p.dlq); left == 0 {
					t.Fatalf("kill %d landed after the DLQ was drained", i)
				}
			}
			t.Logf("%d runs killed mid-run; %d messages still in the DLQ (some hidden until their visibility ends)", kills, e.count(t, p.dlq))
			time.Sleep(2500 * time.Millisecond) // let the killed runs' batches become visible again
			r := localawstest.Run(t, env, args...)
			if r.Code != 0 {
				t.Fatalf("final run: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
			}
			target, left := e.drain(t, p.src), e.drain(t, p.dlq)
			dups := accounting(t, n, target, left)
			t.Logf("DUPLICATES after %d kills: %d of %d messages (%s; bound %d = kills × concurrency × batch size)", kills, dups, n, kind, bound)
			if len(left) != 0 {
				t.Fatalf("%d messages left in the DLQ after the final run (it said exit 0):\n%s", len(left), r.Stdout)
			}
			if dups > bound {
				t.Fatalf("%d duplicates is more than the batches in flight at %d kills could cause (%d)", dups, kills, bound)
			}
			if fifo {
				checkGroupOrder(t, target)
			}
		})
	}
}

// Ctrl-C (SIGINT) on the binary: the native task is cancelled with
// CancelMessageMoveTask; the client path stops at a safe point and releases
// what it held. Exit 130 either way, nothing lost.
func TestInterruptStopsSafely(t *testing.T) {
	bin := localawstest.Binary(t)
	for _, method := range []string{"native", "client"} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(t, "") // local-aws-sqs: it has move tasks
			p := e.pair(t, "sigint-"+method, false)
			const n = 60
			e.deadLetter(t, p, n)
			cmd := exec.Command(bin, "dlq", "redrive", p.dlq, "--method", method, "--rate", "5/s", "--concurrency", "2", "--visibility-timeout", "30s")
			cmd.Env = localawstest.Env(t, e.srv)
			var so, se strings.Builder
			cmd.Stdout, cmd.Stderr = &so, &se
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Interrupt once messages have moved (the task is followed from
			// its start now, so its first ListMessageMoveTasks comes before
			// anything has moved): then the interrupt lands mid-run.
			moving := func() bool { return e.count(t, p.src) > 0 }
			if method == "client" {
				moving = func() bool { return hasCall(e.srv, "DeleteMessageBatch") }
			}
			deadline := time.Now().Add(20 * time.Second)
			for !moving() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(os.Interrupt)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Fatalf("want exit 130, got %v\n%s\n%s", err, so.String(), se.String())
			}
			if method == "native" && !hasCall(e.srv, "CancelMessageMoveTask") {
				t.Fatal("the move task was not cancelled")
			}
			// Held messages were released: everything left is visible at once,
			// not after the 30s visibility timeout.
			time.Sleep(300 * time.Millisecond)
			target, left := e.drain(t, p.src), e.drain(t, p.dlq)
			accounting(t, n, target, left)
			if len(left) == 0 || len(target) == 0 {
				t.Fatalf("interrupt did not land mid-run: moved %d, left %d", len(target), len(left))
			}
		})
	}
}
