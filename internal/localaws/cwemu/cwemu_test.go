package cwemu_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/cwemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

const topic = "arn:aws:sns:us-east-1:000000000000:opsctl-alarms"

func setup(t *testing.T) (*localaws.Server, *cloudwatch.Client, *cwemu.Server) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{})
	cw := cloudwatch.NewFromConfig(localawstest.Config(srv, 0))
	emu, ok := srv.Service("monitoring").(*cwemu.Server)
	if !ok {
		t.Fatalf("monitoring is not served by cwemu: %T", srv.Service("monitoring"))
	}
	return srv, cw, emu
}

func metricAlarm(name string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(name),
		Namespace:          aws.String("opsctl/logs"),
		MetricName:         aws.String("errors"),
		Dimensions:         []types.Dimension{{Name: aws.String("LogGroup"), Value: aws.String("/app")}},
		Statistic:          types.StatisticSum,
		Period:             aws.Int32(60),
		EvaluationPeriods:  aws.Int32(1),
		Threshold:          aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		TreatMissingData:   aws.String("notBreaching"),
		AlarmActions:       []string{topic},
		OKActions:          []string{topic},
		AlarmDescription:   aws.String("errors in /app"),
		Tags:               []types.Tag{{Key: aws.String("opsctl:managed"), Value: aws.String("true")}},
	}
}

func TestPutMetricAlarmCreatesThenUpdatesKeepingStateAndTags(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	before := time.Now().Add(-time.Second)
	if _, err := cw.PutMetricAlarm(ctx, metricAlarm("a1")); err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("got %d alarms", len(out.MetricAlarms))
	}
	a := out.MetricAlarms[0]
	if a.StateValue != types.StateValueInsufficientData || aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a1" {
		t.Fatalf("new alarm: state %s arn %s", a.StateValue, aws.ToString(a.AlarmArn))
	}
	if a.Statistic != types.StatisticSum || a.ComparisonOperator != types.ComparisonOperatorGreaterThanOrEqualToThreshold ||
		aws.ToFloat64(a.Threshold) != 1 || aws.ToInt32(a.Period) != 60 || aws.ToString(a.TreatMissingData) != "notBreaching" ||
		!aws.ToBool(a.ActionsEnabled) || len(a.AlarmActions) != 1 || a.AlarmActions[0] != topic ||
		len(a.Dimensions) != 1 || aws.ToString(a.Dimensions[0].Value) != "/app" || aws.ToString(a.AlarmDescription) != "errors in /app" {
		t.Fatalf("round trip lost fields: %+v", a)
	}
	// CBOR timestamps (tag 1) come back as times near now.
	if a.StateUpdatedTimestamp == nil || a.StateUpdatedTimestamp.Before(before) || a.StateUpdatedTimestamp.After(time.Now().Add(time.Second)) ||
		a.AlarmConfigurationUpdatedTimestamp == nil {
		t.Fatalf("timestamps: %v %v", a.StateUpdatedTimestamp, a.AlarmConfigurationUpdatedTimestamp)
	}

	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a1"), StateValue: types.StateValueOk, StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	upd := metricAlarm("a1")
	upd.Threshold = aws.Float64(5)
	upd.Tags = []types.Tag{{Key: aws.String("ignored"), Value: aws.String("on update")}}
	if _, err := cw.PutMetricAlarm(ctx, upd); err != nil {
		t.Fatal(err)
	}
	out, _ = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a1"}})
	if a := out.MetricAlarms[0]; aws.ToFloat64(a.Threshold) != 5 || a.StateValue != types.StateValueOk {
		t.Fatalf("update: threshold %v state %s", aws.ToFloat64(a.Threshold), a.StateValue)
	}
	tags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:cloudwatch:us-east-1:000000000000:alarm:a1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "opsctl:managed" {
		t.Fatalf("tags after update: %+v", tags.Tags)
	}
}

