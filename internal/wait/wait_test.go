package wait

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
)

func TestUntilWaitsTwentyMinutesOnAFakeClock(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	start := clk.Now()
	done := start.Add(20 * time.Minute)
	var ticks []Tick
	st, err := Until(context.Background(), Options{Clock: clk, Interval: 15 * time.Second, Timeout: 30 * time.Minute, Progress: func(tk Tick) { ticks = append(ticks, tk) }},
		func(ctx context.Context) (Status, error) {
			return Status{Done: !clk.Now().Before(done), State: "waiting"}, nil
		})
	if err != nil || !st.Done {
		t.Fatalf("st=%+v err=%v", st, err)
	}
	if got := clk.Now().Sub(start); got != 20*time.Minute {
		t.Fatalf("clock moved %v, want exactly 20m (polls every 15s)", got)
	}
	if len(ticks) != 81 || ticks[80].Elapsed != 20*time.Minute || ticks[0].Remaining != 30*time.Minute {
		t.Fatalf("ticks: %d, last %+v", len(ticks), ticks[len(ticks)-1])
	}
}

func TestUntilTimesOutWithWhatAndLastState(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	_, err := Until(context.Background(), Options{What: "deployment d-1", Clock: clk, Interval: 7 * time.Second, Timeout: time.Minute},
		func(ctx context.Context) (Status, error) { return Status{State: "1/2 running"}, nil })
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if want := "deployment d-1: timed out after 1m0s (last state: 1/2 running)"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if el := clk.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); el != time.Minute {
		t.Fatalf("slept past the deadline: %v", el)
	}
}

func TestUntilBacksOffToTheCap(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	var pauses []time.Duration
	prev := clk.Now()
	n := 0
	Until(context.Background(), Options{Clock: clk, Interval: time.Second, MaxInterval: 4 * time.Second, Multiplier: 2},
		func(ctx context.Context) (Status, error) {
			now := clk.Now()
			if n > 0 {
				pauses = append(pauses, now.Sub(prev))
			}
			prev = now
			n++
			return Status{Done: n == 6}, nil
		})
	want := []time.Duration{1, 2, 4, 4, 4}
	for i := range want {
		if pauses[i] != want[i]*time.Second {
			t.Fatalf("pauses = %v", pauses)
		}
	}
}

func TestUntilStopsOnCheckErrorAndContext(t *testing.T) {
	boom := errors.New("rolled back")
	_, err := Until(context.Background(), Options{Clock: clock.NewFake(time.Time{})}, func(ctx context.Context) (Status, error) { return Status{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.NewFake(time.Time{})
	clk.OnSleep(func(time.Duration) { cancel() })
	_, err = Until(ctx, Options{Clock: clk}, func(ctx context.Context) (Status, error) { return Status{}, nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
