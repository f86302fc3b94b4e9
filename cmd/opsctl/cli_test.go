package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// A flag value is one value: CloudWatch Logs documents space-delimited
// patterns such as [ip, user, ..., status=5*] and quoted phrases with commas
// ("Filter and pattern syntax"); urfave/cli would split both on commas.
func TestRepeatableFlagValuesAreNeverSplit(t *testing.T) {
	got, _, code, out := runCapture(t, nil, "alarm", "preview", "--log-group", "/aws/lambda/api",
		"--pattern", "[ip, user, ..., status=5*]", "--pattern", `"timed out, retrying"`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	opts, ok := got.(alarms.PreviewOptions)
	if !ok {
		t.Fatalf("options = %T", got)
	}
	want := []string{"[ip, user, ..., status=5*]", `"timed out, retrying"`}
	if !reflect.DeepEqual(opts.Patterns, want) {
		t.Fatalf("patterns = %q, want %q", opts.Patterns, want)
	}
}

func TestCommandsWithoutArgumentsRejectExtraOnes(t *testing.T) {
	tests := map[string][]string{
		"version":       {"version", "extra"},
		"whoami":        {"whoami", "me"},
		"alarm audit":   {"alarm", "audit", "now"},
		"alarm preview": {"alarm", "preview", "--log-group", "g", "--pattern", "ERROR", "stray"},
		"alarm apply":   {"alarm", "apply", "-f", "alarms.yaml", "prod"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			got, code, out := runCaptureErr(t, args...)
			if code != opserr.ExitUsage || !strings.Contains(out, name+" takes no arguments") {
				t.Fatalf("exit %d, want 2 naming the command: %s", code, out)
			}
			if got != nil {
				t.Fatalf("command ran with %+v", got)
			}
		})
	}
}

func TestMalformedRegionIsAUsageErrorNamingTheFlag(t *testing.T) {
	for _, region := range []string{"us east 1", "US-EAST-1", "eu-west-1/", "us-east-1\x1b[2J"} {
		got, code, out := runCaptureErr(t, "--region", region, "whoami")
		if code != opserr.ExitUsage || !strings.Contains(out, "--region") || got != nil {
			t.Fatalf("region %q: exit %d, ran %v: %s", region, code, got != nil, out)
		}
	}
}

// No message writes a raw control character (an escape sequence could
// retitle or clear the terminal, a carriage return could hide text).
func TestErrorMessagesNeverEchoControlCharacters(t *testing.T) {
	var errb bytes.Buffer
	path := "rules\x1b]0;pwned\x07\r\x1b[2J.yaml"
	code := runContext(context.Background(), []string{"opsctl", "alarm", "apply", "-f", path}, strings.NewReader(""), &bytes.Buffer{}, &errb)
	if code != opserr.ExitUsage {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, r := range errb.String() {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			t.Fatalf("stderr holds control character %q: %q", r, errb.String())
		}
	}
	if !strings.Contains(errb.String(), `\x1b]0;pwned`) {
		t.Fatalf("the path is not shown escaped: %q", errb.String())
	}
	if got := sanitize("a\u202etxt.exe\tb\n"); got != `a\u202etxt.exe`+"\tb\n" {
		t.Fatalf("sanitize = %q", got)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -F _opsctl_complete opsctl",
		"zsh":  "compdef _opsctl opsctl",
		"fish": "complete -c opsctl",
	} {
		var out, errb bytes.Buffer
		if code := runContext(context.Background(), []string{"opsctl", "completion", shell}, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", shell, code, errb.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("%s script lacks %q:\n%s", shell, want, out.String())
		}
		if shell != "fish" {
			if sh, err := exec.LookPath(shell); err == nil {
				// The script must at least parse in its shell.
				cmd := exec.Command(sh, "-n")
				cmd.Stdin = strings.NewReader(out.String())
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s -n: %v\n%s", shell, err, b)
				}
			}
		}
	}
	if _, _, code, _ := runCapture(t, nil, "completion", "tcsh"); code != opserr.ExitUsage {
		t.Fatalf("unknown shell: exit %d, want 2", code)
	}
	// The candidates the scripts ask for, with positionals and flags typed.
	for args, want := range map[string]string{
		"dlq --generate-bash-completion":                   "redrive",
		"dlq peek orders-dlq - --generate-bash-completion": "--limit",
	} {
		var out bytes.Buffer
		argv := append([]string{"opsctl"}, strings.Fields(args)...)
		// urfave/cli reads the word before the completion flag from os.Args.
		saved := os.Args
		os.Args = argv
		runContext(context.Background(), argv, strings.NewReader(""), &out, &bytes.Buffer{})
		os.Args = saved
		if !strings.Contains(out.String(), want) {
			t.Fatalf("%s: candidates lack %q:\n%s", args, want, out.String())
		}
	}
}