func TestPutMetricAlarmValidation(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	tests := []struct {
		name   string
		modify func(*cloudwatch.PutMetricAlarmInput)
		code   string
	}{
		{"name too long", func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmName = aws.String(strings.Repeat("x", 256)) }, "ValidationError"},
		{"period not 10/20/30 or multiple of 60", func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(90) }, "InvalidParameterValue"},
		{"evaluation periods zero", func(in *cloudwatch.PutMetricAlarmInput) { in.EvaluationPeriods = aws.Int32(0) }, "ValidationError"},
		{"datapoints above evaluation periods", func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(2) }, "ValidationError"},
		{"statistic and extended statistic", func(in *cloudwatch.PutMetricAlarmInput) { in.ExtendedStatistic = aws.String("p99") }, "InvalidParameterCombination"},
		{"bad comparison operator", func(in *cloudwatch.PutMetricAlarmInput) { in.ComparisonOperator = "Bigger" }, "ValidationError"},
		{"bad treat missing data", func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("zero") }, "ValidationError"},
		{"metrics and metric name", func(in *cloudwatch.PutMetricAlarmInput) {
			in.Metrics = []types.MetricDataQuery{{Id: aws.String("m1"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("n"), MetricName: aws.String("m")}, Period: aws.Int32(60), Stat: aws.String("Sum")}}}
		}, "InvalidParameterCombination"},
		{"six alarm actions", func(in *cloudwatch.PutMetricAlarmInput) {
			in.AlarmActions = []string{topic, topic + "2", topic + "3", topic + "4", topic + "5", topic + "6"}
		}, "ValidationError"},
		{"action not an ARN", func(in *cloudwatch.PutMetricAlarmInput) { in.OKActions = []string{"email:me"} }, "ValidationError"},
		{"action ARN without a resource", func(in *cloudwatch.PutMetricAlarmInput) {
			in.AlarmActions = []string{"arn:aws:sns:us-east-1:000000000000:"}
		}, "ValidationError"},
		{"action ARN without a service", func(in *cloudwatch.PutMetricAlarmInput) {
			in.AlarmActions = []string{"arn:aws::us-east-1:000000000000:topic"}
		}, "ValidationError"},
		{"aws: tag key", func(in *cloudwatch.PutMetricAlarmInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}
		}, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := metricAlarm("v")
			tc.modify(in)
			_, err := cw.PutMetricAlarm(ctx, in)
			if got := awsx.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
		})
	}
	// The typed error survives the CBOR round trip (awsQuery-compatible codes).
	in := metricAlarm("v")
	in.Period = aws.Int32(45)
	_, err := cw.PutMetricAlarm(ctx, in)
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) || !strings.Contains(ipv.ErrorMessage(), "multiple of 60") {
		t.Fatalf("want *types.InvalidParameterValueException, got %T %v", err, err)
	}
	// A metric-math alarm with one returned metric is valid.
	in = metricAlarm("math")
	in.Namespace, in.MetricName, in.Statistic, in.Period, in.Dimensions = nil, nil, "", nil, nil
	in.Metrics = []types.MetricDataQuery{{Id: aws.String("m1"), ReturnData: aws.Bool(true), MetricStat: &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String("n"), MetricName: aws.String("m")}, Period: aws.Int32(60), Stat: aws.String("Sum")}}}
	if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"math"}})
	if err != nil || len(out.MetricAlarms) != 1 || len(out.MetricAlarms[0].Metrics) != 1 || aws.ToString(out.MetricAlarms[0].Metrics[0].MetricStat.Stat) != "Sum" {
		t.Fatalf("math alarm: %v %+v", err, out)
	}
}

func TestPutMetricAlarmLimitExceeded(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	emu.MaxAlarms = 2
	for _, n := range []string{"a", "b"} {
		if _, err := cw.PutMetricAlarm(ctx, metricAlarm(n)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := cw.PutMetricAlarm(ctx, metricAlarm("c"))
	var le *types.LimitExceededFault
	if !errors.As(err, &le) || le.ErrorCode() != "LimitExceeded" {
		t.Fatalf("want LimitExceeded, got %v", err)
	}
	// Updating an existing alarm is not a new alarm.
	if _, err := cw.PutMetricAlarm(ctx, metricAlarm("a")); err != nil {
		t.Fatal(err)
	}
}

func logAlarm(name string) *cloudwatch.PutLogAlarmInput {
	return &cloudwatch.PutLogAlarmInput{
		AlarmName:              aws.String(name),
		ComparisonOperator:     types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Threshold:              aws.Float64(1),
		QueryResultsToAlarm:    aws.Int32(1),
		QueryResultsToEvaluate: aws.Int32(1),
		ActionLogLineCount:     aws.Int32(10),
		ActionLogLineRoleArn:   aws.String("arn:aws:iam::000000000000:role/opsctl-log-alarm"),
		AlarmActions:           []string{topic},
		TreatMissingData:       aws.String("notBreaching"),
		ScheduledQueryConfiguration: &types.ScheduledQueryConfiguration{
			QueryString:           aws.String("fields @message | filter @message like /ERROR/"),
			AggregationExpression: aws.String("count(*)"),
			LogGroupIdentifiers:   []string{"/app"},
			ScheduledQueryRoleARN: aws.String("arn:aws:iam::000000000000:role/opsctl-log-alarm"),
			ScheduleConfiguration: &types.ScheduleConfiguration{ScheduleExpression: aws.String("rate(5 minutes)"), StartTimeOffset: aws.Int64(300)},
		},
		Tags: []types.Tag{{Key: aws.String("opsctl:managed"), Value: aws.String("true")}},
	}
}

func TestPutLogAlarmIsReturnedOnlyForLogAlarmType(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	if _, err := cw.PutLogAlarm(ctx, logAlarm("logs-errors")); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.PutMetricAlarm(ctx, metricAlarm("metric-errors")); err != nil {
		t.Fatal(err)
	}
	def, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(def.MetricAlarms) != 1 || len(def.LogAlarms) != 0 {
		t.Fatalf("default AlarmTypes must mean metric alarms only: %d metric, %d log", len(def.MetricAlarms), len(def.LogAlarms))
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeLogAlarm}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LogAlarms) != 1 || len(out.MetricAlarms) != 0 {
		t.Fatalf("LogAlarm filter: %d log, %d metric", len(out.LogAlarms), len(out.MetricAlarms))
	}
	la := out.LogAlarms[0]
	q := la.ScheduledQueryConfiguration
	if aws.ToInt32(la.ActionLogLineCount) != 10 || aws.ToString(la.ActionLogLineRoleArn) == "" || la.StateValue != types.StateValueInsufficientData ||
		q == nil || aws.ToString(q.AggregationExpression) != "count(*)" || len(q.LogGroupIdentifiers) != 1 ||
		aws.ToString(q.ScheduleConfiguration.ScheduleExpression) != "rate(5 minutes)" || aws.ToInt64(q.ScheduleConfiguration.StartTimeOffset) != 300 ||
		!strings.HasPrefix(aws.ToString(q.QueryARN), "arn:aws:logs:us-east-1:000000000000:") {
		t.Fatalf("log alarm round trip: %+v %+v", la, q)
	}
	both, _ := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeLogAlarm, types.AlarmTypeMetricAlarm}})
	if len(both.LogAlarms)+len(both.MetricAlarms) != 2 {
		t.Fatalf("both types: %+v", both)
	}

	bad := []struct {
		name   string
		modify func(*cloudwatch.PutLogAlarmInput)
		code   string
	}{
		{"51 log lines", func(in *cloudwatch.PutLogAlarmInput) { in.ActionLogLineCount = aws.Int32(51) }, "ValidationError"},
		{"log lines without role", func(in *cloudwatch.PutLogAlarmInput) { in.ActionLogLineRoleArn = nil }, "MissingParameter"},
		{"M above N", func(in *cloudwatch.PutLogAlarmInput) { in.QueryResultsToAlarm = aws.Int32(2) }, "ValidationError"},
		{"N above 100", func(in *cloudwatch.PutLogAlarmInput) { in.QueryResultsToEvaluate = aws.Int32(101) }, "ValidationError"},
		{"cron schedule", func(in *cloudwatch.PutLogAlarmInput) {
			in.ScheduledQueryConfiguration.ScheduleConfiguration.ScheduleExpression = aws.String("cron(0 * * * ? *)")
		}, "InvalidParameterValue"},
		{"no log groups", func(in *cloudwatch.PutLogAlarmInput) { in.ScheduledQueryConfiguration.LogGroupIdentifiers = []string{} }, "ValidationError"},
		{"anomaly operator", func(in *cloudwatch.PutLogAlarmInput) {
			in.ComparisonOperator = types.ComparisonOperatorLessThanLowerOrGreaterThanUpperThreshold
		}, "ValidationError"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := logAlarm("bad")
			tc.modify(in)
			_, err := cw.PutLogAlarm(ctx, in)
			if got := awsx.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
		})
	}
	// A log alarm is deleted one per request.
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"logs-errors", "metric-errors"}}); awsx.ErrorCode(err) != "ValidationError" {
		t.Fatalf("batch delete with a log alarm: %v", err)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"logs-errors"}}); err != nil {
		t.Fatal(err)
	}
}

