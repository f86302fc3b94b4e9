package elbv2emu_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/acmemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

type fixture struct {
	t       *testing.T
	srv     *localaws.Server
	clk     *clock.Fake
	elb     *elb.Client
	subnets []string // the default VPC's subnets, one per zone
	vpc     string
}

var epoch = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clock.NewFake(epoch)
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	f := &fixture{t: t, srv: srv, clk: clk, elb: elb.NewFromConfig(localawstest.Config(srv, 1))}
	out := emutest.Must(ec2.NewFromConfig(localawstest.Config(srv, 1)).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}}))
	for _, sn := range out.Subnets {
		f.subnets = append(f.subnets, aws.ToString(sn.SubnetId))
		f.vpc = aws.ToString(sn.VpcId)
	}
	if len(f.subnets) < 2 {
		t.Fatalf("default VPC has %d subnets", len(f.subnets))
	}
	return f
}

func (f *fixture) lb(name string) types.LoadBalancer {
	f.t.Helper()
	out, err := f.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Subnets: f.subnets[:2]})
	if err != nil {
		f.t.Fatalf("CreateLoadBalancer %s: %v", name, err)
	}
	return out.LoadBalancers[0]
}

func (f *fixture) tg(name string, mod func(*elb.CreateTargetGroupInput)) types.TargetGroup {
	f.t.Helper()
	in := &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: aws.String(f.vpc), TargetType: types.TargetTypeEnumIp}
	if mod != nil {
		mod(in)
	}
	out, err := f.elb.CreateTargetGroup(ctx, in)
	if err != nil {
		f.t.Fatalf("CreateTargetGroup %s: %v", name, err)
	}
	return out.TargetGroups[0]
}

func forward(tg string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
}

func (f *fixture) listener(lb string, port int32, actions []types.Action) types.Listener {
	f.t.Helper()
	out, err := f.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lb), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(port), DefaultActions: actions})
	if err != nil {
		f.t.Fatalf("CreateListener: %v", err)
	}
	return out.Listeners[0]
}

func fixed(code string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String(code)}}}
}

func hostRule(host string) []types.RuleCondition {
	return []types.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{host}}}}
}

func TestLoadBalancerIsProvisioningThenActiveAndPages(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	// botocore elbv2 waiters-2.json LoadBalancerAvailable: State.Code
	// "provisioning" retries, "active" succeeds.
	if got := lb.State.Code; got != types.LoadBalancerStateEnumProvisioning {
		t.Fatalf("new load balancer state %q, want provisioning", got)
	}
	if !strings.HasPrefix(aws.ToString(lb.LoadBalancerArn), "arn:aws:elasticloadbalancing:us-east-1:") ||
		!strings.Contains(aws.ToString(lb.LoadBalancerArn), ":loadbalancer/app/web/") {
		t.Errorf("arn %s", aws.ToString(lb.LoadBalancerArn))
	}
	// Without security groups an Application Load Balancer gets its VPC's
	// default group.
	def := emutest.Must(ec2.NewFromConfig(localawstest.Config(f.srv, 1)).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{f.vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})).SecurityGroups
	if len(lb.SecurityGroups) != 1 || lb.SecurityGroups[0] != aws.ToString(def[0].GroupId) {
		t.Errorf("security groups %v, want the default group %s", lb.SecurityGroups, aws.ToString(def[0].GroupId))
	}
	if lb.Scheme != types.LoadBalancerSchemeEnumInternetFacing || lb.Type != types.LoadBalancerTypeEnumApplication ||
		len(lb.AvailabilityZones) != 2 || aws.ToString(lb.VpcId) != f.vpc || !strings.HasSuffix(aws.ToString(lb.DNSName), ".elb.amazonaws.com") {
		t.Errorf("load balancer %+v", lb)
	}
	f.clk.Advance(61 * time.Second)
	out := emutest.Must(f.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web"}}))
	if got := out.LoadBalancers[0].State.Code; got != types.LoadBalancerStateEnumActive {
		t.Fatalf("state after a minute %q, want active", got)
	}

	// The same settings again return the same load balancer (CreateLoadBalancer
	// "is idempotent"); other settings are DuplicateLoadBalancerName.
	again := f.lb("web")
	if aws.ToString(again.LoadBalancerArn) != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("idempotent create returned %s", aws.ToString(again.LoadBalancerArn))
	}
	_, err := f.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: f.subnets[:2], Scheme: types.LoadBalancerSchemeEnumInternal})
	emutest.WantHTTP(t, err, "DuplicateLoadBalancerName", 400)

	for i := 0; i < 6; i++ {
		f.lb(fmt.Sprintf("extra-%d", i))
	}
	n := 0
	for p := elb.NewDescribeLoadBalancersPaginator(f.elb, &elb.DescribeLoadBalancersInput{}); p.HasMorePages(); {
		n += len(emutest.Must(p.NextPage(ctx)).LoadBalancers)
	}
	if n != 7 {
		t.Errorf("paginated %d load balancers, want 7", n)
	}

	emutest.Must(f.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}))
	_, err = f.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{aws.ToString(lb.LoadBalancerArn)}})
	// botocore elbv2 DescribeLoadBalancers errors: LoadBalancerNotFoundException (code LoadBalancerNotFound).
	var nf *types.LoadBalancerNotFoundException
	emutest.WantCode(t, err, "LoadBalancerNotFound", "")
	if !errorsAs(err, &nf) {
		t.Errorf("error %T is not the typed LoadBalancerNotFoundException", err)
	}
	// DeleteLoadBalancer: "If the load balancer does not exist or has already
	// been deleted, the call succeeds."
	emutest.Must(f.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}))
}

func TestCreateLoadBalancerRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("a", 33)
	cases := []struct {
		name string
		in   elb.CreateLoadBalancerInput
		code string
		msg  string
	}{
		// CreateLoadBalancerInput.Name doc: at most 32 characters, alphanumerics
		// and hyphens, not beginning or ending with a hyphen, not "internal-".
		{"name too long", elb.CreateLoadBalancerInput{Name: aws.String(long), Subnets: f.subnets[:2]}, "ValidationError", "32"},
		{"name ends with hyphen", elb.CreateLoadBalancerInput{Name: aws.String("web-"), Subnets: f.subnets[:2]}, "ValidationError", ""},
		{"name starts internal-", elb.CreateLoadBalancerInput{Name: aws.String("internal-web"), Subnets: f.subnets[:2]}, "ValidationError", "internal-"},
		{"underscore", elb.CreateLoadBalancerInput{Name: aws.String("my_lb"), Subnets: f.subnets[:2]}, "ValidationError", ""},
		// Subnets doc: "[Application Load Balancers] You must specify subnets
		// from at least two Availability Zones."
		{"one subnet", elb.CreateLoadBalancerInput{Name: aws.String("a"), Subnets: f.subnets[:1]}, "ValidationError", "two"},
		// botocore elbv2 CreateLoadBalancer errors: SubnetNotFoundException.
		{"unknown subnet", elb.CreateLoadBalancerInput{Name: aws.String("a"), Subnets: []string{f.subnets[0], "subnet-0123456789abcdef0"}}, "SubnetNotFound", "subnet-0123456789abcdef0"},
		{"same zone twice", elb.CreateLoadBalancerInput{Name: aws.String("a"), Subnets: []string{f.subnets[0], f.subnets[0]}}, "InvalidConfigurationRequest", ""},
		// botocore elbv2 CreateLoadBalancer errors: InvalidSecurityGroupException.
		{"unknown security group", elb.CreateLoadBalancerInput{Name: aws.String("a"), Subnets: f.subnets[:2], SecurityGroups: []string{"sg-0123456789abcdef0"}}, "InvalidSecurityGroup", "sg-0123456789abcdef0"},
		// botocore elbv2 LoadBalancerSchemeEnum.
		{"scheme enum", elb.CreateLoadBalancerInput{Name: aws.String("a"), Subnets: f.subnets[:2], Scheme: "public"}, "ValidationError", "Member must satisfy enum value set: [internet-facing, internal]"},
		// botocore elbv2 Tag.Key: min 1... and TagList keys unique (DuplicateTagKeysException).
		{"duplicate tag keys", elb.CreateLoadBalancerInput{Name: aws.String("a"), Subnets: f.subnets[:2],
			Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("1")}, {Key: aws.String("k"), Value: aws.String("2")}}}, "DuplicateTagKeys", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.elb.CreateLoadBalancer(ctx, &tc.in)
			emutest.WantCode(t, err, tc.code, tc.msg)
			if emutest.Status(err) != 400 {
				t.Errorf("status %d, want 400", emutest.Status(err))
			}
		})
	}
	if out := emutest.Must(f.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})); len(out.LoadBalancers) != 0 {
		t.Errorf("rejected creates left %d load balancers", len(out.LoadBalancers))
	}
}

