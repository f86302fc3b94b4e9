package alarms_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/cwemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/localaws/snswrap"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// env is a local endpoint with the real SDK clients opsctl uses.
type env struct {
	srv  *localaws.Server
	deps alarms.Deps
	cw   *cloudwatch.Client
	logs *cloudwatchlogs.Client
	sns  *sns.Client
	sqs  *sqs.Client
	iam  *iam.Client
}

func newEnv(t *testing.T, emulators ...string) *env {
	t.Helper()
	return newEnvClock(t, nil, emulators...)
}

// newEnvClock is newEnv with a clock shared by the endpoint and opsctl (nil:
// the endpoint's default).
func newEnvClock(t *testing.T, clk *clock.Fake, emulators ...string) *env {
	t.Helper()
	if len(emulators) == 0 {
		emulators = []string{localaws.EmulatorSNS}
	}
	opts := localaws.Options{Emulators: emulators}
	if clk != nil {
		opts.Clock = clk
	}
	srv := localawstest.Start(t, opts)
	cfg := localawstest.Config(srv, 2) // few retries: faults are exhausted fast
	e := &env{srv: srv, cw: cloudwatch.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg)}
	e.deps = alarms.Deps{CloudWatch: e.cw, Logs: e.logs, SNS: e.sns, SQS: e.sqs, IAM: e.iam,
		STS: sts.NewFromConfig(cfg), Region: srv.Region}
	if clk != nil {
		e.deps.Clock = clk
	}
	return e
}

func (e *env) logGroup(t *testing.T, name string, lines ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(name), LogStreamName: aws.String("s1")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Hour)
	var evs []logstypes.InputLogEvent
	for i, l := range lines {
		evs = append(evs, logstypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(now.Add(time.Duration(i) * time.Second).UnixMilli())})
	}
	if len(evs) > 0 {
		if _, err := e.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(name), LogStreamName: aws.String("s1"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) confirm(email string) int {
	return e.srv.Service("sns").(*snswrap.Handler).Confirm(email)
}

func (e *env) writes() []string {
	var out []string
	for _, c := range e.srv.WriteCalls() {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

// opsTopic is the topic of alarms that email ops@example.com alone.
var opsTopic = alarms.RecipientTopic(alarms.DefaultTopic, []string{"ops@example.com"})

var appLines = []string{
	"INFO request ok id=1",
	"ERROR payment failed id=2",
	"DEBUG ERROR retry id=3",
	"WARN slow request id=4",
	`{"level":"error","msg":"db down","latency":900}`,
	`{"level":"info","msg":"ok","latency":20}`,
	"Task timed out after 3.00 seconds",
	"FATAL out of memory",
}

func spec(name string) alarms.Spec {
	return alarms.Spec{Name: name, LogGroup: "/app/api", Patterns: []string{"ERROR"}, Emails: []string{"ops@example.com"}}
}

func find(t *testing.T, cs []plan.Change, resource string) plan.Change {
	t.Helper()
	for _, c := range cs {
		if c.Resource == resource {
			return c
		}
	}
	t.Fatalf("no %s change in %+v", resource, cs)
	return plan.Change{}
}

func TestAddCreatesEverythingThenRepeatsWithoutWritesThenAppliesOnlyTheDiff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)

	e.srv.ResetCalls()
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: spec("api-errors")})
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	for _, r := range []string{alarms.ResTopic, alarms.ResTopicPolicy, alarms.ResSubscription, alarms.ResMetricFilter, alarms.ResMetricAlarm} {
		if c := find(t, res.Changes, r); c.Action != plan.ActionCreate || c.Status != plan.StatusApplied {
			t.Errorf("%s: %+v", r, c)
		}
	}
	if res.Preview == nil || res.Preview.EventsScanned != len(appLines) || res.Preview.Patterns[0].Matches != 2 || len(res.Preview.Patterns[0].Samples) != 2 {
		t.Errorf("preview = %+v", res.Preview)
	}
	if len(res.Subscriptions) != 1 || res.Subscriptions[0].State != alarms.SubPending || !strings.Contains(res.Subscriptions[0].Todo, "Confirm subscription") {
		t.Errorf("subscriptions = %+v", res.Subscriptions)
	}
	// What AWS now holds.
	fs, err := e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api")})
	if err != nil || len(fs.MetricFilters) != 1 {
		t.Fatalf("filters: %+v %v", fs, err)
	}
	mt := fs.MetricFilters[0].MetricTransformations[0]
	if aws.ToString(fs.MetricFilters[0].FilterPattern) != "ERROR" || mt.DefaultValue == nil || *mt.DefaultValue != 0 ||
		aws.ToString(mt.MetricName) != "api-errors" || aws.ToString(mt.MetricNamespace) != alarms.MetricNamespace {
		t.Errorf("filter = %+v / %+v", fs.MetricFilters[0], mt)
	}
	al, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"opsctl-api-errors"}})
	if err != nil || len(al.MetricAlarms) != 1 {
		t.Fatalf("alarm: %+v %v", al, err)
	}
	a := al.MetricAlarms[0]
	if a.Statistic != cwtypes.StatisticSum || aws.ToFloat64(a.Threshold) != 1 || a.ComparisonOperator != cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold ||
		aws.ToString(a.TreatMissingData) != "notBreaching" || aws.ToInt32(a.Period) != 300 || len(a.AlarmActions) != 1 ||
		len(a.OKActions) != 1 || a.AlarmActions[0] != res.TopicARN {
		t.Errorf("alarm = %+v", a)
	}
	attrs, err := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(res.TopicARN)})
	if err != nil || !strings.Contains(attrs.Attributes["Policy"], "cloudwatch.amazonaws.com") || !strings.Contains(attrs.Attributes["Policy"], `"aws:SourceAccount"`) {
		t.Errorf("topic policy = %v %v", attrs, err)
	}

	// The same run again: no write call at all, "no changes", still pending.
	e.srv.ResetCalls()
	res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: spec("api-errors")})
	if err != nil || res.Summary != "no changes" || len(e.writes()) != 0 {
		t.Fatalf("repeat: %v %q writes=%v", err, res.Summary, e.writes())
	}
	if res.Subscriptions[0].State != alarms.SubPending {
		t.Errorf("still pending: %+v", res.Subscriptions)
	}
	// The person clicks the link: reported confirmed, still no writes.
	if e.confirm("ops@example.com") != 1 {
		t.Fatal("confirm")
	}
	e.srv.ResetCalls()
	res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: spec("api-errors")})
	if err != nil || res.Subscriptions[0].State != alarms.SubConfirmed || len(e.writes()) != 0 {
		t.Fatalf("after confirm: %v %+v %v", err, res.Subscriptions, e.writes())
	}

	// A changed flag updates exactly what changed and shows the diff.
	tests := []struct {
		name   string
		mutate func(*alarms.Spec)
		writes []string
		diff   string
	}{
		{"threshold", func(s *alarms.Spec) { s.Threshold = 5 }, []string{"monitoring:PutMetricAlarm"}, "threshold: 1 → 5"},
		{"period", func(s *alarms.Spec) { s.Threshold = 5; s.Period = 10 * time.Minute }, []string{"monitoring:PutMetricAlarm"}, "period: 5m → 10m"},
		{"pattern", func(s *alarms.Spec) { s.Threshold = 5; s.Period = 10 * time.Minute; s.Patterns = []string{"FATAL"} }, []string{"logs:PutMetricFilter", "monitoring:PutMetricAlarm"}, "pattern: ERROR → FATAL"},
		{"second email", func(s *alarms.Spec) {
			s.Threshold = 5
			s.Period = 10 * time.Minute
			s.Patterns = []string{"FATAL"}
			s.Emails = []string{"ops@example.com", "dev@example.com"}
		}, // another set of people: another topic; the old one, opsctl's and now unused, goes after the move
			[]string{"sns:CreateTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource", "sns:Subscribe", "sns:TagResource",
				"monitoring:PutMetricAlarm", "sns:DeleteTopic"}, ""},
	}
	for _, tc := range tests {
		s := spec("api-errors")
		tc.mutate(&s)
		e.srv.ResetCalls()
		res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := e.writes(); strings.Join(got, ",") != strings.Join(tc.writes, ",") {
			t.Errorf("%s: writes = %v, want %v", tc.name, got, tc.writes)
		}
		var diffs []string
		for _, c := range res.Changes {
			diffs = append(diffs, c.Summary())
		}
		if tc.diff != "" && !strings.Contains(strings.Join(diffs, "\n"), tc.diff) {
			t.Errorf("%s: diffs %q lack %q", tc.name, diffs, tc.diff)
		}
	}

	// --dry-run plans the change and writes nothing.
	s := spec("api-errors")
	s.Threshold = 9
	e.srv.ResetCalls()
	res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, DryRun: true})
	if err != nil || len(e.writes()) != 0 || !strings.Contains(res.Summary, "dry run") {
		t.Fatalf("dry run: %v %q %v", err, res.Summary, e.writes())
	}
	if c := find(t, res.Changes, alarms.ResMetricAlarm); c.Status != plan.StatusPlanned || !strings.Contains(c.Summary(), "threshold: 5 → 9") {
		t.Errorf("dry-run alarm change = %+v", c)
	}
}