func TestDescribeAlarmsFiltersAndPaginates(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	for i := 0; i < 12; i++ {
		in := metricAlarm(fmt.Sprintf("svc-%02d", i))
		if i%3 == 0 {
			in.AlarmActions = []string{"arn:aws:sns:us-east-1:000000000000:other"}
			in.OKActions = nil
		}
		if _, err := cw.PutMetricAlarm(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cw.PutMetricAlarm(ctx, metricAlarm("zzz")); err != nil {
		t.Fatal(err)
	}
	cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("svc-04"), StateValue: types.StateValueAlarm, StateReason: aws.String("t")})

	var names []string
	pages := 0
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("svc-")})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
	}
	if len(names) != 12 || pages < 3 || names[0] != "svc-00" || names[11] != "svc-11" {
		t.Fatalf("prefix paging: %d names in %d pages: %v", len(names), pages, names)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(2)})
	if err != nil || len(out.MetricAlarms) != 2 || out.NextToken == nil {
		t.Fatalf("MaxRecords 2: %v %d", err, len(out.MetricAlarms))
	}
	out, _ = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: types.StateValueAlarm})
	if len(out.MetricAlarms) != 1 || aws.ToString(out.MetricAlarms[0].AlarmName) != "svc-04" {
		t.Fatalf("StateValue filter: %+v", out.MetricAlarms)
	}
	total := 0
	p = cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{ActionPrefix: aws.String("arn:aws:sns:us-east-1:000000000000:other")})
	for p.HasMorePages() {
		o, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += len(o.MetricAlarms)
	}
	if total != 4 {
		t.Fatalf("ActionPrefix: %d alarms, want 4", total)
	}
	if _, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{NextToken: aws.String("bogus")}); awsx.ErrorCode(err) != "InvalidNextToken" {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")}); awsx.ErrorCode(err) != "InvalidParameterCombination" {
		t.Fatalf("names and prefix: %v", err)
	}
	fm, err := cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("opsctl/logs"), MetricName: aws.String("errors"),
		Dimensions: []types.Dimension{{Name: aws.String("LogGroup"), Value: aws.String("/app")}}, Statistic: types.StatisticSum})
	if err != nil || len(fm.MetricAlarms) != 13 {
		t.Fatalf("DescribeAlarmsForMetric: %v %d", err, len(fm.MetricAlarms))
	}
	fm, _ = cw.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{Namespace: aws.String("opsctl/logs"), MetricName: aws.String("errors"),
		Dimensions: []types.Dimension{{Name: aws.String("LogGroup"), Value: aws.String("/other")}}})
	if len(fm.MetricAlarms) != 0 {
		t.Fatalf("other dimensions matched %d", len(fm.MetricAlarms))
	}
}

