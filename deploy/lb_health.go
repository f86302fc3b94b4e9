package deploy

// Target health of load-balanced services: a rollout is complete only when
// the new deployment's tasks are healthy targets of the service's target
// group (DescribeTargetHealth), and unhealthy targets are reported in plain
// words (botocore elbv2 TargetHealthReasonEnum and TargetHealth.Description).

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TargetStatus is one target of a service's target group.
type TargetStatus struct {
	TargetGroup string `json:"target_group"`
	Target      string `json:"target"` // ip:port
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"` // ELB's reason code
	Why         string `json:"why,omitempty"`    // in plain words
}

// plainTargetReason says in plain words why a target is not healthy
// (reason codes: botocore elbv2 TargetHealthReasonEnum; their meaning: the
// TargetHealth.Reason documentation).
func plainTargetReason(reason elbtypes.TargetHealthReasonEnum, desc string) string {
	var s string
	switch reason {
	case "":
		return ""
	case elbtypes.TargetHealthReasonEnumRegistrationInProgress:
		s = "being registered with the load balancer"
	case elbtypes.TargetHealthReasonEnumInitialHealthChecking:
		s = "first health checks still running"
	case elbtypes.TargetHealthReasonEnumResponseCodeMismatch:
		s = "the health check got the wrong HTTP status (check --health-path and that the app answers 200-399 there)"
	case elbtypes.TargetHealthReasonEnumTimeout:
		s = "the health check timed out: the app did not answer on its port in time"
	case elbtypes.TargetHealthReasonEnumFailedHealthChecks:
		s = "failed its health checks (connection refused or closed: is the app listening on --port?)"
	case elbtypes.TargetHealthReasonEnumNotRegistered:
		s = "not registered with the target group"
	case elbtypes.TargetHealthReasonEnumNotInUse:
		s = "the target group is not used by any listener rule"
	case elbtypes.TargetHealthReasonEnumDeregistrationInProgress:
		s = "being deregistered (draining connections)"
	case elbtypes.TargetHealthReasonEnumInvalidState:
		s = "the target is stopped or terminated"
	case elbtypes.TargetHealthReasonEnumIpUnusable:
		s = "its IP address cannot be used as a target"
	case elbtypes.TargetHealthReasonEnumHealthCheckDisabled:
		s = "health checks are disabled"
	case elbtypes.TargetHealthReasonEnumInternalError:
		s = "Elastic Load Balancing had an internal error checking it"
	default:
		s = string(reason)
	}
	if desc != "" {
		s += " (" + strings.TrimSuffix(desc, ".") + ")"
	}
	return s
}

// targetHealth reads a target group's targets (nil ELB client: none).
func targetHealth(ctx context.Context, d Deps, tgArn string) ([]TargetStatus, error) {
	out, err := d.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgArn)})
	if err != nil {
		return nil, fmt.Errorf("target health of %s: %w", shortELB(tgArn), err)
	}
	var res []TargetStatus
	for _, t := range out.TargetHealthDescriptions {
		ts := TargetStatus{TargetGroup: shortELB(tgArn)}
		if t.Target != nil {
			ts.Target = fmt.Sprintf("%s:%d", aws.ToString(t.Target.Id), aws.ToInt32(t.Target.Port))
		}
		if h := t.TargetHealth; h != nil {
			ts.State, ts.Reason, ts.Why = string(h.State), string(h.Reason), plainTargetReason(h.Reason, aws.ToString(h.Description))
		}
		res = append(res, ts)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Target < res[j].Target })
	return res, nil
}

// taskIPs are the private IPv4 addresses of a deployment's running tasks:
// those it started, and those of its task definition (a blue-green
// rollback's deployment takes over the old revision's running tasks).
func taskIPs(ctx context.Context, d Deps, cluster, service, deploymentID, taskDef string) ([]string, error) {
	list, err := d.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil {
		return nil, fmt.Errorf("list tasks of %s: %w", service, err)
	}
	var ips []string
	for i := 0; i < len(list.TaskArns); i += 100 {
		out, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns[i:min(i+100, len(list.TaskArns))]})
		if err != nil {
			return nil, fmt.Errorf("describe tasks of %s: %w", service, err)
		}
		for _, t := range out.Tasks {
			mine := deploymentID == "" || aws.ToString(t.StartedBy) == deploymentID || (taskDef != "" && aws.ToString(t.TaskDefinitionArn) == taskDef)
			if aws.ToString(t.LastStatus) != "RUNNING" || !mine {
				continue
			}
			if ip := taskIP(t); ip != "" {
				ips = append(ips, ip)
			}
		}
	}
	sort.Strings(ips)
	return ips, nil
}

