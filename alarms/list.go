package alarms

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// ListedAlarm is one alarm opsctl manages.
type ListedAlarm struct {
	Name      string `json:"name"`
	AlarmName string `json:"alarm_name"`
	Kind      string `json:"kind"`
	Component string `json:"component"`
	Target    string `json:"target"`
	Pattern   string `json:"pattern,omitempty"`
	State     string `json:"state"`
	Topic     string `json:"topic,omitempty"`
	Confirmed int    `json:"subscriptions_confirmed"`
	Pending   int    `json:"subscriptions_pending"`
}

// ListResult is the list command's document.
type ListResult struct {
	Alarms []ListedAlarm `json:"alarms"`
}

// List returns the alarms opsctl manages (name prefix "opsctl-" and the
// opsctl:managed tag) with their target, pattern, state, topic and how many
// of the topic's email subscriptions are confirmed or pending. Uses
// deps.CloudWatch, deps.Logs and deps.SNS.
func List(ctx context.Context, deps Deps) (ListResult, error) {
	managed, err := listManaged(ctx, deps.CloudWatch)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{Alarms: []ListedAlarm{}}
	type counts struct{ confirmed, pending int }
	topicSubs := map[string]counts{}
	for _, m := range managed {
		la := ListedAlarm{Name: ShortName(m.name), AlarmName: m.name, Kind: m.kind, Component: m.component}
		switch {
		case m.metric != nil:
			la.State = string(m.metric.StateValue)
			if d := dims(m.metric.Dimensions); d["QueueName"] != "" && aws.ToString(m.metric.Namespace) == "AWS/SQS" {
				la.Target = d["QueueName"]
			}
			if aws.ToString(m.metric.Namespace) == MetricNamespace && deps.Logs != nil {
				groups, patterns, err := filtersOf(ctx, deps.Logs, aws.ToString(m.metric.MetricName))
				if err != nil {
					return res, err
				}
				la.Target, la.Pattern = strings.Join(groups, ","), strings.Join(patterns, " | ")
			}
			if la.Target == "" {
				la.Target = aws.ToString(m.metric.Namespace) + "/" + aws.ToString(m.metric.MetricName)
			}
		case m.log != nil:
			la.State = string(m.log.StateValue)
			if sq := m.log.ScheduledQueryConfiguration; sq != nil {
				la.Target = strings.Join(sq.LogGroupIdentifiers, ",")
			}
			la.Pattern = patternsFromDescription(aws.ToString(m.log.AlarmDescription))
		}
		for _, a := range m.live().actions() {
			if !strings.Contains(a, ":sns:") {
				continue
			}
			la.Topic = topicNameOf(a)
			c, ok := topicSubs[a]
			if !ok && deps.SNS != nil {
				subs, err := topicSubscriptions(ctx, deps.SNS, a)
				if err != nil {
					deps.log().Warn("cannot read topic subscriptions", "topic", a, "error", err)
				}
				for _, s := range subs {
					if isConfirmed(aws.ToString(s.SubscriptionArn)) {
						c.confirmed++
					} else {
						c.pending++
					}
				}
				topicSubs[a] = c
			}
			la.Confirmed, la.Pending = c.confirmed, c.pending
			break
		}
		res.Alarms = append(res.Alarms, la)
	}
	return res, nil
}

// filtersOf returns the log groups and patterns of the metric filters that
// feed the opsctl metric called metric.
func filtersOf(ctx context.Context, logs LogsAPI, metric string) (groups, patterns []string, err error) {
	p := cloudwatchlogs.NewDescribeMetricFiltersPaginator(logs, &cloudwatchlogs.DescribeMetricFiltersInput{
		MetricName: aws.String(metric), MetricNamespace: aws.String(MetricNamespace),
	})
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("describe metric filters of %q: %w", metric, err)
		}
		for _, f := range page.MetricFilters {
			if g := aws.ToString(f.LogGroupName); !seen[g] {
				seen[g] = true
				groups = append(groups, g)
			}
			patterns = append(patterns, aws.ToString(f.FilterPattern))
		}
	}
	return groups, patterns, nil
}

// patternsFromDescription recovers the patterns from the description opsctl
// wrote ("... matching P1 | P2 within the period ...").
func patternsFromDescription(d string) string {
	i := strings.Index(d, " matching ")
	if i < 0 {
		return ""
	}
	rest := d[i+len(" matching "):]
	if j := strings.LastIndex(rest, " within "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