// Each pattern form is validated locally, previewed through TestMetricFilter
// with real filter-pattern semantics, and becomes a working metric filter.
func TestPatternFormsPreviewAndFilter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	tests := []struct {
		pattern string
		matches int
	}{
		{`ERROR`, 2},                         // term (substring, case-sensitive)
		{`error`, 1},                         // case matters: only the JSON line
		{`Error`, 0},                         // matches nothing: warned
		{`"Task timed out"`, 1},              // quoted phrase
		{`ERROR -DEBUG`, 1},                  // exclusion
		{`?FATAL ?WARN`, 2},                  // alternatives
		{`{ $.level = "error" }`, 1},         // JSON selector
		{`{ $.latency > 500 }`, 1},           // JSON numeric comparison
		{`[level=ERROR, ...]`, 1},            // space-delimited fields
		{`%id=[23]%`, 2},                     // regex
		{`ERROR payment`, 1},                 // all terms must appear
		{`"ERROR payment failed id=2"`, 1},   // exact phrase with punctuation
		{`{ $.level = "err*" }`, 1},          // wildcard
		{`?"out of memory" ?"timed out"`, 2}, // alternative phrases
	}
	for i, tc := range tests {
		name := fmt.Sprintf("form-%d", i)
		s := spec(name)
		s.Patterns = []string{tc.pattern}
		res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s})
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := res.Preview.Patterns[0].Matches; got != tc.matches {
			t.Errorf("pattern %s: %d matches, want %d (samples %q)", tc.pattern, got, tc.matches, res.Preview.Patterns[0].Samples)
		}
		if tc.matches == 0 && len(res.Preview.Warnings) == 0 {
			t.Errorf("pattern %s matched nothing but no warning", tc.pattern)
		}
		fs, err := e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api"), FilterNamePrefix: aws.String("opsctl/" + name + "/")})
		if err != nil || len(fs.MetricFilters) != 1 || aws.ToString(fs.MetricFilters[0].FilterPattern) != tc.pattern {
			t.Errorf("pattern %s: filter %+v %v", tc.pattern, fs, err)
		}
	}
	// Two patterns: two filters feeding one metric; dropping one deletes its filter.
	s := spec("two")
	s.Patterns = []string{"ERROR", "FATAL"}
	if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s}); err != nil {
		t.Fatal(err)
	}
	s.Patterns = []string{"ERROR"}
	e.srv.ResetCalls()
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
	if err != nil || strings.Join(e.writes(), ",") != "logs:DeleteMetricFilter,monitoring:PutMetricAlarm" {
		t.Fatalf("drop a pattern: %v %v %+v", err, e.writes(), res.Changes)
	}
	// A missing log group is reported before anything is written.
	e.srv.ResetCalls()
	s = spec("nogroup")
	s.LogGroup = "/does/not/exist"
	_, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s})
	if err == nil || !strings.Contains(err.Error(), "does not exist") || len(e.writes()) != 0 {
		t.Fatalf("missing group: %v %v", err, e.writes())
	}
}

func TestValidationErrorsCallNoAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bad := map[string]func(*alarms.Spec){
		"pattern":    func(s *alarms.Spec) { s.Patterns = []string{"{ $.a = "} },
		"name":       func(s *alarms.Spec) { s.Name = "bad name" },
		"email":      func(s *alarms.Spec) { s.Emails = []string{"not-an-email"} },
		"period":     func(s *alarms.Spec) { s.Period = 7 * time.Second },
		"log lines":  func(s *alarms.Spec) { s.LogLines = 60 },
		"no email":   func(s *alarms.Spec) { s.Emails = nil },
		"log group":  func(s *alarms.Spec) { s.LogGroup = "" },
		"evaluation": func(s *alarms.Spec) { s.EvaluationPeriods = -1 },
	}
	for name, mutate := range bad {
		s := spec("v")
		mutate(&s)
		e.srv.ResetCalls()
		_, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, RequireEmail: true})
		var u *opserr.UsageError
		if !errors.As(err, &u) || opserr.ExitCode(err) != 2 {
			t.Errorf("%s: err = %v, want a usage error", name, err)
		}
		if n := len(e.srv.Calls()); n != 0 {
			t.Errorf("%s: %d API calls before validation failed", name, n)
		}
	}
}

func TestLogLinesModeCreatesLeastPrivilegeRoleAndLogAlarm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	s := spec("api-lines")
	s.Patterns = []string{"ERROR -DEBUG", `"Task timed out"`}
	s.LogLines = 20
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s})
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	for _, r := range []string{alarms.ResRole, alarms.ResRolePolicy, alarms.ResLogAlarm} {
		if c := find(t, res.Changes, r); c.Action != plan.ActionCreate || c.Status != plan.StatusApplied {
			t.Errorf("%s: %+v", r, c)
		}
	}
	role, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(alarms.RoleName("api-lines"))})
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if canon(trust) != canon(alarms.QueryRoleTrustPolicy("aws", e.srv.Region, localaws.DefaultAccount, "opsctl-api-lines")) {
		t.Errorf("trust policy = %s", trust)
	}
	pol, err := e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(alarms.RoleName("api-lines")), PolicyName: aws.String("opsctl-query-log-group")})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	if canon(doc) != canon(alarms.QueryRolePolicy("aws", e.srv.Region, localaws.DefaultAccount, "/app/api")) {
		t.Errorf("permission policy = %s", doc)
	}
	al, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"opsctl-api-lines"}, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeLogAlarm}})
	if err != nil || len(al.LogAlarms) != 1 {
		t.Fatalf("log alarm: %+v %v", al, err)
	}
	la := al.LogAlarms[0]
	q := aws.ToString(la.ScheduledQueryConfiguration.QueryString)
	if aws.ToInt32(la.ActionLogLineCount) != 20 || aws.ToString(la.ActionLogLineRoleArn) != aws.ToString(role.Role.Arn) ||
		aws.ToString(la.ScheduledQueryConfiguration.ScheduledQueryRoleARN) != aws.ToString(role.Role.Arn) ||
		!strings.Contains(q, `(@message like "ERROR" and not (@message like "DEBUG")) or (@message like "Task timed out")`) ||
		la.ScheduledQueryConfiguration.LogGroupIdentifiers[0] != "/app/api" || len(la.AlarmActions) != 1 {
		t.Errorf("log alarm = %+v query %q", la, q)
	}
	// No metric filter in log-lines mode.
	fs, _ := e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api")})
	if len(fs.MetricFilters) != 0 {
		t.Errorf("filters in log-lines mode: %+v", fs.MetricFilters)
	}
	// Repeat: no writes.
	e.srv.ResetCalls()
	if res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s}); err != nil || len(e.writes()) != 0 || res.Summary != "no changes" {
		t.Fatalf("repeat: %v %v %q", err, e.writes(), res.Summary)
	}
	// Fewer lines: only PutLogAlarm.
	s.LogLines = 5
	e.srv.ResetCalls()
	if res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true}); err != nil || strings.Join(e.writes(), ",") != "monitoring:PutLogAlarm" ||
		!strings.Contains(find(t, res.Changes, alarms.ResLogAlarm).Summary(), "log_lines: 20 → 5") {
		t.Fatalf("change lines: %v %v %+v", err, e.writes(), res.Changes)
	}
	// Back to a metric filter alarm: the log alarm and its role go, a filter comes.
	s.LogLines = 0
	if _, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(alarms.RoleName("api-lines"))}); err == nil {
		t.Error("role still exists after switching to a metric filter")
	}
	al, _ = e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"opsctl-api-lines"}, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeLogAlarm, cwtypes.AlarmTypeMetricAlarm}})
	if len(al.LogAlarms) != 0 || len(al.MetricAlarms) != 1 {
		t.Errorf("after switch: %d log alarms, %d metric alarms", len(al.LogAlarms), len(al.MetricAlarms))
	}
	// And back again: filters are removed.
	s.LogLines = 3
	if _, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true}); err != nil {
		t.Fatal(err)
	}
	fs, _ = e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api")})
	if len(fs.MetricFilters) != 0 {
		t.Errorf("filters left after switching to log lines: %+v", fs.MetricFilters)
	}
}

