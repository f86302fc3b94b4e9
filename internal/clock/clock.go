// Package clock is opsctl's one source of time. Domain packages and the local
// endpoint's emulations read time only through a Clock, so a test can replace
// a 20-minute wait with a Fake that moves in milliseconds, and the endpoint's
// time-driven state (deployments, builds, buffers) is computed from the same
// clock the waiter sleeps on.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Or returns c, or the real clock when c is nil: Deps structs use it so a
// zero value works in production code.
func Or(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}

// Advancer is a clock that can be moved forward by hand: the Fake, and the
// local endpoint's Offset clock (through its control API).
type Advancer interface {
	Clock
	Advance(d time.Duration)
}

// Fake is a clock that moves only when told to. Sleep advances it by the
// duration slept and returns at once, so a poller on a Fake runs through a
// long wait without waiting, and an emulation reading the same Fake sees
// exactly the time the poller slept to. Safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  int
	onSleep func(d time.Duration)
}

// NewFake returns a Fake set to start (a fixed instant when start is zero).
func NewFake(start time.Time) *Fake {
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &Fake{now: start}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Sleep advances the clock by d (ctx permitting) and returns.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	if d > 0 {
		f.now = f.now.Add(d)
	}
	f.sleeps++
	hook := f.onSleep
	f.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	return ctx.Err()
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	if d > 0 {
		f.now = f.now.Add(d)
	}
	f.mu.Unlock()
}

// Set moves the clock to t (forward or back).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

// Sleeps returns how many times Sleep was called.
func (f *Fake) Sleeps() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sleeps
}

// OnSleep registers a hook that runs after each Sleep (tests use it to change
// the world between polls). nil removes it.
func (f *Fake) OnSleep(hook func(d time.Duration)) {
	f.mu.Lock()
	f.onSleep = hook
	f.mu.Unlock()
}

// Offset is a clock that follows a base clock plus an offset that only grows:
// the standalone endpoint runs on real time and its control API advances it,
// so a person can fast-forward a deployment without a fake clock. Scale
// makes it run faster than its base (Scale 60: one real second is a minute),
// which built-binary tests use so that a real opsctl process polling with
// real sleeps sees minutes of endpoint time in a second.
type Offset struct {
	base  Clock
	start time.Time
	scale float64

	mu     sync.Mutex
	offset time.Duration
}

// NewOffset returns an Offset over base running scale times as fast (scale <= 1
// means real speed).
func NewOffset(base Clock, scale float64) *Offset {
	base = Or(base)
	if scale < 1 {
		scale = 1
	}
	return &Offset{base: base, start: base.Now(), scale: scale}
}

// Now is the base time, scaled from the clock's start, plus the offset.
func (o *Offset) Now() time.Time {
	o.mu.Lock()
	off := o.offset
	o.mu.Unlock()
	now := o.base.Now()
	if o.scale != 1 {
		now = o.start.Add(time.Duration(float64(now.Sub(o.start)) * o.scale))
	}
	return now.Add(off)
}

// Sleep waits d of this clock's time (d/scale of the base's).
func (o *Offset) Sleep(ctx context.Context, d time.Duration) error {
	return o.base.Sleep(ctx, time.Duration(float64(d)/o.scale))
}

// Advance moves the clock forward by d.
func (o *Offset) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	o.mu.Lock()
	o.offset += d
	o.mu.Unlock()
}
