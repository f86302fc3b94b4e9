package deploy

// `deploy service rm NAME --cluster C`: the ECS service and what opsctl made
// for it, and, when its listener rule was the load balancer's last, the
// cluster's load balancer with its listeners and security group. Only what
// carries opsctl's tags is deleted; the log group (the service's logs) and
// the task definition revisions (history, for `deploy rollback`) are kept.
// Every step looks first, so a re-run after a partial failure deletes what
// is left and, when nothing is left, changes nothing.

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// ServiceRemoveOptions are the inputs of RemoveService.
type ServiceRemoveOptions struct {
	Cluster string `json:"cluster"`
	Name    string `json:"service"`
	DryRun  bool   `json:"dry_run"`
}

// ServiceRemoveResult is what `deploy service rm` did or would do.
type ServiceRemoveResult struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	// LoadBalancerRemoved: the service's rule was the last one.
	LoadBalancerRemoved bool `json:"load_balancer_removed"`
	// Kept says what opsctl leaves on purpose.
	Kept    []string      `json:"kept"`
	DryRun  bool          `json:"dry_run"`
	Changes []plan.Change `json:"changes"`
	Counts  plan.Counts   `json:"counts"`
}

// RemoveService deletes a service and its routing.
func RemoveService(ctx context.Context, d Deps, o ServiceRemoveOptions) (ServiceRemoveResult, error) {
	if err := ValidateClusterName(o.Cluster); err != nil {
		return ServiceRemoveResult{}, err
	}
	if err := ValidateServiceName(o.Name); err != nil {
		return ServiceRemoveResult{}, err
	}
	res := ServiceRemoveResult{Cluster: o.Cluster, Service: o.Name, DryRun: o.DryRun, Changes: []plan.Change{},
		Kept: []string{"log group " + logGroupName(o.Cluster, o.Name), "task definition family " + familyName(o.Cluster, o.Name)}}
	r := &remover{d: d, o: o, res: &res}
	steps, err := r.plan(ctx)
	if err != nil {
		return res, err
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: o.DryRun, OnChange: d.OnChange, Log: d.log()})
	res.Changes, res.Counts = changes, plan.Count(changes)
	if err != nil {
		if plan.Partial(changes) {
			return res, opserr.Partialf("remove service %s: %v (re-run to finish)", o.Name, err)
		}
		return res, fmt.Errorf("remove service %s: %w", o.Name, err)
	}
	return res, nil
}

type remover struct {
	d   Deps
	o   ServiceRemoveOptions
	res *ServiceRemoveResult
}

func (r *remover) plan(ctx context.Context) ([]plan.Step, error) {
	var steps []plan.Step
	for _, f := range []func(context.Context) ([]plan.Step, error){r.service, r.scaling, r.routing, r.role} {
		s, err := f(ctx)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s...)
	}
	return steps, nil
}

func (r *remover) service(ctx context.Context) ([]plan.Step, error) {
	live, err := liveService(ctx, r.d, r.o.Cluster, r.o.Name)
	if err != nil || live == nil {
		return nil, err
	}
	if serviceTags(live)[TagService] != r.o.Name {
		return nil, fmt.Errorf("service %s was not created by opsctl (no tag %s=%s): delete it yourself", r.o.Name, TagService, r.o.Name)
	}
	return []plan.Step{plan.Delete("ecs-service", r.o.Name, func(ctx context.Context) error {
		if _, err := r.d.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(r.o.Cluster), Service: aws.String(r.o.Name), DesiredCount: aws.Int32(0)}); err != nil {
			return err
		}
		_, err := r.d.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(r.o.Cluster), Service: aws.String(r.o.Name), Force: aws.Bool(true)})
		return err
	})}, nil
}

func (r *remover) scaling(ctx context.Context) ([]plan.Step, error) {
	if r.d.AppScaling == nil {
		return nil, nil
	}
	id := resourceID(r.o.Cluster, r.o.Name)
	out, err := r.d.AppScaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceIds: []string{id}, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil {
		return nil, fmt.Errorf("look up auto scaling of %s: %w", id, err)
	}
	if len(out.ScalableTargets) == 0 {
		return nil, nil
	}
	return []plan.Step{plan.Delete("scalable-target", id, func(ctx context.Context) error {
		_, err := r.d.AppScaling.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String(id), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
		if awsx.ErrorCode(err) == "ObjectNotFoundException" {
			return nil
		}
		return err
	})}, nil
}

// role deletes the service's execution role (its inline policy first).
func (r *remover) role(ctx context.Context) ([]plan.Step, error) {
	if r.d.IAM == nil {
		return nil, nil
	}
	name := executionRoleName(r.o.Cluster, r.o.Name)
	out, err := r.d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up role %s: %w", name, err)
	}
	tagged := false
	for _, t := range out.Role.Tags {
		tagged = tagged || aws.ToString(t.Key) == TagService && aws.ToString(t.Value) == r.o.Name
	}
	if !tagged {
		r.res.Kept = append(r.res.Kept, "role "+name+" (not created by opsctl)")
		return nil, nil
	}
	return []plan.Step{plan.Delete("iam-role", name, func(ctx context.Context) error { return deleteRole(ctx, r.d, name) })}, nil
}

