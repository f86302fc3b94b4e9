package deploy

// Spot fallback while following a deployment (rollout, wait, rollback).
//
// During a rolling update the old tasks keep the service's running count at
// its desired count, so the service-level test spot-check uses would never
// fire; here the test is on the followed deployment's own counts: fewer of
// its tasks running or pending than it wants, and the newest service event a
// placement failure ("was unable to place a task"). The decision is then the
// very one `deploy spot-check` makes (spotCheckOne, same tags, same --after):
// the first failure is tagged, and once it has lasted --spot-after the
// service moves to the cluster's strategy without spot (a new deployment of
// the same revision, which the follow then follows) and the result and
// stderr say so. Moving back to spot is spot-check's job (its probe task).

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// spotWatch is a follow's spot-fallback state.
type spotWatch struct {
	after    time.Duration // how long placement must fail (<0: never fall back)
	cl       *clusterInfo  // read once, on the first placement failure
	watching bool          // this follow tagged (or saw) opsctl:spot-unplaced
	switched bool          // fell back: follow the new PRIMARY deployment
}

func newSpotWatch(after time.Duration) spotWatch {
	if after == 0 {
		after = DefaultSpotAfter
	}
	return spotWatch{after: after}
}

// deploymentEvents turns a service's events (newest first) into Events.
func deploymentEvents(svc types.Service) []Event {
	events := make([]Event, 0, len(svc.Events))
	for _, e := range svc.Events {
		events = append(events, Event{Time: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	return events
}

// followNewPrimary switches a follow that fell back to on-demand to the
// deployment that fallback started (same revision, now PRIMARY).
func (f *follower) followNewPrimary(ctx context.Context, primary *types.Deployment) *types.Deployment {
	if !f.spot.switched || primary == nil || aws.ToString(primary.Id) == f.res.DeploymentID ||
		aws.ToString(primary.TaskDefinition) != f.res.TaskDefinition {
		return nil
	}
	f.spot.switched = false
	f.d.log().Info("following the on-demand deployment of the same revision", "deployment", aws.ToString(primary.Id), "replaces", f.res.DeploymentID)
	f.res.DeploymentID = aws.ToString(primary.Id)
	if arn := findServiceDeployment(ctx, f.d, f.res.Cluster, f.res.Service, aws.ToTime(primary.CreatedAt)); arn != "" {
		f.res.ServiceDeploymentArn = arn
	}
	f.failed = 0
	return primary
}

// spotCheck applies spot-check's fallback decision to the followed
// deployment when its tasks cannot be placed. Errors are logged, not fatal:
// the follow itself goes on.
func (f *follower) spotCheck(ctx context.Context, svc types.Service, mine *types.Deployment) {
	if f.spot.after < 0 || mine.RolloutState != types.DeploymentRolloutStateInProgress {
		return
	}
	failing := placementFailing(mine.RunningCount, mine.PendingCount, mine.DesiredCount, deploymentEvents(svc))
	if !failing && !f.spot.watching {
		return
	}
	res := f.res
	if f.spot.cl == nil {
		cl, err := readCluster(ctx, f.d, res.Cluster)
		if err != nil {
			f.d.log().Warn("spot fallback: cannot read the cluster", "error", err)
			f.spot.after = -1
			return
		}
		f.spot.cl = &cl
	}
	// DescribeServices without tags is the cheap poll; the decision needs them.
	list, err := describeAll(ctx, f.d, res.Cluster, res.Service)
	if err != nil || len(list) == 0 {
		f.d.log().Warn("spot fallback: cannot read the service's tags", "error", err)
		return
	}
	s := list[0]
	if serviceTags(&s)[TagSpotFallback] != "" {
		f.spot.watching = false
		return // already on on-demand; moving back is spot-check's job
	}
	s.RunningCount, s.PendingCount, s.DesiredCount = mine.RunningCount, mine.PendingCount, mine.DesiredCount
	r, err := spotCheckOne(ctx, f.d, SpotCheckOptions{Cluster: res.Cluster, Service: res.Service, After: f.spot.after}, *f.spot.cl, s)
	if err != nil {
		f.d.log().Warn("spot fallback", "error", err)
		return
	}
	switch r.State {
	case SpotWatching:
		if !f.spot.watching {
			f.d.log().Warn("spot cannot place this deployment's tasks", "detail", r.Message)
		}
		f.spot.watching = true
	case SpotFallback:
		f.spot.watching, f.spot.switched = false, true
		res.SpotFallback = r.Message
		f.d.log().Warn("spot fallback: moved the service to on-demand", "detail", r.Message,
			"back", "`opsctl deploy spot-check` moves it back once spot places tasks again")
	default:
		f.spot.watching = false
	}
}
