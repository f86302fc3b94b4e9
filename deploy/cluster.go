package deploy

// `opsctl deploy cluster create|status|rm`: an ECS cluster on spot capacity.
//
// EC2 mode (the default) runs tasks on Auto Scaling groups of ECS-optimized
// Amazon Linux 2023 instances. Without --spot there is one group,
// opsctl-NAME-on-demand. With --spot there are two, each with its own
// capacity provider, because ECS places tasks by capacity provider, not by
// purchase option: opsctl-NAME-on-demand (on-demand only) and
// opsctl-NAME-spot (spot only, price-capacity-optimized over several
// instance types, capacity rebalancing on). The cluster's default strategy
// puts the first --on-demand-base tasks on the on-demand provider (its base)
// and every further task on spot (weight), which is the layout AWS recommends
// and what lets `deploy spot-check` move a service to on-demand when spot
// cannot place tasks. Each group has a mixed instances policy over the
// instance types, protects new instances from scale in, and its capacity
// provider has managed scaling, managed termination protection and managed
// instance draining. Instances join the cluster through user data that also
// turns on spot instance draining (off by default in the ECS agent).
//
// Fargate mode (--fargate) associates FARGATE and FARGATE_SPOT; the default
// strategy is FARGATE with the on-demand base and, with --spot, FARGATE_SPOT
// for everything above it.
//
// A run without --spot after one with it (or with --fargate after an EC2
// run) moves the default strategy first and then deletes the capacity
// providers and groups opsctl made that are no longer asked for.
//
// Both modes use the default VPC's default subnets unless --subnets names
// others, and create a security group for the tasks. The cluster carries the
// tags opsctl:cluster, opsctl:subnets (space-separated: ECS tag values allow
// no commas) and opsctl:security-group so that
// services created later use the same network. Everything opsctl creates is
// tagged opsctl:cluster=NAME; `rm` deletes only what carries that tag.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// Tags opsctl puts on a cluster and everything created for it.
const (
	TagCluster       = "opsctl:cluster"
	TagSubnets       = "opsctl:subnets"
	TagSecurityGroup = "opsctl:security-group"
	TagMode          = "opsctl:mode"
)

// Defaults of `deploy cluster create`.
var DefaultInstanceTypes = []string{"t3.small", "t3a.small", "t3.medium"}

const (
	DefaultMin          = 0
	DefaultMax          = 4
	DefaultOnDemandBase = 1

	// AMI parameters of the ECS-optimized Amazon Linux 2023 image (public SSM
	// parameters, Amazon ECS Developer Guide "Retrieving Amazon ECS-optimized
	// Linux AMI metadata").
	AMIParameterX86   = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
	AMIParameterARM64 = "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"

	maxClusterName = 40 // opsctl-NAME-instance must fit IAM's 64-character role names
)

// Modes of a cluster.
const (
	ModeEC2     = "ec2"
	ModeFargate = "fargate"
)

// ClusterOptions are the inputs of CreateCluster.
type ClusterOptions struct {
	Name          string   `json:"name"`
	Fargate       bool     `json:"fargate"`
	Spot          bool     `json:"spot"`
	InstanceTypes []string `json:"instance_types,omitempty"`
	Min           int32    `json:"min"`
	Max           int32    `json:"max"`
	OnDemandBase  int32    `json:"on_demand_base"`
	Subnets       []string `json:"subnets,omitempty"`
	DryRun        bool     `json:"dry_run"`
}

var (
	clusterNameRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	subnetIDRe     = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
	instanceTypeRe = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	armFamilyRe    = regexp.MustCompile(`^([a-z]+[0-9]+g[a-z]*|a1)$`)
)

// ValidateClusterName checks a cluster NAME without calling AWS.
func ValidateClusterName(name string) error {
	switch {
	case name == "":
		return opserr.Usagef("the cluster NAME is required")
	case len(name) > maxClusterName:
		return opserr.Usagef("invalid cluster name %q: at most %d characters (opsctl derives IAM role names from it)", name, maxClusterName)
	case !clusterNameRe.MatchString(name):
		return opserr.Usagef("invalid cluster name %q: letters, digits, hyphens and underscores, starting with a letter or digit", name)
	}
	return nil
}

// knownInstanceType reports whether t is an EC2 instance type (the SDK's
// InstanceType enum, generated from the EC2 API model).
func knownInstanceType(t string) bool {
	for _, v := range ec2types.InstanceType("").Values() {
		if string(v) == t {
			return true
		}
	}
	return false
}

// archOf is the CPU architecture of an instance type's family (Graviton
// families carry a "g" after the generation: t4g, m7g, c6gn; a1).
func archOf(t string) string {
	family, _, _ := strings.Cut(t, ".")
	if armFamilyRe.MatchString(family) {
		return "arm64"
	}
	return "x86_64"
}

// WithDefaults fills the defaults of unset options.
func (o ClusterOptions) WithDefaults() ClusterOptions {
	if !o.Fargate && len(o.InstanceTypes) == 0 {
		o.InstanceTypes = append([]string(nil), DefaultInstanceTypes...)
	}
	return o
}

