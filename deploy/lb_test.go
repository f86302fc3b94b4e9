package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/acmemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// lbSetup is svcSetup with the ELBv2 client in the deps.
func lbSetup(t *testing.T) (svcEnv, *elbv2.Client, *ec2.Client) {
	t.Helper()
	e := svcSetupWith(t, localaws.Options{})
	cfg := localawstest.Config(e.srv, 1)
	elb := elbv2.NewFromConfig(cfg)
	e.deps.ELB = elb
	return e, elb, ec2.NewFromConfig(cfg)
}

func publicOpts(e svcEnv, name string, mod func(*deploy.LBOptions)) deploy.ServiceOptions {
	o := e.opts("v1")
	o.Name = name
	o.Secrets, o.Env = nil, nil
	o.LB = deploy.LBOptions{Public: true, Paths: []string{"/" + name + "/*"}}
	if mod != nil {
		mod(&o.LB)
	}
	return o
}

// rulesOf lists a listener's non-default rules by priority.
func rulesOf(t *testing.T, elb *elbv2.Client, listenerArn string) []elbtypes.Rule {
	t.Helper()
	out, err := elb.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerArn)})
	if err != nil {
		t.Fatal(err)
	}
	var rs []elbtypes.Rule
	for _, r := range out.Rules {
		if !aws.ToBool(r.IsDefault) {
			rs = append(rs, r)
		}
	}
	return rs
}

func listenerOn(t *testing.T, elb *elbv2.Client, port int32) elbtypes.Listener {
	t.Helper()
	lbs, err := elb.DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{"opsctl-prod"}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancer opsctl-prod: %v %+v", err, lbs)
	}
	ls, err := elb.DescribeListeners(context.Background(), &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) == port {
			return l
		}
	}
	t.Fatalf("no listener on %d", port)
	return elbtypes.Listener{}
}

func TestPublicServiceCreatesTheSharedLoadBalancerOnceAndReRunWritesNothing(t *testing.T) {
	e, elb, ec2c := lbSetup(t)
	ctx := context.Background()
	o := publicOpts(e, "api", nil)

	// Dry run: the plan names the load balancer's parts and writes nothing.
	dry := o
	dry.DryRun = true
	res, err := deploy.CreateService(ctx, e.deps, dry)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("dry run wrote %v", w)
	}
	st := changeStatus(res.Changes)
	for _, r := range []string{"load-balancer", "listener", "target-group", "listener-rule", "security-group-ingress"} {
		if r == "security-group-ingress" {
			r = "security-group" // the ALB's group is new, so the ingress is planned on the task group by name
		}
		if st[r] != "planned" {
			t.Errorf("dry run: %s is %q, want planned (%v)", r, st[r], st)
		}
	}

	res, err = deploy.CreateService(ctx, e.deps, o)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if res.LoadBalancer == nil || !strings.HasPrefix(res.LoadBalancer.URL, "http://") || !strings.HasSuffix(res.LoadBalancer.URL, "/api/") {
		t.Fatalf("load balancer info = %+v", res.LoadBalancer)
	}
	// The service is wired to its target group on the container port.
	svc := describeAPI(t, e)
	if len(svc.LoadBalancers) != 1 || aws.ToInt32(svc.LoadBalancers[0].ContainerPort) != 8080 || aws.ToString(svc.LoadBalancers[0].ContainerName) != "api" {
		t.Fatalf("service load balancers = %+v", svc.LoadBalancers)
	}
	tgs, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(svc.LoadBalancers[0].TargetGroupArn)}})
	if err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("target group: %v", err)
	}
	tg := tgs.TargetGroups[0]
	// botocore ecs LoadBalancer.targetGroupArn: awsvpc tasks need target type ip.
	if tg.TargetType != elbtypes.TargetTypeEnumIp || aws.ToString(tg.HealthCheckPath) != "/" || aws.ToInt32(tg.Port) != 8080 {
		t.Fatalf("target group = %+v", tg)
	}
	attrs, err := elb.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" && aws.ToString(a.Value) != "30" {
			t.Fatalf("deregistration delay = %s, want 30", aws.ToString(a.Value))
		}
	}
	http := listenerOn(t, elb, 80)
	rules := rulesOf(t, elb, aws.ToString(http.ListenerArn))
	if len(rules) != 1 || aws.ToString(rules[0].Priority) != "1" {
		t.Fatalf("rules = %+v", rules)
	}
	// The tasks' group accepts the container port from the ALB's group only.
	sgs, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"opsctl-prod-tasks"}}}})
	if err != nil || len(sgs.SecurityGroups) != 1 {
		t.Fatalf("task group: %v", err)
	}
	found := false
	for _, p := range sgs.SecurityGroups[0].IpPermissions {
		if aws.ToInt32(p.FromPort) == 8080 {
			found = len(p.IpRanges) == 0 && len(p.UserIdGroupPairs) == 1
		}
	}
	if !found {
		t.Fatalf("task group ingress = %+v", sgs.SecurityGroups[0].IpPermissions)
	}

	// A re-run makes no write call.
	e.srv.ResetCalls()
	res, err = deploy.CreateService(ctx, e.deps, o)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("re-run wrote %v (%+v)", w, res.Changes)
	}

	// A changed path updates the rule in place and keeps its priority.
	o.LB.Paths = []string{"/v2/*"}
	e.srv.ResetCalls()
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatalf("changed path: %v", err)
	}
	if w := e.writeOps(); len(w) != 1 || w[0] != "elasticloadbalancing:ModifyRule" {
		t.Fatalf("changed path wrote %v, want one ModifyRule", w)
	}
	rules = rulesOf(t, elb, aws.ToString(http.ListenerArn))
	if len(rules) != 1 || aws.ToString(rules[0].Priority) != "1" || rules[0].Conditions[0].PathPatternConfig.Values[0] != "/v2/*" {
		t.Fatalf("rules after path change = %+v", rules)
	}
}

