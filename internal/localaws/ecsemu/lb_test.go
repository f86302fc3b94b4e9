package ecsemu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// lbFixture is a cluster with a load balancer whose HTTP listener forwards to
// an IP target group on port 8080.
type lbFixture struct {
	*fixture
	elb      *elb.Client
	tg, lb   string
	attached bool
}

func newLBFixture(t *testing.T, checks func(*elb.CreateTargetGroupInput)) *lbFixture {
	f := &lbFixture{fixture: newFixture(t)}
	f.elb = elb.NewFromConfig(localawstest.Config(f.srv, 1))
	f.fargateCluster("prod")
	subnets := emutest.Must(ec2.NewFromConfig(localawstest.Config(f.srv, 1)).DescribeSubnets(f.ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})).Subnets
	in := &elb.CreateTargetGroupInput{Name: aws.String("web"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: subnets[0].VpcId, TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health")}
	if checks != nil {
		checks(in)
	}
	f.tg = aws.ToString(emutest.Must(f.elb.CreateTargetGroup(f.ctx, in)).TargetGroups[0].TargetGroupArn)
	f.lb = aws.ToString(emutest.Must(f.elb.CreateLoadBalancer(f.ctx, &elb.CreateLoadBalancerInput{Name: aws.String("prod"),
		Subnets: []string{aws.ToString(subnets[0].SubnetId), aws.ToString(subnets[1].SubnetId)}})).LoadBalancers[0].LoadBalancerArn)
	return f
}

func (f *lbFixture) attach() {
	emutest.Must(f.elb.CreateListener(f.ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(f.lb), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(f.tg)}}}))
}

// webTD registers an awsvpc task definition whose "app" container maps 8080.
func (f *lbFixture) webTD(image string) string {
	out := emutest.Must(f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	}))
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func (f *lbFixture) create(td string, desired int32, lbs []types.LoadBalancer) (*ecs.CreateServiceOutput, error) {
	return f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(desired), NetworkConfiguration: netcfg,
		LoadBalancers: lbs,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
	})
}

