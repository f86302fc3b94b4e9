package logsemu_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/cwemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/localaws/logsemu"
)

// The CloudWatch emulation's RecordMetric plugs straight into MetricSink.
var _ logsemu.MetricSink = (*cwemu.Server)(nil).RecordMetric

func start(t *testing.T) (*localaws.Server, *cwl.Client, *logsemu.Server) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{})
	emu, ok := srv.Service("logs").(*logsemu.Server)
	if !ok {
		t.Fatalf("the endpoint serves %T for \"logs\", want *logsemu.Server", srv.Service("logs"))
	}
	return srv, cwl.NewFromConfig(localawstest.Config(srv, 1)), emu
}

func mkGroup(t *testing.T, c *cwl.Client, name string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	emutest.Must(c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(name)}))
	for _, s := range streams {
		emutest.Must(c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(name), LogStreamName: aws.String(s)}))
	}
}

func put(t *testing.T, c *cwl.Client, group, stream string, ts time.Time, msgs ...string) *cwl.PutLogEventsOutput {
	t.Helper()
	var evs []types.InputLogEvent
	for i, m := range msgs {
		evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(ts.Add(time.Duration(i) * time.Millisecond).UnixMilli())})
	}
	return emutest.Must(c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs}))
}

func TestLogGroupsLifecycleAndErrors(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	emutest.Must(c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/api"), Tags: map[string]string{"team": "core"}}))

	_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/api")})
	emutest.WantCode(t, err, "ResourceAlreadyExistsException", "The specified log group already exists")
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("err %T is not the SDK's ResourceAlreadyExistsException", err)
	}
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("bad name!")})
	emutest.WantCode(t, err, "InvalidParameterException", "Member must satisfy regular expression pattern")
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(strings.Repeat("a", 513))})
	emutest.WantCode(t, err, "InvalidParameterException", "length less than or equal to 512")

	out := emutest.Must(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/app/")}))
	if len(out.LogGroups) != 1 {
		t.Fatalf("got %d groups", len(out.LogGroups))
	}
	g := out.LogGroups[0]
	if aws.ToString(g.Arn) != "arn:aws:logs:us-east-1:000000000000:log-group:/app/api:*" ||
		aws.ToString(g.LogGroupArn) != "arn:aws:logs:us-east-1:000000000000:log-group:/app/api" ||
		g.RetentionInDays != nil || aws.ToInt64(g.CreationTime) == 0 || g.LogGroupClass != types.LogGroupClassStandard {
		t.Fatalf("unexpected group %+v", g)
	}

	// Retention: only AWS's enumerated values.
	emutest.Must(c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/app/api"), RetentionInDays: aws.Int32(30)}))
	_, err = c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/app/api"), RetentionInDays: aws.Int32(31)})
	emutest.WantCode(t, err, "InvalidParameterException", "enum value set")
	_, err = c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/nope"), RetentionInDays: aws.Int32(30)})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	out = emutest.Must(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("APP")}))
	if len(out.LogGroups) != 1 || aws.ToInt32(out.LogGroups[0].RetentionInDays) != 30 {
		t.Fatalf("pattern search (case-insensitive) or retention wrong: %+v", out.LogGroups)
	}
	emutest.Must(c.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String("/app/api")}))

	_, err = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/a"), LogGroupNamePattern: aws.String("a")})
	emutest.WantCode(t, err, "InvalidParameterException", "mutually exclusive")
	_, err = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(51)})
	emutest.WantCode(t, err, "InvalidParameterException", "less than or equal to 50")

	emutest.Must(c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/app/api")}))
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/app/api")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("err %T is not the SDK's ResourceNotFoundException", err)
	}
}

func TestDescribeLogGroupsPaginatesInSmallPages(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	var want []string
	for i := 0; i < 13; i++ {
		name := fmt.Sprintf("/svc/g%02d", i)
		want = append(want, name)
		mkGroup(t, c, name)
	}
	mkGroup(t, c, "/other")
	var got []string
	pages := 0
	p := cwl.NewDescribeLogGroupsPaginator(c, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/svc/")})
	for p.HasMorePages() {
		out := emutest.Must(p.NextPage(ctx))
		pages++
		for _, g := range out.LogGroups {
			got = append(got, aws.ToString(g.LogGroupName))
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || pages < 3 {
		t.Fatalf("got %v in %d pages, want %v over several pages", got, pages, want)
	}
	// An explicit limit below the page size is honoured.
	out := emutest.Must(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(2)}))
	if len(out.LogGroups) != 2 || out.NextToken == nil {
		t.Fatalf("limit 2: %d groups, token %v", len(out.LogGroups), out.NextToken)
	}
	_, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{NextToken: aws.String("forged")})
	emutest.WantCode(t, err, "InvalidParameterException", "nextToken")
}