func taskIP(t ecstypes.Task) string {
	for _, a := range t.Attachments {
		for _, kv := range a.Details {
			if aws.ToString(kv.Name) == "privateIPv4Address" {
				return aws.ToString(kv.Value)
			}
		}
	}
	for _, c := range t.Containers {
		for _, n := range c.NetworkInterfaces {
			if ip := aws.ToString(n.PrivateIpv4Address); ip != "" {
				return ip
			}
		}
	}
	return ""
}

// healthyTargets checks a deployment's running tasks against the service's
// target groups. ok: every task is a healthy target. state says what is
// missing in plain words.
func (f *follower) healthyTargets(ctx context.Context, svc ecstypes.Service, dep *ecstypes.Deployment) (ok bool, state string, err error) {
	if f.d.ELB == nil || len(svc.LoadBalancers) == 0 {
		return true, "", nil
	}
	ips, err := taskIPs(ctx, f.d, f.res.Cluster, f.res.Service, aws.ToString(dep.Id), aws.ToString(dep.TaskDefinition))
	if err != nil {
		return false, "", err
	}
	want := map[string]bool{}
	for _, ip := range ips {
		want[ip] = true
	}
	var all []TargetStatus
	healthy := 0
	for _, arn := range serviceTargetGroups(svc) {
		ts, err := targetHealth(ctx, f.d, arn)
		if err != nil {
			return false, "", err
		}
		for _, t := range ts {
			ip, _, _ := strings.Cut(t.Target, ":")
			if !want[ip] {
				continue
			}
			all = append(all, t)
			if t.State == string(elbtypes.TargetHealthStateEnumHealthy) {
				healthy++
			}
		}
	}
	f.res.Targets = all
	n := len(ips)
	if n == 0 {
		return dep.DesiredCount == 0, "no running tasks to register as targets yet", nil
	}
	if healthy >= n {
		return true, "", nil
	}
	state = fmt.Sprintf("%d/%d tasks healthy targets", healthy, n)
	registered := map[string]bool{}
	for _, t := range all {
		ip, _, _ := strings.Cut(t.Target, ":")
		registered[ip] = true
		if t.State == string(elbtypes.TargetHealthStateEnumUnhealthy) && !f.seenTarget[t.Target+t.Reason] {
			f.seenTarget[t.Target+t.Reason] = true
			f.unhealthy = "target " + t.Target + " " + t.Why
			f.d.log().Warn("unhealthy target", "target", t.Target, "why", t.Why)
		}
	}
	if len(registered) < n {
		state += fmt.Sprintf("; %d not registered yet", n-len(registered))
	}
	for _, t := range all {
		if t.State == string(elbtypes.TargetHealthStateEnumUnhealthy) {
			state += "; " + t.Target + " " + t.Why
			break
		}
	}
	return false, state, nil
}

// unhealthyWhy is the first unhealthy target's reason (for a failure).
func unhealthyWhy(ts []TargetStatus) string {
	for _, t := range ts {
		if t.State == string(elbtypes.TargetHealthStateEnumUnhealthy) && t.Why != "" {
			return "target " + t.Target + " " + t.Why
		}
	}
	return ""
}

// unhealthyEventRe matches ECS's service event for a task whose target
// failed its health checks: "(service S) (task ID) (port P) is unhealthy
// in (target-group ARN) due to (reason R)".
var unhealthyEventRe = regexp.MustCompile(`\(port (\d+)\) is unhealthy in \(target-group ([^)]*)\) due to \(reason (.*)\)\.?$`)

// unhealthyReason is why this deployment's targets were unhealthy, in plain
// words: the last unhealthy target seen, else ECS's last event about one.
func (f *follower) unhealthyReason() string {
	if f.unhealthy != "" {
		return f.unhealthy
	}
	for i := len(f.res.Events) - 1; i >= 0; i-- {
		if m := unhealthyEventRe.FindStringSubmatch(f.res.Events[i]); m != nil {
			return fmt.Sprintf("the load balancer's health checks failed on port %s of target group %s: %s", m[1], shortELB(m[2]), strings.TrimSuffix(m[3], "."))
		}
	}
	return ""
}

// serviceTargetGroups are a service's target groups, with the alternate
// ones of the traffic-shifting strategies (a deployment's tasks are in one
// or the other).
func serviceTargetGroups(svc ecstypes.Service) []string {
	var out []string
	for _, lb := range svc.LoadBalancers {
		if arn := aws.ToString(lb.TargetGroupArn); arn != "" {
			out = append(out, arn)
		}
		if a := lb.AdvancedConfiguration; a != nil && aws.ToString(a.AlternateTargetGroupArn) != "" {
			out = append(out, aws.ToString(a.AlternateTargetGroupArn))
		}
	}
	return out
}
