package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/output"
)

// Global flag names.
const (
	flagProfile     = "profile"
	flagRegion      = "region"
	flagEndpointURL = "endpoint-url"
	flagOutput      = "output"
	flagLogLevel    = "log-level"
	flagYes         = "yes"
	flagWide        = "wide"
)

// state is what every command receives: streams, the lazy AWS loader, the
// printer and the logger. It is filled in by the app's Before hook.
type state struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	aws     *awsx.Loader
	printer *output.Printer
	log     *slog.Logger
	yes     bool
	tty     bool // stderr is a terminal: progress bars and prompts allowed

	usageShown bool

	// capture, when set by a test, receives each command's validated options
	// instead of running the command.
	capture func(opts any)
}

// do runs fn unless a test captures the options.
func (s *state) do(opts any, fn func() error) error {
	if s.capture != nil {
		s.capture(opts)
		return nil
	}
	return fn()
}

const exitCodesHelp = `EXIT STATUS:
   0    success
   1    failure
   2    usage error (bad flags or arguments; nothing was changed)
   3    partial success (some items failed; the output says which)
   4    whoami only: the endpoint serves no STS, so the identity could not be read
   130  interrupted (SIGINT/SIGTERM)`

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagProfile, Usage: "AWS shared config `PROFILE` (SSO profiles included)", EnvVars: []string{"AWS_PROFILE"}},
		&cli.StringFlag{Name: flagRegion, Usage: "AWS `REGION`", EnvVars: []string{"AWS_REGION", "AWS_DEFAULT_REGION"}},
		&cli.StringFlag{Name: flagEndpointURL, Usage: "send every AWS call to `URL` (LocalStack, MinIO, the opsctl test endpoint); AWS_ENDPOINT_URL_<SERVICE> still overrides per service", EnvVars: []string{"AWS_ENDPOINT_URL"}},
		&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Value: "table", Usage: "result `FORMAT`: table or json", EnvVars: []string{"OPSCTL_OUTPUT"}},
		&cli.StringFlag{Name: flagLogLevel, Value: "info", Usage: "stderr log `LEVEL`: debug, info, warn or error", EnvVars: []string{"OPSCTL_LOG_LEVEL"}},
		&cli.BoolFlag{Name: flagYes, Aliases: []string{"y"}, Usage: "answer yes to confirmations (required for destructive commands when stdin is not a terminal)", EnvVars: []string{"OPSCTL_YES"}},
		&cli.BoolFlag{Name: flagWide, Usage: "tables show long fields whole instead of fitting the terminal (piped output is never cut)", EnvVars: []string{"OPSCTL_WIDE"}},
	}
}

func newApp(st *state) *cli.App {
	app := &cli.App{
		Name:  "opsctl",
		Usage: "the operations setup a platform team would build for a small company on AWS",
		Description: "opsctl turns AWS operations practice into idempotent commands that work the same from a\n" +
			"terminal and from cron: alarms that email a person, loss-free dead-letter redrive,\n" +
			"CDC archives and table rebuilds.\n\n" +
			"Example:\n   opsctl whoami\n   opsctl --region eu-west-1 --output json alarm list\n\n" + exitCodesHelp,
		Version:                "", // `opsctl version` prints build details
		HideVersion:            true,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		Reader:                 st.stdin,
		Writer:                 st.stdout,
		ErrWriter:              st.stderr,
		Flags:                  globalFlags(),
		Before:                 func(c *cli.Context) error { return st.setup(c) },
		ExitErrHandler:         func(*cli.Context, error) {}, // exit codes are mapped in runContext
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return opserr.Usagef("%v", err)
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(st.stderr, "opsctl: unknown command %q\n", name)
		},
		Commands: commands(st),
	}
	// A flag value is never split: --pattern '[ip, user, ..., status=5*]' and
	// --pattern '"timed out, retrying"' are one pattern each.
	app.DisableSliceFlagSeparator = true
	// Unknown commands must exit 2, not 0.
	app.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return opserr.Usagef("unknown command %q", c.Args().First())
		}
		return cli.ShowAppHelp(c)
	}
	for _, cmd := range app.Commands {
		prepareCommand(cmd)
	}
	return app
}

