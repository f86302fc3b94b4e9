package logsemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// rows renders GetQueryResults rows as "field=value;..." lines.
func rows(res [][]types.ResultField) []string {
	var out []string
	for _, r := range res {
		var parts []string
		for _, f := range r {
			if aws.ToString(f.Field) == "@ptr" {
				continue
			}
			parts = append(parts, aws.ToString(f.Field)+"="+aws.ToString(f.Value))
		}
		out = append(out, strings.Join(parts, ";"))
	}
	return out
}

// Logs Insights queries run over the stored events and move through
// Scheduled → Running → Complete on the endpoint clock (botocore logs
// service-2.json QueryStatus, GetQueryResults); results are rows of
// {field, value} with @ptr, as AWS returns them.
func TestInsightsQueriesRunOverStoredEvents(t *testing.T) {
	start := time.Now().Truncate(time.Hour).Add(-30 * time.Minute)
	clk := clock.NewFake(time.Now())
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	c := cwl.NewFromConfig(localawstest.Config(srv, 1))
	ctx := context.Background()
	mkGroup(t, c, "/app/api", "a", "b")
	put(t, c, "/app/api", "a", start, "INFO ok", "ERROR payment failed", "DEBUG ERROR retry")
	put(t, c, "/app/api", "b", start.Add(6*time.Minute), "FATAL out of memory", `ERROR "quoted" id=7`, "Task timed out after 3.00 seconds")
	run := func(q string) (*cwl.GetQueryResultsOutput, string) {
		t.Helper()
		out, err := c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("/app/api"), QueryString: aws.String(q),
			StartTime: aws.Int64(start.Add(-time.Hour).Unix()), EndTime: aws.Int64(start.Add(time.Hour).Unix())})
		if err != nil {
			t.Fatalf("StartQuery(%q): %v", q, err)
		}
		var seen []string
		for i := 0; i < 5; i++ {
			res, err := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: out.QueryId})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, string(res.Status))
			if res.Status == types.QueryStatusComplete {
				return res, strings.Join(seen, "→")
			}
			if len(res.Results) != 0 {
				t.Fatalf("%s query returned results", res.Status)
			}
			clk.Advance(250 * time.Millisecond)
		}
		t.Fatalf("query never completed: %v", seen)
		return nil, ""
	}
	tests := []struct {
		query string
		want  []string
	}{
		// opsctl's --log-lines query shapes (alarms.insightsQuery).
		{"fields @message\n| filter @message like \"ERROR\" and not (@message like \"DEBUG\")\n| sort @timestamp desc",
			[]string{`@message=ERROR "quoted" id=7`, "@message=ERROR payment failed"}},
		{"fields @message\n| filter (@message like \"ERROR\") or (@message like \"FATAL\")\n| sort @timestamp asc",
			[]string{"@message=ERROR payment failed", "@message=DEBUG ERROR retry", "@message=FATAL out of memory", `@message=ERROR "quoted" id=7`}},
		{`fields @message | filter @message like /timed\/? out/`, []string{"@message=Task timed out after 3.00 seconds"}},
		{`fields @message | filter @message =~ /^(FATAL|INFO)/ | sort @timestamp asc`, []string{"@message=INFO ok", "@message=FATAL out of memory"}},
		{`fields @message | filter @message like "\"quoted\""`, []string{`@message=ERROR "quoted" id=7`}},
		{`fields @message | filter @message not like "ERROR" and @logStream = "a"`, []string{"@message=INFO ok"}},
		{`fields @logStream, @message | filter @message like "ERROR" | sort @timestamp asc | limit 1`, []string{"@logStream=a;@message=ERROR payment failed"}},
		{`filter @message like "ERROR" | stats count(*)`, []string{"count(*)=3"}},
		{`filter @message like "ERROR" | stats count(*) as errors by bin(5m)`, []string{
			"bin(5m)=" + start.UTC().Format("2006-01-02 15:04:05.000") + ";errors=2",
			"bin(5m)=" + start.Add(5*time.Minute).UTC().Format("2006-01-02 15:04:05.000") + ";errors=1"}},
	}
	for _, tc := range tests {
		res, seen := run(tc.query)
		if seen != "Scheduled→Running→Running→Complete" && seen != "Scheduled→Running→Complete" {
			t.Errorf("%q: statuses %s", tc.query, seen)
		}
		if got := rows(res.Results); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%q:\n got %q\nwant %q", tc.query, got, tc.want)
		}
		if res.Statistics == nil || res.Statistics.RecordsScanned != 6 {
			t.Errorf("%q: statistics %+v", tc.query, res.Statistics)
		}
		for _, r := range res.Results {
			if strings.Contains(tc.query, "stats") {
				break // aggregated rows have no @ptr
			}
			if last := r[len(r)-1]; aws.ToString(last.Field) != "@ptr" || aws.ToString(last.Value) == "" {
				t.Errorf("%q: row without @ptr: %v", tc.query, rows([][]types.ResultField{r}))
			}
		}
	}
}