// Validate checks the options without calling AWS (bad input is exit 2,
// nothing called).
func (o ClusterOptions) Validate() error {
	if err := ValidateClusterName(o.Name); err != nil {
		return err
	}
	if o.Min < 0 || o.Max < 0 {
		return opserr.Usagef("--min and --max must not be negative")
	}
	if o.Min > o.Max {
		return opserr.Usagef("--min %d is greater than --max %d", o.Min, o.Max)
	}
	if !o.Fargate && o.Max < 1 {
		return opserr.Usagef("--max must be at least 1: a cluster without instances cannot run tasks")
	}
	if o.Max > 1000 {
		return opserr.Usagef("--max %d: at most 1000 instances per Auto Scaling group", o.Max)
	}
	// botocore ecs CapacityProviderStrategyItem.base: 0–100000.
	if o.OnDemandBase < 0 || o.OnDemandBase > 100000 {
		return opserr.Usagef("--on-demand-base %d: must be between 0 and 100000 tasks", o.OnDemandBase)
	}
	if o.Fargate && len(o.InstanceTypes) > 0 {
		return opserr.Usagef("--instance-types applies to EC2 clusters, not --fargate")
	}
	seen := map[string]bool{}
	arch := ""
	for _, t := range o.InstanceTypes {
		if !instanceTypeRe.MatchString(t) || !knownInstanceType(t) {
			return opserr.Usagef("unknown instance type %q in --instance-types", t)
		}
		if seen[t] {
			return opserr.Usagef("instance type %s is listed twice in --instance-types", t)
		}
		seen[t] = true
		if a := archOf(t); arch == "" {
			arch = a
		} else if a != arch {
			return opserr.Usagef("--instance-types mixes x86_64 and arm64 types (%s): one Auto Scaling group runs one AMI", strings.Join(o.InstanceTypes, ","))
		}
	}
	// botocore autoscaling LaunchTemplate.Overrides: at most 40.
	if len(o.InstanceTypes) > 40 {
		return opserr.Usagef("--instance-types: at most 40 types")
	}
	seen = map[string]bool{}
	for _, s := range o.Subnets {
		if !subnetIDRe.MatchString(s) {
			return opserr.Usagef("invalid subnet id %q in --subnets: expected subnet-0123456789abcdef0", s)
		}
		if seen[s] {
			return opserr.Usagef("subnet %s is listed twice in --subnets", s)
		}
		seen[s] = true
	}
	return nil
}

// Names of what opsctl creates for cluster NAME.
func securityGroupName(cluster string) string   { return "opsctl-" + cluster + "-tasks" }
func instanceRoleName(cluster string) string    { return "opsctl-" + cluster + "-instance" }
func launchTemplateName(cluster string) string  { return "opsctl-" + cluster }
func onDemandGroupName(cluster string) string   { return "opsctl-" + cluster + "-on-demand" }
func spotGroupName(cluster string) string       { return "opsctl-" + cluster + "-spot" }
func instancePolicyName() string                { return "opsctl-ecs-agent" }
func instanceProfileName(cluster string) string { return instanceRoleName(cluster) }

// StrategyItem is one capacity provider in a default strategy.
type StrategyItem struct {
	Provider string `json:"capacity_provider"`
	Base     int32  `json:"base"`
	Weight   int32  `json:"weight"`
}

// ClusterPolicies are the documents opsctl writes, shown by --dry-run.
type ClusterPolicies struct {
	InstanceTrust       string `json:"instance_trust,omitempty"`
	InstancePermissions string `json:"instance_permissions,omitempty"`
	UserData            string `json:"user_data,omitempty"`
}

// ClusterResult is what `deploy cluster create` did (or would do).
type ClusterResult struct {
	Cluster           string          `json:"cluster"`
	Mode              string          `json:"mode"`
	Spot              bool            `json:"spot"`
	Region            string          `json:"region"`
	VpcID             string          `json:"vpc_id"`
	Subnets           []string        `json:"subnets"`
	SecurityGroup     string          `json:"security_group"`
	CapacityProviders []string        `json:"capacity_providers"`
	DefaultStrategy   []StrategyItem  `json:"default_strategy"`
	ImageID           string          `json:"image_id,omitempty"`
	InstanceTypes     []string        `json:"instance_types,omitempty"`
	LaunchTemplate    string          `json:"launch_template,omitempty"`
	AutoScalingGroups []string        `json:"auto_scaling_groups,omitempty"`
	InstanceRole      string          `json:"instance_role,omitempty"`
	InstanceProfile   string          `json:"instance_profile,omitempty"`
	DryRun            bool            `json:"dry_run"`
	Changes           []plan.Change   `json:"changes"`
	Counts            plan.Counts     `json:"counts"`
	Policies          ClusterPolicies `json:"policies"`
}

// network is the VPC and subnets a cluster uses.
type network struct {
	vpcID   string
	subnets []string
	zones   []string
}

// account returns the caller's account (Deps.Account, else STS).
func (d Deps) account(ctx context.Context) (string, error) {
	if d.Account != "" {
		return d.Account, nil
	}
	if d.STS == nil {
		return "", errors.New("look up the AWS account: no STS client")
	}
	c, err := awsx.CallerIdentity(ctx, d.STS, d.Region)
	if err != nil {
		return "", fmt.Errorf("look up the AWS account: %w", err)
	}
	return c.Account, nil
}

func (d Deps) partition() string {
	if d.Partition != "" {
		return d.Partition
	}
	return partitionOf(d.Region)
}

// resolveNetwork finds the subnets: the given ones (which must exist and
// share a VPC) or the default VPC's default subnets.
func resolveNetwork(ctx context.Context, d Deps, subnets []string) (network, error) {
	var n network
	if len(subnets) == 0 {
		vpcs, err := d.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
		if err != nil {
			return n, fmt.Errorf("find the default VPC: %w", err)
		}
		if len(vpcs.Vpcs) == 0 {
			return n, fmt.Errorf("no default VPC in %s: pass --subnets with the subnets the cluster's tasks and instances should use", d.Region)
		}
		n.vpcID = aws.ToString(vpcs.Vpcs[0].VpcId)
		out, err := d.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{n.vpcID}}, {Name: aws.String("default-for-az"), Values: []string{"true"}}}})
		if err != nil {
			return n, fmt.Errorf("find the default subnets of %s: %w", n.vpcID, err)
		}
		if len(out.Subnets) == 0 {
			return n, fmt.Errorf("the default VPC %s has no default subnets: pass --subnets", n.vpcID)
		}
		for _, s := range out.Subnets {
			n.subnets = append(n.subnets, aws.ToString(s.SubnetId))
			n.zones = append(n.zones, aws.ToString(s.AvailabilityZone))
		}
		return n, nil
	}
	out, err := d.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets})
	if err != nil {
		if strings.HasPrefix(awsx.ErrorCode(err), "InvalidSubnetID") {
			return n, fmt.Errorf("--subnets: %s", apiMessage(err))
		}
		return n, fmt.Errorf("look up --subnets: %w", err)
	}
	vpcs := map[string]bool{}
	for _, s := range out.Subnets {
		vpcs[aws.ToString(s.VpcId)] = true
		n.vpcID = aws.ToString(s.VpcId)
		n.subnets = append(n.subnets, aws.ToString(s.SubnetId))
		n.zones = append(n.zones, aws.ToString(s.AvailabilityZone))
	}
	if len(vpcs) > 1 {
		return n, fmt.Errorf("--subnets are in %d different VPCs: a cluster's subnets must share one VPC", len(vpcs))
	}
	return n, nil
}

