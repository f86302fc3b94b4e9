package deploy_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/ssmemu"
)

func spotEC2(name string) deploy.ClusterOptions {
	return deploy.ClusterOptions{Name: name, Spot: true, Min: 0, Max: 4, OnDemandBase: 1}
}

func (e env) groups(t *testing.T, names ...string) map[string]astypes.AutoScalingGroup {
	t.Helper()
	out, err := e.as.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: names})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]astypes.AutoScalingGroup{}
	for _, g := range out.AutoScalingGroups {
		m[aws.ToString(g.AutoScalingGroupName)] = g
	}
	return m
}

func TestEC2SpotClusterBuildsItsCapacity(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	res, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web"))
	if err != nil {
		t.Fatalf("%v %+v", err, res.Changes)
	}
	// The AMI is the ECS-optimized AL2023 image from its public SSM parameter.
	if res.ImageID != ssmemu.DefaultAL2023AMI || res.Counts.Applied != len(res.Changes) {
		t.Fatalf("%+v", res)
	}

	// Launch template: AMI, user data joining the cluster with spot
	// draining on (ECS developer guide, container-instance-spot), the
	// instance profile, the tasks' security group, IMDSv2.
	vs, err := e.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("opsctl-web"), Versions: []string{"$Default"}})
	if err != nil {
		t.Fatal(err)
	}
	data := vs.LaunchTemplateVersions[0].LaunchTemplateData
	ud, _ := base64.StdEncoding.DecodeString(aws.ToString(data.UserData))
	if aws.ToString(data.ImageId) != ssmemu.DefaultAL2023AMI || !strings.Contains(string(ud), "ECS_CLUSTER=web\n") || !strings.Contains(string(ud), "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true") ||
		aws.ToString(data.IamInstanceProfile.Name) != "opsctl-web-instance" || data.SecurityGroupIds[0] != res.SecurityGroup || string(data.MetadataOptions.HttpTokens) != "required" {
		t.Fatalf("%+v\n%s", data, ud)
	}

	// Two groups: on-demand only, and spot only, price-capacity-optimized
	// over the three default types (botocore autoscaling InstancesDistribution).
	gs := e.groups(t, "opsctl-web-on-demand", "opsctl-web-spot")
	od, spot := gs["opsctl-web-on-demand"], gs["opsctl-web-spot"]
	if aws.ToInt32(od.MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity) != 100 {
		t.Fatalf("on-demand group %+v", od.MixedInstancesPolicy.InstancesDistribution)
	}
	d := spot.MixedInstancesPolicy.InstancesDistribution
	if aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) != 0 || aws.ToString(d.SpotAllocationStrategy) != "price-capacity-optimized" ||
		len(spot.MixedInstancesPolicy.LaunchTemplate.Overrides) != 3 || !aws.ToBool(spot.NewInstancesProtectedFromScaleIn) || !aws.ToBool(spot.CapacityRebalance) ||
		aws.ToInt32(spot.MaxSize) != 4 || len(spot.AvailabilityZones) != 6 {
		t.Fatalf("spot group %+v", spot)
	}

	// Capacity providers with managed scaling, termination protection and draining.
	cps, err := e.ecs.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"opsctl-web-on-demand", "opsctl-web-spot"}})
	if err != nil || len(cps.CapacityProviders) != 2 {
		t.Fatalf("%v %+v", err, cps)
	}
	for _, cp := range cps.CapacityProviders {
		a := cp.AutoScalingGroupProvider
		if a.ManagedScaling.Status != ecstypes.ManagedScalingStatusEnabled || a.ManagedTerminationProtection != ecstypes.ManagedTerminationProtectionEnabled ||
			a.ManagedDraining != ecstypes.ManagedDrainingEnabled || aws.ToString(a.AutoScalingGroupArn) != aws.ToString(gs[aws.ToString(cp.Name)].AutoScalingGroupARN) {
			t.Fatalf("%+v", cp)
		}
	}
	// Default strategy: the on-demand base, the rest weighted to spot.
	cl, _ := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}})
	got := map[string][2]int32{}
	for _, it := range cl.Clusters[0].DefaultCapacityProviderStrategy {
		got[aws.ToString(it.CapacityProvider)] = [2]int32{it.Base, it.Weight}
	}
	if got["opsctl-web-on-demand"] != [2]int32{1, 0} || got["opsctl-web-spot"] != [2]int32{0, 1} {
		t.Fatalf("%+v", got)
	}

	// Instance role: EC2 trust, the agent's permissions on this cluster only.
	role, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-web-instance")})
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := url.PathUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	pol, err := e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("opsctl-web-instance"), PolicyName: aws.String("opsctl-ecs-agent")})
	if err != nil {
		t.Fatal(err)
	}
	perms, _ := url.PathUnescape(aws.ToString(pol.PolicyDocument))
	if !strings.Contains(trust, `"Service":"ec2.amazonaws.com"`) || !strings.Contains(perms, `"Resource":"arn:aws:ecs:us-east-1:000000000000:cluster/web"`) ||
		strings.Contains(perms, "ecr:") || strings.Contains(perms, `"Action":"*"`) {
		t.Fatalf("trust %s\nperms %s", trust, perms)
	}
	prof, err := e.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("opsctl-web-instance")})
	if err != nil || len(prof.InstanceProfile.Roles) != 1 {
		t.Fatalf("%v %+v", err, prof)
	}

	// Re-run: nothing written.
	e.srv.ResetCalls()
	again, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web"))
	if err != nil || len(e.writes()) != 0 || again.Counts.Unchanged != len(again.Changes) {
		t.Fatalf("%v writes %v %+v", err, e.writes(), again.Changes)
	}

	// Changed instance types and max: only the groups are updated.
	e.srv.ResetCalls()
	o := spotEC2("web")
	o.InstanceTypes, o.Max = []string{"m5.large", "m5a.large"}, 6
	if _, err := deploy.CreateCluster(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(e.writes(), ","); w != "autoscaling:UpdateAutoScalingGroup,autoscaling:UpdateAutoScalingGroup" {
		t.Fatalf("writes %s", w)
	}
	if g := e.groups(t, "opsctl-web-spot")["opsctl-web-spot"]; aws.ToInt32(g.MaxSize) != 6 || len(g.MixedInstancesPolicy.LaunchTemplate.Overrides) != 2 {
		t.Fatalf("%+v", g)
	}

	// A new AMI behind the SSM parameter: a new launch template version,
	// made the default the groups launch.
	e.srv.Service("ssm").(*ssmemu.Server).SeedPublic("ami-0fedcba9876543210")
	e.srv.ResetCalls()
	if _, err := deploy.CreateCluster(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(e.writes(), ","); w != "ec2:CreateLaunchTemplateVersion,ec2:ModifyLaunchTemplate" {
		t.Fatalf("writes %s", w)
	}
	lts, _ := e.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"opsctl-web"}})
	if aws.ToInt64(lts.LaunchTemplates[0].DefaultVersionNumber) != 2 {
		t.Fatalf("%+v", lts.LaunchTemplates[0])
	}

	st, err := deploy.ClusterStatusOf(ctx, e.deps, "web")
	if err != nil || len(st.CapacityProviders) != 2 || st.CapacityProviders[1].Group == nil || !st.CapacityProviders[1].Group.Spot || len(st.Problems) != 0 {
		t.Fatalf("%v %+v", err, st)
	}
}

