package ec2emu_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/ec2emu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var start = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*localaws.Server, *ec2.Client) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Clock: clock.NewFake(start)})
	return srv, ec2.NewFromConfig(localawstest.Config(srv, 1))
}

// wantCode asserts err is the EC2 error code (codes from the EC2 API
// reference "Error codes" page, errors-overview.html).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	emutest.WantCode(t, err, code, "")
}

func f(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func TestANewAccountHasADefaultVPCWithASubnetPerZone(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	// The default VPC is 172.31.0.0/16 with a /20 default subnet per AZ
	// (Amazon VPC User Guide, "Default VPCs").
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{f("is-default", "true")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" || !aws.ToBool(vpcs.Vpcs[0].IsDefault) || vpcs.Vpcs[0].State != types.VpcStateAvailable {
		t.Fatalf("%+v", vpcs.Vpcs)
	}
	vpcID := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{f("vpc-id", vpcID), f("default-for-az", "true")}})
	if err != nil {
		t.Fatal(err)
	}
	azs := map[string]bool{}
	for _, sn := range subnets.Subnets {
		azs[aws.ToString(sn.AvailabilityZone)] = true
		if !strings.HasSuffix(aws.ToString(sn.CidrBlock), "/20") || !aws.ToBool(sn.MapPublicIpOnLaunch) || aws.ToInt32(sn.AvailableIpAddressCount) != 4091 {
			t.Fatalf("subnet %+v", sn)
		}
	}
	if len(subnets.Subnets) < 3 || len(azs) != len(subnets.Subnets) {
		t.Fatalf("want one default subnet per AZ, got %d in %v", len(subnets.Subnets), azs)
	}
	// Filter values accept wildcards; non-matching filters give nothing.
	none, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{f("availability-zone", "us-east-1a"), f("default-for-az", "false")}})
	if err != nil || len(none.Subnets) != 0 {
		t.Fatalf("%v %+v", err, none)
	}
	one, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{f("availability-zone", "us-east-1?")}, MaxResults: aws.Int32(5)})
	if err != nil || len(one.Subnets) != 5 || one.NextToken == nil {
		t.Fatalf("%v %+v", err, one)
	}
	// The VPC's default security group exists.
	sgs, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("vpc-id", vpcID), f("group-name", "default")}})
	if err != nil || len(sgs.SecurityGroups) != 1 {
		t.Fatalf("%v %+v", err, sgs)
	}
}

func TestDescribeErrorsForUnknownIDsAndFilters(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
	wantCode(t, err, "InvalidSubnetID.NotFound")
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"sn-1"}})
	wantCode(t, err, "InvalidSubnetID.Malformed")
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{f("colour", "blue")}})
	wantCode(t, err, "InvalidParameterValue")
	// botocore ec2 DescribeSubnetsMaxResults: min 5, max 1000.
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(2)})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")
}

func TestNoDefaultVPCAfterDeletingIt(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	vpcs, _ := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{f("isDefault", "true")}})
	vpcID := vpcs.Vpcs[0].VpcId
	// A VPC with subnets cannot be deleted.
	_, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpcID})
	wantCode(t, err, "DependencyViolation")
	subnets, _ := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{f("vpc-id", *vpcID)}})
	for _, sn := range subnets.Subnets {
		if _, err := c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpcID}); err != nil {
		t.Fatal(err)
	}
	vpcs, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{f("is-default", "true")}})
	if err != nil || len(vpcs.Vpcs) != 0 {
		t.Fatalf("%v %+v", err, vpcs)
	}
	// Without a default VPC a security group needs a VpcId.
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x")})
	wantCode(t, err, "VPCIdNotSpecified")
}

func TestRemoveDefaultVPCIsTheInProcessShortcut(t *testing.T) {
	srv, c := setup(t)
	srv.Service("ec2").(*ec2emu.Server).RemoveDefaultVPC()
	out, err := c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{Filters: []types.Filter{f("default-for-az", "true")}})
	if err != nil || len(out.Subnets) != 0 {
		t.Fatalf("%v %+v", err, out)
	}
}

