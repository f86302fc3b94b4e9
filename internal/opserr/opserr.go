// Package opserr holds the error kinds that decide opsctl's exit code.
//
// Domain packages return these (wrapped with %w as usual); only cmd/opsctl maps
// them to exit codes:
//
//	0   success
//	1   failure (any other error)
//	2   usage error (bad flags or arguments; nothing was called)
//	3   partial success (some items failed; the result says which)
//	4   whoami only: the endpoint has no STS, so the identity is unknown
//	130 interrupted (SIGINT/SIGTERM cancelled the run)
package opserr

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitPartial     = 3
	ExitInterrupted = 130
)

// UsageError marks bad input detected before any API call.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// PartialError marks a run in which some items succeeded and some failed.
// The command's result (printed before the error) says which.
type PartialError struct{ Err error }

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// Partialf returns a PartialError with a formatted message.
func Partialf(format string, args ...any) error {
	return &PartialError{Err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error to opsctl's exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var u *UsageError
	var p *PartialError
	var ni *NoIdentityError
	var coded interface{ ExitCode() int } // deploy run: the container's exit code
	switch {
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &p):
		return ExitPartial
	case errors.As(err, &ni):
		return ExitNoIdentity
	case errors.As(err, &coded) && coded.ExitCode() > 0:
		return coded.ExitCode()
	}
	return ExitFailure
}

// ExitNoIdentity is whoami's exit code when the endpoint answered but could
// not say who the credentials are (it serves no STS: MinIO, s3rver).
const ExitNoIdentity = 4

// NoIdentityError marks a whoami whose identity could not be read because the
// endpoint has no STS; what could be known was still reported.
type NoIdentityError struct{ Err error }

func (e *NoIdentityError) Error() string { return e.Err.Error() }
func (e *NoIdentityError) Unwrap() error { return e.Err }