func TestEC2WithoutSpotHasOneOnDemandGroup(t *testing.T) {
	e := setup(t)
	res, err := deploy.CreateCluster(context.Background(), e.deps, deploy.ClusterOptions{Name: "batch", Max: 2, OnDemandBase: 0})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.AutoScalingGroups, ",") != "opsctl-batch-on-demand" || len(res.DefaultStrategy) != 1 || res.DefaultStrategy[0].Weight != 1 {
		t.Fatalf("%+v", res)
	}
}

// Each write of an EC2 create, failed once, is finished by the next run.
func TestAFaultOnEachEC2WriteIsRepairedByTheNextRun(t *testing.T) {
	writes := []struct{ service, op, code string }{
		{"ec2", "CreateSecurityGroup", "UnauthorizedOperation"}, {"ecs", "CreateCluster", "AccessDeniedException"},
		{"iam", "CreateRole", "AccessDenied"}, {"iam", "PutRolePolicy", "AccessDenied"}, {"iam", "CreateInstanceProfile", "AccessDenied"},
		{"iam", "AddRoleToInstanceProfile", "AccessDenied"}, {"ec2", "CreateLaunchTemplate", "UnauthorizedOperation"},
		{"autoscaling", "CreateAutoScalingGroup", "AccessDenied"}, {"ecs", "CreateCapacityProvider", "AccessDeniedException"},
		{"ecs", "PutClusterCapacityProviders", "AccessDeniedException"},
	}
	for _, w := range writes {
		t.Run(w.op, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			e.srv.InjectFault(localaws.Fault{Service: w.service, Operation: w.op, Kind: localaws.FaultError, Code: w.code, Status: 403, Message: "not allowed"})
			res, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web"))
			// The error names the service's code, whatever the protocol.
			if err == nil || res.Counts.Failed != 1 || !strings.Contains(err.Error(), w.code) {
				t.Fatalf("%v %+v", err, res.Changes)
			}
			if _, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web")); err != nil {
				t.Fatalf("repair: %v", err)
			}
			e.srv.ResetCalls()
			if _, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web")); err != nil || len(e.writes()) != 0 {
				t.Fatalf("third run: %v, writes %v", err, e.writes())
			}
		})
	}
}

