package alarms

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/wait"
)

// TestOptions are the inputs of Test.
type TestOptions struct {
	Name string
	// Wait is how long to wait for each state to be observed (default 30s).
	Wait time.Duration
	// Poll is the interval between observations (default 1s).
	Poll time.Duration
}

// Validate checks the options without calling AWS.
func (o TestOptions) Validate() error {
	if o.Wait < 0 || o.Poll < 0 {
		return opserr.Usagef("invalid --wait: must not be negative")
	}
	return validateName(o.Name)
}

// Transition is one observed state change of an alarm.
type Transition struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// TestResult is what Test observed.
type TestResult struct {
	Name        string       `json:"name"`
	AlarmName   string       `json:"alarm_name"`
	Initial     string       `json:"initial_state"`
	Final       string       `json:"final_state"`
	Transitions []Transition `json:"transitions"`
	// Notifications are the alarm actions CloudWatch reports as executed
	// during the test (its "Action" history items): proof it published.
	Notifications []string `json:"notifications"`
	Topic         string   `json:"topic,omitempty"`
	Confirmed     int      `json:"subscriptions_confirmed"`
	Pending       int      `json:"subscriptions_pending"`
	Warnings      []string `json:"warnings,omitempty"`
}

const testReason = "opsctl alarm test: proving that the notification reaches its subscribers"

// Test sets the alarm to ALARM, waits until CloudWatch reports that state,
// sets it back to OK, waits again, and returns the transitions from the
// alarm's history, so the whole email path (alarm action → topic → inbox)
// runs once. When the topic has no confirmed subscription (the email would
// reach nobody) it says so and returns an opserr partial error with the
// result. Uses deps.CloudWatch and deps.SNS.
func Test(ctx context.Context, deps Deps, opts TestOptions) (TestResult, error) {
	if err := opts.Validate(); err != nil {
		return TestResult{}, err
	}
	if opts.Wait == 0 {
		opts.Wait = 30 * time.Second
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	name := AlarmName(opts.Name)
	live, err := describeAlarm(ctx, deps.CloudWatch, name)
	if err != nil {
		return TestResult{}, err
	}
	if !live.exists() {
		return TestResult{}, opserr.Usagef("no alarm %q (CloudWatch name %q): see `opsctl alarm list`", opts.Name, name)
	}
	res := TestResult{Name: opts.Name, AlarmName: name, Initial: state(live), Transitions: []Transition{}}
	for _, a := range live.actions() {
		if deps.SNS == nil || !isSNS(a) {
			continue
		}
		res.Topic = topicNameOf(a)
		subs, err := topicSubscriptions(ctx, deps.SNS, a)
		if err != nil {
			return res, err
		}
		for _, s := range subs {
			if isConfirmed(aws.ToString(s.SubscriptionArn)) {
				res.Confirmed++
			} else {
				res.Pending++
			}
		}
		break
	}
	// nobody is why no person will get the test email, when none will.
	var nobody string
	switch {
	case len(live.actions()) == 0:
		nobody = "the alarm has no actions: the state changes notify nobody"
	case res.Topic != "" && res.Confirmed == 0:
		nobody = fmt.Sprintf("topic %s has no confirmed email subscription: nobody will get the test email", res.Topic)
	}
	if nobody != "" {
		res.Warnings = append(res.Warnings, nobody)
	}
	started := deps.clock().Now().Add(-time.Second)
	for _, target := range []cwtypes.StateValue{cwtypes.StateValueAlarm, cwtypes.StateValueOk} {
		if _, err := deps.CloudWatch.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String(name), StateValue: target, StateReason: aws.String(testReason),
		}); err != nil {
			return res, fmt.Errorf("set alarm %s to %s: %w", name, target, err)
		}
		if err := waitState(ctx, deps, name, target, opts.Wait, opts.Poll); err != nil {
			return res, err
		}
	}
	res.Final = string(cwtypes.StateValueOk)
	tr, err := transitions(ctx, deps, name, started)
	if err != nil {
		return res, err
	}
	res.Transitions = tr
	res.Notifications, err = executedActions(ctx, deps, name, started)
	if err != nil {
		return res, err
	}
	if len(live.actions()) > 0 && len(res.Notifications) == 0 {
		res.Warnings = append(res.Warnings, "CloudWatch reports no executed action yet: check the alarm history for failed actions")
	}
	if nobody != "" {
		// The state changes ran but the point of the test, an email in
		// someone's inbox, cannot happen: a partial result (exit 3).
		return res, opserr.Partialf("alarm %s changed state, but %s", name, nobody)
	}
	return res, nil
}

