package redrive

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// env is a local endpoint with an SQS client.
type env struct {
	srv *localaws.Server
	sqs *sqs.Client
}

func newEnv(t *testing.T, backend string) *env {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}, SQSBackend: backend})
	return &env{srv: srv, sqs: sqs.NewFromConfig(localawstest.Config(srv, 0))}
}

func (e *env) deps(t *testing.T) Deps {
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return Deps{SQS: e.sqs, Log: log}
}

type queuePair struct {
	src, dlq       string // URLs
	srcARN, dlqARN string
	fifo           bool
}

// pair creates a source queue whose RedrivePolicy sends to a DLQ after one receive.
func (e *env) pair(t *testing.T, name string, fifo bool) queuePair {
	t.Helper()
	ctx := context.Background()
	suffix := ""
	attrs := map[string]string{}
	if fifo {
		suffix = ".fifo"
		attrs["FifoQueue"] = "true"
	}
	dlq, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq" + suffix), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	p := queuePair{dlq: aws.ToString(dlq.QueueUrl), fifo: fifo}
	p.dlqARN = e.arn(t, p.dlq)
	srcAttrs := map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"1"}`, p.dlqARN)}
	for k, v := range attrs {
		srcAttrs[k] = v
	}
	if fifo {
		srcAttrs["ContentBasedDeduplication"] = "false"
	}
	src, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + suffix), Attributes: srcAttrs})
	if err != nil {
		t.Fatal(err)
	}
	p.src = aws.ToString(src.QueueUrl)
	p.srcARN = e.arn(t, p.src)
	return p
}

// source adds another source queue to p's DLQ (same type, maxReceiveCount 1).
func (e *env) source(t *testing.T, p queuePair, name string) queuePair {
	t.Helper()
	attrs := map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"1"}`, p.dlqARN)}
	if p.fifo {
		name += ".fifo"
		attrs["FifoQueue"] = "true"
	}
	out, err := e.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	q := p
	q.src = aws.ToString(out.QueueUrl)
	q.srcARN = e.arn(t, q.src)
	return q
}

func (e *env) arn(t *testing.T, url string) string {
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes["QueueArn"]
}

// testBody is message i's body; groups cycle over 3 for FIFO.
func testBody(i int) string {
	return fmt.Sprintf(`{"n":%d,"kind":"%s"}`, i, []string{"order", "refund"}[i%2])
}

func testGroup(i int) string { return "g" + strconv.Itoa(i%3) }

// send puts n messages (with attributes) on url.
func (e *env) send(t *testing.T, url string, fifo bool, from, n int) {
	t.Helper()
	ctx := context.Background()
	for start := from; start < from+n; start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i := start; i < min(start+10, from+n); i++ {
			en := types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(testBody(i)),
				MessageAttributes: map[string]types.MessageAttributeValue{
					"seq":   {DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(i))},
					"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, byte(i)}},
					"label": {DataType: aws.String("String"), StringValue: aws.String("m-" + strconv.Itoa(i))},
				},
			}
			if fifo {
				en.MessageGroupId = aws.String(testGroup(i))
				en.MessageDeduplicationId = aws.String("d" + strconv.Itoa(i))
			}
			entries = append(entries, en)
		}
		out, err := e.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("seed send: %v %+v", err, out)
		}
	}
}

// deadLetter sends n messages to the source and lets SQS move them to the DLQ
// (each is received once, then exceeds maxReceiveCount on the next receive),
// for FIFO queues as for standard ones, so every message carries the
// DeadLetterQueueSourceArn SQS adds (SQS developer guide, "Using dead-letter
// queues": maxReceiveCount). A FIFO queue hands out a group's next message
// only after its head is gone, so FIFO pairs take one round per message of a
// group.
func (e *env) deadLetter(t *testing.T, p queuePair, n int) {
	t.Helper()
	e.deadLetterFrom(t, p, 0, n, n)
}

