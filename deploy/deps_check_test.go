package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// A library caller that leaves out the clients a Fargate cluster does not
// use (Auto Scaling, SSM, IAM) gets its cluster; one that leaves out a client
// the command needs gets a clear error before any call, never a nil
// dereference.
func TestCreateClusterWithoutClientsItDoesNotNeed(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	d := e.deps
	d.AutoScaling, d.SSM, d.IAM = nil, nil, nil
	if _, err := deploy.CreateCluster(ctx, d, fargate("web")); err != nil {
		t.Fatalf("Fargate cluster without Auto Scaling/SSM/IAM clients: %v", err)
	}
	e.srv.ResetCalls()
	for name, tc := range map[string]struct {
		deps  func(deploy.Deps) deploy.Deps
		opts  deploy.ClusterOptions
		field string
	}{
		"EC2 mode without Auto Scaling": {func(d deploy.Deps) deploy.Deps { d.AutoScaling = nil; return d }, spotEC2("prod"), "Deps.AutoScaling"},
		"EC2 mode without SSM":          {func(d deploy.Deps) deploy.Deps { d.SSM = nil; return d }, spotEC2("prod"), "Deps.SSM"},
		"Fargate without ECS":           {func(d deploy.Deps) deploy.Deps { d.ECS = nil; return d }, fargate("web"), "Deps.ECS"},
	} {
		_, err := deploy.CreateCluster(ctx, tc.deps(e.deps), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.field+" is nil") {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.field)
		}
	}
	if calls := e.srv.Calls(); len(calls) != 0 {
		t.Errorf("a missing client was found after %d calls", len(calls))
	}
}

// Switching an EC2 cluster to Fargate removes its groups: without an Auto
// Scaling client that is refused with a clear error before any write.
func TestFargateSwitchWithoutAutoScalingSaysWhatIsMissing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	o := spotEC2("prod")
	o.Max = deploy.DefaultMax
	if _, err := deploy.CreateCluster(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	d := e.deps
	d.AutoScaling = nil
	e.srv.ResetCalls()
	_, err := deploy.CreateCluster(ctx, d, fargate("prod"))
	if err == nil || !strings.Contains(err.Error(), "Deps.AutoScaling is nil") || !strings.Contains(err.Error(), "Auto Scaling group") {
		t.Fatalf("switch to Fargate without Auto Scaling: %v", err)
	}
	if w := e.writes(); len(w) != 0 {
		t.Fatalf("writes before the error: %v", w)
	}
}

// ARNs take the partition of the region when Deps.Partition is empty
// (aws-sdk-go-v2 partitions.json: cn-* is aws-cn): the instance role's
// policy an EC2 cluster plans in cn-north-1 names arn:aws-cn resources.
func TestPartitionComesFromTheRegion(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Clock: clock.NewFake(start), Region: "cn-north-1"})
	cfg := localawstest.Config(srv, 1)
	d := deploy.Deps{ECS: ecs.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg), Region: srv.Region, Account: srv.Account}
	o := spotEC2("prod")
	o.DryRun = true
	res, err := deploy.CreateCluster(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	doc := res.Policies.InstancePermissions
	if !strings.Contains(doc, "arn:aws-cn:") || strings.Contains(doc, "arn:aws:") {
		t.Fatalf("instance permissions in cn-north-1:\n%s", doc)
	}
}
