package ecsemu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// An EC2 cluster on Auto Scaling group capacity providers: an on-demand base
// and weighted spot, container instances registered as tasks need them.
func TestAutoScalingGroupProviders(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"prod-ondemand", "prod-spot"} {
		out, err := f.ecs.CreateCapacityProvider(f.ctx, &ecs.CreateCapacityProviderInput{Name: aws.String(name),
			AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
				AutoScalingGroupArn:          aws.String(f.group(name)),
				ManagedScaling:               &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled},
				ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled,
			}})
		if err != nil {
			t.Fatalf("CreateCapacityProvider %s: %v", name, err)
		}
		ms := out.CapacityProvider.AutoScalingGroupProvider.ManagedScaling
		// botocore ecs ManagedScaling defaults: targetCapacity 100, steps 1 and 10000, warmup 300.
		if aws.ToInt32(ms.TargetCapacity) != 100 || aws.ToInt32(ms.MinimumScalingStepSize) != 1 || aws.ToInt32(ms.MaximumScalingStepSize) != 10000 || aws.ToInt32(ms.InstanceWarmupPeriod) != 300 {
			t.Errorf("managed scaling defaults = %+v", ms)
		}
		if out.CapacityProvider.AutoScalingGroupProvider.ManagedDraining != types.ManagedDrainingEnabled {
			t.Errorf("managedDraining = %q, want ENABLED by default", out.CapacityProvider.AutoScalingGroupProvider.ManagedDraining)
		}
	}
	_, err := f.ecs.CreateCapacityProvider(f.ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("prod-spot"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String("other")}})
	if errCode(err) != "ClientException" {
		t.Errorf("duplicate provider: %v, want ClientException", err)
	}
	// botocore ecs: "When using managed termination protection, managed scaling must also be used".
	_, err = f.ecs.CreateCapacityProvider(f.ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("bad"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String("asg-bad"),
			ManagedScaling: &types.ManagedScaling{Status: types.ManagedScalingStatusDisabled}, ManagedTerminationProtection: types.ManagedTerminationProtectionEnabled}})
	if errCode(err) != "InvalidParameterException" {
		t.Errorf("termination protection without managed scaling: %v", err)
	}

	if _, err := f.ecs.CreateCluster(f.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	// A strategy mixing Fargate and ASG providers is refused.
	_, err = f.ecs.PutClusterCapacityProviders(f.ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("prod"),
		CapacityProviders:               []string{"prod-ondemand", "FARGATE"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("prod-ondemand"), Weight: 1}, {CapacityProvider: aws.String("FARGATE"), Weight: 1}}})
	if errCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "mix of capacity providers") {
		t.Errorf("mixed strategy: %v", err)
	}
	if _, err := f.ecs.PutClusterCapacityProviders(f.ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("prod"),
		CapacityProviders: []string{"prod-ondemand", "prod-spot"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("prod-ondemand"), Base: 1, Weight: 0}, {CapacityProvider: aws.String("prod-spot"), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	td, err := f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("api"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("example/api:v1"), Memory: aws.Int32(256)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(2 * time.Minute)
	byProvider := map[string]int{}
	for _, tk := range f.tasks("prod", types.DesiredStatusRunning) {
		byProvider[aws.ToString(tk.CapacityProviderName)]++
		if tk.LaunchType != types.LaunchTypeEc2 || tk.ContainerInstanceArn == nil {
			t.Errorf("task on %s: launchType %s, container instance %v", aws.ToString(tk.CapacityProviderName), tk.LaunchType, tk.ContainerInstanceArn)
		}
	}
	if byProvider["prod-ondemand"] != 1 || byProvider["prod-spot"] != 4 {
		t.Errorf("placement = %v, want the base 1 on-demand and 4 on spot", byProvider)
	}
	ci, err := f.ecs.ListContainerInstances(f.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("prod")})
	if err != nil || len(ci.ContainerInstanceArns) != 2 {
		t.Fatalf("container instances = %v %v, want 2 (one per provider, 4 tasks each)", ci, err)
	}
	desc, err := f.ecs.DescribeContainerInstances(f.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("prod"), ContainerInstances: ci.ContainerInstanceArns})
	if err != nil {
		t.Fatal(err)
	}
	running := int32(0)
	for _, in := range desc.ContainerInstances {
		running += in.RunningTasksCount
		if !strings.HasPrefix(aws.ToString(in.Ec2InstanceId), "i-") {
			t.Errorf("ec2InstanceId = %q", aws.ToString(in.Ec2InstanceId))
		}
	}
	if running != 5 {
		t.Errorf("running tasks on instances = %d, want 5", running)
	}

	// Spot gone: the spot tasks are interrupted and cannot be placed again.
	f.emu().SetSpotAvailable("prod", false)
	f.clk.Advance(time.Minute)
	svc := f.service("prod", "api")
	want := "(service api) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your capacity provider."
	if svc.RunningCount != 1 || !strings.Contains(events(svc), want) {
		t.Errorf("running %d, events:\n%s", svc.RunningCount, events(svc))
	}

	// The provider is in use: it cannot be deleted or disassociated.
	_, err = f.ecs.DeleteCapacityProvider(f.ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("prod-ondemand")})
	if errCode(err) != "ClientException" {
		t.Errorf("delete an associated provider: %v, want ClientException", err)
	}
	_, err = f.ecs.PutClusterCapacityProviders(f.ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("prod"), CapacityProviders: []string{"prod-spot"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("prod-spot"), Weight: 1}}})
	if errCode(err) != "ResourceInUseException" {
		t.Errorf("disassociate a provider tasks use: %v, want ResourceInUseException", err)
	}

	// Tear down: scale to 0, delete the service, instances scale in, the cluster goes.
	if _, err := f.ecs.DeleteService(f.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if svc := f.service("prod", "api"); aws.ToString(svc.Status) != "DRAINING" {
		t.Errorf("status after DeleteService = %s, want DRAINING", aws.ToString(svc.Status))
	}
	f.clk.Advance(time.Minute)
	if svc := f.service("prod", "api"); aws.ToString(svc.Status) != "INACTIVE" {
		t.Errorf("status a minute later = %s, want INACTIVE", aws.ToString(svc.Status))
	}
	if _, err := f.ecs.DeleteCluster(f.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("prod")}); err != nil {
		t.Errorf("DeleteCluster after the service drained: %v", err)
	}
	if _, err := f.ecs.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}}); errCode(err) != "ClusterNotFoundException" {
		t.Errorf("describe in a deleted cluster: %v", err)
	}
	if _, err := f.ecs.DeleteCapacityProvider(f.ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("prod-ondemand")}); err != nil {
		t.Errorf("delete the provider of a deleted cluster: %v", err)
	}
}