func TestLoadBalancerAttributes(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	arn := lb.LoadBalancerArn
	attrs := func() map[string]string {
		out := emutest.Must(f.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: arn}))
		m := map[string]string{}
		for _, a := range out.Attributes {
			m[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		return m
	}
	// API reference LoadBalancerAttribute: defaults.
	got := attrs()
	for k, want := range map[string]string{"deletion_protection.enabled": "false", "idle_timeout.timeout_seconds": "60", "access_logs.s3.enabled": "false", "routing.http2.enabled": "true"} {
		if got[k] != want {
			t.Errorf("default %s = %q, want %q", k, got[k], want)
		}
	}
	set := func(kv ...string) error {
		var list []types.LoadBalancerAttribute
		for i := 0; i < len(kv); i += 2 {
			list = append(list, types.LoadBalancerAttribute{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		_, err := f.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn, Attributes: list})
		return err
	}
	cases := []struct {
		name string
		kv   []string
		code string
	}{
		{"unknown key", []string{"no.such.key", "1"}, "ValidationError"},
		{"idle timeout above 4000", []string{"idle_timeout.timeout_seconds", "4001"}, "ValidationError"},
		{"boolean not true/false", []string{"deletion_protection.enabled", "yes"}, "ValidationError"},
		{"access logs without a bucket", []string{"access_logs.s3.enabled", "true"}, "InvalidConfigurationRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { emutest.WantCode(t, set(tc.kv...), tc.code, "") })
	}
	if err := set("access_logs.s3.enabled", "true", "access_logs.s3.bucket", "logs-bucket", "access_logs.s3.prefix", "alb"); err != nil {
		t.Fatal(err)
	}
	if got := attrs(); got["access_logs.s3.bucket"] != "logs-bucket" || got["access_logs.s3.enabled"] != "true" {
		t.Errorf("access logs not set: %v", got)
	}
	if err := set("deletion_protection.enabled", "true"); err != nil {
		t.Fatal(err)
	}
	// botocore elbv2 DeleteLoadBalancer errors: OperationNotPermittedException;
	// "You can't delete a load balancer if deletion protection is enabled."
	_, err := f.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn})
	emutest.WantCode(t, err, "OperationNotPermitted", "deletion protection")
	_, err = f.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(strings.Replace(aws.ToString(arn), "/web/", "/gone/", 1))})
	emutest.WantCode(t, err, "LoadBalancerNotFound", "")
}

