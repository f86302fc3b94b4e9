package autoscalingemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var start = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

type env struct {
	clk    *clock.Fake
	as     *autoscaling.Client
	subnet []string
}

func setup(t *testing.T) env {
	t.Helper()
	clk := clock.NewFake(start)
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 1)
	e := ec2.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123"), InstanceType: "t3.small"}}); err != nil {
		t.Fatal(err)
	}
	sn, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range sn.Subnets[:3] {
		ids = append(ids, *s.SubnetId)
	}
	return env{clk: clk, as: autoscaling.NewFromConfig(cfg), subnet: ids}
}

func mixed(base, pct int32, types_ ...string) *types.MixedInstancesPolicy {
	var ov []types.LaunchTemplateOverrides
	for _, t := range types_ {
		ov = append(ov, types.LaunchTemplateOverrides{InstanceType: aws.String(t)})
	}
	return &types.MixedInstancesPolicy{
		LaunchTemplate: &types.LaunchTemplate{LaunchTemplateSpecification: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")}, Overrides: ov},
		InstancesDistribution: &types.InstancesDistribution{OnDemandBaseCapacity: aws.Int32(base), OnDemandPercentageAboveBaseCapacity: aws.Int32(pct),
			SpotAllocationStrategy: aws.String("price-capacity-optimized")},
	}
}

func (e env) create(t *testing.T, name string, min, max, desired int32, protect bool) {
	t.Helper()
	_, err := e.as.CreateAutoScalingGroup(context.Background(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(min), MaxSize: aws.Int32(max), DesiredCapacity: aws.Int32(desired),
		VPCZoneIdentifier: aws.String(strings.Join(e.subnet, ",")), MixedInstancesPolicy: mixed(1, 0, "t3.small", "t3a.small", "t3.medium"),
		NewInstancesProtectedFromScaleIn: aws.Bool(protect), CapacityRebalance: aws.Bool(true),
		Tags: []types.Tag{{Key: aws.String("opsctl:cluster"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e env) group(t *testing.T, name string) *types.AutoScalingGroup {
	t.Helper()
	out, err := e.as.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil
	}
	return &out.AutoScalingGroups[0]
}

// code returns an SDK error's AWS error code (the shared test kit's).
var code = emutest.Code

func TestMixedInstancesGroupLaunchesOnDemandBaseThenSpot(t *testing.T) {
	e := setup(t)
	e.create(t, "web-asg", 0, 4, 3, true)
	g := e.group(t, "web-asg")
	if g == nil || aws.ToInt32(g.DesiredCapacity) != 3 || len(g.Instances) != 3 || len(g.AvailabilityZones) != 3 || !aws.ToBool(g.NewInstancesProtectedFromScaleIn) ||
		!aws.ToBool(g.CapacityRebalance) || !strings.Contains(aws.ToString(g.AutoScalingGroupARN), ":autoScalingGroupName/web-asg") {
		t.Fatalf("%+v", g)
	}
	d := g.MixedInstancesPolicy.InstancesDistribution
	if aws.ToInt32(d.OnDemandBaseCapacity) != 1 || aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) != 0 || aws.ToString(d.SpotAllocationStrategy) != "price-capacity-optimized" ||
		len(g.MixedInstancesPolicy.LaunchTemplate.Overrides) != 3 {
		t.Fatalf("%+v", g.MixedInstancesPolicy)
	}
	for _, i := range g.Instances {
		if i.LifecycleState != types.LifecycleStatePending || !aws.ToBool(i.ProtectedFromScaleIn) {
			t.Fatalf("%+v", i)
		}
	}
	// The first (on-demand base) instance is the first override; spot
	// instances spread over the overrides.
	if aws.ToString(g.Instances[0].InstanceType) != "t3.small" || aws.ToString(g.Instances[1].InstanceType) == aws.ToString(g.Instances[2].InstanceType) {
		t.Fatalf("%+v", g.Instances)
	}
	e.clk.Advance(31 * time.Second)
	g = e.group(t, "web-asg")
	for _, i := range g.Instances {
		if i.LifecycleState != types.LifecycleStateInService {
			t.Fatalf("%+v", i)
		}
	}
	acts, err := e.as.DescribeScalingActivities(context.Background(), &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web-asg")})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts.Activities) != 3 || acts.Activities[0].StatusCode != types.ScalingActivityStatusCodeSuccessful ||
		!strings.HasPrefix(aws.ToString(acts.Activities[0].Description), "Launching a new EC2 instance: i-") ||
		!strings.Contains(aws.ToString(acts.Activities[0].Cause), "a user request created an AutoScalingGroup changing the desired capacity from 0 to 3") {
		t.Fatalf("%+v", acts.Activities)
	}
	// Scale-in protection keeps protected instances when the desired
	// capacity drops.
	if _, err := e.as.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg"), DesiredCapacity: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if g = e.group(t, "web-asg"); len(g.Instances) != 3 || aws.ToInt32(g.DesiredCapacity) != 0 {
		t.Fatalf("%+v", g)
	}
}

func TestGroupErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.create(t, "web-asg", 0, 4, 0, false)
	cases := []struct {
		name string
		in   *autoscaling.CreateAutoScalingGroupInput
		want string
	}{
		// botocore autoscaling: CreateAutoScalingGroup errors AlreadyExistsFault (code AlreadyExists).
		{"duplicate", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
			VPCZoneIdentifier: aws.String(e.subnet[0]), MixedInstancesPolicy: mixed(0, 0, "t3.small")}, "AlreadyExists"},
		{"min above max", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(3), MaxSize: aws.Int32(1),
			VPCZoneIdentifier: aws.String(e.subnet[0]), MixedInstancesPolicy: mixed(0, 0, "t3.small")}, "ValidationError"},
		{"desired out of bounds", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(5),
			VPCZoneIdentifier: aws.String(e.subnet[0]), MixedInstancesPolicy: mixed(0, 0, "t3.small")}, "ValidationError"},
		{"no launch source", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(e.subnet[0])}, "ValidationError"},
		{"unknown subnet", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
			VPCZoneIdentifier: aws.String("subnet-00000000000000000"), MixedInstancesPolicy: mixed(0, 0, "t3.small")}, "ValidationError"},
		{"no zones", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), MixedInstancesPolicy: mixed(0, 0, "t3.small")}, "ValidationError"},
		{"unknown launch template", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(e.subnet[0]),
			LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")}}, "ValidationError"},
		{"bad spot strategy", &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("b"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(e.subnet[0]),
			MixedInstancesPolicy: func() *types.MixedInstancesPolicy {
				m := mixed(0, 0, "t3.small")
				m.InstancesDistribution.SpotAllocationStrategy = aws.String("cheapest")
				return m
			}()}, "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.as.CreateAutoScalingGroup(ctx, tc.in)
			if code(err) != tc.want {
				t.Fatalf("want %s, got %v", tc.want, err)
			}
		})
	}
	if e.group(t, "b") != nil {
		t.Fatal("a rejected create left a group")
	}
	// A rejected update changes nothing.
	_, err := e.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg"), MinSize: aws.Int32(5)})
	if code(err) != "ValidationError" || aws.ToInt32(e.group(t, "web-asg").MinSize) != 0 {
		t.Fatalf("%v", err)
	}
}

