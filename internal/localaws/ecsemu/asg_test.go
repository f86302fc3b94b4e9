package ecsemu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// group creates an Auto Scaling group (and its launch template) through the
// SDK on the endpoint's Auto Scaling emulation and returns its ARN.
func (f *fixture) group(name string) string {
	f.t.Helper()
	cfg := localawstest.Config(f.srv, 1)
	e, as := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)
	if _, err := e.CreateLaunchTemplate(f.ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123"), InstanceType: "t3.small"}}); err != nil {
		f.t.Fatal(err)
	}
	sn, err := e.DescribeSubnets(f.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(sn.Subnets) == 0 {
		f.t.Fatalf("default subnets: %v", err)
	}
	if _, err := as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name),
		MinSize: aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: sn.Subnets[0].SubnetId, NewInstancesProtectedFromScaleIn: aws.Bool(true),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(name)}}); err != nil {
		f.t.Fatal(err)
	}
	out, err := as.DescribeAutoScalingGroups(f.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		f.t.Fatalf("describe group %s: %v", name, err)
	}
	return aws.ToString(out.AutoScalingGroups[0].AutoScalingGroupARN)
}

// CreateCapacityProvider needs its Auto Scaling group to exist (read from the
// Auto Scaling emulation): an unknown ARN is a ClientException (botocore ecs
// CreateCapacityProvider errors), nothing is created, and the real group's
// ARN is accepted.
func TestCapacityProviderNeedsAnExistingAutoScalingGroup(t *testing.T) {
	f := newFixture(t)
	missing := "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/nope"
	_, err := f.ecs.CreateCapacityProvider(f.ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("prod-ondemand"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(missing)}})
	if errCode(err) != "ClientException" {
		t.Fatalf("unknown group: %v, want ClientException", err)
	}
	if out, _ := f.ecs.DescribeCapacityProviders(f.ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"prod-ondemand"}}); len(out.CapacityProviders) != 0 {
		t.Fatalf("a provider was created: %+v", out.CapacityProviders)
	}
	arn := f.group("prod-ondemand")
	if _, err := f.ecs.CreateCapacityProvider(f.ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("prod-ondemand"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(arn)}}); err != nil {
		t.Fatalf("existing group: %v", err)
	}
}
