package opserr

import (
	"fmt"
	"testing"
)

type codedErr struct{ code int }

func (e codedErr) Error() string { return fmt.Sprintf("exited %d", e.code) }
func (e codedErr) ExitCode() int { return e.code }

// An error that carries its own exit code (deploy run: the container's)
// exits with it, also when wrapped; a zero code is a plain failure.
func TestExitCodeOfACodedError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{codedErr{7}, 7},
		{fmt.Errorf("run: %w", codedErr{3}), 3},
		{codedErr{0}, ExitFailure},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
