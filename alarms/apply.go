package alarms

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// ApplyResult is what a multi-alarm apply did (apply -f, add-dlq).
type ApplyResult struct {
	DryRun  bool          `json:"dry_run"`
	Topics  []TopicResult `json:"topics"`
	Alarms  []AlarmResult `json:"alarms"`
	Pruned  []plan.Change `json:"pruned"`
	Summary string        `json:"summary"`
}

// AllChanges returns every change of the result, topics first.
func (r ApplyResult) AllChanges() []plan.Change {
	var out []plan.Change
	for _, t := range r.Topics {
		out = append(out, t.Changes...)
	}
	for _, a := range r.Alarms {
		out = append(out, a.Changes...)
	}
	return append(out, r.Pruned...)
}

// pruneSet says which managed alarms apply may delete: with Enabled, those of
// component "alarm" whose name is not in Keep.
type pruneSet struct {
	Enabled bool
	Keep    map[string]bool
}

// applySpecs plans and applies several alarms: each topic once (with the
// union of its alarms' emails), then each alarm, then the prune. A failed
// topic blocks only its alarms; a failed alarm does not stop the others.
func applySpecs(ctx context.Context, deps Deps, specs []Spec, prune *pruneSet, dryRun bool) (ApplyResult, error) {
	res := ApplyResult{DryRun: dryRun, Topics: []TopicResult{}, Alarms: []AlarmResult{}, Pruned: []plan.Change{}}
	id := &identity{}
	emails := map[string][]string{}
	var topicOrder []string
	for _, s := range specs {
		if _, ok := emails[s.Topic]; !ok {
			topicOrder = append(topicOrder, s.Topic)
			emails[s.Topic] = nil
		}
		emails[s.Topic] = splitEmails(append(emails[s.Topic], s.Emails...))
	}
	// Plan everything before writing anything.
	topics := map[string]*topicPlan{}
	for _, name := range topicOrder {
		tp, err := planTopic(ctx, deps, id, TopicSpec{Name: name, Emails: emails[name], DryRun: dryRun, Exclusive: len(emails[name]) > 0})
		if err != nil {
			return res, err
		}
		topics[name] = tp
	}
	renames, err := planDLQRenames(ctx, deps, specs)
	if err != nil {
		return res, err
	}
	keepTopics := map[string]bool{}
	for _, t := range topicOrder {
		keepTopics[t] = true
	}
	alarmSteps := make([][]plan.Step, len(specs))
	for i, s := range specs {
		tp := topics[s.Topic]
		steps, err := planAlarm(ctx, deps, id, s, func() string { return tp.arn }, keepTopics)
		if err != nil {
			return res, fmt.Errorf("plan alarm %s: %w", s.Name, err)
		}
		// The old alarm goes only after the new one is written: a failure
		// leaves the queue watched by the old one, never by none.
		alarmSteps[i] = append(steps, renames[i]...)
	}
	var pruneSteps []plan.Step
	if prune != nil && prune.Enabled {
		keep := map[string]bool{}
		for n := range prune.Keep {
			keep[n] = true
		}
		for _, s := range specs { // the names the alarms are written under
			keep[s.Name] = true
		}
		for _, rs := range renames { // deleted by their rename already
			for _, r := range rs {
				keep[ShortName(r.Name)] = true
			}
		}
		if pruneSteps, err = planPrune(ctx, deps, keep, keepTopics); err != nil {
			return res, err
		}
	}
	// Apply.
	var errs []error
	topicErr := map[string]error{}
	for _, name := range topicOrder {
		tp := topics[name]
		changes, err := deps.execute(ctx, tp.steps, dryRun, nil)
		if err != nil {
			topicErr[name] = err
			errs = append(errs, err)
		}
		res.Topics = append(res.Topics, TopicResult{Name: name, ARN: tp.arn, Changes: changes, Subscriptions: nonNilSubs(tp.subs)})
	}
	for i, s := range specs {
		tp := topics[s.Topic]
		var blocked error
		if e := topicErr[s.Topic]; e != nil {
			blocked = fmt.Errorf("topic %s failed: %w", s.Topic, e)
		}
		changes, err := deps.execute(ctx, alarmSteps[i], dryRun, blocked)
		ar := AlarmResult{Name: s.Name, AlarmName: AlarmName(s.Name), Kind: s.Kind, Target: target(s), Patterns: s.Patterns,
			Topic: s.Topic, TopicARN: tp.arn, DryRun: dryRun, Changes: changes, Subscriptions: subsFor(tp.subs, s.Emails)}
		ar.Summary = summarize(changes, dryRun, err)
		if err != nil {
			ar.Error = err.Error()
			if !errors.Is(err, blocked) || blocked == nil {
				errs = append(errs, fmt.Errorf("alarm %s: %w", s.Name, err))
			}
		}
		res.Alarms = append(res.Alarms, ar)
	}
	if len(pruneSteps) > 0 {
		changes, err := deps.execute(ctx, pruneSteps, dryRun, nil)
		res.Pruned = changes
		if err != nil {
			errs = append(errs, err)
		}
	}
	all := res.AllChanges()
	err = errors.Join(errs...)
	res.Summary = summarize(all, dryRun, err)
	return res, failure(all, err)
}

