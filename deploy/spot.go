package deploy

// `opsctl deploy spot-check --cluster C [--service S] [--after 10m]`: spot
// fallback, safe to run from cron (every few minutes) and after rollouts.
//
// Every run reads each service and decides from what it sees plus three
// tags it keeps on the service, so runs need no other state and any number
// of them may be missed or repeated:
//
//  1. On spot, healthy: nothing to do (no write).
//  2. On spot, tasks cannot be placed (fewer tasks than desired and the
//     newest "was unable to place a task" event is newer than the newest
//     steady-state event): tag opsctl:spot-unplaced=NOW the first time;
//     once that is --after old, switch the service to the cluster's strategy
//     without its spot providers (the on-demand provider keeps its base and
//     takes every task), force a new deployment, tag
//     opsctl:spot-fallback=NOW and say so. If placement recovers before
//     --after, the watch tag is removed.
//  3. In fallback: probe spot by running one task of the service's task
//     definition on the spot provider only (RunTask, startedBy
//     opsctl-spot-probe). RunTask answering "Capacity is unavailable" means
//     spot is still out; a probe task that reaches RUNNING means spot can
//     place tasks again, so the probe is stopped and the service goes back
//     to the cluster's strategy (a new deployment) and the tags are removed;
//     a probe that stops or is still not running after --after is stopped
//     and tried again on a later run.
//
// `deploy service update` keeps a service in fallback (it reads the tag), so
// a deploy during a spot shortage does not put the service back on spot.

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// DefaultSpotAfter is how long spot must fail to place tasks before a
// service falls back to on-demand.
const DefaultSpotAfter = 10 * time.Minute

const probeStartedBy = "opsctl-spot-probe"

// Spot states of a service.
const (
	SpotOK        = "spot"      // on spot, placing tasks
	SpotWatching  = "watching"  // placement failures seen, not yet for --after
	SpotFallback  = "on-demand" // moved to on-demand
	SpotProbing   = "probing"   // in fallback, a probe task is checking spot
	SpotReturned  = "returned"  // moved back to spot this run
	SpotNoSpot    = "no-spot"   // the cluster's strategy has no spot capacity
	SpotNotOpsctl = "not-opsctl"
)

// SpotCheckOptions are the inputs of SpotCheck.
type SpotCheckOptions struct {
	Cluster string        `json:"cluster"`
	Service string        `json:"service,omitempty"`
	After   time.Duration `json:"-"`
	DryRun  bool          `json:"dry_run"`
}

// SpotServiceResult is what spot-check found and did for one service.
type SpotServiceResult struct {
	Service string        `json:"service"`
	State   string        `json:"state"`
	Message string        `json:"message"`
	Changes []plan.Change `json:"changes"`
}

// SpotCheckResult is a spot-check run.
type SpotCheckResult struct {
	Cluster  string              `json:"cluster"`
	After    string              `json:"after"`
	DryRun   bool                `json:"dry_run"`
	Services []SpotServiceResult `json:"services"`
}

// SpotCheck runs one round of spot fallback for a cluster's services.
func SpotCheck(ctx context.Context, d Deps, o SpotCheckOptions) (SpotCheckResult, error) {
	if err := ValidateClusterName(o.Cluster); err != nil {
		return SpotCheckResult{}, err
	}
	if o.Service != "" && !serviceNameRe.MatchString(o.Service) {
		return SpotCheckResult{}, opserr.Usagef("--service %q: not a service name", o.Service)
	}
	if o.After == 0 {
		o.After = DefaultSpotAfter
	}
	if o.After < 0 {
		return SpotCheckResult{}, opserr.Usagef("--after %s: must be positive", o.After)
	}
	res := SpotCheckResult{Cluster: o.Cluster, After: o.After.String(), DryRun: o.DryRun, Services: []SpotServiceResult{}}
	cl, err := readCluster(ctx, d, o.Cluster)
	if err != nil {
		return res, err
	}
	svcs, err := describeAll(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	var firstErr error
	for _, s := range svcs {
		r, err := spotCheckOne(ctx, d, o, cl, s)
		res.Services = append(res.Services, r)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("spot-check %s: %w", aws.ToString(s.ServiceName), err)
		}
	}
	if firstErr != nil && len(res.Services) > 1 {
		return res, opserr.Partialf("%v", firstErr)
	}
	return res, firstErr
}

