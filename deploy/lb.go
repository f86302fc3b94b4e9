package deploy

// A public service (`deploy service create … --port P --public`) sits behind
// the cluster's one shared Application Load Balancer, which a small company
// pays for once per cluster instead of once per service. What the plan
// makes, in order (each step found by name or tag first, so a re-run writes
// nothing and a run interrupted half way is finished by the next one):
//   - the security group opsctl-CLUSTER-alb in the cluster's VPC, open on 80
//     and 443 to the internet;
//   - the load balancer (internet-facing, the cluster's subnets, the group
//     above), tagged opsctl:cluster;
//   - the HTTP:80 listener; with a certificate, the HTTPS:443 listener
//     (the certificate, TLS policy ELBSecurityPolicy-TLS13-1-2-2021-06) and
//     HTTP redirected to HTTPS (301); with no rule matching, a plain 404;
//   - the service's target group (IP targets for awsvpc, the health-check
//     path, 2 healthy / 3 unhealthy checks every 10 s, deregistration delay
//     30 s so a deployment drains quickly), and for blue-green, canary and
//     linear a second one the new revision starts in;
//   - the service's listener rule (host and/or path; without either, every
//     path), tagged opsctl:cluster and opsctl:service so opsctl finds its own
//     rules, at the lowest free priority, kept on re-runs;
//   - an ingress rule on the cluster's task security group from the load
//     balancer's group on the container port, and nothing else;
//   - for the traffic-shifting strategies, the ECS infrastructure role
//     ECS assumes to move the listener rule's weights.
// The ECS service then gets loadBalancers wiring (and its strategy).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/plan"
)

// Settings of what the plan makes.
const (
	TLSPolicy           = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	healthInterval      = 10
	healthTimeout       = 5
	healthyThreshold    = 2
	unhealthyThreshold  = 3
	deregistrationDelay = 30 // seconds
	healthGracePeriod   = 30 // seconds ECS ignores failing health checks of a new task
	healthMatcher       = "200-399"
	TagRule             = "opsctl:rule" // "production" on a service's listener rule
)

// LoadBalancerInfo is what service create reports about the load balancer.
type LoadBalancerInfo struct {
	Name           string   `json:"name"`
	DNSName        string   `json:"dns_name,omitempty"`
	URL            string   `json:"url,omitempty"`
	SecurityGroup  string   `json:"security_group,omitempty"`
	TargetGroups   []string `json:"target_groups"`
	Listener       string   `json:"listener"`
	RulePriority   int      `json:"rule_priority,omitempty"`
	Conditions     []string `json:"conditions"`
	Strategy       string   `json:"strategy"`
	StrategyDetail string   `json:"strategy_detail"`
}

var nameClean = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// elbName fits an ELB name (1-32 letters, digits and hyphens, not starting
// or ending with a hyphen; botocore elbv2 CreateLoadBalancerInput.Name and
// CreateTargetGroupInput.Name): "opsctl-PARTS", shortened with a hash of
// the full name when longer.
func elbName(parts ...string) string {
	full := "opsctl-" + strings.Join(parts, "-")
	n := strings.Trim(nameClean.ReplaceAllString(full, "-"), "-")
	if n == full && len(n) <= 32 {
		return n
	}
	sum := sha256.Sum256([]byte(full))
	h := hex.EncodeToString(sum[:])[:8]
	if len(n) > 23 {
		n = n[:23]
	}
	return strings.TrimRight(n, "-") + "-" + h
}

func lbName(cluster string) string          { return elbName(cluster) }
func albGroupName(cluster string) string    { return "opsctl-" + cluster + "-alb" }
func lbRoleName(cluster string) string      { return "opsctl-" + cluster + "-ecs-lb" }
func tgName(cluster, service string) string { return elbName(cluster, service) }

// altTGName is the second target group of the traffic-shifting strategies.
func altTGName(cluster, service string) string { return elbName(cluster, service, "2") }

// lbState is what the load-balancer steps found or made, read by the
// service step (ARNs of things created in the same run are set by their
// apply functions).
type lbState struct {
	vpc, sgID, lbArn, dns  string
	httpArn, httpsArn      string
	tgArn, altArn, ruleArn string
	roleArn                string
	listener               string // "HTTP" or "HTTPS": where the rule lives
	liveRules              []elbtypes.Rule
	ruleTags               map[string]map[string]string
	priority               int
}

func (b *serviceBuilder) lbWanted() bool { return b.o.LB.Public }

// loadBalancer plans the shared load balancer and the service's routing.
func (b *serviceBuilder) loadBalancer(ctx context.Context) ([]plan.Step, error) {
	if !b.lbWanted() {
		return nil, nil
	}
	if b.d.ELB == nil {
		return nil, fmt.Errorf("--public: no Elastic Load Balancing client configured")
	}
	b.lb = &lbState{}
	l := b.o.LB
	info := &LoadBalancerInfo{Name: lbName(b.o.Cluster), Strategy: l.Strategy, StrategyDetail: l.describe(), Conditions: conditionText(l)}
	b.res.LoadBalancer = info
	if err := b.checkCertificate(ctx); err != nil {
		return nil, err
	}
	var steps []plan.Step
	for _, f := range []func(context.Context) ([]plan.Step, error){b.albSecurityGroup, b.albItself, b.listeners, b.targetGroups, b.listenerRule, b.taskIngress, b.lbRole} {
		s, err := f(ctx)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s...)
	}
	info.SecurityGroup = b.lb.sgID
	info.Listener = b.lb.listener
	info.RulePriority = b.lb.priority
	info.TargetGroups = []string{tgName(b.o.Cluster, b.o.Name)}
	if l.shiftsTraffic() {
		info.TargetGroups = append(info.TargetGroups, altTGName(b.o.Cluster, b.o.Name))
	}
	if b.lb.dns != "" {
		info.DNSName = b.lb.dns
		info.URL = serviceURL(b.lb.dns, b.lb.listener, l)
	}
	return steps, nil
}

