package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/opsctl/opsctl/deploy"
)

// A rollout whose new tasks cannot be placed on spot ("Capacity is
// unavailable at this time", ecsemu's spot switch) falls back to on-demand
// after --spot-after, as spot-check would, completes there, says so in the
// result, and spot-check moves the service back once spot places tasks.
func TestRolloutFallsBackToOnDemandWhenSpotCannotPlaceItsTasks(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	o := e.opts("v1")
	o.Min, o.Max, o.CPUTarget = 0, 0, 0
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.settle(3 * time.Minute)
	e.ecsEmu(t).SetSpotAvailable("prod", false)

	res, err := deploy.Rollout(ctx, e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("v2"),
		Timeout: 30 * time.Minute, SpotAfter: 5 * time.Minute})
	if err != nil {
		t.Fatalf("rollout: %v (%+v)", err, res)
	}
	if res.State != deploy.StateCompleted || !strings.Contains(res.SpotFallback, "moved the service to on-demand") ||
		!strings.Contains(res.SpotFallback, "Capacity is unavailable") {
		t.Fatalf("result %s, spot fallback %q", res.State, res.SpotFallback)
	}
	// The fallback is spot-check's: five minutes of failures, not fewer.
	if res.ElapsedSeconds < 300 {
		t.Fatalf("fell back after %d s, want at least --spot-after (300 s)", res.ElapsedSeconds)
	}
	svc := describeAPI(t, e)
	if len(svc.CapacityProviderStrategy) != 1 || aws.ToString(svc.CapacityProviderStrategy[0].CapacityProvider) != "FARGATE" {
		t.Fatalf("strategy after fallback %+v", svc.CapacityProviderStrategy)
	}
	if svc.RunningCount != 2 || !strings.HasSuffix(aws.ToString(svc.TaskDefinition), ":2") || aws.ToString(svc.Deployments[0].Id) != res.DeploymentID {
		t.Fatalf("service after rollout: %d running, %s, primary %s (followed %s)", svc.RunningCount, aws.ToString(svc.TaskDefinition), aws.ToString(svc.Deployments[0].Id), res.DeploymentID)
	}
	tags, _ := e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: svc.ServiceArn})
	have := map[string]bool{}
	for _, tg := range tags.Tags {
		have[aws.ToString(tg.Key)] = true
	}
	if !have[deploy.TagSpotFallback] || have[deploy.TagSpotUnplaced] {
		t.Fatalf("tags after fallback %v", have)
	}

	// Spot back: spot-check probes and returns the service to spot.
	e.ecsEmu(t).SetSpotAvailable("prod", true)
	check := func() deploy.SpotServiceResult {
		t.Helper()
		r, err := deploy.SpotCheck(ctx, e.deps, deploy.SpotCheckOptions{Cluster: "prod", After: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return r.Services[0]
	}
	if r := check(); r.State != deploy.SpotProbing {
		t.Fatalf("probe: %+v", r)
	}
	e.settle(time.Minute)
	if r := check(); r.State != deploy.SpotReturned {
		t.Fatalf("return: %+v", r)
	}
	if svc := describeAPI(t, e); len(svc.CapacityProviderStrategy) != 2 {
		t.Fatalf("strategy after return %+v", svc.CapacityProviderStrategy)
	}
}

// A healthy rollout on spot makes no spot-fallback call: no tag write, no
// extra DescribeServices with tags.
func TestRolloutOnHealthySpotWritesNoSpotTags(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	o := e.opts("v1")
	o.Min, o.Max, o.CPUTarget = 0, 0, 0
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.settle(3 * time.Minute)
	e.srv.ResetCalls()
	res, err := deploy.Rollout(ctx, e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("v2")})
	if err != nil || res.SpotFallback != "" {
		t.Fatalf("rollout %+v %v", res, err)
	}
	for _, w := range e.writeOps() {
		if strings.HasSuffix(w, "TagResource") || strings.HasSuffix(w, "UntagResource") {
			t.Fatalf("healthy rollout wrote %v", e.writeOps())
		}
	}
}

// `service update` during a spot shortage makes spot-check's decision first:
// it starts watching, and once placement has failed for SpotAfter the update
// moves the service to on-demand (dry-run: only planned) instead of starting
// another spot deployment.
func TestServiceUpdateFallsBackWhenSpotCannotPlaceTasks(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	o := e.opts("v1")
	o.Min, o.Max, o.CPUTarget = 0, 0, 0
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.settle(3 * time.Minute)
	e.ecsEmu(t).SetSpotAvailable("prod", false)
	e.settle(time.Minute)

	o.SpotAfter = 5 * time.Minute
	o.Port = 8081
	up, err := deploy.UpdateService(ctx, e.deps, o)
	if err != nil || up.SpotFallback || !strings.Contains(up.SpotCheck, "Capacity is unavailable") {
		t.Fatalf("first update: fallback %v, spot check %q, %v", up.SpotFallback, up.SpotCheck, err)
	}
	e.settle(6 * time.Minute)

	o.Port = 8082
	o.DryRun = true
	e.srv.ResetCalls()
	dry, err := deploy.UpdateService(ctx, e.deps, o)
	if err != nil || !dry.SpotFallback || len(dry.Strategy) != 1 || len(e.writeOps()) != 0 {
		t.Fatalf("dry run: fallback %v strategy %+v, %v, writes %v", dry.SpotFallback, dry.Strategy, err, e.writeOps())
	}

	o.DryRun = false
	up, err = deploy.UpdateService(ctx, e.deps, o)
	if err != nil || !up.SpotFallback || !strings.Contains(up.SpotCheck, "moved the service to on-demand") {
		t.Fatalf("fallback update: fallback %v, spot check %q, %v", up.SpotFallback, up.SpotCheck, err)
	}
	svc := describeAPI(t, e)
	if len(svc.CapacityProviderStrategy) != 1 || aws.ToString(svc.CapacityProviderStrategy[0].CapacityProvider) != "FARGATE" {
		t.Fatalf("strategy %+v", svc.CapacityProviderStrategy)
	}
	e.settle(5 * time.Minute)
	if svc := describeAPI(t, e); svc.RunningCount != 2 {
		t.Fatalf("%d running on on-demand", svc.RunningCount)
	}
	// A re-run changes nothing (and does not probe: that is spot-check's job).
	e.srv.ResetCalls()
	if _, err := deploy.UpdateService(ctx, e.deps, o); err != nil || len(e.writeOps()) != 0 {
		t.Fatalf("re-run: %v writes %v", err, e.writeOps())
	}
}
