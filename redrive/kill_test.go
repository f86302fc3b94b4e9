package redrive

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// (b) SIGKILL of the opsctl binary at random points, many times with
// different timings, then one run to completion: every message is in the
// source or the DLQ; duplicates come only from batches in flight at a kill
// (at most concurrency × 10 per kill) and the count is reported.
func TestNoLossWhenKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the binary many times")
	}
	bin := localawstest.Binary(t)
	for kind, fifo := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, "fauxqs")
			p := e.pair(t, "killed-"+kind, fifo)
			const n, kills, concurrency = 400, 12, 4
			e.deadLetter(t, p, n)
			env := localawstest.Env(t, e.srv)
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 7))
			t.Logf("seed %d", seed)
			args := []string{"dlq", "redrive", p.dlq, "--method", "client", "--visibility-timeout", "2s",
				"--concurrency", "4", "--rate", "600/s", "--output", "json"}
			killed := 0
			for i := 0; i < kills; i++ {
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				var se strings.Builder
				cmd.Stderr = &se
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				delay := time.Duration(40+rng.IntN(700)) * time.Millisecond
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				select {
				case err := <-exited:
					t.Logf("run %d finished before its kill at %s: %v %s", i, delay, err, se.String())
				case <-time.After(delay):
					cmd.Process.Kill() // SIGKILL: no cleanup, no deferred release
					<-exited
					killed++
				}
			}
			t.Logf("%d of %d runs killed; %d messages still in the DLQ (some hidden until their visibility ends)", killed, kills, e.count(t, p.dlq))
			time.Sleep(2500 * time.Millisecond) // let the killed runs' batches become visible again
			r := localawstest.Run(t, env, args...)
			if r.Code != 0 {
				t.Fatalf("final run: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
			}
			target, left := e.drain(t, p.src), e.drain(t, p.dlq)
			dups := accounting(t, n, target, left)
			t.Logf("DUPLICATES after %d kills: %d (%s; bound %d)", killed, dups, kind, killed*concurrency*10)
			if len(left) != 0 {
				t.Fatalf("%d messages left in the DLQ after the final run", len(left))
			}
			if dups > killed*concurrency*10 {
				t.Fatalf("%d duplicates is more than the batches in flight at %d kills could cause", dups, killed)
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
			wait := "ListMessageMoveTasks"
			if method == "client" {
				wait = "DeleteMessageBatch"
			}
			deadline := time.Now().Add(20 * time.Second)
			for !hasCall(e.srv, wait) && time.Now().Before(deadline) {
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
