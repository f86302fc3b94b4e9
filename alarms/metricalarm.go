package alarms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// MetricAlarmSpec is the desired metric alarm.
type MetricAlarmSpec struct {
	// Name is the CloudWatch alarm name, used as given.
	Name        string
	Description string
	Namespace   string
	MetricName  string
	Dimensions  map[string]string
	// Statistic: Sum, Average, Minimum, Maximum or SampleCount.
	Statistic         string
	Period            time.Duration
	EvaluationPeriods int
	// DatapointsToAlarm is M of M-of-N (default EvaluationPeriods).
	DatapointsToAlarm int
	Threshold         float64
	// Comparison: GreaterThanOrEqualToThreshold, GreaterThanThreshold,
	// LessThanThreshold or LessThanOrEqualToThreshold.
	Comparison string
	// TreatMissingData: notBreaching (default), breaching, ignore or missing.
	TreatMissingData string
	// TopicARN receives the ALARM and OK notifications.
	TopicARN string
	// Component and Kind are written as opsctl:component / opsctl:kind tags
	// (defaults "alarm" and "metric"). `alarm apply --prune` only ever
	// deletes component "alarm".
	Component string
	Kind      string
	// DryRun plans without writing.
	DryRun bool
}

// Validate checks the spec without calling AWS.
func (s MetricAlarmSpec) Validate() error {
	switch {
	case s.Name == "" || len(s.Name) > 255:
		return opserr.Usagef("invalid alarm name %q: 1-255 characters", s.Name)
	case s.Namespace == "" || s.MetricName == "":
		return opserr.Usagef("alarm %q: namespace and metric name are required", s.Name)
	case s.TopicARN == "" || !strings.HasPrefix(s.TopicARN, "arn:"):
		return opserr.Usagef("alarm %q: a topic ARN is required", s.Name)
	case len(s.Dimensions) > 30:
		return opserr.Usagef("alarm %q: at most 30 dimensions", s.Name)
	}
	if !oneOf(s.Statistic, "Sum", "Average", "Minimum", "Maximum", "SampleCount") {
		return opserr.Usagef("alarm %q: invalid statistic %q", s.Name, s.Statistic)
	}
	if !oneOf(s.Comparison, "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold") {
		return opserr.Usagef("alarm %q: invalid comparison %q", s.Name, s.Comparison)
	}
	if s.TreatMissingData != "" && !oneOf(s.TreatMissingData, "notBreaching", "breaching", "ignore", "missing") {
		return opserr.Usagef("alarm %q: invalid treat-missing-data %q", s.Name, s.TreatMissingData)
	}
	if err := validatePeriod(s.Period); err != nil {
		return err
	}
	if err := validateEvaluationPeriods(s.EvaluationPeriods, s.Period); err != nil {
		return err
	}
	if err := validateFinite("threshold", s.Threshold); err != nil {
		return err
	}
	if s.DatapointsToAlarm < 0 || s.DatapointsToAlarm > s.EvaluationPeriods {
		return opserr.Usagef("alarm %q: datapoints to alarm must be between 1 and the evaluation periods", s.Name)
	}
	return nil
}

// fmtDuration prints 5m0s as 5m and 1h0m0s as 1h.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func (s MetricAlarmSpec) withDefaults() MetricAlarmSpec {
	if s.DatapointsToAlarm == 0 {
		s.DatapointsToAlarm = s.EvaluationPeriods
	}
	if s.TreatMissingData == "" {
		s.TreatMissingData = "notBreaching"
	}
	if s.Kind == "" {
		s.Kind = KindMetric
	}
	if s.Component == "" {
		s.Component = ComponentAlarm
	}
	return s
}

// liveAlarm is what DescribeAlarms returned for one name.
type liveAlarm struct {
	metric *cwtypes.MetricAlarm
	log    *cwtypes.LogAlarm
}

func (l liveAlarm) exists() bool { return l.metric != nil || l.log != nil }

func (l liveAlarm) arn() string {
	switch {
	case l.metric != nil:
		return aws.ToString(l.metric.AlarmArn)
	case l.log != nil:
		return aws.ToString(l.log.AlarmArn)
	}
	return ""
}