func TestLogStreamsCreateDescribeOrder(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "g", "s-b", "s-a", "s-c", "x-1", "x-2", "x-3", "x-4")
	_, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s-a")})
	emutest.WantCode(t, err, "ResourceAlreadyExistsException", "The specified log stream already exists")
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("missing"), LogStreamName: aws.String("s")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a:b")})
	emutest.WantCode(t, err, "InvalidParameterException", "[^:*]*")

	now := time.Now()
	put(t, c, "g", "s-c", now.Add(-3*time.Minute), "c")
	put(t, c, "g", "s-a", now.Add(-1*time.Minute), "a")
	put(t, c, "g", "s-b", now.Add(-2*time.Minute), "b")

	names := func(in *cwl.DescribeLogStreamsInput) []string {
		var out []string
		p := cwl.NewDescribeLogStreamsPaginator(c, in)
		for p.HasMorePages() {
			for _, s := range emutest.Must(p.NextPage(ctx)).LogStreams {
				out = append(out, aws.ToString(s.LogStreamName))
			}
		}
		return out
	}
	if got := names(&cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g")}); strings.Join(got, ",") != "s-a,s-b,s-c,x-1,x-2,x-3,x-4" {
		t.Fatalf("by name: %v", got)
	}
	if got := names(&cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("s-"), Descending: aws.Bool(true)}); strings.Join(got, ",") != "s-c,s-b,s-a" {
		t.Fatalf("prefix descending: %v", got)
	}
	got := names(&cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if strings.Join(got[:3], ",") != "s-a,s-b,s-c" {
		t.Fatalf("by last event time: %v", got)
	}
	_, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("s")})
	emutest.WantCode(t, err, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")

	out := emutest.Must(c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:g:*"), LogStreamNamePrefix: aws.String("s-a")}))
	if len(out.LogStreams) != 1 || aws.ToInt64(out.LogStreams[0].LastEventTimestamp) != now.Add(-time.Minute).UnixMilli() || aws.ToInt64(out.LogStreams[0].StoredBytes) != 1 {
		t.Fatalf("stream by ARN: %+v", out.LogStreams)
	}
	emutest.Must(c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("x-4")}))
	_, err = c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("x-4")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
}

func TestPutLogEventsValidation(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "g", "s")
	now := time.Now()
	ev := func(ts time.Time, m string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts.UnixMilli()), Message: aws.String(m)}
	}
	call := func(evs ...types.InputLogEvent) (*cwl.PutLogEventsOutput, error) {
		return c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs, SequenceToken: aws.String("ignored")})
	}

	// Happy path: a sequence token is ignored, nothing is rejected.
	out, err := call(ev(now, "one"), ev(now, "two"))
	if err != nil || out.RejectedLogEventsInfo != nil || aws.ToString(out.NextSequenceToken) == "" {
		t.Fatalf("put: %v %+v", err, out)
	}
	_, err = call(ev(now, "late"), ev(now.Add(-time.Second), "early"))
	emutest.WantCode(t, err, "InvalidParameterException", "must be in chronological order")
	_, err = call([]types.InputLogEvent{}...)
	emutest.WantCode(t, err, "InvalidParameterException", "length greater than or equal to 1")
	_, err = call(ev(now.Add(-25*time.Hour), "a"), ev(now, "b"))
	emutest.WantCode(t, err, "InvalidParameterException", "cannot span more than 24 hours")
	big := strings.Repeat("x", 600000)
	_, err = call(ev(now, big), ev(now, big))
	emutest.WantCode(t, err, "InvalidParameterException", "Upload too large")
	_, err = call(ev(now, strings.Repeat("x", 1048576)))
	emutest.WantCode(t, err, "InvalidParameterException", "Log event too large")
	many := make([]types.InputLogEvent, 10001)
	for i := range many {
		many[i] = ev(now, "m")
	}
	_, err = call(many...)
	emutest.WantCode(t, err, "InvalidParameterException", "less than or equal to 10000")
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	// Too old and too new events are rejected while the rest are stored.
	out, err = call(ev(now.Add(-15*24*time.Hour), "ancient"), ev(now.Add(-15*24*time.Hour+time.Second), "ancient2"), ev(now, "ok"), ev(now.Add(3*time.Hour), "future"))
	if err != nil {
		t.Fatal(err)
	}
	r := out.RejectedLogEventsInfo
	if r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 2 || aws.ToInt32(r.TooNewLogEventStartIndex) != 3 || r.ExpiredLogEventEndIndex != nil {
		t.Fatalf("rejected info %+v", r)
	}
	// Events older than the group's retention are "expired".
	emutest.Must(c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}))
	out = emutest.Must(call(ev(now.Add(-3*24*time.Hour), "expired"), ev(now, "fresh")))
	if out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.ExpiredLogEventEndIndex) != 1 {
		t.Fatalf("expired info %+v", out.RejectedLogEventsInfo)
	}
	all := emutest.Must(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)}))
	var msgs []string
	for _, e := range all.Events {
		msgs = append(msgs, aws.ToString(e.Message))
	}
	if strings.Join(msgs, ",") != "one,two,ok,fresh" {
		t.Fatalf("stored %v", msgs)
	}
}