func TestInsightsQueryErrorsAndStop(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	c := cwl.NewFromConfig(localawstest.Config(srv, 1))
	ctx := context.Background()
	mkGroup(t, c, "/app/api", "a")
	in := func(q string) *cwl.StartQueryInput {
		return &cwl.StartQueryInput{LogGroupName: aws.String("/app/api"), QueryString: aws.String(q), StartTime: aws.Int64(0), EndTime: aws.Int64(time.Now().Unix())}
	}
	// botocore logs service-2.json StartQuery errors: MalformedQueryException
	// (with queryCompileError), ResourceNotFoundException, InvalidParameterException.
	var mq *types.MalformedQueryException
	for _, q := range []string{`filter @message like`, `fields @message | frobnicate`, `filter @message like /[/`, `stats sum(x)`} {
		if _, err := c.StartQuery(ctx, in(q)); !errors.As(err, &mq) || mq.QueryCompileError == nil {
			t.Errorf("%q: %v, want MalformedQueryException with queryCompileError", q, err)
		}
	}
	var nf *types.ResourceNotFoundException
	missing := in("fields @message")
	missing.LogGroupName = aws.String("/nope")
	if _, err := c.StartQuery(ctx, missing); !errors.As(err, &nf) {
		t.Errorf("missing group: %v", err)
	}
	var ip *types.InvalidParameterException
	both := in("fields @message")
	both.LogGroupNames = []string{"/app/api"}
	if _, err := c.StartQuery(ctx, both); !errors.As(err, &ip) {
		t.Errorf("logGroupName and logGroupNames: %v", err)
	}
	backwards := in("fields @message")
	backwards.StartTime, backwards.EndTime = aws.Int64(100), aws.Int64(10)
	if _, err := c.StartQuery(ctx, backwards); !errors.As(err, &ip) {
		t.Errorf("end before start: %v", err)
	}
	if _, err := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: aws.String("nope")}); !errors.As(err, &nf) {
		t.Errorf("unknown query: %v", err)
	}
	// StopQuery cancels a running query; a finished one is "not running".
	q1, err := c.StartQuery(ctx, in("fields @message"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.StopQuery(ctx, &cwl.StopQueryInput{QueryId: q1.QueryId}); err != nil || !out.Success {
		t.Fatalf("stop: %v %v", out, err)
	}
	if res, _ := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: q1.QueryId}); res == nil || res.Status != types.QueryStatusCancelled {
		t.Errorf("stopped query status %v", res)
	}
	q2, _ := c.StartQuery(ctx, in("fields @message"))
	clk.Advance(time.Second)
	if _, err := c.StopQuery(ctx, &cwl.StopQueryInput{QueryId: q2.QueryId}); !errors.As(err, &ip) {
		t.Errorf("stop of a complete query: %v", err)
	}
}
