package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/opsctl/opsctl/deploy"
)

// weightsOf is the service rule's forward weights by target group name.
func weightsOf(t *testing.T, elb *elbv2.Client) map[string]int32 {
	t.Helper()
	rules := rulesOf(t, elb, aws.ToString(listenerOn(t, elb, 80).ListenerArn))
	if len(rules) != 1 {
		t.Fatalf("%d rules", len(rules))
	}
	out := map[string]int32{}
	for _, tg := range rules[0].Actions[0].ForwardConfig.TargetGroups {
		arn := aws.ToString(tg.TargetGroupArn)
		parts := strings.Split(arn, "/")
		out[parts[len(parts)-2]] = aws.ToInt32(tg.Weight)
	}
	return out
}

// stageOf is the service deployment's lifecycle stage.
func stageOf(t *testing.T, e svcEnv, arn string) ecstypes.ServiceDeploymentLifecycleStage {
	t.Helper()
	out, err := e.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("describe service deployment: %v", err)
	}
	return out.ServiceDeployments[0].LifecycleStage
}

func strategyService(t *testing.T, mod func(*deploy.LBOptions)) (svcEnv, *elbv2.Client) {
	t.Helper()
	e, elb, _ := lbSetup(t)
	o := publicOpts(e, "api", mod)
	o.Max, o.Min, o.CPUTarget = 0, 0, 0
	if _, err := deploy.CreateService(context.Background(), e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(5 * time.Minute)
	return e, elb
}

func TestBlueGreenRolloutFollowsTheLifecycleStagesAndMovesTraffic(t *testing.T) {
	e, elb := strategyService(t, func(l *deploy.LBOptions) { l.Strategy, l.BakeMinutes = deploy.StrategyBlueGreen, 5 })
	// botocore ecs DeploymentConfiguration.strategy / bakeTimeInMinutes.
	if dc := describeAPI(t, e).DeploymentConfiguration; dc.Strategy != ecstypes.DeploymentStrategyBlueGreen || aws.ToInt32(dc.BakeTimeInMinutes) != 5 {
		t.Fatalf("deployment configuration = %+v", dc)
	}
	if w := weightsOf(t, elb); w["opsctl-prod-api"] != 100 || w["opsctl-prod-api-2"] != 0 {
		t.Fatalf("initial weights = %v", w)
	}
	start := e.clk.Now()
	res, err := deploy.Rollout(context.Background(), e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("v2")})
	if err != nil {
		t.Fatalf("rollout: %v", err)
	}
	// The stages in the order of botocore ecs ServiceDeploymentLifecycleStage.
	got := strings.Join(res.Stages, ",")
	for _, want := range []string{"SCALE_UP", "BAKE_TIME", "CLEAN_UP"} {
		if !strings.Contains(got, want) {
			t.Fatalf("stages %s lack %s", got, want)
		}
	}
	if !strings.HasPrefix(got, "PRE_SCALE_UP,SCALE_UP") && !strings.HasPrefix(got, "SCALE_UP") {
		t.Fatalf("stages %s do not start with the scale-up", got)
	}
	if e.clk.Now().Sub(start) < 5*time.Minute {
		t.Fatalf("completed after %s, before the 5-minute bake", e.clk.Now().Sub(start))
	}
	// All production traffic is on the other target group now.
	if w := weightsOf(t, elb); w["opsctl-prod-api-2"] == 0 || w["opsctl-prod-api"] != 0 {
		t.Fatalf("weights after blue/green = %v", w)
	}
	if len(res.Targets) != 2 || res.Targets[0].TargetGroup != "opsctl-prod-api-2" {
		t.Fatalf("targets = %+v, want two in the alternate group", res.Targets)
	}
}