func TestTargetGroupDefaultsValidationAndAttributes(t *testing.T) {
	f := newFixture(t)
	tg := f.tg("api", nil)
	// API reference CreateTargetGroup: HTTP/HTTPS health check defaults are
	// path "/", interval 30, timeout 5, healthy 5, unhealthy 2, matcher 200,
	// port traffic-port.
	if aws.ToString(tg.HealthCheckPath) != "/" || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 30 || aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 5 ||
		aws.ToInt32(tg.HealthyThresholdCount) != 5 || aws.ToInt32(tg.UnhealthyThresholdCount) != 2 ||
		aws.ToString(tg.Matcher.HttpCode) != "200" || aws.ToString(tg.HealthCheckPort) != "traffic-port" || tg.TargetType != types.TargetTypeEnumIp {
		t.Errorf("defaults %+v", tg)
	}
	cases := []struct {
		name string
		mod  func(*elb.CreateTargetGroupInput)
		code string
		msg  string
	}{
		// botocore elbv2 HealthCheckIntervalSeconds: 5-300.
		{"interval below 5", func(in *elb.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(4) }, "ValidationError", "greater than or equal to 5"},
		{"interval above 300", func(in *elb.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(301) }, "ValidationError", "less than or equal to 300"},
		// HealthCheckTimeoutSeconds: 2-120.
		{"timeout below 2", func(in *elb.CreateTargetGroupInput) { in.HealthCheckTimeoutSeconds = aws.Int32(1) }, "ValidationError", "greater than or equal to 2"},
		// HealthCheckThresholdCount: 2-10.
		{"healthy threshold 11", func(in *elb.CreateTargetGroupInput) { in.HealthyThresholdCount = aws.Int32(11) }, "ValidationError", "less than or equal to 10"},
		{"unhealthy threshold 1", func(in *elb.CreateTargetGroupInput) { in.UnhealthyThresholdCount = aws.Int32(1) }, "ValidationError", "greater than or equal to 2"},
		// Path: 1-1024.
		{"empty path", func(in *elb.CreateTargetGroupInput) { in.HealthCheckPath = aws.String("") }, "ValidationError", "length greater than or equal to 1"},
		{"path without slash", func(in *elb.CreateTargetGroupInput) { in.HealthCheckPath = aws.String("health") }, "ValidationError", "'/'"},
		{"timeout not below interval", func(in *elb.CreateTargetGroupInput) {
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds = aws.Int32(10), aws.Int32(10)
		}, "ValidationError", "smaller than the interval"},
		// Matcher.HttpCode: 200-499 for an Application Load Balancer.
		{"matcher 600", func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("600")} }, "ValidationError", ""},
		{"matcher garbage", func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("ok")} }, "ValidationError", ""},
		// Port: 1-65535.
		{"port 0", func(in *elb.CreateTargetGroupInput) { in.Port = aws.Int32(0) }, "ValidationError", "greater than or equal to 1"},
		{"no vpc", func(in *elb.CreateTargetGroupInput) { in.VpcId = nil }, "ValidationError", "VPC"},
		{"unknown vpc", func(in *elb.CreateTargetGroupInput) { in.VpcId = aws.String("vpc-0123456789abcdef0") }, "ValidationError", "vpc-0123456789abcdef0"},
		// TargetTypeEnum.
		{"target type", func(in *elb.CreateTargetGroupInput) { in.TargetType = "container" }, "ValidationError", "enum"},
		{"bad name", func(in *elb.CreateTargetGroupInput) { in.Name = aws.String("-api") }, "ValidationError", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(f.vpc), TargetType: types.TargetTypeEnumIp}
			tc.mod(in)
			_, err := f.elb.CreateTargetGroup(ctx, in)
			emutest.WantCode(t, err, tc.code, tc.msg)
		})
	}
	// DuplicateTargetGroupName for the same name with other settings; the
	// same settings return the group.
	again := f.tg("api", nil)
	if aws.ToString(again.TargetGroupArn) != aws.ToString(tg.TargetGroupArn) {
		t.Errorf("idempotent create returned another group")
	}
	_, err := f.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("api"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(9090), VpcId: aws.String(f.vpc), TargetType: types.TargetTypeEnumIp})
	emutest.WantCode(t, err, "DuplicateTargetGroupName", "api")

	mod := emutest.Must(f.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn,
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(10), HealthyThresholdCount: aws.Int32(2)}))
	if g := mod.TargetGroups[0]; aws.ToString(g.HealthCheckPath) != "/health" || aws.ToInt32(g.HealthCheckIntervalSeconds) != 10 || aws.ToInt32(g.HealthyThresholdCount) != 2 {
		t.Errorf("modified %+v", g)
	}
	_, err = f.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(strings.Replace(aws.ToString(tg.TargetGroupArn), "/api/", "/nope/", 1)), HealthCheckPath: aws.String("/x")})
	var tnf *types.TargetGroupNotFoundException
	if emutest.WantCode(t, err, "TargetGroupNotFound", ""); !errorsAs(err, &tnf) {
		t.Errorf("not the typed TargetGroupNotFoundException: %T", err)
	}

	// TargetGroupAttribute deregistration_delay.timeout_seconds: 0-3600, default 300.
	delay := func(v string) error {
		_, err := f.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
			Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(v)}}})
		return err
	}
	emutest.WantCode(t, delay("3601"), "ValidationError", "3600")
	emutest.WantCode(t, delay("-1"), "ValidationError", "")
	if err := delay("0"); err != nil {
		t.Fatal(err)
	}
	out := emutest.Must(f.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn}))
	found := false
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			found = aws.ToString(a.Value) == "0"
		}
	}
	if !found {
		t.Errorf("deregistration delay not 0: %+v", out.Attributes)
	}
}

