package alarms

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// description is the alarm description opsctl writes. It names what the
// alarm watches, not its numbers (those are the alarm's own fields, so a
// changed threshold shows once in the diff); `alarm list` reads the patterns
// of a log alarm back from it.
func description(s Spec) string {
	switch s.Kind {
	case KindDLQ:
		return fmt.Sprintf("opsctl: dead-letter queue %s has messages", s.Queue)
	case KindLogAlarm:
		return fmt.Sprintf("opsctl: lines of %s matching %s within the period (the email includes them)",
			s.LogGroup, strings.Join(s.Patterns, " | "))
	}
	return fmt.Sprintf("opsctl: lines of %s matching %s within the period", s.LogGroup, strings.Join(s.Patterns, " | "))
}

// dlqAlarmSpec is the metric alarm of a DLQ spec.
func dlqAlarmSpec(s Spec) MetricAlarmSpec {
	return MetricAlarmSpec{
		Name: AlarmName(s.Name), Description: description(s),
		Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible",
		Dimensions: map[string]string{"QueueName": s.Queue},
		Statistic:  "Maximum", Period: s.Period, EvaluationPeriods: s.EvaluationPeriods,
		DatapointsToAlarm: s.EvaluationPeriods,
		Threshold:         0, Comparison: "GreaterThanThreshold", TreatMissingData: "notBreaching",
		Kind: KindDLQ, Component: ComponentAlarm,
	}
}

// patternAlarmSpec is the metric alarm of a log-pattern spec.
func patternAlarmSpec(s Spec) MetricAlarmSpec {
	return MetricAlarmSpec{
		Name: AlarmName(s.Name), Description: description(s),
		Namespace: MetricNamespace, MetricName: s.Name,
		Statistic: "Sum", Period: s.Period, EvaluationPeriods: s.EvaluationPeriods,
		DatapointsToAlarm: s.EvaluationPeriods,
		Threshold:         s.Threshold, Comparison: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching",
		Kind: KindLogPattern, Component: ComponentAlarm,
	}
}

// alarmFilters finds the metric filters that belong to the alarm called
// name: those feeding its metric (in any log group, so a changed --log-group
// moves them) and those carrying its name prefix in logGroup.
func alarmFilters(ctx context.Context, logs LogsAPI, name, logGroup string) ([]logstypes.MetricFilter, error) {
	seen := map[string]bool{}
	var out []logstypes.MetricFilter
	add := func(in *cloudwatchlogs.DescribeMetricFiltersInput) error {
		p := cloudwatchlogs.NewDescribeMetricFiltersPaginator(logs, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				var nf *logstypes.ResourceNotFoundException
				if errors.As(err, &nf) {
					return nil
				}
				return err
			}
			for _, f := range page.MetricFilters {
				key := aws.ToString(f.LogGroupName) + "\x00" + aws.ToString(f.FilterName)
				if !seen[key] {
					seen[key] = true
					out = append(out, f)
				}
			}
		}
		return nil
	}
	if err := add(&cloudwatchlogs.DescribeMetricFiltersInput{MetricName: aws.String(name), MetricNamespace: aws.String(MetricNamespace)}); err != nil {
		return nil, fmt.Errorf("describe metric filters of %q: %w", name, err)
	}
	if logGroup != "" {
		if err := add(&cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String(logGroup), FilterNamePrefix: aws.String(filterPrefix(name))}); err != nil {
			return nil, fmt.Errorf("describe metric filters in %s: %w", logGroup, err)
		}
	}
	return out, nil
}

func transformation(name string) logstypes.MetricTransformation {
	return logstypes.MetricTransformation{
		MetricName: aws.String(name), MetricNamespace: aws.String(MetricNamespace),
		MetricValue: aws.String("1"), DefaultValue: aws.Float64(0),
	}
}

func diffFilter(f logstypes.MetricFilter, pattern, name string) []plan.FieldDiff {
	var d plan.Differ
	d.Str("pattern", aws.ToString(f.FilterPattern), pattern)
	var mt logstypes.MetricTransformation
	if len(f.MetricTransformations) > 0 {
		mt = f.MetricTransformations[0]
	}
	d.Str("metric", aws.ToString(mt.MetricNamespace)+"/"+aws.ToString(mt.MetricName), MetricNamespace+"/"+name)
	d.Str("metric_value", aws.ToString(mt.MetricValue), "1")
	dv := "(none)"
	if mt.DefaultValue != nil {
		dv = strconv.FormatFloat(*mt.DefaultValue, 'f', -1, 64)
	}
	d.Str("default_value", dv, "0")
	if len(mt.Dimensions) > 0 {
		d.Map("dimensions", mt.Dimensions, nil)
	}
	return d
}