func TestTwoPublicServicesShareOneLoadBalancerWithTheirOwnRules(t *testing.T) {
	e, elb, _ := lbSetup(t)
	ctx := context.Background()
	if _, err := deploy.CreateService(ctx, e.deps, publicOpts(e, "api", nil)); err != nil {
		t.Fatal(err)
	}
	web := publicOpts(e, "web", func(l *deploy.LBOptions) { l.Paths, l.Hosts = nil, []string{"www.example.com"} })
	e.srv.ResetCalls()
	res, err := deploy.CreateService(ctx, e.deps, web)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range e.writeOps() {
		if w == "elasticloadbalancing:CreateLoadBalancer" || w == "elasticloadbalancing:CreateListener" {
			t.Fatalf("second service wrote %s: the load balancer is shared", w)
		}
	}
	if res.LoadBalancer.RulePriority != 2 || res.LoadBalancer.URL == "" || !strings.HasPrefix(res.LoadBalancer.URL, "http://www.example.com/") {
		t.Fatalf("second service = %+v", res.LoadBalancer)
	}
	lbs, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancers: %v %d", err, len(lbs.LoadBalancers))
	}
	if n := len(rulesOf(t, elb, aws.ToString(listenerOn(t, elb, 80).ListenerArn))); n != 2 {
		t.Fatalf("%d rules, want 2", n)
	}
	// A third service routing the same path is refused before any write.
	clash := publicOpts(e, "clash", func(l *deploy.LBOptions) { l.Paths = []string{"/api/*"} })
	e.srv.ResetCalls()
	if _, err := deploy.CreateService(ctx, e.deps, clash); err == nil || !strings.Contains(err.Error(), "service api already routes") {
		t.Fatalf("clash: err = %v", err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("clash wrote %v", w)
	}
	// A pinned priority already taken is refused too.
	pinned := publicOpts(e, "pinned", func(l *deploy.LBOptions) { l.Priority = 2 })
	if _, err := deploy.CreateService(ctx, e.deps, pinned); err == nil || !strings.Contains(err.Error(), "--priority 2 is taken by service web") {
		t.Fatalf("pinned: err = %v", err)
	}
}

func TestServiceRmRemovesItsRoutingAndTheLoadBalancerWithTheLastRule(t *testing.T) {
	e, elb, ec2c := lbSetup(t)
	ctx := context.Background()
	for _, n := range []string{"api", "web"} {
		if _, err := deploy.CreateService(ctx, e.deps, publicOpts(e, n, nil)); err != nil {
			t.Fatal(err)
		}
	}
	// Dry run writes nothing.
	e.srv.ResetCalls()
	if _, err := deploy.RemoveService(ctx, e.deps, deploy.ServiceRemoveOptions{Cluster: "prod", Name: "api", DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("dry run wrote %v", w)
	}
	res, err := deploy.RemoveService(ctx, e.deps, deploy.ServiceRemoveOptions{Cluster: "prod", Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if res.LoadBalancerRemoved {
		t.Fatal("the load balancer went while web still uses it")
	}
	if n := len(rulesOf(t, elb, aws.ToString(listenerOn(t, elb, 80).ListenerArn))); n != 1 {
		t.Fatalf("%d rules left, want web's", n)
	}
	// botocore elbv2 DescribeTargetGroups: an unknown name is TargetGroupNotFound.
	if _, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"opsctl-prod-api"}}); err == nil {
		t.Fatal("api's target group is still there")
	}
	// web uses the same port: the task group keeps accepting it.
	sgs, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"opsctl-prod-tasks"}}}})
	if err != nil || len(sgs.SecurityGroups) != 1 {
		t.Fatal(err)
	}
	if !hasPort(sgs.SecurityGroups[0].IpPermissions, 8080) {
		t.Fatal("removing api revoked the port web still uses")
	}

	res, err = deploy.RemoveService(ctx, e.deps, deploy.ServiceRemoveOptions{Cluster: "prod", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.LoadBalancerRemoved {
		t.Fatalf("last service removed, load balancer kept: %+v", res.Changes)
	}
	if _, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"opsctl-prod"}}); err == nil {
		t.Fatal("load balancer still there")
	}
	alb, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"opsctl-prod-alb"}}}})
	if err != nil || len(alb.SecurityGroups) != 0 {
		t.Fatalf("ALB security group left: %v %+v", err, alb.SecurityGroups)
	}
	sgs, _ = ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"opsctl-prod-tasks"}}}})
	if hasPort(sgs.SecurityGroups[0].IpPermissions, 8080) {
		t.Fatal("the task group still accepts the port")
	}
	// Re-run: nothing left, nothing written.
	e.srv.ResetCalls()
	if _, err := deploy.RemoveService(ctx, e.deps, deploy.ServiceRemoveOptions{Cluster: "prod", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("re-run wrote %v", w)
	}
}

