// Package autoscalingemu is opsctl's stateful in-process emulation of
// Amazon EC2 Auto Scaling (SigV4 name "autoscaling", awsQuery protocol,
// version 2011-01-01) for the local test endpoint: Auto Scaling groups with a
// launch template or a mixed instances policy (launch template overrides and
// an instances distribution: on-demand base and percentage, spot allocation
// strategy), scale-in protection, capacity rebalancing and tags; the
// instances a group runs and the scaling activities that launched or
// terminated them.
//
// Instances move with the endpoint's clock, computed when a group is read or
// changed: a launched instance is Pending for InstanceWarmup and then
// InService; a terminated one is Terminating for TerminateTime and then
// gone. A group deleted with ForceDelete reports Status "Delete in progress"
// until its instances are gone.
//
// Validation and errors follow botocore autoscaling service-2.json:
// AlreadyExists (AlreadyExistsFault), ResourceInUse (ResourceInUseFault),
// ScalingActivityInProgress, InvalidNextToken and ValidationError, with the
// messages Auto Scaling uses.
package autoscalingemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/localaws/ec2emu"
)

// Times an instance spends in its transitional states.
const (
	InstanceWarmup = 30 * time.Second
	TerminateTime  = 30 * time.Second
)

// EC2 is what Auto Scaling needs from the EC2 emulation.
type EC2 interface {
	LaunchTemplate(idOrName, version string) (id, name string, data ec2emu.LaunchTemplateData, ok bool)
	SubnetAZ(id string) (az, vpcID string, ok bool)
}

// Server is the Auto Scaling emulation. It is an http.Handler.
type Server struct {
	region, account string
	clock           clock.Clock
	ec2             EC2
	proto           *awsproto.QueryService

	mu         sync.Mutex
	seq        int
	groups     map[string]*group // by name
	activities []*activity       // oldest first
}

// LTSpec is a LaunchTemplateSpecification.
type LTSpec struct {
	LaunchTemplateID   string `query:"LaunchTemplateId" xml:"LaunchTemplateId,omitempty"`
	LaunchTemplateName string `xml:"LaunchTemplateName,omitempty"`
	Version            string `xml:"Version,omitempty"`
}

// Override is a LaunchTemplateOverrides item.
type Override struct {
	InstanceType     string `xml:"InstanceType,omitempty"`
	WeightedCapacity string `xml:"WeightedCapacity,omitempty"`
}

// Distribution is an InstancesDistribution.
type Distribution struct {
	OnDemandAllocationStrategy          string `xml:"OnDemandAllocationStrategy,omitempty"`
	OnDemandBaseCapacity                *int32 `xml:"OnDemandBaseCapacity,omitempty"`
	OnDemandPercentageAboveBaseCapacity *int32 `xml:"OnDemandPercentageAboveBaseCapacity,omitempty"`
	SpotAllocationStrategy              string `xml:"SpotAllocationStrategy,omitempty"`
	SpotInstancePools                   *int32 `xml:"SpotInstancePools,omitempty"`
	SpotMaxPrice                        *string
}

// MixedInstancesPolicy is a group's mixed instances policy.
type MixedInstancesPolicy struct {
	LaunchTemplate struct {
		LaunchTemplateSpecification LTSpec
		Overrides                   []Override `xml:"Overrides>member"`
	}
	InstancesDistribution Distribution
}

// Tag is a Tags.member.N item.
type Tag struct {
	ResourceID        string `query:"ResourceId"`
	ResourceType      string
	Key               string
	Value             string
	PropagateAtLaunch *bool
}

type group struct {
	name, arn          string
	created            time.Time
	min, max, desired  int32
	cooldown           int32
	lt                 *LTSpec
	mip                *MixedInstancesPolicy
	zones              []string
	subnets            string
	healthCheckType    string
	grace              int32
	protectNew         bool
	capacityRebalance  bool
	terminationPolices []string
	tags               []Tag
	instances          []*instance
	deleting           bool
	deletedAt          time.Time
}

type instance struct {
	id, itype, az string
	spot          bool
	protected     bool
	launched      time.Time
	terminating   bool
	terminatedAt  time.Time
	lt            LTSpec
	weighted      string
}

