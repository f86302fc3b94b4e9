package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// RemoveOptions are the inputs of RemoveCluster.
type RemoveOptions struct {
	Name string `json:"name"`
	// Force deletes the cluster's services first instead of refusing.
	Force bool `json:"force"`
}

// RemoveResult is what `deploy cluster rm` did.
type RemoveResult struct {
	Cluster  string        `json:"cluster"`
	Found    bool          `json:"found"`
	Services []string      `json:"services_deleted"`
	Changes  []plan.Change `json:"changes"`
	Counts   plan.Counts   `json:"counts"`
}

// GroupDeleteTimeout bounds the wait for an Auto Scaling group to terminate
// its instances and go.
const GroupDeleteTimeout = 20 * time.Minute

// RemoveCluster deletes a cluster and everything opsctl created for it, in
// the reverse order of creation. Only resources tagged opsctl:cluster=NAME
// are deleted. It refuses while services are active unless Force. A re-run
// after a partial failure deletes what is left; when nothing is left it
// changes nothing.
func RemoveCluster(ctx context.Context, d Deps, o RemoveOptions) (RemoveResult, error) {
	if err := ValidateClusterName(o.Name); err != nil {
		return RemoveResult{}, err
	}
	res := RemoveResult{Cluster: o.Name, Services: []string{}}
	var steps []plan.Step
	c, err := describeCluster(ctx, d, o.Name)
	if err != nil {
		return res, err
	}
	tags := map[string]string{}
	if c != nil {
		tags = clusterTags(c)
		if tags[TagCluster] != o.Name {
			return res, fmt.Errorf("ECS cluster %s was not created by opsctl (no tag %s=%s): delete it yourself", o.Name, TagCluster, o.Name)
		}
		res.Found = true
		svcSteps, names, err := serviceSteps(ctx, d, o)
		if err != nil {
			return res, err
		}
		res.Services = names
		steps = append(steps, svcSteps...)
		if len(c.CapacityProviders) > 0 || len(c.DefaultCapacityProviderStrategy) > 0 {
			steps = append(steps, plan.Update("cluster-capacity-providers", o.Name+" capacity providers",
				[]plan.FieldDiff{{Field: "providers", Old: strings.Join(c.CapacityProviders, ","), New: "(none)"}}, func(ctx context.Context) error {
					_, err := d.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String(o.Name),
						CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}})
					return err
				}))
		}
	}
	groups := []string{onDemandGroupName(o.Name), spotGroupName(o.Name)}
	for _, g := range groups {
		s, err := providerDeleteStep(ctx, d, o.Name, g)
		if err != nil {
			return res, err
		}
		steps = append(steps, s...)
	}
	for _, g := range groups {
		s, err := groupDeleteStep(ctx, d, o.Name, g)
		if err != nil {
			return res, err
		}
		steps = append(steps, s...)
	}
	for _, f := range []func(context.Context, Deps, string) ([]plan.Step, error){launchTemplateDeleteStep, profileDeleteStep, roleDeleteStep, securityGroupDeleteStep} {
		s, err := f(ctx, d, o.Name)
		if err != nil {
			return res, err
		}
		steps = append(steps, s...)
	}
	if c != nil {
		steps = append(steps, plan.Delete("ecs-cluster", o.Name, func(ctx context.Context) error {
			_, err := d.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(o.Name)})
			return err
		}))
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{OnChange: d.OnChange, Log: d.log()})
	res.Changes, res.Counts = changes, plan.Count(changes)
	if len(steps) > 0 {
		res.Found = true
	}
	if err != nil {
		if plan.Partial(changes) {
			return res, opserr.Partialf("remove cluster %s: %v (re-run to finish)", o.Name, err)
		}
		return res, fmt.Errorf("remove cluster %s: %w", o.Name, err)
	}
	return res, nil
}