// serviceURL is where the service answers: https with a certificate, the
// first host (else the load balancer's name), the first path's fixed prefix.
func serviceURL(dns, listener string, l LBOptions) string {
	scheme := "http"
	if listener == "HTTPS" {
		scheme = "https"
	}
	host := dns
	if len(l.Hosts) > 0 && !strings.ContainsAny(l.Hosts[0], "*?") {
		host = strings.ToLower(l.Hosts[0])
	}
	path := "/"
	if len(l.Paths) > 0 {
		p := l.Paths[0]
		if i := strings.IndexAny(p, "*?"); i >= 0 {
			p = p[:i]
		}
		if strings.HasPrefix(p, "/") {
			path = p
		}
	}
	return scheme + "://" + host + path
}

func conditionText(l LBOptions) []string {
	var out []string
	for _, h := range l.Hosts {
		out = append(out, "host "+strings.ToLower(h))
	}
	for _, p := range l.Paths {
		out = append(out, "path "+p)
	}
	if len(out) == 0 {
		out = []string{"path /*"}
	}
	return out
}

// checkCertificate: the certificate exists and is issued (ACM
// DescribeCertificate) before anything is written.
func (b *serviceBuilder) checkCertificate(ctx context.Context) error {
	arn := b.o.LB.Certificate
	if arn == "" {
		return nil
	}
	if b.d.ACM == nil {
		return fmt.Errorf("--certificate: no ACM client configured")
	}
	out, err := b.d.ACM.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	switch {
	case awsx.ErrorCode(err) == "ResourceNotFoundException":
		return fmt.Errorf("--certificate %s: no such certificate in ACM (%s)", arn, apiMessage(err))
	case err != nil:
		return fmt.Errorf("check certificate %s: %w", arn, err)
	}
	if c := out.Certificate; c != nil && c.Status != acmtypes.CertificateStatusIssued {
		return fmt.Errorf("--certificate %s is %s, not ISSUED: a listener needs an issued certificate (validate it first)", arn, c.Status)
	}
	return nil
}

func ec2Tags(cluster string, extra ...string) []ec2types.TagSpecification {
	tags := []ec2types.Tag{{Key: aws.String(TagCluster), Value: aws.String(cluster)}}
	for i := 0; i+1 < len(extra); i += 2 {
		tags = append(tags, ec2types.Tag{Key: aws.String(extra[i]), Value: aws.String(extra[i+1])})
	}
	return []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: tags}}
}

func elbTags(kv ...string) []elbtypes.Tag {
	var out []elbtypes.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, elbtypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// albIngress: HTTP and HTTPS from anywhere (IPv4 and IPv6).
func albIngress() []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, p := range []int32{80, 443} {
		out = append(out, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(p), ToPort: aws.Int32(p),
			IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("web clients")}},
			Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0"), Description: aws.String("web clients")}}})
	}
	return out
}

func hasPublicPort(perms []ec2types.IpPermission, port int32) bool {
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) <= port && aws.ToInt32(p.ToPort) >= port {
			for _, r := range p.IpRanges {
				if aws.ToString(r.CidrIp) == "0.0.0.0/0" {
					return true
				}
			}
		}
	}
	return false
}

func ignoreDuplicate(err error) error {
	if awsx.ErrorCode(err) == "InvalidPermission.Duplicate" {
		return nil
	}
	return err
}

// albSecurityGroup: opsctl-CLUSTER-alb, open on 80 and 443.
func (b *serviceBuilder) albSecurityGroup(ctx context.Context) ([]plan.Step, error) {
	tsg, err := b.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{b.cl.securityGroup}})
	if err != nil || len(tsg.SecurityGroups) == 0 {
		return nil, fmt.Errorf("look up the cluster's task security group %s: %v", b.cl.securityGroup, err)
	}
	b.lb.vpc = aws.ToString(tsg.SecurityGroups[0].VpcId)
	name := albGroupName(b.o.Cluster)
	out, err := b.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{b.lb.vpc}}, {Name: aws.String("group-name"), Values: []string{name}}}})
	if err != nil {
		return nil, fmt.Errorf("look up security group %s: %w", name, err)
	}
	authorize := func(ctx context.Context) error {
		_, err := b.d.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(b.lb.sgID), IpPermissions: albIngress()})
		return ignoreDuplicate(err)
	}
	if len(out.SecurityGroups) == 0 {
		return []plan.Step{plan.Create("security-group", name, func(ctx context.Context) error {
			cr, err := b.d.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), VpcId: aws.String(b.lb.vpc),
				Description:       aws.String("Load balancer of ECS cluster " + b.o.Cluster + " (opsctl): HTTP and HTTPS from anywhere"),
				TagSpecifications: ec2Tags(b.o.Cluster)})
			if err != nil {
				return err
			}
			b.lb.sgID = aws.ToString(cr.GroupId)
			return authorize(ctx)
		})}, nil
	}
	g := out.SecurityGroups[0]
	b.lb.sgID = aws.ToString(g.GroupId)
	if !hasTag(g.Tags, TagCluster, b.o.Cluster) {
		return nil, fmt.Errorf("security group %s (%s) exists but was not created by opsctl (no tag %s=%s): opsctl will not use it", name, b.lb.sgID, TagCluster, b.o.Cluster)
	}
	if hasPublicPort(g.IpPermissions, 80) && hasPublicPort(g.IpPermissions, 443) {
		return []plan.Step{plan.Unchanged("security-group", name)}, nil
	}
	return []plan.Step{plan.Update("security-group", name, []plan.FieldDiff{{Field: "ingress", Old: "(not open on 80 and 443)", New: "tcp 80, 443 from anywhere"}}, authorize)}, nil
}