func nonNilSubs(s []Subscription) []Subscription {
	if s == nil {
		return []Subscription{}
	}
	return s
}

// subsFor picks the subscriptions of the given emails from a topic's.
func subsFor(all []Subscription, emails []string) []Subscription {
	out := []Subscription{}
	for _, s := range all {
		for _, e := range emails {
			if strings.EqualFold(s.Email, e) {
				out = append(out, s)
			}
		}
	}
	return out
}

// managedAlarm is an alarm opsctl's alarm command owns, found by listing.
type managedAlarm struct {
	name      string // CloudWatch name
	kind      string
	component string
	metric    *cwtypes.MetricAlarm
	log       *cwtypes.LogAlarm
}

func (m managedAlarm) live() liveAlarm { return liveAlarm{metric: m.metric, log: m.log} }

// listManaged returns the alarms named "opsctl-..." that carry opsctl's
// managed tag: ownership needs both, so a stranger's alarm is never touched.
func listManaged(ctx context.Context, cw CloudWatchAPI) ([]managedAlarm, error) {
	var out []managedAlarm
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(AlarmPrefix), AlarmTypes: allAlarmTypes})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list alarms: %w", err)
		}
		for i := range page.MetricAlarms {
			out = append(out, managedAlarm{name: aws.ToString(page.MetricAlarms[i].AlarmName), metric: &page.MetricAlarms[i]})
		}
		for i := range page.LogAlarms {
			out = append(out, managedAlarm{name: aws.ToString(page.LogAlarms[i].AlarmName), log: &page.LogAlarms[i]})
		}
	}
	kept := out[:0]
	for _, m := range out {
		tags, err := alarmTags(ctx, cw, m.live().arn())
		if err != nil {
			return nil, err
		}
		if tags[TagManaged] != "true" {
			continue
		}
		m.kind, m.component = tags[TagKind], tags[TagComponent]
		kept = append(kept, m)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].name < kept[j].name })
	return kept, nil
}

// planPrune deletes the alarm command's managed alarms not in keep, leaving
// the topics in keepTopics.
func planPrune(ctx context.Context, deps Deps, keep, keepTopics map[string]bool) ([]plan.Step, error) {
	managed, err := listManaged(ctx, deps.CloudWatch)
	if err != nil {
		return nil, err
	}
	var steps []plan.Step
	for _, m := range managed {
		if m.component != ComponentAlarm || keep[ShortName(m.name)] {
			continue
		}
		rs, err := planRemove(ctx, deps, m, keepTopics)
		if err != nil {
			return nil, err
		}
		steps = append(steps, rs.steps...)
	}
	return steps, nil
}

// removal is the plan of removing one alarm.
type removal struct {
	steps    []plan.Step
	topic    string
	topicARN string
	// topicNote says why the topic stays, when it does.
	topicNote string
}

// planRemove plans deleting a managed alarm, its filters, its role and (when
// no other alarm uses it, opsctl created it and it is not in keepTopics) its
// topic.
func planRemove(ctx context.Context, deps Deps, m managedAlarm, keepTopics map[string]bool) (removal, error) {
	r, alarmStep, err := planRemoveParts(ctx, deps, m, keepTopics)
	if err != nil {
		return r, err
	}
	r.steps = append(r.steps, alarmStep)
	return r, nil
}