// serviceSteps lists the cluster's active services: an error without Force,
// else one step per service that scales it to zero and deletes it.
func serviceSteps(ctx context.Context, d Deps, o RemoveOptions) ([]plan.Step, []string, error) {
	var arns []string
	p := ecs.NewListServicesPaginator(d.ECS, &ecs.ListServicesInput{Cluster: aws.String(o.Name)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list services of %s: %w", o.Name, err)
		}
		arns = append(arns, pg.ServiceArns...)
	}
	var active []ecstypes.Service
	for i := 0; i < len(arns); i += 10 {
		out, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(o.Name), Services: arns[i:min(i+10, len(arns))]})
		if err != nil {
			return nil, nil, fmt.Errorf("describe services of %s: %w", o.Name, err)
		}
		for _, s := range out.Services {
			if aws.ToString(s.Status) == "ACTIVE" {
				active = append(active, s)
			}
		}
	}
	names := []string{}
	for _, s := range active {
		names = append(names, aws.ToString(s.ServiceName))
	}
	if len(active) == 0 {
		return nil, names, nil
	}
	if !o.Force {
		running := int32(0)
		for _, s := range active {
			running += s.RunningCount
		}
		return nil, nil, fmt.Errorf("cluster %s has %d active service(s) (%s) running %d task(s): delete them first, or pass --force to delete them with the cluster",
			o.Name, len(active), strings.Join(names, ", "), running)
	}
	var steps []plan.Step
	for _, s := range active {
		name := aws.ToString(s.ServiceName)
		steps = append(steps, plan.Delete("ecs-service", name, func(ctx context.Context) error {
			if _, err := d.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(o.Name), Service: aws.String(name), DesiredCount: aws.Int32(0)}); err != nil {
				return err
			}
			if _, err := d.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(o.Name), Service: aws.String(name), Force: aws.Bool(true)}); err != nil {
				return err
			}
			// Its tasks hold the capacity providers until they stop.
			return waitServiceGone(ctx, d, o.Name, name)
		}))
	}
	return steps, names, nil
}

func ecsTagged(tags []ecstypes.Tag, cluster string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagCluster && aws.ToString(t.Value) == cluster {
			return true
		}
	}
	return false
}

func providerDeleteStep(ctx context.Context, d Deps, cluster, name string) ([]plan.Step, error) {
	out, err := d.ECS.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{name}, Include: []ecstypes.CapacityProviderField{ecstypes.CapacityProviderFieldTags}})
	if err != nil {
		return nil, fmt.Errorf("describe capacity provider %s: %w", name, err)
	}
	for _, cp := range out.CapacityProviders {
		if cp.Status != ecstypes.CapacityProviderStatusActive || !ecsTagged(cp.Tags, cluster) {
			continue
		}
		return []plan.Step{plan.Delete("capacity-provider", name, func(ctx context.Context) error {
			_, err := d.ECS.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String(name)})
			return err
		})}, nil
	}
	return nil, nil
}

// groupDeleteStep force-deletes a group (terminating its instances) and
// waits until it is gone; a group already being deleted is only waited for.
func groupDeleteStep(ctx context.Context, d Deps, cluster, name string) ([]plan.Step, error) {
	if d.AutoScaling == nil {
		// Without an Auto Scaling client the group cannot be read; its
		// capacity provider (same name) tells whether opsctl made one.
		if steps, err := providerDeleteStep(ctx, d, cluster, name); err != nil || len(steps) > 0 {
			if err != nil {
				return nil, err
			}
			return nil, missingClient("AutoScaling", "removing the Auto Scaling group "+name+" the cluster no longer uses")
		}
		return nil, nil
	}
	out, err := d.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("describe Auto Scaling group %s: %w", name, err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil, nil
	}
	g := out.AutoScalingGroups[0]
	tagged := false
	for _, t := range g.Tags {
		tagged = tagged || aws.ToString(t.Key) == TagCluster && aws.ToString(t.Value) == cluster
	}
	if !tagged {
		return nil, nil
	}
	deleting := aws.ToString(g.Status) != ""
	waitGone := func(ctx context.Context) error {
		_, err := wait.Until(ctx, wait.Options{What: "Auto Scaling group " + name + " to be deleted", Clock: d.clock(), Timeout: GroupDeleteTimeout,
			Interval: 10 * time.Second, MaxInterval: 30 * time.Second, Progress: d.OnTick},
			func(ctx context.Context) (wait.Status, error) {
				out, err := d.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
				if err != nil {
					return wait.Status{}, err
				}
				if len(out.AutoScalingGroups) == 0 {
					return wait.Status{Done: true, State: "deleted"}, nil
				}
				return wait.Status{State: fmt.Sprintf("%d instance(s) terminating", len(out.AutoScalingGroups[0].Instances)), Fraction: -1}, nil
			})
		return err
	}
	return []plan.Step{plan.Delete("autoscaling-group", name, func(ctx context.Context) error {
		if !deleting {
			_, err := d.AutoScaling.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), ForceDelete: aws.Bool(true)})
			if err != nil && awsx.ErrorCode(err) != "ScalingActivityInProgress" {
				return err
			}
		}
		return waitGone(ctx)
	})}, nil
}