// elbTagsOf reads the tags of up to 20 ELB resources per call.
func elbTagsOf(ctx context.Context, d Deps, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for i := 0; i < len(arns); i += 20 {
		chunk := arns[i:min(i+20, len(arns))]
		res, err := d.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			return nil, fmt.Errorf("read tags: %w", err)
		}
		for _, d := range res.TagDescriptions {
			m := map[string]string{}
			for _, t := range d.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[aws.ToString(d.ResourceArn)] = m
		}
	}
	return out, nil
}

// findLB is the cluster's load balancer (nil when there is none).
func findLB(ctx context.Context, d Deps, cluster string) (*elbtypes.LoadBalancer, error) {
	out, err := d.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{lbName(cluster)}})
	if awsx.ErrorCode(err) == "LoadBalancerNotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up load balancer %s: %w", lbName(cluster), err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	return &out.LoadBalancers[0], nil
}

func (b *serviceBuilder) albItself(ctx context.Context) ([]plan.Step, error) {
	name := lbName(b.o.Cluster)
	lb, err := findLB(ctx, b.d, b.o.Cluster)
	if err != nil {
		return nil, err
	}
	if lb == nil {
		return []plan.Step{createStep("load-balancer", name, func(ctx context.Context) error {
			out, err := b.d.ELB.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(name), Subnets: b.cl.subnets,
				SecurityGroups: []string{b.lb.sgID}, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Type: elbtypes.LoadBalancerTypeEnumApplication,
				IpAddressType: elbtypes.IpAddressTypeIpv4, Tags: elbTags(TagCluster, b.o.Cluster)})
			if err != nil {
				return err
			}
			b.lb.lbArn, b.lb.dns = aws.ToString(out.LoadBalancers[0].LoadBalancerArn), aws.ToString(out.LoadBalancers[0].DNSName)
			b.res.LoadBalancer.DNSName = b.lb.dns
			b.res.LoadBalancer.URL = serviceURL(b.lb.dns, b.lb.listener, b.o.LB)
			return nil
		}).WithDiff([]plan.FieldDiff{{Field: "scheme", New: "internet-facing"}, {Field: "subnets", New: strings.Join(b.cl.subnets, ",")}})}, nil
	}
	b.lb.lbArn, b.lb.dns = aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.DNSName)
	tags, err := elbTagsOf(ctx, b.d, []string{b.lb.lbArn})
	if err != nil {
		return nil, err
	}
	if tags[b.lb.lbArn][TagCluster] != b.o.Cluster {
		return nil, fmt.Errorf("load balancer %s exists but was not created by opsctl for cluster %s (no tag %s=%s): opsctl will not change it", name, b.o.Cluster, TagCluster, b.o.Cluster)
	}
	have := append([]string(nil), lb.SecurityGroups...)
	if len(have) == 1 && have[0] == b.lb.sgID {
		return []plan.Step{plan.Unchanged("load-balancer", name)}, nil
	}
	return nil, fmt.Errorf("load balancer %s uses security groups %s, not opsctl's %s: fix it by hand or remove it", name, strings.Join(have, ","), b.lb.sgID)
}

func fixed404() []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
		StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no service here")}}}
}

func redirectHTTPS() []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}}
}

func actionText(as []elbtypes.Action) string {
	for _, a := range as {
		switch a.Type {
		case elbtypes.ActionTypeEnumRedirect:
			if a.RedirectConfig != nil {
				return "redirect to " + aws.ToString(a.RedirectConfig.Protocol) + ":" + aws.ToString(a.RedirectConfig.Port)
			}
		case elbtypes.ActionTypeEnumFixedResponse:
			if a.FixedResponseConfig != nil {
				return "fixed " + aws.ToString(a.FixedResponseConfig.StatusCode)
			}
		case elbtypes.ActionTypeEnumForward:
			var tgs []string
			if a.ForwardConfig != nil {
				for _, t := range a.ForwardConfig.TargetGroups {
					tgs = append(tgs, fmt.Sprintf("%s=%d", shortELB(aws.ToString(t.TargetGroupArn)), aws.ToInt32(t.Weight)))
				}
			} else {
				tgs = append(tgs, shortELB(aws.ToString(a.TargetGroupArn)))
			}
			sort.Strings(tgs)
			return "forward " + strings.Join(tgs, ",")
		}
	}
	return "(none)"
}

// shortELB is the name part of a target group or rule ARN.
func shortELB(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 2 && strings.Contains(arn, ":targetgroup/") {
		return parts[len(parts)-2]
	}
	return arn
}