func TestGetLogEventsPagesForwardAndBackward(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "g", "s")
	base := time.Now().Add(-time.Hour)
	var want []string
	for i := 0; i < 27; i++ {
		want = append(want, fmt.Sprintf("event %02d", i))
	}
	put(t, c, "g", "s", base, want...)

	var got []string
	pages := 0
	// As against AWS, the paginator needs StopOnDuplicateToken: the last page
	// hands back the token it was given.
	p := cwl.NewGetLogEventsPaginator(c, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)},
		func(o *cwl.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for p.HasMorePages() {
		out := emutest.Must(p.NextPage(ctx))
		pages++
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		if pages > 20 {
			t.Fatal("paginator does not stop")
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || pages < 3 {
		t.Fatalf("forward: %d events in %d pages", len(got), pages)
	}
	// Without startFromHead the newest page comes first; the backward token walks back.
	out := emutest.Must(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}))
	if len(out.Events) == 0 || aws.ToString(out.Events[len(out.Events)-1].Message) != "event 26" {
		t.Fatalf("tail page %+v", out.Events)
	}
	back := emutest.Must(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: out.NextBackwardToken}))
	if len(back.Events) == 0 || aws.ToString(back.Events[len(back.Events)-1].Message) >= aws.ToString(out.Events[0].Message) {
		t.Fatalf("backward page %+v", back.Events)
	}
	// Time window [start, end).
	win := emutest.Must(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(base.Add(5 * time.Millisecond).UnixMilli()), EndTime: aws.Int64(base.Add(8 * time.Millisecond).UnixMilli())}))
	if len(win.Events) != 3 || aws.ToString(win.Events[0].Message) != "event 05" {
		t.Fatalf("window %+v", win.Events)
	}
	_, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("zzz")})
	emutest.WantCode(t, err, "InvalidParameterException", "nextToken")
}

