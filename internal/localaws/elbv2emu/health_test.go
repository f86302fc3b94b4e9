package elbv2emu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/opsctl/opsctl/internal/localaws/elbv2emu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
)

// health is one target's state, reason and description.
type health struct{ state, reason, desc string }

func (f *fixture) health(tg *string, targets ...types.TargetDescription) []health {
	f.t.Helper()
	out := emutest.Must(f.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg, Targets: targets}))
	var got []health
	for _, d := range out.TargetHealthDescriptions {
		got = append(got, health{string(d.TargetHealth.State), string(d.TargetHealth.Reason), aws.ToString(d.TargetHealth.Description)})
	}
	return got
}

func (f *fixture) wantHealth(tg *string, want health) {
	f.t.Helper()
	got := f.health(tg)
	if len(got) != 1 || got[0] != want {
		f.t.Fatalf("at +%s target health %+v, want %+v", f.clk.Now().Sub(epoch), got, want)
	}
}

func target(ip string) []types.TargetDescription {
	return []types.TargetDescription{{Id: aws.String(ip)}}
}

// fastChecks: interval 10 s, healthy after 3 checks, unhealthy after 2.
func fastChecks(in *elb.CreateTargetGroupInput) {
	in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds = aws.Int32(10), aws.Int32(5)
	in.HealthyThresholdCount, in.UnhealthyThresholdCount = aws.Int32(3), aws.Int32(2)
	in.HealthCheckPath = aws.String("/health")
}

// Reason codes and descriptions: botocore elbv2 TargetHealth.Reason
// (TargetHealthReasonEnum, with the state each goes with) and the
// Application Load Balancer guide's "Health check reason codes" table.
var (
	notInUse       = health{"unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"}
	notRegistered  = health{"unused", "Target.NotRegistered", "Target is not registered to the target group"}
	registering    = health{"initial", "Elb.RegistrationInProgress", "Target registration is in progress"}
	initialChecks  = health{"initial", "Elb.InitialHealthChecking", "Initial health checks in progress"}
	healthy        = health{"healthy", "", ""}
	draining       = health{"draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"}
	checksDisabled = health{"unavailable", "Target.HealthCheckDisabled", "Health checks are disabled"}
)

func TestTargetBecomesHealthyAfterHealthyThresholdTimesInterval(t *testing.T) {
	f := newFixture(t)
	tg := f.tg("api", fastChecks)
	emutest.Must(f.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
	// No load balancer uses the group yet.
	f.wantHealth(tg.TargetGroupArn, notInUse)

	lb := f.lb("web")
	f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
	f.wantHealth(tg.TargetGroupArn, registering)
	f.clk.Advance(10 * time.Second)
	f.wantHealth(tg.TargetGroupArn, initialChecks)
	f.clk.Advance(19 * time.Second)
	f.wantHealth(tg.TargetGroupArn, initialChecks)
	f.clk.Advance(time.Second) // 3 checks × 10 s
	f.wantHealth(tg.TargetGroupArn, healthy)

	got := emutest.Must(f.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})).TargetHealthDescriptions[0]
	if aws.ToInt32(got.Target.Port) != 8080 || aws.ToString(got.HealthCheckPort) != "8080" {
		t.Errorf("target %+v, health check port %s: want the group's port 8080", got.Target, aws.ToString(got.HealthCheckPort))
	}
	// A target asked about but never registered.
	if got := f.health(tg.TargetGroupArn, target("10.0.9.9")...); len(got) != 1 || got[0] != notRegistered {
		t.Errorf("unregistered target %+v", got)
	}
}

