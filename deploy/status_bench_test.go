package deploy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// statusFixture is a Fargate spot cluster with n running services, each with
// an auto scaling target.
func statusFixture(b *testing.B, n int) (*localaws.Server, deploy.Deps) {
	b.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv, err := localaws.New(context.Background(), localaws.Options{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	cfg := localawstest.Config(srv, 1)
	ctx := context.Background()
	d := deploy.Deps{ECS: ecs.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), AppScaling: aas.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg),
		Region: srv.Region, Account: srv.Account, Partition: "aws", Clock: clk}
	if _, err := deploy.CreateCluster(ctx, d, deploy.ClusterOptions{Name: "prod", Fargate: true, Spot: true, OnDemandBase: 1}.WithDefaults()); err != nil {
		b.Fatal(err)
	}
	td, err := d.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("example/web:v1"), Essential: aws.Bool(true)}}})
	if err != nil {
		b.Fatal(err)
	}
	cl, _ := d.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	var sg string
	for _, t := range cl.Clusters[0].Tags {
		if aws.ToString(t.Key) == deploy.TagSecurityGroup {
			sg = aws.ToString(t.Value)
		}
	}
	subnetOut, _ := d.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	var subnetIDs []string
	for _, s := range subnetOut.Subnets {
		subnetIDs = append(subnetIDs, aws.ToString(s.SubnetId))
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc%02d", i)
		if _, err := d.ECS.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(name), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
			DesiredCount: aws.Int32(2), CapacityProviderStrategy: cl.Clusters[0].DefaultCapacityProviderStrategy,
			NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: subnetIDs[:1], SecurityGroups: []string{sg}}}}); err != nil {
			b.Fatal(err)
		}
		if _, err := d.AppScaling.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String("service/prod/" + name), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
			MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)}); err != nil {
			b.Fatal(err)
		}
	}
	clk.Advance(5 * time.Minute)
	return srv, d
}

// BenchmarkStatus50Services counts the API calls of `deploy status` for a
// 50-service cluster (from the endpoint's call log):
//
//	go test -run '^$' -bench Status50 -benchtime 3x ./deploy/
func BenchmarkStatus50Services(b *testing.B) {
	srv, d := statusFixture(b, 50)
	calls := 0
	for i := 0; i < b.N; i++ {
		srv.ResetCalls()
		st, err := deploy.Status(context.Background(), d, deploy.StatusOptions{Cluster: "prod"})
		if err != nil || len(st.Services) != 50 {
			b.Fatalf("%v %d", err, len(st.Services))
		}
		calls += len(srv.Calls())
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls")
}

// BenchmarkStatus50ServicesCLIWay does what the AWS CLI needs for the same
// picture: `aws ecs list-services`, `aws ecs describe-services` (10 per
// call), per service `aws ecs list-tasks --service-name` + `describe-tasks`
// (running, for spot vs on-demand) and `list-tasks --desired-status STOPPED` +
// `describe-tasks` (stopped reasons), `aws application-autoscaling
// describe-scalable-targets` and, per service, `describe-scaling-activities
// --resource-id`. `aws ecs wait services-stable` alone (waiters-2.json
// ServicesStable: DescribeServices every 15 s, at most 10 services per call)
// is 5 calls per poll for 50 services and shows none of the above.
func BenchmarkStatus50ServicesCLIWay(b *testing.B) {
	srv, d := statusFixture(b, 50)
	ctx := context.Background()
	calls := 0
	for i := 0; i < b.N; i++ {
		srv.ResetCalls()
		var names []string
		p := ecs.NewListServicesPaginator(d.ECS, &ecs.ListServicesInput{Cluster: aws.String("prod")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			names = append(names, out.ServiceArns...)
		}
		for j := 0; j < len(names); j += 10 {
			if _, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: names[j:min(j+10, len(names))]}); err != nil {
				b.Fatal(err)
			}
		}
		for j := 0; j < 50; j++ {
			name := fmt.Sprintf("svc%02d", j)
			for _, st := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
				lt, err := d.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String(name), DesiredStatus: st})
				if err != nil {
					b.Fatal(err)
				}
				if len(lt.TaskArns) > 0 {
					if _, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: lt.TaskArns}); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, err := d.AppScaling.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String("service/prod/" + name)}); err != nil {
				b.Fatal(err)
			}
		}
		tp := aas.NewDescribeScalableTargetsPaginator(d.AppScaling, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
		for tp.HasMorePages() {
			if _, err := tp.NextPage(ctx); err != nil {
				b.Fatal(err)
			}
		}
		calls += len(srv.Calls())
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls")
}
