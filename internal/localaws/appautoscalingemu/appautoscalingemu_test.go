package appautoscalingemu_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/appautoscalingemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// wantCode fails unless err has the AWS error code and a message containing
// msg (the shared test kit's).
var wantCode = emutest.WantCode

// services is a Capacity standing in for ECS desired counts.
type services struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *services) Desired(ns, id, dim string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.n[id]
	return n, ok
}

func (s *services) SetDesired(ns, id, dim string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[id] = n
	return nil
}

func start(t *testing.T) (*aas.Client, *appautoscalingemu.Server, *services) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	emu, ok := srv.Service("application-autoscaling").(*appautoscalingemu.Server)
	if !ok {
		t.Fatalf("endpoint serves %T", srv.Service("application-autoscaling"))
	}
	svcs := &services{n: map[string]int{"service/prod/api": 1}}
	emu.Capacity = svcs
	return aas.NewFromConfig(localawstest.Config(srv, 1)), emu, svcs
}

const (
	ns  = types.ServiceNamespaceEcs
	dim = types.ScalableDimensionECSServiceDesiredCount
	id  = "service/prod/api"
)

func TestScalableTargetsPoliciesAndActivities(t *testing.T) {
	ctx := context.Background()
	c, emu, svcs := start(t)

	// New targets need both bounds.
	_, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id), MinCapacity: aws.Int32(2)})
	wantCode(t, err, "ValidationException", "MinCapacity and MaxCapacity")
	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id), MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(2)})
	wantCode(t, err, "ValidationException", "Minimum capacity cannot be greater than maximum capacity")
	// An ECS service that does not exist.
	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String("service/prod/nope"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantCode(t, err, "ValidationException", "ECS service doesn't exist")
	// botocore: ScalableDimension enum; and the dimension must belong to the namespace.
	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: "ecs:service:Tasks", ResourceId: aws.String(id), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantCode(t, err, "ValidationException", "enum value set")
	_, err = c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: types.ScalableDimensionDynamoDBTableReadCapacityUnits, ResourceId: aws.String(id), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)})
	wantCode(t, err, "ValidationException", "Unsupported")

	reg, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id), MinCapacity: aws.Int32(2), MaxCapacity: aws.Int32(10)})
	if err != nil || !strings.HasPrefix(aws.ToString(reg.ScalableTargetARN), "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/") {
		t.Fatalf("register = %+v, %v", reg, err)
	}
	// The desired count (1) was below the new minimum: it moved to 2 with an activity.
	if n, _ := svcs.Desired("ecs", id, ""); n != 2 {
		t.Fatalf("desired = %d, want 2", n)
	}
	acts, err := c.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(id)})
	if err != nil || len(acts.ScalingActivities) != 1 || aws.ToString(acts.ScalingActivities[0].Description) != "Setting desired count to 2." ||
		acts.ScalingActivities[0].StatusCode != types.ScalingActivityStatusCodeSuccessful || aws.ToString(acts.ScalingActivities[0].Cause) != "minimum capacity was set to 2" {
		t.Fatalf("activities = %+v, %v", acts, err)
	}

	tgts, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, ResourceIds: []string{id}})
	if err != nil || len(tgts.ScalableTargets) != 1 || aws.ToInt32(tgts.ScalableTargets[0].MinCapacity) != 2 || aws.ToInt32(tgts.ScalableTargets[0].MaxCapacity) != 10 ||
		!strings.Contains(aws.ToString(tgts.ScalableTargets[0].RoleARN), "AWSServiceRoleForApplicationAutoScaling_ECSService") {
		t.Fatalf("targets = %+v, %v", tgts, err)
	}

	pol := func(metric types.MetricType, target float64) *aas.PutScalingPolicyInput {
		return &aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id),
			PolicyType: types.PolicyTypeTargetTrackingScaling,
			TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(target),
				PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: metric},
				ScaleInCooldown:               aws.Int32(300), ScaleOutCooldown: aws.Int32(60)}}
	}
	put, err := c.PutScalingPolicy(ctx, pol(types.MetricTypeECSServiceAverageCPUUtilization, 60))
	if err != nil {
		t.Fatal(err)
	}
	// BC examples-1.json: PolicyARN ...:scalingPolicy:<uuid>:resource/ecs/service/default/web-app:policyName/<name>,
	// and alarms TargetTracking-service/default/web-app-AlarmHigh-<uuid> / -AlarmLow-<uuid>.
	if !regexp.MustCompile(`^arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:[0-9a-f-]{36}:resource/ecs/service/prod/api:policyName/cpu$`).MatchString(aws.ToString(put.PolicyARN)) ||
		len(put.Alarms) != 2 || !strings.HasPrefix(aws.ToString(put.Alarms[0].AlarmName), "TargetTracking-service/prod/api-AlarmHigh-") {
		t.Fatalf("put = %+v", put)
	}
	// Updating the same policy keeps its ARN.
	put2, err := c.PutScalingPolicy(ctx, pol(types.MetricTypeECSServiceAverageCPUUtilization, 70))
	if err != nil || aws.ToString(put2.PolicyARN) != aws.ToString(put.PolicyARN) {
		t.Fatalf("update = %+v, %v", put2, err)
	}
	pols, err := c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, ResourceId: aws.String(id)})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToFloat64(pols.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.TargetValue) != 70 ||
		pols.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType != types.MetricTypeECSServiceAverageCPUUtilization ||
		aws.ToInt32(pols.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.ScaleInCooldown) != 300 {
		t.Fatalf("policies = %+v, %v", pols, err)
	}
	// A metric of another service is rejected for ecs.
	_, err = c.PutScalingPolicy(ctx, pol(types.MetricTypeDynamoDBReadCapacityUtilization, 60))
	wantCode(t, err, "ValidationException", "Unsupported metric type")
	// A policy on an unregistered target: ObjectNotFoundException (botocore PutScalingPolicy errors).
	in := pol(types.MetricTypeECSServiceAverageMemoryUtilization, 60)
	in.ResourceId = aws.String("service/prod/web")
	_, err = c.PutScalingPolicy(ctx, in)
	wantCode(t, err, "ObjectNotFoundException", "No scalable target registered")
	var onf *types.ObjectNotFoundException
	if !errors.As(err, &onf) {
		t.Fatalf("%T is not the SDK's ObjectNotFoundException", err)
	}

	if !emu.ScaleTo("ecs", id, string(dim), 7, "monitor alarm TargetTracking-service/prod/api-AlarmHigh in state ALARM triggered policy cpu") {
		t.Fatal("ScaleTo found no target")
	}
	acts, _ = c.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(id)})
	if len(acts.ScalingActivities) != 2 || aws.ToString(acts.ScalingActivities[0].Description) != "Setting desired count to 7." {
		t.Fatalf("newest activity first: %+v", acts.ScalingActivities)
	}

	_, err = c.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("mem"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id)})
	wantCode(t, err, "ObjectNotFoundException", "No scaling policy found")
	if _, err := c.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(id)})
	wantCode(t, err, "ObjectNotFoundException", "No scalable target found")
}