func planRemoveParts(ctx context.Context, deps Deps, m managedAlarm, keepTopics map[string]bool) (removal, plan.Step, error) {
	var r removal
	short := ShortName(m.name)
	// The alarm goes last: if anything before it fails, the alarm still
	// exists, so `rm` (or the prune) finds it again and finishes the job.
	alarmStep := plan.Delete(alarmResource(m), m.name, func(ctx context.Context) error {
		if _, err := deps.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{m.name}}); err != nil {
			return fmt.Errorf("delete alarm %q: %w", m.name, err)
		}
		return nil
	})
	if deps.Logs != nil {
		fs, err := planFilters(ctx, deps, Spec{Name: short}, nil)
		if err != nil {
			return r, plan.Step{}, err
		}
		r.steps = append(r.steps, fs...)
	}
	rs, err := planDeleteRole(ctx, deps, short)
	switch {
	case err != nil && m.log != nil:
		return r, plan.Step{}, err
	case err != nil: // a metric alarm has no role; a leftover one is best effort
		deps.log().Warn("cannot check for a leftover log alarm role", "role", RoleName(short), "error", err)
	default:
		r.steps = append(r.steps, rs...)
	}
	for _, a := range m.live().actions() {
		if !isSNS(a) {
			continue
		}
		r.topicARN, r.topic = a, topicNameOf(a)
		step, note, err := planTopicDelete(ctx, deps, a, m.name, keepTopics)
		if err != nil {
			return r, plan.Step{}, err
		}
		r.topicNote = note
		if step != nil {
			r.steps = append(r.steps, *step)
		}
		break
	}
	return r, alarmStep, nil
}

func alarmResource(m managedAlarm) string {
	if m.log != nil {
		return ResLogAlarm
	}
	return ResMetricAlarm
}

func (l liveAlarm) actions() []string {
	var out []string
	switch {
	case l.metric != nil:
		out = append(append(append(out, l.metric.AlarmActions...), l.metric.OKActions...), l.metric.InsufficientDataActions...)
	case l.log != nil:
		out = append(append(append(out, l.log.AlarmActions...), l.log.OKActions...), l.log.InsufficientDataActions...)
	}
	return out
}

// alarmsUsingTopic returns the names of all alarms (any owner) with an
// action on the topic.
func alarmsUsingTopic(ctx context.Context, cw CloudWatchAPI, topicARN string) (map[string]bool, error) {
	users := map[string]bool{}
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{AlarmTypes: allAlarmTypes})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list alarms using topic %s: %w", topicARN, err)
		}
		check := func(name string, l liveAlarm) {
			for _, a := range l.actions() {
				if a == topicARN {
					users[name] = true
				}
			}
		}
		for i := range page.MetricAlarms {
			check(aws.ToString(page.MetricAlarms[i].AlarmName), liveAlarm{metric: &page.MetricAlarms[i]})
		}
		for i := range page.LogAlarms {
			check(aws.ToString(page.LogAlarms[i].AlarmName), liveAlarm{log: &page.LogAlarms[i]})
		}
	}
	return users, nil
}

// ApplyOptions are the inputs of Apply.
type ApplyOptions struct {
	File   *File
	DryRun bool
	Prune  bool
}

// Validate checks the options without calling AWS.
func (o *ApplyOptions) Validate() error {
	if o.File == nil {
		return opserr.Usagef("-f FILE is required")
	}
	return nil
}

// Apply makes the alarms of a file exist as declared: a plan with a diff per
// resource, then the writes (none in a dry run); with Prune, alarms that
// `opsctl alarm` manages (name prefix "opsctl-" and tags opsctl:managed=true,
// opsctl:component=alarm) but the file no longer declares are deleted with
// their filters and roles. Alarms of other owners are never touched.
func Apply(ctx context.Context, deps Deps, opts ApplyOptions) (ApplyResult, error) {
	if err := opts.Validate(); err != nil {
		return ApplyResult{}, err
	}
	keep := map[string]bool{}
	for _, s := range opts.File.Specs {
		keep[s.Name] = true
	}
	return applySpecs(ctx, deps, opts.File.Specs, &pruneSet{Enabled: opts.Prune, Keep: keep}, opts.DryRun)
}

