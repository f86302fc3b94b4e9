package deploy

// Following an ECS native blue-green, canary or linear deployment: its
// lifecycle stages (botocore ecs ServiceDeploymentLifecycleStage) from
// DescribeServiceDeployments, reported as they change.

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// stageWords says what a lifecycle stage means.
var stageWords = map[ecstypes.ServiceDeploymentLifecycleStage]string{
	ecstypes.ServiceDeploymentLifecycleStageReconcileService:           "reconciling the service's revisions",
	ecstypes.ServiceDeploymentLifecycleStagePreScaleUp:                 "about to start the new revision",
	ecstypes.ServiceDeploymentLifecycleStageScaleUp:                    "starting the new revision's tasks next to the old ones",
	ecstypes.ServiceDeploymentLifecycleStagePostScaleUp:                "new revision started, no traffic yet",
	ecstypes.ServiceDeploymentLifecycleStageTestTrafficShift:           "moving test traffic to the new revision",
	ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift:       "test traffic on the new revision",
	ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift:     "moving production traffic to the new revision",
	ecstypes.ServiceDeploymentLifecycleStagePostProductionTrafficShift: "production traffic on the new revision",
	ecstypes.ServiceDeploymentLifecycleStageBakeTime:                   "baking: both revisions run, `opsctl deploy rollback` moves traffic back at once",
	ecstypes.ServiceDeploymentLifecycleStageCleanUp:                    "stopping the old revision's tasks",
}

func usesTrafficShift(svc ecstypes.Service) bool {
	dc := svc.DeploymentConfiguration
	return dc != nil && dc.Strategy != "" && dc.Strategy != ecstypes.DeploymentStrategyRolling
}

// followStage reads the service deployment's lifecycle stage and logs it
// when it changed; it returns the stage ("" when not a traffic-shifting
// deployment or not known).
func (f *follower) followStage(ctx context.Context, svc ecstypes.Service) (string, error) {
	if !usesTrafficShift(svc) || f.res.ServiceDeploymentArn == "" {
		return "", nil
	}
	out, err := f.d.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{f.res.ServiceDeploymentArn}})
	if err != nil {
		return "", fmt.Errorf("describe service deployment %s: %w", f.res.ServiceDeploymentArn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		return "", nil
	}
	stage := out.ServiceDeployments[0].LifecycleStage
	if stage == "" {
		return "", nil
	}
	if n := len(f.res.Stages); n == 0 || f.res.Stages[n-1] != string(stage) {
		f.res.Stages = append(f.res.Stages, string(stage))
		f.d.log().Info("deployment stage", "stage", string(stage), "meaning", stageWords[stage],
			"strategy", string(svc.DeploymentConfiguration.Strategy))
	}
	return string(stage), nil
}