func TestDescribeScalableTargetsPages(t *testing.T) {
	ctx := context.Background()
	c, _, svcs := start(t)
	for i := 0; i < 23; i++ {
		rid := fmt.Sprintf("service/prod/s%02d", i)
		svcs.SetDesired("ecs", rid, "", 1)
		if _, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(rid), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
	}
	p := aas.NewDescribeScalableTargetsPaginator(c, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.ScalableTargets)
		pages++
	}
	if n != 23 || pages < 3 {
		t.Fatalf("%d targets in %d pages", n, pages)
	}
	_, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, NextToken: aws.String("bogus")})
	wantCode(t, err, "InvalidNextTokenException", "")
	// API reference: MaxResults between 1 and 50.
	_, err = c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns, MaxResults: aws.Int32(51)})
	wantCode(t, err, "ValidationException", "50")
}

// On the endpoint the emulation is wired to the ECS emulation: registering
// a target for a missing service fails, and bounds move the service's
// desired count (ECS's own DescribeServices shows it).
func TestECSWiringOnTheEndpoint(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 1)
	c := aas.NewFromConfig(cfg)
	ec := ecs.NewFromConfig(cfg)
	_, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String("service/prod/api"), MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(5)})
	wantCode(t, err, "ValidationException", "ECS service doesn't exist")
	if _, err := ec.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod"), CapacityProviders: []string{"FARGATE"},
		DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	td, err := ec.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("api"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example/api:v1"), Essential: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-0123456789abcdef0"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String("service/prod/api"), MinCapacity: aws.Int32(3), MaxCapacity: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}})
	if err != nil || out.Services[0].DesiredCount != 3 {
		t.Fatalf("desired count after min 3: %+v %v", out.Services, err)
	}
}