// apiMessage is an AWS error's message, or the error text.
func apiMessage(err error) string {
	type msg interface{ ErrorMessage() string }
	var m msg
	if errors.As(err, &m) && m.ErrorMessage() != "" {
		return m.ErrorMessage()
	}
	return err.Error()
}

// checkInstanceTypes confirms the types exist in the region, support spot
// when asked, and are offered in at least one of the subnets' zones.
func checkInstanceTypes(ctx context.Context, d Deps, types []string, spot bool, zones []string) error {
	var req []ec2types.InstanceType
	for _, t := range types {
		req = append(req, ec2types.InstanceType(t))
	}
	out, err := d.EC2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: req})
	if err != nil {
		if awsx.ErrorCode(err) == "InvalidInstanceType" {
			return fmt.Errorf("--instance-types: %s in %s", apiMessage(err), d.Region)
		}
		return fmt.Errorf("describe instance types: %w", err)
	}
	for _, it := range out.InstanceTypes {
		if !spot {
			continue
		}
		ok := false
		for _, u := range it.SupportedUsageClasses {
			ok = ok || u == ec2types.UsageClassTypeSpot
		}
		if !ok {
			return fmt.Errorf("--instance-types: %s cannot run as spot instances", it.InstanceType)
		}
	}
	offered := map[string]bool{}
	in := &ec2.DescribeInstanceTypeOfferingsInput{LocationType: ec2types.LocationTypeAvailabilityZone,
		Filters: []ec2types.Filter{{Name: aws.String("instance-type"), Values: types}, {Name: aws.String("location"), Values: zones}}}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(d.EC2, in)
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe instance type offerings: %w", err)
		}
		for _, o := range pg.InstanceTypeOfferings {
			offered[string(o.InstanceType)] = true
		}
	}
	var missing []string
	for _, t := range types {
		if !offered[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("--instance-types: %s not offered in the subnets' zones (%s)", strings.Join(missing, ", "), strings.Join(zones, ", "))
	}
	return nil
}

// latestAMI reads the ECS-optimized AL2023 AMI id for arch from SSM.
func latestAMI(ctx context.Context, d Deps, arch string) (string, error) {
	name := AMIParameterX86
	if arch == "arm64" {
		name = AMIParameterARM64
	}
	out, err := d.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("read the ECS-optimized AMI from SSM parameter %s: %w", name, err)
	}
	id := aws.ToString(out.Parameter.Value)
	if !strings.HasPrefix(id, "ami-") {
		return "", fmt.Errorf("SSM parameter %s holds %q, not an AMI id", name, id)
	}
	return id, nil
}

// UserData is the instance user data: join the cluster, with spot
// instance draining on (Amazon ECS Developer Guide, "Spot Instance
// draining").
func UserData(cluster string) string {
	return "#!/bin/bash\ncat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER=" + cluster + "\nECS_ENABLE_SPOT_INSTANCE_DRAINING=true\nEOF\n"
}

// defaultStrategy is the cluster's default capacity provider strategy.
func defaultStrategy(o ClusterOptions) []StrategyItem {
	switch {
	case o.Fargate && o.Spot:
		return []StrategyItem{{"FARGATE", o.OnDemandBase, 0}, {"FARGATE_SPOT", 0, 1}}
	case o.Fargate:
		return []StrategyItem{{"FARGATE", o.OnDemandBase, 1}}
	case o.Spot:
		return []StrategyItem{{onDemandGroupName(o.Name), o.OnDemandBase, 0}, {spotGroupName(o.Name), 0, 1}}
	}
	return []StrategyItem{{onDemandGroupName(o.Name), o.OnDemandBase, 1}}
}

// strategyItems is a strategy in the ECS API's shape.
func strategyItems(s []StrategyItem) []ecstypes.CapacityProviderStrategyItem {
	out := make([]ecstypes.CapacityProviderStrategyItem, 0, len(s))
	for _, it := range s {
		out = append(out, ecstypes.CapacityProviderStrategyItem{CapacityProvider: aws.String(it.Provider), Base: it.Base, Weight: it.Weight})
	}
	return out
}

func strategyString(items []ecstypes.CapacityProviderStrategyItem) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%s(base %d, weight %d)", aws.ToString(it.CapacityProvider), it.Base, it.Weight))
	}
	return strings.Join(parts, ", ")
}