// deleteRole removes a role's inline and attached policies, then the role.
func deleteRole(ctx context.Context, d Deps, name string) error {
	pols, err := d.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return err
	}
	for _, p := range pols.PolicyNames {
		if _, err := d.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil && awsx.ErrorCode(err) != "NoSuchEntity" {
			return err
		}
	}
	att, err := d.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return err
	}
	for _, p := range att.AttachedPolicies {
		if _, err := d.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn}); err != nil && awsx.ErrorCode(err) != "NoSuchEntity" {
			return err
		}
	}
	_, err = d.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil
	}
	return err
}

// routing deletes the service's rule and target groups, its port on the
// task group, and the load balancer when no rule is left.
func (r *remover) routing(ctx context.Context) ([]plan.Step, error) {
	if r.d.ELB == nil {
		return nil, nil
	}
	cluster, svc := r.o.Cluster, r.o.Name
	var steps []plan.Step
	lb, err := findLB(ctx, r.d, cluster)
	if err != nil {
		return nil, err
	}
	var listeners []*elbtypes.Listener
	remaining := 0 // rules that stay: other services' and foreign ones
	ports := map[int32]bool{}
	if lb != nil {
		tags, err := elbTagsOf(ctx, r.d, []string{aws.ToString(lb.LoadBalancerArn)})
		if err != nil {
			return nil, err
		}
		if tags[aws.ToString(lb.LoadBalancerArn)][TagCluster] != cluster {
			lb = nil // not opsctl's: leave it and its rules alone
		}
	}
	if lb != nil {
		http, https, err := webListeners(ctx, r.d, aws.ToString(lb.LoadBalancerArn))
		if err != nil {
			return nil, err
		}
		for _, l := range []*elbtypes.Listener{http, https} {
			if l == nil {
				continue
			}
			listeners = append(listeners, l)
			rules, rtags, err := listRules(ctx, r.d, aws.ToString(l.ListenerArn))
			if err != nil {
				return nil, err
			}
			for _, rule := range rules {
				if aws.ToBool(rule.IsDefault) {
					continue
				}
				t := rtags[aws.ToString(rule.RuleArn)]
				if t[TagCluster] == cluster && t[TagService] == svc {
					arn := aws.ToString(rule.RuleArn)
					steps = append(steps, plan.Delete("listener-rule", cluster+"/"+svc, func(ctx context.Context) error {
						_, err := r.d.ELB.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)})
						if awsx.ErrorCode(err) == "RuleNotFound" {
							return nil
						}
						return err
					}))
					continue
				}
				remaining++
				if t[TagCluster] == cluster && t[TagService] != "" {
					if tg, err := findTG(ctx, r.d, tgName(cluster, t[TagService])); err == nil && tg != nil {
						ports[aws.ToInt32(tg.Port)] = true
					}
				}
			}
		}
	}
	var myPort int32
	for _, name := range []string{tgName(cluster, svc), altTGName(cluster, svc)} {
		tg, err := findTG(ctx, r.d, name)
		if err != nil {
			return nil, err
		}
		if tg == nil {
			continue
		}
		arn := aws.ToString(tg.TargetGroupArn)
		tt, err := elbTagsOf(ctx, r.d, []string{arn})
		if err != nil {
			return nil, err
		}
		if tt[arn][TagService] != svc || tt[arn][TagCluster] != cluster {
			r.res.Kept = append(r.res.Kept, "target group "+name+" (not created by opsctl)")
			continue
		}
		myPort = aws.ToInt32(tg.Port)
		steps = append(steps, plan.Delete("target-group", name, func(ctx context.Context) error {
			_, err := r.d.ELB.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
			if awsx.ErrorCode(err) == "TargetGroupNotFound" {
				return nil
			}
			return err
		}))
	}
	lbGoes := lb != nil && remaining == 0
	// With no load balancer left (an earlier run stopped half way), what
	// still refers to its group goes too.
	s, err := r.ingress(ctx, myPort, ports, lbGoes || lb == nil)
	if err != nil {
		return nil, err
	}
	steps = append(steps, s...)
	if lb == nil {
		return append(steps, r.albGroup(ctx)...), nil
	}
	if !lbGoes {
		r.res.Kept = append(r.res.Kept, fmt.Sprintf("load balancer %s (%d other rule(s) use it)", lbName(cluster), remaining))
		return steps, nil
	}
	r.res.LoadBalancerRemoved = true
	for _, l := range listeners {
		arn, port := aws.ToString(l.ListenerArn), aws.ToInt32(l.Port)
		steps = append(steps, plan.Delete("listener", fmt.Sprintf("%s:%d", lbName(cluster), port), func(ctx context.Context) error {
			_, err := r.d.ELB.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
			if awsx.ErrorCode(err) == "ListenerNotFound" {
				return nil
			}
			return err
		}))
	}
	lbArn := aws.ToString(lb.LoadBalancerArn)
	steps = append(steps, plan.Delete("load-balancer", lbName(cluster), func(ctx context.Context) error {
		_, err := r.d.ELB.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbArn)})
		if awsx.ErrorCode(err) == "LoadBalancerNotFound" {
			return nil
		}
		return err
	}))
	steps = append(steps, r.albGroup(ctx)...)
	s, err = r.lbRole(ctx)
	return append(steps, s...), err
}

