package alarms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Finding kinds.
const (
	FindAlarmWithoutActions   = "alarm-without-actions"
	FindTopicUnconfirmed      = "topic-without-confirmed-subscription"
	FindFilterWithoutAlarm    = "metric-filter-without-alarm"
	FindDLQWithoutAlarm       = "dlq-without-alarm"
	FindStuckInsufficientData = "alarm-stuck-insufficient-data"
	FindConfirmationExpired   = "email-confirmation-expired"
	FindTopicOpenToPublish    = "topic-policy-lets-others-publish"
)

// Finding is one silent failure.
type Finding struct {
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	Detail   string `json:"detail"`
	Fix      string `json:"fix"`
}

// AuditOptions are the inputs of Audit.
type AuditOptions struct {
	// StuckAfter is how long INSUFFICIENT_DATA may last (default 24h).
	StuckAfter time.Duration
	// Now is the audit time (default: deps.Clock's now).
	Now time.Time
}

// Validate checks the options without calling AWS.
func (o AuditOptions) Validate() error {
	if o.StuckAfter < 0 {
		return opserr.Usagef("invalid --stuck-after %s: must not be negative", o.StuckAfter)
	}
	return nil
}

// AuditResult is the audit's document.
type AuditResult struct {
	Checked  AuditCounts `json:"checked"`
	Findings []Finding   `json:"findings"`
}

// AuditCounts says how much was looked at.
type AuditCounts struct {
	Alarms        int `json:"alarms"`
	Topics        int `json:"topics"`
	MetricFilters int `json:"metric_filters"`
	DLQs          int `json:"dlqs"`
}