// planFilters plans the metric filters of a log-pattern alarm (want nil
// deletes them all, for a log alarm or rm).
func planFilters(ctx context.Context, deps Deps, s Spec, want []string) ([]plan.Step, error) {
	if deps.Logs == nil {
		return nil, errors.New("plan metric filters: no CloudWatch Logs client")
	}
	have, err := alarmFilters(ctx, deps.Logs, s.Name, s.LogGroup)
	if err != nil {
		return nil, err
	}
	type key struct{ group, name string }
	existing := map[key]logstypes.MetricFilter{}
	for _, f := range have {
		existing[key{aws.ToString(f.LogGroupName), aws.ToString(f.FilterName)}] = f
	}
	var steps []plan.Step
	wanted := map[key]bool{}
	for i, p := range want {
		k := key{s.LogGroup, filterName(s.Name, i+1)}
		wanted[k] = true
		pattern := p
		put := func(ctx context.Context) error {
			if _, err := deps.Logs.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
				LogGroupName: aws.String(k.group), FilterName: aws.String(k.name), FilterPattern: aws.String(pattern),
				MetricTransformations: []logstypes.MetricTransformation{transformation(s.Name)},
			}); err != nil {
				return fmt.Errorf("put metric filter %q on %s: %w", k.name, k.group, err)
			}
			return nil
		}
		label := k.group + ":" + k.name
		f, ok := existing[k]
		switch {
		case !ok:
			steps = append(steps, plan.New(ResMetricFilter, label, plan.ActionCreate,
				[]plan.FieldDiff{{Field: "pattern", Old: "(none)", New: pattern}}, put))
		default:
			if d := diffFilter(f, pattern, s.Name); len(d) > 0 {
				steps = append(steps, plan.Update(ResMetricFilter, label, d, put))
			} else {
				steps = append(steps, plan.Unchanged(ResMetricFilter, label))
			}
		}
	}
	for _, f := range have {
		k := key{aws.ToString(f.LogGroupName), aws.ToString(f.FilterName)}
		if wanted[k] {
			continue
		}
		steps = append(steps, plan.New(ResMetricFilter, k.group+":"+k.name, plan.ActionDelete,
			[]plan.FieldDiff{{Field: "pattern", Old: aws.ToString(f.FilterPattern), New: "(none)"}},
			func(ctx context.Context) error {
				if _, err := deps.Logs.DeleteMetricFilter(ctx, &cloudwatchlogs.DeleteMetricFilterInput{
					LogGroupName: aws.String(k.group), FilterName: aws.String(k.name),
				}); err != nil {
					var nf *logstypes.ResourceNotFoundException
					if errors.As(err, &nf) {
						return nil
					}
					return fmt.Errorf("delete metric filter %q on %s: %w", k.name, k.group, err)
				}
				return nil
			}))
	}
	return steps, nil
}

func rateExpression(p time.Duration) string {
	m := int(p / time.Minute)
	if m == 1 {
		return "rate(1 minute)"
	}
	return fmt.Sprintf("rate(%d minutes)", m)
}

// logAlarmInput is the PutLogAlarm input of a log-lines spec.
func logAlarmInput(s Spec, topicARN, roleARN string) (*cloudwatch.PutLogAlarmInput, error) {
	q, err := insightsQuery(s.Patterns)
	if err != nil {
		return nil, err
	}
	n := int32(s.EvaluationPeriods)
	return &cloudwatch.PutLogAlarmInput{
		AlarmName:              aws.String(AlarmName(s.Name)),
		AlarmDescription:       aws.String(description(s)),
		ComparisonOperator:     cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Threshold:              aws.Float64(s.Threshold),
		QueryResultsToEvaluate: aws.Int32(n),
		QueryResultsToAlarm:    aws.Int32(n),
		ScheduledQueryConfiguration: &cwtypes.ScheduledQueryConfiguration{
			QueryString:           aws.String(q),
			AggregationExpression: aws.String("count(*)"),
			LogGroupIdentifiers:   []string{s.LogGroup},
			ScheduledQueryRoleARN: aws.String(roleARN),
			ScheduleConfiguration: &cwtypes.ScheduleConfiguration{
				ScheduleExpression: aws.String(rateExpression(s.Period)),
				StartTimeOffset:    aws.Int64(int64(s.Period / time.Second)),
			},
		},
		ActionLogLineCount:   aws.Int32(int32(s.LogLines)),
		ActionLogLineRoleArn: aws.String(roleARN),
		TreatMissingData:     aws.String("notBreaching"),
		ActionsEnabled:       aws.Bool(true),
		AlarmActions:         []string{topicARN},
		OKActions:            []string{topicARN},
		Tags:                 cwTags(managedTags(ComponentAlarm, KindLogAlarm)),
	}, nil
}