func TestFilterLogEventsUsesFilterPatternSemantics(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "app", "web-1", "web-2", "worker-1")
	base := time.Now().Add(-10 * time.Minute)
	put(t, c, "app", "web-1", base, `[ERROR] Unhandled Exception`, `INFO ready`, `{"level":"ERROR","latency":900}`)
	put(t, c, "app", "web-2", base.Add(time.Second), `WARN slow`, `error lower case`, `{"level":"INFO","latency":20}`)
	put(t, c, "app", "worker-1", base.Add(2*time.Second), `ERROR Connection timed out`, `127.0.0.1 - - 503 1200`)

	filter := func(in *cwl.FilterLogEventsInput) []string {
		t.Helper()
		in.LogGroupName = aws.String("app")
		var out []string
		p := cwl.NewFilterLogEventsPaginator(c, in)
		for p.HasMorePages() {
			for _, e := range emutest.Must(p.NextPage(ctx)).Events {
				out = append(out, aws.ToString(e.Message))
			}
		}
		return out
	}
	cases := []struct {
		pattern string
		want    []string
	}{
		{"ERROR", []string{`[ERROR] Unhandled Exception`, `{"level":"ERROR","latency":900}`, `ERROR Connection timed out`}},
		{"ERROR Exception", []string{`[ERROR] Unhandled Exception`}},
		{`"Connection timed out"`, []string{`ERROR Connection timed out`}},
		{`ERROR -Exception -level`, []string{`ERROR Connection timed out`}},
		{`?WARN ?INFO`, []string{`INFO ready`, `WARN slow`, `{"level":"INFO","latency":20}`}},
		{`{ $.level = "ERROR" }`, []string{`{"level":"ERROR","latency":900}`}},
		{`{ $.latency > 100 }`, []string{`{"level":"ERROR","latency":900}`}},
		{`[ip, a, b, status=5*, bytes>1000]`, []string{`127.0.0.1 - - 503 1200`}},
		{`%[Ee]rror%`, []string{`error lower case`}},
	}
	for _, tc := range cases {
		got := filter(&cwl.FilterLogEventsInput{FilterPattern: aws.String(tc.pattern)})
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("pattern %s: got %q, want %q", tc.pattern, got, tc.want)
		}
	}
	if got := filter(&cwl.FilterLogEventsInput{LogStreamNamePrefix: aws.String("web-")}); len(got) != 6 {
		t.Errorf("prefix web-: %d events", len(got))
	}
	if got := filter(&cwl.FilterLogEventsInput{LogStreamNames: []string{"worker-1"}, FilterPattern: aws.String("ERROR")}); len(got) != 1 {
		t.Errorf("stream names: %v", got)
	}
	got := filter(&cwl.FilterLogEventsInput{StartTime: aws.Int64(base.Add(time.Second).UnixMilli()), EndTime: aws.Int64(base.Add(time.Second + time.Millisecond).UnixMilli())})
	if strings.Join(got, "|") != "WARN slow|error lower case" {
		t.Errorf("time window: %v", got)
	}
	_, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app"), FilterPattern: aws.String(`"unterminated`)})
	emutest.WantCode(t, err, "InvalidParameterException", "Invalid filter pattern")
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("a")})
	emutest.WantCode(t, err, "InvalidParameterException", "mutually exclusive")
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("nope")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestFilterLogEventsPaginatesAcrossStreamsInTimeOrder(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "g", "a", "b")
	base := time.Now().Add(-time.Hour)
	var msgsA, msgsB []string
	for i := 0; i < 20; i++ {
		msgsA = append(msgsA, fmt.Sprintf("match a%02d", i))
		msgsB = append(msgsB, fmt.Sprintf("match b%02d", i))
	}
	put(t, c, "g", "a", base, msgsA...)
	put(t, c, "g", "b", base.Add(500*time.Microsecond), msgsB...)
	var ts []int64
	pages := 0
	p := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("match")})
	for p.HasMorePages() {
		out := emutest.Must(p.NextPage(ctx))
		pages++
		for _, e := range out.Events {
			ts = append(ts, aws.ToInt64(e.Timestamp))
		}
	}
	if len(ts) != 40 || pages < 4 || !sort.SliceIsSorted(ts, func(i, j int) bool { return ts[i] < ts[j] }) {
		t.Fatalf("%d events in %d pages, sorted=%v", len(ts), pages, sort.SliceIsSorted(ts, func(i, j int) bool { return ts[i] < ts[j] }))
	}
	out := emutest.Must(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(3)}))
	if len(out.Events) != 3 || out.NextToken == nil {
		t.Fatalf("limit 3: %d events", len(out.Events))
	}
}

func TestMetricFiltersPutUpsertDescribeDelete(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "/app", "s")
	mkGroup(t, c, "/other")
	mf := func(name, pattern string, tr types.MetricTransformation) error {
		_, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String(name), FilterPattern: aws.String(pattern),
			MetricTransformations: []types.MetricTransformation{tr}})
		return err
	}
	tr := func(name string) types.MetricTransformation {
		return types.MetricTransformation{MetricName: aws.String(name), MetricNamespace: aws.String("opsctl"), MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)}
	}
	if err := mf("errors", "ERROR", tr("Errors")); err != nil {
		t.Fatal(err)
	}
	// Upsert: same name, new pattern.
	if err := mf("errors", `?ERROR ?Exception`, tr("Errors")); err != nil {
		t.Fatal(err)
	}
	out := emutest.Must(c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("/app")}))
	if len(out.MetricFilters) != 1 || aws.ToString(out.MetricFilters[0].FilterPattern) != `?ERROR ?Exception` ||
		aws.ToFloat64(out.MetricFilters[0].MetricTransformations[0].DefaultValue) != 0 || out.MetricFilters[0].MetricTransformations[0].DefaultValue == nil {
		t.Fatalf("after upsert: %+v", out.MetricFilters)
	}
	groups := emutest.Must(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/app")}))
	if aws.ToInt32(groups.LogGroups[0].MetricFilterCount) != 1 {
		t.Fatalf("metricFilterCount %d", aws.ToInt32(groups.LogGroups[0].MetricFilterCount))
	}

	cases := []struct {
		name, filter, pattern string
		tr                    types.MetricTransformation
		code, msg             string
	}{
		{"colon in name", "a:b", "ERROR", tr("M"), "InvalidParameterException", "[^:*]*"},
		{"star in name", "a*", "ERROR", tr("M"), "InvalidParameterException", "[^:*]*"},
		{"long name", strings.Repeat("f", 513), "ERROR", tr("M"), "InvalidParameterException", "less than or equal to 512"},
		{"bad pattern", "f", `"unterminated`, tr("M"), "InvalidParameterException", "Invalid metric filter pattern"},
		{"bad json pattern", "f", `{ $.a = 'x' }`, tr("M"), "InvalidParameterException", "Invalid metric filter pattern"},
		{"unquoted symbol", "f", `ERROR:`, tr("M"), "InvalidParameterException", "Invalid metric filter pattern"},
		{"metric name with $", "f", "ERROR", tr("a$b"), "InvalidParameterException", "[^:*$]*"},
		{"default with dimensions", "f", `{ $.level = * }`, types.MetricTransformation{MetricName: aws.String("M"), MetricNamespace: aws.String("N"), MetricValue: aws.String("1"),
			DefaultValue: aws.Float64(0), Dimensions: map[string]string{"Level": "$.level"}}, "InvalidParameterException", "default value cannot be combined with dimensions"},
		{"dimension not a field", "f", `{ $.level = * }`, types.MetricTransformation{MetricName: aws.String("M"), MetricNamespace: aws.String("N"), MetricValue: aws.String("1"),
			Dimensions: map[string]string{"Level": "$bytes"}}, "InvalidParameterException", "Invalid dimension"},
		{"json value for text pattern", "f", "ERROR", types.MetricTransformation{MetricName: aws.String("M"), MetricNamespace: aws.String("N"), MetricValue: aws.String("$.latency")},
			"InvalidParameterException", "Invalid metric value"},
		{"bad unit", "f", "ERROR", types.MetricTransformation{MetricName: aws.String("M"), MetricNamespace: aws.String("N"), MetricValue: aws.String("1"), Unit: "Parsecs"},
			"InvalidParameterException", "enum value set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emutest.WantCode(t, mf(tc.filter, tc.pattern, tc.tr), tc.code, tc.msg)
		})
	}
	// Exactly one transformation.
	_, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String("two"), FilterPattern: aws.String("x"),
		MetricTransformations: []types.MetricTransformation{tr("A"), tr("B")}})
	emutest.WantCode(t, err, "InvalidParameterException", "less than or equal to 1")
	_, err = c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String("none"), FilterPattern: aws.String("x"),
		MetricTransformations: []types.MetricTransformation{}})
	emutest.WantCode(t, err, "InvalidParameterException", "greater than or equal to 1")
	_, err = c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/missing"), FilterName: aws.String("f"), FilterPattern: aws.String("x"),
		MetricTransformations: []types.MetricTransformation{tr("A")}})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	// 100 filters per group, then LimitExceededException; an upsert still works.
	for i := 1; i < 100; i++ {
		if err := mf(fmt.Sprintf("f%03d", i), "ERROR", tr(fmt.Sprintf("M%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	emutest.WantCode(t, mf("one-too-many", "ERROR", tr("X")), "LimitExceededException", "Resource limit exceeded.")
	var le *types.LimitExceededException
	if !errors.As(mf("one-too-many", "ERROR", tr("X")), &le) {
		t.Fatal("not the SDK's LimitExceededException")
	}
	if err := mf("f001", "WARN", tr("M001")); err != nil {
		t.Fatalf("upsert at the limit: %v", err)
	}

	// Describe: paging, prefix, metric name + namespace.
	var names []string
	pages := 0
	p := cwl.NewDescribeMetricFiltersPaginator(c, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("/app"), FilterNamePrefix: aws.String("f0")})
	for p.HasMorePages() {
		pages++
		for _, f := range emutest.Must(p.NextPage(ctx)).MetricFilters {
			names = append(names, aws.ToString(f.FilterName))
		}
	}
	if len(names) != 99 || names[0] != "f001" || names[98] != "f099" || pages < 10 {
		t.Fatalf("prefix f0: %d names in %d pages", len(names), pages)
	}
	byMetric := emutest.Must(c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricName: aws.String("Errors"), MetricNamespace: aws.String("opsctl")}))
	if len(byMetric.MetricFilters) != 1 || aws.ToString(byMetric.MetricFilters[0].LogGroupName) != "/app" || aws.ToString(byMetric.MetricFilters[0].FilterName) != "errors" {
		t.Fatalf("by metric: %+v", byMetric.MetricFilters)
	}
	_, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{FilterNamePrefix: aws.String("f")})
	emutest.WantCode(t, err, "InvalidParameterException", "logGroupName")
	_, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{MetricName: aws.String("Errors")})
	emutest.WantCode(t, err, "InvalidParameterException", "metricNamespace")
	_, err = c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("/missing")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	emutest.Must(c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String("errors")}))
	_, err = c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String("errors")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified metric filter does not exist.")
	_, err = c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("/missing"), FilterName: aws.String("errors")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestRegexFiltersAreLimitedPerGroup(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	mkGroup(t, c, "g")
	put := func(name string) error {
		_, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String(name), FilterPattern: aws.String("%ERR[0-9]%"),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(name), MetricNamespace: aws.String("N"), MetricValue: aws.String("1")}}})
		return err
	}
	for i := 0; i < 5; i++ {
		if err := put(fmt.Sprint("r", i)); err != nil {
			t.Fatal(err)
		}
	}
	emutest.WantCode(t, put("r5"), "LimitExceededException", "regular expressions")
	if err := put("r0"); err != nil {
		t.Fatalf("upserting an existing regex filter: %v", err)
	}
}