func canon(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r != ' ' && r != '\n' && r != '\t' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (e *env) queue(t *testing.T, name, dlq string) string {
	t.Helper()
	ctx := context.Background()
	attrs := map[string]string{}
	if dlq != "" {
		out, err := e.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(dlq)})
		if err != nil {
			t.Fatal(err)
		}
		a, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
		if err != nil {
			t.Fatal(err)
		}
		attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"3"}`, a.Attributes["QueueArn"])
	}
	out, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

func TestDLQAlarmsWithDiscovery(t *testing.T) {
	e := newEnv(t, localaws.EmulatorSNS, localaws.EmulatorSQS)
	ctx := context.Background()
	e.queue(t, "orders-dlq", "")
	e.queue(t, "orders", "orders-dlq")
	e.queue(t, "orders-retry", "orders-dlq")
	e.queue(t, "pay-dlq", "")
	e.queue(t, "pay", "pay-dlq")
	e.queue(t, "lonely", "")

	dlqs, err := alarms.DiscoverDLQs(ctx, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if len(dlqs) != 2 || dlqs[0].Name != "orders-dlq" || strings.Join(dlqs[0].Sources, ",") != "orders,orders-retry" || dlqs[1].Name != "pay-dlq" {
		t.Fatalf("discovered %+v", dlqs)
	}
	// Dry run: nothing written.
	e.srv.ResetCalls()
	res, err := alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{All: true, Emails: []string{"ops@example.com"}, DryRun: true})
	if err != nil || len(e.writes()) != 0 || len(res.Result.Alarms) != 2 {
		t.Fatalf("dry run: %v %v %+v", err, e.writes(), res)
	}
	res, err = alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{All: true, Emails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	al, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"opsctl-dlq-orders-dlq", "opsctl-dlq-pay-dlq"}})
	if err != nil || len(al.MetricAlarms) != 2 {
		t.Fatalf("alarms: %+v %v", al, err)
	}
	for _, a := range al.MetricAlarms {
		if aws.ToString(a.Namespace) != "AWS/SQS" || aws.ToString(a.MetricName) != "ApproximateNumberOfMessagesVisible" ||
			a.ComparisonOperator != cwtypes.ComparisonOperatorGreaterThanThreshold || aws.ToFloat64(a.Threshold) != 0 ||
			len(a.Dimensions) != 1 || aws.ToString(a.Dimensions[0].Name) != "QueueName" || len(a.AlarmActions) != 1 {
			t.Errorf("dlq alarm = %+v", a)
		}
	}
	e.srv.ResetCalls()
	if _, err := alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{All: true, Emails: []string{"ops@example.com"}}); err != nil || len(e.writes()) != 0 {
		t.Fatalf("repeat: %v %v", err, e.writes())
	}
	// A named queue that is no DLQ gets a warning, and an alarm.
	res, err = alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{Queues: []string{"lonely"}, Emails: []string{"ops@example.com"}})
	if err != nil || len(res.Warnings) != 1 || len(res.Result.Alarms) != 1 {
		t.Fatalf("named: %v %+v", err, res)
	}
	if _, err := alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{Queues: []string{"nope"}}); opserr.ExitCode(err) != 2 {
		t.Fatalf("missing queue: %v", err)
	}
}

func TestListTestAndRemoveKeepTheSharedTopic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	a := spec("api-errors")
	b := spec("api-fatal")
	b.Patterns = []string{"FATAL"}
	b.LogLines = 5
	for _, s := range []alarms.Spec{a, b} {
		if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s}); err != nil {
			t.Fatal(err)
		}
	}
	e.confirm("ops@example.com")
	// Someone else's alarm with our prefix but not our tag is never listed or removed.
	if _, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("opsctl-foreign"), Namespace: aws.String("X"), MetricName: aws.String("Y"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	list, err := alarms.List(ctx, e.deps)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Alarms) != 2 {
		t.Fatalf("list = %+v", list.Alarms)
	}
	got := map[string]alarms.ListedAlarm{}
	for _, l := range list.Alarms {
		got[l.Name] = l
	}
	if l := got["api-errors"]; l.Kind != alarms.KindLogPattern || l.Target != "/app/api" || l.Pattern != "ERROR" || l.Topic != opsTopic || l.Confirmed != 1 || l.Pending != 0 || l.State == "" {
		t.Errorf("api-errors = %+v", l)
	}
	if l := got["api-fatal"]; l.Kind != alarms.KindLogAlarm || l.Target != "/app/api" || l.Pattern != "FATAL" {
		t.Errorf("api-fatal = %+v", l)
	}

	// test: ALARM then OK, observed in state and history.
	tr, err := alarms.Test(ctx, e.deps, alarms.TestOptions{Name: "api-errors", Wait: 5 * time.Second, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, x := range tr.Transitions {
		seq = append(seq, x.From+"→"+x.To)
	}
	if len(seq) < 2 || !strings.HasSuffix(seq[len(seq)-2], "→ALARM") || seq[len(seq)-1] != "ALARM→OK" || tr.Final != "OK" || tr.Confirmed != 1 || len(tr.Warnings) != 0 {
		t.Fatalf("test = %+v (%v)", tr, seq)
	}
	if len(tr.Notifications) != 2 || !strings.Contains(tr.Notifications[0], "Successfully executed action") || !strings.Contains(tr.Notifications[0], ":opsctl-alarms") {
		t.Errorf("notifications = %q", tr.Notifications)
	}
	if _, err := alarms.Test(ctx, e.deps, alarms.TestOptions{Name: "nope"}); opserr.ExitCode(err) != 2 {
		t.Fatalf("test missing alarm: %v", err)
	}

	// rm the first: the topic stays (api-fatal uses it).
	rm, err := alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: "api-errors"})
	if err != nil || !strings.Contains(rm.TopicNote, "used by opsctl-api-fatal") {
		t.Fatalf("rm 1: %v %+v", err, rm)
	}
	if fs, _ := e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api")}); len(fs.MetricFilters) != 0 {
		t.Errorf("filters left: %+v", fs.MetricFilters)
	}
	topics, _ := e.sns.ListTopics(ctx, &sns.ListTopicsInput{})
	if len(topics.Topics) != 1 {
		t.Fatalf("topic gone too early: %+v", topics)
	}
	// rm --dry-run writes nothing.
	e.srv.ResetCalls()
	if rm, err = alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: "api-fatal", DryRun: true}); err != nil || len(e.writes()) != 0 {
		t.Fatalf("rm dry run: %v %v", err, e.writes())
	}
	// rm the last: alarm, role and now-unused topic go.
	if rm, err = alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: "api-fatal"}); err != nil {
		t.Fatal(err)
	}
	var res []string
	for _, c := range rm.Changes {
		res = append(res, c.Resource+":"+c.Action+":"+c.Status)
	}
	sort.Strings(res)
	if strings.Join(res, ",") != "iam-role:delete:applied,log-alarm:delete:applied,sns-topic:delete:applied" {
		t.Errorf("rm 2 changes = %v", res)
	}
	if topics, _ = e.sns.ListTopics(ctx, &sns.ListTopicsInput{}); len(topics.Topics) != 0 {
		t.Errorf("unused topic kept: %+v", topics)
	}
	if _, err := alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: "foreign"}); err == nil || !strings.Contains(err.Error(), "not managed by opsctl") {
		t.Errorf("foreign rm: %v", err)
	}
	// rm again: already gone, a successful no-op that writes nothing.
	e.srv.ResetCalls()
	if rm, err = alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: "api-fatal"}); err != nil || len(e.writes()) != 0 || plan.Writes(rm.Changes) != 0 || !strings.Contains(rm.Summary, "does not exist") {
		t.Errorf("rm of a removed alarm: %v %+v writes %v", err, rm, e.writes())
	}
}

// alarm test runs the state changes but exits 3 (partial) when nobody will
// receive the email, and 0 once someone has confirmed.
func TestAlarmTestIsPartialWhileNobodyConfirmed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: spec("api-errors"), NoPreview: true}); err != nil {
		t.Fatal(err)
	}
	opts := alarms.TestOptions{Name: "api-errors", Wait: 5 * time.Second, Poll: 10 * time.Millisecond}
	tr, err := alarms.Test(ctx, e.deps, opts)
	if opserr.ExitCode(err) != opserr.ExitPartial || !strings.Contains(fmt.Sprint(err), "nobody will get the test email") {
		t.Fatalf("pending only: err %v (exit %d), want exit 3", err, opserr.ExitCode(err))
	}
	if tr.Final != "OK" || tr.Pending != 1 || tr.Confirmed != 0 || len(tr.Transitions) < 2 {
		t.Fatalf("the state changes still ran: %+v", tr)
	}
	e.confirm("ops@example.com")
	if tr, err = alarms.Test(ctx, e.deps, opts); err != nil || tr.Confirmed != 1 || len(tr.Warnings) != 0 {
		t.Fatalf("confirmed: %v %+v", err, tr)
	}
}

func TestAuditFindsEachSilentGap(t *testing.T) {
	e := newEnv(t, localaws.EmulatorSNS, localaws.EmulatorSQS)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	// 1. an alarm without actions
	if _, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("no-actions"), Namespace: aws.String("App"), MetricName: aws.String("Errors"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}); err != nil {
		t.Fatal(err)
	}
	// 2. a topic whose only subscription is pending (opsctl's own add)
	if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: spec("api-errors")}); err != nil {
		t.Fatal(err)
	}
	// 3. a metric filter nobody alarms on
	if _, err := e.logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String("/app/api"), FilterName: aws.String("orphan"), FilterPattern: aws.String("WARN"),
		MetricTransformations: []logstypes.MetricTransformation{{MetricName: aws.String("Warnings"), MetricNamespace: aws.String("App"), MetricValue: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	// 4. a DLQ without an alarm
	e.queue(t, "jobs-dlq", "")
	e.queue(t, "jobs", "jobs-dlq")

	// 5. stuck in INSUFFICIENT_DATA: audit as of two days from now.
	res, err := alarms.Audit(ctx, e.deps, alarms.AuditOptions{Now: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]string{}
	for _, f := range res.Findings {
		kinds[f.Kind] = append(kinds[f.Kind], f.Resource)
	}
	want := map[string]string{
		alarms.FindAlarmWithoutActions:   "no-actions",
		alarms.FindTopicUnconfirmed:      opsTopic,
		alarms.FindFilterWithoutAlarm:    "/app/api:orphan",
		alarms.FindDLQWithoutAlarm:       "jobs-dlq",
		alarms.FindStuckInsufficientData: "opsctl-api-errors",
	}
	for k, r := range want {
		if !contains(kinds[k], r) {
			t.Errorf("finding %s %s missing: %+v", k, r, res.Findings)
		}
	}
	if contains(kinds[alarms.FindFilterWithoutAlarm], "/app/api:opsctl/api-errors/1") {
		t.Errorf("opsctl's own filter flagged: %+v", res.Findings)
	}
	// Fixing the topic and the DLQ clears those findings; today nothing is stuck yet.
	e.confirm("ops@example.com")
	if _, err := alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{All: true, Emails: []string{"ops@example.com"}}); err != nil {
		t.Fatal(err)
	}
	res, err = alarms.Audit(ctx, e.deps, alarms.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Kind == alarms.FindTopicUnconfirmed || f.Kind == alarms.FindDLQWithoutAlarm || f.Kind == alarms.FindStuckInsufficientData {
			t.Errorf("unexpected finding after fixes: %+v", f)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestApplyFilePlanThenApplyThenPruneOnlyOwnAlarms(t *testing.T) {
	e := newEnv(t, localaws.EmulatorSNS, localaws.EmulatorSQS)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	e.queue(t, "orders-dlq", "")
	parse := func(y string) *alarms.File {
		f, err := alarms.ParseFile("alarms.yaml", strings.NewReader(y))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	full := parse(`emails: [ops@example.com]
