// Command opsctl gives a small team on AWS the operations setup a platform team
// would build: alarms that reach a person, loss-free dead-letter redrive, CDC
// archives and table rebuilds. This package is the only one that knows
// urfave/cli: it turns flags into option structs, validates them, calls the
// domain packages and renders their results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"

	"github.com/opsctl/opsctl/internal/opserr"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run executes opsctl with args and returns the exit code. SIGINT and SIGTERM
// cancel the root context; commands stop at their next safe point.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdin, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	st := &state{stdin: stdin, stdout: stdout, stderr: stderr}
	app := newApp(st)
	args, err := normalizeArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		// The run failed because it was interrupted; report it as such.
		err = fmt.Errorf("%w (%v)", context.Canceled, err)
	}
	code := opserr.ExitCode(err)
	if code == opserr.ExitUsage && st.aws.Called() {
		// Exit 2 promises "found before any AWS call, nothing changed". A
		// check that failed after a lookup (a resource that does not exist,
		// a confirmation refused after reads) is a failure.
		code = opserr.ExitFailure
	}
	switch {
	case err == nil:
	case code == opserr.ExitInterrupted:
		fmt.Fprintln(stderr, "opsctl: interrupted")
	default:
		fmt.Fprintf(stderr, "opsctl: %s\n", sanitize(err.Error()))
		if code == opserr.ExitUsage && !st.usageShown {
			fmt.Fprintln(stderr, "Run 'opsctl --help' (or 'opsctl COMMAND --help') for usage.")
		}
	}
	return code
}

// sanitize makes a message safe to write to a terminal: control characters
// (escape sequences, carriage returns, backspaces) and invisible formatting
// characters (bidirectional overrides) from user input or a server's reply
// are shown escaped instead of acting on the terminal. Newlines and tabs stay.
func sanitize(msg string) string {
	var b strings.Builder
	for _, r := range msg {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == unicode.ReplacementChar, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			if r <= 0xff {
				fmt.Fprintf(&b, "\\x%02x", r)
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