// whoami on an endpoint URL with credentials in it prints the URL without them.
func TestWhoamiHidesCredentialsInTheEndpointURL(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	withCreds := strings.Replace(srv.URL, "://", "://AKIAEXAMPLEKEY:wJalrXUtnFEMIsecret@", 1)
	for _, format := range []string{"table", "json"} {
		r := localawstest.Run(t, localawstest.Env(t, srv), "--endpoint-url", withCreds, "whoami", "--output", format)
		if r.Code != 0 {
			t.Fatalf("%s: exit %d: %s", format, r.Code, r.Stderr)
		}
		if strings.Contains(r.Stdout+r.Stderr, "wJalrXUtnFEMIsecret") || strings.Contains(r.Stdout+r.Stderr, "AKIAEXAMPLEKEY") {
			t.Fatalf("%s: credentials printed:\n%s%s", format, r.Stdout, r.Stderr)
		}
		if !strings.Contains(r.Stdout, srv.URL) {
			t.Fatalf("%s: endpoint not shown: %s", format, r.Stdout)
		}
	}
}

// AWS_ENDPOINT_URL_SQS beats the global endpoint for SQS only: "S3 on MinIO,
// everything else elsewhere". Two endpoints; each must see only its calls.
func TestPerServiceEndpointOverrideReachesItsServer(t *testing.T) {
	global := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	sqsSrv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS}})
	env := localawstest.Env(t, global, "AWS_ENDPOINT_URL_SQS="+sqsSrv.URL)
	r := localawstest.Run(t, env, "dlq", "list", "--output", "json")
	if r.Code != 0 {
		t.Fatalf("dlq list: exit %d: %s", r.Code, r.Stderr)
	}
	if n := countCalls(sqsSrv, "sqs"); n == 0 {
		t.Fatalf("the SQS endpoint saw no SQS call")
	}
	if n := countCalls(global, "sqs"); n != 0 {
		t.Fatalf("the global endpoint saw %d SQS calls", n)
	}
	// whoami lists the override.
	r = localawstest.Run(t, env, "whoami", "--output", "json")
	var id struct {
		Endpoint  string            `json:"endpoint"`
		Endpoints map[string]string `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &id); err != nil || r.Code != 0 {
		t.Fatalf("whoami: exit %d %v: %s %s", r.Code, err, r.Stdout, r.Stderr)
	}
	if id.Endpoints["sqs"] != sqsSrv.URL || id.Endpoints["sts"] != global.URL || id.Endpoint != global.URL {
		t.Fatalf("whoami endpoints = %+v", id)
	}
}

func countCalls(srv *localaws.Server, service string) int {
	n := 0
	for _, c := range srv.Calls() {
		if strings.EqualFold(c.Service, service) {
			n++
		}
	}
	return n
}

// runCaptureErr is runCapture that also returns the error message.
func runCaptureErr(t *testing.T, args ...string) (any, int, string) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "OPSCTL_OUTPUT", "OPSCTL_LOG_LEVEL", "OPSCTL_YES"} {
		t.Setenv(k, "")
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
	msg := errb.String() + out.String()
	if err != nil {
		msg += err.Error()
	}
	return got, opserr.ExitCode(err), msg
}
