package main

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/opserr"
)

// captureErr runs the app like runCapture and returns the error itself.
func captureErr(t *testing.T, args ...string) (any, error) {
	t.Helper()
	t.Setenv("AWS_REGION", "eu-west-1")
	var out, errb bytes.Buffer
	st := &state{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	var got any
	st.capture = func(o any) { got = o }
	app := newApp(st)
	full, err := normalizeArgs(app, append([]string{"opsctl"}, args...))
	if err == nil {
		err = app.RunContext(context.Background(), full)
	}
	return got, err
}

// Flags (anywhere on the line) become the alarms package's options.
func TestAlarmFlagsToOptions(t *testing.T) {
	add := func(name string, mutate func(*alarms.Spec), dry bool) alarms.AddOptions {
		s := alarms.Spec{Name: name, LogGroup: "/app/api", Patterns: []string{"ERROR"}, Emails: []string{"ops@example.com"}}
		if mutate != nil {
			mutate(&s)
		}
		s.Normalize()
		return alarms.AddOptions{Spec: s, DryRun: dry, PreviewWindow: alarms.DefaultPreviewWindow, RequireEmail: true}
	}
	tests := map[string]struct {
		args []string
		want any
	}{
		"add defaults": {
			args: []string{"alarm", "add", "api", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "ops@example.com"},
			want: add("api", nil, false),
		},
		"add every flag, after the name": {
			args: []string{"alarm", "add", "api", "--log-group", "/app/api", "--pattern", "ERROR", "--pattern", `"Task timed out"`,
				"--email", "ops@example.com,dev@example.com", "--email", "oncall@example.com", "--threshold", "3", "--period", "10m",
				"--evaluation-periods", "2", "--topic", "team", "--log-lines", "7", "--dry-run"},
			want: add("api", func(s *alarms.Spec) {
				s.Patterns = []string{"ERROR", `"Task timed out"`}
				s.Emails = []string{"ops@example.com", "dev@example.com", "oncall@example.com"}
				s.Threshold, s.Period, s.EvaluationPeriods, s.Topic, s.LogLines = 3, 10*time.Minute, 2, "team", 7
			}, true),
		},
		"add-dlq all": {
			args: []string{"alarm", "add-dlq", "--all", "--email", "ops@example.com", "--dry-run"},
			want: alarms.DLQOptions{Queues: []string{}, All: true, Emails: []string{"ops@example.com"}, Period: time.Minute, EvaluationPeriods: 1, DryRun: true},
		},
		"add-dlq named": {
			args: []string{"alarm", "add-dlq", "a-dlq", "b-dlq", "--topic", "t", "--period", "5m", "--evaluation-periods", "3"},
			want: alarms.DLQOptions{Queues: []string{"a-dlq", "b-dlq"}, Topic: "t", Period: 5 * time.Minute, EvaluationPeriods: 3},
		},
		"list":  {args: []string{"alarm", "list", "-o", "json"}, want: struct{}{}},
		"rm":    {args: []string{"alarm", "rm", "api", "--dry-run"}, want: alarms.RmOptions{Name: "api", DryRun: true}},
		"test":  {args: []string{"alarm", "test", "api", "--wait", "1m"}, want: alarms.TestOptions{Name: "api", Wait: time.Minute}},
		"audit": {args: []string{"alarm", "audit", "--stuck-after", "6h"}, want: alarms.AuditOptions{StuckAfter: 6 * time.Hour}},
		"preview": {args: []string{"alarm", "preview", "--log-group", "/g", "--pattern", "E", "--window", "1h", "--events", "10"},
			want: alarms.PreviewOptions{LogGroup: "/g", Patterns: []string{"E"}, Window: time.Hour, MaxEvents: 10}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _, code, out := runCapture(t, map[string]string{"AWS_REGION": "eu-west-1"}, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("options =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestAlarmUsageErrorsExit2(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"no name":          {[]string{"alarm", "add", "--log-group", "/g", "--pattern", "E", "--email", "a@example.com"}, "exactly one NAME"},
		"bad pattern":      {[]string{"alarm", "add", "x", "--log-group", "/g", "--pattern", "{ $.a = ", "--email", "a@example.com"}, "invalid --pattern"},
		"no email":         {[]string{"alarm", "add", "x", "--log-group", "/g", "--pattern", "E"}, "--email is required"},
		"zero threshold":   {[]string{"alarm", "add", "x", "--log-group", "/g", "--pattern", "E", "--email", "a@example.com", "--threshold", "0"}, "--threshold"},
		"log lines 0":      {[]string{"alarm", "add", "x", "--log-group", "/g", "--pattern", "E", "--email", "a@example.com", "--log-lines", "0"}, "--log-lines"},
		"dlq both":         {[]string{"alarm", "add-dlq", "q", "--all"}, "not both"},
		"dlq none":         {[]string{"alarm", "add-dlq"}, "--all"},
		"rm two":           {[]string{"alarm", "rm", "a", "b"}, "exactly one NAME"},
		"apply no file":    {[]string{"alarm", "apply"}, "-f FILE"},
		"apply missing":    {[]string{"alarm", "apply", "-f", "/does/not/exist.yaml"}, "no such file"},
		"list args":        {[]string{"alarm", "list", "x"}, "no arguments"},
		"audit negative":   {[]string{"alarm", "audit", "--stuck-after", "-1h"}, "--stuck-after"},
		"preview no group": {[]string{"alarm", "preview", "--pattern", "E"}, "--log-group"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := captureErr(t, tc.args...)
			if opserr.ExitCode(err) != 2 || got != nil || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Fatalf("err %v (exit %d), captured %v; want exit 2 mentioning %q", err, opserr.ExitCode(err), got, tc.want)
			}
		})
	}
}