alarms:
  - name: api-errors
    log_group: /app/api
    patterns: [ERROR]
  - name: api-lines
    log_group: /app/api
    patterns: [FATAL]
    log_lines: 5
  - name: orders-dlq
    dlq: orders-dlq
`)
	// Another component's alarm on the same topic, and a stranger's: prune leaves both.
	topic, err := alarms.EnsureTopic(ctx, e.deps, alarms.TopicSpec{Emails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alarms.EnsureMetricAlarm(ctx, e.deps, alarms.MetricAlarmSpec{Name: "opsctl-etl-orders-freshness", Component: "etl-archive",
		Namespace: "AWS/Firehose", MetricName: "DeliveryToS3.DataFreshness", Dimensions: map[string]string{"DeliveryStreamName": "orders"},
		Statistic: "Maximum", Period: 5 * time.Minute, EvaluationPeriods: 1, Threshold: 900, Comparison: "GreaterThanThreshold", TopicARN: topic.ARN}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	dry, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: full, DryRun: true})
	if err != nil || len(e.writes()) != 0 || len(dry.Alarms) != 3 || !strings.Contains(dry.Summary, "dry run") {
		t.Fatalf("plan: %v %v %+v", err, e.writes(), dry)
	}
	for _, a := range dry.Alarms {
		for _, c := range a.Changes {
			if c.Status != plan.StatusPlanned && c.Status != plan.StatusUnchanged {
				t.Errorf("dry-run change %+v", c)
			}
		}
	}
	if _, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: full}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	again, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: full, Prune: true})
	if err != nil || len(e.writes()) != 0 || again.Summary != "no changes" {
		t.Fatalf("re-apply: %v %v %q", err, e.writes(), again.Summary)
	}
	// Drop api-lines from the file: --prune deletes only it (and its role).
	smaller := parse(`emails: [ops@example.com]
alarms:
  - name: api-errors
    log_group: /app/api
    patterns: [ERROR]
    threshold: 3
  - name: orders-dlq
    dlq: orders-dlq