func TestDeleteAlarmsDeletesExistingAndReportsMissing(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	cw.PutMetricAlarm(ctx, metricAlarm("keep"))
	cw.PutMetricAlarm(ctx, metricAlarm("gone"))
	_, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"gone", "never-existed"}})
	var nf *types.ResourceNotFound
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "never-existed") {
		t.Fatalf("want ResourceNotFound naming the missing alarm, got %v", err)
	}
	out, _ := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	if len(out.MetricAlarms) != 1 || aws.ToString(out.MetricAlarms[0].AlarmName) != "keep" {
		t.Fatalf("existing names must still be deleted: %+v", out.MetricAlarms)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"keep"}}); err != nil {
		t.Fatal(err)
	}
}

func TestSetAlarmStateWritesHistoryAndFiresActions(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	cw.PutMetricAlarm(ctx, metricAlarm("a"))
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("opsctl alarm test"), StateReasonData: aws.String(`{"by":"opsctl"}`)}); err != nil {
		t.Fatal(err)
	}
	out, _ := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}})
	if a := out.MetricAlarms[0]; a.StateValue != types.StateValueAlarm || aws.ToString(a.StateReason) != "opsctl alarm test" || aws.ToString(a.StateReasonData) != `{"by":"opsctl"}` {
		t.Fatalf("state: %+v", a)
	}
	cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueOk, StateReason: aws.String("back")})

	var items []types.AlarmHistoryItem
	p := cloudwatch.NewDescribeAlarmHistoryPaginator(cw, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("a"), ScanBy: types.ScanByTimestampAscending})
	pages := 0
	for p.HasMorePages() {
		o, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		items = append(items, o.AlarmHistoryItems...)
	}
	var summaries []string
	for _, it := range items {
		summaries = append(summaries, string(it.HistoryItemType)+": "+aws.ToString(it.HistorySummary))
		if it.AlarmType != types.AlarmTypeMetricAlarm || it.Timestamp == nil {
			t.Fatalf("item enum/timestamp: %+v", it)
		}
	}
	want := []string{
		`ConfigurationUpdate: Alarm "a" created`,
		"StateUpdate: Alarm updated from INSUFFICIENT_DATA to ALARM",
		"Action: Successfully executed action " + topic,
		"StateUpdate: Alarm updated from ALARM to OK",
		"Action: Successfully executed action " + topic,
	}
	if strings.Join(summaries, "\n") != strings.Join(want, "\n") || pages < 1 {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(summaries, "\n"), strings.Join(want, "\n"))
	}
	acts := emu.Actions()
	if len(acts) != 2 || acts[0].State != "ALARM" || acts[0].ARN != topic || acts[1].State != "OK" {
		t.Fatalf("actions: %+v", acts)
	}
	only, _ := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("a"), HistoryItemType: types.HistoryItemTypeAction, MaxRecords: aws.Int32(100)})
	if len(only.AlarmHistoryItems) != 2 {
		t.Fatalf("Action filter: %d", len(only.AlarmHistoryItems))
	}
	future, _ := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{StartDate: aws.Time(time.Now().Add(time.Hour))})
	if len(future.AlarmHistoryItems) != 0 {
		t.Fatalf("StartDate filter: %d", len(future.AlarmHistoryItems))
	}

	// Disabled actions: state changes, nothing fires.
	if _, err := cw.DisableAlarmActions(ctx, &cloudwatch.DisableAlarmActionsInput{AlarmNames: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueAlarm, StateReason: aws.String("quiet")})
	if n := len(emu.Actions()); n != 2 {
		t.Fatalf("disabled actions fired: %d", n)
	}
	out, _ = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}})
	if aws.ToBool(out.MetricAlarms[0].ActionsEnabled) {
		t.Fatal("ActionsEnabled still true")
	}
	cw.EnableAlarmActions(ctx, &cloudwatch.EnableAlarmActionsInput{AlarmNames: []string{"a"}})
	out, _ = cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}})
	if !aws.ToBool(out.MetricAlarms[0].ActionsEnabled) {
		t.Fatal("EnableAlarmActions did not enable")
	}

	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: types.StateValueOk, StateReason: aws.String("x")}); awsx.ErrorCode(err) != "ResourceNotFound" {
		t.Fatalf("missing alarm: %v", err)
	}
	_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueOk, StateReason: aws.String("x"), StateReasonData: aws.String("{not json")})
	var bad *types.InvalidFormatFault
	if !errors.As(err, &bad) || bad.ErrorCode() != "InvalidFormat" {
		t.Fatalf("bad StateReasonData: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("a"), StateValue: types.StateValueOk, StateReason: aws.String(strings.Repeat("r", 1024))}); awsx.ErrorCode(err) != "ValidationError" {
		t.Fatalf("long reason: %v", err)
	}
}

func TestTagsOnAlarmARNs(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	cw.PutMetricAlarm(ctx, metricAlarm("a"))
	arn := aws.String("arn:aws:cloudwatch:us-east-1:000000000000:alarm:a")
	if _, err := cw.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: arn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}, {Key: aws.String("opsctl:managed"), Value: aws.String("yes")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.UntagResource(ctx, &cloudwatch.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	out, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Value) != "yes" {
		t.Fatalf("tags: %v %+v", err, out)
	}
	_, err = cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:cloudwatch:us-east-1:000000000000:alarm:nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("missing alarm ARN: %v", err)
	}
}

func TestMetricDataRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	dims := []types.Dimension{{Name: aws.String("Queue"), Value: aws.String("orders-dlq")}}
	var data []types.MetricDatum
	for i := 0; i < 10; i++ {
		data = append(data, types.MetricDatum{MetricName: aws.String("Depth"), Dimensions: dims, Value: aws.Float64(float64(i)), Timestamp: aws.Time(base.Add(time.Duration(i) * 30 * time.Second)), Unit: types.StandardUnitCount})
	}
	data = append(data,
		types.MetricDatum{MetricName: aws.String("Latency"), Values: []float64{10, 20, 30}, Counts: []float64{1, 2, 1}, Timestamp: aws.Time(base)},
		types.MetricDatum{MetricName: aws.String("Bytes"), StatisticValues: &types.StatisticSet{Sum: aws.Float64(100), SampleCount: aws.Float64(4), Minimum: aws.Float64(5), Maximum: aws.Float64(50)}, Timestamp: aws.Time(base)},
	)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("opsctl/test"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	emu.RecordMetric("opsctl/test", "Depth", map[string]string{"Queue": "orders-dlq"}, 100, base.Add(10*time.Minute))

	// GetMetricData: 1-minute Sum buckets, newest first by default.
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base.Add(-time.Minute)), EndTime: aws.Time(base.Add(20 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("sum"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Depth"), Dimensions: dims}, Period: aws.Int32(60), Stat: aws.String("Sum")}},
			{Id: aws.String("max"), Label: aws.String("peak"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Depth"), Dimensions: dims}, Period: aws.Int32(300), Stat: aws.String("Maximum")}},
			{Id: aws.String("n"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Depth"), Dimensions: dims}, Period: aws.Int32(60), Stat: aws.String("SampleCount")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.MetricDataResults
	if len(r) != 3 || aws.ToString(r[0].Id) != "sum" || aws.ToString(r[0].Label) != "Depth" || aws.ToString(r[1].Label) != "peak" {
		t.Fatalf("results: %+v", r)
	}
	// 6 buckets of 1 minute: (0+1),(2+3),...,(8+9) and 100.
	if len(r[0].Values) != 6 || r[0].Values[0] != 100 || r[0].Values[5] != 1 || r[0].StatusCode != types.StatusCodeComplete {
		t.Fatalf("sum values %v status %s", r[0].Values, r[0].StatusCode)
	}
	if !r[0].Timestamps[0].After(r[0].Timestamps[1]) || !r[0].Timestamps[5].Equal(base) {
		t.Fatalf("timestamps %v (base %v)", r[0].Timestamps, base)
	}
	if r[2].Values[5] != 2 {
		t.Fatalf("sample count %v", r[2].Values)
	}
	maxSeen := 0.0
	for _, v := range r[1].Values {
		maxSeen = max(maxSeen, v)
	}
	if maxSeen != 100 {
		t.Fatalf("maximum %v", r[1].Values)
	}

	// GetMetricStatistics: averages, units and a percentile map.
	st, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Latency"),
		StartTime: aws.Time(base.Add(-time.Minute)), EndTime: aws.Time(base.Add(time.Minute)), Period: aws.Int32(60),
		Statistics: []types.Statistic{types.StatisticAverage, types.StatisticSampleCount}})
	if err != nil || len(st.Datapoints) != 1 || aws.ToFloat64(st.Datapoints[0].Average) != 20 || aws.ToFloat64(st.Datapoints[0].SampleCount) != 4 {
		t.Fatalf("statistics: %v %+v", err, st)
	}
	ext, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Latency"),
		StartTime: aws.Time(base.Add(-time.Minute)), EndTime: aws.Time(base.Add(time.Minute)), Period: aws.Int32(60), ExtendedStatistics: []string{"p50", "p100"}})
	if err != nil || len(ext.Datapoints) != 1 || ext.Datapoints[0].ExtendedStatistics["p50"] != 20 || ext.Datapoints[0].ExtendedStatistics["p100"] != 30 {
		t.Fatalf("extended statistics (CBOR map): %v %+v", err, ext)
	}
	sv, _ := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Bytes"),
		StartTime: aws.Time(base.Add(-time.Minute)), EndTime: aws.Time(base.Add(time.Minute)), Period: aws.Int32(60),
		Statistics: []types.Statistic{types.StatisticMinimum, types.StatisticMaximum, types.StatisticSum}})
	if len(sv.Datapoints) != 1 || aws.ToFloat64(sv.Datapoints[0].Minimum) != 5 || aws.ToFloat64(sv.Datapoints[0].Sum) != 100 {
		t.Fatalf("statistic set: %+v", sv.Datapoints)
	}
	dp, _ := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Depth"), Dimensions: dims,
		StartTime: aws.Time(base.Add(-time.Minute)), EndTime: aws.Time(base.Add(time.Minute)), Period: aws.Int32(60), Statistics: []types.Statistic{types.StatisticSum}})
	if len(dp.Datapoints) != 1 || dp.Datapoints[0].Unit != types.StandardUnitCount {
		t.Fatalf("unit enum: %+v", dp.Datapoints)
	}
}