func (f *lbFixture) web() []types.LoadBalancer {
	return []types.LoadBalancer{{TargetGroupArn: aws.String(f.tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
}

func (f *lbFixture) targets() map[string]elbtypes.TargetHealthDescription {
	out := emutest.Must(f.elb.DescribeTargetHealth(f.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(f.tg)}))
	m := map[string]elbtypes.TargetHealthDescription{}
	for _, d := range out.TargetHealthDescriptions {
		m[aws.ToString(d.Target.Id)] = d
	}
	return m
}

// privateIP is a task's ENI address (DescribeTasks attachments[].details).
func privateIP(tk types.Task) string {
	for _, a := range tk.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

func TestServiceTasksBecomeHealthyTargetsBeforeTheRolloutCompletes(t *testing.T) {
	// Default health checks: healthy after 5 checks 30 s apart.
	f := newLBFixture(t, nil)
	f.attach()
	emutest.Must(f.create(f.webTD("example/web:v1"), 2, f.web()))

	f.clk.Advance(100 * time.Second) // tasks RUNNING at +30 s, targets still in initial checks
	running := f.tasks("prod", types.DesiredStatusRunning)
	if len(running) != 2 {
		t.Fatalf("%d running tasks, want 2", len(running))
	}
	targets := f.targets()
	for _, tk := range running {
		d, ok := targets[privateIP(tk)]
		if !ok {
			t.Fatalf("task %s (%s) is not a target: %v", aws.ToString(tk.TaskArn), privateIP(tk), targets)
		}
		// The container port is the target port; initial checks are running.
		if aws.ToInt32(d.Target.Port) != 8080 || d.TargetHealth.State != elbtypes.TargetHealthStateEnumInitial {
			t.Errorf("target %+v health %+v", d.Target, d.TargetHealth)
		}
	}
	svc := f.service("prod", "web")
	// ECS counts a task healthy only when its load balancer target is.
	if got := svc.Deployments[0].RolloutState; got != types.DeploymentRolloutStateInProgress {
		t.Errorf("rollout %s while targets are in initial checks, want IN_PROGRESS", got)
	}
	// Service event messages: "(service S) registered N targets in (target-group ARN)".
	if want := "(service web) registered 2 targets in (target-group " + f.tg + ")"; !strings.Contains(events(svc), want) {
		t.Errorf("events lack %q:\n%s", want, events(svc))
	}

	f.clk.Advance(100 * time.Second) // registered at +30 s, healthy at +180 s
	for ip, d := range f.targets() {
		if d.TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
			t.Errorf("target %s: %+v", ip, d.TargetHealth)
		}
	}
	svc = f.service("prod", "web")
	if got := svc.Deployments[0].RolloutState; got != types.DeploymentRolloutStateCompleted {
		t.Errorf("rollout %s once targets are healthy, want COMPLETED\n%s", got, events(svc))
	}

	// Scaling to zero deregisters the targets, which drain.
	emutest.Must(f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(0)}))
	f.clk.Advance(10 * time.Second)
	for ip, d := range f.targets() {
		if d.TargetHealth.State != elbtypes.TargetHealthStateEnumDraining || d.TargetHealth.Reason != elbtypes.TargetHealthReasonEnumDeregistrationInProgress {
			t.Errorf("target %s after scale-in: %+v, want draining", ip, d.TargetHealth)
		}
	}
	svc = f.service("prod", "web")
	if want := "(service web) deregistered 2 targets in (target-group " + f.tg + ")"; !strings.Contains(events(svc), want) {
		t.Errorf("events lack %q:\n%s", want, events(svc))
	}
	// The tasks stay DEACTIVATING while their targets drain.
	if n := len(f.tasks("prod", types.DesiredStatusStopped)); n != 2 {
		t.Fatalf("%d stopping tasks, want 2", n)
	}
	for _, tk := range f.tasks("prod", types.DesiredStatusStopped) {
		if got := aws.ToString(tk.LastStatus); got != "DEACTIVATING" {
			t.Errorf("task %s while its target drains, want DEACTIVATING", got)
		}
	}
	f.clk.Advance(300 * time.Second) // deregistration_delay.timeout_seconds default 300
	if got := f.targets(); len(got) != 0 {
		t.Errorf("targets after the deregistration delay: %v", got)
	}
	f.clk.Advance(10 * time.Second)
	for _, tk := range f.tasks("prod", types.DesiredStatusStopped) {
		if got := aws.ToString(tk.LastStatus); got != "STOPPED" {
			t.Errorf("task %s after draining, want STOPPED", got)
		}
	}
}

func TestTasksFailingELBHealthChecksAreStoppedAndTripTheBreaker(t *testing.T) {
	f := newLBFixture(t, func(in *elb.CreateTargetGroupInput) {
		in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.UnhealthyThresholdCount = aws.Int32(10), aws.Int32(5), aws.Int32(2)
	})
	f.attach()
	emutest.Must(f.create(f.webTD("example/web:fail-elb"), 1, f.web()))
	f.clk.Advance(15 * time.Minute)

	stopped := f.tasks("prod", types.DesiredStatusStopped)
	if len(stopped) < 3 {
		t.Fatalf("%d stopped tasks, want at least the breaker's threshold of 3", len(stopped))
	}
	// Stopped-task error codes: "Task failed ELB health checks in
	// (target-group ARN)", stopped by the service scheduler.
	for _, tk := range stopped {
		if got := aws.ToString(tk.StoppedReason); got != "Task failed ELB health checks in (target-group "+f.tg+")" || tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("task stopped with %s: %q", tk.StopCode, got)
		}
	}
	svc := f.service("prod", "web")
	// Deployment circuit breaker: failed ELB health checks count; with a
	// threshold of 3 (BOUNDED_PERCENT 50 of 1, minimum 3) the deployment fails.
	var failed bool
	for _, d := range svc.Deployments {
		if d.RolloutState == types.DeploymentRolloutStateFailed && aws.ToString(d.RolloutStateReason) == "ECS deployment circuit breaker: tasks failed to start." {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no FAILED deployment: %+v\n%s", svc.Deployments, events(svc))
	}
	// "(service S) (task ID) (port P) is unhealthy in (target-group ARN) due
	// to (reason Health checks failed with these codes: [500])." (observed
	// service events).
	want := "(port 8080) is unhealthy in (target-group " + f.tg + ") due to (reason Health checks failed with these codes: [500])."
	if !strings.Contains(events(svc), want) {
		t.Errorf("events lack %q:\n%s", want, events(svc))
	}
}

