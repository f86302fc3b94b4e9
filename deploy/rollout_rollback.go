package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// RollbackOptions are the inputs of `deploy rollback`.
type RollbackOptions struct {
	Cluster, Service string
	// ToRevision deploys this revision of the service's task definition
	// family; 0 stops the deployment in progress with ECS's rollback
	// (StopServiceDeployment, stopType ROLLBACK).
	ToRevision   int
	Timeout      time.Duration
	NoWait       bool
	PollInterval time.Duration
}

// Validate checks the options before any AWS call.
func (o RollbackOptions) Validate() error {
	if err := validateNames(o.Cluster, o.Service); err != nil {
		return err
	}
	if o.ToRevision < 0 {
		return opserr.Usagef("invalid --to-revision %d: revisions start at 1", o.ToRevision)
	}
	if err := validatePoll(o.PollInterval); err != nil {
		return err
	}
	return validateTimeout(o.Timeout)
}

// ErrNothingToRollBack is returned when no deployment is in progress and no
// revision was named.
var ErrNothingToRollBack = errors.New("nothing to roll back")

// Rollback stops the service's deployment in progress with ECS's rollback
// (the service deployments API), or deploys an older revision, and follows
// the result like Rollout: exit 0 only when the rollback completed.
func Rollback(ctx context.Context, d Deps, o RollbackOptions) (RolloutResult, error) {
	res := RolloutResult{Cluster: o.Cluster, Service: o.Service}
	if err := o.Validate(); err != nil {
		return res, err
	}
	svc, err := describeService(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	res.PreviousRevision = revisionOf(aws.ToString(svc.TaskDefinition))
	if o.ToRevision > 0 {
		return rollbackToRevision(ctx, d, o, svc, res)
	}
	list, err := d.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(o.Cluster), Service: aws.String(o.Service),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusInProgress, types.ServiceDeploymentStatusPending},
	})
	if err != nil {
		return res, fmt.Errorf("list the service deployments of %s: %w", o.Service, err)
	}
	if len(list.ServiceDeployments) == 0 {
		res.State = StateUnchanged
		return res, fmt.Errorf("%w: no deployment of service %s is in progress; to deploy an older revision pass --to-revision N (the service runs revision %d)",
			ErrNothingToRollBack, o.Service, res.PreviousRevision)
	}
	arn := aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)
	started := d.clock().Now()
	if _, err := d.ECS.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback,
	}); err != nil {
		return res, fmt.Errorf("stop service deployment %s with rollback: %w", arn, err)
	}
	res.ServiceDeploymentArn = arn
	d.log().Info("rollback requested", "service_deployment", arn)
	// The rollback is a new PRIMARY deployment of the previous revision.
	svc, err = describeService(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	p := primaryOf(svc)
	if p == nil {
		return res, fmt.Errorf("service %s has no PRIMARY deployment after the rollback request", o.Service)
	}
	res.DeploymentID = aws.ToString(p.Id)
	res.TaskDefinition = aws.ToString(p.TaskDefinition)
	res.Revision = revisionOf(res.TaskDefinition)
	res.ServiceDeploymentArn = "" // the stopped one ends ROLLBACK_*; follow the rollback deployment itself
	if o.NoWait {
		res.State = StateInProgress
		return res, nil
	}
	return follow(ctx, d, res, o.Timeout, o.PollInterval, started, 0)
}

func rollbackToRevision(ctx context.Context, d Deps, o RollbackOptions, svc types.Service, res RolloutResult) (RolloutResult, error) {
	cur, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if err != nil {
		return res, fmt.Errorf("describe task definition %s: %w", aws.ToString(svc.TaskDefinition), err)
	}
	family := aws.ToString(cur.TaskDefinition.Family)
	want := fmt.Sprintf("%s:%d", family, o.ToRevision)
	td, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(want)})
	if err != nil {
		return res, fmt.Errorf("revision %s: %w", want, err)
	}
	if td.TaskDefinition.Status != types.TaskDefinitionStatusActive {
		return res, fmt.Errorf("revision %s is %s: ECS deploys only ACTIVE revisions", want, td.TaskDefinition.Status)
	}
	res.TaskDefinition = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	res.Revision = o.ToRevision
	p := primaryOf(svc)
	if p != nil && aws.ToString(p.TaskDefinition) == res.TaskDefinition {
		res.DeploymentID = aws.ToString(p.Id)
		if p.RolloutState == types.DeploymentRolloutStateCompleted {
			res.State = StateUnchanged
			res.RunningCount, res.DesiredCount = svc.RunningCount, svc.DesiredCount
			d.log().Info("the service already runs this revision; nothing to do", "revision", want)
			return res, nil
		}
		if o.NoWait {
			res.State = StateInProgress
			return res, nil
		}
		return follow(ctx, d, res, o.Timeout, o.PollInterval, time.Time{}, 0)
	}
	started := d.clock().Now()
	up, err := d.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(o.Cluster), Service: aws.String(o.Service), TaskDefinition: aws.String(res.TaskDefinition),
	})
	if err != nil {
		return res, fmt.Errorf("update service %s to %s: %w", o.Service, want, err)
	}
	for _, dep := range up.Service.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" {
			res.DeploymentID = aws.ToString(dep.Id)
		}
	}
	res.ServiceDeploymentArn = findServiceDeployment(ctx, d, o.Cluster, o.Service, started)
	d.log().Info("deploying an older revision", "revision", want, "deployment", res.DeploymentID)
	if o.NoWait {
		res.State = StateInProgress
		return res, nil
	}
	return follow(ctx, d, res, o.Timeout, o.PollInterval, started, 0)
}