func launchTemplateDeleteStep(ctx context.Context, d Deps, cluster string) ([]plan.Step, error) {
	name := launchTemplateName(cluster)
	out, err := d.EC2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if awsx.ErrorCode(err) == "InvalidLaunchTemplateName.NotFoundException" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe launch template %s: %w", name, err)
	}
	for _, lt := range out.LaunchTemplates {
		if !hasTag(lt.Tags, TagCluster, cluster) {
			continue
		}
		id := aws.ToString(lt.LaunchTemplateId)
		return []plan.Step{plan.Delete("launch-template", name, func(ctx context.Context) error {
			_, err := d.EC2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
			return err
		})}, nil
	}
	return nil, nil
}

func profileDeleteStep(ctx context.Context, d Deps, cluster string) ([]plan.Step, error) {
	name := instanceProfileName(cluster)
	out, err := d.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get instance profile %s: %w", name, err)
	}
	if !iamTagged(out.InstanceProfile.Tags, cluster) {
		return nil, nil
	}
	var roles []string
	for _, r := range out.InstanceProfile.Roles {
		roles = append(roles, aws.ToString(r.RoleName))
	}
	return []plan.Step{plan.Delete("iam-instance-profile", name, func(ctx context.Context) error {
		for _, r := range roles {
			_, err := d.IAM.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(r)})
			if err != nil && awsx.ErrorCode(err) != "NoSuchEntity" {
				return err
			}
		}
		_, err := d.IAM.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)})
		return err
	})}, nil
}

func roleDeleteStep(ctx context.Context, d Deps, cluster string) ([]plan.Step, error) {
	name := instanceRoleName(cluster)
	out, err := d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get role %s: %w", name, err)
	}
	if !iamTagged(out.Role.Tags, cluster) {
		return nil, nil
	}
	return []plan.Step{plan.Delete("iam-role", name, func(ctx context.Context) error {
		pols, err := d.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
		if err != nil {
			return err
		}
		for _, p := range pols.PolicyNames {
			if _, err := d.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil {
				return err
			}
		}
		att, err := d.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
		if err != nil {
			return err
		}
		for _, p := range att.AttachedPolicies {
			if _, err := d.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn}); err != nil {
				return err
			}
		}
		_, err = d.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
		return err
	})}, nil
}

func securityGroupDeleteStep(ctx context.Context, d Deps, cluster string) ([]plan.Step, error) {
	name := securityGroupName(cluster)
	out, err := d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}}, {Name: aws.String("tag:" + TagCluster), Values: []string{cluster}}}})
	if err != nil {
		return nil, fmt.Errorf("look up security group %s: %w", name, err)
	}
	var steps []plan.Step
	for _, g := range out.SecurityGroups {
		id := aws.ToString(g.GroupId)
		steps = append(steps, plan.Delete("security-group", name, func(ctx context.Context) error {
			_, err := d.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
			if awsx.ErrorCode(err) == "DependencyViolation" {
				return fmt.Errorf("%w (network interfaces of stopped tasks are released within minutes: re-run then)", err)
			}
			return err
		}))
	}
	return steps, nil
}

// ServiceDrainTimeout bounds the wait for a deleted service's tasks to stop.
const ServiceDrainTimeout = 15 * time.Minute

// waitServiceGone waits until a deleted service is INACTIVE (its tasks have
// stopped) or gone.
func waitServiceGone(ctx context.Context, d Deps, cluster, name string) error {
	_, err := wait.Until(ctx, wait.Options{What: "service " + name + " to drain", Clock: d.clock(), Timeout: ServiceDrainTimeout,
		Interval: 6 * time.Second, MaxInterval: 30 * time.Second, Progress: d.OnTick},
		func(ctx context.Context) (wait.Status, error) {
			out, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
			if err != nil {
				return wait.Status{}, err
			}
			for _, s := range out.Services {
				if aws.ToString(s.Status) != "INACTIVE" {
					return wait.Status{State: fmt.Sprintf("%s, %d task(s) running", strings.ToLower(aws.ToString(s.Status)), s.RunningCount), Fraction: -1}, nil
				}
			}
			return wait.Status{Done: true, State: "inactive"}, nil
		})
	return err
}
