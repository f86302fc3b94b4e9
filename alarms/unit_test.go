package alarms

import (
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if strings.TrimSuffix(string(want), "\n") != got {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func TestGeneratedPolicyDocuments(t *testing.T) {
	golden(t, "topic-policy", TopicPolicy("arn:aws:sns:eu-west-1:123456789012:opsctl-alarms", "123456789012", "aws", "eu-west-1"))
	golden(t, "query-role-trust", QueryRoleTrustPolicy("aws", "eu-west-1", "123456789012", "opsctl-api-lines"))
	golden(t, "query-role-policy", QueryRolePolicy("aws", "eu-west-1", "123456789012", "/aws/lambda/api"))
}

// The query role grants queries on one log group only, and nothing that writes.
func TestQueryRolePolicyIsLeastPrivilege(t *testing.T) {
	doc := QueryRolePolicy("aws", "eu-west-1", "123456789012", "/aws/lambda/api")
	for _, banned := range []string{`"logs:*"`, "Put", "Delete", "Create", `"Resource": "arn:aws:logs:eu-west-1:123456789012:*"`} {
		if strings.Contains(doc, banned) {
			t.Errorf("policy contains %s:\n%s", banned, doc)
		}
	}
	if !strings.Contains(doc, "log-group:/aws/lambda/api:*") {
		t.Errorf("policy does not scope to the log group:\n%s", doc)
	}
	trust := QueryRoleTrustPolicy("aws", "eu-west-1", "123456789012", "opsctl-api-lines")
	if !strings.Contains(trust, `"aws:SourceAccount": "123456789012"`) || !strings.Contains(trust, `"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:opsctl-api-lines"`) {
		t.Errorf("trust policy does not name the account and the alarm:\n%s", trust)
	}
}

func TestSpecValidation(t *testing.T) {
	base := func() Spec {
		return Spec{Name: "api-errors", LogGroup: "/aws/lambda/api", Patterns: []string{"ERROR"}, Emails: []string{"ops@example.com"}}
	}
	tests := map[string]struct {
		mutate func(*Spec)
		want   string // substring of the error; "" = valid
	}{
		"valid term":           {func(s *Spec) {}, ""},
		"valid phrase":         {func(s *Spec) { s.Patterns = []string{`"Task timed out"`} }, ""},
		"valid exclusion":      {func(s *Spec) { s.Patterns = []string{`ERROR -DEBUG`} }, ""},
		"valid alternatives":   {func(s *Spec) { s.Patterns = []string{`?ERROR ?FATAL`} }, ""},
		"valid json":           {func(s *Spec) { s.Patterns = []string{`{ $.level = "error" }`} }, ""},
		"valid regex":          {func(s *Spec) { s.Patterns = []string{`%ERROR\s[0-9]+%`} }, ""},
		"unquoted punctuation": {func(s *Spec) { s.Patterns = []string{`ERROR!`} }, "must be in double quotes"},
		"unbalanced json":      {func(s *Spec) { s.Patterns = []string{`{ $.level = "error"`} }, "invalid --pattern"},
		"empty pattern":        {func(s *Spec) { s.Patterns = []string{"  "} }, "empty --pattern"},
		"no pattern":           {func(s *Spec) { s.Patterns = nil }, "at least one --pattern"},
		"bad name":             {func(s *Spec) { s.Name = "api errors" }, "invalid alarm name"},
		"long name":            {func(s *Spec) { s.Name = strings.Repeat("a", 49) }, "at most 48"},
		"bad email":            {func(s *Spec) { s.Emails = []string{"ops@"} }, "invalid email"},
		"display-name email":   {func(s *Spec) { s.Emails = []string{"Ops <ops@example.com>"} }, "invalid email"},
		"bad log group":        {func(s *Spec) { s.LogGroup = "a b" }, "invalid log group"},
		"bad period":           {func(s *Spec) { s.Period = 45 * time.Second }, "10s, 20s, 30s or a multiple of 1m"},
		"negative threshold":   {func(s *Spec) { s.Threshold = -1 }, "cannot be negative"},
		// botocore cloudwatch service-2.json PutMetricAlarm.Period: valid values
		// are 10, 20, 30 and multiples of 60; Period × EvaluationPeriods at most
		// 86,400 s for periods under 3,600 s, at most 604,800 s otherwise.
		"20s period":                          {func(s *Spec) { s.Period = 20 * time.Second }, ""},
		"one day of 59m periods":              {func(s *Spec) { s.Period = 59 * time.Minute; s.EvaluationPeriods = 24 }, ""},
		"over one day of 59m periods":         {func(s *Spec) { s.Period = 59 * time.Minute; s.EvaluationPeriods = 25 }, "1 day for periods under 1h"},
		"exactly one day of 10s":              {func(s *Spec) { s.Period = 10 * time.Second; s.EvaluationPeriods = 8640 }, ""},
		"one day and 10s of 10s":              {func(s *Spec) { s.Period = 10 * time.Second; s.EvaluationPeriods = 8641 }, "at most 8640 periods"},
		"seven days of 1h periods":            {func(s *Spec) { s.Period = time.Hour; s.EvaluationPeriods = 168 }, ""},
		"over seven days of 1h":               {func(s *Spec) { s.Period = time.Hour; s.EvaluationPeriods = 169 }, "limit of 7 days"},
		"period alone over seven days":        {func(s *Spec) { s.Period = 169 * time.Hour }, "at most 168h"},
		"evaluation periods overflow":         {func(s *Spec) { s.EvaluationPeriods = math.MaxInt64 }, "--evaluation-periods"},
		"evaluation periods overflow with 1h": {func(s *Spec) { s.Period = time.Hour; s.EvaluationPeriods = math.MaxInt64/int(time.Hour) + 2 }, "--evaluation-periods"},
		"NaN threshold":                       {func(s *Spec) { s.Threshold = math.NaN() }, "finite"},
		"Inf threshold":                       {func(s *Spec) { s.Threshold = math.Inf(1) }, "finite"},
		"-Inf threshold":                      {func(s *Spec) { s.Threshold = math.Inf(-1) }, "finite"},
		// RFC 5321 4.5.3.1: local part ≤ 64, domain ≤ 255, path ≤ 256 octets.
		"64-character local part": {func(s *Spec) { s.Emails = []string{strings.Repeat("a", 64) + "@example.com"} }, ""},
		"65-character local part": {func(s *Spec) { s.Emails = []string{strings.Repeat("a", 65) + "@example.com"} }, "at most 64"},
		"255-character address": {func(s *Spec) {
			s.Emails = []string{"a@" + strings.Repeat(strings.Repeat("b", 60)+".", 4) + "example.com"}
		}, "at most 254"},
		"64-character domain label": {func(s *Spec) { s.Emails = []string{"a@" + strings.Repeat("b", 64) + ".com"} }, "domain label"},
		"non-ASCII address":         {func(s *Spec) { s.Emails = []string{"jörg@example.com"} }, "printable ASCII"},
		"too many log lines":        {func(s *Spec) { s.LogLines = 51 }, "--log-lines"},
		"json with log lines":       {func(s *Spec) { s.LogLines = 5; s.Patterns = []string{`{ $.a = 1 }`} }, "drop --log-lines"},
		"log lines short period":    {func(s *Spec) { s.LogLines = 5; s.Period = 30 * time.Second }, "at least 1m"},
		"bad topic":                 {func(s *Spec) { s.Topic = "a.b" }, "invalid topic"},
		"too many regexes":          {func(s *Spec) { s.Patterns = []string{"%a%", "%b%", "%c%", "%d%", "%e%", "%f%"} }, "at most 5"},
		"comma separated emails":    {func(s *Spec) { s.Emails = []string{"a@example.com,b@example.com"} }, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := base()
			tc.mutate(&s)
			s.Normalize()
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var u *opserr.UsageError
			if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want usage error containing %q", err, tc.want)
			}
		})
	}
}