func TestGetMetricDataPaginatesLongRanges(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	for i := 0; i < 50; i++ {
		emu.RecordMetric("opsctl/test", "Hits", nil, 1, base.Add(time.Duration(i)*time.Minute))
	}
	q := []types.MetricDataQuery{{Id: aws.String("h"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("opsctl/test"), MetricName: aws.String("Hits")}, Period: aws.Int32(60), Stat: aws.String("Sum")}}}
	p := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(time.Now()), MetricDataQueries: q, ScanBy: types.ScanByTimestampAscending})
	var ts []time.Time
	pages := 0
	for p.HasMorePages() {
		o, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		ts = append(ts, o.MetricDataResults[0].Timestamps...)
	}
	if len(ts) != 50 || pages < 3 || !ts[0].Equal(base) || !ts[49].Equal(base.Add(49*time.Minute)) {
		t.Fatalf("%d timestamps in %d pages, first %v", len(ts), pages, ts[0])
	}
	_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(-time.Minute)), MetricDataQueries: q})
	if awsx.ErrorCode(err) != "ValidationError" {
		t.Fatalf("start after end: %v", err)
	}
	bad := []types.MetricDataQuery{{Id: aws.String("Upper"), MetricStat: q[0].MetricStat}}
	if _, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(time.Now()), MetricDataQueries: bad}); awsx.ErrorCode(err) != "ValidationError" {
		t.Fatalf("id starting upper-case: %v", err)
	}
}

func TestPutMetricDataValidation(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	many := make([]types.MetricDatum, 1001)
	for i := range many {
		many[i] = types.MetricDatum{MetricName: aws.String("m"), Value: aws.Float64(1)}
	}
	tests := []struct {
		name string
		in   *cloudwatch.PutMetricDataInput
		code string
	}{
		{"AWS/ namespace", &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/SQS"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1)}}}, "InvalidParameterValue"},
		{"1001 datums", &cloudwatch.PutMetricDataInput{Namespace: aws.String("x"), MetricData: many}, "ValidationError"},
		{"value and values", &cloudwatch.PutMetricDataInput{Namespace: aws.String("x"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), Values: []float64{1}}}}, "InvalidParameterCombination"},
		{"values and counts differ", &cloudwatch.PutMetricDataInput{Namespace: aws.String("x"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Values: []float64{1, 2}, Counts: []float64{1}}}}, "InvalidParameterValue"},
		{"statistic set minimum above maximum", &cloudwatch.PutMetricDataInput{Namespace: aws.String("x"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), StatisticValues: &types.StatisticSet{Sum: aws.Float64(1), SampleCount: aws.Float64(1), Minimum: aws.Float64(2), Maximum: aws.Float64(1)}}}}, "InvalidParameterValue"},
		{"three weeks old", &cloudwatch.PutMetricDataInput{Namespace: aws.String("x"), MetricData: []types.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(time.Now().Add(-21 * 24 * time.Hour))}}}, "InvalidParameterValue"},
		{"no value", &cloudwatch.PutMetricDataInput{Namespace: aws.String("x"), MetricData: []types.MetricDatum{{MetricName: aws.String("m")}}}, "MissingParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cw.PutMetricData(ctx, tc.in)
			if got := awsx.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
		})
	}
}

func TestListMetricsFiltersAndPaginates(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	now := time.Now()
	for i := 0; i < 8; i++ {
		emu.RecordMetric("opsctl/q", "Depth", map[string]string{"Queue": fmt.Sprintf("q%d", i), "Env": "prod"}, 1, now)
	}
	emu.RecordMetric("opsctl/q", "Age", map[string]string{"Queue": "q0"}, 1, now)
	emu.RecordMetric("other", "Depth", nil, 1, now.Add(-5*time.Hour))
	count := func(in *cloudwatch.ListMetricsInput) (int, int) {
		n, pages := 0, 0
		p := cloudwatch.NewListMetricsPaginator(cw, in)
		for p.HasMorePages() {
			o, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			n += len(o.Metrics)
		}
		return n, pages
	}
	if n, pages := count(&cloudwatch.ListMetricsInput{}); n != 10 || pages < 2 {
		t.Fatalf("all: %d in %d pages", n, pages)
	}
	if n, _ := count(&cloudwatch.ListMetricsInput{Namespace: aws.String("opsctl/q"), MetricName: aws.String("Depth")}); n != 8 {
		t.Fatalf("by name: %d", n)
	}
	if n, _ := count(&cloudwatch.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("Queue"), Value: aws.String("q0")}}}); n != 2 {
		t.Fatalf("by dimension value: %d", n)
	}
	if n, _ := count(&cloudwatch.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("Env")}}}); n != 8 {
		t.Fatalf("by dimension name: %d", n)
	}
	if n, _ := count(&cloudwatch.ListMetricsInput{RecentlyActive: types.RecentlyActivePt3h}); n != 9 {
		t.Fatalf("recently active: %d", n)
	}
}