func ecsTags(m map[string]string) []ecstypes.Tag {
	var out []ecstypes.Tag
	for _, k := range sortedKeys(m) {
		out = append(out, ecstypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pool is one Auto Scaling group and its capacity provider.
type pool struct {
	name string // group and capacity provider
	spot bool
}

func pools(o ClusterOptions) []pool {
	if o.Fargate {
		return nil
	}
	ps := []pool{{name: onDemandGroupName(o.Name)}}
	if o.Spot {
		ps = append(ps, pool{name: spotGroupName(o.Name), spot: true})
	}
	return ps
}

// mixedPolicy is a pool's mixed instances policy: on-demand pools run
// on-demand only (types in the given priority), spot pools spot only,
// price-capacity-optimized.
func mixedPolicy(p pool, lt string, types []string) *astypes.MixedInstancesPolicy {
	var ov []astypes.LaunchTemplateOverrides
	for _, t := range types {
		ov = append(ov, astypes.LaunchTemplateOverrides{InstanceType: aws.String(t)})
	}
	d := &astypes.InstancesDistribution{OnDemandBaseCapacity: aws.Int32(0), OnDemandPercentageAboveBaseCapacity: aws.Int32(100), OnDemandAllocationStrategy: aws.String("prioritized")}
	if p.spot {
		d = &astypes.InstancesDistribution{OnDemandBaseCapacity: aws.Int32(0), OnDemandPercentageAboveBaseCapacity: aws.Int32(0), SpotAllocationStrategy: aws.String("price-capacity-optimized")}
	}
	return &astypes.MixedInstancesPolicy{
		LaunchTemplate:        &astypes.LaunchTemplate{LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(lt), Version: aws.String("$Default")}, Overrides: ov},
		InstancesDistribution: d,
	}
}

func distributionString(m *astypes.MixedInstancesPolicy) string {
	if m == nil || m.InstancesDistribution == nil {
		return ""
	}
	d := m.InstancesDistribution
	return fmt.Sprintf("on-demand base %d, on-demand above base %d%%, spot %s", aws.ToInt32(d.OnDemandBaseCapacity), aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity), aws.ToString(d.SpotAllocationStrategy))
}

func overrideTypes(m *astypes.MixedInstancesPolicy) []string {
	var out []string
	if m != nil && m.LaunchTemplate != nil {
		for _, o := range m.LaunchTemplate.Overrides {
			out = append(out, aws.ToString(o.InstanceType))
		}
	}
	return out
}

func hasTag(tags []ec2types.Tag, key, value string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == key && aws.ToString(t.Value) == value {
			return true
		}
	}
	return false
}

// CreateCluster plans, diffs and applies a cluster. A re-run with the same
// options writes nothing; a changed option updates only what differs.
func CreateCluster(ctx context.Context, d Deps, o ClusterOptions) (ClusterResult, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return ClusterResult{}, err
	}
	res := ClusterResult{Cluster: o.Name, Mode: ModeEC2, Spot: o.Spot, Region: d.Region, DryRun: o.DryRun, InstanceTypes: o.InstanceTypes}
	if err := d.requireClusterClients(o.Fargate); err != nil {
		return res, err
	}
	if o.Fargate {
		res.Mode = ModeFargate
	}
	account, err := d.account(ctx)
	if err != nil {
		return res, err
	}
	net, err := resolveNetwork(ctx, d, o.Subnets)
	if err != nil {
		return res, err
	}
	res.VpcID, res.Subnets = net.vpcID, net.subnets
	ec2Mode := !o.Fargate
	if ec2Mode {
		if err := checkInstanceTypes(ctx, d, o.InstanceTypes, o.Spot, net.zones); err != nil {
			return res, err
		}
		if res.ImageID, err = latestAMI(ctx, d, archOf(o.InstanceTypes[0])); err != nil {
			return res, err
		}
	}
	strategy := defaultStrategy(o)
	res.DefaultStrategy = strategy
	for _, it := range strategy {
		res.CapacityProviders = append(res.CapacityProviders, it.Provider)
	}
	if o.Fargate && !o.Spot {
		res.CapacityProviders = []string{"FARGATE", "FARGATE_SPOT"}
	}
	arn := func(resource string) string {
		return fmt.Sprintf("arn:%s:ecs:%s:%s:%s", d.partition(), d.Region, account, resource)
	}
	b := &clusterBuilder{d: d, o: o, net: net, res: &res, account: account, arn: arn}
	steps, err := b.plan(ctx)
	if err != nil {
		return res, err
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: o.DryRun, OnChange: d.OnChange, Log: d.log()})
	res.Changes, res.Counts = changes, plan.Count(changes)
	if b.sgID != "" {
		res.SecurityGroup = b.sgID
	}
	if err != nil {
		if plan.Partial(changes) {
			return res, opserr.Partialf("create cluster %s: %v (re-run to finish)", o.Name, err)
		}
		return res, fmt.Errorf("create cluster %s: %w", o.Name, err)
	}
	return res, nil
}

// clusterBuilder holds what the plan's steps share: values found while
// planning and ids learnt while applying (a later step's write reads them).
type clusterBuilder struct {
	d       Deps
	o       ClusterOptions
	net     network
	res     *ClusterResult
	account string
	arn     func(string) string

	sgID       string // the tasks' security group (known, or set by its create)
	profileArn string
	groupArns  map[string]string
}

const sgPlaceholder = "(security group to be created)"

func (b *clusterBuilder) tags() map[string]string { return map[string]string{TagCluster: b.o.Name} }