// listeners: HTTP:80 always; HTTPS:443 when a certificate is given (then
// HTTP redirects). An HTTPS listener made for another service is kept.
func (b *serviceBuilder) listeners(ctx context.Context) ([]plan.Step, error) {
	http, https, err := webListeners(ctx, b.d, b.lb.lbArn)
	if err != nil {
		return nil, err
	}
	cert := b.o.LB.Certificate
	wantHTTPS := cert != "" || https != nil
	b.lb.listener = "HTTP"
	if cert != "" {
		b.lb.listener = "HTTPS"
	}
	var steps []plan.Step
	lbLabel := lbName(b.o.Cluster)
	if https == nil && cert != "" {
		steps = append(steps, createStep("listener", lbLabel+":443", func(ctx context.Context) error {
			out, err := b.d.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(b.lb.lbArn), Port: aws.Int32(443),
				Protocol: elbtypes.ProtocolEnumHttps, SslPolicy: aws.String(TLSPolicy), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(cert)}},
				DefaultActions: fixed404(), Tags: elbTags(TagCluster, b.o.Cluster)})
			if err != nil {
				return err
			}
			b.lb.httpsArn = aws.ToString(out.Listeners[0].ListenerArn)
			return nil
		}).WithDiff([]plan.FieldDiff{{Field: "protocol", New: "HTTPS"}, {Field: "TLS policy", New: TLSPolicy}}))
	} else if https != nil {
		b.lb.httpsArn = aws.ToString(https.ListenerArn)
		s, err := b.listenerCertificate(ctx, https)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	httpAction := fixed404()
	if wantHTTPS {
		httpAction = redirectHTTPS()
	}
	switch {
	case http == nil:
		steps = append(steps, createStep("listener", lbLabel+":80", func(ctx context.Context) error {
			out, err := b.d.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(b.lb.lbArn), Port: aws.Int32(80),
				Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: httpAction, Tags: elbTags(TagCluster, b.o.Cluster)})
			if err != nil {
				return err
			}
			b.lb.httpArn = aws.ToString(out.Listeners[0].ListenerArn)
			return nil
		}).WithDiff([]plan.FieldDiff{{Field: "default action", New: actionText(httpAction)}}))
	case actionText(http.DefaultActions) != actionText(httpAction) && wantHTTPS:
		b.lb.httpArn = aws.ToString(http.ListenerArn)
		steps = append(steps, plan.Update("listener", lbLabel+":80", []plan.FieldDiff{{Field: "default action", Old: actionText(http.DefaultActions), New: actionText(httpAction)}},
			func(ctx context.Context) error {
				_, err := b.d.ELB.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(b.lb.httpArn), DefaultActions: httpAction})
				return err
			}))
	default:
		b.lb.httpArn = aws.ToString(http.ListenerArn)
		steps = append(steps, plan.Unchanged("listener", lbLabel+":80"))
	}
	return steps, nil
}

// listenerCertificate adds this service's certificate to the existing
// HTTPS listener (SNI) when it is not already there.
func (b *serviceBuilder) listenerCertificate(ctx context.Context, l *elbtypes.Listener) (plan.Step, error) {
	label := lbName(b.o.Cluster) + ":443"
	cert := b.o.LB.Certificate
	if cert == "" {
		return plan.Unchanged("listener", label), nil
	}
	for _, c := range l.Certificates {
		if aws.ToString(c.CertificateArn) == cert {
			return plan.Unchanged("listener", label), nil
		}
	}
	in := &elbv2.DescribeListenerCertificatesInput{ListenerArn: l.ListenerArn}
	for {
		out, err := b.d.ELB.DescribeListenerCertificates(ctx, in)
		if err != nil {
			return plan.Step{}, fmt.Errorf("list certificates of %s: %w", label, err)
		}
		for _, c := range out.Certificates {
			if aws.ToString(c.CertificateArn) == cert {
				return plan.Unchanged("listener", label), nil
			}
		}
		if aws.ToString(out.NextMarker) == "" {
			break
		}
		in.Marker = out.NextMarker
	}
	return plan.Update("listener", label, []plan.FieldDiff{{Field: "certificates", Old: "", New: "+" + cert}}, func(ctx context.Context) error {
		_, err := b.d.ELB.AddListenerCertificates(ctx, &elbv2.AddListenerCertificatesInput{ListenerArn: l.ListenerArn, Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(cert)}}})
		return err
	}), nil
}

// targetGroups: the service's target group, and the alternate one for the
// traffic-shifting strategies.
func (b *serviceBuilder) targetGroups(ctx context.Context) ([]plan.Step, error) {
	names := []string{tgName(b.o.Cluster, b.o.Name)}
	if b.o.LB.shiftsTraffic() {
		names = append(names, altTGName(b.o.Cluster, b.o.Name))
	}
	var steps []plan.Step
	for i, name := range names {
		set := func(arn string) {
			if i == 0 {
				b.lb.tgArn = arn
			} else {
				b.lb.altArn = arn
			}
		}
		s, err := b.targetGroup(ctx, name, set)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s...)
	}
	return steps, nil
}

func findTG(ctx context.Context, d Deps, name string) (*elbtypes.TargetGroup, error) {
	out, err := d.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if awsx.ErrorCode(err) == "TargetGroupNotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up target group %s: %w", name, err)
	}
	if len(out.TargetGroups) == 0 {
		return nil, nil
	}
	return &out.TargetGroups[0], nil
}

