package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// Bad input to the alarm commands, on flags and in alarms.yaml alike, exits 2
// with a message that names the problem, and the endpoint's call log shows
// that nothing was called. Limits: botocore cloudwatch service-2.json
// PutMetricAlarm.Period ("Period multiplied by EvaluationPeriods can't be more
// than 604,800 seconds. For alarms with a period of less than one hour (3,600
// seconds), the total evaluation period can't be longer than one day (86,400
// seconds)"); RFC 5321 4.5.3.1 for address lengths.
func TestBinaryAlarmRejectsBadInputBeforeAnyCall(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	env := localawstest.Env(t, srv, "AWS_MAX_ATTEMPTS=1")
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = "emails: [ops@example.com]\nalarms:\n  - name: api\n    log_group: /app/api\n    patterns: [ERROR]\n"
	add := func(extra ...string) []string {
		return append([]string{"alarm", "add", "api", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "ops@example.com"}, extra...)
	}
	otherRegion := "eu-central-1"
	if srv.Region == otherRegion {
		otherRegion = "us-east-1"
	}
	tests := map[string]struct {
		args []string
		want string
	}{
		"threshold NaN":              {add("--threshold", "NaN"), "invalid --threshold NaN: must be a finite number"},
		"threshold Inf":              {add("--threshold", "Inf"), "invalid --threshold +Inf: must be a finite number"},
		"period 0":                   {add("--period", "0"), "invalid --period 0s: must be positive"},
		"evaluation periods 0":       {add("--evaluation-periods", "0"), "invalid --evaluation-periods 0: at least 1"},
		"5m × 289 is over one day":   {add("--evaluation-periods", "289"), "at most 288 periods of 5m"},
		"1h × 169 is over 7 days":    {add("--period", "1h", "--evaluation-periods", "169"), "limit of 7 days"},
		"overflowing periods":        {add("--evaluation-periods", "9223372036854775807"), "invalid --evaluation-periods 9223372036854775807"},
		"65-character local part":    {add("--email", strings.Repeat("a", 65)+"@example.com"), "at most 64 (RFC 5321)"},
		"dlq: SNS topic ARN":         {[]string{"alarm", "add-dlq", "arn:aws:sns:" + srv.Region + ":123456789012:alerts", "--email", "ops@example.com"}, "is an SNS topic, not an SQS queue"},
		"dlq: bare https://":         {[]string{"alarm", "add-dlq", "https://", "--email", "ops@example.com"}, `invalid queue URL "https://": no host`},
		"dlq: URL without a queue":   {[]string{"alarm", "add-dlq", "https://sqs." + srv.Region + ".amazonaws.com/", "--email", "ops@example.com"}, "the path must be /ACCOUNT/NAME"},
		"dlq: malformed ARN":         {[]string{"alarm", "add-dlq", "arn:aws:sqs", "--email", "ops@example.com"}, "invalid queue ARN"},
		"dlq: queue in other region": {[]string{"alarm", "add-dlq", "arn:aws:sqs:" + otherRegion + ":123456789012:jobs-dlq", "--email", "ops@example.com"}, "run with --region " + otherRegion},
		"dlq: period 0":              {[]string{"alarm", "add-dlq", "jobs-dlq", "--period", "0s"}, "invalid --period 0s: must be positive"},
		"dlq: evaluation periods 0":  {[]string{"alarm", "add-dlq", "jobs-dlq", "--evaluation-periods", "0"}, "invalid --evaluation-periods 0: at least 1"},
		"file: threshold .nan":       {[]string{"alarm", "apply", "-f", file("nan.yaml", head+"    threshold: .nan\n")}, "nan.yaml:6: alarm \"api\": invalid --threshold NaN"},
		"file: threshold .inf":       {[]string{"alarm", "apply", "-f", file("inf.yaml", head+"    threshold: .inf\n")}, "inf.yaml:6: alarm \"api\": invalid --threshold +Inf"},
		"file: period 0s":            {[]string{"alarm", "apply", "-f", file("p0.yaml", head+"    period: 0s\n")}, "p0.yaml:6: alarm \"api\": invalid --period 0s"},
		"file: evaluation_periods 0": {[]string{"alarm", "apply", "-f", file("e0.yaml", head+"    evaluation_periods: 0\n")}, "e0.yaml:6: alarm \"api\": evaluation_periods 0"},
		"file: over one day":         {[]string{"alarm", "apply", "-f", file("day.yaml", head+"    period: 10m\n    evaluation_periods: 145\n")}, "day.yaml:7:"},
		"file: long email":           {[]string{"alarm", "apply", "-f", file("mail.yaml", strings.Replace(head, "ops@", strings.Repeat("o", 65)+"@", 1))}, "mail.yaml:3: invalid email address"},
		"file: dlq is a topic":       {[]string{"alarm", "apply", "-f", file("sns.yaml", "emails: [ops@example.com]\nalarms:\n  - name: q\n    dlq: arn:aws:sns:us-east-1:123456789012:t\n")}, "sns.yaml:4:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv.ResetCalls()
			r := localawstest.Run(t, env, tc.args...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("exit %d, want 2 with %q in stderr:\n%s", r.Code, tc.want, r.Stderr)
			}
			if calls := srv.Calls(); len(calls) != 0 {
				t.Fatalf("bad input reached the endpoint: %+v", calls)
			}
		})
	}
}