func (b *clusterBuilder) plan(ctx context.Context) ([]plan.Step, error) {
	var steps []plan.Step
	add := func(s []plan.Step, err error) error {
		steps = append(steps, s...)
		return err
	}
	if err := add(b.securityGroup(ctx)); err != nil {
		return nil, err
	}
	if err := add(b.cluster(ctx)); err != nil {
		return nil, err
	}
	if !b.o.Fargate {
		b.res.LaunchTemplate = launchTemplateName(b.o.Name)
		b.res.InstanceRole = instanceRoleName(b.o.Name)
		b.res.InstanceProfile = instanceProfileName(b.o.Name)
		if err := add(b.instanceRole(ctx)); err != nil {
			return nil, err
		}
		if err := add(b.launchTemplate(ctx)); err != nil {
			return nil, err
		}
		b.groupArns = map[string]string{}
		for _, p := range pools(b.o) {
			b.res.AutoScalingGroups = append(b.res.AutoScalingGroups, p.name)
			if err := add(b.group(ctx, p)); err != nil {
				return nil, err
			}
			if err := add(b.capacityProvider(ctx, p)); err != nil {
				return nil, err
			}
		}
	}
	if err := add(b.clusterProviders(ctx)); err != nil {
		return nil, err
	}
	// Capacity this run no longer asks for (--spot dropped, or a switch to
	// Fargate): once the cluster no longer uses it, delete what opsctl made.
	var stale []string
	if b.o.Fargate {
		stale = []string{onDemandGroupName(b.o.Name), spotGroupName(b.o.Name)}
	} else if !b.o.Spot {
		stale = []string{spotGroupName(b.o.Name)}
	}
	for _, g := range stale {
		if err := add(providerDeleteStep(ctx, b.d, b.o.Name, g)); err != nil {
			return nil, err
		}
	}
	for _, g := range stale {
		if err := add(groupDeleteStep(ctx, b.d, b.o.Name, g)); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// securityGroup: opsctl-NAME-tasks in the cluster's VPC, with a rule that
// lets the cluster's tasks (and instances) reach each other.
func (b *clusterBuilder) securityGroup(ctx context.Context) ([]plan.Step, error) {
	name := securityGroupName(b.o.Name)
	out, err := b.d.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{b.net.vpcID}}, {Name: aws.String("group-name"), Values: []string{name}}}})
	if err != nil {
		return nil, fmt.Errorf("look up security group %s: %w", name, err)
	}
	selfRule := func(id string) []ec2types.IpPermission {
		return []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(id), Description: aws.String("tasks and instances of cluster " + b.o.Name)}}}}
	}
	authorize := func(ctx context.Context) error {
		_, err := b.d.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(b.sgID), IpPermissions: selfRule(b.sgID)})
		if awsx.ErrorCode(err) == "InvalidPermission.Duplicate" {
			return nil
		}
		return err
	}
	if len(out.SecurityGroups) == 0 {
		b.res.SecurityGroup = sgPlaceholder
		return []plan.Step{plan.Create("security-group", name, func(ctx context.Context) error {
			cr, err := b.d.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), VpcId: aws.String(b.net.vpcID),
				Description: aws.String("Tasks and instances of ECS cluster " + b.o.Name + " (opsctl)"),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
					Tags: []ec2types.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Name)}}}}})
			if err != nil {
				return err
			}
			b.sgID = aws.ToString(cr.GroupId)
			return authorize(ctx)
		})}, nil
	}
	g := out.SecurityGroups[0]
	b.sgID = aws.ToString(g.GroupId)
	b.res.SecurityGroup = b.sgID
	if !hasTag(g.Tags, TagCluster, b.o.Name) {
		return nil, fmt.Errorf("security group %s (%s) exists but was not created by opsctl for cluster %s (no tag %s=%s): rename or remove it", name, b.sgID, b.o.Name, TagCluster, b.o.Name)
	}
	for _, p := range g.IpPermissions {
		for _, pair := range p.UserIdGroupPairs {
			if aws.ToString(p.IpProtocol) == "-1" && aws.ToString(pair.GroupId) == b.sgID {
				return []plan.Step{plan.Unchanged("security-group", name)}, nil
			}
		}
	}
	return []plan.Step{plan.Update("security-group", name, []plan.FieldDiff{{Field: "ingress", Old: "(none)", New: "all traffic from " + name}}, authorize)}, nil
}

// cluster: the ECS cluster with opsctl's tags.
func (b *clusterBuilder) cluster(ctx context.Context) ([]plan.Step, error) {
	out, err := b.d.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{b.o.Name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	if err != nil {
		return nil, fmt.Errorf("describe cluster %s: %w", b.o.Name, err)
	}
	mode := ModeEC2
	if b.o.Fargate {
		mode = ModeFargate
	}
	desired := func() map[string]string {
		return map[string]string{TagCluster: b.o.Name, TagSubnets: strings.Join(b.net.subnets, " "), TagSecurityGroup: b.sgID, TagMode: mode}
	}
	var live *ecstypes.Cluster
	for i, c := range out.Clusters {
		if aws.ToString(c.Status) != "INACTIVE" {
			live = &out.Clusters[i]
		}
	}
	if live == nil {
		return []plan.Step{plan.Create("ecs-cluster", b.o.Name, func(ctx context.Context) error {
			_, err := b.d.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(b.o.Name), Tags: ecsTags(desired())})
			return err
		})}, nil
	}
	have := map[string]string{}
	for _, t := range live.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if have[TagCluster] != b.o.Name {
		return nil, fmt.Errorf("ECS cluster %s exists but was not created by opsctl (no tag %s=%s): opsctl will not take it over", b.o.Name, TagCluster, b.o.Name)
	}
	var diff plan.Differ
	want := desired()
	if b.sgID == "" {
		want[TagSecurityGroup] = sgPlaceholder
	}
	for _, k := range sortedKeys(want) {
		diff.Str("tag "+k, have[k], want[k])
	}
	if len(diff) == 0 {
		return []plan.Step{plan.Unchanged("ecs-cluster", b.o.Name)}, nil
	}
	clusterArn := aws.ToString(live.ClusterArn)
	return []plan.Step{plan.Update("ecs-cluster", b.o.Name, diff, func(ctx context.Context) error {
		_, err := b.d.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(clusterArn), Tags: ecsTags(desired())})
		return err
	})}, nil
}

// InstanceTrustPolicy lets EC2 instances assume the role. No confused-deputy
// condition applies: EC2 assumes an instance profile's role for the instance
// itself, on no other principal's behalf.
func InstanceTrustPolicy() string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
}

