package alarms

import (
	"context"
	"fmt"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// RmOptions are the inputs of Remove.
type RmOptions struct {
	Name   string
	DryRun bool
}

// Validate checks the options without calling AWS.
func (o RmOptions) Validate() error { return validateName(o.Name) }

// RmResult is what Remove did.
type RmResult struct {
	Name    string        `json:"name"`
	DryRun  bool          `json:"dry_run"`
	Changes []plan.Change `json:"changes"`
	// TopicNote says why the topic stays, when it does.
	TopicNote string `json:"topic_note,omitempty"`
	Summary   string `json:"summary"`
}

// PlanRemove plans removing an alarm opsctl manages without writing.
func PlanRemove(ctx context.Context, deps Deps, opts RmOptions) (RmResult, error) {
	opts.DryRun = true
	return Remove(ctx, deps, opts)
}

// Remove deletes the alarm called opts.Name (CloudWatch "opsctl-NAME"), its
// metric filters and, for a log alarm, its query role. Its topic is deleted
// too when opsctl created it and no other alarm (of anyone) uses it; it
// stays otherwise. Only alarms carrying opsctl's managed tag are touched.
// Uses deps.CloudWatch, deps.Logs, deps.IAM and deps.SNS.
func Remove(ctx context.Context, deps Deps, opts RmOptions) (RmResult, error) {
	if err := opts.Validate(); err != nil {
		return RmResult{}, err
	}
	name := AlarmName(opts.Name)
	live, err := describeAlarm(ctx, deps.CloudWatch, name)
	if err != nil {
		return RmResult{}, err
	}
	if !live.exists() {
		// Already gone (an earlier rm finished, or someone deleted it): the
		// desired state holds, so a re-run succeeds without writing. The
		// alarm is deleted last, so nothing of it is left behind.
		return RmResult{Name: opts.Name, DryRun: opts.DryRun, Changes: []plan.Change{},
			Summary: fmt.Sprintf("no changes: alarm %s does not exist (already removed?)", name)}, nil
	}
	tags, err := alarmTags(ctx, deps.CloudWatch, live.arn())
	if err != nil {
		return RmResult{}, err
	}
	if tags[TagManaged] != "true" {
		return RmResult{}, opserr.Usagef("alarm %q is not managed by opsctl (no %s=true tag): refusing to delete it", name, TagManaged)
	}
	m := managedAlarm{name: name, kind: tags[TagKind], component: tags[TagComponent], metric: live.metric, log: live.log}
	r, err := planRemove(ctx, deps, m, nil)
	if err != nil {
		return RmResult{}, err
	}
	changes, err := deps.execute(ctx, r.steps, opts.DryRun, nil)
	res := RmResult{Name: opts.Name, DryRun: opts.DryRun, Changes: changes, TopicNote: r.topicNote, Summary: summarize(changes, opts.DryRun, err)}
	if err != nil {
		return res, failure(changes, fmt.Errorf("remove alarm %s: %w", opts.Name, err))
	}
	return res, nil
}
