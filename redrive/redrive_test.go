package redrive

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
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

// Two source queues share one DLQ; SQS moved their messages there itself
// (maxReceiveCount), so each carries its source's ARN, and the redrive sends
// each back to its own source, for FIFO queues as for standard ones (SQS
// developer guide, "Configure a dead-letter queue redrive": messages return
// to their source queue by DeadLetterQueueSourceArn).
func TestRedriveReturnsEachMessageToItsOwnSource(t *testing.T) {
	for kind, fifo := range kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, "") // local-aws-sqs: fauxqs adds no DeadLetterQueueSourceArn
			a := e.pair(t, "shared-a-"+kind, fifo)
			b := e.source(t, a, "shared-b-"+kind)
			const n = 24
			e.deadLetterFrom(t, a, 0, n, n)
			e.deadLetterFrom(t, b, n, n, 2*n)
			pk, err := Peek(context.Background(), e.deps(t), PeekOptions{DLQ: a.dlq, Limit: 2 * n, Visibility: 2e9})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range pk.Messages {
				if m.SourceARN != a.srcARN && m.SourceARN != b.srcARN {
					t.Fatalf("DLQ message without its source ARN: %+v", m.Attributes)
				}
			}
			if fifo && len(pk.Messages) == 0 {
				t.Fatal("peek saw no FIFO message")
			}
			time.Sleep(2100 * time.Millisecond) // FIFO: the groups peek held are released (visibility 2s)
			o := fastOpts(a.dlq)
			o.Method = MethodClient
			if fifo {
				// local-aws-sqs does not lock a FIFO message group while one of
				// its messages is in flight (a second receive returns the
				// group's next message), which real SQS guarantees; one worker
				// keeps the emulator from reordering a group.
				o.Concurrency = 1
			}
			res, err := Redrive(context.Background(), e.deps(t), o)
			if err != nil || res.Moved != 2*n || res.Outcome() != nil {
				t.Fatalf("redrive: %v %+v", err, res)
			}
			toA, toB, left := e.drain(t, a.src), e.drain(t, b.src), e.drain(t, a.dlq)
			if dups := accounting(t, 2*n, append(append([]types.Message{}, toA...), toB...), left); dups != 0 || len(left) != 0 {
				t.Fatalf("dups %d, left %d", dups, len(left))
			}
			for name, got := range map[string][]types.Message{"a": toA, "b": toB} {
				for _, m := range got {
					seq, _ := strconv.Atoi(aws.ToString(m.MessageAttributes["seq"].StringValue))
					if (seq < n) != (name == "a") {
						t.Fatalf("message %d went to source %s", seq, name)
					}
				}
				if fifo {
					checkGroupOrder(t, got)
				}
			}
		})
	}
}