var allAlarmTypes = []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeLogAlarm}

func describeAlarm(ctx context.Context, cw CloudWatchAPI, name string) (liveAlarm, error) {
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}, AlarmTypes: allAlarmTypes})
	if err != nil {
		return liveAlarm{}, fmt.Errorf("describe alarm %q: %w", name, err)
	}
	var l liveAlarm
	for i := range out.MetricAlarms {
		if aws.ToString(out.MetricAlarms[i].AlarmName) == name {
			l.metric = &out.MetricAlarms[i]
		}
	}
	for i := range out.LogAlarms {
		if aws.ToString(out.LogAlarms[i].AlarmName) == name {
			l.log = &out.LogAlarms[i]
		}
	}
	return l, nil
}

func alarmTags(ctx context.Context, cw CloudWatchAPI, arn string) (map[string]string, error) {
	out, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("list tags of alarm %s: %w", arn, err)
	}
	m := map[string]string{}
	for _, t := range out.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

func cwTags(m map[string]string) []cwtypes.Tag {
	var out []cwtypes.Tag
	for _, kv := range sortedCopy(plan.KV(m)) {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// planAlarmTags adds a tag step when an existing alarm lacks opsctl's tags
// (PutMetricAlarm and PutLogAlarm ignore tags on update).
func planAlarmTags(ctx context.Context, deps Deps, live liveAlarm, name string, want map[string]string) ([]plan.Step, error) {
	if !live.exists() {
		return nil, nil
	}
	have, err := alarmTags(ctx, deps.CloudWatch, live.arn())
	if err != nil {
		return nil, err
	}
	var d plan.Differ
	missing := map[string]string{}
	for k, v := range want {
		if have[k] != v {
			d.Str("tag "+k, have[k], v)
			missing[k] = v
		}
	}
	if len(d) == 0 {
		return nil, nil
	}
	arn := live.arn()
	return []plan.Step{plan.Update(ResTags, name, d, func(ctx context.Context) error {
		if _, err := deps.CloudWatch.TagResource(ctx, &cloudwatch.TagResourceInput{ResourceARN: aws.String(arn), Tags: cwTags(missing)}); err != nil {
			return fmt.Errorf("tag alarm %q: %w", name, err)
		}
		return nil
	})}, nil
}

func dims(in []cwtypes.Dimension) map[string]string {
	m := map[string]string{}
	for _, d := range in {
		m[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return m
}

func toDims(m map[string]string) []cwtypes.Dimension {
	var out []cwtypes.Dimension
	for _, kv := range sortedCopy(plan.KV(m)) {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// diffMetricAlarm compares a live alarm with the spec, field by field.
func diffMetricAlarm(a *cwtypes.MetricAlarm, s MetricAlarmSpec) []plan.FieldDiff {
	var d plan.Differ
	d.Str("namespace", aws.ToString(a.Namespace), s.Namespace)
	d.Str("metric", aws.ToString(a.MetricName), s.MetricName)
	d.Map("dimensions", dims(a.Dimensions), s.Dimensions)
	d.Str("statistic", string(a.Statistic), s.Statistic)
	d.Str("period", fmtDuration(time.Duration(aws.ToInt32(a.Period))*time.Second), fmtDuration(s.Period))
	d.Num("evaluation_periods", float64(aws.ToInt32(a.EvaluationPeriods)), float64(s.EvaluationPeriods))
	dp := aws.ToInt32(a.DatapointsToAlarm)
	if dp == 0 {
		dp = aws.ToInt32(a.EvaluationPeriods)
	}
	d.Num("datapoints_to_alarm", float64(dp), float64(s.DatapointsToAlarm))
	d.Num("threshold", aws.ToFloat64(a.Threshold), s.Threshold)
	d.Str("comparison", string(a.ComparisonOperator), s.Comparison)
	d.Str("treat_missing_data", aws.ToString(a.TreatMissingData), s.TreatMissingData)
	d.Set("alarm_actions", a.AlarmActions, []string{s.TopicARN})
	d.Set("ok_actions", a.OKActions, []string{s.TopicARN})
	if a.ActionsEnabled != nil && !*a.ActionsEnabled {
		d.Str("actions_enabled", "false", "true")
	}
	d.Str("description", aws.ToString(a.AlarmDescription), s.Description)
	return d
}

func putMetricAlarmInput(s MetricAlarmSpec) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(s.Name),
		AlarmDescription:   aws.String(s.Description),
		Namespace:          aws.String(s.Namespace),
		MetricName:         aws.String(s.MetricName),
		Dimensions:         toDims(s.Dimensions),
		Statistic:          cwtypes.Statistic(s.Statistic),
		Period:             aws.Int32(int32(s.Period / time.Second)),
		EvaluationPeriods:  aws.Int32(int32(s.EvaluationPeriods)),
		DatapointsToAlarm:  aws.Int32(int32(s.DatapointsToAlarm)),
		Threshold:          aws.Float64(s.Threshold),
		ComparisonOperator: cwtypes.ComparisonOperator(s.Comparison),
		TreatMissingData:   aws.String(s.TreatMissingData),
		ActionsEnabled:     aws.Bool(true),
		AlarmActions:       []string{s.TopicARN},
		OKActions:          []string{s.TopicARN},
		Tags:               cwTags(managedTags(s.Component, s.Kind)),
	}
}

// planMetricAlarm plans the alarm and its tags.
func planMetricAlarm(ctx context.Context, deps Deps, s MetricAlarmSpec, topicARN func() string) ([]plan.Step, error) {
	if deps.CloudWatch == nil {
		return nil, errors.New("plan metric alarm: no CloudWatch client")
	}
	s.TopicARN = topicARN()
	live, err := describeAlarm(ctx, deps.CloudWatch, s.Name)
	if err != nil {
		return nil, err
	}
	put := func(ctx context.Context) error {
		spec := s
		spec.TopicARN = topicARN()
		if live.log != nil {
			// The name belongs to a log alarm: a metric alarm cannot replace
			// it in place.
			if _, err := deps.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{s.Name}}); err != nil {
				return fmt.Errorf("delete log alarm %q to replace it with a metric alarm: %w", s.Name, err)
			}
		}
		if _, err := deps.CloudWatch.PutMetricAlarm(ctx, putMetricAlarmInput(spec)); err != nil {
			return fmt.Errorf("put metric alarm %q: %w", s.Name, err)
		}
		return nil
	}
	var steps []plan.Step
	switch {
	case !live.exists():
		steps = append(steps, plan.Create(ResMetricAlarm, s.Name, put))
	case live.log != nil:
		steps = append(steps, plan.Update(ResMetricAlarm, s.Name,
			[]plan.FieldDiff{{Field: "type", Old: "log alarm", New: "metric alarm"}}, put))
	default:
		if d := diffMetricAlarm(live.metric, s); len(d) > 0 {
			steps = append(steps, plan.Update(ResMetricAlarm, s.Name, d, put))
		} else {
			steps = append(steps, plan.Unchanged(ResMetricAlarm, s.Name))
		}
		ts, err := planAlarmTags(ctx, deps, live, s.Name, managedTags(s.Component, s.Kind))
		if err != nil {
			return nil, err
		}
		steps = append(steps, ts...)
	}
	return steps, nil
}

// EnsureMetricAlarm makes the metric alarm spec describes exist exactly:
// spec.Statistic of the metric over spec.Period compared with the threshold,
// ALARM and OK notifications to spec.TopicARN (from EnsureTopic), tagged as
// opsctl's. Only the fields that differ are written, and nothing when none
// does; the returned changes carry the field-by-field diff. Uses
// deps.CloudWatch.
func EnsureMetricAlarm(ctx context.Context, deps Deps, spec MetricAlarmSpec) ([]plan.Change, error) {
	spec = spec.withDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	steps, err := planMetricAlarm(ctx, deps, spec, func() string { return spec.TopicARN })
	if err != nil {
		return nil, err
	}
	return deps.execute(ctx, steps, spec.DryRun, nil)
}