func (b *serviceBuilder) targetGroup(ctx context.Context, name string, set func(string)) ([]plan.Step, error) {
	port := int32(b.o.Port)
	hp := b.o.LB.HealthPath
	attrs := func(ctx context.Context, arn string) error {
		_, err := b.d.ELB.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
			Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(strconv.Itoa(deregistrationDelay))}}})
		return err
	}
	tg, err := findTG(ctx, b.d, name)
	if err != nil {
		return nil, err
	}
	if tg == nil {
		return []plan.Step{createStep("target-group", name, func(ctx context.Context) error {
			out, err := b.d.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp,
				Port: aws.Int32(port), VpcId: aws.String(b.lb.vpc), TargetType: elbtypes.TargetTypeEnumIp,
				HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String(hp), HealthCheckIntervalSeconds: aws.Int32(healthInterval),
				HealthCheckTimeoutSeconds: aws.Int32(healthTimeout), HealthyThresholdCount: aws.Int32(healthyThreshold),
				UnhealthyThresholdCount: aws.Int32(unhealthyThreshold), Matcher: &elbtypes.Matcher{HttpCode: aws.String(healthMatcher)},
				Tags: elbTags(TagCluster, b.o.Cluster, TagService, b.o.Name)})
			if err != nil {
				return err
			}
			arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
			set(arn)
			return attrs(ctx, arn)
		}).WithDiff([]plan.FieldDiff{{Field: "port", New: strconv.Itoa(int(port))}, {Field: "health check", New: hp}, {Field: "deregistration delay", New: fmt.Sprintf("%d s", deregistrationDelay)}})}, nil
	}
	arn := aws.ToString(tg.TargetGroupArn)
	set(arn)
	tags, err := elbTagsOf(ctx, b.d, []string{arn})
	if err != nil {
		return nil, err
	}
	if tags[arn][TagService] != b.o.Name || tags[arn][TagCluster] != b.o.Cluster {
		return nil, fmt.Errorf("target group %s exists but was not created by opsctl for service %s (no tag %s=%s)", name, b.o.Name, TagService, b.o.Name)
	}
	if aws.ToInt32(tg.Port) != port {
		return nil, fmt.Errorf("target group %s sends to port %d, not --port %d: a target group's port cannot change; remove the service's routing with `opsctl deploy service rm` first", name, aws.ToInt32(tg.Port), port)
	}
	var diff plan.Differ
	diff.Str("health check path", aws.ToString(tg.HealthCheckPath), hp)
	diff.Int("health check interval", int64(aws.ToInt32(tg.HealthCheckIntervalSeconds)), healthInterval)
	diff.Int("healthy threshold", int64(aws.ToInt32(tg.HealthyThresholdCount)), healthyThreshold)
	diff.Int("unhealthy threshold", int64(aws.ToInt32(tg.UnhealthyThresholdCount)), unhealthyThreshold)
	var steps []plan.Step
	if len(diff) == 0 {
		steps = append(steps, plan.Unchanged("target-group", name))
	} else {
		steps = append(steps, plan.Update("target-group", name, diff, func(ctx context.Context) error {
			_, err := b.d.ELB.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn), HealthCheckPath: aws.String(hp),
				HealthCheckIntervalSeconds: aws.Int32(healthInterval), HealthyThresholdCount: aws.Int32(healthyThreshold),
				UnhealthyThresholdCount: aws.Int32(unhealthyThreshold), HealthCheckTimeoutSeconds: aws.Int32(healthTimeout)})
			return err
		}))
	}
	at, err := b.d.ELB.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read attributes of target group %s: %w", name, err)
	}
	delay := ""
	for _, a := range at.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			delay = aws.ToString(a.Value)
		}
	}
	if delay != strconv.Itoa(deregistrationDelay) {
		steps = append(steps, plan.Update("target-group-attributes", name, []plan.FieldDiff{{Field: "deregistration delay", Old: delay + " s", New: fmt.Sprintf("%d s", deregistrationDelay)}},
			func(ctx context.Context) error { return attrs(ctx, arn) }))
	}
	return steps, nil
}

// ruleConditions are the service's rule conditions (every path without
// --host and --path).
func ruleConditions(l LBOptions) []elbtypes.RuleCondition {
	var out []elbtypes.RuleCondition
	if len(l.Hosts) > 0 {
		hosts := make([]string, len(l.Hosts))
		for i, h := range l.Hosts {
			hosts[i] = strings.ToLower(h)
		}
		out = append(out, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: hosts}})
	}
	paths := l.Paths
	if len(paths) == 0 && len(l.Hosts) == 0 {
		paths = []string{"/*"}
	}
	if len(paths) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: append([]string(nil), paths...)}})
	}
	return out
}

// condKey is a rule's conditions in one comparable string.
func condKey(cs []elbtypes.RuleCondition) string {
	var parts []string
	for _, c := range cs {
		var vs []string
		switch {
		case c.HostHeaderConfig != nil:
			for _, v := range c.HostHeaderConfig.Values {
				vs = append(vs, strings.ToLower(v))
			}
		case c.PathPatternConfig != nil:
			vs = append(vs, c.PathPatternConfig.Values...)
		case c.HttpHeaderConfig != nil:
			vs = append(vs, aws.ToString(c.HttpHeaderConfig.HttpHeaderName)+":"+strings.Join(c.HttpHeaderConfig.Values, ","))
		default:
			vs = append(vs, c.Values...)
		}
		sort.Strings(vs)
		parts = append(parts, aws.ToString(c.Field)+"="+strings.Join(vs, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// forward is the rule's action: the service's target group, and with a
// traffic-shifting strategy both groups (ECS moves the weights).
func (b *serviceBuilder) forward() []elbtypes.Action {
	tgs := []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(b.lb.tgArn), Weight: aws.Int32(1)}}
	if b.o.LB.shiftsTraffic() {
		tgs[0].Weight = aws.Int32(100)
		tgs = append(tgs, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(b.lb.altArn), Weight: aws.Int32(0)})
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tgs}}}
}

// forwardsTo: the action's target groups (names), whatever their weights.
func forwardsTo(as []elbtypes.Action) []string {
	var out []string
	for _, a := range as {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil {
			for _, t := range a.ForwardConfig.TargetGroups {
				out = append(out, shortELB(aws.ToString(t.TargetGroupArn)))
			}
		} else if a.TargetGroupArn != nil {
			out = append(out, shortELB(aws.ToString(a.TargetGroupArn)))
		}
	}
	sort.Strings(out)
	return out
}