// Audit finds the failures nobody notices, across every alarm of the account
// and region (not only opsctl's): alarms without actions (or with actions
// disabled), topics used by alarms that have no confirmed subscription,
// metric filters whose metric no alarm watches, dead-letter queues without an
// alarm, and alarms stuck in INSUFFICIENT_DATA. Uses deps.CloudWatch,
// deps.Logs, deps.SNS and deps.SQS (a nil Logs or SQS skips that check).
func Audit(ctx context.Context, deps Deps, opts AuditOptions) (AuditResult, error) {
	if err := opts.Validate(); err != nil {
		return AuditResult{}, err
	}
	if opts.StuckAfter == 0 {
		opts.StuckAfter = 24 * time.Hour
	}
	if opts.Now.IsZero() {
		opts.Now = deps.clock().Now()
	}
	if deps.CloudWatch == nil {
		return AuditResult{}, errors.New("audit: no CloudWatch client")
	}
	res := AuditResult{Findings: []Finding{}}
	add := func(kind, resource, detail, fix string) {
		res.Findings = append(res.Findings, Finding{Kind: kind, Resource: resource, Detail: detail, Fix: fix})
	}
	var metricAlarms []cwtypes.MetricAlarm
	var logAlarms []cwtypes.LogAlarm
	p := cloudwatch.NewDescribeAlarmsPaginator(deps.CloudWatch, &cloudwatch.DescribeAlarmsInput{AlarmTypes: allAlarmTypes})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("list alarms: %w", err)
		}
		metricAlarms = append(metricAlarms, page.MetricAlarms...)
		logAlarms = append(logAlarms, page.LogAlarms...)
	}
	res.Checked.Alarms = len(metricAlarms) + len(logAlarms)
	topics := map[string][]string{} // topic ARN → alarms using it
	seenUse := map[string]bool{}
	check := func(name string, l liveAlarm, enabled *bool, st cwtypes.StateValue, since *time.Time) {
		acts := l.actions()
		var alarmActs []string
		if l.metric != nil {
			alarmActs = l.metric.AlarmActions
		} else {
			alarmActs = l.log.AlarmActions
		}
		switch {
		case len(alarmActs) == 0:
			add(FindAlarmWithoutActions, name, "the alarm has no ALARM action: when it fires, nobody is told",
				"re-create it with `opsctl alarm add` (or add an SNS action)")
		case enabled != nil && !*enabled:
			add(FindAlarmWithoutActions, name, "the alarm's actions are disabled: when it fires, nobody is told",
				"aws cloudwatch enable-alarm-actions --alarm-names "+name)
		}
		for _, a := range acts {
			if isSNS(a) && !seenUse[a+"\x00"+name] {
				seenUse[a+"\x00"+name] = true
				topics[a] = append(topics[a], name)
			}
		}
		if st == cwtypes.StateValueInsufficientData && since != nil && opts.Now.Sub(*since) > opts.StuckAfter {
			add(FindStuckInsufficientData, name,
				fmt.Sprintf("INSUFFICIENT_DATA since %s (over %s): its metric has no data, so it can never fire", since.UTC().Format(time.RFC3339), opts.StuckAfter),
				"check the metric name, namespace and dimensions, and that a metric filter has default value 0")
		}
	}
	for i := range metricAlarms {
		a := &metricAlarms[i]
		check(aws.ToString(a.AlarmName), liveAlarm{metric: a}, a.ActionsEnabled, a.StateValue, a.StateTransitionedTimestamp)
	}
	for i := range logAlarms {
		a := &logAlarms[i]
		check(aws.ToString(a.AlarmName), liveAlarm{log: a}, a.ActionsEnabled, a.StateValue, a.StateTransitionedTimestamp)
	}
	// Topics without a confirmed subscription.
	if deps.SNS != nil {
		arns := make([]string, 0, len(topics))
		for a := range topics {
			arns = append(arns, a)
		}
		sort.Strings(arns)
		res.Checked.Topics = len(arns)
		for _, arn := range arns {
			subs, err := topicSubscriptionsAll(ctx, deps, arn)
			if err != nil {
				add(FindTopicUnconfirmed, topicNameOf(arn), fmt.Sprintf("cannot read the topic (%v); used by %v", err, topics[arn]),
					"check that the topic exists; alarms notifying a missing topic reach nobody")
				continue
			}
			confirmed, pending := 0, 0
			for _, s := range subs {
				if isConfirmed(s) {
					confirmed++
				} else {
					pending++
				}
			}
			if confirmed == 0 {
				add(FindTopicUnconfirmed, topicNameOf(arn),
					fmt.Sprintf("no confirmed subscription (%d pending) on the topic of %v: alarm emails reach nobody", pending, topics[arn]),
					"ask each subscriber to click the link in the confirmation email; SNS deletes requests not confirmed within 48 hours, after which re-running `opsctl alarm add ... --email ADDR` sends a new one")
			}
			if err := auditExpired(ctx, deps, arn, opts.Now, add); err != nil {
				return res, err
			}
			if err := auditTopicPolicy(ctx, deps, arn, add); err != nil {
				return res, err
			}
		}
	}
	// Metric filters whose metric has no alarm.
	if deps.Logs != nil {
		watched := map[string]bool{}
		for _, a := range metricAlarms {
			watched[aws.ToString(a.Namespace)+"\x00"+aws.ToString(a.MetricName)] = true
			for _, q := range a.Metrics {
				if q.MetricStat != nil && q.MetricStat.Metric != nil {
					watched[aws.ToString(q.MetricStat.Metric.Namespace)+"\x00"+aws.ToString(q.MetricStat.Metric.MetricName)] = true
				}
			}
		}
		fp := cloudwatchlogs.NewDescribeMetricFiltersPaginator(deps.Logs, &cloudwatchlogs.DescribeMetricFiltersInput{})
		for fp.HasMorePages() {
			page, err := fp.NextPage(ctx)
			if err != nil {
				return res, fmt.Errorf("list metric filters: %w", err)
			}
			for _, f := range page.MetricFilters {
				res.Checked.MetricFilters++
				for _, t := range f.MetricTransformations {
					key := aws.ToString(t.MetricNamespace) + "\x00" + aws.ToString(t.MetricName)
					if !watched[key] {
						add(FindFilterWithoutAlarm, aws.ToString(f.LogGroupName)+":"+aws.ToString(f.FilterName),
							fmt.Sprintf("metric %s/%s counts pattern %s but no alarm watches it", aws.ToString(t.MetricNamespace), aws.ToString(t.MetricName), aws.ToString(f.FilterPattern)),
							"opsctl alarm add NAME --log-group "+aws.ToString(f.LogGroupName)+" --pattern '"+aws.ToString(f.FilterPattern)+"' --email you@example.com")
					}
				}
			}
		}
	}
	// DLQs without an alarm.
	if deps.SQS != nil {
		dlqs, err := DiscoverDLQs(ctx, deps)
		if err != nil {
			return res, err
		}
		res.Checked.DLQs = len(dlqs)
		alarmed := map[string]bool{}
		for _, a := range metricAlarms {
			if aws.ToString(a.Namespace) == "AWS/SQS" && len(a.AlarmActions) > 0 {
				if q := dims(a.Dimensions)["QueueName"]; q != "" {
					alarmed[q] = true
				}
			}
		}
		for _, d := range dlqs {
			if !alarmed[d.Name] {
				add(FindDLQWithoutAlarm, d.Name, fmt.Sprintf("dead-letter queue of %v has no alarm with an action: failed messages pile up unseen", d.Sources),
					"opsctl alarm add-dlq "+d.Name+" --email you@example.com")
			}
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		if res.Findings[i].Kind != res.Findings[j].Kind {
			return res.Findings[i].Kind < res.Findings[j].Kind
		}
		return res.Findings[i].Resource < res.Findings[j].Resource
	})
	return res, nil
}