func TestTestMetricFilterEachPatternForm(t *testing.T) {
	ctx := context.Background()
	_, c, _ := start(t)
	msgs := []string{
		`[ERROR] Unhandled Exception`,
		`INFO all good`,
		`{"level":"ERROR","latency":950,"user":{"id":7}}`,
		`{"level":"INFO","latency":12}`,
		`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`,
		`error: lower case`,
	}
	cases := []struct {
		pattern string
		want    []int32
		values  map[string]string // extracted values of the first match
	}{
		{"", []int32{1, 2, 3, 4, 5, 6}, map[string]string{}},
		{"ERROR", []int32{1, 3}, map[string]string{}},
		{"ERROR Exception", []int32{1}, nil},
		{`"all good"`, []int32{2}, nil},
		{"ERROR -Exception", []int32{3}, nil},
		{"?INFO ?frank", []int32{2, 4, 5}, nil},
		{`{ $.level = "ERROR" && $.latency > 500 }`, []int32{3}, map[string]string{"$.level": "ERROR", "$.latency": "950"}},
		{`{ $.user.id = 7 || $.latency < 20 }`, []int32{3, 4}, map[string]string{"$.user.id": "7", "$.latency": "950"}},
		{`{ $.user NOT EXISTS }`, []int32{4}, nil},
		{`[ip, id, user, ts, request = *html*, status = 4*, bytes > 1000]`, []int32{5}, map[string]string{
			"$ip": "127.0.0.1", "$id": "-", "$user": "frank", "$ts": "10/Oct/2000:13:25:15 -0700", "$request": "GET /index.html HTTP/1.0", "$status": "404", "$bytes": "1534"}},
		// "[ERROR]" is one bracketed field; JSON without spaces is one field.
		{`[..., status, bytes]`, []int32{1, 2, 5, 6}, map[string]string{"$1": "ERROR", "$status": "Unhandled", "$bytes": "Exception"}},
		{`%^[a-z]+:%`, []int32{6}, map[string]string{}},
	}
	for _, tc := range cases {
		out, err := c.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String(tc.pattern), LogEventMessages: msgs})
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		var got []int32
		for _, m := range out.Matches {
			got = append(got, int32(m.EventNumber))
			if aws.ToString(m.EventMessage) != msgs[m.EventNumber-1] {
				t.Errorf("%s: event %d message %q", tc.pattern, m.EventNumber, aws.ToString(m.EventMessage))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: matched events %v, want %v", tc.pattern, got, tc.want)
			continue
		}
		if tc.values != nil && fmt.Sprint(out.Matches[0].ExtractedValues) != fmt.Sprint(tc.values) {
			t.Errorf("%s: extracted %v, want %v", tc.pattern, out.Matches[0].ExtractedValues, tc.values)
		}
	}
	_, err := c.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String("x"), LogEventMessages: []string{}})
	emutest.WantCode(t, err, "InvalidParameterException", "greater than or equal to 1")
	_, err = c.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String("x"), LogEventMessages: make([]string, 51)})
	emutest.WantCode(t, err, "InvalidParameterException", "less than or equal to 50")
	_, err = c.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String(`{ $.eventType > "UpdateTrail" }`), LogEventMessages: msgs})
	emutest.WantCode(t, err, "InvalidParameterException", "Invalid metric filter pattern")
}

