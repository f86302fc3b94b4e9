package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/localaws/appautoscalingemu"
	"github.com/opsctl/opsctl/internal/localaws/ecsemu"
)

func (e svcEnv) ecsEmu(t *testing.T) *ecsemu.Server {
	emu, ok := e.srv.Service("ecs").(*ecsemu.Server)
	if !ok {
		t.Fatalf("ecs is %T", e.srv.Service("ecs"))
	}
	return emu
}

// settle moves endpoint time on in scheduler steps, so the ECS emulation
// runs tasks and deployments forward.
func (e svcEnv) settle(d time.Duration) { e.clk.Advance(d) }

func TestStatusReportsTasksDeploymentsCapacityAndScaling(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	if _, err := deploy.CreateService(ctx, e.deps, e.opts("v1")); err != nil {
		t.Fatal(err)
	}
	e.settle(3 * time.Minute)
	aasEmu := e.srv.Service("application-autoscaling").(*appautoscalingemu.Server)
	aasEmu.ScaleTo("ecs", "service/prod/api", "ecs:service:DesiredCount", 2, "monitor alarm TargetTracking-service/prod/api-AlarmHigh in state ALARM triggered policy opsctl-cpu")
	e.srv.ResetCalls()
	st, err := deploy.Status(ctx, e.deps, deploy.StatusOptions{Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 {
		t.Fatalf("%+v", st)
	}
	s := st.Services[0]
	// Base 1 on FARGATE, the second task on FARGATE_SPOT (botocore ecs
	// CapacityProviderStrategyItem: base first, then weight).
	if s.Running != 2 || s.Desired != 2 || s.SpotTasks != 1 || s.OnDemandTasks != 1 {
		t.Fatalf("counts %+v", s)
	}
	if len(s.Deployments) != 1 || s.Deployments[0].RolloutState != "COMPLETED" || s.Deployments[0].Status != "PRIMARY" {
		t.Fatalf("deployments %+v", s.Deployments)
	}
	if s.Scaling == nil || s.Scaling.Min != 1 || s.Scaling.Max != 6 || s.Scaling.LastActivity == nil || s.Scaling.LastActivity.Description != "Setting desired count to 2." {
		t.Fatalf("scaling %+v", s.Scaling)
	}
	if !strings.Contains(s.Summary, "2 of 2 running") || !strings.Contains(s.Summary, "1 on spot, 1 on-demand") || !strings.Contains(s.Summary, "steady") {
		t.Fatalf("summary %q", s.Summary)
	}
	if len(e.writeOps()) != 0 {
		t.Fatalf("status wrote %v", e.writeOps())
	}

	// A deployment whose image cannot be pulled: stopped reasons in plain words.
	o := e.opts("v1")
	o.Image = e.image("v2")
	if _, err := deploy.UpdateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	st, _ = deploy.Status(ctx, e.deps, deploy.StatusOptions{Cluster: "prod", Service: "api"})
	if d := st.Services[0].Deployments; len(d) != 2 || d[0].RolloutState != "IN_PROGRESS" {
		t.Fatalf("rolling deployments %+v", d)
	}
	if _, err := deploy.Status(ctx, e.deps, deploy.StatusOptions{Cluster: "prod", Service: "nope"}); err == nil {
		t.Fatal("status of a missing service succeeded")
	}
}

func TestSpotFallbackAndReturn(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	o := e.opts("v1")
	o.Min, o.Max, o.CPUTarget = 0, 0, 0
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.settle(3 * time.Minute)
	check := func() deploy.SpotServiceResult {
		t.Helper()
		r, err := deploy.SpotCheck(ctx, e.deps, deploy.SpotCheckOptions{Cluster: "prod", After: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return r.Services[0]
	}
	// Healthy on spot: nothing written.
	e.srv.ResetCalls()
	if r := check(); r.State != deploy.SpotOK || len(e.writeOps()) != 0 {
		t.Fatalf("healthy: %+v, writes %v", r, e.writeOps())
	}

	// Spot goes away: the spot task is interrupted and cannot be replaced
	// ("Capacity is unavailable at this time", ecsemu's spot switch; AWS's reason in
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html).
	e.ecsEmu(t).SetSpotAvailable("prod", false)
	e.settle(time.Minute)
	if r := check(); r.State != deploy.SpotWatching || !strings.Contains(r.Message, "Capacity is unavailable") {
		t.Fatalf("first failure: %+v", r)
	}
	e.settle(5 * time.Minute)
	e.srv.ResetCalls()
	if r := check(); r.State != deploy.SpotWatching || len(e.writeOps()) != 0 {
		t.Fatalf("still watching: %+v, writes %v", r, e.writeOps())
	}
	e.settle(6 * time.Minute)
	r := check()
	if r.State != deploy.SpotFallback || !strings.Contains(r.Message, "moved the service to on-demand") {
		t.Fatalf("fallback: %+v", r)
	}
	svc := describeAPI(t, e)
	if len(svc.CapacityProviderStrategy) != 1 || aws.ToString(svc.CapacityProviderStrategy[0].CapacityProvider) != "FARGATE" {
		t.Fatalf("strategy after fallback %+v", svc.CapacityProviderStrategy)
	}
	e.settle(3 * time.Minute)
	if svc := describeAPI(t, e); svc.RunningCount != 2 {
		t.Fatalf("on-demand did not restore the tasks: %d running", svc.RunningCount)
	}
	// A service update during the shortage keeps the service on on-demand.
	e.srv.ResetCalls()
	up, err := deploy.UpdateService(ctx, e.deps, o)
	if err != nil || !up.SpotFallback || len(e.writeOps()) != 0 {
		t.Fatalf("update during fallback: %+v %v writes %v", up.Strategy, err, e.writeOps())
	}
	// Spot still out: the probe cannot be placed; nothing changes.
	if r := check(); r.State != deploy.SpotFallback || !strings.Contains(r.Message, "still cannot place") {
		t.Fatalf("probe while unavailable: %+v", r)
	}

	// Spot is back: a probe task is started, reaches RUNNING, and the next
	// run moves the service back.
	e.ecsEmu(t).SetSpotAvailable("prod", true)
	if r := check(); r.State != deploy.SpotProbing {
		t.Fatalf("probe start: %+v", r)
	}
	e.settle(time.Minute)
	if r := check(); r.State != deploy.SpotReturned {
		t.Fatalf("return: %+v", r)
	}
	svc = describeAPI(t, e)
	if len(svc.CapacityProviderStrategy) != 2 {
		t.Fatalf("strategy after return %+v", svc.CapacityProviderStrategy)
	}
	tags, _ := e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: svc.ServiceArn})
	for _, tg := range tags.Tags {
		if strings.HasPrefix(aws.ToString(tg.Key), "opsctl:spot") {
			t.Fatalf("left tag %s", aws.ToString(tg.Key))
		}
	}
	e.settle(3 * time.Minute)
	e.srv.ResetCalls()
	if r := check(); r.State != deploy.SpotOK || len(e.writeOps()) != 0 {
		t.Fatalf("after return: %+v writes %v", r, e.writeOps())
	}
}

func TestRevisionsKeepsTheNewestAndTheOnesInUse(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	o := e.opts("v1")
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	for _, port := range []int{8081, 8082, 8083} {
		e.settle(3 * time.Minute)
		o.Port = port
		if _, err := deploy.UpdateService(ctx, e.deps, o); err != nil {
			t.Fatal(err)
		}
	}
	e.settle(5 * time.Minute)
	list, err := deploy.Revisions(ctx, e.deps, deploy.RevisionsOptions{Cluster: "prod", Service: "api"})
	if err != nil || len(list.Revisions) != 4 || !list.Revisions[0].InUse || list.Revisions[0].Revision != 4 {
		t.Fatalf("list %+v %v", list, err)
	}
	e.srv.ResetCalls()
	dry, err := deploy.Revisions(ctx, e.deps, deploy.RevisionsOptions{Cluster: "prod", Service: "api", Keep: 2, DryRun: true})
	if err != nil || dry.Counts.Planned != 2 || len(e.writeOps()) != 0 {
		t.Fatalf("dry run %+v %v %v", dry.Counts, err, e.writeOps())
	}
	res, err := deploy.Revisions(ctx, e.deps, deploy.RevisionsOptions{Cluster: "prod", Service: "api", Keep: 2})
	if err != nil || res.Counts.Applied != 2 {
		t.Fatalf("cleanup %+v %v", res, err)
	}
	again, _ := deploy.Revisions(ctx, e.deps, deploy.RevisionsOptions{Cluster: "prod", Service: "api", Keep: 2})
	if len(again.Revisions) != 2 || again.Counts.Applied != 0 {
		t.Fatalf("re-run %+v", again)
	}
}

func TestServiceOnAnEC2SpotCluster(t *testing.T) {
	e := svcSetup(t, false)
	ctx := context.Background()
	o := e.opts("v1")
	res, err := deploy.CreateService(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	// The cluster's strategy: opsctl-prod-on-demand base 1, opsctl-prod-spot weight 1.
	if len(res.Strategy) != 2 || res.Strategy[0].Provider != "opsctl-prod-on-demand" || res.Strategy[1].Provider != "opsctl-prod-spot" {
		t.Fatalf("strategy %+v", res.Strategy)
	}
	svc := describeAPI(t, e)
	// awsvpc on EC2: no public IP (botocore ecs AwsVpcConfiguration.assignPublicIp is Fargate only).
	if svc.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp == ecstypes.AssignPublicIpEnabled {
		t.Fatalf("network %+v", svc.NetworkConfiguration.AwsvpcConfiguration)
	}
	td, _ := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if td.TaskDefinition.RequiresCompatibilities[0] != ecstypes.CompatibilityEc2 {
		t.Fatalf("compatibility %v", td.TaskDefinition.RequiresCompatibilities)
	}
	e.settle(10 * time.Minute)
	st, err := deploy.Status(ctx, e.deps, deploy.StatusOptions{Cluster: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Services[0]; s.Running != 2 || s.SpotTasks != 1 || s.OnDemandTasks != 1 {
		t.Fatalf("status %+v", s)
	}
	e.srv.ResetCalls()
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil || len(e.writeOps()) != 0 {
		t.Fatalf("re-run: %v %v", err, e.writeOps())
	}
}