// ingress revokes the task group's rules from the load balancer's group:
// this service's port unless another service uses it, or all of them when
// the load balancer goes.
func (r *remover) ingress(ctx context.Context, port int32, others map[int32]bool, all bool) ([]plan.Step, error) {
	ci, err := readCluster(ctx, r.d, r.o.Cluster)
	if err != nil {
		return nil, nil // no opsctl cluster: nothing of ours to revoke
	}
	alb, err := r.albGroupID(ctx, ci.securityGroup)
	if err != nil || alb == "" {
		return nil, err
	}
	out, err := r.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{ci.securityGroup}})
	if err != nil || len(out.SecurityGroups) == 0 {
		return nil, fmt.Errorf("look up security group %s: %v", ci.securityGroup, err)
	}
	var revoke []ec2types.IpPermission
	var what []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		for _, g := range p.UserIdGroupPairs {
			if aws.ToString(g.GroupId) != alb {
				continue
			}
			from := aws.ToInt32(p.FromPort)
			if all || (from == port && !others[port]) {
				revoke = append(revoke, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort,
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(alb)}}})
				what = append(what, fmt.Sprintf("tcp %d from %s", from, albGroupName(r.o.Cluster)))
			}
		}
	}
	if len(revoke) == 0 {
		return nil, nil
	}
	sg := ci.securityGroup
	return []plan.Step{plan.Update("security-group-ingress", securityGroupName(r.o.Cluster), []plan.FieldDiff{{Field: "ingress", Old: strings.Join(what, ", "), New: "(removed)"}},
		func(ctx context.Context) error {
			_, err := r.d.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(sg), IpPermissions: revoke})
			if awsx.ErrorCode(err) == "InvalidPermission.NotFound" {
				return nil
			}
			return err
		})}, nil
}

// albGroupID finds opsctl's load balancer group in the task group's VPC.
func (r *remover) albGroupID(ctx context.Context, taskGroup string) (string, error) {
	tsg, err := r.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{taskGroup}})
	if err != nil || len(tsg.SecurityGroups) == 0 {
		return "", fmt.Errorf("look up security group %s: %v", taskGroup, err)
	}
	out, err := r.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{aws.ToString(tsg.SecurityGroups[0].VpcId)}},
		{Name: aws.String("group-name"), Values: []string{albGroupName(r.o.Cluster)}}}})
	if err != nil {
		return "", fmt.Errorf("look up security group %s: %w", albGroupName(r.o.Cluster), err)
	}
	for _, g := range out.SecurityGroups {
		if hasTag(g.Tags, TagCluster, r.o.Cluster) {
			return aws.ToString(g.GroupId), nil
		}
	}
	return "", nil
}

// albGroup deletes the load balancer's group (when the load balancer goes,
// or is already gone after a partial failure).
func (r *remover) albGroup(ctx context.Context) []plan.Step {
	ci, err := readCluster(ctx, r.d, r.o.Cluster)
	if err != nil {
		return nil
	}
	id, err := r.albGroupID(ctx, ci.securityGroup)
	if err != nil || id == "" {
		return nil
	}
	return []plan.Step{plan.Delete("security-group", albGroupName(r.o.Cluster), func(ctx context.Context) error {
		_, err := r.d.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
		if awsx.ErrorCode(err) == "InvalidGroup.NotFound" {
			return nil
		}
		return err
	})}
}

// lbRole deletes the ECS infrastructure role of the traffic-shifting
// strategies with the load balancer.
func (r *remover) lbRole(ctx context.Context) ([]plan.Step, error) {
	if r.d.IAM == nil {
		return nil, nil
	}
	name := lbRoleName(r.o.Cluster)
	out, err := r.d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up role %s: %w", name, err)
	}
	for _, t := range out.Role.Tags {
		if aws.ToString(t.Key) == TagCluster && aws.ToString(t.Value) == r.o.Cluster {
			return []plan.Step{plan.Delete("iam-role", name, func(ctx context.Context) error { return deleteRole(ctx, r.d, name) })}, nil
		}
	}
	return nil, nil
}

// ValidateServiceName checks an ECS service name (botocore ecs
// CreateServiceRequest.serviceName: up to 255 letters, digits, hyphens and
// underscores).
func ValidateServiceName(name string) error {
	if !serviceNameRe.MatchString(name) {
		return opserr.Usagef("service name %q: up to 255 letters, digits, hyphens and underscores, starting with a letter or digit", name)
	}
	return nil
}