func TestEvaluateTransitionsMetricAlarms(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	now := time.Now().Truncate(time.Minute)
	cw.PutMetricAlarm(ctx, metricAlarm("errs"))
	missing := metricAlarm("strict")
	missing.TreatMissingData = nil
	missing.MetricName = aws.String("other")
	cw.PutMetricAlarm(ctx, missing)

	// No data: notBreaching goes OK, missing stays INSUFFICIENT_DATA.
	ch := emu.Evaluate(now)
	if len(ch) != 1 || ch[0].AlarmName != "errs" || ch[0].To != "OK" {
		t.Fatalf("no data: %+v", ch)
	}
	emu.RecordMetric("opsctl/logs", "errors", map[string]string{"LogGroup": "/app"}, 3, now.Add(-30*time.Second))
	ch = emu.Evaluate(now)
	if len(ch) != 1 || ch[0].To != "ALARM" {
		t.Fatalf("breach: %+v", ch)
	}
	out, _ := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"errs"}})
	if a := out.MetricAlarms[0]; a.StateValue != types.StateValueAlarm || !strings.HasPrefix(aws.ToString(a.StateReason), "Threshold Crossed") {
		t.Fatalf("after evaluate: %s %q", a.StateValue, aws.ToString(a.StateReason))
	}
	if acts := emu.Actions(); len(acts) != 2 || acts[1].State != "ALARM" {
		t.Fatalf("actions: %+v", acts)
	}
	// A minute later the errors are gone: back to OK.
	if ch := emu.Evaluate(now.Add(2 * time.Minute)); len(ch) != 1 || ch[0].To != "OK" {
		t.Fatalf("recovery: %+v", ch)
	}
}

func TestFaultsAreRetriedAndInjectedCodesSurface(t *testing.T) {
	ctx := context.Background()
	srv, cw, _ := setup(t)
	emutest.Throttle(srv, "monitoring", "PutMetricAlarm", 1)
	emutest.ServerError(srv, "monitoring", "PutMetricAlarm", 1)
	if _, err := cw.PutMetricAlarm(ctx, metricAlarm("retried")); err != nil {
		t.Fatalf("throttle + 5xx must be retried to success: %v", err)
	}
	emutest.WantCalls(t, srv, "monitoring", "PutMetricAlarm", emutest.Calls{Faulted: 2, OK: 1})
	emutest.Fail(srv, "monitoring", "SetAlarmState", 1, "ResourceNotFound", 0, "injected")
	_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("retried"), StateValue: types.StateValueAlarm, StateReason: aws.String("x")})
	if awsx.ErrorCode(err) != "ResourceNotFound" {
		t.Fatalf("injected code: %v", err)
	}
	emutest.Fail(srv, "monitoring", "DescribeAlarms", 1, "SomethingOdd", 400, "")
	if _, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); awsx.ErrorCode(err) != "SomethingOdd" {
		t.Fatalf("unmodeled injected code: %v", err)
	}
	// Writes are counted as writes.
	for _, c := range srv.WriteCalls() {
		if c.Operation == "DescribeAlarms" {
			t.Fatal("DescribeAlarms counted as a write")
		}
	}
}

func TestGetMetricDataEvaluatesSimpleMetricMath(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	base := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for i := 0; i < 4; i++ {
		ts := base.Add(time.Duration(i) * time.Minute)
		emu.RecordMetric("opsctl/app", "Requests", nil, 10, ts)
		if i != 2 {
			emu.RecordMetric("opsctl/app", "Errors", nil, float64(i+1), ts)
		}
	}
	stat := func(name string) *types.MetricStat {
		return &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("opsctl/app"), MetricName: aws.String(name)}, Period: aws.Int32(60), Stat: aws.String("Sum")}
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(10 * time.Minute)), ScanBy: types.ScanByTimestampAscending,
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("rate"), Expression: aws.String("100 * e / r"), Label: aws.String("error rate")},
			{Id: aws.String("filled"), Expression: aws.String("FILL(e, 0)")},
			{Id: aws.String("e"), MetricStat: stat("Errors"), ReturnData: aws.Bool(false)},
			{Id: aws.String("r"), MetricStat: stat("Requests"), ReturnData: aws.Bool(false)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 2 {
		t.Fatalf("ReturnData false must hide sources: %d results", len(out.MetricDataResults))
	}
	rate, filled := out.MetricDataResults[0], out.MetricDataResults[1]
	if fmt.Sprint(rate.Values) != "[10 20 40]" || aws.ToString(rate.Label) != "error rate" {
		t.Fatalf("rate %v %q", rate.Values, aws.ToString(rate.Label))
	}
	if fmt.Sprint(filled.Values) != "[1 2 0 4]" || aws.ToString(filled.Label) != "filled" {
		t.Fatalf("filled %v", filled.Values)
	}
	for _, expr := range []string{"e +", "nope * 2", "ANOMALY_DETECTION_BAND(e)", "3 * 4"} {
		_, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(base), EndTime: aws.Time(base.Add(10 * time.Minute)),
			MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("x"), Expression: aws.String(expr)}, {Id: aws.String("e"), MetricStat: stat("Errors")}}})
		if awsx.ErrorCode(err) != "ValidationError" {
			t.Fatalf("%q: %v", expr, err)
		}
	}
}

