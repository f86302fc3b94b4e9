package deploy

// `deploy status` for load-balanced services: each service's URL, its
// listener rule and its targets' health in plain words.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// LBStatus is a load-balanced service's routing and target health.
type LBStatus struct {
	LoadBalancer string         `json:"load_balancer"`
	URL          string         `json:"url,omitempty"`
	Routes       []string       `json:"routes,omitempty"`
	Priority     int            `json:"rule_priority,omitempty"`
	Healthy      int            `json:"healthy_targets"`
	Targets      []TargetStatus `json:"targets"`
}

// addLBStatus fills the LoadBalancer of each load-balanced service (one
// look at the cluster's load balancer, its listeners and rules, then one
// DescribeTargetHealth per target group).
func addLBStatus(ctx context.Context, d Deps, cluster string, svcs []ecstypes.Service, out []ServiceStatus) error {
	if d.ELB == nil {
		return nil
	}
	any := false
	for _, s := range svcs {
		any = any || len(s.LoadBalancers) > 0
	}
	if !any {
		return nil
	}
	lb, err := findLB(ctx, d, cluster)
	if err != nil {
		return err
	}
	type route struct {
		rule     elbtypes.Rule
		listener string
	}
	routes := map[string]route{}
	dns := ""
	if lb != nil {
		dns = aws.ToString(lb.DNSName)
		http, https, err := webListeners(ctx, d, aws.ToString(lb.LoadBalancerArn))
		if err != nil {
			return err
		}
		for _, l := range []struct {
			ln    *elbtypes.Listener
			proto string
		}{{http, "HTTP"}, {https, "HTTPS"}} {
			if l.ln == nil {
				continue
			}
			rules, tags, err := listRules(ctx, d, aws.ToString(l.ln.ListenerArn))
			if err != nil {
				return err
			}
			for _, r := range rules {
				t := tags[aws.ToString(r.RuleArn)]
				if t[TagCluster] == cluster && t[TagService] != "" {
					routes[t[TagService]] = route{r, l.proto}
				}
			}
		}
	}
	for _, s := range svcs {
		if len(s.LoadBalancers) == 0 {
			continue
		}
		name := aws.ToString(s.ServiceName)
		st := &LBStatus{LoadBalancer: lbName(cluster), Targets: []TargetStatus{}}
		if r, ok := routes[name]; ok {
			l := optionsOfRule(r.rule)
			st.Routes = conditionText(l)
			st.Priority, _ = strconv.Atoi(aws.ToString(r.rule.Priority))
			if dns != "" {
				st.URL = serviceURL(dns, r.listener, l)
			}
		}
		for _, arn := range serviceTargetGroups(s) {
			ts, err := targetHealth(ctx, d, arn)
			if err != nil {
				return err
			}
			st.Targets = append(st.Targets, ts...)
		}
		for _, t := range st.Targets {
			if t.State == string(elbtypes.TargetHealthStateEnumHealthy) {
				st.Healthy++
			}
		}
		for j := range out {
			if out[j].Service == name {
				out[j].LoadBalancer = st
				out[j].Summary += "; " + lbSummary(st)
			}
		}
	}
	return nil
}

// lbSummary: "2 of 2 targets healthy at https://api.example.com/", with the
// first unhealthy target's reason.
func lbSummary(st *LBStatus) string {
	s := fmt.Sprintf("%d of %d targets healthy", st.Healthy, len(st.Targets))
	if len(st.Targets) == 0 {
		s = "no targets registered"
	}
	if st.URL != "" {
		s += " at " + st.URL
	}
	if w := unhealthyWhy(st.Targets); w != "" {
		s += " (" + w + ")"
	}
	return strings.TrimSpace(s)
}
