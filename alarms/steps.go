package alarms

import (
	"context"
	"errors"
)

// step is one resource of a plan: its change and the write that applies it
// (nil when nothing differs).
type step struct {
	change Change
	apply  func(ctx context.Context) error
}

func unchanged(resource, name string) *step {
	return &step{change: Change{Resource: resource, Name: name, Action: ActionNone, Status: StatusUnchanged}}
}

func planned(resource, name, action string, diff []FieldDiff, apply func(ctx context.Context) error) *step {
	return &step{change: Change{Resource: resource, Name: name, Action: action, Diff: diff, Status: StatusPlanned}, apply: apply}
}

// execute applies steps in order. In a dry run nothing is written. After the
// first failure the remaining writes are skipped (they depend on the earlier
// ones: an alarm needs its topic and its metric filter), so what exists is
// always a prefix of the plan that a re-run completes. It returns the changes
// and the first error.
func execute(ctx context.Context, deps Deps, steps []*step, dryRun bool, blocked error) ([]Change, error) {
	out := make([]Change, 0, len(steps))
	firstErr := blocked
	for _, s := range steps {
		c := s.change
		switch {
		case c.Action == ActionNone:
			c.Status = StatusUnchanged
		case dryRun:
			c.Status = StatusPlanned
		case firstErr != nil:
			c.Status = StatusSkipped
		default:
			if err := ctx.Err(); err != nil {
				firstErr = err
				c.Status = StatusSkipped
				break
			}
			if err := s.apply(ctx); err != nil {
				c.Status = StatusFailed
				c.Error = err.Error()
				firstErr = err
			} else {
				c.Status = StatusApplied
			}
			deps.progress(c)
		}
		out = append(out, c)
	}
	if blocked != nil && errors.Is(firstErr, blocked) {
		return out, blocked
	}
	return out, firstErr
}

// countWrites returns how many changes write (or would write) something.
func countWrites(cs []Change) int {
	n := 0
	for _, c := range cs {
		if c.Changed() {
			n++
		}
	}
	return n
}
