package ecsemu_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/ecsemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

type fixture struct {
	t   *testing.T
	srv *localaws.Server
	clk *clock.Fake
	ecs *ecs.Client
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Time{})
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	return &fixture{t: t, srv: srv, clk: clk, ecs: ecs.NewFromConfig(localawstest.Config(srv, 1)), ctx: context.Background()}
}

func (f *fixture) emu() *ecsemu.Server { return f.srv.Service("ecs").(*ecsemu.Server) }

// fargateCluster creates a cluster with FARGATE and FARGATE_SPOT and a
// default strategy of one on-demand task as base plus weighted spot.
func (f *fixture) fargateCluster(name string) {
	f.t.Helper()
	_, err := f.ecs.CreateCluster(f.ctx, &ecs.CreateClusterInput{
		ClusterName:       aws.String(name),
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3},
		},
	})
	if err != nil {
		f.t.Fatalf("CreateCluster: %v", err)
	}
}

func (f *fixture) register(family, image string) string {
	f.t.Helper()
	out, err := f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true)}},
	})
	if err != nil {
		f.t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

var netcfg = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

func (f *fixture) createService(cluster, name, td string, desired int32, breaker bool) *types.Service {
	f.t.Helper()
	out, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(td),
		DesiredCount: aws.Int32(desired), NetworkConfiguration: netcfg,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker},
		},
	})
	if err != nil {
		f.t.Fatalf("CreateService: %v", err)
	}
	return out.Service
}

func (f *fixture) service(cluster, name string) types.Service {
	f.t.Helper()
	out, err := f.ecs.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		f.t.Fatalf("DescribeServices: %v", err)
	}
	if len(out.Services) != 1 {
		f.t.Fatalf("DescribeServices: %d services, failures %+v", len(out.Services), out.Failures)
	}
	return out.Services[0]
}

func events(svc types.Service) string {
	var b strings.Builder
	for i := len(svc.Events) - 1; i >= 0; i-- {
		b.WriteString(aws.ToString(svc.Events[i].Message) + "\n")
	}
	return b.String()
}

func deploymentByID(svc types.Service, id string) *types.Deployment {
	for i := range svc.Deployments {
		if aws.ToString(svc.Deployments[i].Id) == id {
			return &svc.Deployments[i]
		}
	}
	return nil
}

// errCode returns an SDK error's AWS error code (the shared test kit's).
var errCode = emutest.Code

