package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/localaws/snswrap"
)

func seedLogs(t *testing.T, srv *localaws.Server, group string, lines ...string) {
	t.Helper()
	ctx := context.Background()
	c := cloudwatchlogs.NewFromConfig(localawstest.Config(srv, 0))
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	var evs []logstypes.InputLogEvent
	for i, l := range lines {
		evs = append(evs, logstypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(time.Now().Add(-time.Hour + time.Duration(i)*time.Second).UnixMilli())})
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

func writeOps(srv *localaws.Server) []string {
	var out []string
	for _, c := range srv.WriteCalls() {
		out = append(out, c.Operation)
	}
	return out
}

func TestBinaryAlarmCommands(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS, localaws.EmulatorSQS}})
	env := localawstest.Env(t, srv, "AWS_MAX_ATTEMPTS=2")
	seedLogs(t, srv, "/app/api", "INFO ok", "ERROR payment failed", "ERROR db down", "Task timed out after 3.00 seconds")
	add := []string{"alarm", "add", "api-errors", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "ops@example.com"}

	// add (new), as JSON.
	r := localawstest.Run(t, env, append(add, "--output", "json")...)
	if r.Code != 0 {
		t.Fatalf("add: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var res alarms.AlarmResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("add JSON: %v\n%s", err, r.Stdout)
	}
	if res.Preview == nil || res.Preview.Patterns[0].Matches != 2 || len(res.Subscriptions) != 1 || res.Subscriptions[0].State != alarms.SubPending || !strings.HasSuffix(res.Summary, "changes applied") {
		t.Fatalf("add result: %+v", res)
	}
	// add (repeat): no write call, "no changes", the pending subscription called out.
	srv.ResetCalls()
	r = localawstest.Run(t, env, add...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "no changes") || !strings.Contains(r.Stdout, "pending confirmation") || len(writeOps(srv)) != 0 {
		t.Fatalf("repeat: exit %d writes %v\n%s\n%s", r.Code, writeOps(srv), r.Stdout, r.Stderr)
	}
	// add (change) dry run, then for real: only the alarm is written, with its diff.
	srv.ResetCalls()
	r = localawstest.Run(t, env, append(add, "--threshold", "3", "--dry-run")...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "threshold: 1 → 3") || !strings.Contains(r.Stdout, "dry run") || len(writeOps(srv)) != 0 {
		t.Fatalf("dry run: exit %d writes %v\n%s", r.Code, writeOps(srv), r.Stdout)
	}
	r = localawstest.Run(t, env, append(add, "--threshold", "3")...)
	if r.Code != 0 || strings.Join(writeOps(srv), ",") != "PutMetricAlarm" {
		t.Fatalf("change: exit %d writes %v\n%s", r.Code, writeOps(srv), r.Stdout)
	}
	// log-lines mode.
	r = localawstest.Run(t, env, "alarm", "add", "api-lines", "--log-group", "/app/api", "--pattern", `"Task timed out"`, "--email", "ops@example.com", "--log-lines", "10", "-o", "json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"log-alarm"`) || !strings.Contains(r.Stdout, "iam-role") {
		t.Fatalf("log lines: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// preview.
	r = localawstest.Run(t, env, "alarm", "preview", "--log-group", "/app/api", "--pattern", "ERROR", "--pattern", "FATAL")
	if r.Code != 0 || !strings.Contains(r.Stdout, "pattern ERROR: 2 matches") || !strings.Contains(r.Stdout, "pattern FATAL: 0 matches") {
		t.Fatalf("preview: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// Validation errors: exit 2, no API call.
	for _, args := range [][]string{
		{"alarm", "add", "x", "--log-group", "/app/api", "--pattern", "ERROR!", "--email", "ops@example.com"},
		{"alarm", "add", "x", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "nope"},
		{"alarm", "add", "x", "--log-group", "/app/api", "--pattern", "ERROR"},
		{"alarm", "add", "x", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "a@example.com", "--period", "45s"},
		{"alarm", "add", "x", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "a@example.com", "--log-lines", "51"},
		{"alarm", "add", "x", "--log-group", "/app/api", "--pattern", "ERROR", "--email", "a@example.com", "--threshold", "0"},
		{"alarm", "add-dlq"},
		{"alarm", "rm"},
		{"alarm", "apply"},
	} {
		srv.ResetCalls()
		r = localawstest.Run(t, env, args...)
		if r.Code != 2 || len(srv.Calls()) != 0 || r.Stderr == "" {
			t.Errorf("%v: exit %d, %d calls: %s", args, r.Code, len(srv.Calls()), r.Stderr)
		}
	}
	// add-dlq --all.
	sq := sqs.NewFromConfig(localawstest.Config(srv, 0))
	ctx := context.Background()
	dlq, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	arn, _ := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if _, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"` + arn.Attributes["QueueArn"] + `","maxReceiveCount":"2"}`}}); err != nil {
		t.Fatal(err)
	}
	r = localawstest.Run(t, env, "alarm", "add-dlq", "--all", "--email", "ops@example.com", "-o", "json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"jobs-dlq"`) || !strings.Contains(r.Stdout, "opsctl-dlq-jobs-dlq") {
		t.Fatalf("add-dlq: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// test while the only subscription is pending: the state changes run, but
	// nobody gets the email: exit 3.
	r = localawstest.Run(t, env, "alarm", "test", "api-errors", "--wait", "5s")
	if r.Code != 3 || !strings.Contains(r.Stdout, "ALARM") || !strings.Contains(r.Stderr, "nobody will get the test email") {
		t.Fatalf("test with no confirmed subscription: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// audit: the pending subscription is a finding: exit 3.
	r = localawstest.Run(t, env, "alarm", "audit", "-o", "json")
	if r.Code != 3 || !strings.Contains(r.Stdout, alarms.FindTopicUnconfirmed) {
		t.Fatalf("audit: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	srv.Service("sns").(*snswrap.Handler).Confirm("ops@example.com")
	r = localawstest.Run(t, env, "alarm", "audit")
	if r.Code != 0 || !strings.Contains(r.Stdout, "0 findings") {
		t.Fatalf("clean audit: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// list.
	r = localawstest.Run(t, env, "alarm", "list", "-o", "json")
	var list alarms.ListResult
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil || len(list.Alarms) != 3 {
		t.Fatalf("list: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "alarm", "list")
	if r.Code != 0 || !strings.Contains(r.Stdout, "api-errors") || !strings.Contains(r.Stdout, "log-pattern") || !strings.Contains(r.Stdout, "1/0") {
		t.Fatalf("list table: %s", r.Stdout)
	}
	// test.
	r = localawstest.Run(t, env, "alarm", "test", "api-errors", "-o", "json")
	var tr alarms.TestResult
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &tr) != nil || tr.Final != "OK" || len(tr.Transitions) < 2 {
		t.Fatalf("test: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// apply: plan, apply, prune (needs --yes without a terminal).
	dir := t.TempDir()
	file := filepath.Join(dir, "alarms.yaml")
	os.WriteFile(file, []byte("emails: [ops@example.com]\nalarms:\n  - name: api-errors\n    log_group: /app/api\n    patterns: [ERROR]\n    threshold: 3\n  - name: api-fatal\n    log_group: /app/api\n    patterns: [FATAL]\n"), 0o644)
	srv.ResetCalls()
	r = localawstest.Run(t, env, "alarm", "apply", "-f", file, "--dry-run")
	if r.Code != 0 || len(writeOps(srv)) != 0 || !strings.Contains(r.Stdout, "opsctl/api-fatal/1") {
		t.Fatalf("apply dry run: exit %d writes %v\n%s\n%s", r.Code, writeOps(srv), r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "alarm", "apply", "-f", file)
	if r.Code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, "alarm", "apply", "-f", file, "--prune")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("prune without --yes: exit %d\n%s", r.Code, r.Stderr)
	}
	r = localawstest.Run(t, env, "alarm", "apply", "-f", file, "--prune", "--yes", "-o", "json")
	var ar alarms.ApplyResult
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &ar) != nil || len(ar.Pruned) != 3 {
		t.Fatalf("prune: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	os.WriteFile(file, []byte("alarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n    emails: [ops@example.com]\n    bogus: 1\n"), 0o644)
	srv.ResetCalls()
	r = localawstest.Run(t, env, "alarm", "apply", "-f", file)
	if r.Code != 2 || !strings.Contains(r.Stderr, "line 6") || len(srv.Calls()) != 0 {
		t.Fatalf("bad file: exit %d calls %d\n%s", r.Code, len(srv.Calls()), r.Stderr)
	}
	// rm: refuses without --yes, then removes; the topic stays while used.
	r = localawstest.Run(t, env, "alarm", "rm", "api-errors")
	if r.Code != 2 {
		t.Fatalf("rm without --yes: exit %d\n%s", r.Code, r.Stderr)
	}
	r = localawstest.Run(t, env, "alarm", "rm", "api-errors", "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "topic "+alarms.RecipientTopic(alarms.DefaultTopic, []string{"ops@example.com"})+" stays") {
		t.Fatalf("rm: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// rm again: already gone, a successful no-op without writes.
	srv.ResetCalls()
	r = localawstest.Run(t, env, "alarm", "rm", "api-errors", "--yes")
	if r.Code != 0 || !strings.Contains(r.Stdout, "does not exist") || len(writeOps(srv)) != 0 {
		t.Fatalf("rm again: exit %d writes %v\n%s\n%s", r.Code, writeOps(srv), r.Stdout, r.Stderr)
	}
	// A write throttled past the retries: exit 3 with what failed; a re-run repairs.
	srv.InjectFault(localaws.Fault{Service: "monitoring", Operation: "PutMetricAlarm", Kind: localaws.FaultThrottle, Times: -1})
	r = localawstest.Run(t, env, add...)
	srv.ClearFaults()
	if r.Code != 3 || !strings.Contains(r.Stderr, "put metric alarm") || !strings.Contains(r.Stdout, "failed") {
		t.Fatalf("throttled: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = localawstest.Run(t, env, add...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "1 change applied") {
		t.Fatalf("repair: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