type activity struct {
	id, group, groupARN, description, cause string
	start                                   time.Time
	instanceID, az                          string
	terminate                               bool
}

// New returns an empty Auto Scaling. ec2 resolves launch templates and
// subnets; clk may be nil (real time).
func New(region, account string, clk clock.Clock, ec2 EC2) *Server {
	s := &Server{region: region, account: account, clock: clock.Or(clk), ec2: ec2, groups: map[string]*group{}}
	s.proto = &awsproto.QueryService{
		Version: "2011-01-01",
		XMLNS:   "http://autoscaling.amazonaws.com/doc/2011-01-01/",
		Ops: map[string]awsproto.Handler{
			"CreateAutoScalingGroup":    s.createGroup,
			"UpdateAutoScalingGroup":    s.updateGroup,
			"DescribeAutoScalingGroups": s.describeGroups,
			"DeleteAutoScalingGroup":    s.deleteGroup,
			"SetDesiredCapacity":        s.setDesiredCapacity,
			"DescribeScalingActivities": s.describeActivities,
		},
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.proto.ServeHTTP(w, r) }

func validation(format string, args ...any) error {
	return awsproto.Errf("ValidationError", format, args...)
}

// maxRecords is a Describe call's page size: MaxRecords when given (1 to
// 100, as Auto Scaling answers), else the operation's default.
func maxRecords(max *int32, def int) (int, error) {
	if max == nil {
		return def, nil
	}
	if *max < 1 || *max > 100 {
		return 0, validation("MaxRecords must be between 1 and 100.")
	}
	return int(*max), nil
}

func (s *Server) hash(prefix string) string {
	s.seq++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d", s.account, s.region, prefix, s.seq)))
	return hex.EncodeToString(h[:])
}

func (s *Server) uuid() string {
	h := s.hash("uuid")
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// groupInput is what Create and Update share.
type groupInput struct {
	AutoScalingGroupName             string `query:",required"`
	LaunchConfigurationName          string
	InstanceID                       string `query:"InstanceId"`
	LaunchTemplate                   *LTSpec
	MixedInstancesPolicy             *MixedInstancesPolicy
	MinSize                          *int32
	MaxSize                          *int32
	DesiredCapacity                  *int32
	DefaultCooldown                  *int32
	AvailabilityZones                []string
	HealthCheckType                  string
	HealthCheckGracePeriod           *int32
	VPCZoneIdentifier                *string
	TerminationPolicies              []string
	NewInstancesProtectedFromScaleIn *bool
	CapacityRebalance                *bool
	Tags                             []Tag
}

// Allowed values (API reference: InstancesDistribution).
var (
	spotStrategies     = []string{"lowest-price", "capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized"}
	onDemandStrategies = []string{"lowest-price", "prioritized"}
	healthCheckTypes   = []string{"EC2", "ELB", "VPC_LATTICE", "EBS"}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// checkLT resolves a launch template specification against EC2.
func (s *Server) checkLT(spec *LTSpec) error {
	if spec.LaunchTemplateID != "" && spec.LaunchTemplateName != "" {
		return validation("Valid requests must contain either launchTemplateId or LaunchTemplateName")
	}
	if spec.LaunchTemplateID == "" && spec.LaunchTemplateName == "" {
		return validation("Valid requests must contain either launchTemplateId or LaunchTemplateName")
	}
	version := spec.Version
	if version == "" {
		version = "$Default"
	}
	if s.ec2 == nil {
		return nil
	}
	key := spec.LaunchTemplateID
	if key == "" {
		key = spec.LaunchTemplateName
	}
	id, name, _, ok := s.ec2.LaunchTemplate(key, version)
	switch {
	case id == "" && spec.LaunchTemplateID != "":
		return validation("You must use a valid fully-formed launch template. The specified launch template, with template ID %s, does not exist.", spec.LaunchTemplateID)
	case id == "":
		return validation("You must use a valid fully-formed launch template. The specified launch template, with template name %s, does not exist.", spec.LaunchTemplateName)
	case !ok:
		return validation("You must use a valid fully-formed launch template. The specified launch template version %s does not exist for launch template %s.", version, id)
	}
	_ = name
	return nil
}

func (s *Server) checkMIP(p *MixedInstancesPolicy) error {
	if err := s.checkLT(&p.LaunchTemplate.LaunchTemplateSpecification); err != nil {
		return err
	}
	if n := len(p.LaunchTemplate.Overrides); n > 40 {
		return validation("1 validation error detected: Value at 'mixedInstancesPolicy.launchTemplate.overrides' failed to satisfy constraint: Member must have length less than or equal to 40")
	}
	seen := map[string]bool{}
	for _, o := range p.LaunchTemplate.Overrides {
		if o.InstanceType == "" {
			return validation("You must specify an instance type in each override.")
		}
		if !ec2emu.KnownInstanceType(o.InstanceType) {
			return validation("Invalid instance type: %s", o.InstanceType)
		}
		if seen[o.InstanceType] {
			return validation("Duplicate instance type %s in the overrides.", o.InstanceType)
		}
		seen[o.InstanceType] = true
		if o.WeightedCapacity != "" {
			if n, err := strconv.Atoi(o.WeightedCapacity); err != nil || n < 1 || n > 999 {
				return validation("The WeightedCapacity value %s must be an integer between 1 and 999.", o.WeightedCapacity)
			}
		}
	}
	d := p.InstancesDistribution
	if d.SpotAllocationStrategy != "" && !oneOf(d.SpotAllocationStrategy, spotStrategies) {
		return validation("Invalid value for SpotAllocationStrategy: %s. Valid values are %s.", d.SpotAllocationStrategy, strings.Join(spotStrategies, ", "))
	}
	if d.OnDemandAllocationStrategy != "" && !oneOf(d.OnDemandAllocationStrategy, onDemandStrategies) {
		return validation("Invalid value for OnDemandAllocationStrategy: %s. Valid values are %s.", d.OnDemandAllocationStrategy, strings.Join(onDemandStrategies, ", "))
	}
	if v := d.OnDemandPercentageAboveBaseCapacity; v != nil && (*v < 0 || *v > 100) {
		return validation("OnDemandPercentageAboveBaseCapacity must be between 0 and 100.")
	}
	if v := d.OnDemandBaseCapacity; v != nil && *v < 0 {
		return validation("OnDemandBaseCapacity must be a non-negative integer.")
	}
	if v := d.SpotInstancePools; v != nil {
		if *v < 1 || *v > 20 {
			return validation("SpotInstancePools must be between 1 and 20.")
		}
		if d.SpotAllocationStrategy != "" && d.SpotAllocationStrategy != "lowest-price" {
			return validation("SpotInstancePools is only supported with the lowest-price Spot allocation strategy.")
		}
	}
	return nil
}

// checkSubnets resolves VPCZoneIdentifier (comma-separated subnet ids) to
// its zones.
func (s *Server) checkSubnets(list string) ([]string, error) {
	var zones []string
	vpcs := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if s.ec2 == nil {
			continue
		}
		az, vpc, ok := s.ec2.SubnetAZ(id)
		if !ok {
			return nil, validation("The subnet ID '%s' does not exist", id)
		}
		vpcs[vpc] = true
		if !oneOf(az, zones) {
			zones = append(zones, az)
		}
	}
	if len(vpcs) > 1 {
		return nil, validation("The subnets in VPCZoneIdentifier must all be in the same VPC.")
	}
	sort.Strings(zones)
	return zones, nil
}

func checkTags(tags []Tag) error {
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 {
			return validation("1 validation error detected: Value '%s' at 'tags.key' failed to satisfy constraint: Member must have length between 1 and 128", t.Key)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return validation("Tag keys starting with 'aws:' are reserved for internal use")
		}
		if len(t.Value) > 256 {
			return validation("1 validation error detected: Value at 'tags.value' failed to satisfy constraint: Member must have length less than or equal to 256")
		}
	}
	if len(tags) > 50 {
		return validation("The number of tags cannot exceed 50.")
	}
	return nil
}

func (s *Server) createGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in groupInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.MinSize == nil {
		return nil, validation("1 validation error detected: Value null at 'minSize' failed to satisfy constraint: Member must not be null")
	}
	if in.MaxSize == nil {
		return nil, validation("1 validation error detected: Value null at 'maxSize' failed to satisfy constraint: Member must not be null")
	}
	if n := len(in.AutoScalingGroupName); n < 1 || n > 255 {
		return nil, validation("1 validation error detected: Value '%s' at 'autoScalingGroupName' failed to satisfy constraint: Member must have length less than or equal to 255", in.AutoScalingGroupName)
	}
	sources := 0
	for _, set := range []bool{in.LaunchTemplate != nil, in.MixedInstancesPolicy != nil, in.LaunchConfigurationName != "", in.InstanceID != ""} {
		if set {
			sources++
		}
	}
	if sources == 0 {
		return nil, validation("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	if sources > 1 {
		return nil, validation("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	if in.LaunchConfigurationName != "" {
		return nil, validation("Launch configuration name not found - Launch configuration %s not found", in.LaunchConfigurationName)
	}
	if in.InstanceID != "" {
		return nil, validation("Instance Id not found - No instance with id %s found.", in.InstanceID)
	}
	g := &group{name: in.AutoScalingGroupName, min: *in.MinSize, max: *in.MaxSize, cooldown: 300, healthCheckType: "EC2", terminationPolices: []string{"Default"}}
	g.desired = g.min
	if in.DesiredCapacity != nil {
		g.desired = *in.DesiredCapacity
	}
	if err := s.apply(g, &in, true); err != nil {
		return nil, err
	}
	for i := range in.Tags {
		in.Tags[i].ResourceID, in.Tags[i].ResourceType = g.name, "auto-scaling-group"
	}
	g.tags = in.Tags
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.reconcileAll(now)
	if _, ok := s.groups[g.name]; ok {
		return nil, awsproto.Errf("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", g.name)
	}
	if len(s.groups) >= 500 {
		return nil, awsproto.Errf("LimitExceeded", "You have reached your limit of 500 Auto Scaling groups.")
	}
	g.created = now
	g.arn = fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", s.region, s.account, s.uuid(), g.name)
	s.groups[g.name] = g
	s.scale(g, now, fmt.Sprintf("a user request created an AutoScalingGroup changing the desired capacity from 0 to %d", g.desired))
	return nil, nil
}

// apply validates in and copies it onto g (create: every member; update:
// the members in sets).
func (s *Server) apply(g *group, in *groupInput, create bool) error {
	if in.MinSize != nil {
		g.min = *in.MinSize
	}
	if in.MaxSize != nil {
		g.max = *in.MaxSize
	}
	if g.min < 0 || g.max < 0 {
		return validation("Min and max size must be non-negative.")
	}
	if g.max < g.min {
		return validation("Max bound, %d, must be greater than or equal to min bound, %d", g.max, g.min)
	}
	if in.DesiredCapacity != nil {
		g.desired = *in.DesiredCapacity
	} else if !create {
		// An update that moves the bounds past the desired capacity drags
		// it along.
		if g.desired < g.min {
			g.desired = g.min
		}
		if g.desired > g.max {
			g.desired = g.max
		}
	}
	if g.desired < g.min || g.desired > g.max {
		return validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", g.desired, g.min, g.max)
	}
	if in.LaunchTemplate != nil {
		if err := s.checkLT(in.LaunchTemplate); err != nil {
			return err
		}
		g.lt, g.mip = in.LaunchTemplate, nil
	}
	if in.MixedInstancesPolicy != nil {
		if err := s.checkMIP(in.MixedInstancesPolicy); err != nil {
			return err
		}
		g.mip, g.lt = in.MixedInstancesPolicy, nil
	}
	if in.DefaultCooldown != nil {
		g.cooldown = *in.DefaultCooldown
	}
	if in.HealthCheckType != "" {
		if !oneOf(in.HealthCheckType, healthCheckTypes) {
			return validation("Invalid health check type: %s. Valid values are EC2, ELB, VPC_LATTICE, EBS.", in.HealthCheckType)
		}
		g.healthCheckType = in.HealthCheckType
	}
	if in.HealthCheckGracePeriod != nil {
		g.grace = *in.HealthCheckGracePeriod
	}
	if in.VPCZoneIdentifier != nil {
		zones, err := s.checkSubnets(*in.VPCZoneIdentifier)
		if err != nil {
			return err
		}
		g.subnets, g.zones = *in.VPCZoneIdentifier, zones
	}
	if len(in.AvailabilityZones) > 0 && in.VPCZoneIdentifier == nil {
		g.zones = append([]string(nil), in.AvailabilityZones...)
	}
	if create && len(g.zones) == 0 {
		return validation("At least one Availability Zone or VPC Subnet is required.")
	}
	if len(in.TerminationPolicies) > 0 {
		g.terminationPolices = in.TerminationPolicies
	}
	if in.NewInstancesProtectedFromScaleIn != nil {
		g.protectNew = *in.NewInstancesProtectedFromScaleIn
	}
	if in.CapacityRebalance != nil {
		g.capacityRebalance = *in.CapacityRebalance
	}
	return checkTags(in.Tags)
}

func (s *Server) updateGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in groupInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		return nil, validation("Tags cannot be updated with UpdateAutoScalingGroup; use CreateOrUpdateTags.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.reconcileAll(now)
	g := s.groups[in.AutoScalingGroupName]
	if g == nil {
		return nil, validation("AutoScalingGroup name not found - null")
	}
	if g.deleting {
		return nil, awsproto.Errf("ScalingActivityInProgress", "AutoScalingGroup is pending delete.")
	}
	// Validate on a copy so a rejected update changes nothing.
	cp := *g
	from := g.desired
	if err := s.apply(&cp, &in, false); err != nil {
		return nil, err
	}
	*g = cp
	s.scale(g, now, fmt.Sprintf("a user request update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d", g.min, g.max, g.desired, from, g.desired))
	return nil, nil
}

func (s *Server) setDesiredCapacity(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		AutoScalingGroupName string `query:",required"`
		DesiredCapacity      int32  `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	return nil, s.SetDesired(in.AutoScalingGroupName, in.DesiredCapacity, "an externally initiated request")
}

// SetDesired changes a group's desired capacity (what ECS managed scaling
// does through the group's scaling policy). cause words the request, e.g.
// "a user request explicitly set group desired capacity".
func (s *Server) SetDesired(name string, desired int32, cause string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.reconcileAll(now)
	g := s.groups[name]
	if g == nil || g.deleting {
		return validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	if desired < g.min || desired > g.max {
		return validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", desired, g.min)
	}
	from := g.desired
	g.desired = desired
	s.scale(g, now, fmt.Sprintf("%s changing the desired capacity from %d to %d", cause, from, desired))
	return nil
}

func (s *Server) deleteGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		AutoScalingGroupName string `query:",required"`
		ForceDelete          bool
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.reconcileAll(now)
	g := s.groups[in.AutoScalingGroupName]
	if g == nil {
		return nil, validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", in.AutoScalingGroupName)
	}
	if g.deleting {
		return nil, awsproto.Errf("ScalingActivityInProgress", "An AutoScalingGroup deletion is already in progress.")
	}
	live := 0
	for _, i := range g.instances {
		if !i.terminating {
			live++
		}
	}
	if !in.ForceDelete {
		if live > 0 {
			return nil, awsproto.Errf("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.")
		}
		if len(g.instances) > 0 {
			return nil, awsproto.Errf("ScalingActivityInProgress", "You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.")
		}
		delete(s.groups, g.name)
		return nil, nil
	}
	g.deleting, g.deletedAt = true, now
	g.min, g.max, g.desired = 0, 0, 0
	for _, i := range g.instances {
		if !i.terminating {
			i.terminating, i.terminatedAt = true, now
			s.record(g, now, i, true, fmt.Sprintf("a user request deleted the AutoScalingGroup, shrinking the capacity from %d to 0", live))
		}
	}
	if len(g.instances) == 0 {
		delete(s.groups, g.name)
	}
	return nil, nil
}

// reconcileAll moves every group's instances to their state at now.
func (s *Server) reconcileAll(now time.Time) {
	for name, g := range s.groups {
		var keep []*instance
		for _, i := range g.instances {
			if i.terminating && !now.Before(i.terminatedAt.Add(TerminateTime)) {
				continue
			}
			keep = append(keep, i)
		}
		g.instances = keep
		if g.deleting && len(g.instances) == 0 {
			delete(s.groups, name)
		}
	}
}

// scale launches or terminates instances until the group runs its desired
// capacity (weighted), recording an activity for each.
func (s *Server) scale(g *group, now time.Time, cause string) {
	live := func() []*instance {
		var out []*instance
		for _, i := range g.instances {
			if !i.terminating {
				out = append(out, i)
			}
		}
		return out
	}
	capacity := func() int32 {
		var c int32
		for _, i := range live() {
			c += weight(i.weighted)
		}
		return c
	}
	start := capacity()
	for capacity() < g.desired {
		i := s.launch(g, now, len(live()))
		g.instances = append(g.instances, i)
		s.record(g, now, i, false, fmt.Sprintf("%s.  At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d", cause, now.Format(time.RFC3339), start, g.desired))
	}
	for capacity() > g.desired {
		// Newest unprotected instance first (the Default termination
		// policy, simplified).
		l := live()
		var victim *instance
		for j := len(l) - 1; j >= 0; j-- {
			if !l[j].protected {
				victim = l[j]
				break
			}
		}
		if victim == nil {
			return // scale-in protection keeps the rest
		}
		victim.terminating, victim.terminatedAt = true, now
		s.record(g, now, victim, true, fmt.Sprintf("%s.  At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d", cause, now.Format(time.RFC3339), start, g.desired))
	}
}

func weight(w string) int32 {
	if n, err := strconv.Atoi(w); err == nil && n > 0 {
		return int32(n)
	}
	return 1
}

// launch picks the market, type and zone of the n-th instance: the first
// OnDemandBaseCapacity on demand, then OnDemandPercentageAboveBaseCapacity
// percent of the rest; spot types rotate over the overrides, on-demand ones
// take the first (prioritized / lowest price in the list's order).
func (s *Server) launch(g *group, now time.Time, n int) *instance {
	i := &instance{id: "i-" + s.hash("i")[:17], launched: now, protected: g.protectNew}
	if len(g.zones) > 0 {
		i.az = g.zones[n%len(g.zones)]
	}
	if g.lt != nil {
		i.lt = *g.lt
		i.itype = s.ltType(*g.lt)
		return i
	}
	m := g.mip
	i.lt = m.LaunchTemplate.LaunchTemplateSpecification
	base, pct := int32(0), int32(100)
	if v := m.InstancesDistribution.OnDemandBaseCapacity; v != nil {
		base = *v
	}
	if v := m.InstancesDistribution.OnDemandPercentageAboveBaseCapacity; v != nil {
		pct = *v
	}
	onDemand := int32(n) < base
	if !onDemand {
		above := int32(n) - base // instances above base so far
		onDemand = (above+1)*pct/100 > above*pct/100
	}
	i.spot = !onDemand
	ov := m.LaunchTemplate.Overrides
	switch {
	case len(ov) == 0:
		i.itype = s.ltType(i.lt)
	case onDemand:
		i.itype, i.weighted = ov[0].InstanceType, ov[0].WeightedCapacity
	default:
		o := ov[n%len(ov)]
		i.itype, i.weighted = o.InstanceType, o.WeightedCapacity
	}
	return i
}

func (s *Server) ltType(spec LTSpec) string {
	if s.ec2 == nil {
		return ""
	}
	key := spec.LaunchTemplateID
	if key == "" {
		key = spec.LaunchTemplateName
	}
	v := spec.Version
	if v == "" {
		v = "$Default"
	}
	_, _, data, _ := s.ec2.LaunchTemplate(key, v)
	return data.InstanceType
}

func (s *Server) record(g *group, now time.Time, i *instance, terminate bool, cause string) {
	a := &activity{id: s.uuid(), group: g.name, groupARN: g.arn, start: now, instanceID: i.id, az: i.az, terminate: terminate}
	if terminate {
		a.description = "Terminating EC2 instance: " + i.id
	} else {
		a.description = "Launching a new EC2 instance: " + i.id
	}
	a.cause = "At " + now.Format(time.RFC3339) + " " + cause + "."
	s.activities = append(s.activities, a)
}

// Output shapes (awsQuery: element names are member names).

type instanceXML struct {
	InstanceID           string `xml:"InstanceId"`
	InstanceType         string `xml:"InstanceType,omitempty"`
	AvailabilityZone     string `xml:"AvailabilityZone"`
	LifecycleState       string `xml:"LifecycleState"`
	HealthStatus         string `xml:"HealthStatus"`
	LaunchTemplate       LTSpec `xml:"LaunchTemplate"`
	ProtectedFromScaleIn bool   `xml:"ProtectedFromScaleIn"`
	WeightedCapacity     string `xml:"WeightedCapacity,omitempty"`
}

type groupXML struct {
	Name                string                `xml:"AutoScalingGroupName"`
	ARN                 string                `xml:"AutoScalingGroupARN"`
	LaunchTemplate      *LTSpec               `xml:"LaunchTemplate,omitempty"`
	Mixed               *MixedInstancesPolicy `xml:"MixedInstancesPolicy,omitempty"`
	MinSize             int32                 `xml:"MinSize"`
	MaxSize             int32                 `xml:"MaxSize"`
	DesiredCapacity     int32                 `xml:"DesiredCapacity"`
	DefaultCooldown     int32                 `xml:"DefaultCooldown"`
	AvailabilityZones   []string              `xml:"AvailabilityZones>member"`
	HealthCheckType     string                `xml:"HealthCheckType"`
	HealthCheckGrace    int32                 `xml:"HealthCheckGracePeriod"`
	Instances           []instanceXML         `xml:"Instances>member"`
	CreatedTime         awsproto.XMLTime      `xml:"CreatedTime"`
	VPCZoneIdentifier   string                `xml:"VPCZoneIdentifier,omitempty"`
	Status              string                `xml:"Status,omitempty"`
	Tags                []tagXML              `xml:"Tags>member"`
	TerminationPolicies []string              `xml:"TerminationPolicies>member"`
	ProtectNew          bool                  `xml:"NewInstancesProtectedFromScaleIn"`
	ServiceLinkedRole   string                `xml:"ServiceLinkedRoleARN"`
	CapacityRebalance   bool                  `xml:"CapacityRebalance"`
}

type tagXML struct {
	ResourceID        string `xml:"ResourceId"`
	ResourceType      string `xml:"ResourceType"`
	Key               string `xml:"Key"`
	Value             string `xml:"Value"`
	PropagateAtLaunch bool   `xml:"PropagateAtLaunch"`
}

func (s *Server) groupXML(g *group, now time.Time) groupXML {
	x := groupXML{Name: g.name, ARN: g.arn, LaunchTemplate: g.lt, Mixed: g.mip, MinSize: g.min, MaxSize: g.max, DesiredCapacity: g.desired,
		DefaultCooldown: g.cooldown, AvailabilityZones: g.zones, HealthCheckType: g.healthCheckType, HealthCheckGrace: g.grace,
		CreatedTime: awsproto.XMLTime(g.created), VPCZoneIdentifier: g.subnets, TerminationPolicies: g.terminationPolices, ProtectNew: g.protectNew,
		ServiceLinkedRole: "arn:aws:iam::" + s.account + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
		CapacityRebalance: g.capacityRebalance}
	if g.deleting {
		x.Status = "Delete in progress"
	}
	for _, t := range g.tags {
		x.Tags = append(x.Tags, tagXML{g.name, "auto-scaling-group", t.Key, t.Value, t.PropagateAtLaunch != nil && *t.PropagateAtLaunch})
	}
	for _, i := range g.instances {
		state := "InService"
		switch {
		case i.terminating:
			state = "Terminating"
		case now.Before(i.launched.Add(InstanceWarmup)):
			state = "Pending"
		}
		x.Instances = append(x.Instances, instanceXML{InstanceID: i.id, InstanceType: i.itype, AvailabilityZone: i.az, LifecycleState: state,
			HealthStatus: "Healthy", LaunchTemplate: i.lt, ProtectedFromScaleIn: i.protected, WeightedCapacity: i.weighted})
	}
	return x
}

func (s *Server) describeGroups(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		AutoScalingGroupNames []string
		Filters               []struct {
			Name   string
			Values []string
		}
		MaxRecords *int32
		NextToken  string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	limit, err := maxRecords(in.MaxRecords, 50)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.reconcileAll(now)
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []groupXML
	for _, n := range names {
		g := s.groups[n]
		if len(in.AutoScalingGroupNames) > 0 && !oneOf(n, in.AutoScalingGroupNames) {
			continue
		}
		ok := true
		for _, f := range in.Filters {
			match := false
			for _, t := range g.tags {
				switch {
				case f.Name == "tag-key":
					match = match || oneOf(t.Key, f.Values)
				case f.Name == "tag-value":
					match = match || oneOf(t.Value, f.Values)
				case strings.HasPrefix(f.Name, "tag:"):
					match = match || t.Key == f.Name[4:] && oneOf(t.Value, f.Values)
				}
			}
			if f.Name != "tag-key" && f.Name != "tag-value" && !strings.HasPrefix(f.Name, "tag:") {
				return nil, validation("Filter type %s is not correct. Allowed Filter types are: tag-key tag-value tag:<key>", f.Name)
			}
			ok = ok && match
		}
		if ok {
			out = append(out, s.groupXML(g, now))
		}
	}
	items, next, err := awsproto.Paginate(out, in.NextToken, limit, 100, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	return struct {
		Groups    []groupXML `xml:"AutoScalingGroups>member"`
		NextToken string     `xml:"NextToken,omitempty"`
	}{items, next}, nil
}

type activityXML struct {
	ActivityID  string            `xml:"ActivityId"`
	Group       string            `xml:"AutoScalingGroupName"`
	GroupARN    string            `xml:"AutoScalingGroupARN"`
	Description string            `xml:"Description"`
	Cause       string            `xml:"Cause"`
	StartTime   awsproto.XMLTime  `xml:"StartTime"`
	EndTime     *awsproto.XMLTime `xml:"EndTime,omitempty"`
	StatusCode  string            `xml:"StatusCode"`
	Progress    int32             `xml:"Progress"`
	Details     string            `xml:"Details"`
	GroupState  string            `xml:"AutoScalingGroupState,omitempty"`
}

func (s *Server) describeActivities(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ActivityIDs          []string `query:"ActivityIds"`
		AutoScalingGroupName string
		IncludeDeletedGroups bool
		MaxRecords           *int32
		NextToken            string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	limit, err := maxRecords(in.MaxRecords, 100)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.reconcileAll(now)
	var out []activityXML
	for j := len(s.activities) - 1; j >= 0; j-- { // newest first
		a := s.activities[j]
		if in.AutoScalingGroupName != "" && a.group != in.AutoScalingGroupName || len(in.ActivityIDs) > 0 && !oneOf(a.id, in.ActivityIDs) {
			continue
		}
		g := s.groups[a.group]
		deleted := g == nil || g.arn != a.groupARN
		if deleted && !in.IncludeDeletedGroups && len(in.ActivityIDs) == 0 {
			continue
		}
		d := InstanceWarmup
		if a.terminate {
			d = TerminateTime
		}
		x := activityXML{ActivityID: a.id, Group: a.group, GroupARN: a.groupARN, Description: a.description, Cause: a.cause, StartTime: awsproto.XMLTime(a.start),
			StatusCode: "InProgress", Progress: 50, Details: fmt.Sprintf(`{"Availability Zone":%q}`, a.az)}
		if end := a.start.Add(d); !now.Before(end) {
			e := awsproto.XMLTime(end)
			x.EndTime, x.StatusCode, x.Progress = &e, "Successful", 100
		}
		if deleted {
			x.GroupState = "Deleted"
		}
		out = append(out, x)
	}
	items, next, err := awsproto.Paginate(out, in.NextToken, limit, 100, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	return struct {
		Activities []activityXML `xml:"Activities>member"`
		NextToken  string        `xml:"NextToken,omitempty"`
	}{items, next}, nil
}

// Group reports a group by name or ARN for other emulations (ECS capacity
// providers): its name, ARN, whether new instances are protected from
// scale in, and whether it exists (and is not being deleted).
func (s *Server) Group(nameOrARN string) (name, arn string, protectNew bool, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconcileAll(s.clock.Now().UTC())
	for _, g := range s.groups {
		if (g.name == nameOrARN || g.arn == nameOrARN) && !g.deleting {
			return g.name, g.arn, g.protectNew, true
		}
	}
	return "", "", false, false
}