func hasPort(perms []ec2types.IpPermission, port int32) bool {
	for _, p := range perms {
		if aws.ToInt32(p.FromPort) == port {
			return true
		}
	}
	return false
}

func TestPublicServiceWithCertificateServesHTTPSAndRedirectsHTTP(t *testing.T) {
	e, elb, _ := lbSetup(t)
	ctx := context.Background()
	acmc := acm.NewFromConfig(localawstest.Config(e.srv, 1))
	e.deps.ACM = acmc
	req, err := acmc.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String("api.example.com"), ValidationMethod: acmtypes.ValidationMethodDns})
	if err != nil {
		t.Fatal(err)
	}
	o := publicOpts(e, "api", func(l *deploy.LBOptions) {
		l.Paths, l.Hosts, l.Certificate = nil, []string{"api.example.com"}, aws.ToString(req.CertificateArn)
	})
	// Not validated yet: refused before any write.
	e.srv.ResetCalls()
	if _, err := deploy.CreateService(ctx, e.deps, o); err == nil || !strings.Contains(err.Error(), "PENDING_VALIDATION") {
		t.Fatalf("pending certificate: err = %v", err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("pending certificate wrote %v", w)
	}
	e.clk.Advance(acmemu.IssueAfter + time.Minute)
	res, err := deploy.CreateService(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.LoadBalancer.URL != "https://api.example.com/" {
		t.Fatalf("url = %q", res.LoadBalancer.URL)
	}
	https := listenerOn(t, elb, 443)
	if https.Protocol != elbtypes.ProtocolEnumHttps || aws.ToString(https.SslPolicy) != deploy.TLSPolicy ||
		len(https.Certificates) != 1 || aws.ToString(https.Certificates[0].CertificateArn) != aws.ToString(req.CertificateArn) {
		t.Fatalf("https listener = %+v", https)
	}
	if n := len(rulesOf(t, elb, aws.ToString(https.ListenerArn))); n != 1 {
		t.Fatalf("%d rules on HTTPS, want the service's", n)
	}
	// botocore elbv2 RedirectActionConfig: HTTP to HTTPS, 301.
	http := listenerOn(t, elb, 80)
	a := http.DefaultActions[0]
	if a.Type != elbtypes.ActionTypeEnumRedirect || aws.ToString(a.RedirectConfig.Protocol) != "HTTPS" || a.RedirectConfig.StatusCode != elbtypes.RedirectActionStatusCodeEnumHttp301 {
		t.Fatalf("http default action = %+v", a)
	}
	e.srv.ResetCalls()
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("re-run wrote %v", w)
	}
}

func TestPublicRolloutWaitsForHealthyTargetsAndFailingHealthChecksRollBack(t *testing.T) {
	e, _, _ := lbSetup(t)
	ctx := context.Background()
	ecrc := ecr.NewFromConfig(localawstest.Config(e.srv, 1))
	// By the endpoint's convention an image named fail-elb answers its
	// load balancer health checks with HTTP 500.
	m := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:bad"}}`
	if _, err := ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: aws.String(m), ImageTag: aws.String("fail-elb")}); err != nil {
		t.Fatal(err)
	}
	o := publicOpts(e, "api", func(l *deploy.LBOptions) { l.HealthPath = "/health" })
	o.Max, o.Min, o.CPUTarget = 0, 0, 0
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(5 * time.Minute)

	res, err := deploy.Rollout(ctx, e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("v2")})
	if err != nil {
		t.Fatalf("rollout: %v", err)
	}
	if res.State != deploy.StateCompleted || len(res.Targets) != 2 {
		t.Fatalf("rollout = %s with targets %+v, want completed with 2 healthy targets", res.State, res.Targets)
	}
	for _, tg := range res.Targets {
		// botocore elbv2 TargetHealthStateEnum.
		if tg.State != "healthy" {
			t.Fatalf("target %+v is not healthy at completion", tg)
		}
	}

	res, err = deploy.Rollout(ctx, e.deps, deploy.RolloutOptions{Cluster: "prod", Service: "api", Image: e.image("fail-elb")})
	if err == nil || res.State != deploy.StateRolledBack {
		t.Fatalf("failing health checks: state %s err %v, want rolled back", res.State, err)
	}
	// The reason says which check failed and how (ELB's description of
	// Target.ResponseCodeMismatch: "Health checks failed with these codes: [500]").
	if !strings.Contains(res.Reason, "health checks failed on port 8080") || !strings.Contains(res.Reason, "[500]") {
		t.Fatalf("reason %q does not say the health checks failed", res.Reason)
	}
}