// topicSubscriptionsAll returns the subscription ARNs (or placeholders) of
// every subscription of a topic, whatever its protocol.
func topicSubscriptionsAll(ctx context.Context, deps Deps, arn string) ([]string, error) {
	subs, err := allSubscriptions(ctx, deps.SNS, arn)
	if err != nil {
		return nil, err
	}
	return subs, nil
}

// auditExpired reports the addresses opsctl asked to confirm (the topic's
// "opsctl:requested:ADDR" tags) that have no confirmed subscription more than
// ConfirmationWindow later: SNS has deleted (or is about to delete) the
// request, so nobody at that address gets alarm emails and nothing else says so.
func auditExpired(ctx context.Context, deps Deps, arn string, now time.Time, add func(kind, resource, detail, fix string)) error {
	tags, err := deps.SNS.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("read tags of SNS topic %s: %w", topicNameOf(arn), err)
	}
	var subs map[string]snstypes.Subscription
	for _, t := range tags.Tags {
		email, ok := strings.CutPrefix(aws.ToString(t.Key), tagRequested)
		if !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339, aws.ToString(t.Value))
		if err != nil || now.Sub(at) < ConfirmationWindow {
			continue
		}
		if subs == nil {
			if subs, err = topicSubscriptions(ctx, deps.SNS, arn); err != nil {
				return err
			}
		}
		if s, ok := subs[email]; ok && isConfirmed(aws.ToString(s.SubscriptionArn)) {
			continue
		}
		add(FindConfirmationExpired, topicNameOf(arn)+":"+email,
			fmt.Sprintf("%s was asked to confirm on %s and has no confirmed subscription %s later: SNS deletes requests not confirmed within 48 hours, so alarm emails never reach %s",
				email, at.UTC().Format(time.RFC3339), fmtDuration(now.Sub(at).Truncate(time.Hour)), email),
			"re-run the `opsctl alarm add`/`apply` that names "+email+" to send a new confirmation email, and ask them to click it within 48 hours")
	}
	return nil
}