// listRules reads a listener's rules (all pages) and their tags.
func listRules(ctx context.Context, d Deps, listenerArn string) ([]elbtypes.Rule, map[string]map[string]string, error) {
	if listenerArn == "" {
		return nil, map[string]map[string]string{}, nil
	}
	var rules []elbtypes.Rule
	in := &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerArn)}
	for {
		out, err := d.ELB.DescribeRules(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("list rules of listener %s: %w", listenerArn, err)
		}
		rules = append(rules, out.Rules...)
		if aws.ToString(out.NextMarker) == "" {
			break
		}
		in.Marker = out.NextMarker
	}
	var arns []string
	for _, r := range rules {
		if !aws.ToBool(r.IsDefault) {
			arns = append(arns, aws.ToString(r.RuleArn))
		}
	}
	tags, err := elbTagsOf(ctx, d, arns)
	return rules, tags, err
}

func ownRule(rules []elbtypes.Rule, tags map[string]map[string]string, cluster, service string) *elbtypes.Rule {
	for i, r := range rules {
		t := tags[aws.ToString(r.RuleArn)]
		if t[TagCluster] == cluster && t[TagService] == service {
			return &rules[i]
		}
	}
	return nil
}

// listenerRule: the service's rule on the HTTPS listener (with a
// certificate) or the HTTP one; moved when that changes.
func (b *serviceBuilder) listenerRule(ctx context.Context) ([]plan.Step, error) {
	target, other := b.lb.httpArn, b.lb.httpsArn
	if b.lb.listener == "HTTPS" {
		target, other = b.lb.httpsArn, b.lb.httpArn
	}
	rules, tags, err := listRules(ctx, b.d, target)
	if err != nil {
		return nil, err
	}
	var steps []plan.Step
	label := b.o.Cluster + "/" + b.o.Name
	// A rule left on the other listener (the certificate was added or
	// dropped) goes once the new one is in place.
	oRules, oTags, err := listRules(ctx, b.d, other)
	if err != nil {
		return nil, err
	}
	var stale *elbtypes.Rule
	if r := ownRule(oRules, oTags, b.o.Cluster, b.o.Name); r != nil {
		stale = r
	}
	want := ruleConditions(b.o.LB)
	own := ownRule(rules, tags, b.o.Cluster, b.o.Name)
	used := map[int]string{}
	for _, r := range rules {
		if aws.ToBool(r.IsDefault) || (own != nil && aws.ToString(r.RuleArn) == aws.ToString(own.RuleArn)) {
			continue
		}
		p, _ := strconv.Atoi(aws.ToString(r.Priority))
		svc := tags[aws.ToString(r.RuleArn)][TagService]
		if svc == "" {
			svc = "a rule opsctl did not make"
		} else {
			svc = "service " + svc
		}
		used[p] = svc
		if condKey(r.Conditions) == condKey(want) {
			return nil, fmt.Errorf("%s already routes %s on %s: give this service another --host or --path", svc, strings.Join(conditionText(b.o.LB), " and "), lbName(b.o.Cluster))
		}
	}
	priority := b.o.LB.Priority
	if priority == 0 && own != nil {
		priority, _ = strconv.Atoi(aws.ToString(own.Priority))
	}
	if priority == 0 {
		for priority = 1; used[priority] != ""; priority++ {
		}
	}
	if svc := used[priority]; svc != "" {
		return nil, fmt.Errorf("--priority %d is taken by %s on %s: pick another or leave --priority out", priority, svc, lbName(b.o.Cluster))
	}
	b.lb.priority = priority
	if own == nil {
		steps = append(steps, createStep("listener-rule", label, func(ctx context.Context) error {
			listener := b.lb.httpArn
			if b.lb.listener == "HTTPS" {
				listener = b.lb.httpsArn
			}
			out, err := b.d.ELB.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(listener), Priority: aws.Int32(int32(priority)),
				Conditions: want, Actions: b.forward(), Tags: elbTags(TagCluster, b.o.Cluster, TagService, b.o.Name, TagRule, "production")})
			if err != nil {
				return err
			}
			b.lb.ruleArn = aws.ToString(out.Rules[0].RuleArn)
			return nil
		}).WithDiff([]plan.FieldDiff{{Field: "listener", New: b.lb.listener}, {Field: "priority", New: strconv.Itoa(priority)}, {Field: "conditions", New: strings.Join(conditionText(b.o.LB), ", ")}}))
	} else {
		b.lb.ruleArn = aws.ToString(own.RuleArn)
		var diff plan.Differ
		diff.Str("conditions", condKey(own.Conditions), condKey(want))
		wantTGs := []string{tgName(b.o.Cluster, b.o.Name)}
		if b.o.LB.shiftsTraffic() {
			wantTGs = append(wantTGs, altTGName(b.o.Cluster, b.o.Name))
			sort.Strings(wantTGs)
		}
		diff.Str("forwards to", strings.Join(forwardsTo(own.Actions), ","), strings.Join(wantTGs, ","))
		if len(diff) == 0 {
			steps = append(steps, plan.Unchanged("listener-rule", label))
		} else {
			steps = append(steps, plan.Update("listener-rule", label, diff, func(ctx context.Context) error {
				_, err := b.d.ELB.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(b.lb.ruleArn), Conditions: want, Actions: b.forward()})
				return err
			}))
		}
		if old, _ := strconv.Atoi(aws.ToString(own.Priority)); old != priority {
			steps = append(steps, plan.Update("listener-rule-priority", label, []plan.FieldDiff{{Field: "priority", Old: strconv.Itoa(old), New: strconv.Itoa(priority)}},
				func(ctx context.Context) error {
					_, err := b.d.ELB.SetRulePriorities(ctx, &elbv2.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: aws.String(b.lb.ruleArn), Priority: aws.Int32(int32(priority))}}})
					return err
				}))
		}
	}
	if stale != nil {
		arn := aws.ToString(stale.RuleArn)
		steps = append(steps, plan.Delete("listener-rule", label+" (old listener)", func(ctx context.Context) error {
			_, err := b.d.ELB.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)})
			if awsx.ErrorCode(err) == "RuleNotFound" {
				return nil
			}
			return err
		}))
	}
	return steps, nil
}