func diffLogAlarm(a *cwtypes.LogAlarm, want *cloudwatch.PutLogAlarmInput) []plan.FieldDiff {
	var d plan.Differ
	sq := a.ScheduledQueryConfiguration
	if sq == nil {
		sq = &cwtypes.ScheduledQueryConfiguration{}
	}
	sc := sq.ScheduleConfiguration
	if sc == nil {
		sc = &cwtypes.ScheduleConfiguration{}
	}
	w := want.ScheduledQueryConfiguration
	d.Str("query", aws.ToString(sq.QueryString), aws.ToString(w.QueryString))
	d.Str("aggregation", aws.ToString(sq.AggregationExpression), aws.ToString(w.AggregationExpression))
	d.Set("log_groups", sq.LogGroupIdentifiers, w.LogGroupIdentifiers)
	d.Str("query_role", aws.ToString(sq.ScheduledQueryRoleARN), aws.ToString(w.ScheduledQueryRoleARN))
	d.Str("schedule", aws.ToString(sc.ScheduleExpression), aws.ToString(w.ScheduleConfiguration.ScheduleExpression))
	d.Num("query_window_seconds", float64(aws.ToInt64(sc.StartTimeOffset)), float64(aws.ToInt64(w.ScheduleConfiguration.StartTimeOffset)))
	d.Num("threshold", aws.ToFloat64(a.Threshold), aws.ToFloat64(want.Threshold))
	d.Str("comparison", string(a.ComparisonOperator), string(want.ComparisonOperator))
	d.Num("evaluation_periods", float64(aws.ToInt32(a.QueryResultsToEvaluate)), float64(aws.ToInt32(want.QueryResultsToEvaluate)))
	d.Num("datapoints_to_alarm", float64(aws.ToInt32(a.QueryResultsToAlarm)), float64(aws.ToInt32(want.QueryResultsToAlarm)))
	d.Num("log_lines", float64(aws.ToInt32(a.ActionLogLineCount)), float64(aws.ToInt32(want.ActionLogLineCount)))
	d.Str("log_line_role", aws.ToString(a.ActionLogLineRoleArn), aws.ToString(want.ActionLogLineRoleArn))
	d.Str("treat_missing_data", aws.ToString(a.TreatMissingData), aws.ToString(want.TreatMissingData))
	d.Set("alarm_actions", a.AlarmActions, want.AlarmActions)
	d.Set("ok_actions", a.OKActions, want.OKActions)
	if a.ActionsEnabled != nil && !*a.ActionsEnabled {
		d.Str("actions_enabled", "false", "true")
	}
	d.Str("description", aws.ToString(a.AlarmDescription), aws.ToString(want.AlarmDescription))
	return d
}

// IAM propagation retries of PutLogAlarm after the query role was created.
const (
	roleRetries    = 6
	roleRetryDelay = 2 * time.Second // then ×1.5 per attempt, up to 10 s
)

// isRolePropagation recognises CloudWatch rejecting a role it cannot assume
// yet (a validation error that names the role).
func isRolePropagation(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ValidationError", "InvalidParameterValue", "InvalidParameterCombination", "InvalidParameterValueException", "AccessDenied", "AccessDeniedException":
		msg := strings.ToLower(ae.ErrorMessage())
		return strings.Contains(msg, "role") || strings.Contains(msg, "assume")
	}
	return false
}

