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
	"syscall"

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
	switch {
	case err == nil:
	case code == opserr.ExitInterrupted:
		fmt.Fprintln(stderr, "opsctl: interrupted")
	default:
		fmt.Fprintf(stderr, "opsctl: %v\n", err)
		if code == opserr.ExitUsage && !st.usageShown {
			fmt.Fprintln(stderr, "Run 'opsctl --help' (or 'opsctl COMMAND --help') for usage.")
		}
	}
	return code
}