func TestRmDeletesAnEC2ClusterAndWaitsForItsInstances(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web")); err != nil {
		t.Fatal(err)
	}
	// Instances running in the spot group (as managed scaling would start).
	if _, err := e.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("opsctl-web-spot"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	// A failure half-way (the launch template cannot be deleted) leaves the
	// rest for a re-run.
	e.srv.InjectFault(localaws.Fault{Service: "ec2", Operation: "DeleteLaunchTemplate", Kind: localaws.FaultError, Code: "UnauthorizedOperation", Status: 403})
	rm, err := deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "web"})
	if err == nil || rm.Counts.Applied == 0 || rm.Counts.Failed != 1 {
		t.Fatalf("%v %+v", err, rm.Changes)
	}
	if gs := e.groups(t, "opsctl-web-on-demand", "opsctl-web-spot"); len(gs) != 0 {
		t.Fatalf("groups left: %v", gs)
	}
	rm, err = deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "web"})
	if err != nil {
		t.Fatalf("%v %+v", err, rm.Changes)
	}
	var deleted []string
	for _, c := range rm.Changes {
		deleted = append(deleted, c.Resource)
	}
	sort.Strings(deleted)
	if strings.Join(deleted, ",") != "ecs-cluster,iam-instance-profile,iam-role,launch-template,security-group" {
		t.Fatalf("%v", deleted)
	}
	if _, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-web-instance")}); err == nil {
		t.Fatal("role left behind")
	}
	cps, _ := e.ecs.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"opsctl-web-spot"}})
	for _, cp := range cps.CapacityProviders {
		if cp.Status == ecstypes.CapacityProviderStatusActive {
			t.Fatalf("provider left: %+v", cp)
		}
	}
	e.srv.ResetCalls()
	if again, err := deploy.RemoveCluster(ctx, e.deps, deploy.RemoveOptions{Name: "web"}); err != nil || again.Found || len(e.writes()) != 0 {
		t.Fatalf("%v %+v %v", err, again, e.writes())
	}
}

func TestDroppingSpotRemovesTheSpotCapacity(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web")); err != nil {
		t.Fatal(err)
	}
	o := spotEC2("web")
	o.Spot = false
	e.srv.ResetCalls()
	res, err := deploy.CreateCluster(ctx, e.deps, o)
	if err != nil {
		t.Fatalf("%v %+v", err, res.Changes)
	}
	// The strategy moves first, then the spot provider and group go.
	if w := strings.Join(e.writes(), ","); w != "ecs:PutClusterCapacityProviders,ecs:DeleteCapacityProvider,autoscaling:DeleteAutoScalingGroup" {
		t.Fatalf("writes %s", w)
	}
	if gs := e.groups(t, "opsctl-web-spot", "opsctl-web-on-demand"); len(gs) != 1 {
		t.Fatalf("%v", gs)
	}
	e.srv.ResetCalls()
	if _, err := deploy.CreateCluster(ctx, e.deps, o); err != nil || len(e.writes()) != 0 {
		t.Fatalf("%v %v", err, e.writes())
	}
}

func TestStatusSaysWhenAGroupIsGone(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := deploy.CreateCluster(ctx, e.deps, spotEC2("web")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("opsctl-web-spot"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	st, err := deploy.ClusterStatusOf(ctx, e.deps, "web")
	if err != nil {
		t.Fatal(err)
	}
	spot := st.CapacityProviders[1].Group
	if spot == nil || spot.Pending != 1 || spot.LastActivity == nil || !strings.HasPrefix(spot.LastActivity.Description, "Launching a new EC2 instance") {
		t.Fatalf("%+v", spot)
	}
	// Someone deletes the group behind the capacity provider.
	if _, err := e.as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("opsctl-web-spot"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	st, err = deploy.ClusterStatusOf(ctx, e.deps, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "its Auto Scaling group opsctl-web-spot is gone") {
		t.Fatalf("%+v", st.Problems)
	}
}