func TestTagsByARNAndLegacyByName(t *testing.T) {
	ctx := context.Background()
	srv, c, _ := start(t)
	emutest.Must(c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"owner": "opsctl"}}))
	arn := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:g", srv.Region, srv.Account)
	emutest.Must(c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"env": "prod"}}))
	tags := emutest.Must(c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(arn)})).Tags
	if fmt.Sprint(tags) != "map[env:prod owner:opsctl]" {
		t.Fatalf("tags %v", tags)
	}
	emutest.Must(c.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"env"}}))
	//lint:ignore SA1019 the legacy API is still in use and emulated on purpose
	emutest.Must(c.TagLogGroup(ctx, &cwl.TagLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"team": "core"}}))
	legacy := emutest.Must(c.ListTagsLogGroup(ctx, &cwl.ListTagsLogGroupInput{LogGroupName: aws.String("g")})).Tags
	if fmt.Sprint(legacy) != "map[owner:opsctl team:core]" {
		t.Fatalf("legacy tags %v", legacy)
	}
	emutest.Must(c.UntagLogGroup(ctx, &cwl.UntagLogGroupInput{LogGroupName: aws.String("g"), Tags: []string{"team"}}))
	_, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(arn + "-missing")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "does not exist")
	_, err = c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String("not-an-arn"), Tags: map[string]string{"a": "b"}})
	emutest.WantCode(t, err, "InvalidParameterException", "Invalid resource ARN")
	_, err = c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"aws:x": "b"}})
	emutest.WantCode(t, err, "InvalidParameterException", "reserved")
	_, err = c.ListTagsLogGroup(ctx, &cwl.ListTagsLogGroupInput{LogGroupName: aws.String("missing")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	many := map[string]string{}
	for i := 0; i < 50; i++ {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(arn), Tags: many})
	emutest.WantCode(t, err, "TooManyTagsException", "no more than 50 tags")
}