`)
	dry, err = alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: smaller, Prune: true, DryRun: true})
	if err != nil || len(dry.Pruned) != 2 {
		t.Fatalf("prune plan: %v %+v", err, dry.Pruned)
	}
	res, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: smaller, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var pruned []string
	for _, c := range res.Pruned {
		pruned = append(pruned, c.Resource+":"+c.Name)
	}
	if strings.Join(pruned, ",") != "iam-role:opsctl-logalarm-api-lines,log-alarm:opsctl-api-lines" {
		t.Errorf("pruned = %v", pruned)
	}
	al, _ := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeLogAlarm}, MaxRecords: aws.Int32(100)})
	var names []string
	for _, a := range al.MetricAlarms {
		names = append(names, aws.ToString(a.AlarmName))
	}
	for _, a := range al.LogAlarms {
		names = append(names, aws.ToString(a.AlarmName))
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "opsctl-api-errors,opsctl-dlq-orders-dlq,opsctl-etl-orders-freshness" {
		t.Errorf("alarms after prune = %v", names)
	}
	if c := find(t, res.Alarms[0].Changes, alarms.ResMetricAlarm); !strings.Contains(c.Summary(), "threshold: 1 → 3") {
		t.Errorf("diff = %+v", c)
	}
}

// Throttling and 5xx on each write, past the retries: the run fails saying
// what failed, and a plain re-run repairs everything.
func TestFaultOnEachWriteThenRepairingRerun(t *testing.T) {
	writes := []struct {
		service, op string
		logLines    int
	}{
		{"sns", "CreateTopic", 0},
		{"sns", "SetTopicAttributes", 0},
		{"sns", "Subscribe", 0},
		{"logs", "PutMetricFilter", 0},
		{"monitoring", "PutMetricAlarm", 0},
		{"iam", "CreateRole", 5},
		{"iam", "PutRolePolicy", 5},
		{"monitoring", "PutLogAlarm", 5},
	}
	for _, kind := range []localaws.FaultKind{localaws.FaultThrottle, localaws.Fault5xx} {
		e := newEnv(t)
		ctx := context.Background()
		e.logGroup(t, "/app/api", appLines...)
		for i, w := range writes {
			name := fmt.Sprintf("f%d", i)
			s := spec(name)
			s.Topic = fmt.Sprintf("topic-%s-%d", kind, i) // a fresh topic, so its writes happen
			s.LogLines = w.logLines
			e.srv.InjectFault(localaws.Fault{Service: w.service, Operation: w.op, Kind: kind, Times: -1})
			res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
			e.srv.ClearFaults()
			if err == nil || opserr.ExitCode(err) == 0 {
				t.Fatalf("%s %s: no error", kind, w.op)
			}
			failed := false
			for _, c := range res.Changes {
				if c.Status == plan.StatusFailed {
					failed = true
				}
			}
			if !failed || !strings.Contains(res.Error, w.op) && !strings.Contains(strings.ToLower(res.Error), strings.ToLower(opWords(w.op))) {
				t.Errorf("%s %s: result does not say what failed: %q %+v", kind, w.op, res.Error, res.Changes)
			}
			// Repair.
			res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
			if err != nil {
				t.Fatalf("%s %s: repairing run: %v", kind, w.op, err)
			}
			e.srv.ResetCalls()
			res, err = alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
			if err != nil || len(e.writes()) != 0 {
				t.Fatalf("%s %s: after repair, writes %v (%v) %+v", kind, w.op, e.writes(), err, res.Changes)
			}
		}
	}
}

// opWords turns "PutMetricAlarm" into "put metric alarm", as errors say it.
func opWords(op string) string {
	var b strings.Builder
	for i, r := range op {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// The other writes: deletes (rm, a dropped pattern, a kind switch), tag
// repair, trust-policy repair and SetAlarmState, each throttled and 5xx past
// the retries, then repaired by running the same command again.
func TestFaultOnEachOtherWriteThenRepairingRerun(t *testing.T) {
	type tc struct {
		name, service, op string
		setup             func(e *env, s *alarms.Spec) // before the fault
		run               func(e *env, s alarms.Spec) error
		check             func(e *env, s alarms.Spec) // after the repair
	}
	ctx := context.Background()
	add := func(e *env, s alarms.Spec) error {
		_, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
		return err
	}
	mustAdd := func(e *env, s *alarms.Spec) {
		if err := add(e, *s); err != nil {
			t.Fatal(err)
		}
	}
	rm := func(e *env, s alarms.Spec) error {
		_, err := alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: s.Name})
		return err
	}
	gone := func(e *env, s alarms.Spec) {
		al, _ := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarms.AlarmName(s.Name)}, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeLogAlarm}})
		fs, _ := e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api"), FilterNamePrefix: aws.String("opsctl/" + s.Name + "/")})
		_, roleErr := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(alarms.RoleName(s.Name))})
		topics, _ := e.sns.ListTopics(ctx, &sns.ListTopicsInput{})
		for _, tp := range topics.Topics {
			if strings.HasSuffix(aws.ToString(tp.TopicArn), ":"+s.Topic) {
				t.Errorf("%s: topic %s left", s.Name, s.Topic)
			}
		}
		if len(al.MetricAlarms)+len(al.LogAlarms) != 0 || len(fs.MetricFilters) != 0 || roleErr == nil {
			t.Errorf("%s: leftovers: %d alarms, %d filters, role err %v", s.Name, len(al.MetricAlarms)+len(al.LogAlarms), len(fs.MetricFilters), roleErr)
		}
	}
	cases := []tc{
		{name: "rm filter", service: "logs", op: "DeleteMetricFilter", setup: mustAdd, run: rm, check: gone},
		{name: "rm topic", service: "sns", op: "DeleteTopic", setup: mustAdd, run: rm, check: gone},
		{name: "rm alarm", service: "monitoring", op: "DeleteAlarms", setup: mustAdd, run: rm, check: gone},
		{name: "rm role policy", service: "iam", op: "DeleteRolePolicy", setup: func(e *env, s *alarms.Spec) { s.LogLines = 5; mustAdd(e, s) }, run: rm, check: gone},
		{name: "rm role", service: "iam", op: "DeleteRole", setup: func(e *env, s *alarms.Spec) { s.LogLines = 5; mustAdd(e, s) }, run: rm, check: gone},
		{name: "switch to filter deletes role", service: "iam", op: "DeleteRole",
			setup: func(e *env, s *alarms.Spec) { s.LogLines = 5; mustAdd(e, s); s.LogLines = 0 }, run: add,
			check: func(e *env, s alarms.Spec) {
				if _, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(alarms.RoleName(s.Name))}); err == nil {
					t.Errorf("%s: role left after the repairing run", s.Name)
				}
			}},
		{name: "dropped pattern", service: "logs", op: "DeleteMetricFilter",
			setup: func(e *env, s *alarms.Spec) {
				s.Patterns = []string{"ERROR", "FATAL"}
				mustAdd(e, s)
				s.Patterns = []string{"ERROR"}
			}, run: add,
			check: func(e *env, s alarms.Spec) {
				fs, _ := e.logs.DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api"), FilterNamePrefix: aws.String("opsctl/" + s.Name + "/")})
				if len(fs.MetricFilters) != 1 {
					t.Errorf("%s: %d filters", s.Name, len(fs.MetricFilters))
				}
			}},
		{name: "lost tags", service: "monitoring", op: "TagResource",
			setup: func(e *env, s *alarms.Spec) {
				mustAdd(e, s)
				al, _ := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarms.AlarmName(s.Name)}})
				if _, err := e.cw.UntagResource(ctx, &cloudwatch.UntagResourceInput{ResourceARN: al.MetricAlarms[0].AlarmArn, TagKeys: []string{alarms.TagManaged}}); err != nil {
					t.Fatal(err)
				}
			}, run: add,
			check: func(e *env, s alarms.Spec) {
				list, _ := alarms.List(ctx, e.deps)
				found := false
				for _, a := range list.Alarms {
					found = found || a.Name == s.Name
				}
				if !found {
					t.Errorf("%s: tags not repaired", s.Name)
				}
			}},
		{name: "changed trust", service: "iam", op: "UpdateAssumeRolePolicy",
			setup: func(e *env, s *alarms.Spec) {
				s.LogLines = 5
				mustAdd(e, s)
				if _, err := e.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(alarms.RoleName(s.Name)),
					PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
					t.Fatal(err)
				}
			}, run: add,
			check: func(e *env, s alarms.Spec) {
				role, _ := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(alarms.RoleName(s.Name))})
				if doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument)); strings.Contains(doc, "ec2") {
					t.Errorf("%s: trust not repaired: %s", s.Name, doc)
				}
			}},
		{name: "test state", service: "monitoring", op: "SetAlarmState",
			setup: func(e *env, s *alarms.Spec) {
				mustAdd(e, s)
				e.confirm("ops@example.com") // else the test is partial (exit 3) by design
			},
			run: func(e *env, s alarms.Spec) error {
				_, err := alarms.Test(ctx, e.deps, alarms.TestOptions{Name: s.Name, Wait: 5 * time.Second, Poll: 10 * time.Millisecond})
				return err
			},
			check: func(e *env, s alarms.Spec) {}},
	}
	for _, kind := range []localaws.FaultKind{localaws.FaultThrottle, localaws.Fault5xx} {
		e := newEnv(t)
		e.logGroup(t, "/app/api", appLines...)
		for i, c := range cases {
			s := spec(fmt.Sprintf("o%d", i))
			s.Topic = fmt.Sprintf("t-%s-%d", kind, i)
			c.setup(e, &s)
			e.srv.InjectFault(localaws.Fault{Service: c.service, Operation: c.op, Kind: kind, Times: -1})
			err := c.run(e, s)
			faulted := 0
			for _, call := range e.srv.Calls() {
				if call.Faulted && call.Operation == c.op {
					faulted++
				}
			}
			e.srv.ClearFaults()
			if err == nil || faulted == 0 {
				t.Fatalf("%s %s: err %v, %d faulted calls", kind, c.name, err, faulted)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(strings.Fields(opWords(c.op))[0])) {
				t.Errorf("%s %s: error does not say what failed: %v", kind, c.name, err)
			}
			if err := c.run(e, s); err != nil {
				t.Fatalf("%s %s: repairing run: %v", kind, c.name, err)
			}
			c.check(e, s)
		}
	}
}

// A team's existing topic is adopted: its other grants stay, opsctl's are
// added once, and rm never deletes it.
func TestAdoptedTopicKeepsItsPolicyAndSurvivesRm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	tp, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("team-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	team := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"EventsPublish","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":%q}]}`, aws.ToString(tp.TopicArn))
	if _, err := e.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: tp.TopicArn, AttributeName: aws.String("Policy"), AttributeValue: aws.String(team)}); err != nil {
		t.Fatal(err)
	}
	s := spec("adopt")
	s.Topic = "team-alerts"
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(t, res.Changes, alarms.ResTopicPolicy); c.Action != plan.ActionUpdate {
		t.Errorf("policy change = %+v", c)
	}
	attrs, _ := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: tp.TopicArn})
	if p := attrs.Attributes["Policy"]; !strings.Contains(p, "EventsPublish") || !strings.Contains(p, "CloudWatchAlarmsOfThisAccountPublish") {
		t.Errorf("merged policy = %s", p)
	}
	e.srv.ResetCalls()
	if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s}); err != nil || len(e.writes()) != 0 {
		t.Fatalf("repeat: %v %v", err, e.writes())
	}
	rm, err := alarms.Remove(ctx, e.deps, alarms.RmOptions{Name: "adopt"})
	if err != nil || !strings.Contains(rm.TopicNote, "opsctl did not create it") {
		t.Fatalf("rm: %v %+v", err, rm)
	}
	if _, err := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: tp.TopicArn}); err != nil {
		t.Errorf("adopted topic deleted: %v", err)
	}
}

