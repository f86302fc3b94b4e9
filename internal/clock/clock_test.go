package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFakeSleepAdvancesAtOnce(t *testing.T) {
	f := NewFake(time.Time{})
	start := f.Now()
	if err := f.Sleep(context.Background(), 20*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := f.Now().Sub(start); got != 20*time.Minute {
		t.Fatalf("advanced %v, want 20m", got)
	}
	if f.Sleeps() != 1 {
		t.Fatalf("sleeps = %d", f.Sleeps())
	}
}

func TestFakeSleepHonoursCancelledContext(t *testing.T) {
	f := NewFake(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := f.Now()
	if err := f.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if !f.Now().Equal(start) {
		t.Fatal("a cancelled sleep must not move the clock")
	}
}

func TestRealSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Real().Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestOffsetAdvanceAndScale(t *testing.T) {
	base := NewFake(time.Time{})
	o := NewOffset(base, 60)
	t0 := o.Now()
	base.Advance(time.Second)
	if got := o.Now().Sub(t0); got != time.Minute {
		t.Fatalf("scaled: %v, want 1m", got)
	}
	o.Advance(time.Hour)
	if got := o.Now().Sub(t0); got != time.Hour+time.Minute {
		t.Fatalf("advanced: %v", got)
	}
	o.Advance(-time.Hour) // never backwards
	if got := o.Now().Sub(t0); got != time.Hour+time.Minute {
		t.Fatalf("went back: %v", got)
	}
	// Sleep of 60s endpoint time is one second of base time.
	before := base.Now()
	o.Sleep(context.Background(), time.Minute)
	if got := base.Now().Sub(before); got != time.Second {
		t.Fatalf("base slept %v", got)
	}
}

func TestOrDefaultsToReal(t *testing.T) {
	if _, ok := Or(nil).(realClock); !ok {
		t.Fatal("Or(nil) is not the real clock")
	}
	f := NewFake(time.Time{})
	if Or(f) != Clock(f) {
		t.Fatal("Or(f) != f")
	}
}
