package redrive

import (
	"context"
	"testing"
	"time"
)

func fastOpts(dlq string) Options {
	return Options{DLQ: dlq, WaitTime: time.Second, EmptyReceives: 1, PollInterval: 50 * time.Millisecond, VisibilityTimeout: 10 * time.Second}
}

func TestClientRedriveReturnsMessagesToTheirSource(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		name := map[bool]string{false: "standard", true: "fifo"}[fifo]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "fauxqs")
			p := e.pair(t, "orders-"+name, fifo)
			e.deadLetter(t, p, 60)
			o := fastOpts(p.dlq)
			o.Method = MethodClient
			res, err := Redrive(context.Background(), e.deps(t), o)
			if err != nil {
				t.Fatalf("redrive: %v (%+v)", err, res)
			}
			if res.Moved != 60 || res.Failed != 0 || res.Method != "client" {
				t.Fatalf("result %+v", res)
			}
			target := e.drain(t, p.src)
			left := e.drain(t, p.dlq)
			if dups := accounting(t, 60, target, left); dups != 0 || len(left) != 0 {
				t.Fatalf("dups %d, left %d", dups, len(left))
			}
			if fifo {
				checkGroupOrder(t, target)
			}
		})
	}
}
