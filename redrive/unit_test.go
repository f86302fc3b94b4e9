package redrive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/opsctl/opsctl/internal/clock"
)

func TestChunkBySizeRespectsCountAndPayloadLimits(t *testing.T) {
	small := func(n int) []*Message {
		var out []*Message
		for i := 0; i < n; i++ {
			out = append(out, &Message{Body: "x"})
		}
		return out
	}
	if got := chunkBySize(small(23)); len(got) != 3 || len(got[0]) != 10 || len(got[2]) != 3 {
		t.Fatalf("23 small messages: %d chunks", len(got))
	}
	big := strings.Repeat("b", 100*1024)
	var msgs []*Message
	for i := 0; i < 5; i++ {
		msgs = append(msgs, &Message{Body: big})
	}
	for _, c := range chunkBySize(msgs) {
		size := 0
		for _, m := range c {
			size += m.size()
		}
		if size > sendBatchLimit {
			t.Fatalf("chunk of %d bytes exceeds the %d-byte batch limit", size, sendBatchLimit)
		}
	}
	// A single message larger than the limit still goes out (alone), so SQS,
	// not opsctl, decides whether it fits.
	if got := chunkBySize([]*Message{{Body: strings.Repeat("x", 300*1024)}, {Body: "y"}}); len(got) != 2 {
		t.Fatalf("oversized message not alone: %d chunks", len(got))
	}
}

func TestBreakerRecognisesReturningMessages(t *testing.T) {
	b := newBreaker(0.5, 2)
	b.noteSent("new-sqs-id")
	b.noteSent("lambda-req-1")
	tests := map[string]struct {
		m    Message
		want bool
	}{
		"redriven SQS message":         {Message{MessageID: "new-sqs-id"}, true},
		"Lambda async DLQ message":     {Message{MessageID: "x", MessageAttributes: map[string]AttributeValue{"RequestID": {DataType: "String", StringValue: aws.String("lambda-req-1")}}}, true},
		"Lambda destination record":    {Message{MessageID: "y", Body: `{"requestContext":{"requestId":"lambda-req-1","functionArn":"arn:aws:lambda:us-east-1:1:function:f"},"requestPayload":{}}`}, true},
		"an original message":          {Message{MessageID: "old"}, false},
		"another invocation's failure": {Message{MessageID: "z", MessageAttributes: map[string]AttributeValue{"RequestID": {DataType: "String", StringValue: aws.String("other")}}}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := b.isReturn(&tc.m); got != tc.want {
				t.Fatalf("isReturn = %v", got)
			}
		})
	}
	if r := b.check(10, 1); r != "" {
		t.Fatalf("opened below the minimum: %s", r)
	}
	if r := b.check(10, 4); r != "" {
		t.Fatalf("opened below the ratio: %s", r)
	}
	if r := b.check(10, 5); !strings.Contains(r, "5 of 10") {
		t.Fatalf("did not open at the ratio: %q", r)
	}
	if off := newBreaker(-1, 1); off.check(1, 100) != "" {
		t.Fatal("a negative ratio must disable the breaker")
	}
}

func TestLimiterPacesMessages(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	l := newLimiter(200, clk) // 200 msg/s, burst of 10 at the start
	var waited time.Duration
	for i := 0; i < 60; i++ { // 600 messages asked for at the same instant
		waited = l.reserve(10)
	}
	// The 600th message may go out (600-10)/200 s later.
	if want := 2950 * time.Millisecond; waited != want {
		t.Fatalf("last batch waits %s, want %s", waited, want)
	}
	clk.Advance(10 * time.Second) // idle: the bucket refills to its cap only
	if d := l.reserve(200); d != 0 {
		t.Fatalf("a full bucket made 200 messages wait %s", d)
	}
	if d := l.reserve(1); d <= 0 {
		t.Fatal("the bucket holds more than one second of tokens")
	}
	ctx := context.Background()
	var unlimited *limiter
	if err := unlimited.wait(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := newLimiter(1, nil).wait(cctx, 100); err == nil {
		t.Fatal("wait ignores cancellation")
	}
}

func TestLambdaRecordDetection(t *testing.T) {
	if _, ok := asLambdaRecord(`{"requestContext":{"functionArn":"arn:aws:lambda:us-east-1:1:function:f"},"requestPayload":{"a":1}}`); !ok {
		t.Fatal("destination record not recognised")
	}
	for _, body := range []string{`{"a":1}`, `not json`, `{"requestContext":{}}`, `{"requestContext":{"functionArn":"x"}}`} {
		if _, ok := asLambdaRecord(body); ok {
			t.Fatalf("%s taken for a destination record", body)
		}
	}
}
