package redrive

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/clock"
)

// moveTaskFake is an SQS whose move task progresses with a clock: it moves
// rate messages per second of clock time, so the test's fake clock decides
// when it completes. Methods redrive does not call here panic (nil embed).
type moveTaskFake struct {
	SQSAPI
	clk     clock.Clock
	start   time.Time
	total   int64
	rate    int64
	lists   int
	started bool
}

func (f *moveTaskFake) StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, _ ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error) {
	f.start, f.started = f.clk.Now(), true
	return &sqs.StartMessageMoveTaskOutput{TaskHandle: aws.String("task-1")}, nil
}

func (f *moveTaskFake) ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, _ ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	f.lists++
	moved := min(int64(f.clk.Now().Sub(f.start)/time.Second)*f.rate, f.total)
	st := "RUNNING"
	if moved == f.total {
		st = "COMPLETED"
	}
	return &sqs.ListMessageMoveTasksOutput{Results: []types.ListMessageMoveTasksResultEntry{{
		TaskHandle: aws.String("task-1"), Status: aws.String(st), ApproximateNumberOfMessagesMoved: moved, ApproximateNumberOfMessagesToMove: aws.Int64(f.total),
	}}}, nil
}

// A 20-minute move task is followed on the injected clock: polls every
// PollInterval of clock time, no real waiting.
func TestMoveTaskIsFollowedOnTheInjectedClock(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	f := &moveTaskFake{clk: clk, total: 12000, rate: 10} // 1200 s of clock time
	var last int64
	deps := Deps{SQS: f, Clock: clk, Progress: func(done, total int64) { last = done }}
	o := Options{PollInterval: 30 * time.Second}
	o.defaults()
	var res Result
	err := moveTask(context.Background(), deps, o, &queueInfo{Name: "q", ARN: "arn:aws:sqs:us-east-1:123456789012:q"}, nil, &res)
	if err != nil || res.Moved != 12000 || last != 12000 {
		t.Fatalf("move task: %v %+v (progress %d)", err, res, last)
	}
	if got := clk.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); got != 20*time.Minute {
		t.Fatalf("clock moved %s, want the task's 20m", got)
	}
	if f.lists != 41 { // at once, then every 30 s for 20 minutes
		t.Fatalf("%d polls, want 41", f.lists)
	}
}