// taskIngress: the cluster's task group accepts the container port from
// the load balancer's group only.
func (b *serviceBuilder) taskIngress(ctx context.Context) ([]plan.Step, error) {
	port := int32(b.o.Port)
	name := securityGroupName(b.o.Cluster)
	perm := func() []ec2types.IpPermission {
		return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(b.lb.sgID), Description: aws.String("load balancer " + lbName(b.o.Cluster))}}}}
	}
	apply := func(ctx context.Context) error {
		_, err := b.d.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(b.cl.securityGroup), IpPermissions: perm()})
		return ignoreDuplicate(err)
	}
	diff := []plan.FieldDiff{{Field: "ingress", New: fmt.Sprintf("tcp %d from %s", port, albGroupName(b.o.Cluster))}}
	if b.lb.sgID == "" {
		return []plan.Step{plan.Update("security-group", name, diff, apply)}, nil
	}
	out, err := b.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{b.cl.securityGroup}})
	if err != nil || len(out.SecurityGroups) == 0 {
		return nil, fmt.Errorf("look up security group %s: %v", b.cl.securityGroup, err)
	}
	if allowsFrom(out.SecurityGroups[0].IpPermissions, b.lb.sgID, port) {
		return []plan.Step{plan.Unchanged("security-group-ingress", name+":"+strconv.Itoa(int(port)))}, nil
	}
	return []plan.Step{plan.Update("security-group-ingress", name+":"+strconv.Itoa(int(port)), diff, apply)}, nil
}

func allowsFrom(perms []ec2types.IpPermission, group string, port int32) bool {
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) != "tcp" || aws.ToInt32(p.FromPort) > port || aws.ToInt32(p.ToPort) < port {
			continue
		}
		for _, g := range p.UserIdGroupPairs {
			if aws.ToString(g.GroupId) == group {
				return true
			}
		}
	}
	return false
}

// ---- the service's side ----

// lbLoadBalancers is the service's loadBalancers (nil without --public).
func (b *serviceBuilder) lbLoadBalancers() []ecstypes.LoadBalancer {
	if !b.lbWanted() {
		return nil
	}
	lb := ecstypes.LoadBalancer{TargetGroupArn: aws.String(b.lb.tgArn), ContainerName: aws.String(b.o.Container), ContainerPort: aws.Int32(int32(b.o.Port))}
	if b.o.LB.shiftsTraffic() {
		lb.AdvancedConfiguration = &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(b.lb.altArn),
			ProductionListenerRule: aws.String(b.lb.ruleArn), RoleArn: aws.String(b.lb.roleArn)}
	}
	return []ecstypes.LoadBalancer{lb}
}

func (b *serviceBuilder) lbGrace() *int32 {
	if !b.lbWanted() {
		return nil
	}
	return aws.Int32(healthGracePeriod)
}

// lbStrategy sets the deployment strategy on dc.
func (b *serviceBuilder) lbStrategy(dc *ecstypes.DeploymentConfiguration) {
	l := b.o.LB
	if !l.shiftsTraffic() {
		return
	}
	dc.Strategy = ecstypes.DeploymentStrategy(ecsStrategy(l.Strategy))
	dc.BakeTimeInMinutes = aws.Int32(int32(l.BakeMinutes))
	switch l.Strategy {
	case StrategyCanary:
		dc.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(l.CanaryPercent), CanaryBakeTimeInMinutes: aws.Int32(int32(l.CanaryBakeMinutes))}
	case StrategyLinear:
		dc.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(l.LinearPercent), StepBakeTimeInMinutes: aws.Int32(int32(l.LinearBakeMinutes))}
	}
}

func strategyOf(dc *ecstypes.DeploymentConfiguration) string {
	if dc == nil || dc.Strategy == "" {
		return "ROLLING"
	}
	s := string(dc.Strategy)
	if dc.Strategy != ecstypes.DeploymentStrategyRolling {
		s += fmt.Sprintf(" bake %d", aws.ToInt32(dc.BakeTimeInMinutes))
	}
	if c := dc.CanaryConfiguration; c != nil && dc.Strategy == ecstypes.DeploymentStrategyCanary {
		s += fmt.Sprintf(" canary %g%% %d", aws.ToFloat64(c.CanaryPercent), aws.ToInt32(c.CanaryBakeTimeInMinutes))
	}
	if c := dc.LinearConfiguration; c != nil && dc.Strategy == ecstypes.DeploymentStrategyLinear {
		s += fmt.Sprintf(" linear %g%% %d", aws.ToFloat64(c.StepPercent), aws.ToInt32(c.StepBakeTimeInMinutes))
	}
	return s
}