// Right after CreateRole, CloudWatch may not be able to assume the role yet
// (IAM propagation): PutLogAlarm is retried, and only then.
func TestLogAlarmWaitsForANewRoleToPropagate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	// The retries sleep on a fake clock: 2 s, then 3 s of it, at once.
	fake := clock.NewFake(time.Time{})
	deps := e.deps
	deps.Clock = fake
	s := spec("fresh")
	s.LogLines = 3
	e.srv.InjectFault(localaws.Fault{Service: "monitoring", Operation: "PutLogAlarm", Kind: localaws.FaultError, Code: "ValidationError",
		Message: "CloudWatch cannot assume the role arn:aws:iam::000000000000:role/opsctl-logalarm-fresh", Times: 2})
	start := fake.Now()
	if _, err := alarms.Add(ctx, deps, alarms.AddOptions{Spec: s, NoPreview: true}); err != nil {
		t.Fatalf("add with a propagating role: %v", err)
	}
	if n, waited := fake.Sleeps(), fake.Now().Sub(start); n != 2 || waited != 5*time.Second {
		t.Fatalf("waited %d times, %s in all; want 2 waits, 2 s + 3 s", n, waited)
	}
	// An existing role is not waited for: the same error fails at once.
	s.LogLines = 4
	e.srv.InjectFault(localaws.Fault{Service: "monitoring", Operation: "PutLogAlarm", Kind: localaws.FaultError, Code: "ValidationError",
		Message: "CloudWatch cannot assume the role", Times: 1})
	_, err := alarms.Add(ctx, deps, alarms.AddOptions{Spec: s, NoPreview: true})
	e.srv.ClearFaults()
	if err == nil || !strings.Contains(err.Error(), "put log alarm") {
		t.Fatalf("existing role: %v", err)
	}
}

// The whole chain: matching log lines → metric filter → metric → alarm in
// ALARM → its topic notified; a quiet period afterwards → OK → notified again.
func TestMatchingLinesDriveTheAlarmToAlarmAndBackToOK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := time.Now().Truncate(time.Minute).Add(-3 * time.Minute)
	if _, err := e.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/app/live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/app/live"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	s := spec("live")
	s.LogGroup = "/app/live"
	s.Period = time.Minute
	s.Threshold = 2
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	put := func(at time.Time, msgs ...string) {
		var evs []logstypes.InputLogEvent
		for i, m := range msgs {
			evs = append(evs, logstypes.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(at.Add(time.Duration(i) * time.Second).UnixMilli())})
		}
		if _, err := e.logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/app/live"), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	put(base.Add(5*time.Second), "ERROR one", "INFO fine", "ERROR two")
	cw := e.srv.Service("monitoring").(*cwemu.Server)
	changes := cw.Evaluate(base.Add(time.Minute))
	if len(changes) != 1 || changes[0].AlarmName != "opsctl-live" || changes[0].To != "ALARM" {
		t.Fatalf("after two ERROR lines: %+v", changes)
	}
	changes = cw.Evaluate(base.Add(3 * time.Minute))
	if len(changes) != 1 || changes[0].To != "OK" {
		t.Fatalf("after a quiet period: %+v", changes)
	}
	var notified []string
	for _, a := range cw.Actions() {
		if a.AlarmName == "opsctl-live" {
			if a.ARN != res.TopicARN {
				t.Errorf("action to %s, want %s", a.ARN, res.TopicARN)
			}
			notified = append(notified, a.State)
		}
	}
	if strings.Join(notified, ",") != "ALARM,OK" {
		t.Errorf("notifications = %v", notified)
	}
}