func TestHealthCheckGracePeriodDelaysTheStop(t *testing.T) {
	f := newLBFixture(t, func(in *elb.CreateTargetGroupInput) {
		in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds, in.UnhealthyThresholdCount = aws.Int32(10), aws.Int32(5), aws.Int32(2)
	})
	f.attach()
	emutest.Must(f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(f.webTD("example/web:elb-timeout")), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg,
		LoadBalancers: f.web(), HealthCheckGracePeriodSeconds: aws.Int32(120)}))
	// RUNNING at +30 s, unhealthy at +50 s, but ECS ignores ELB health
	// checks until the grace period ends at +150 s.
	f.clk.Advance(140 * time.Second)
	if got := f.tasks("prod", types.DesiredStatusStopped); len(got) != 0 {
		t.Fatalf("task stopped during the grace period: %s", aws.ToString(got[0].StoppedReason))
	}
	for ip, d := range f.targets() {
		if d.TargetHealth.State != elbtypes.TargetHealthStateEnumUnhealthy || d.TargetHealth.Reason != elbtypes.TargetHealthReasonEnumTimeout {
			t.Errorf("target %s: %+v, want unhealthy Target.Timeout", ip, d.TargetHealth)
		}
	}
	f.clk.Advance(20 * time.Second)
	if got := f.tasks("prod", types.DesiredStatusStopped); len(got) != 1 {
		t.Fatalf("%d stopped tasks after the grace period, want 1", len(got))
	}
}

func TestCreateServiceChecksItsLoadBalancers(t *testing.T) {
	f := newLBFixture(t, nil)
	td := f.webTD("example/web:v1")
	lb := func(tg, name string, port int32) []types.LoadBalancer {
		return []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String(name), ContainerPort: aws.Int32(port)}}
	}
	subnets := emutest.Must(ec2.NewFromConfig(localawstest.Config(f.srv, 1)).DescribeSubnets(f.ctx, &ec2.DescribeSubnetsInput{})).Subnets
	inst := aws.ToString(emutest.Must(f.elb.CreateTargetGroup(f.ctx, &elb.CreateTargetGroupInput{Name: aws.String("inst"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: subnets[0].VpcId, TargetType: elbtypes.TargetTypeEnumInstance})).TargetGroups[0].TargetGroupArn)
	gone := strings.Replace(f.tg, "/web/", "/gone/", 1)

	// Not yet attached: the error Terraform and CloudFormation users meet
	// before the listener exists.
	_, err := f.create(td, 1, f.web())
	emutest.WantCode(t, err, "InvalidParameterException", "The target group with targetGroupArn "+f.tg+" does not have an associated load balancer.")
	f.attach()
	emutest.Must(f.elb.CreateListener(f.ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(f.lb), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(8080), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(inst)}}}))

	cases := []struct {
		name string
		lbs  []types.LoadBalancer
		msg  string
	}{
		{"unknown target group", lb(gone, "app", 8080), "does not exist"},
		{"instance targets with awsvpc", lb(inst, "app", 8080), "has target type instance, which is incompatible with the awsvpc network mode"},
		{"unknown container", lb(f.tg, "web", 8080), "The container web does not exist in the task definition."},
		{"unmapped port", lb(f.tg, "app", 9090), "The container app did not have a container port 9090 defined."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.create(td, 1, tc.lbs)
			emutest.WantCode(t, err, "InvalidParameterException", tc.msg)
		})
	}
	// A health check grace period needs a load balancer.
	_, err = f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1), NetworkConfiguration: netcfg, HealthCheckGracePeriodSeconds: aws.Int32(60)})
	emutest.WantCode(t, err, "InvalidParameterException", "Health check grace period is only valid for services configured to use load balancers")
	emutest.Must(f.create(td, 1, f.web()))
}
