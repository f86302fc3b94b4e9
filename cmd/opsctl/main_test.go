package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
)

// runCapture runs the app with args and returns the options the command
// would have run with, without calling AWS.
func runCapture(t *testing.T, env map[string]string, args ...string) (any, *state, int, string) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "OPSCTL_OUTPUT", "OPSCTL_LOG_LEVEL", "OPSCTL_YES"} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	st := &state{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	var got any
	st.capture = func(o any) { got = o }
	app := newApp(st)
	full, err := normalizeArgs(app, append([]string{"opsctl"}, args...))
	if err == nil {
		err = app.RunContext(context.Background(), full)
	}
	return got, st, opserr.ExitCode(err), errb.String() + out.String()
}

func TestGlobalFlagsToOptions(t *testing.T) {
	tests := map[string]struct {
		args   []string
		env    map[string]string
		want   awsx.Options
		format string
	}{
		"flags before the command": {
			args: []string{"--profile", "prod", "--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:4566", "whoami"},
			want: awsx.Options{Profile: "prod", Region: "eu-west-1", EndpointURL: "http://127.0.0.1:4566"}, format: "table",
		},
		"flags after the command": {
			args: []string{"whoami", "--region=ap-south-1", "-o", "json"},
			want: awsx.Options{Region: "ap-south-1"}, format: "json",
		},
		"environment variables": {
			args: []string{"whoami"},
			env:  map[string]string{"AWS_PROFILE": "dev", "AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://localhost:4566", "OPSCTL_OUTPUT": "json"},
			want: awsx.Options{Profile: "dev", Region: "us-west-2", EndpointURL: "http://localhost:4566"}, format: "json",
		},
		"flag beats environment": {
			args: []string{"whoami", "--region", "eu-north-1"},
			env:  map[string]string{"AWS_REGION": "us-west-2"},
			want: awsx.Options{Region: "eu-north-1"}, format: "table",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, st, code, out := runCapture(t, tc.env, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("options = %+v, want %+v", got, tc.want)
			}
			if string(st.printer.Format) != tc.format {
				t.Fatalf("format = %q, want %q", st.printer.Format, tc.format)
			}
		})
	}
}

func TestUsageErrorsExit2WithoutAWS(t *testing.T) {
	tests := map[string][]string{
		"unknown command":    {"frobnicate"},
		"unknown flag":       {"whoami", "--frob"},
		"bad output format":  {"--output", "yaml", "version"},
		"bad log level":      {"--log-level", "loud", "version"},
		"bad endpoint url":   {"--endpoint-url", "localhost:4566", "whoami"},
		"missing flag value": {"whoami", "--region"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			got, _, code, out := runCapture(t, nil, args...)
			if code != opserr.ExitUsage {
				t.Fatalf("exit %d, want 2: %s", code, out)
			}
			if got != nil {
				t.Fatalf("command ran with %+v", got)
			}
		})
	}
}

func TestHelpListsGroupsAndExitCodes(t *testing.T) {
	_, _, code, out := runCapture(t, nil, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"version", "whoami", "EXIT STATUS", "130", "--endpoint-url"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

// Every command has a purpose sentence and an example in its help.
func TestEveryCommandDocumented(t *testing.T) {
	st := &state{}
	app := newApp(st)
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			if c.Usage == "" {
				t.Errorf("%s: no usage sentence", name)
			}
			if !strings.Contains(c.Description, "Example") {
				t.Errorf("%s: no example in description", name)
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

func TestVersionJSON(t *testing.T) {
	var out bytes.Buffer
	code := runContext(context.Background(), []string{"opsctl", "version", "--output", "json"}, strings.NewReader(""), &out, &bytes.Buffer{})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var v versionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out.String())
	}
	if v.GoVersion == "" || v.Version == "" {
		t.Fatalf("incomplete: %+v", v)
	}
}

func TestInterruptedExit130(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errb bytes.Buffer
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	code := runContext(ctx, []string{"opsctl", "whoami"}, strings.NewReader(""), &bytes.Buffer{}, &errb)
	if code != opserr.ExitInterrupted {
		t.Fatalf("exit %d, want 130: %s", code, errb.String())
	}
}