// auditTopicPolicy reports the Allow statements of a topic's policy that let
// someone other than this account, or this account's CloudWatch alarms,
// publish: a public principal ("*"), another account, or a service principal
// without an aws:SourceAccount / aws:SourceArn / aws:SourceOwner condition
// (any account's resources could then use the service to publish: the
// confused deputy).
func auditTopicPolicy(ctx context.Context, deps Deps, arn string, add func(kind, resource, detail, fix string)) error {
	attrs, err := deps.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("read the policy of SNS topic %s: %w", topicNameOf(arn), err)
	}
	account := ""
	if parts := strings.Split(arn, ":"); len(parts) == 6 {
		account = parts[4]
	}
	for _, why := range publishGrants(attrs.Attributes["Policy"], account) {
		add(FindTopicOpenToPublish, topicNameOf(arn), why,
			"remove or narrow the statement (a condition on aws:SourceAccount or aws:SourceArn), or re-run `opsctl alarm add` on a topic opsctl created")
	}
	return nil
}

// publishGrants explains each Allow statement of a topic policy that lets
// others than account publish.
func publishGrants(policy, account string) []string {
	if policy == "" {
		return nil
	}
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return []string{"the topic policy is not valid JSON"}
	}
	var stmts []map[string]any
	if json.Unmarshal(doc.Statement, &stmts) != nil {
		var one map[string]any
		if json.Unmarshal(doc.Statement, &one) != nil {
			return nil
		}
		stmts = []map[string]any{one}
	}
	var out []string
	for i, st := range stmts {
		if eff, _ := st["Effect"].(string); eff != "Allow" || !allowsPublish(st["Action"]) {
			continue
		}
		sid, _ := st["Sid"].(string)
		if sid == "" {
			sid = fmt.Sprintf("#%d", i+1)
		}
		cond, _ := st["Condition"].(map[string]any)
		scoped := conditionNames(cond, account)
		for _, p := range principals(st["Principal"]) {
			switch {
			case p.kind == "AWS" && p.id == "*" && !scoped:
				out = append(out, fmt.Sprintf("statement %s lets anyone (Principal *) publish", sid))
			case p.kind == "AWS" && p.id != "*" && account != "" && !strings.Contains(p.id, account):
				out = append(out, fmt.Sprintf("statement %s lets %s (another account) publish", sid, p.id))
			case p.kind == "Service" && !scoped:
				out = append(out, fmt.Sprintf("statement %s lets %s publish for any account (no aws:SourceAccount or aws:SourceArn condition)", sid, p.id))
			}
		}
	}
	return out
}

func allowsPublish(action any) bool {
	var acts []string
	switch a := action.(type) {
	case string:
		acts = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				acts = append(acts, s)
			}
		}
	}
	for _, a := range acts {
		switch strings.ToLower(a) {
		case "*", "sns:*", "sns:publish", "sns:pub*":
			return true
		}
	}
	return false
}

type principal struct{ kind, id string }

func principals(p any) []principal {
	var out []principal
	switch v := p.(type) {
	case string:
		out = append(out, principal{"AWS", v})
	case map[string]any:
		for kind, ids := range v {
			switch x := ids.(type) {
			case string:
				out = append(out, principal{kind, x})
			case []any:
				for _, id := range x {
					if s, ok := id.(string); ok {
						out = append(out, principal{kind, s})
					}
				}
			}
		}
	}
	return out
}

// conditionNames reports whether a statement's condition pins the caller or
// source to this account (aws:SourceAccount, aws:SourceOwner,
// aws:PrincipalAccount, aws:SourceArn, aws:PrincipalOrgID).
func conditionNames(cond map[string]any, account string) bool {
	for _, kv := range cond {
		m, _ := kv.(map[string]any)
		for k, v := range m {
			switch strings.ToLower(k) {
			case "aws:sourcearn", "aws:principalorgid":
				return true
			case "aws:sourceaccount", "aws:sourceowner", "aws:principalaccount":
				if s, ok := v.(string); ok && (s == account || account == "") {
					return true
				}
			}
		}
	}
	return false
}