// dlqAlarms returns the names of the alarms on a queue's
// ApproximateNumberOfMessagesVisible.
func (e *env) dlqAlarms(t *testing.T, queue string) []string {
	t.Helper()
	out, err := e.cw.DescribeAlarmsForMetric(context.Background(), &cloudwatch.DescribeAlarmsForMetricInput{
		Namespace: aws.String("AWS/SQS"), MetricName: aws.String("ApproximateNumberOfMessagesVisible"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(queue)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range out.MetricAlarms {
		names = append(names, aws.ToString(a.AlarmName))
	}
	sort.Strings(names)
	return names
}

// One naming rule for DLQ alarms: the file's `dlq:` and add-dlq both name the
// alarm opsctl-dlq-QUEUE. An alarm an older version made under the file's
// `name:` is replaced (new one written, then the old one deleted), so the
// queue never has two alarms or none, and --prune keeps the new one.
func TestDLQAlarmHasOneNameFromFileAndAddDLQ(t *testing.T) {
	e := newEnv(t, localaws.EmulatorSNS, localaws.EmulatorSQS)
	ctx := context.Background()
	e.queue(t, "orders-dlq", "")
	topic, err := alarms.EnsureTopic(ctx, e.deps, alarms.TopicSpec{Emails: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	// What `apply` of `name: orders-dlq, dlq: orders-dlq` used to create.
	if _, err := alarms.EnsureMetricAlarm(ctx, e.deps, alarms.MetricAlarmSpec{Name: "opsctl-orders-dlq", Kind: alarms.KindDLQ, Component: alarms.ComponentAlarm,
		Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Dimensions: map[string]string{"QueueName": "orders-dlq"},
		Statistic: "Maximum", Period: time.Minute, EvaluationPeriods: 1, Threshold: 0, Comparison: "GreaterThanThreshold", TopicARN: topic.ARN}); err != nil {
		t.Fatal(err)
	}
	f, err := alarms.ParseFile("alarms.yaml", strings.NewReader("emails: [ops@example.com]\nalarms:\n  - name: orders-dlq\n    dlq: orders-dlq\n"))
	if err != nil || f.Specs[0].Name != "dlq-orders-dlq" {
		t.Fatalf("parse: %v %+v", err, f)
	}
	dry, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: f, Prune: true, DryRun: true})
	if err != nil || len(dry.Pruned) != 0 {
		t.Fatalf("dry run: %v pruned %+v", err, dry.Pruned)
	}
	res, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: f, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range res.Alarms[0].Changes {
		if c.Changed() {
			got = append(got, c.Action+":"+c.Name+":"+c.Summary())
		}
	}
	if strings.Join(got, ",") != "create:opsctl-dlq-orders-dlq:,delete:opsctl-orders-dlq:renamed: opsctl-orders-dlq → opsctl-dlq-orders-dlq" || len(res.Pruned) != 0 {
		t.Fatalf("rename changes = %q, pruned %+v", got, res.Pruned)
	}
	if names := e.dlqAlarms(t, "orders-dlq"); strings.Join(names, ",") != "opsctl-dlq-orders-dlq" {
		t.Fatalf("alarms on the queue = %v", names)
	}
	// add-dlq of the same queue, and the file again with --prune: nothing to do.
	e.srv.ResetCalls()
	d, err := alarms.AddDLQ(ctx, e.deps, alarms.DLQOptions{Queues: []string{"orders-dlq"}, Emails: []string{"ops@example.com"}})
	if err != nil || d.Result.Summary != "no changes" || len(e.writes()) != 0 {
		t.Fatalf("add-dlq after apply: %v %q %v", err, d.Result.Summary, e.writes())
	}
	again, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: f, Prune: true})
	if err != nil || again.Summary != "no changes" || len(e.writes()) != 0 {
		t.Fatalf("re-apply: %v %q %v", err, again.Summary, e.writes())
	}
	if names := e.dlqAlarms(t, "orders-dlq"); strings.Join(names, ",") != "opsctl-dlq-orders-dlq" {
		t.Fatalf("alarms on the queue after re-runs = %v", names)
	}
}

// SNS deletes an email subscription nobody confirmed within 48 hours
// (snswrap.ExpireAfter cites AWS). audit reports the address opsctl asked
// and that never confirmed; a re-run of add sends a new request.
func TestAuditReportsExpiredConfirmations(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	e := newEnvClock(t, clk)
	ctx := context.Background()
	e.logGroup(t, "/app/api")
	s := spec("api-errors")
	s.Emails = []string{"ops@example.com", "dev@example.com"}
	if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true}); err != nil {
		t.Fatal(err)
	}
	e.confirm("dev@example.com")
	expired := func() []string {
		t.Helper()
		deps := e.deps
		deps.SQS = nil // no DLQs here
		res, err := alarms.Audit(ctx, deps, alarms.AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range res.Findings {
			if f.Kind == alarms.FindConfirmationExpired {
				out = append(out, f.Resource)
			}
		}
		return out
	}
	clk.Advance(alarms.ConfirmationWindow - time.Minute)
	if got := expired(); len(got) != 0 {
		t.Fatalf("within 48 hours: %v", got)
	}
	clk.Advance(time.Minute)
	if got := expired(); strings.Join(got, ",") != alarms.RecipientTopic("", s.Emails)+":ops@example.com" {
		t.Fatalf("after 48 hours: %v", got)
	}
	// add again: the deleted request is made anew (and recorded), so the
	// finding goes until another 48 hours pass.
	e.srv.ResetCalls()
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
	if err != nil || strings.Join(e.writes(), ",") != "sns:Subscribe,sns:TagResource" {
		t.Fatalf("re-add: %v writes %v", err, e.writes())
	}
	if sub := res.Subscriptions[0]; sub.Email != "ops@example.com" || sub.State != alarms.SubPending || !strings.Contains(sub.Todo, "within 48 hours") {
		t.Fatalf("re-add subscription = %+v", res.Subscriptions)
	}
	if got := expired(); len(got) != 0 {
		t.Fatalf("after a new request: %v", got)
	}
}

// topicEmails lists a topic's email subscriptions as "addr=confirmed|pending".
func (e *env) topicEmails(t *testing.T, topic string) []string {
	t.Helper()
	ctx := context.Background()
	arn := "arn:aws:sns:" + e.srv.Region + ":" + e.srv.Account + ":" + topic
	out, err := e.sns.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("subscriptions of %s: %v", topic, err)
	}
	var got []string
	for _, s := range out.Subscriptions {
		st := "pending"
		if strings.HasPrefix(aws.ToString(s.SubscriptionArn), "arn:") {
			st = "confirmed"
		}
		got = append(got, aws.ToString(s.Endpoint)+"="+st)
	}
	sort.Strings(got)
	return got
}