func TestSecurityGroupLifecycle(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	tasks, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web-tasks"), Description: aws.String("tasks of web"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("opsctl:cluster"), Value: aws.String("web")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(tasks.GroupId), "sg-") || len(tasks.Tags) != 1 {
		t.Fatalf("%+v", tasks)
	}
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web-tasks"), Description: aws.String("again")})
	wantCode(t, err, "InvalidGroup.Duplicate")
	_, err = c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("default"), Description: aws.String("x")})
	wantCode(t, err, "InvalidGroup.Reserved")

	lb, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web-lb"), Description: aws.String("lb")})
	if err != nil {
		t.Fatal(err)
	}
	perm := []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: lb.GroupId}}, IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}
	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: tasks.GroupId, IpPermissions: perm})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 2 || !strings.HasPrefix(aws.ToString(auth.SecurityGroupRules[0].SecurityGroupRuleId), "sgr-") {
		t.Fatalf("%+v", auth)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: tasks.GroupId, IpPermissions: perm})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: tasks.GroupId,
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	wantCode(t, err, "InvalidParameterValue")

	got, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("tag:opsctl:cluster", "web")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SecurityGroups) != 1 {
		t.Fatalf("%+v", got)
	}
	g := got.SecurityGroups[0]
	if len(g.IpPermissions) != 1 || aws.ToInt32(g.IpPermissions[0].FromPort) != 8080 || len(g.IpPermissions[0].UserIdGroupPairs) != 1 ||
		len(g.IpPermissions[0].IpRanges) != 1 || len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" {
		t.Fatalf("%+v", g)
	}
	byPeer, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("ip-permission.group-id", *lb.GroupId)}})
	if err != nil || len(byPeer.SecurityGroups) != 1 {
		t.Fatalf("%v %+v", err, byPeer)
	}

	// lb is referenced by tasks' rule, so it cannot go yet.
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lb.GroupId})
	wantCode(t, err, "DependencyViolation")
	rev, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: tasks.GroupId, IpPermissions: perm})
	if err != nil || !aws.ToBool(rev.Return) || len(rev.UnknownIpPermissions) != 0 {
		t.Fatalf("%v %+v", err, rev)
	}
	// Revoking a rule that is gone is not an error in a VPC: it is reported.
	rev, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: tasks.GroupId, IpPermissions: perm})
	if err != nil || aws.ToBool(rev.Return) || len(rev.UnknownIpPermissions) != 1 {
		t.Fatalf("%v %+v", err, rev)
	}
	if _, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lb.GroupId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lb.GroupId})
	wantCode(t, err, "InvalidGroup.NotFound")
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"web-lb"}})
	wantCode(t, err, "InvalidGroup.NotFound")
	def, _ := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: def.SecurityGroups[0].GroupId})
	wantCode(t, err, "CannotDelete")
}

func TestLaunchTemplateVersions(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	ud := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho ECS_CLUSTER=web >> /etc/ecs/ecs.config\n"))
	created, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("opsctl-web"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String("ami-0abc"), UserData: aws.String(ud),
			IamInstanceProfile: &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String("web-instance")},
			SecurityGroupIds:   []string{"sg-1"},
			MetadataOptions:    &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(2)},
		},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lt := created.LaunchTemplate
	if aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 || !lt.CreateTime.Equal(start) || !strings.HasPrefix(aws.ToString(lt.LaunchTemplateId), "lt-") {
		t.Fatalf("%+v", lt)
	}
	_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("opsctl-web"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-1")}})
	wantCode(t, err, "InvalidLaunchTemplateName.AlreadyExistsException")
	_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("a b"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-1")}})
	wantCode(t, err, "InvalidLaunchTemplateName.MalformedException")

	// A new version inherits its source version's parameters.
	v2, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: lt.LaunchTemplateId, SourceVersion: aws.String("1"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0def")}})
	if err != nil {
		t.Fatal(err)
	}
	d := v2.LaunchTemplateVersion.LaunchTemplateData
	if aws.ToInt64(v2.LaunchTemplateVersion.VersionNumber) != 2 || aws.ToString(d.ImageId) != "ami-0def" || aws.ToString(d.UserData) != ud ||
		aws.ToString(d.IamInstanceProfile.Name) != "web-instance" || d.MetadataOptions.HttpTokens != types.LaunchTemplateHttpTokensStateRequired {
		t.Fatalf("%+v", v2.LaunchTemplateVersion)
	}
	vs, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("opsctl-web"), Versions: []string{"$Latest", "$Default"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.LaunchTemplateVersions) != 2 || aws.ToInt64(vs.LaunchTemplateVersions[0].VersionNumber) != 2 || !aws.ToBool(vs.LaunchTemplateVersions[1].DefaultVersion) {
		t.Fatalf("%+v", vs.LaunchTemplateVersions)
	}
	mod, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId, DefaultVersion: aws.String("2")})
	if err != nil || aws.ToInt64(mod.LaunchTemplate.DefaultVersionNumber) != 2 {
		t.Fatalf("%v %+v", err, mod)
	}
	_, err = c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId, DefaultVersion: aws.String("9")})
	wantCode(t, err, "InvalidLaunchTemplateId.VersionNotFound")
	_, err = c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nope"}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	_, err = c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	_, err = c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-x"}})
	wantCode(t, err, "InvalidLaunchTemplateId.Malformed")
	list, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{f("tag:k", "v")}})
	if err != nil || len(list.LaunchTemplates) != 1 || aws.ToInt64(list.LaunchTemplates[0].LatestVersionNumber) != 2 {
		t.Fatalf("%v %+v", err, list)
	}
	if _, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("opsctl-web")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("opsctl-web")})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("bad-ud"), LaunchTemplateData: &types.RequestLaunchTemplateData{UserData: aws.String("%%%")}})
	wantCode(t, err, "InvalidUserData.Malformed")
}