func TestInsightsQueryKeepsPatternMeaning(t *testing.T) {
	tests := map[string]string{
		`ERROR`:             `| filter @message like "ERROR"`,
		`ERROR -DEBUG`:      `| filter @message like "ERROR" and not (@message like "DEBUG")`,
		`?ERROR ?FATAL`:     `| filter (@message like "ERROR") or (@message like "FATAL")`,
		`"Task timed out"`:  `| filter @message like "Task timed out"`,
		`%ERROR\s[0-9]+/x%`: `| filter @message like /ERROR\s[0-9]+\/x/`,
		`" "`:               "fields @timestamp, @message, @logStream\n| sort @timestamp desc",
		`"say \"hi\""`:      `| filter @message like "say \"hi\""`,
	}
	for pattern, want := range tests {
		q, err := insightsQuery([]string{pattern})
		if err != nil || !strings.Contains(q, want) {
			t.Errorf("insightsQuery(%q) = %q, %v; want it to contain %q", pattern, q, err, want)
		}
	}
	q, err := insightsQuery([]string{"ERROR", "FATAL"})
	if err != nil || !strings.Contains(q, `(@message like "ERROR") or (@message like "FATAL")`) {
		t.Errorf("two patterns = %q, %v", q, err)
	}
}

func TestParseFileErrorsNameTheLine(t *testing.T) {
	const head = "emails: [a@example.com]\nalarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n"
	tests := map[string]struct {
		yaml string
		want string
	}{
		"unknown field": {"alarms:\n  - name: a\n    log_group: /g\n    patern: ERROR\n", "line 4: field patern not found"},
		"bad pattern":   {"emails: [a@example.com]\nalarms:\n  - name: a\n    log_group: /g\n    patterns:\n      - 'ERROR!'\n", "alarms.yaml:6:"},
		"duplicate":     {"emails: [a@example.com]\nalarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n  - name: a\n    log_group: /g\n    patterns: [E]\n", "alarms.yaml:6: alarm \"a\" is declared twice (first on line 3)"},
		"bad period":    {"emails: [a@example.com]\nalarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n    period: 5 minutes\n", "alarms.yaml:6:"},
		"no emails":     {"alarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n", "alarms.yaml:2: alarm \"a\": no emails"},
		"dlq and group": {"emails: [a@example.com]\nalarms:\n  - name: a\n    log_group: /g\n    dlq: q\n", "alarms.yaml:5:"},
		"empty":         {"", "the file is empty"},
		"no alarms":     {"topic: t\n", "no alarms"},
		"wrong type":    {"alarms:\n  - name: a\n    threshold: lots\n", "line 3"},
		"bad email":     {"emails: [nope]\nalarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n", "invalid email"},
		// The same limits as the flags, with the line of the field.
		"threshold .nan":          {head + "    threshold: .nan\n", "alarms.yaml:6: alarm \"a\": invalid --threshold NaN: must be a finite number"},
		"threshold .inf":          {head + "    threshold: .inf\n", "alarms.yaml:6: alarm \"a\": invalid --threshold +Inf"},
		"threshold 0":             {head + "    threshold: 0\n", "alarms.yaml:6: alarm \"a\": threshold 0"},
		"period 0":                {head + "    period: 0s\n", "alarms.yaml:6: alarm \"a\": invalid --period 0s: must be positive"},
		"evaluation_periods 0":    {head + "    evaluation_periods: 0\n", "alarms.yaml:6: alarm \"a\": evaluation_periods 0: at least 1"},
		"over one day":            {head + "    period: 5m\n    evaluation_periods: 289\n", "alarms.yaml:7:"},
		"overflowing periods":     {head + "    evaluation_periods: 9223372036854775807\n", "alarms.yaml:6:"},
		"dlq is an SNS topic ARN": {"emails: [a@example.com]\nalarms:\n  - name: a\n    dlq: arn:aws:sns:eu-west-1:123456789012:orders\n", "alarms.yaml:4: \"arn:aws:sns:eu-west-1:123456789012:orders\" is an SNS topic, not an SQS queue"},
		"one topic, two sets":     {"topic: team\nemails: [a@example.com]\nalarms:\n  - name: a\n    log_group: /g\n    patterns: [E]\n  - name: b\n    log_group: /g\n    patterns: [E]\n    emails: [b@example.com]\n    topic: team\n", "alarms.yaml:7: alarm \"b\": topic team also emails the alarm of line 4, with other addresses"},
		"dlq is a bare scheme":    {"emails: [a@example.com]\nalarms:\n  - name: a\n    dlq: https://\n", "alarms.yaml:4: invalid queue URL \"https://\": no host"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFile("alarms.yaml", strings.NewReader(tc.yaml))
			var u *opserr.UsageError
			if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want usage error containing %q", err, tc.want)
			}
		})
	}
	f, err := ParseFile("alarms.yaml", strings.NewReader(`topic: team
emails: [ops@example.com]
alarms:
  - name: api-errors
    log_group: /aws/lambda/api
    patterns: [ERROR, '"Task timed out"']
    period: 10m
  - name: api-lines
    log_group: /aws/lambda/api
    patterns: [ERROR]
    log_lines: 10
    emails: [dev@example.com]
  - name: orders
    dlq: orders-dlq
    topic: other
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Specs) != 3 || f.Specs[0].Kind != KindLogPattern || f.Specs[0].Period != 10*time.Minute || f.Specs[0].Topic != "team" ||
		f.Specs[1].Kind != KindLogAlarm || f.Specs[1].Emails[0] != "dev@example.com" || f.Specs[2].Kind != KindDLQ ||
		f.Specs[2].Topic != "other" || f.Specs[2].Period != time.Minute || f.Specs[0].Threshold != 1 {
		t.Fatalf("specs = %+v", f.Specs)
	}
}

func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		"alarms:\n  - name: a\n    log_group: /g\n    patterns: [ERROR]\n    emails: [a@example.com]\n",
		"topic: t\nemails: [a@example.com]\nalarms:\n  - name: q\n    dlq: q\n",
		"alarms: [{name: x, log_group: /g, patterns: ['{ $.a = 1 }'], log_lines: 3, emails: [a@b.co]}]",
		"alarms:\n  - name: a\n    period: 1h\n",
		"{", "- - -", "alarms: 3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		file, err := ParseFile("f.yaml", strings.NewReader(s))
		if err != nil {
			var u *opserr.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("non-usage error %T: %v", err, err)
			}
			return
		}
		for _, sp := range file.Specs {
			if err := sp.Validate(); err != nil {
				t.Fatalf("ParseFile accepted an invalid spec %+v: %v", sp, err)
			}
		}
	})
}

func TestDLQAlarmNameFitsLimits(t *testing.T) {
	for _, q := range []string{"orders-dlq", "orders-dlq.fifo", strings.Repeat("q", 80), strings.Repeat("q", 75) + ".fifo"} {
		n := DLQAlarmName(q)
		if err := validateName(n); err != nil {
			t.Errorf("DLQAlarmName(%q) = %q: %v", q, n, err)
		}
	}
	if DLQAlarmName(strings.Repeat("q", 80)) == DLQAlarmName(strings.Repeat("q", 79)) {
		t.Error("long queue names collide")
	}
}

func TestMergeTopicPolicyKeepsOtherGrants(t *testing.T) {
	ours := TopicPolicy("arn:aws:sns:eu-west-1:1:t", "1", "aws", "eu-west-1")
	team := `{"Version":"2012-10-17","Id":"team","Statement":[{"Sid":"EventsPublish","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"arn:aws:sns:eu-west-1:1:t"},
	{"Sid":"CloudWatchAlarmsOfThisAccountPublish","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}]}`
	merged := MergeTopicPolicy(team, ours)
	var doc struct {
		ID        string `json:"Id"`
		Statement []struct{ Sid string }
	}
	if err := jsonUnmarshal(merged, &doc); err != nil {
		t.Fatal(err)
	}
	var sids []string
	for _, s := range doc.Statement {
		sids = append(sids, s.Sid)
	}
	if doc.ID != "team" || strings.Join(sids, ",") != "EventsPublish,AccountOwnerManage,CloudWatchAlarmsOfThisAccountPublish,DenyInsecureTransport" {
		t.Fatalf("merged statements = %v (id %q)", sids, doc.ID)
	}
	if strings.Contains(merged, `"Resource": "*"`) {
		t.Errorf("the old version of opsctl's statement survived:\n%s", merged)
	}
	if canonicalJSON(MergeTopicPolicy(merged, ours)) != canonicalJSON(merged) {
		t.Error("merging twice changes the policy: a re-run would write again")
	}
	for _, cur := range []string{"", "not json", `{"Statement":[]}`} {
		if MergeTopicPolicy(cur, ours) != ours {
			t.Errorf("MergeTopicPolicy(%q) is not opsctl's policy", cur)
		}
	}
}

// After a failed write the later ones are skipped (they depend on it); a dry
// run writes nothing; unchanged steps never call anything.
func TestExecuteStopsAtTheFirstFailure(t *testing.T) {
	var calls []string
	mk := func(name string, fail bool) plan.Step {
		return plan.Create(ResMetricAlarm, name, func(ctx context.Context) error {
			calls = append(calls, name)
			if fail {
				return errors.New(name + " throttled")
			}
			return nil
		})
	}
	steps := []plan.Step{mk("a", false), plan.Unchanged(ResTopic, "t"), mk("b", true), mk("c", false)}
	changes, err := Deps{}.execute(context.Background(), steps, false, nil)
	if err == nil || err.Error() != "b throttled" || strings.Join(calls, ",") != "a,b" {
		t.Fatalf("err %v calls %v", err, calls)
	}
	var st []string
	for _, c := range changes {
		st = append(st, c.Status)
	}
	if strings.Join(st, ",") != "applied,unchanged,failed,skipped" || changes[2].Error != "b throttled" {
		t.Fatalf("statuses %v", st)
	}
	if f := failure(changes, err); opserr.ExitCode(f) != opserr.ExitPartial {
		t.Errorf("partial failure exit = %d", opserr.ExitCode(f))
	}
	calls = nil
	changes, err = Deps{}.execute(context.Background(), steps, true, nil)
	if err != nil || len(calls) != 0 || changes[0].Status != plan.StatusPlanned || changes[1].Status != plan.StatusUnchanged {
		t.Fatalf("dry run: %v %v %+v", err, calls, changes)
	}
	if s := summarize(changes, true, nil); s != "3 changes planned (dry run: nothing written)" {
		t.Errorf("summary %q", s)
	}
	blocked := errors.New("topic failed")
	changes, err = Deps{}.execute(context.Background(), steps[:1], false, blocked)
	if !errors.Is(err, blocked) || changes[0].Status != plan.StatusSkipped {
		t.Fatalf("blocked: %v %+v", err, changes)
	}
}

// add-dlq takes an SQS queue's name, URL or ARN and says what anything else is.
// Shapes: SQS dev guide "Amazon SQS queue and message identifiers" (queue URL
// https://sqs.REGION.amazonaws.com/ACCOUNT/NAME); ARN format from the IAM user
// guide ("arn:partition:service:region:account-id:resource").
func TestParseQueueRef(t *testing.T) {
	tests := map[string]struct {
		ref  string
		want queueRef
		err  string
	}{
		"name":               {ref: "orders-dlq", want: queueRef{Name: "orders-dlq"}},
		"fifo name":          {ref: "orders-dlq.fifo", want: queueRef{Name: "orders-dlq.fifo"}},
		"url":                {ref: "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq", want: queueRef{Name: "orders-dlq", Account: "123456789012", Region: "eu-west-1"}},
		"legacy url":         {ref: "https://eu-west-1.queue.amazonaws.com/123456789012/orders-dlq", want: queueRef{Name: "orders-dlq", Account: "123456789012", Region: "eu-west-1"}},
		"local endpoint url": {ref: "http://127.0.0.1:4566/000000000000/orders-dlq", want: queueRef{Name: "orders-dlq", Account: "000000000000"}},
		"arn":                {ref: "arn:aws:sqs:eu-west-1:123456789012:orders-dlq", want: queueRef{Name: "orders-dlq", Account: "123456789012", Region: "eu-west-1"}},
		"sns topic arn":      {ref: "arn:aws:sns:eu-west-1:123456789012:alerts", err: "is an SNS topic, not an SQS queue"},
		"lambda arn":         {ref: "arn:aws:lambda:eu-west-1:123456789012:function:f", err: "is a lambda resource, not an SQS queue"},
		"truncated arn":      {ref: "arn:aws:sqs", err: "invalid queue ARN"},
		"arn without region": {ref: "arn:aws:sqs::123456789012:q", err: "region and account are required"},
		"bare scheme":        {ref: "https://", err: `invalid queue URL "https://": no host`},
		"url without name":   {ref: "https://sqs.eu-west-1.amazonaws.com/123456789012", err: "the path must be /ACCOUNT/NAME"},
		"sns url":            {ref: "https://sns.eu-west-1.amazonaws.com/123456789012/alerts", err: "is not an SQS queue URL"},
		"ftp url":            {ref: "ftp://sqs.eu-west-1.amazonaws.com/1/q", err: "invalid queue URL"},
		"81-character name":  {ref: strings.Repeat("q", 81), err: "1-80"},
		"76 + .fifo":         {ref: strings.Repeat("q", 76) + ".fifo", err: "1-80"},
		"path-like name":     {ref: "queues/orders", err: "want a queue name, a queue URL"},
		"empty":              {ref: "", err: "empty queue"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseQueueRef(tc.ref)
			if tc.err != "" {
				var u *opserr.UsageError
				if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseQueueRef(%q) = %+v, %v; want usage error containing %q", tc.ref, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseQueueRef(%q) = %+v, %v; want %+v", tc.ref, got, err, tc.want)
			}
		})
	}
}
