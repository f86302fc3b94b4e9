package alarms

import (
	"context"
	"fmt"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// AddOptions are the inputs of Add (opsctl alarm add / add-dlq for one queue).
type AddOptions struct {
	Spec   Spec
	DryRun bool
	// PreviewWindow and PreviewEvents choose the pattern preview's sample.
	PreviewWindow time.Duration
	PreviewEvents int
	// NoPreview skips the preview (apply uses it per alarm only when asked).
	NoPreview bool
	// RequireEmail rejects a spec without --email (add requires one).
	RequireEmail bool
}

// Validate normalizes and checks the options without calling AWS.
func (o *AddOptions) Validate() error {
	o.Spec.Normalize()
	if err := o.Spec.Validate(); err != nil {
		return err
	}
	if o.RequireEmail && len(o.Spec.Emails) == 0 {
		return opserr.Usagef("--email is required: who should the alarm email?")
	}
	if o.PreviewWindow < 0 {
		return opserr.Usagef("invalid --preview-window %s", o.PreviewWindow)
	}
	return nil
}

// AlarmResult is what Add did (or would do) for one alarm.
type AlarmResult struct {
	Name          string         `json:"name"`
	AlarmName     string         `json:"alarm_name"`
	Kind          string         `json:"kind"`
	Target        string         `json:"target"`
	Patterns      []string       `json:"patterns,omitempty"`
	Topic         string         `json:"topic"`
	TopicARN      string         `json:"topic_arn"`
	DryRun        bool           `json:"dry_run"`
	Preview       *Preview       `json:"preview,omitempty"`
	Changes       []plan.Change  `json:"changes"`
	Subscriptions []Subscription `json:"subscriptions"`
	// Summary is "no changes", "N changes applied" or "N changes planned (dry run)".
	Summary string `json:"summary"`
	Error   string `json:"error,omitempty"`
}

func summarize(changes []plan.Change, dryRun bool, err error) string {
	n := plan.Writes(changes)
	switch {
	case n == 0 && err == nil:
		return "no changes"
	case dryRun:
		return fmt.Sprintf("%s planned (dry run: nothing written)", plural(n, "change"))
	case err != nil:
		applied := 0
		for _, c := range changes {
			if c.Status == plan.StatusApplied {
				applied++
			}
		}
		return fmt.Sprintf("%d of %s applied; failed: %v", applied, plural(n, "change"), err)
	}
	return fmt.Sprintf("%s applied", plural(n, "change"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// failure turns an execution error into the command's error: a partial error
// (exit 3) when some writes were applied, else the error as is.
func failure(changes []plan.Change, err error) error {
	if err == nil {
		return nil
	}
	for _, c := range changes {
		if c.Status == plan.StatusApplied {
			return opserr.Partialf("some changes were applied, then: %w (re-run to finish)", err)
		}
	}
	return err
}

func target(s Spec) string {
	if s.Kind == KindDLQ {
		return s.Queue
	}
	return s.LogGroup
}

// Add makes one alarm, its topic and its subscriptions exist as opts.Spec
// says: preview (log kinds) → plan → diff → apply. Uses deps.CloudWatch,
// deps.Logs, deps.SNS, deps.STS, and deps.IAM for log alarms. On failure the
// result (returned with the error) says which change failed; what was
// applied is a prefix of the plan that a re-run completes.
func Add(ctx context.Context, deps Deps, opts AddOptions) (AlarmResult, error) {
	if err := opts.Validate(); err != nil {
		return AlarmResult{}, err
	}
	s := opts.Spec
	res := AlarmResult{Name: s.Name, AlarmName: AlarmName(s.Name), Kind: s.Kind, Target: target(s), Patterns: s.Patterns,
		Topic: s.Topic, DryRun: opts.DryRun, Changes: []plan.Change{}, Subscriptions: []Subscription{}}
	if s.Kind != KindDLQ && !opts.NoPreview {
		pv, err := PreviewPatterns(ctx, deps, PreviewOptions{LogGroup: s.LogGroup, Patterns: s.Patterns, Window: opts.PreviewWindow, MaxEvents: opts.PreviewEvents})
		if err != nil {
			return res, err
		}
		res.Preview = pv
		for _, w := range pv.Warnings {
			deps.log().Warn(w)
		}
	}
	id := &identity{}
	tp, err := planTopic(ctx, deps, id, TopicSpec{Name: s.Topic, Emails: s.Emails, DryRun: opts.DryRun, Exclusive: true})
	if err != nil {
		return res, err
	}
	res.TopicARN = tp.arn
	steps, err := planAlarm(ctx, deps, id, s, func() string { return tp.arn }, map[string]bool{s.Topic: true})
	if err != nil {
		return res, err
	}
	changes, err := deps.execute(ctx, append(tp.steps, steps...), opts.DryRun, nil)
	res.Changes, res.Subscriptions, res.TopicARN = changes, tp.subs, tp.arn
	if res.Subscriptions == nil {
		res.Subscriptions = []Subscription{}
	}
	res.Summary = summarize(changes, opts.DryRun, err)
	if err != nil {
		res.Error = err.Error()
	}
	return res, failure(changes, err)
}