// Per-alarm emails: each distinct set of recipients gets its own topic, so
// nobody gets the email of an alarm that does not name them.
func TestEachSetOfRecipientsGetsItsOwnTopic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	f, err := alarms.ParseFile("alarms.yaml", strings.NewReader(`emails: [ops@example.com]
alarms:
  - name: api-errors
    log_group: /app/api
    patterns: [ERROR]
  - name: api-fatal
    log_group: /app/api
    patterns: [FATAL]
    emails: [oncall@example.com]
  - name: api-timeouts
    log_group: /app/api
    patterns: ['"Task timed out"']
    emails: [ONCALL@example.com]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alarms.Apply(ctx, e.deps, alarms.ApplyOptions{File: f}); err != nil {
		t.Fatal(err)
	}
	oncall := alarms.RecipientTopic("", []string{"oncall@example.com"})
	if got := e.topicEmails(t, opsTopic); strings.Join(got, ",") != "ops@example.com=pending" {
		t.Errorf("topic of api-errors emails %v", got)
	}
	if got := e.topicEmails(t, oncall); len(got) != 1 || !strings.HasPrefix(strings.ToLower(got[0]), "oncall@example.com=") {
		t.Errorf("topic of api-fatal and api-timeouts emails %v", got)
	}
	al, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"opsctl-api-errors", "opsctl-api-fatal", "opsctl-api-timeouts"}})
	if err != nil || len(al.MetricAlarms) != 3 {
		t.Fatalf("alarms: %v %+v", err, al)
	}
	for _, a := range al.MetricAlarms {
		want := oncall
		if aws.ToString(a.AlarmName) == "opsctl-api-errors" {
			want = opsTopic
		}
		if len(a.AlarmActions) != 1 || !strings.HasSuffix(a.AlarmActions[0], ":"+want) {
			t.Errorf("%s notifies %v, want topic %s", aws.ToString(a.AlarmName), a.AlarmActions, want)
		}
	}
}

// add makes its addresses the topic's whole list: a confirmed subscription
// of an address no longer listed is removed; a pending one cannot be (SNS
// lists it without an ARN) and is reported with what to do. Moving to another
// topic deletes the old one when opsctl created it and nothing uses it.
func TestAddKeepsOnlyTheListedRecipientsAndCleansUpTheOldTopic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", appLines...)
	add := func(topic string, emails ...string) alarms.AlarmResult {
		t.Helper()
		s := spec("api-errors")
		s.Topic, s.Emails = topic, emails
		e.srv.ResetCalls()
		res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	add("team", "ops@example.com", "dev@example.com", "new@example.com")
	e.confirm("ops@example.com")
	e.confirm("dev@example.com")
	res := add("team", "ops@example.com")
	if got := strings.Join(e.writes(), ","); got != "sns:Unsubscribe" {
		t.Fatalf("writes = %s, want only the confirmed unlisted address unsubscribed", got)
	}
	states := map[string]alarms.Subscription{}
	for _, s := range res.Subscriptions {
		states[s.Email] = s
	}
	if states["dev@example.com"].State != alarms.SubRemoved || states["new@example.com"].State != alarms.SubUnlisted ||
		!strings.Contains(states["new@example.com"].Todo, "cannot remove a pending subscription") {
		t.Fatalf("subscriptions = %+v", res.Subscriptions)
	}
	if got := e.topicEmails(t, "team"); strings.Join(got, ",") != "new@example.com=pending,ops@example.com=confirmed" {
		t.Fatalf("topic emails %v", got)
	}
	// Same again: nothing to write; the pending one is still reported.
	res = add("team", "ops@example.com")
	if len(e.writes()) != 0 || res.Summary != "no changes" {
		t.Fatalf("repeat: writes %v, %q", e.writes(), res.Summary)
	}
	// --topic changes: the alarm moves, then the old topic (opsctl's, unused) goes.
	add("team-2", "ops@example.com")
	if got := strings.Join(e.writes(), ","); got != "sns:CreateTopic,sns:SetTopicAttributes,sns:Subscribe,sns:TagResource,monitoring:PutMetricAlarm,sns:DeleteTopic" {
		t.Fatalf("move writes = %s", got)
	}
	topics, _ := e.sns.ListTopics(ctx, &sns.ListTopicsInput{})
	if len(topics.Topics) != 1 || !strings.HasSuffix(aws.ToString(topics.Topics[0].TopicArn), ":team-2") {
		t.Fatalf("topics after the move = %+v", topics.Topics)
	}
}

// --log-lines end to end: the scheduled query opsctl puts in the log alarm,
// run by the Logs emulation over the group's events, matches exactly the
// lines the filter pattern matches (FilterLogEvents, the pattern semantics).
func TestLogLinesQueryMatchesWhatThePatternMatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api", append(appLines, "ERROR db timeout after 3 retries", "error lower case")...)
	for i, patterns := range [][]string{
		{"ERROR -DEBUG"},
		{`?FATAL ?"Task timed out"`},
		{`%ERROR\s[a-z]+%`},
		{"ERROR", "FATAL"},
		{`"db" timeout`},
	} {
		s := spec(fmt.Sprintf("lines-%d", i))
		s.Patterns, s.LogLines = patterns, 5
		if _, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: s, NoPreview: true}); err != nil {
			t.Fatalf("%v: %v", patterns, err)
		}
		al, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarms.AlarmName(s.Name)}, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeLogAlarm}})
		if err != nil || len(al.LogAlarms) != 1 || al.LogAlarms[0].ScheduledQueryConfiguration == nil {
			t.Fatalf("%v: log alarm %+v %v", patterns, al, err)
		}
		q := aws.ToString(al.LogAlarms[0].ScheduledQueryConfiguration.QueryString)
		out, err := e.logs.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/app/api"), QueryString: aws.String(q),
			StartTime: aws.Int64(time.Now().Add(-2 * time.Hour).Unix()), EndTime: aws.Int64(time.Now().Unix())})
		if err != nil {
			t.Fatalf("%v: StartQuery(%q): %v", patterns, q, err)
		}
		var res *cloudwatchlogs.GetQueryResultsOutput
		for res == nil || res.Status != logstypes.QueryStatusComplete {
			time.Sleep(100 * time.Millisecond) // the endpoint's real clock: Complete after 0.5s
			if res, err = e.logs.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: out.QueryId}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, row := range res.Results {
			for _, f := range row {
				if aws.ToString(f.Field) == "@message" {
					got = append(got, aws.ToString(f.Value))
				}
			}
		}
		want := map[string]bool{}
		for _, p := range patterns {
			fl, err := e.logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), FilterPattern: aws.String(p)})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range fl.Events {
				want[aws.ToString(ev.Message)] = true
			}
		}
		var wantList []string
		for m := range want {
			wantList = append(wantList, m)
		}
		sort.Strings(got)
		sort.Strings(wantList)
		if len(got) == 0 || strings.Join(got, "\n") != strings.Join(wantList, "\n") {
			t.Errorf("%v: query %q matched\n%q\nthe pattern matches\n%q", patterns, q, got, wantList)
		}
	}
}

// audit reports topic policy statements that let others publish: anyone, another
// account, or a service principal without a source condition. opsctl's own
// statements and SNS's default (scoped by AWS:SourceOwner) are not findings.
func TestAuditReportsTopicPoliciesThatLetOthersPublish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.logGroup(t, "/app/api")
	res, err := alarms.Add(ctx, e.deps, alarms.AddOptions{Spec: spec("api-errors"), NoPreview: true})
	if err != nil {
		t.Fatal(err)
	}
	e.confirm("ops@example.com")
	open := func() []string {
		t.Helper()
		deps := e.deps
		deps.SQS = nil
		a, err := alarms.Audit(ctx, deps, alarms.AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range a.Findings {
			if f.Kind == alarms.FindTopicOpenToPublish {
				out = append(out, f.Detail)
			}
		}
		return out
	}
	if got := open(); len(got) != 0 {
		t.Fatalf("opsctl's own policy: %v", got)
	}
	attrs, err := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(res.TopicARN)})
	if err != nil {
		t.Fatal(err)
	}
	acct := e.srv.Account
	extra := `[
	  {"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Publish","SNS:Subscribe"],"Resource":"` + res.TopicARN + `","Condition":{"StringEquals":{"AWS:SourceOwner":"` + acct + `"}}},
	  {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"` + res.TopicARN + `"},
	  {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"SNS:*","Resource":"` + res.TopicARN + `"},
	  {"Sid":"Events","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"` + res.TopicARN + `"},
	  {"Sid":"ReadOnly","Effect":"Allow","Principal":"*","Action":"sns:GetTopicAttributes","Resource":"` + res.TopicARN + `"}]`
	pol := strings.Replace(attrs.Attributes["Policy"], `"Statement": [`, `"Statement": `+extra[:len(extra)-1]+",", 1)
	if _, err := e.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(res.TopicARN), AttributeName: aws.String("Policy"), AttributeValue: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	got := open()
	sort.Strings(got)
	want := []string{
		"statement Events lets events.amazonaws.com publish for any account (no aws:SourceAccount or aws:SourceArn condition)",
		"statement Partner lets arn:aws:iam::999988887777:root (another account) publish",
		"statement Public lets anyone (Principal *) publish",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