func spotProvider(strategy []ecstypes.CapacityProviderStrategyItem) string {
	for _, it := range strategy {
		if isSpotProvider(aws.ToString(it.CapacityProvider)) {
			return aws.ToString(it.CapacityProvider)
		}
	}
	return ""
}

func spotCheckOne(ctx context.Context, d Deps, o SpotCheckOptions, cl clusterInfo, s ecstypes.Service) (SpotServiceResult, error) {
	name := aws.ToString(s.ServiceName)
	r := SpotServiceResult{Service: name, Changes: []plan.Change{}}
	tags := serviceTags(&s)
	if tags[TagCluster] != o.Cluster {
		r.State, r.Message = SpotNotOpsctl, "not created by opsctl: left alone"
		return r, nil
	}
	if !usesSpot(cl.strategy) {
		r.State, r.Message = SpotNoSpot, "the cluster's strategy uses no spot capacity"
		return r, nil
	}
	now := d.clock().Now().UTC()
	arn := aws.ToString(s.ServiceArn)
	var events []Event
	for _, e := range s.Events {
		events = append(events, Event{Time: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	tag := func(kv map[string]string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := d.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: ecsTags(kv)})
			return err
		}
	}
	untag := func(keys ...string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := d.ECS.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: keys})
			return err
		}
	}
	setStrategy := func(strategy []ecstypes.CapacityProviderStrategyItem) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := d.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(o.Cluster), Service: aws.String(name),
				CapacityProviderStrategy: strategy, ForceNewDeployment: true})
			return err
		}
	}
	run := func(steps ...plan.Step) error {
		cs, err := plan.Execute(ctx, steps, plan.Options{DryRun: o.DryRun, OnChange: d.OnChange, Log: d.log()})
		r.Changes = append(r.Changes, cs...)
		return err
	}
	stamp := now.Format(time.RFC3339)
	onDemand := onDemandStrategy(cl.strategy)

	if tags[TagSpotFallback] == "" {
		if !placementFailing(s.RunningCount, s.PendingCount, s.DesiredCount, events) {
			r.State, r.Message = SpotOK, fmt.Sprintf("%d of %d running; spot is placing tasks", s.RunningCount, s.DesiredCount)
			if tags[TagSpotUnplaced] != "" {
				r.Message += "; placement recovered, stopped watching"
				return r, run(plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotUnplaced, Old: tags[TagSpotUnplaced], New: "(removed)"}}, untag(TagSpotUnplaced)))
			}
			return r, nil
		}
		why := latestPlacementFailure(events)
		since, err := time.Parse(time.RFC3339, tags[TagSpotUnplaced])
		if err != nil {
			r.State = SpotWatching
			r.Message = fmt.Sprintf("tasks cannot be placed (%s); moving to on-demand if this lasts %s", why, o.After)
			return r, run(plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotUnplaced, Old: "", New: stamp}}, tag(map[string]string{TagSpotUnplaced: stamp})))
		}
		if waited := now.Sub(since); waited < o.After {
			r.State = SpotWatching
			r.Message = fmt.Sprintf("tasks cannot be placed for %s (%s); moving to on-demand in %s", waited.Round(time.Second), why, (o.After - waited).Round(time.Second))
			return r, nil
		}
		r.State = SpotFallback
		r.Message = fmt.Sprintf("spot could not place tasks for %s (%s): moved the service to on-demand capacity (%s)", now.Sub(since).Round(time.Second), why, strategyString(onDemand))
		return r, run(
			plan.Update("ecs-service", name, []plan.FieldDiff{{Field: "capacity provider strategy", Old: strategyString(s.CapacityProviderStrategy), New: strategyString(onDemand)}}, setStrategy(onDemand)),
			plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotFallback, Old: "", New: stamp}}, tag(map[string]string{TagSpotFallback: stamp})),
			plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotUnplaced, Old: tags[TagSpotUnplaced], New: "(removed)"}}, untag(TagSpotUnplaced)),
		)
	}

	// In fallback: probe spot.
	since := tags[TagSpotFallback]
	probe := tags[TagSpotProbe]
	if probe == "" {
		spot := spotProvider(cl.strategy)
		r.State = SpotFallback
		if o.DryRun {
			r.Message = "on on-demand since " + since + "; would run a probe task on " + spot
			r.Changes = append(r.Changes, plan.Change{Resource: "spot-probe", Name: name, Action: plan.ActionCreate, Status: plan.StatusPlanned})
			return r, nil
		}
		out, err := d.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(o.Cluster), TaskDefinition: s.TaskDefinition, Count: aws.Int32(1),
			CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String(spot), Weight: 1}},
			NetworkConfiguration:     s.NetworkConfiguration, StartedBy: aws.String(probeStartedBy),
			Tags: []ecstypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(o.Cluster)}, {Key: aws.String(TagService), Value: aws.String(name)}}})
		if err != nil {
			r.Changes = append(r.Changes, plan.Change{Resource: "spot-probe", Name: name, Action: plan.ActionCreate, Status: plan.StatusFailed, Error: err.Error()})
			return r, fmt.Errorf("run a spot probe task: %w", err)
		}
		if len(out.Tasks) == 0 {
			reason := "no task placed"
			if len(out.Failures) > 0 {
				reason = aws.ToString(out.Failures[0].Reason)
			}
			r.Message = fmt.Sprintf("on on-demand since %s; spot still cannot place tasks: %s", since, reason)
			return r, nil
		}
		taskArn := aws.ToString(out.Tasks[0].TaskArn)
		r.Changes = append(r.Changes, plan.Change{Resource: "spot-probe", Name: arnTail(taskArn), Action: plan.ActionCreate, Status: plan.StatusApplied})
		r.State = SpotProbing
		r.Message = fmt.Sprintf("on on-demand since %s; started probe task %s on %s", since, arnTail(taskArn), spot)
		return r, run(plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotProbe, Old: "", New: arnTail(taskArn)}},
			tag(map[string]string{TagSpotProbe: taskArn, TagSpotProbeTime: stamp})))
	}
	out, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(o.Cluster), Tasks: []string{probe}})
	if err != nil {
		return r, fmt.Errorf("describe probe task: %w", err)
	}
	status := "MISSING"
	if len(out.Tasks) > 0 {
		status = aws.ToString(out.Tasks[0].LastStatus)
	}
	stop := func(ctx context.Context) error {
		_, err := d.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(o.Cluster), Task: aws.String(probe), Reason: aws.String("opsctl spot-check probe done")})
		return err
	}
	clearProbe := plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotProbe, Old: arnTail(probe), New: "(removed)"}}, untag(TagSpotProbe, TagSpotProbeTime))
	switch {
	case status == "RUNNING":
		r.State = SpotReturned
		r.Message = fmt.Sprintf("spot placed probe task %s: moved the service back to spot (%s) after on-demand since %s", arnTail(probe), strategyString(cl.strategy), since)
		return r, run(
			plan.Delete("spot-probe", arnTail(probe), stop),
			plan.Update("ecs-service", name, []plan.FieldDiff{{Field: "capacity provider strategy", Old: strategyString(s.CapacityProviderStrategy), New: strategyString(cl.strategy)}}, setStrategy(cl.strategy)),
			plan.Update("service-tags", name, []plan.FieldDiff{{Field: TagSpotFallback, Old: since, New: "(removed)"}}, untag(TagSpotFallback, TagSpotProbe, TagSpotProbeTime)),
		)
	case status == "STOPPED" || status == "MISSING":
		r.State = SpotFallback
		reason := ""
		if len(out.Tasks) > 0 {
			reason = aws.ToString(out.Tasks[0].StoppedReason)
		}
		r.Message = fmt.Sprintf("on on-demand since %s; probe task %s stopped (%s): spot still unreliable, will probe again", since, arnTail(probe), reason)
		return r, run(clearProbe)
	}
	started, _ := time.Parse(time.RFC3339, tags[TagSpotProbeTime])
	if !started.IsZero() && now.Sub(started) >= o.After {
		r.State = SpotFallback
		r.Message = fmt.Sprintf("on on-demand since %s; probe task %s still %s after %s: stopped it, will probe again", since, arnTail(probe), status, now.Sub(started).Round(time.Second))
		return r, run(plan.Delete("spot-probe", arnTail(probe), stop), clearProbe)
	}
	r.State = SpotProbing
	r.Message = fmt.Sprintf("on on-demand since %s; probe task %s is %s", since, arnTail(probe), status)
	return r, nil
}