func TestMetricFiltersEmitToTheMetricSink(t *testing.T) {
	ctx := context.Background()
	_, c, emu := start(t)
	type point struct {
		ns, name string
		dims     string
		value    float64
		ts       int64
	}
	var mu sync.Mutex
	var got []point
	emu.MetricSink = func(namespace, name string, dims map[string]string, value float64, ts time.Time) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, point{namespace, name, fmt.Sprint(dims), value, ts.UnixMilli()})
	}
	mkGroup(t, c, "g", "s")
	pmf := func(name, pattern string, tr types.MetricTransformation) {
		t.Helper()
		emutest.Must(c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String(name), FilterPattern: aws.String(pattern),
			MetricTransformations: []types.MetricTransformation{tr}}))
	}
	pmf("a-errors", "ERROR", types.MetricTransformation{MetricName: aws.String("Errors"), MetricNamespace: aws.String("App"), MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)})
	pmf("b-latency", `{ $.latency = * }`, types.MetricTransformation{MetricName: aws.String("Latency"), MetricNamespace: aws.String("App"), MetricValue: aws.String("$.latency"),
		Dimensions: map[string]string{"Route": "$.route"}})
	pmf("c-bytes", `[ip, status=5*, bytes]`, types.MetricTransformation{MetricName: aws.String("Bytes5xx"), MetricNamespace: aws.String("App"), MetricValue: aws.String("$bytes")})

	ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	put(t, c, "g", "s", ts, `ERROR boom`, `{"latency": 250, "route": "/pay"}`, `1.2.3.4 503 777`)
	mu.Lock()
	defer mu.Unlock()
	want := []point{
		{"App", "Errors", "map[]", 1, ts.UnixMilli()},
		{"App", "Errors", "map[]", 0, ts.UnixMilli() + 1},
		{"App", "Latency", "map[Route:/pay]", 250, ts.UnixMilli() + 1},
		{"App", "Errors", "map[]", 0, ts.UnixMilli() + 2},
		{"App", "Bytes5xx", "map[]", 777, ts.UnixMilli() + 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("emitted\n%v\nwant\n%v", got, want)
	}
}