func TestDeleteTargetGroupInUseIsResourceInUse(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	tg := f.tg("api", nil)
	l := f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
	got := emutest.Must(f.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn}))
	if len(got.TargetGroups) != 1 || len(got.TargetGroups[0].LoadBalancerArns) != 1 || got.TargetGroups[0].LoadBalancerArns[0] != aws.ToString(lb.LoadBalancerArn) {
		t.Fatalf("target groups of the load balancer: %+v", got.TargetGroups)
	}
	// botocore elbv2 DeleteTargetGroup errors: ResourceInUseException; "You
	// can delete a target group if it is not referenced by any actions."
	_, err := f.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})
	emutest.WantCode(t, err, "ResourceInUse", "is currently in use by a listener or a rule")

	// A target group forwards for one load balancer only.
	other := f.lb("other")
	_, err = f.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: forward(aws.ToString(tg.TargetGroupArn))})
	emutest.WantCode(t, err, "TargetGroupAssociationLimit", "")

	emutest.Must(f.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn}))
	emutest.Must(f.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}))
	_, err = f.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"api"}})
	emutest.WantCode(t, err, "TargetGroupNotFound", "")
	_, err = f.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: l.ListenerArn})
	emutest.WantCode(t, err, "ListenerNotFound", "")
}

func TestListenersHTTPSNeedACertificateAndRedirect(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	lbArn := lb.LoadBalancerArn
	tg := f.tg("api", nil)
	cert := f.srv.Service("acm").(*acmemu.Server).AddCertificate("api.example.com", "ISSUED")
	cases := []struct {
		name string
		in   elb.CreateListenerInput
		code string
		msg  string
	}{
		{"https without certificate", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443), DefaultActions: forward(aws.ToString(tg.TargetGroupArn))},
			"ValidationError", "A certificate must be specified for HTTPS listeners"},
		// botocore elbv2 CreateListener errors: UnsupportedProtocolException.
		{"tcp on an ALB", elb.CreateListenerInput{Protocol: types.ProtocolEnumTcp, Port: aws.Int32(443), DefaultActions: forward(aws.ToString(tg.TargetGroupArn))},
			"UnsupportedProtocol", ""},
		// SSLPolicyNotFoundException.
		{"unknown ssl policy", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443), SslPolicy: aws.String("Nope"),
			Certificates: []types.Certificate{{CertificateArn: aws.String(cert)}}, DefaultActions: forward(aws.ToString(tg.TargetGroupArn))}, "SSLPolicyNotFound", ""},
		// TargetGroupNotFoundException.
		{"forward to missing group", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: forward(strings.Replace(aws.ToString(tg.TargetGroupArn), "/api/", "/gone/", 1))}, "TargetGroupNotFound", ""},
		// RedirectActionStatusCodeEnum.
		{"redirect status", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: []types.Action{{Type: types.ActionTypeEnumRedirect,
			RedirectConfig: &types.RedirectActionConfig{StatusCode: "HTTP_307"}}}}, "ValidationError", "[HTTP_301, HTTP_302]"},
		// FixedResponseActionStatusCode pattern ^(2|4|5)\d\d$.
		{"fixed-response status", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: fixed("302")}, "ValidationError", `(2|4|5)\d\d`},
		// Port 1-65535.
		{"port 70000", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(70000), DefaultActions: fixed("404")}, "ValidationError", "65535"},
		{"two terminal actions", elb.CreateListenerInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: append(fixed("404"), forward(aws.ToString(tg.TargetGroupArn))...)}, "InvalidLoadBalancerAction", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.LoadBalancerArn = lbArn
			_, err := f.elb.CreateListener(ctx, &tc.in)
			emutest.WantCode(t, err, tc.code, tc.msg)
		})
	}

	https := emutest.Must(f.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbArn, Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443),
		Certificates: []types.Certificate{{CertificateArn: aws.String(cert)}}, DefaultActions: fixed("404")})).Listeners[0]
	if aws.ToString(https.SslPolicy) != "ELBSecurityPolicy-2016-08" || len(https.Certificates) != 1 {
		t.Errorf("https listener %+v", https)
	}
	redirect := []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}
	http := f.listener(aws.ToString(lbArn), 80, redirect)
	got := emutest.Must(f.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(http.ListenerArn)}})).Listeners[0]
	if a := got.DefaultActions[0]; a.Type != types.ActionTypeEnumRedirect || aws.ToString(a.RedirectConfig.Protocol) != "HTTPS" || a.RedirectConfig.StatusCode != types.RedirectActionStatusCodeEnumHttp301 {
		t.Errorf("redirect action %+v", a)
	}
	// botocore elbv2 CreateListener errors: DuplicateListenerException.
	_, err := f.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: fixed("404")})
	emutest.WantCode(t, err, "DuplicateListener", "A listener already exists on this port")
	// CreateListener is idempotent with the same settings.
	if again := f.listener(aws.ToString(lbArn), 80, redirect); aws.ToString(again.ListenerArn) != aws.ToString(http.ListenerArn) {
		t.Errorf("idempotent CreateListener returned another listener")
	}

	mod := emutest.Must(f.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: https.ListenerArn, DefaultActions: forward(aws.ToString(tg.TargetGroupArn)),
		SslPolicy: aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06")})).Listeners[0]
	if mod.DefaultActions[0].Type != types.ActionTypeEnumForward || aws.ToString(mod.SslPolicy) != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("modified listener %+v", mod)
	}
	n := 0
	for p := elb.NewDescribeListenersPaginator(f.elb, &elb.DescribeListenersInput{LoadBalancerArn: lbArn}); p.HasMorePages(); {
		n += len(emutest.Must(p.NextPage(ctx)).Listeners)
	}
	if n != 2 {
		t.Errorf("%d listeners, want 2", n)
	}
	// Deleting the load balancer deletes its listeners.
	emutest.Must(f.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lbArn}))
	_, err = f.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(http.ListenerArn)}})
	emutest.WantCode(t, err, "ListenerNotFound", "")
}

