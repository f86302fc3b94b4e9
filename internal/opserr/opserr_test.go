package opserr

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := map[string]struct {
		err  error
		want int
	}{
		"nil is success":                    {nil, ExitOK},
		"plain error is failure":            {errors.New("boom"), ExitFailure},
		"usage error":                       {Usagef("bad flag %q", "x"), ExitUsage},
		"wrapped usage error":               {fmt.Errorf("parse: %w", Usagef("bad")), ExitUsage},
		"partial":                           {Partialf("2 of 5 failed"), ExitPartial},
		"cancelled context is interrupted":  {fmt.Errorf("receive: %w", context.Canceled), ExitInterrupted},
		"cancel wins over partial wrapping": {&PartialError{Err: context.Canceled}, ExitInterrupted},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ExitCode(tc.err); got != tc.want {
				t.Fatalf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}