func lbText(lbs []ecstypes.LoadBalancer) string {
	var out []string
	for _, l := range lbs {
		s := fmt.Sprintf("%s→%s:%d", shortELB(aws.ToString(l.TargetGroupArn)), aws.ToString(l.ContainerName), aws.ToInt32(l.ContainerPort))
		if a := l.AdvancedConfiguration; a != nil {
			s += " alt " + shortELB(aws.ToString(a.AlternateTargetGroupArn))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "(none)"
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// lbDiff adds the load-balancer fields of an existing service to diff and
// reports whether the update must send loadBalancers.
func (b *serviceBuilder) lbDiff(diff *plan.Differ, l *ecstypes.Service, dc *ecstypes.DeploymentConfiguration) bool {
	want := b.lbLoadBalancers()
	wantText := lbText(want)
	if b.lbWanted() {
		// The ARNs of groups made in this run are not known yet: compare names.
		var parts []string
		for _, n := range []string{tgName(b.o.Cluster, b.o.Name)} {
			s := fmt.Sprintf("%s→%s:%d", n, b.o.Container, b.o.Port)
			if b.o.LB.shiftsTraffic() {
				s += " alt " + altTGName(b.o.Cluster, b.o.Name)
			}
			parts = append(parts, s)
		}
		wantText = strings.Join(parts, ",")
	}
	diff.Str("load balancers", lbText(l.LoadBalancers), wantText)
	diff.Str("deployment strategy", strategyOf(l.DeploymentConfiguration), strategyOf(dc))
	return lbText(l.LoadBalancers) != wantText
}

// createStep is a create that says what it will set (WithDiff).
func createStep(resource, name string, apply func(context.Context) error) diffable {
	return diffable{plan.Create(resource, name, apply)}
}

type diffable struct{ plan.Step }

func (d diffable) WithDiff(fd []plan.FieldDiff) plan.Step { s := d.Step; s.Diff = fd; return s }

// lbRole is the ECS infrastructure role for load balancers, which ECS
// assumes to move a listener rule's weights during blue-green, canary and
// linear deployments (ECS developer guide, "Amazon ECS infrastructure IAM
// role for load balancers": trusted by ecs.amazonaws.com, the AWS managed
// policy AmazonECS-InfrastructureRolePolicyForLoadBalancers).
func (b *serviceBuilder) lbRole(ctx context.Context) ([]plan.Step, error) {
	if !b.o.LB.shiftsTraffic() {
		return nil, nil
	}
	name := lbRoleName(b.o.Cluster)
	b.lb.roleArn = fmt.Sprintf("arn:%s:iam::%s:role/%s", b.d.partition(), b.account, name)
	policy := fmt.Sprintf("arn:%s:iam::aws:policy/AmazonECS-InfrastructureRolePolicyForLoadBalancers", b.d.partition())
	trust := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowAccessToECSForInfrastructureManagement","Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	attach := func(ctx context.Context) error {
		_, err := b.d.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(policy)})
		return err
	}
	out, err := b.d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return []plan.Step{
			plan.Create("iam-role", name, func(ctx context.Context) error {
				_, err := b.d.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
					Description: aws.String("ECS moves the load balancer's traffic of cluster " + b.o.Cluster + " (opsctl)"),
					Tags:        []iamtypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Cluster)}}})
				return err
			}).WithDocument(trust),
			plan.Create("iam-role-policy-attachment", name+"/AmazonECS-InfrastructureRolePolicyForLoadBalancers", attach),
		}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up role %s: %w", name, err)
	}
	tagged := false
	for _, t := range out.Role.Tags {
		tagged = tagged || aws.ToString(t.Key) == TagCluster && aws.ToString(t.Value) == b.o.Cluster
	}
	if !tagged {
		return nil, fmt.Errorf("role %s exists but was not created by opsctl (no tag %s=%s): opsctl will not use it", name, TagCluster, b.o.Cluster)
	}
	b.lb.roleArn = aws.ToString(out.Role.Arn)
	steps := []plan.Step{plan.Unchanged("iam-role", name)}
	att, err := b.d.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("list policies of role %s: %w", name, err)
	}
	for _, p := range att.AttachedPolicies {
		if aws.ToString(p.PolicyArn) == policy {
			return append(steps, plan.Unchanged("iam-role-policy-attachment", name+"/AmazonECS-InfrastructureRolePolicyForLoadBalancers")), nil
		}
	}
	return append(steps, plan.Create("iam-role-policy-attachment", name+"/AmazonECS-InfrastructureRolePolicyForLoadBalancers", attach)), nil
}

// webListeners are a load balancer's HTTP:80 and HTTPS:443 listeners (nil
// when missing; none when lbArn is empty).
func webListeners(ctx context.Context, d Deps, lbArn string) (http, https *elbtypes.Listener, err error) {
	if lbArn == "" {
		return nil, nil, nil
	}
	var live []elbtypes.Listener
	in := &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)}
	for {
		out, err := d.ELB.DescribeListeners(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("list listeners of %s: %w", lbArn, err)
		}
		live = append(live, out.Listeners...)
		if aws.ToString(out.NextMarker) == "" {
			break
		}
		in.Marker = out.NextMarker
	}
	for i, l := range live {
		switch aws.ToInt32(l.Port) {
		case 80:
			http = &live[i]
		case 443:
			https = &live[i]
		}
	}
	return http, https, nil
}

// optionsOfRule rebuilds the hosts and paths of a rule (for its URL).
func optionsOfRule(r elbtypes.Rule) LBOptions {
	var l LBOptions
	for _, c := range r.Conditions {
		if c.HostHeaderConfig != nil {
			l.Hosts = append(l.Hosts, c.HostHeaderConfig.Values...)
		}
		if c.PathPatternConfig != nil {
			l.Paths = append(l.Paths, c.PathPatternConfig.Values...)
		}
	}
	return l
}
