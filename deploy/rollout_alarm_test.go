package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// Deployment alarms end to end: the ECS emulation reads the CloudWatch
// emulation's alarm state, so an alarm put into ALARM with SetAlarmState
// (the real SDK call) while a rollout runs fails that deployment and, with
// rollback on, ECS rolls back (API_DeploymentAlarms: "When the alarms are
// generated, Amazon ECS sets the service deployment to failed ... roll back
// your service to the last completed deployment"); rollout exits 1 saying so.
func TestDeploymentAlarmInAlarmFailsTheRolloutAndRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rollback  bool
		wantState string
	}{
		{"rollback on", true, StateRolledBack},
		{"rollback off", false, StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRolloutFixture(t)
			f.setup(2, true)
			cw := cloudwatch.NewFromConfig(localawstest.Config(f.srv, 0))
			// botocore cloudwatch PutMetricAlarm: AlarmName, EvaluationPeriods and ComparisonOperator are required.
			if _, err := cw.PutMetricAlarm(f.ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"),
				Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: cwtypes.StatisticSum,
				Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
				ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				DeploymentConfiguration: &types.DeploymentConfiguration{
					DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
					Alarms:                   &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: tc.rollback}}}); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(5 * time.Minute)

			res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app", NoWait: true})
			if err != nil || res.State != StateInProgress {
				t.Fatalf("rollout --no-wait: %s %v", res.State, err)
			}
			f.clk.Advance(20 * time.Second)
			if _, err := cw.SetAlarmState(f.ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"),
				StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("errors after the deploy")}); err != nil {
				t.Fatal(err)
			}
			got, err := Wait(f.ctx, f.deps, WaitOptions{Cluster: "prod", Service: "web", Deployment: res.DeploymentID, PollInterval: 10 * time.Second})
			if err == nil || opserr.ExitCode(err) != 1 {
				t.Fatalf("wait = %+v, %v; want exit 1", got, err)
			}
			if got.State != tc.wantState || !strings.Contains(got.Reason, "web-5xx") {
				t.Fatalf("state %s reason %q, want %s naming the alarm", got.State, got.Reason, tc.wantState)
			}
			svc := f.service()
			if tc.rollback {
				if got.RolledBackTo != 1 || !strings.HasSuffix(aws.ToString(svc.Deployments[0].TaskDefinition), "web:1") {
					t.Fatalf("rolled back to %d; primary runs %s", got.RolledBackTo, aws.ToString(svc.Deployments[0].TaskDefinition))
				}
			} else if !strings.HasSuffix(aws.ToString(svc.Deployments[0].TaskDefinition), "web:2") {
				t.Fatalf("without rollback the failed revision stays PRIMARY, have %s", aws.ToString(svc.Deployments[0].TaskDefinition))
			}
			joined := strings.Join(got.Events, "\n")
			if !strings.Contains(joined, "deployment failed: alarm detected.") {
				t.Fatalf("events lack the alarm failure:\n%s", joined)
			}
		})
	}
}

// An alarm that was already in ALARM when the deployment started does not
// fail it (ECS ignores it; copilot-cli PR 4512: "ABR deployment setting is
// ignored if associated alarms are already in alarm state").
func TestDeploymentAlarmAlreadyInAlarmIsIgnored(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(2, true)
	cw := cloudwatch.NewFromConfig(localawstest.Config(f.srv, 0))
	if _, err := cw.PutMetricAlarm(f.ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("web-5xx"),
		Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: cwtypes.StatisticSum,
		Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(f.ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"),
		StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("before the deploy")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(5 * time.Minute)
	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"})
	if err != nil || res.State != StateCompleted {
		t.Fatalf("rollout = %s, %v; want completed", res.State, err)
	}
}