func TestThrottledWriteSucceedsThroughSDKRetries(t *testing.T) {
	ctx := context.Background()
	srv := localawstest.Start(t, localaws.Options{})
	c := cwl.NewFromConfig(localawstest.Config(srv, 5))
	mkGroup(t, c, "g", "s")
	emutest.Throttle(srv, "logs", "PutLogEvents", 2)
	srv.ResetCalls()
	put(t, c, "g", "s", time.Now(), "after retries")
	emutest.WantCalls(t, srv, "logs", "PutLogEvents", emutest.Calls{Faulted: 2, OK: 1})
	out := emutest.Must(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}))
	if len(out.Events) != 1 {
		t.Fatalf("stored %d events", len(out.Events))
	}
	// Without retries the throttle surfaces as the SDK's error.
	emutest.Throttle(srv, "logs", "PutLogEvents", 1)
	one := cwl.NewFromConfig(localawstest.Config(srv, 1))
	_, err := one.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Message: aws.String("x"), Timestamp: aws.Int64(time.Now().UnixMilli())}}})
	emutest.WantCode(t, err, "ThrottlingException", "Rate exceeded")
}

// With the sink wired to the CloudWatch emulation (as the endpoint does), a
// metric filter's counts are readable through GetMetricData: the path an
// alarm on a log pattern depends on.
func TestMetricFilterCountsReachCloudWatch(t *testing.T) {
	ctx := context.Background()
	srv, c, emu := start(t)
	cw, ok := srv.Service("monitoring").(*cwemu.Server)
	if !ok {
		t.Fatalf("monitoring is %T", srv.Service("monitoring"))
	}
	emu.MetricSink = cw.RecordMetric
	mkGroup(t, c, "/app", "s")
	emutest.Must(c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String("errors"), FilterPattern: aws.String("?ERROR ?Exception"),
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("AppErrors"), MetricNamespace: aws.String("opsctl/test"), MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)}}}))
	minute := time.Now().Add(-5 * time.Minute).Truncate(time.Minute)
	put(t, c, "/app", "s", minute, "ERROR one", "INFO fine", "NullPointerException", "DEBUG x", "ERROR two")

	out := emutest.Must(cloudwatch.NewFromConfig(localawstest.Config(srv, 1)).GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(minute.Add(-time.Minute)), EndTime: aws.Time(minute.Add(2 * time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			{Id: aws.String("sum"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("opsctl/test"), MetricName: aws.String("AppErrors")}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("n"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("opsctl/test"), MetricName: aws.String("AppErrors")}, Period: aws.Int32(60), Stat: aws.String("SampleCount")}},
		},
	}))
	r := out.MetricDataResults
	if len(r) != 2 || len(r[0].Values) != 1 || r[0].Values[0] != 3 || r[1].Values[0] != 5 {
		t.Fatalf("GetMetricData: %+v", r)
	}
}