func TestRollbackDuringTheBakeMovesTrafficBackAtOnce(t *testing.T) {
	e, elb := strategyService(t, func(l *deploy.LBOptions) { l.Strategy, l.BakeMinutes = deploy.StrategyBlueGreen, 30 })
	ctx := context.Background()
	res, err := deploy.Rollout(ctx, e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("v2"), NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60 && stageOf(t, e, res.ServiceDeploymentArn) != ecstypes.ServiceDeploymentLifecycleStageBakeTime; i++ {
		e.clk.Advance(15 * time.Second)
	}
	if s := stageOf(t, e, res.ServiceDeploymentArn); s != ecstypes.ServiceDeploymentLifecycleStageBakeTime {
		t.Fatalf("stage %s, want BAKE_TIME", s)
	}
	if w := weightsOf(t, elb); w["opsctl-prod-api-2"] == 0 {
		t.Fatalf("weights in the bake = %v, want the traffic on the new revision", w)
	}
	rb, err := deploy.Rollback(ctx, e.deps, deploy.RollbackOptions{Cluster: "prod", Service: "api"})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rb.State != deploy.StateCompleted || rb.Revision != 1 {
		t.Fatalf("rollback = %s revision %d, want completed on revision 1", rb.State, rb.Revision)
	}
	if w := weightsOf(t, elb); w["opsctl-prod-api"] == 0 || w["opsctl-prod-api-2"] != 0 {
		t.Fatalf("weights after the rollback = %v, want all traffic back on the first group", w)
	}
	// botocore ecs ServiceDeploymentStatus: the stopped deployment ends ROLLBACK_SUCCESSFUL.
	out, err := e.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{res.ServiceDeploymentArn}})
	if err != nil || out.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Fatalf("service deployment: %v %+v", err, out.ServiceDeployments)
	}
}

func TestCanaryShiftsItsPercentThenTheRest(t *testing.T) {
	e, elb := strategyService(t, func(l *deploy.LBOptions) {
		l.Strategy, l.CanaryPercent, l.CanaryBakeMinutes, l.BakeMinutes = deploy.StrategyCanary, 10, 10, 0
	})
	res, err := deploy.Rollout(context.Background(), e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("v2"), NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60 && stageOf(t, e, res.ServiceDeploymentArn) != ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift; i++ {
		e.clk.Advance(15 * time.Second)
	}
	// 10% to the canary: weights in tenths of a percent (ALB weights 0-999).
	if w := weightsOf(t, elb); w["opsctl-prod-api-2"] != 100 || w["opsctl-prod-api"] != 900 {
		t.Fatalf("canary weights = %v, want 900/100", w)
	}
	e.clk.Advance(11 * time.Minute)
	if w := weightsOf(t, elb); w["opsctl-prod-api-2"] != 999 || w["opsctl-prod-api"] != 0 {
		t.Fatalf("weights after the canary bake = %v", w)
	}
}

func TestECSRejectsStrategySettingsOutsideItsRanges(t *testing.T) {
	e, _, _ := lbSetup(t)
	ctx := context.Background()
	if _, err := deploy.CreateService(ctx, e.deps, publicOpts(e, "api", nil)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]ecstypes.DeploymentConfiguration{
		// botocore ecs CanaryConfiguration.canaryPercent: multiples of 0.1 from 0.1 to 100.
		"canary percent": {Strategy: ecstypes.DeploymentStrategyCanary, CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(0.05)}},
		// botocore ecs LinearConfiguration.stepPercent: from 3.0.
		"linear step":      {Strategy: ecstypes.DeploymentStrategyLinear, LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(2)}},
		"canary on linear": {Strategy: ecstypes.DeploymentStrategyLinear, CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(5)}},
		// DeploymentConfiguration.bakeTimeInMinutes: required for BLUE_GREEN.
		"blue-green no bake": {Strategy: ecstypes.DeploymentStrategyBlueGreen},
		// Without advancedConfiguration there is no second target group.
		"no advanced configuration": {Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)},
	}
	for name, dc := range cases {
		t.Run(name, func(t *testing.T) {
			dc := dc
			_, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), DeploymentConfiguration: &dc})
			var ie *ecstypes.InvalidParameterException
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want InvalidParameterException", err)
			}
		})
	}
}