// commands lists the command groups. Each group lives in its own file.
func commands(st *state) []*cli.Command {
	cmds := []*cli.Command{versionCommand(st), whoamiCommand(st)}
	cmds = append(cmds, extraCommands(st)...)
	cmds = append(cmds, completionCommand(st))
	return cmds
}

// extraCommands is extended by each command group's file (see registry.go).
func extraCommands(st *state) []*cli.Command {
	var out []*cli.Command
	for _, f := range commandGroups {
		// A group whose subcommands have not landed yet stays hidden.
		if c := f(st); c != nil && (c.Action != nil || len(c.Subcommands) > 0) {
			out = append(out, c)
		}
	}
	return out
}

// prepareCommand makes flag errors usage errors and groups without an action
// print their help, recursively.
func prepareCommand(cmd *cli.Command) {
	cmd.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
		return opserr.Usagef("%s: %v", cmd.Name, err)
	}
	if len(cmd.Subcommands) == 0 && cmd.Action != nil && cmd.ArgsUsage == "" {
		// A command that declares no arguments takes none: a stray word is
		// a mistake (a forgotten flag name, a misplaced quote), not noise.
		action := cmd.Action
		cmd.Action = func(c *cli.Context) error {
			if c.Args().Present() {
				return opserr.Usagef("%s takes no arguments (got %q)", commandPath(c), c.Args().Slice())
			}
			return action(c)
		}
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		cmd.Action = func(c *cli.Context) error {
			if c.Args().Present() {
				return opserr.Usagef("unknown command %q for %q", c.Args().First(), cmd.Name)
			}
			return cli.ShowSubcommandHelp(c)
		}
	}
	for _, sub := range cmd.Subcommands {
		prepareCommand(sub)
	}
}

// commandPath is the command as typed, without the program name ("alarm audit").
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// setup reads the global flags. It does no AWS I/O: the config is loaded on
// first use.
func (st *state) setup(c *cli.Context) error {
	format, err := output.ParseFormat(c.String(flagOutput))
	if err != nil {
		return &opserr.UsageError{Err: err}
	}
	level, err := output.ParseLevel(c.String(flagLogLevel))
	if err != nil {
		return &opserr.UsageError{Err: err}
	}
	opts := awsx.Options{
		Profile:     c.String(flagProfile),
		Region:      c.String(flagRegion),
		EndpointURL: c.String(flagEndpointURL),
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	st.aws = awsx.NewLoader(opts)
	st.printer = &output.Printer{Out: st.stdout, Format: format}
	if !c.Bool(flagWide) {
		st.printer.Width = output.TerminalWidth(st.stdout)
	}
	st.log = output.NewLogger(st.stderr, level, format)
	st.aws.SetLogger(st.log)
	st.yes = c.Bool(flagYes)
	if f, ok := st.stderr.(*os.File); ok {
		st.tty = output.IsTerminal(f)
	}
	return nil
}

// canConfirm checks, before any AWS call, that a confirmation the command
// may ask for can be given: --yes, or a terminal on stdin. Without either the
// command is refused up front (exit 2) instead of after its reads.
func (st *state) canConfirm(what string) error {
	if st.yes {
		return nil
	}
	if f, ok := st.stdin.(*os.File); ok && output.IsTerminal(f) {
		return nil
	}
	return opserr.Usagef("%s asks for confirmation and stdin is not a terminal: pass --yes", what)
}

// confirm asks before a destructive step. With --yes it proceeds; without a
// terminal on stdin it refuses rather than hang or guess.
func (st *state) confirm(ctx context.Context, question string) error {
	if st.yes {
		return nil
	}
	f, ok := st.stdin.(*os.File)
	if !ok || !output.IsTerminal(f) {
		return opserr.Usagef("%s: refusing without confirmation; pass --yes", question)
	}
	fmt.Fprintf(st.stderr, "%s [y/N] ", question)
	answer := make(chan string, 1)
	go func() {
		var s string
		fmt.Fscanln(st.stdin, &s)
		answer <- s
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case s := <-answer:
		if s = strings.ToLower(strings.TrimSpace(s)); s == "y" || s == "yes" {
			return nil
		}
	}
	return errors.New("cancelled: not confirmed")
}

// usage returns a usage error for a command.
func usage(format string, args ...any) error { return opserr.Usagef(format, args...) }
