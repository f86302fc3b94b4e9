// Package wait is opsctl's one poller: every command that waits for AWS
// (a deployment, a build, a delivery, a query) polls through Until, on an
// injected clock.Clock, so the wait has one timeout rule, one backoff, one
// progress callback for terminal progress bars, and a test of a 20-minute
// wait runs in milliseconds on a clock.Fake.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
)

// ErrTimeout is what a wait that ran out of time wraps.
var ErrTimeout = errors.New("timed out")

// TimeoutError says what was being waited for and for how long.
type TimeoutError struct {
	What  string
	After time.Duration
	// Last is the last state the check reported (may be empty).
	Last string
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("%s: timed out after %s", e.What, e.After.Round(time.Second))
	if e.Last != "" {
		s += " (last state: " + e.Last + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Options shape a wait. The zero value polls every 5 s with no timeout on the
// real clock.
type Options struct {
	// What is waited for, for errors and progress ("deployment ecs-svc/123").
	What string
	// Clock to sleep on and read; nil is the real clock.
	Clock clock.Clock
	// Timeout ends the wait with a *TimeoutError; 0 waits until ctx ends.
	Timeout time.Duration
	// Interval is the first pause between polls (default 5 s).
	Interval time.Duration
	// MaxInterval caps the backoff (default: Interval, i.e. no backoff).
	MaxInterval time.Duration
	// Multiplier grows the pause after each poll that is not done, up to
	// MaxInterval (default 1.5 when MaxInterval > Interval).
	Multiplier float64
	// Progress, when set, is called after every poll.
	Progress func(Tick)
}

// Tick is one poll, reported to Options.Progress.
type Tick struct {
	Attempt int
	Elapsed time.Duration
	// Remaining is the time left before the timeout (0 without one).
	Remaining time.Duration
	// State is what the check said of the world (Status.State).
	State string
	// Fraction of the work done, 0..1, or -1 when unknown.
	Fraction float64
}

// Status is what one poll found.
type Status struct {
	// Done ends the wait successfully.
	Done bool
	// State describes the current state in a few words ("2/3 tasks running").
	State string
	// Fraction of the work done, 0..1; -1 (or leave 0 and set no State) when unknown.
	Fraction float64
}

// Check polls once. A returned error ends the wait with that error (a
// permanent failure, or a terminal state such as a rolled-back deployment).
type Check func(ctx context.Context) (Status, error)

// Until polls check until it is done, fails, the timeout passes or ctx ends.
// The first poll happens at once. It returns the last Status.
func Until(ctx context.Context, o Options, check Check) (Status, error) {
	clk := clock.Or(o.Clock)
	interval := o.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	maxInterval := o.MaxInterval
	if maxInterval < interval {
		maxInterval = interval
	}
	mult := o.Multiplier
	if mult <= 1 {
		mult = 1
		if maxInterval > interval {
			mult = 1.5
		}
	}
	what := o.What
	if what == "" {
		what = "wait"
	}
	start := clk.Now()
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = start.Add(o.Timeout)
	}
	var last Status
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return last, err
		}
		st, err := check(ctx)
		if err != nil {
			return st, err
		}
		last = st
		now := clk.Now()
		if o.Progress != nil {
			tk := Tick{Attempt: attempt, Elapsed: now.Sub(start), State: st.State, Fraction: st.Fraction}
			if !deadline.IsZero() {
				tk.Remaining = max(deadline.Sub(now), 0)
			}
			o.Progress(tk)
		}
		if st.Done {
			return st, nil
		}
		pause := interval
		if !deadline.IsZero() {
			left := deadline.Sub(now)
			if left <= 0 {
				return st, &TimeoutError{What: what, After: o.Timeout, Last: st.State}
			}
			pause = min(pause, left)
		}
		if err := clk.Sleep(ctx, pause); err != nil {
			return st, err
		}
		interval = min(time.Duration(float64(interval)*mult), maxInterval)
	}
}