func TestUnhealthyTargetsByTestControlTag(t *testing.T) {
	cases := []struct {
		tag  string
		want health
	}{
		{"Target.Timeout", health{"unhealthy", "Target.Timeout", "Request timed out"}},
		{"Target.FailedHealthChecks", health{"unhealthy", "Target.FailedHealthChecks", "Health checks failed"}},
		{"yes", health{"unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]"}},
	}
	for _, tc := range cases {
		t.Run(tc.want.reason, func(t *testing.T) {
			f := newFixture(t)
			tg := f.tg("api", func(in *elb.CreateTargetGroupInput) {
				fastChecks(in)
				in.Tags = []types.Tag{{Key: aws.String("localaws:unhealthy"), Value: aws.String(tc.tag)}}
			})
			lb := f.lb("web")
			f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
			emutest.Must(f.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
			f.clk.Advance(19 * time.Second)
			f.wantHealth(tg.TargetGroupArn, initialChecks)
			f.clk.Advance(time.Second) // 2 failed checks × 10 s
			f.wantHealth(tg.TargetGroupArn, tc.want)
		})
	}
}

func TestDeregisteredTargetDrainsForTheDeregistrationDelay(t *testing.T) {
	f := newFixture(t)
	tg := f.tg("api", fastChecks)
	emutest.Must(f.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}}))
	lb := f.lb("web")
	f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
	emutest.Must(f.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
	f.clk.Advance(time.Minute)
	f.wantHealth(tg.TargetGroupArn, healthy)
	emutest.Must(f.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
	f.wantHealth(tg.TargetGroupArn, draining)
	f.clk.Advance(29 * time.Second)
	f.wantHealth(tg.TargetGroupArn, draining)
	f.clk.Advance(time.Second)
	if got := f.health(tg.TargetGroupArn); len(got) != 0 {
		t.Errorf("after the deregistration delay: %+v, want no targets", got)
	}
	// DeregisterTargets: "If the specified target does not exist, the action
	// returns successfully."
	emutest.Must(f.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
}

func TestHealthChecksDisabledIsUnavailable(t *testing.T) {
	f := newFixture(t)
	tg := f.tg("api", func(in *elb.CreateTargetGroupInput) { in.HealthCheckEnabled = aws.Bool(false) })
	lb := f.lb("web")
	f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
	emutest.Must(f.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
	f.wantHealth(tg.TargetGroupArn, checksDisabled)
}

func TestRegisterTargetsErrors(t *testing.T) {
	f := newFixture(t)
	ipGroup := f.tg("api", nil)
	instGroup := f.tg("inst", func(in *elb.CreateTargetGroupInput) { in.TargetType = types.TargetTypeEnumInstance })
	gone := aws.String(strings.Replace(aws.ToString(ipGroup.TargetGroupArn), "/api/", "/gone/", 1))
	cases := []struct {
		name    string
		tg      *string
		targets []types.TargetDescription
		code    string
	}{
		// botocore elbv2 RegisterTargets errors: InvalidTargetException,
		// TargetGroupNotFoundException.
		{"instance id in an ip group", ipGroup.TargetGroupArn, target("i-0123456789abcdef0"), "InvalidTarget"},
		{"ip in an instance group", instGroup.TargetGroupArn, target("10.0.1.5"), "InvalidTarget"},
		{"unknown group", gone, target("10.0.1.5"), "TargetGroupNotFound"},
		// TargetDescription.Port: 1-65535.
		{"port 0", ipGroup.TargetGroupArn, []types.TargetDescription{{Id: aws.String("10.0.1.5"), Port: aws.Int32(0)}}, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tc.tg, Targets: tc.targets})
			emutest.WantCode(t, err, tc.code, "")
		})
	}
	_, err := f.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: gone})
	emutest.WantCode(t, err, "TargetGroupNotFound", "")
}

func TestFailTargetsInProcess(t *testing.T) {
	f := newFixture(t)
	tg := f.tg("api", fastChecks)
	lb := f.lb("web")
	f.listener(aws.ToString(lb.LoadBalancerArn), 80, forward(aws.ToString(tg.TargetGroupArn)))
	emutest.Must(f.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: target("10.0.1.5")}))
	f.srv.Service("elasticloadbalancing").(*elbv2emu.Server).FailTargets(aws.ToString(tg.TargetGroupArn), "10.0.1.5", "Target.Timeout")
	f.clk.Advance(20 * time.Second)
	f.wantHealth(tg.TargetGroupArn, health{"unhealthy", "Target.Timeout", "Request timed out"})
}