func TestInstanceTypeCatalogue(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	out, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"t3.small", "t3a.small", "t3.medium", "m5.large"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[types.InstanceType]types.InstanceTypeInfo{}
	for _, it := range out.InstanceTypes {
		got[it.InstanceType] = it
	}
	// Published specifications: t3.small 2 vCPU / 2 GiB, t3.medium 2 vCPU /
	// 4 GiB, m5.large 2 vCPU / 8 GiB (Amazon EC2 instance types).
	if len(got) != 4 || aws.ToInt64(got["t3.small"].MemoryInfo.SizeInMiB) != 2048 || aws.ToInt32(got["t3.medium"].VCpuInfo.DefaultVCpus) != 2 ||
		aws.ToInt64(got["m5.large"].MemoryInfo.SizeInMiB) != 8192 || !aws.ToBool(got["t3.small"].BurstablePerformanceSupported) ||
		got["t3a.small"].ProcessorInfo.SupportedArchitectures[0] != types.ArchitectureTypeX8664 {
		t.Fatalf("%+v", got)
	}
	spot := false
	for _, u := range got["t3.small"].SupportedUsageClasses {
		spot = spot || u == types.UsageClassTypeSpot
	}
	if !spot {
		t.Fatal("t3.small must support spot")
	}
	_, err = c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"t3.small", "t9.huge"}})
	wantCode(t, err, "InvalidInstanceType")
	arm, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{Filters: []types.Filter{f("processor-info.supported-architecture", "arm64")}, MaxResults: aws.Int32(5)})
	if err != nil || len(arm.InstanceTypes) != 5 || arm.NextToken == nil {
		t.Fatalf("%v %+v", err, arm)
	}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(c, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: types.LocationTypeAvailabilityZone,
		Filters: []types.Filter{f("instance-type", "t3.small", "t3a.small")}, MaxResults: aws.Int32(5)})
	n := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(pg.InstanceTypeOfferings)
	}
	if n != 12 { // 2 types × us-east-1's six zones
		t.Fatalf("offerings: %d", n)
	}
	_, err = c.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: "galaxy"})
	wantCode(t, err, "InvalidParameterValue")
}

func TestTagsAndEC2ErrorShapeThroughTheEndpoint(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	vpcs, _ := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	id := aws.ToString(vpcs.Vpcs[0].VpcId)
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("main")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{f("tag:Name", "ma*")}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("%v %+v", err, out)
	}
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-0000000000000000f"}, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidVpcID.NotFound")
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("b")}}})
	wantCode(t, err, "InvalidParameterValue")
	// The call log names EC2 Query actions.
	calls := srv.Calls()
	if last := calls[len(calls)-1]; last.Service != "ec2" || last.Operation != "CreateTags" || last.Status != http.StatusBadRequest {
		t.Fatalf("%+v", last)
	}
}