// InstancePermissions are the ECS agent's permissions (those of the AWS
// managed AmazonEC2ContainerServiceforEC2Role that the agent needs), limited
// to this cluster and its container instances by the resource types the
// Service Authorization Reference lists for each action. Image pulls and logs use each task's
// execution role, so the instance role has no ECR or CloudWatch Logs access.
func InstancePermissions(partition, region, account, cluster string) string {
	clusterArn := fmt.Sprintf("arn:%s:ecs:%s:%s:cluster/%s", partition, region, account, cluster)
	instances := fmt.Sprintf("arn:%s:ecs:%s:%s:container-instance/%s/*", partition, region, account, cluster)
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"JoinThisCluster","Effect":"Allow","Action":["ecs:RegisterContainerInstance","ecs:DeregisterContainerInstance","ecs:SubmitContainerStateChange","ecs:SubmitTaskStateChange","ecs:SubmitAttachmentStateChanges"],"Resource":"` + clusterArn + `"},` +
		`{"Sid":"AgentOfThisClustersInstances","Effect":"Allow","Action":["ecs:Poll","ecs:StartTelemetrySession","ecs:UpdateContainerInstancesState"],"Resource":"` + instances + `"},` +
		`{"Sid":"TagInstancesOnRegister","Effect":"Allow","Action":"ecs:TagResource","Resource":"` + instances + `","Condition":{"StringEquals":{"ecs:CreateAction":"RegisterContainerInstance"}}},` +
		`{"Sid":"FindTheAgentEndpoint","Effect":"Allow","Action":"ecs:DiscoverPollEndpoint","Resource":"*"}]}`
}

// instanceRole: the role, its inline policy, the instance profile holding it.
func (b *clusterBuilder) instanceRole(ctx context.Context) ([]plan.Step, error) {
	name := instanceRoleName(b.o.Name)
	trust := InstanceTrustPolicy()
	perms := InstancePermissions(b.d.partition(), b.d.Region, b.account, b.o.Name)
	b.res.Policies.InstanceTrust, b.res.Policies.InstancePermissions = trust, perms
	var steps []plan.Step
	role, err := b.d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case awsx.ErrorCode(err) == "NoSuchEntity":
		steps = append(steps, plan.Create("iam-role", name, func(ctx context.Context) error {
			_, err := b.d.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
				Description: aws.String("ECS container instances of cluster " + b.o.Name + " (opsctl)"),
				Tags:        []iamtypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Name)}}})
			return err
		}).WithDocument(trust))
		steps = append(steps, plan.Create("iam-role-policy", name+"/"+instancePolicyName(), b.putPolicy(name, perms)).WithDocument(perms))
	case err != nil:
		return nil, fmt.Errorf("get role %s: %w", name, err)
	default:
		if !iamTagged(role.Role.Tags, b.o.Name) {
			return nil, fmt.Errorf("IAM role %s exists but was not created by opsctl for cluster %s (no tag %s=%s)", name, b.o.Name, TagCluster, b.o.Name)
		}
		var diff plan.Differ
		diff.JSON("trust policy", decodePolicy(aws.ToString(role.Role.AssumeRolePolicyDocument)), trust)
		if len(diff) > 0 {
			steps = append(steps, plan.Update("iam-role", name, diff, func(ctx context.Context) error {
				_, err := b.d.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust)})
				return err
			}).WithDocument(trust))
		} else {
			steps = append(steps, plan.Unchanged("iam-role", name))
		}
		pol, err := b.d.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(instancePolicyName())})
		switch {
		case awsx.ErrorCode(err) == "NoSuchEntity":
			steps = append(steps, plan.Create("iam-role-policy", name+"/"+instancePolicyName(), b.putPolicy(name, perms)).WithDocument(perms))
		case err != nil:
			return nil, fmt.Errorf("get policy %s of role %s: %w", instancePolicyName(), name, err)
		default:
			var pd plan.Differ
			pd.JSON("document", decodePolicy(aws.ToString(pol.PolicyDocument)), perms)
			if len(pd) > 0 {
				steps = append(steps, plan.Update("iam-role-policy", name+"/"+instancePolicyName(), pd, b.putPolicy(name, perms)).WithDocument(perms))
			} else {
				steps = append(steps, plan.Unchanged("iam-role-policy", name+"/"+instancePolicyName()))
			}
		}
	}
	profile := instanceProfileName(b.o.Name)
	prof, err := b.d.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(profile)})
	addRole := func(ctx context.Context) error {
		_, err := b.d.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(profile), RoleName: aws.String(name)})
		return err
	}
	switch {
	case awsx.ErrorCode(err) == "NoSuchEntity":
		steps = append(steps, plan.Create("iam-instance-profile", profile, func(ctx context.Context) error {
			out, err := b.d.IAM.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(profile),
				Tags: []iamtypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Name)}}})
			if err != nil {
				return err
			}
			b.profileArn = aws.ToString(out.InstanceProfile.Arn)
			return addRole(ctx)
		}))
	case err != nil:
		return nil, fmt.Errorf("get instance profile %s: %w", profile, err)
	default:
		b.profileArn = aws.ToString(prof.InstanceProfile.Arn)
		var roles []string
		for _, r := range prof.InstanceProfile.Roles {
			roles = append(roles, aws.ToString(r.RoleName))
		}
		switch {
		case len(roles) == 0:
			steps = append(steps, plan.Update("iam-instance-profile", profile, []plan.FieldDiff{{Field: "role", Old: "(none)", New: name}}, addRole))
		case roles[0] != name:
			return nil, fmt.Errorf("instance profile %s holds role %s, not %s: remove it or the role first", profile, roles[0], name)
		default:
			steps = append(steps, plan.Unchanged("iam-instance-profile", profile))
		}
	}
	return steps, nil
}

func (b *clusterBuilder) putPolicy(role, doc string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := b.d.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(instancePolicyName()), PolicyDocument: aws.String(doc)})
		return err
	}
}

func iamTagged(tags []iamtypes.Tag, cluster string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagCluster && aws.ToString(t.Value) == cluster {
			return true
		}
	}
	return false
}

// decodePolicy undoes IAM's URL encoding of returned policy documents.
func decodePolicy(doc string) string {
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if s, err := url.PathUnescape(doc); err == nil {
			return s
		}
	}
	return doc
}

// launchTemplate: opsctl-NAME with the AMI, user data, instance profile,
// security group and IMDSv2. A changed field is a new version made default.
func (b *clusterBuilder) launchTemplate(ctx context.Context) ([]plan.Step, error) {
	name := launchTemplateName(b.o.Name)
	ud := UserData(b.o.Name)
	b.res.Policies.UserData = ud
	data := func() *ec2types.RequestLaunchTemplateData {
		return &ec2types.RequestLaunchTemplateData{
			ImageId:            aws.String(b.res.ImageID),
			UserData:           aws.String(base64.StdEncoding.EncodeToString([]byte(ud))),
			IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String(instanceProfileName(b.o.Name))},
			SecurityGroupIds:   []string{b.sgID},
			// IMDSv2 only; hop limit 2 so the ECS agent's containers reach it.
			MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: ec2types.LaunchTemplateHttpTokensStateRequired,
				HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: ec2types.LaunchTemplateInstanceMetadataEndpointStateEnabled},
			TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{{ResourceType: ec2types.ResourceTypeInstance,
				Tags: []ec2types.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Name)}, {Key: aws.String("Name"), Value: aws.String("ecs-" + b.o.Name)}}}},
		}
	}
	out, err := b.d.EC2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if awsx.ErrorCode(err) == "InvalidLaunchTemplateName.NotFoundException" || err == nil && len(out.LaunchTemplates) == 0 {
		return []plan.Step{plan.Create("launch-template", name, func(ctx context.Context) error {
			_, err := b.d.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name), LaunchTemplateData: data(),
				VersionDescription: aws.String("opsctl deploy cluster create " + b.o.Name),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate,
					Tags: []ec2types.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Name)}}}}})
			return err
		}).WithDocument(ud)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe launch template %s: %w", name, err)
	}
	lt := out.LaunchTemplates[0]
	if !hasTag(lt.Tags, TagCluster, b.o.Name) {
		return nil, fmt.Errorf("launch template %s exists but was not created by opsctl for cluster %s", name, b.o.Name)
	}
	vs, err := b.d.EC2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: lt.LaunchTemplateId, Versions: []string{"$Default"}})
	if err != nil {
		return nil, fmt.Errorf("describe launch template %s: %w", name, err)
	}
	var diff plan.Differ
	if len(vs.LaunchTemplateVersions) == 0 || vs.LaunchTemplateVersions[0].LaunchTemplateData == nil {
		diff = append(diff, plan.FieldDiff{Field: "version", Old: "(none)", New: "new"})
	} else {
		live := vs.LaunchTemplateVersions[0].LaunchTemplateData
		liveUD, _ := base64.StdEncoding.DecodeString(aws.ToString(live.UserData))
		diff.Str("image", aws.ToString(live.ImageId), b.res.ImageID)
		diff.Str("user data", string(liveUD), ud)
		prof := ""
		if live.IamInstanceProfile != nil {
			prof = aws.ToString(live.IamInstanceProfile.Name)
		}
		diff.Str("instance profile", prof, instanceProfileName(b.o.Name))
		wantSG := b.sgID
		if wantSG == "" {
			wantSG = sgPlaceholder
		}
		diff.Set("security groups", live.SecurityGroupIds, []string{wantSG})
		tokens := ""
		if live.MetadataOptions != nil {
			tokens = string(live.MetadataOptions.HttpTokens)
		}
		diff.Str("IMDS tokens", tokens, "required")
	}
	if len(diff) == 0 {
		return []plan.Step{plan.Unchanged("launch-template", name)}, nil
	}
	ltID := aws.ToString(lt.LaunchTemplateId)
	return []plan.Step{plan.Update("launch-template", name, diff, func(ctx context.Context) error {
		v, err := b.d.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(ltID), LaunchTemplateData: data(),
			VersionDescription: aws.String("opsctl deploy cluster create " + b.o.Name)})
		if err != nil {
			return err
		}
		n := strconv.FormatInt(aws.ToInt64(v.LaunchTemplateVersion.VersionNumber), 10)
		_, err = b.d.EC2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(ltID), DefaultVersion: aws.String(n)})
		return err
	}).WithDocument(ud)}, nil
}

// group: a pool's Auto Scaling group.
func (b *clusterBuilder) group(ctx context.Context, p pool) ([]plan.Step, error) {
	out, err := b.d.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.name}})
	if err != nil {
		return nil, fmt.Errorf("describe Auto Scaling group %s: %w", p.name, err)
	}
	mip := mixedPolicy(p, launchTemplateName(b.o.Name), b.o.InstanceTypes)
	subnets := strings.Join(b.net.subnets, ",")
	if len(out.AutoScalingGroups) == 0 {
		return []plan.Step{plan.Create("autoscaling-group", p.name, func(ctx context.Context) error {
			_, err := b.d.AutoScaling.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(p.name), MinSize: aws.Int32(b.o.Min), MaxSize: aws.Int32(b.o.Max),
				VPCZoneIdentifier: aws.String(subnets), MixedInstancesPolicy: mip,
				// Managed termination protection needs scale-in protection.
				NewInstancesProtectedFromScaleIn: aws.Bool(true),
				CapacityRebalance:                aws.Bool(p.spot),
				Tags: []astypes.Tag{{Key: aws.String(TagCluster), Value: aws.String(b.o.Name), PropagateAtLaunch: aws.Bool(true)},
					{Key: aws.String("AmazonECSManaged"), Value: aws.String(""), PropagateAtLaunch: aws.Bool(true)}},
			})
			return err
		})}, nil
	}
	g := out.AutoScalingGroups[0]
	if aws.ToString(g.Status) != "" {
		return nil, fmt.Errorf("Auto Scaling group %s is being deleted (%s): wait for it to go, then re-run", p.name, aws.ToString(g.Status))
	}
	tagged := false
	for _, t := range g.Tags {
		tagged = tagged || aws.ToString(t.Key) == TagCluster && aws.ToString(t.Value) == b.o.Name
	}
	if !tagged {
		return nil, fmt.Errorf("Auto Scaling group %s exists but was not created by opsctl for cluster %s", p.name, b.o.Name)
	}
	b.groupArns[p.name] = aws.ToString(g.AutoScalingGroupARN)
	var diff plan.Differ
	diff.Int("min", int64(aws.ToInt32(g.MinSize)), int64(b.o.Min))
	diff.Int("max", int64(aws.ToInt32(g.MaxSize)), int64(b.o.Max))
	diff.Set("subnets", strings.Split(aws.ToString(g.VPCZoneIdentifier), ","), b.net.subnets)
	diff.Str("instance types", strings.Join(overrideTypes(g.MixedInstancesPolicy), ","), strings.Join(b.o.InstanceTypes, ","))
	diff.Str("distribution", distributionString(g.MixedInstancesPolicy), distributionString(mip))
	diff.Bool("scale-in protection", aws.ToBool(g.NewInstancesProtectedFromScaleIn), true)
	diff.Bool("capacity rebalance", aws.ToBool(g.CapacityRebalance), p.spot)
	if len(diff) == 0 {
		return []plan.Step{plan.Unchanged("autoscaling-group", p.name)}, nil
	}
	return []plan.Step{plan.Update("autoscaling-group", p.name, diff, func(ctx context.Context) error {
		_, err := b.d.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(p.name), MinSize: aws.Int32(b.o.Min), MaxSize: aws.Int32(b.o.Max),
			VPCZoneIdentifier: aws.String(subnets), MixedInstancesPolicy: mip,
			NewInstancesProtectedFromScaleIn: aws.Bool(true), CapacityRebalance: aws.Bool(p.spot),
		})
		return err
	})}, nil
}

// groupArn returns a pool's group ARN, looking it up after its create.
func (b *clusterBuilder) groupArn(ctx context.Context, name string) (string, error) {
	if a := b.groupArns[name]; a != "" {
		return a, nil
	}
	out, err := b.d.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return "", err
	}
	if len(out.AutoScalingGroups) == 0 {
		return "", fmt.Errorf("Auto Scaling group %s not found after its creation", name)
	}
	b.groupArns[name] = aws.ToString(out.AutoScalingGroups[0].AutoScalingGroupARN)
	return b.groupArns[name], nil
}

// Managed scaling of opsctl's capacity providers: ECS keeps the group at
// 100% of what the tasks need.
func managedScaling() *ecstypes.ManagedScaling {
	return &ecstypes.ManagedScaling{Status: ecstypes.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(100),
		MinimumScalingStepSize: aws.Int32(1), MaximumScalingStepSize: aws.Int32(10), InstanceWarmupPeriod: aws.Int32(300)}
}

// capacityProvider: a pool's capacity provider with managed scaling,
// termination protection and draining.
func (b *clusterBuilder) capacityProvider(ctx context.Context, p pool) ([]plan.Step, error) {
	out, err := b.d.ECS.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{p.name}, Include: []ecstypes.CapacityProviderField{ecstypes.CapacityProviderFieldTags}})
	if err != nil {
		return nil, fmt.Errorf("describe capacity provider %s: %w", p.name, err)
	}
	var live *ecstypes.CapacityProvider
	for i, cp := range out.CapacityProviders {
		if cp.Status == ecstypes.CapacityProviderStatusActive {
			live = &out.CapacityProviders[i]
		}
	}
	if live == nil {
		return []plan.Step{plan.Create("capacity-provider", p.name, func(ctx context.Context) error {
			arn, err := b.groupArn(ctx, p.name)
			if err != nil {
				return err
			}
			_, err = b.d.ECS.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String(p.name),
				AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(arn), ManagedScaling: managedScaling(),
					ManagedTerminationProtection: ecstypes.ManagedTerminationProtectionEnabled, ManagedDraining: ecstypes.ManagedDrainingEnabled},
				Tags: ecsTags(b.tags())})
			return err
		})}, nil
	}
	asg := live.AutoScalingGroupProvider
	if asg == nil {
		return nil, fmt.Errorf("capacity provider %s is not an Auto Scaling group provider", p.name)
	}
	var diff plan.Differ
	ms := asg.ManagedScaling
	if ms == nil {
		ms = &ecstypes.ManagedScaling{}
	}
	diff.Str("managed scaling", string(ms.Status), string(ecstypes.ManagedScalingStatusEnabled))
	diff.Int("target capacity", int64(aws.ToInt32(ms.TargetCapacity)), 100)
	diff.Str("managed termination protection", string(asg.ManagedTerminationProtection), string(ecstypes.ManagedTerminationProtectionEnabled))
	diff.Str("managed draining", string(asg.ManagedDraining), string(ecstypes.ManagedDrainingEnabled))
	if len(diff) == 0 {
		return []plan.Step{plan.Unchanged("capacity-provider", p.name)}, nil
	}
	return []plan.Step{plan.Update("capacity-provider", p.name, diff, func(ctx context.Context) error {
		_, err := b.d.ECS.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: aws.String(p.name),
			AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProviderUpdate{ManagedScaling: managedScaling(),
				ManagedTerminationProtection: ecstypes.ManagedTerminationProtectionEnabled, ManagedDraining: ecstypes.ManagedDrainingEnabled}})
		return err
	})}, nil
}

// clusterProviders: the cluster's capacity providers and default strategy.
func (b *clusterBuilder) clusterProviders(ctx context.Context) ([]plan.Step, error) {
	want := b.res.CapacityProviders
	strategy := strategyItems(b.res.DefaultStrategy)
	name := b.o.Name + " capacity providers"
	apply := func(ctx context.Context) error {
		_, err := b.d.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String(b.o.Name),
			CapacityProviders: want, DefaultCapacityProviderStrategy: strategy})
		return err
	}
	out, err := b.d.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{b.o.Name}})
	if err != nil {
		return nil, fmt.Errorf("describe cluster %s: %w", b.o.Name, err)
	}
	var live *ecstypes.Cluster
	for i, c := range out.Clusters {
		if aws.ToString(c.Status) != "INACTIVE" {
			live = &out.Clusters[i]
		}
	}
	if live == nil {
		return []plan.Step{plan.Create("cluster-capacity-providers", name, apply)}, nil
	}
	var diff plan.Differ
	diff.Set("providers", live.CapacityProviders, want)
	diff.Str("default strategy", strategyString(live.DefaultCapacityProviderStrategy), strategyString(strategy))
	if len(diff) == 0 {
		return []plan.Step{plan.Unchanged("cluster-capacity-providers", name)}, nil
	}
	return []plan.Step{plan.Update("cluster-capacity-providers", name, diff, apply)}, nil
}