// planLogAlarm plans a log alarm (role, policy, PutLogAlarm).
func planLogAlarm(ctx context.Context, deps Deps, id *identity, s Spec, live liveAlarm, topicARN func() string) ([]plan.Step, error) {
	rp, err := planQueryRole(ctx, deps, id, s.Name, s.LogGroup, ComponentAlarm)
	if err != nil {
		return nil, err
	}
	steps := rp.steps
	name := AlarmName(s.Name)
	put := func(ctx context.Context) error {
		in, err := logAlarmInput(s, topicARN(), rp.arn)
		if err != nil {
			return err
		}
		if live.metric != nil {
			if _, err := deps.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}}); err != nil {
				return fmt.Errorf("delete metric alarm %q to replace it with a log alarm: %w", name, err)
			}
		}
		// A role created or changed moments ago may not be assumable yet
		// (IAM propagation): wait and retry, at most roleRetries times.
		attempt := 0
		_, err = wait.Until(ctx, wait.Options{What: "put log alarm " + name, Clock: deps.Clock,
			Interval: roleRetryDelay, MaxInterval: 5 * roleRetryDelay, Multiplier: 1.5},
			func(ctx context.Context) (wait.Status, error) {
				attempt++
				_, err := deps.CloudWatch.PutLogAlarm(ctx, in)
				if err == nil {
					return wait.Status{Done: true}, nil
				}
				if !rp.created || attempt >= roleRetries || !isRolePropagation(err) {
					return wait.Status{}, err
				}
				deps.log().Info("waiting for the new IAM role to propagate", "role", rp.name, "attempt", attempt)
				return wait.Status{State: "role not yet assumable"}, nil
			})
		if err != nil {
			return fmt.Errorf("put log alarm %q: %w", name, err)
		}
		return nil
	}
	switch {
	case !live.exists():
		steps = append(steps, plan.Create(ResLogAlarm, name, put))
	case live.metric != nil:
		steps = append(steps, plan.Update(ResLogAlarm, name,
			[]plan.FieldDiff{{Field: "type", Old: "metric alarm", New: "log alarm"}}, put))
	default:
		want, err := logAlarmInput(s, topicARN(), rp.arn)
		if err != nil {
			return nil, err
		}
		if d := diffLogAlarm(live.log, want); len(d) > 0 {
			steps = append(steps, plan.Update(ResLogAlarm, name, d, put))
		} else {
			steps = append(steps, plan.Unchanged(ResLogAlarm, name))
		}
		ts, err := planAlarmTags(ctx, deps, live, name, managedTags(ComponentAlarm, KindLogAlarm))
		if err != nil {
			return nil, err
		}
		steps = append(steps, ts...)
	}
	// A log alarm has no metric filters: remove those of an earlier
	// log-pattern version of this alarm, after the alarm is replaced.
	fs, err := planFilters(ctx, deps, s, nil)
	if err != nil {
		return nil, err
	}
	return append(steps, fs...), nil
}

// planAlarm plans everything of one alarm except its topic. When the alarm
// moves to another topic, the topic it leaves is deleted after the move if
// opsctl created it and nothing else (nor keepTopics) uses it.
func planAlarm(ctx context.Context, deps Deps, id *identity, s Spec, topicARN func() string, keepTopics map[string]bool) ([]plan.Step, error) {
	if deps.CloudWatch == nil {
		return nil, errors.New("plan alarm: no CloudWatch client")
	}
	name := AlarmName(s.Name)
	live, err := describeAlarm(ctx, deps.CloudWatch, name)
	if err != nil {
		return nil, err
	}
	steps, err := planAlarmParts(ctx, deps, id, s, live, topicARN)
	if err != nil {
		return nil, err
	}
	left := map[string]bool{}
	for _, a := range live.actions() {
		if !isSNS(a) || topicNameOf(a) == s.Topic || left[a] {
			continue
		}
		left[a] = true
		step, note, err := planTopicDelete(ctx, deps, a, name, keepTopics)
		if err != nil {
			return nil, err
		}
		if step != nil {
			steps = append(steps, *step)
		} else if note != "" {
			deps.log().Info(note)
		}
	}
	return steps, nil
}

func planAlarmParts(ctx context.Context, deps Deps, id *identity, s Spec, live liveAlarm, topicARN func() string) ([]plan.Step, error) {
	switch s.Kind {
	case KindLogAlarm:
		return planLogAlarm(ctx, deps, id, s, live, topicARN)
	case KindDLQ:
		return planMetricAlarm(ctx, deps, dlqAlarmSpec(s), topicARN)
	}
	// Log pattern: filters first (the alarm's metric must exist), then the alarm.
	steps, err := planFilters(ctx, deps, s, s.Patterns)
	if err != nil {
		return nil, err
	}
	as, err := planMetricAlarm(ctx, deps, patternAlarmSpec(s), topicARN)
	if err != nil {
		return nil, err
	}
	steps = append(steps, as...)
	// A log alarm's role left by an earlier --log-lines version of this alarm
	// (also when that run failed after replacing the alarm) goes.
	rs, err := planDeleteRole(ctx, deps, s.Name)
	switch {
	case err != nil && live.log != nil:
		return nil, err
	case err != nil:
		deps.log().Warn("cannot check for a leftover log alarm role", "role", RoleName(s.Name), "error", err)
	default:
		steps = append(steps, rs...)
	}
	return steps, nil
}