// deadLetterFrom sends messages from..from+n-1 to p.src and bounces them
// until the DLQ holds want messages.
func (e *env) deadLetterFrom(t *testing.T, p queuePair, from, n, want int) {
	t.Helper()
	e.send(t, p.src, p.fifo, from, n)
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if e.count(t, p.dlq) >= want && e.count(t, p.src) == 0 {
			return
		}
		// VisibilityTimeout 0 is not sent by the SDK (zero value), so receive
		// with 1s and release at once.
		r, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.src), MaxNumberOfMessages: 10, VisibilityTimeout: 1})
		if err != nil {
			t.Fatal(err)
		}
		var rel []types.ChangeMessageVisibilityBatchRequestEntry
		for i, m := range r.Messages {
			rel = append(rel, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		}
		if len(rel) > 0 {
			e.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(p.src), Entries: rel})
		}
	}
	t.Fatalf("only %d of %d messages reached the DLQ", e.count(t, p.dlq), want)
}

// count is the number of messages in a queue (visible + in flight).
func (e *env) count(t *testing.T, url string) int {
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	nv, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return v + nv
}

// drained is every message of a queue, received and deleted, in receive
// order. The emulator's double return (local-aws-sqs) is de-duplicated by
// MessageId: that is the emulator's doing, not opsctl's.
func (e *env) drain(t *testing.T, url string) []types.Message {
	t.Helper()
	ctx := context.Background()
	var out []types.Message
	seen := map[string]bool{}
	errs := 0
	for {
		r, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
			AttributeNames: allSystemAttributes, // local-aws-sqs answers only this form
		})
		if err != nil {
			// The endpoint's proxy to the emulator now and then truncates a
			// response (unexpected EOF). Retrying is safe here; a lost
			// response's messages reappear after 30s and are drained then.
			if errs++; errs > 5 {
				t.Fatal(err)
			}
			t.Logf("drain: %v (retrying)", err)
			continue
		}
		if len(r.Messages) == 0 {
			if e.count(t, url) == 0 {
				return out
			}
			continue
		}
		var del []types.DeleteMessageBatchRequestEntry
		for i, m := range r.Messages {
			if seen[aws.ToString(m.MessageId)] {
				continue
			}
			seen[aws.ToString(m.MessageId)] = true
			out = append(out, m)
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if len(del) > 0 {
			if _, err := e.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// accounting checks that messages 0..n-1 are each in target or dlq, with body
// and attributes intact, and returns how many were duplicated.
func accounting(t *testing.T, n int, target, dlq []types.Message) (dups int) {
	t.Helper()
	seen := map[int]int{}
	for _, set := range [][]types.Message{target, dlq} {
		for _, m := range set {
			seq, err := strconv.Atoi(aws.ToString(m.MessageAttributes["seq"].StringValue))
			if err != nil {
				t.Fatalf("message without its seq attribute: %+v", m.MessageAttributes)
			}
			if got := aws.ToString(m.Body); got != testBody(seq) {
				t.Fatalf("message %d body changed: %q", seq, got)
			}
			if l := aws.ToString(m.MessageAttributes["label"].StringValue); l != "m-"+strconv.Itoa(seq) {
				t.Fatalf("message %d label attribute changed: %q", seq, l)
			}
			if b := m.MessageAttributes["blob"].BinaryValue; len(b) != 3 || b[2] != byte(seq) || aws.ToString(m.MessageAttributes["blob"].DataType) != "Binary" {
				t.Fatalf("message %d binary attribute changed: %v", seq, m.MessageAttributes["blob"])
			}
			if aws.ToString(m.MessageAttributes["seq"].DataType) != "Number" {
				t.Fatalf("message %d seq data type changed", seq)
			}
			seen[seq]++
		}
	}
	var missing []int
	for i := 0; i < n; i++ {
		switch c := seen[i]; {
		case c == 0:
			missing = append(missing, i)
		case c > 1:
			dups += c - 1
		}
	}
	if len(missing) > 0 {
		sort.Ints(missing)
		t.Fatalf("LOST %d messages: %v", len(missing), missing)
	}
	return dups
}

// checkGroupOrder checks that within each FIFO group the target saw messages
// in increasing seq order.
func checkGroupOrder(t *testing.T, msgs []types.Message) {
	t.Helper()
	last := map[string]int{}
	for _, m := range msgs {
		g := m.Attributes["MessageGroupId"]
		seq, _ := strconv.Atoi(aws.ToString(m.MessageAttributes["seq"].StringValue))
		if prev, ok := last[g]; ok && seq < prev {
			t.Fatalf("group %s out of order: %d after %d", g, seq, prev)
		}
		last[g] = seq
	}
}
