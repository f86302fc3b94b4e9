package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/ec2emu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

var start = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

type env struct {
	srv  *localaws.Server
	clk  *clock.Fake
	deps deploy.Deps
	ecs  *ecs.Client
	ec2  *ec2.Client
	as   *autoscaling.Client
	iam  *iam.Client
}

func setup(t *testing.T) env {
	t.Helper()
	clk := clock.NewFake(start)
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 1)
	e := env{srv: srv, clk: clk, ecs: ecs.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), as: autoscaling.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg)}
	e.deps = deploy.Deps{ECS: e.ecs, EC2: e.ec2, AutoScaling: e.as, IAM: e.iam, SSM: ssm.NewFromConfig(cfg),
		Region: srv.Region, Account: srv.Account, Partition: "aws", Clock: clk}
	return e
}

// writes are the mutating calls the endpoint saw since the last reset.
func (e env) writes() []string {
	var out []string
	for _, c := range e.srv.WriteCalls() {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

func statuses(cs []plan.Change) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.Resource+" "+c.Name] = c.Status
	}
	return m
}

func fargate(name string) deploy.ClusterOptions {
	return deploy.ClusterOptions{Name: name, Fargate: true, Spot: true, OnDemandBase: 1}
}

func TestFargateSpotClusterIsCreatedOnceAndThenLeftAlone(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	res, err := deploy.CreateCluster(ctx, e.deps, fargate("web"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Applied != 3 || len(res.Subnets) != 6 || !strings.HasPrefix(res.SecurityGroup, "sg-") {
		t.Fatalf("%+v", res)
	}
	out, err := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	if err != nil || len(out.Clusters) != 1 {
		t.Fatalf("%v %+v", err, out)
	}
	c := out.Clusters[0]
	// Fargate mode: FARGATE and FARGATE_SPOT, the on-demand base on FARGATE
	// and everything above it on FARGATE_SPOT (botocore ecs
	// CapacityProviderStrategyItem: only one item may set base).
	providers := strings.Join(c.CapacityProviders, ",")
	if providers != "FARGATE,FARGATE_SPOT" && providers != "FARGATE_SPOT,FARGATE" {
		t.Fatalf("providers %v", c.CapacityProviders)
	}
	got := map[string][2]int32{}
	for _, it := range c.DefaultCapacityProviderStrategy {
		got[aws.ToString(it.CapacityProvider)] = [2]int32{it.Base, it.Weight}
	}
	if got["FARGATE"] != [2]int32{1, 0} || got["FARGATE_SPOT"] != [2]int32{0, 1} {
		t.Fatalf("strategy %+v", got)
	}
	tags := map[string]string{}
	for _, tg := range c.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["opsctl:cluster"] != "web" || tags["opsctl:security-group"] != res.SecurityGroup || len(strings.Fields(tags["opsctl:subnets"])) != 6 {
		t.Fatalf("tags %v", tags)
	}
	sg, err := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{res.SecurityGroup}})
	if err != nil || aws.ToString(sg.SecurityGroups[0].GroupName) != "opsctl-web-tasks" || len(sg.SecurityGroups[0].IpPermissions) != 1 {
		t.Fatalf("%v %+v", err, sg)
	}

	// A second run reads and writes nothing.
	e.srv.ResetCalls()
	again, err := deploy.CreateCluster(ctx, e.deps, fargate("web"))
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 0 || again.Counts.Unchanged != len(again.Changes) {
		t.Fatalf("re-run wrote %v: %+v", w, again.Changes)
	}

	// A changed flag changes only the strategy.
	e.srv.ResetCalls()
	o := fargate("web")
	o.OnDemandBase = 2
	changed, err := deploy.CreateCluster(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); strings.Join(w, ",") != "ecs:PutClusterCapacityProviders" {
		t.Fatalf("writes %v", w)
	}
	if st := statuses(changed.Changes); st["cluster-capacity-providers web capacity providers"] != plan.StatusApplied {
		t.Fatalf("%+v", changed.Changes)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	e := setup(t)
	o := fargate("web")
	o.DryRun = true
	res, err := deploy.CreateCluster(context.Background(), e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 0 || res.Counts.Planned != 3 {
		t.Fatalf("writes %v, %+v", w, res.Counts)
	}
}

func TestWithoutADefaultVPCTheErrorSaysPassSubnets(t *testing.T) {
	e := setup(t)
	e.srv.Service("ec2").(*ec2emu.Server).RemoveDefaultVPC()
	_, err := deploy.CreateCluster(context.Background(), e.deps, fargate("web"))
	if err == nil || !strings.Contains(err.Error(), "no default VPC in us-east-1: pass --subnets") {
		t.Fatalf("%v", err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("writes %v", w)
	}
}

func TestExplicitSubnetsMustExist(t *testing.T) {
	e := setup(t)
	o := fargate("web")
	o.Subnets = []string{"subnet-0123456789abcdef0"}
	_, err := deploy.CreateCluster(context.Background(), e.deps, o)
	// EC2 API reference, error codes: InvalidSubnetID.NotFound.
	if err == nil || !strings.Contains(err.Error(), "--subnets: The subnet ID 'subnet-0123456789abcdef0' does not exist") || opserr.ExitCode(err) != 1 {
		t.Fatalf("%v", err)
	}
	sn, _ := e.ec2.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("availability-zone"), Values: []string{"us-east-1a", "us-east-1b"}}}})
	o.Subnets = []string{aws.ToString(sn.Subnets[0].SubnetId), aws.ToString(sn.Subnets[1].SubnetId)}
	res, err := deploy.CreateCluster(context.Background(), e.deps, o)
	if err != nil || len(res.Subnets) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestBadInputIsAUsageError(t *testing.T) {
	cases := []struct {
		name string
		o    deploy.ClusterOptions
		want string
	}{
		{"min above max", deploy.ClusterOptions{Name: "web", Min: 5, Max: 2}, "--min 5 is greater than --max 2"},
		{"unknown instance type", deploy.ClusterOptions{Name: "web", Max: 2, InstanceTypes: []string{"t3.small", "t9.huge"}}, `unknown instance type "t9.huge"`},
		{"mixed architectures", deploy.ClusterOptions{Name: "web", Max: 2, InstanceTypes: []string{"t3.small", "t4g.small"}}, "mixes x86_64 and arm64"},
		{"bad subnet", deploy.ClusterOptions{Name: "web", Max: 2, Subnets: []string{"sub-1"}}, `invalid subnet id "sub-1"`},
		{"bad name", deploy.ClusterOptions{Name: "web app", Max: 2}, "invalid cluster name"},
		{"instance types on fargate", deploy.ClusterOptions{Name: "web", Fargate: true, InstanceTypes: []string{"t3.small"}}, "--instance-types applies to EC2 clusters"},
		{"zero max", deploy.ClusterOptions{Name: "web"}, "--max must be at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || opserr.ExitCode(err) != opserr.ExitUsage {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// Every write of a Fargate create, failed once (a permanent AccessDenied),
// leaves a prefix of the plan applied; the next run finishes it.
func TestAFaultOnEachWriteIsRepairedByTheNextRun(t *testing.T) {
	writes := []struct{ service, op string }{
		{"ec2", "CreateSecurityGroup"}, {"ec2", "AuthorizeSecurityGroupIngress"}, {"ecs", "CreateCluster"}, {"ecs", "PutClusterCapacityProviders"},
	}
	for _, w := range writes {
		t.Run(w.op, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			e.srv.InjectFault(localaws.Fault{Service: w.service, Operation: w.op, Kind: localaws.FaultError, Code: "AccessDeniedException", Status: 400, Message: "not allowed"})
			res, err := deploy.CreateCluster(ctx, e.deps, fargate("web"))
			if err == nil {
				t.Fatal("the fault did not fail the run")
			}
			if res.Counts.Failed != 1 {
				t.Fatalf("%+v", res.Changes)
			}
			repaired, err := deploy.CreateCluster(ctx, e.deps, fargate("web"))
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			if repaired.Counts.Failed != 0 || repaired.Counts.Applied == 0 {
				t.Fatalf("%+v", repaired.Changes)
			}
			e.srv.ResetCalls()
			if _, err := deploy.CreateCluster(ctx, e.deps, fargate("web")); err != nil || len(e.writes()) != 0 {
				t.Fatalf("third run: %v, writes %v", err, e.writes())
			}
		})
	}
}

func TestRmRefusesWhileServicesRunUnlessForced(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	res, err := deploy.CreateCluster(ctx, e.deps, fargate("web"))
	if err != nil {
		t.Fatal(err)
	}
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("api"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("public.ecr.aws/nginx/nginx:latest"), Essential: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("web"), ServiceName: aws.String("api"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: res.Subnets[:1], SecurityGroups: []string{res.SecurityGroup}}}}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	_, err = deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "web"})
	if err == nil || !strings.Contains(err.Error(), "1 active service(s) (api)") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("%v", err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("refusal wrote %v", w)
	}
	rm, err := deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "web", Force: true})
	if err != nil {
		t.Fatalf("%v %+v", err, rm.Changes)
	}
	if strings.Join(rm.Services, ",") != "api" {
		t.Fatalf("%+v", rm)
	}
	out, _ := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}})
	if len(out.Clusters) == 1 && aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
		t.Fatalf("cluster still %s", aws.ToString(out.Clusters[0].Status))
	}
	sg, _ := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"opsctl-web-tasks"}}}})
	if len(sg.SecurityGroups) != 0 {
		t.Fatal("security group left behind")
	}
	// Nothing left: a re-run changes nothing.
	e.srv.ResetCalls()
	again, err := deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "web"})
	if err != nil || again.Found || len(e.writes()) != 0 {
		t.Fatalf("%v %+v %v", err, again, e.writes())
	}
}