func TestDeleteRefusesWhileInstancesRunUnlessForced(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.create(t, "web-asg", 0, 4, 2, true)
	_, err := e.as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg")})
	var inUse *types.ResourceInUseFault
	if !errors.As(err, &inUse) {
		t.Fatalf("want ResourceInUseFault, got %v", err)
	}
	if _, err := e.as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	g := e.group(t, "web-asg")
	if g == nil || aws.ToString(g.Status) != "Delete in progress" {
		t.Fatalf("%+v", g)
	}
	_, err = e.as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg"), ForceDelete: aws.Bool(true)})
	var busy *types.ScalingActivityInProgressFault
	if !errors.As(err, &busy) {
		t.Fatalf("want ScalingActivityInProgressFault, got %v", err)
	}
	e.clk.Advance(31 * time.Second)
	if g := e.group(t, "web-asg"); g != nil {
		t.Fatalf("still there: %+v", g)
	}
	_, err = e.as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web-asg")})
	if code(err) != "ValidationError" {
		t.Fatalf("%v", err)
	}
	acts, _ := e.as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web-asg"), IncludeDeletedGroups: aws.Bool(true)})
	if len(acts.Activities) != 4 || !strings.HasPrefix(aws.ToString(acts.Activities[0].Description), "Terminating EC2 instance") {
		t.Fatalf("%+v", acts.Activities)
	}
}

func TestDescribeFiltersByTagAndPages(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.create(t, "a", 0, 1, 0, false)
	e.create(t, "b", 0, 1, 0, false)
	out, err := e.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []types.Filter{{Name: aws.String("tag:opsctl:cluster"), Values: []string{"web"}}}, MaxRecords: aws.Int32(1)})
	if err != nil || len(out.AutoScalingGroups) != 1 || out.NextToken == nil {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = e.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []types.Filter{{Name: aws.String("tag:opsctl:cluster"), Values: []string{"web"}}}, MaxRecords: aws.Int32(1), NextToken: out.NextToken})
	if err != nil || len(out.AutoScalingGroups) != 1 || aws.ToString(out.AutoScalingGroups[0].AutoScalingGroupName) != "b" || out.NextToken != nil {
		t.Fatalf("%v %+v", err, out)
	}
	_, err = e.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("junk")})
	var bad *types.InvalidNextToken
	if !errors.As(err, &bad) {
		t.Fatalf("%v", err)
	}
}