func TestEvaluateMetricMathAlarm(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	now := time.Now().Truncate(time.Minute)
	stat := func(name string) *types.MetricStat {
		return &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("opsctl/app"), MetricName: aws.String(name)}, Period: aws.Int32(60), Stat: aws.String("Sum")}
	}
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("error-rate"), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(50),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold, AlarmActions: []string{topic},
		Metrics: []types.MetricDataQuery{
			{Id: aws.String("e"), MetricStat: stat("Errors"), ReturnData: aws.Bool(false)},
			{Id: aws.String("r"), MetricStat: stat("Requests"), ReturnData: aws.Bool(false)},
			{Id: aws.String("rate"), Expression: aws.String("100 * e / r"), ReturnData: aws.Bool(true)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	emu.RecordMetric("opsctl/app", "Requests", nil, 10, now.Add(-30*time.Second))
	emu.RecordMetric("opsctl/app", "Errors", nil, 6, now.Add(-30*time.Second))
	if ch := emu.Evaluate(now); len(ch) != 1 || ch[0].To != "ALARM" {
		t.Fatalf("60%% error rate: %+v", ch)
	}
	emu.RecordMetric("opsctl/app", "Requests", nil, 100, now.Add(30*time.Second))
	emu.RecordMetric("opsctl/app", "Errors", nil, 1, now.Add(30*time.Second))
	if ch := emu.Evaluate(now.Add(time.Minute)); len(ch) != 1 || ch[0].To != "OK" {
		t.Fatalf("1%% error rate: %+v", ch)
	}
}

func TestLogAlarmResultsDriveMOfN(t *testing.T) {
	ctx := context.Background()
	_, cw, emu := setup(t)
	in := logAlarm("log-errors")
	in.QueryResultsToEvaluate, in.QueryResultsToAlarm = aws.Int32(3), aws.Int32(2)
	if _, err := cw.PutLogAlarm(ctx, in); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	steps := []struct {
		value float64
		want  string // "" = no transition
	}{{0, "OK"}, {5, ""}, {3, "ALARM"}, {0, ""}, {0, "OK"}}
	for i, st := range steps {
		ch, err := emu.RecordLogAlarmResult("log-errors", st.value, now)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if ch != nil {
			got = ch.To
		}
		if got != st.want {
			t.Fatalf("step %d (value %v): transition %q, want %q", i, st.value, got, st.want)
		}
	}
	h, err := cw.DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{AlarmName: aws.String("log-errors"),
		AlarmTypes: []types.AlarmType{types.AlarmTypeLogAlarm}, HistoryItemType: types.HistoryItemTypeAction, MaxRecords: aws.Int32(10)})
	if err != nil || len(h.AlarmHistoryItems) != 1 || h.AlarmHistoryItems[0].AlarmType != types.AlarmTypeLogAlarm {
		t.Fatalf("log alarm ALARM action: %v %+v", err, h)
	}
	if _, err := emu.RecordLogAlarmResult("nope", 1, now); err == nil {
		t.Fatal("unknown alarm accepted")
	}
}

// PutMetricAlarm and PutLogAlarm reject actions in another region or
// partition with ValidationError ("Invalid region ca-central-1 specified.
// Only us-west-2 is supported.", cds-snc/notification-terraform#128;
// "Invalid partition aws specified. Only aws-us-gov is supported.",
// aws-samples/amazon-cloudwatch-auto-alarms#61) and malformed ARNs with
// "Invalid arn syntax". A topic in another account is accepted, as AWS does
// (aws-samples/aws-secure-environment-accelerator#875).
func TestAlarmActionsMustBeInTheAlarmsRegionAndPartition(t *testing.T) {
	ctx := context.Background()
	_, cw, _ := setup(t)
	tests := []struct {
		name    string
		action  string
		message string // "" = accepted
	}{
		{"same region topic", topic, ""},
		{"topic in another account", "arn:aws:sns:us-east-1:111122223333:central-alerts", ""},
		{"ec2 automate action", "arn:aws:automate:us-east-1:ec2:stop", ""},
		{"ssm incidents response plan has no region", "arn:aws:ssm-incidents::000000000000:responseplan/p", ""},
		{"topic in another region", "arn:aws:sns:us-west-2:000000000000:t", "Invalid region us-west-2 specified. Only us-east-1 is supported."},
		{"ec2 action in another region", "arn:aws:automate:eu-west-1:ec2:reboot", "Invalid region eu-west-1 specified. Only us-east-1 is supported."},
		{"another partition", "arn:aws-cn:sns:us-east-1:000000000000:t", "Invalid partition aws-cn specified. Only aws is supported."},
		{"not an ARN", "sns:us-east-1:t", "Invalid arn syntax: sns:us-east-1:t"},
		{"too few fields", "arn:aws:sns:us-east-1:t", "Invalid arn syntax: arn:aws:sns:us-east-1:t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := metricAlarm("actions")
			in.OKActions = nil
			in.InsufficientDataActions = []string{tc.action}
			_, metricErr := cw.PutMetricAlarm(ctx, in)
			la := logAlarm("log-actions")
			la.AlarmActions = []string{tc.action}
			_, logErr := cw.PutLogAlarm(ctx, la)
			for op, err := range map[string]error{"PutMetricAlarm": metricErr, "PutLogAlarm": logErr} {
				if tc.message == "" {
					if err != nil {
						t.Errorf("%s with %s: %v", op, tc.action, err)
					}
					continue
				}
				if awsx.ErrorCode(err) != "ValidationError" || !strings.Contains(err.Error(), tc.message) {
					t.Errorf("%s with %s = %v, want ValidationError %q", op, tc.action, err, tc.message)
				}
			}
		})
	}
}