// executedActions returns the summaries of the alarm's action history since
// start ("Successfully executed action arn:aws:sns:...").
func executedActions(ctx context.Context, deps Deps, name string, since time.Time) ([]string, error) {
	out := []string{}
	p := cloudwatch.NewDescribeAlarmHistoryPaginator(deps.CloudWatch, &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName: aws.String(name), HistoryItemType: cwtypes.HistoryItemTypeAction,
		StartDate: aws.Time(since), EndDate: aws.Time(deps.clock().Now().Add(time.Minute)),
		AlarmTypes: allAlarmTypes,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read action history of alarm %s: %w", name, err)
		}
		for _, h := range page.AlarmHistoryItems {
			out = append(out, aws.ToString(h.HistorySummary))
		}
	}
	return out, nil
}

func isSNS(arn string) bool { return len(arn) > 8 && arn[:4] == "arn:" && contains(arn, ":sns:") }

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func state(l liveAlarm) string {
	switch {
	case l.metric != nil:
		return string(l.metric.StateValue)
	case l.log != nil:
		return string(l.log.StateValue)
	}
	return ""
}

// waitState polls the alarm until CloudWatch reports want, for at most
// timeout on deps.Clock.
func waitState(ctx context.Context, deps Deps, name string, want cwtypes.StateValue, timeout, poll time.Duration) error {
	last, err := wait.Until(ctx, wait.Options{What: "alarm " + name + " to reach " + string(want), Clock: deps.Clock, Timeout: timeout, Interval: poll},
		func(ctx context.Context) (wait.Status, error) {
			live, err := describeAlarm(ctx, deps.CloudWatch, name)
			if err != nil {
				return wait.Status{}, err
			}
			return wait.Status{Done: state(live) == string(want), State: state(live)}, nil
		})
	if errors.Is(err, wait.ErrTimeout) {
		return fmt.Errorf("alarm %s did not reach %s within %s (it is %s)", name, want, timeout, last.State)
	}
	return err
}

// transitions reads the alarm's state updates since start from its history.
func transitions(ctx context.Context, deps Deps, name string, since time.Time) ([]Transition, error) {
	out := []Transition{}
	p := cloudwatch.NewDescribeAlarmHistoryPaginator(deps.CloudWatch, &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName: aws.String(name), HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		StartDate: aws.Time(since), EndDate: aws.Time(deps.clock().Now().Add(time.Minute)),
		AlarmTypes: allAlarmTypes,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read history of alarm %s: %w", name, err)
		}
		for _, h := range page.AlarmHistoryItems {
			t := Transition{At: aws.ToTime(h.Timestamp).UTC(), Reason: aws.ToString(h.HistorySummary)}
			var data struct {
				OldState struct{ StateValue string } `json:"oldState"`
				NewState struct {
					StateValue  string `json:"stateValue"`
					StateReason string `json:"stateReason"`
				} `json:"newState"`
			}
			if err := jsonUnmarshal(aws.ToString(h.HistoryData), &data); err == nil {
				t.From, t.To = data.OldState.StateValue, data.NewState.StateValue
				if data.NewState.StateReason != "" {
					t.Reason = data.NewState.StateReason
				}
			}
			out = append(out, t)
		}
	}
	// History is newest first; reverse it, then order by time keeping that
	// order for equal timestamps.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}