// planDLQRenames finds, for each DLQ spec, the alarms opsctl's alarm command
// manages on the same queue under another name (older versions named a DLQ
// alarm declared in a file after its `name:`, add-dlq after the queue) and
// plans deleting them, so the queue keeps one alarm, the one named by
// DLQAlarmName. Nothing is listed when no spec is a DLQ.
func planDLQRenames(ctx context.Context, deps Deps, specs []Spec) ([][]plan.Step, error) {
	out := make([][]plan.Step, len(specs))
	byQueue := map[string]int{}
	for i, s := range specs {
		if s.Kind == KindDLQ {
			byQueue[s.Queue] = i
		}
	}
	if len(byQueue) == 0 {
		return out, nil
	}
	managed, err := listManaged(ctx, deps.CloudWatch)
	if err != nil {
		return nil, err
	}
	for _, m := range managed {
		if m.component != ComponentAlarm || m.kind != KindDLQ || m.metric == nil {
			continue
		}
		queue := ""
		for _, d := range m.metric.Dimensions {
			if aws.ToString(d.Name) == "QueueName" {
				queue = aws.ToString(d.Value)
			}
		}
		i, ok := byQueue[queue]
		if !ok || m.name == AlarmName(specs[i].Name) {
			continue
		}
		old, now := m.name, AlarmName(specs[i].Name)
		out[i] = append(out[i], plan.New(ResMetricAlarm, old, plan.ActionDelete,
			[]plan.FieldDiff{{Field: "renamed", Old: old, New: now}},
			func(ctx context.Context) error {
				if _, err := deps.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{old}}); err != nil {
					return fmt.Errorf("delete alarm %q (now %q): %w", old, now, err)
				}
				return nil
			}))
	}
	return out, nil
}

// planTopicDelete plans deleting the topic arn once the alarm except stops
// using it: only when opsctl created it (its managed tag), no other alarm of
// anyone uses it, and it is not in keepTopics. Otherwise it returns why the
// topic stays. The step checks the users again when it runs.
func planTopicDelete(ctx context.Context, deps Deps, arn, except string, keepTopics map[string]bool) (*plan.Step, string, error) {
	topic := topicNameOf(arn)
	if keepTopics[topic] {
		return nil, fmt.Sprintf("topic %s stays: the file's alarms use it", topic), nil
	}
	users, err := alarmsUsingTopic(ctx, deps.CloudWatch, arn)
	if err != nil {
		return nil, "", err
	}
	delete(users, except)
	if len(users) > 0 {
		names := make([]string, 0, len(users))
		for u := range users {
			names = append(names, u)
		}
		sort.Strings(names)
		return nil, fmt.Sprintf("topic %s stays: used by %s", topic, strings.Join(names, ", ")), nil
	}
	if deps.SNS == nil {
		return nil, "", nil
	}
	tags, err := deps.SNS.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		var nf *snstypes.NotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Sprintf("topic %s is gone already", topic), nil
		}
		return nil, fmt.Sprintf("topic %s stays: could not read its tags (%v)", topic, err), nil
	}
	ours := false
	for _, t := range tags.Tags {
		if aws.ToString(t.Key) == TagManaged && aws.ToString(t.Value) == "true" {
			ours = true
		}
	}
	if !ours {
		return nil, fmt.Sprintf("topic %s stays: opsctl did not create it", topic), nil
	}
	step := plan.New(ResTopic, topic, plan.ActionDelete,
		[]plan.FieldDiff{{Field: "reason", Old: "used by " + except, New: "used by no alarm"}},
		func(ctx context.Context) error {
			// Re-check: another alarm may have started using it meanwhile.
			users, err := alarmsUsingTopic(ctx, deps.CloudWatch, arn)
			if err != nil {
				return err
			}
			delete(users, except)
			if len(users) > 0 {
				return nil
			}
			if _, err := deps.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
				return fmt.Errorf("delete SNS topic %s: %w", arn, err)
			}
			return nil
		})
	return &step, "", nil
}