func TestRulesPrioritiesAndConditions(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	tg := f.tg("api", nil)
	l := f.listener(aws.ToString(lb.LoadBalancerArn), 80, fixed("404"))
	create := func(prio int32, conds []types.RuleCondition) (*elb.CreateRuleOutput, error) {
		return f.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(prio), Conditions: conds,
			Actions: forward(aws.ToString(tg.TargetGroupArn))})
	}
	r10 := emutest.Must(create(10, append(hostRule("api.example.com"), types.RuleCondition{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}))).Rules[0]
	if aws.ToString(r10.Priority) != "10" || r10.IsDefault == nil || *r10.IsDefault || len(r10.Conditions) != 2 {
		t.Errorf("rule %+v", r10)
	}
	if c := r10.Conditions[1]; c.PathPatternConfig == nil || c.PathPatternConfig.Values[0] != "/api/*" {
		t.Errorf("path condition %+v", c)
	}

	cases := []struct {
		name  string
		prio  int32
		conds []types.RuleCondition
		code  string
		msg   string
	}{
		// botocore elbv2 CreateRule errors: PriorityInUseException.
		{"priority in use", 10, hostRule("b.example.com"), "PriorityInUse", "Priority '10' is currently in use"},
		// RulePriority: 1-50000.
		{"priority 0", 0, hostRule("b.example.com"), "ValidationError", "greater than or equal to 1"},
		{"priority 50001", 50001, hostRule("b.example.com"), "ValidationError", "less than or equal to 50000"},
		// Host conditions: at least one ".", letters only after the last ".".
		{"host without a dot", 20, hostRule("localhost"), "ValidationError", "host-header"},
		{"host ending in digits", 20, hostRule("api.example.123"), "ValidationError", "host-header"},
		{"host with underscore", 20, hostRule("my_api.example.com"), "ValidationError", "host-header"},
		{"host over 128", 20, hostRule(strings.Repeat("a", 125) + ".com"), "ValidationError", "128"},
		// Path conditions: the allowed characters.
		{"path with a space", 20, []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/a b"}}}, "ValidationError", "path-pattern"},
		// At most five condition values per rule.
		{"six values", 20, []types.RuleCondition{{Field: aws.String("host-header"), Values: []string{"a.example.com", "b.example.com", "c.example.com"}},
			{Field: aws.String("path-pattern"), Values: []string{"/a", "/b", "/c"}}}, "ValidationError", "'5' condition values"},
		{"two host conditions", 20, append(hostRule("a.example.com"), hostRule("b.example.com")...), "ValidationError", "one 'host-header'"},
		{"no condition", 20, []types.RuleCondition{}, "ValidationError", "condition"},
		{"unknown field", 20, []types.RuleCondition{{Field: aws.String("cookie"), Values: []string{"x"}}}, "ValidationError", "cookie"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create(tc.prio, tc.conds)
			emutest.WantCode(t, err, tc.code, tc.msg)
		})
	}
	wild := emutest.Must(create(5, hostRule("*.example.com"))).Rules[0]

	// SetRulePriorities: swapping two rules is fine; a clash with a rule
	// left out is PriorityInUse.
	emutest.Must(f.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{
		{RuleArn: r10.RuleArn, Priority: aws.Int32(5)}, {RuleArn: wild.RuleArn, Priority: aws.Int32(10)}}}))
	_, err := f.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: r10.RuleArn, Priority: aws.Int32(10)}}})
	emutest.WantCode(t, err, "PriorityInUse", "")

	var prios []string
	for p := elb.NewDescribeRulesPaginator(f.elb, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn}); p.HasMorePages(); {
		for _, r := range emutest.Must(p.NextPage(ctx)).Rules {
			prios = append(prios, aws.ToString(r.Priority))
		}
	}
	if strings.Join(prios, ",") != "5,10,default" {
		t.Errorf("rules by priority %v, want 5,10,default", prios)
	}
	var def string
	for _, r := range emutest.Must(f.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})).Rules {
		if aws.ToBool(r.IsDefault) {
			def = aws.ToString(r.RuleArn)
		}
	}
	// DeleteRule: "You can't delete the default rule." (OperationNotPermittedException)
	_, err = f.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(def)})
	emutest.WantCode(t, err, "OperationNotPermitted", "")
	_, err = f.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: aws.String(def), Priority: aws.Int32(3)}}})
	emutest.WantCode(t, err, "OperationNotPermitted", "")

	mod := emutest.Must(f.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: wild.RuleArn, Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"),
		PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/v2/*"}}}}})).Rules[0]
	if aws.ToString(mod.Priority) != "10" || mod.Conditions[0].PathPatternConfig.Values[0] != "/v2/*" {
		t.Errorf("modified rule %+v", mod)
	}
	emutest.Must(f.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: wild.RuleArn}))
	_, err = f.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: wild.RuleArn})
	var rnf *types.RuleNotFoundException
	if emutest.WantCode(t, err, "RuleNotFound", ""); !errorsAs(err, &rnf) {
		t.Errorf("not the typed RuleNotFoundException: %T", err)
	}
	_, err = f.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(wild.RuleArn)}})
	emutest.WantCode(t, err, "RuleNotFound", "")
}

func TestTooManyRulesOnALoadBalancer(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	l := f.listener(aws.ToString(lb.LoadBalancerArn), 80, fixed("404"))
	// Quotas for Application Load Balancers: 100 rules per load balancer,
	// not counting default rules (botocore elbv2 CreateRule errors:
	// TooManyRulesException).
	for i := int32(1); i <= 100; i++ {
		_, err := f.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(i),
			Conditions: hostRule(fmt.Sprintf("h%d.example.com", i)), Actions: fixed("200")})
		if err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
	}
	_, err := f.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: l.ListenerArn, Priority: aws.Int32(101),
		Conditions: hostRule("x.example.com"), Actions: fixed("200")})
	emutest.WantCode(t, err, "TooManyRules", "")
}

func TestTagsOnEveryResourceType(t *testing.T) {
	f := newFixture(t)
	lb := f.lb("web")
	tg := f.tg("api", nil)
	l := f.listener(aws.ToString(lb.LoadBalancerArn), 80, fixed("404"))
	arns := []string{aws.ToString(lb.LoadBalancerArn), aws.ToString(tg.TargetGroupArn), aws.ToString(l.ListenerArn)}
	emutest.Must(f.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}))
	out := emutest.Must(f.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns}))
	if len(out.TagDescriptions) != 3 {
		t.Fatalf("tag descriptions %+v", out.TagDescriptions)
	}
	for _, d := range out.TagDescriptions {
		if len(d.Tags) != 1 || aws.ToString(d.Tags[0].Value) != "web" {
			t.Errorf("%s tags %+v", aws.ToString(d.ResourceArn), d.Tags)
		}
	}
	emutest.Must(f.elb.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: arns[:1], TagKeys: []string{"team"}}))
	if d := emutest.Must(f.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns[:1]})).TagDescriptions[0]; len(d.Tags) != 0 {
		t.Errorf("tags left %+v", d.Tags)
	}
	// botocore elbv2 AddTags errors: DuplicateTagKeysException, TooManyTagsException,
	// and each resource type's not-found.
	_, err := f.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns[:1], Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("a"), Value: aws.String("2")}}})
	emutest.WantCode(t, err, "DuplicateTagKeys", "")
	var many []types.Tag
	for i := 0; i < 51; i++ {
		many = append(many, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
	}
	_, err = f.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns[:1], Tags: many})
	emutest.WantCode(t, err, "TooManyTags", "")
	_, err = f.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{strings.Replace(arns[1], "/api/", "/gone/", 1)}})
	emutest.WantCode(t, err, "TargetGroupNotFound", "")
}

func TestFaultsAccessDeniedAndThrottling(t *testing.T) {
	f := newFixture(t)
	emutest.Fail(f.srv, "elasticloadbalancing", "CreateLoadBalancer", emutest.Always, "AccessDenied", 403, "User is not authorized to perform: elasticloadbalancing:CreateLoadBalancer")
	_, err := f.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: f.subnets[:2]})
	emutest.WantHTTP(t, err, "AccessDenied", 403)
	f.srv.ClearFaults()

	c := elb.NewFromConfig(localawstest.Config(f.srv, 3))
	emutest.Throttle(f.srv, "elasticloadbalancing", "DescribeLoadBalancers", 2)
	emutest.Must(c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{}))
	emutest.WantCalls(t, f.srv, "elasticloadbalancing", "DescribeLoadBalancers", emutest.Calls{Faulted: 2, OK: 1})
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