func TestServiceRollsOutAndReachesSteadyState(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("prod")
	td := f.register("web", "example/web:v1")
	created := f.createService("prod", "web", td, 2, true)

	if got := len(created.Deployments); got != 1 {
		t.Fatalf("deployments after CreateService = %d, want 1", got)
	}
	dep := created.Deployments[0]
	// botocore ecs Deployment.id: ecs-svc/<19 digits> (observed ids).
	if id := aws.ToString(dep.Id); !strings.HasPrefix(id, "ecs-svc/") || len(id) != len("ecs-svc/")+19 {
		t.Errorf("deployment id = %q, want ecs-svc/<19 digits>", id)
	}
	if dep.RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(dep.Status) != "PRIMARY" {
		t.Errorf("new deployment = %s/%s, want PRIMARY/IN_PROGRESS", aws.ToString(dep.Status), dep.RolloutState)
	}

	// Tasks start PROVISIONING, then PENDING, then RUNNING.
	list, err := f.ecs.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil || len(list.TaskArns) != 2 {
		t.Fatalf("ListTasks = %v, %v; want 2 tasks", list, err)
	}
	statuses := func() []string {
		out, err := f.ecs.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, tk := range out.Tasks {
			s = append(s, aws.ToString(tk.LastStatus))
		}
		return s
	}
	if got := statuses(); got[0] != "PROVISIONING" {
		t.Errorf("task status at start = %v, want PROVISIONING", got)
	}
	f.clk.Advance(15 * time.Second)
	if got := statuses(); got[0] != "PENDING" {
		t.Errorf("task status after 15s = %v, want PENDING", got)
	}
	f.clk.Advance(20 * time.Second)
	if got := statuses(); got[0] != "RUNNING" || got[1] != "RUNNING" {
		t.Errorf("task status after 35s = %v, want RUNNING", got)
	}

	// Placement by the default strategy: base 1 on FARGATE, the rest weighted.
	out, _ := f.ecs.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	providers := map[string]int{}
	for _, tk := range out.Tasks {
		providers[aws.ToString(tk.CapacityProviderName)]++
	}
	if providers["FARGATE"] != 1 || providers["FARGATE_SPOT"] != 1 {
		t.Errorf("placement = %v, want 1 FARGATE (base) and 1 FARGATE_SPOT", providers)
	}

	f.clk.Advance(2 * time.Minute)
	svc := f.service("prod", "web")
	d := deploymentByID(svc, aws.ToString(dep.Id))
	if d == nil || d.RolloutState != types.DeploymentRolloutStateCompleted || d.RunningCount != 2 {
		t.Fatalf("deployment after 2m = %+v, want COMPLETED with 2 running\n%s", d, events(svc))
	}
	ev := events(svc)
	for _, want := range []string{
		"(service web) has started 2 tasks: (task ",
		"(service web) (deployment " + aws.ToString(dep.Id) + ") deployment completed.",
		"(service web) has reached a steady state.",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
	if svc.RunningCount != 2 || svc.PendingCount != 0 {
		t.Errorf("service running/pending = %d/%d, want 2/0", svc.RunningCount, svc.PendingCount)
	}
}

func TestCircuitBreakerFailsAndRollsBack(t *testing.T) {
	f := newFixture(t)
	f.fargateCluster("prod")
	good := f.register("web", "example/web:v1")
	f.createService("prod", "web", good, 2, true)
	f.clk.Advance(3 * time.Minute)
	first := f.service("prod", "web").Deployments[0]

	bad := f.register("web", "example/web:fail-pull")
	up, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(bad)})
	if err != nil {
		t.Fatal(err)
	}
	newID := aws.ToString(up.Service.Deployments[0].Id)
	if len(up.Service.Deployments) != 2 || aws.ToString(up.Service.Deployments[1].Status) != "ACTIVE" {
		t.Fatalf("deployments after update = %+v, want PRIMARY + ACTIVE", up.Service.Deployments)
	}

	var failed *types.Deployment
	var svc types.Service
	for i := 0; i < 40 && failed == nil; i++ {
		f.clk.Advance(15 * time.Second)
		svc = f.service("prod", "web")
		if d := deploymentByID(svc, newID); d != nil && d.RolloutState == types.DeploymentRolloutStateFailed {
			failed = d
		}
	}
	if failed == nil {
		t.Fatalf("deployment never FAILED:\n%s", events(svc))
	}
	// botocore ecs ServiceDeploymentCircuitBreaker.threshold: 0.5 × desired,
	// minimum 3 → 3 for desired 2.
	if failed.FailedTasks < 3 {
		t.Errorf("failedTasks = %d at FAILED, want >= 3", failed.FailedTasks)
	}
	if got := aws.ToString(failed.RolloutStateReason); got != "ECS deployment circuit breaker: tasks failed to start." {
		t.Errorf("rolloutStateReason = %q", got)
	}
	primary := svc.Deployments[0]
	if aws.ToString(primary.TaskDefinition) != good {
		t.Errorf("rollback deployment runs %s, want the last completed %s", aws.ToString(primary.TaskDefinition), good)
	}
	wantReason := "ECS deployment circuit breaker: rolling back to deploymentId " + aws.ToString(first.Id) + "."
	if got := aws.ToString(primary.RolloutStateReason); got != wantReason {
		t.Errorf("rollback rolloutStateReason = %q, want %q", got, wantReason)
	}
	ev := events(svc)
	for _, want := range []string{
		"(service web) (deployment " + newID + ") deployment failed: tasks failed to start.",
		"(service web) rolling back to deployment " + aws.ToString(first.Id) + ".",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}

	// Stopped tasks say why.
	stopped, err := f.ecs.ListTasks(f.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredStatus: types.DesiredStatusStopped})
	if err != nil || len(stopped.TaskArns) == 0 {
		t.Fatalf("stopped tasks: %v %v", stopped, err)
	}
	desc, _ := f.ecs.DescribeTasks(f.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: stopped.TaskArns})
	sawPull := false
	for _, tk := range desc.Tasks {
		if tk.StopCode == types.TaskStopCodeTaskFailedToStart && strings.HasPrefix(aws.ToString(tk.StoppedReason), "CannotPullContainerError: ") {
			sawPull = true
		}
	}
	if !sawPull {
		t.Errorf("no stopped task with TaskFailedToStart / CannotPullContainerError")
	}

	// The rollback completes and the service deployment says so.
	f.clk.Advance(5 * time.Minute)
	svc = f.service("prod", "web")
	if len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Fatalf("after rollback: %+v\n%s", svc.Deployments, events(svc))
	}
	lst, err := f.ecs.ListServiceDeployments(f.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil || len(lst.ServiceDeployments) != 2 {
		t.Fatalf("ListServiceDeployments = %+v, %v; want 2", lst, err)
	}
	if got := lst.ServiceDeployments[0].Status; got != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("newest service deployment status = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	if got := lst.ServiceDeployments[1].Status; got != types.ServiceDeploymentStatusSuccessful {
		t.Errorf("first service deployment status = %s, want SUCCESSFUL", got)
	}
	sd, err := f.ecs.DescribeServiceDeployments(f.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(lst.ServiceDeployments[0].ServiceDeploymentArn)}})
	if err != nil || len(sd.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments: %v %v", sd, err)
	}
	if cb := sd.ServiceDeployments[0].DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.Threshold != 3 {
		t.Errorf("circuit breaker = %+v, want TRIGGERED with threshold 3", cb)
	}
	if rb := sd.ServiceDeployments[0].Rollback; rb == nil || rb.StartedAt == nil {
		t.Errorf("rollback = %+v, want reason and startedAt", rb)
	}
}