func TestRmLeavesWhatOpsctlDidNotCreate(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("theirs")}); err != nil {
		t.Fatal(err)
	}
	_, err := deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "theirs", Force: true})
	if err == nil || !strings.Contains(err.Error(), "was not created by opsctl") {
		t.Fatalf("%v", err)
	}
	_, err = deploy.CreateCluster(ctx, e.deps, fargate("theirs"))
	if err == nil || !strings.Contains(err.Error(), "not created by opsctl") {
		t.Fatalf("%v", err)
	}
	if w := e.writes(); len(w) != 1 { // the test's own CreateCluster
		t.Fatalf("%v", w)
	}
}

func TestStatusOfAFargateCluster(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := deploy.CreateCluster(ctx, e.deps, fargate("web")); err != nil {
		t.Fatal(err)
	}
	st, err := deploy.ClusterStatusOf(ctx, e.deps, "web")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "ACTIVE" || st.Mode != "fargate" || len(st.CapacityProviders) != 2 || len(st.DefaultStrategy) != 2 || len(st.Problems) != 0 {
		t.Fatalf("%+v", st)
	}
	_, err = deploy.ClusterStatusOf(ctx, e.deps, "nope")
	if err == nil || !strings.Contains(err.Error(), "cluster nope not found") || opserr.ExitCode(err) != 1 {
		t.Fatalf("%v", err)
	}
	var ue *opserr.UsageError
	if _, err := deploy.ClusterStatusOf(ctx, e.deps, "bad name"); !errors.As(err, &ue) {
		t.Fatalf("%v", err)
	}
}
