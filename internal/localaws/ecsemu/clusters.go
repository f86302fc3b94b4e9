package ecsemu

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type cluster struct {
	name, arn     string
	status        string // ACTIVE, INACTIVE
	tags          []types.Tag
	settings      []types.ClusterSetting
	configuration *types.ClusterConfiguration
	providers     []string
	strategy      []types.CapacityProviderStrategyItem
	services      map[string]*service
	serviceOrder  []string
	tasks         map[string]*task // by id
	instances     []*instance

	simAt      time.Time   // the scheduler has run up to here
	spotEvents []spotEvent // pending availability changes and interruptions
	spotDown   bool
}

type spotEvent struct {
	at        time.Time
	available *bool // nil: interrupt only
}

type provider struct {
	cp types.CapacityProvider
}

// Test-control tag keys (see the package doc).
const (
	tagSpot          = "localaws:spot"
	tagSpotInterrupt = "localaws:spot-interrupt"
)

// resolveCluster finds an ACTIVE cluster by name or ARN ("" is "default").
func (s *Server) resolveCluster(id string) (*cluster, error) {
	name := id
	if name == "" {
		name = "default"
	}
	if strings.HasPrefix(name, "arn:") {
		kind, path, ok := resourceOf(name)
		if !ok || kind != "cluster" {
			return nil, invalid("Invalid identifier: Unexpected number of separators")
		}
		name = path
	}
	c := s.clusters[name]
	if c == nil || c.status != "ACTIVE" {
		return nil, errClusterNotFound()
	}
	return c, nil
}

func (s *Server) clusterOut(c *cluster, include []types.ClusterField) types.Cluster {
	now := s.clk.Now()
	out := types.Cluster{
		ClusterArn: ptr(c.arn), ClusterName: ptr(c.name), Status: ptr(c.status),
		CapacityProviders:                 append([]string{}, c.providers...),
		DefaultCapacityProviderStrategy:   append([]types.CapacityProviderStrategyItem{}, c.strategy...),
		RegisteredContainerInstancesCount: int32(len(c.instances)),
	}
	if c.status == "ACTIVE" {
		for _, name := range c.serviceOrder {
			if c.services[name].status == "ACTIVE" {
				out.ActiveServicesCount++
			}
		}
		for _, t := range c.tasks {
			switch t.lastStatus(now) {
			case "RUNNING":
				out.RunningTasksCount++
			case "PROVISIONING", "PENDING", "ACTIVATING":
				out.PendingTasksCount++
			}
		}
	}
	for _, f := range include {
		switch f {
		case types.ClusterFieldTags:
			out.Tags = append([]types.Tag{}, c.tags...)
		case types.ClusterFieldSettings:
			out.Settings = c.settings
		case types.ClusterFieldConfigurations:
			out.Configuration = c.configuration
		}
	}
	if out.Settings == nil {
		out.Settings = c.settings
	}
	return out
}

// botocore ecs ClusterSettingName: containerInsights; values enabled,
// disabled, enhanced.
func checkSettings(settings []types.ClusterSetting) error {
	for _, st := range settings {
		if st.Name != types.ClusterSettingNameContainerInsights {
			return invalid("Invalid cluster setting name %q. Valid names: containerInsights.", st.Name)
		}
		switch str(st.Value) {
		case "enabled", "disabled", "enhanced":
		default:
			return invalid("Invalid value %q for containerInsights. Valid values: enabled, disabled, enhanced.", str(st.Value))
		}
	}
	return nil
}

func (s *Server) createCluster(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.CreateClusterInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := str(in.ClusterName)
	if name == "" {
		name = "default"
	}
	if !nameRe.MatchString(name) {
		return nil, invalid("Cluster name can only contain letters, numbers, underscores, and hyphens, up to 255 characters.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	if c := s.clusters[name]; c != nil && c.status == "ACTIVE" {
		// CreateCluster is idempotent for an existing ACTIVE cluster.
		return &ecs.CreateClusterOutput{Cluster: ptr(s.clusterOut(c, nil))}, nil
	}
	c := &cluster{
		name: name, arn: s.arn("cluster/" + name), status: "ACTIVE",
		tags: in.Tags, settings: in.Settings, configuration: in.Configuration,
		services: map[string]*service{}, tasks: map[string]*task{}, simAt: now.Truncate(tick),
	}
	if c.settings == nil {
		c.settings = []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: ptr("disabled")}}
	}
	if len(in.CapacityProviders) > 0 || len(in.DefaultCapacityProviderStrategy) > 0 {
		if err := s.checkAssociation(c, in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
			return nil, err
		}
		c.providers = append([]string{}, in.CapacityProviders...)
		c.strategy = normStrategy(in.DefaultCapacityProviderStrategy)
	}
	s.applySpotTags(c, c.tags, now)
	s.clusters[name] = c
	return &ecs.CreateClusterOutput{Cluster: ptr(s.clusterOut(c, nil))}, nil
}

func (s *Server) describeClusters(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeClustersInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	names := in.Clusters
	if len(names) == 0 {
		names = []string{"default"}
	}
	if len(names) > 100 {
		return nil, invalid("Clusters can have at most 100 items.")
	}
	for _, f := range in.Include {
		if err := checkEnum("include", string(f), "ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"); err != nil {
			return nil, err
		}
	}
	out := &ecs.DescribeClustersOutput{Clusters: []types.Cluster{}, Failures: []types.Failure{}}
	for _, id := range names {
		name := id
		if strings.HasPrefix(id, "arn:") {
			if kind, path, ok := resourceOf(id); ok && kind == "cluster" {
				name = path
			}
		}
		c := s.clusters[name]
		if c == nil {
			arn := id
			if !strings.HasPrefix(id, "arn:") {
				arn = s.arn("cluster/" + id)
			}
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			continue
		}
		out.Clusters = append(out.Clusters, s.clusterOut(c, in.Include))
	}
	return out, nil
}

func (s *Server) listClusters(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListClustersInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	var arns []string
	for _, name := range sortedKeys(s.clusters) {
		if s.clusters[name].status == "ACTIVE" {
			arns = append(arns, s.clusters[name].arn)
		}
	}
	page, next, err := awsproto.Paginate(arns, str(in.NextToken), int(i32(in.MaxResults, 0)), 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListClustersOutput{ClusterArns: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) deleteCluster(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DeleteClusterInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.Cluster) == "" {
		return nil, invalid("cluster is required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	for _, svc := range c.services {
		if svc.status != "INACTIVE" {
			return nil, awsproto.Errf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
		}
	}
	for _, t := range c.tasks {
		if t.lastStatus(now) != "STOPPED" {
			return nil, awsproto.Errf("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
		}
	}
	if len(c.instances) > 0 {
		return nil, awsproto.Errf("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
	}
	c.status = "INACTIVE"
	out := s.clusterOut(c, nil)
	return &ecs.DeleteClusterOutput{Cluster: &out}, nil
}

func (s *Server) updateCluster(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.UpdateClusterInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.Cluster) == "" {
		return nil, invalid("cluster is required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	if err := checkSettings(in.Settings); err != nil {
		return nil, err
	}
	if in.Settings != nil {
		c.settings = in.Settings
	}
	if in.Configuration != nil {
		c.configuration = in.Configuration
	}
	out := s.clusterOut(c, nil)
	return &ecs.UpdateClusterOutput{Cluster: &out}, nil
}

func normStrategy(items []types.CapacityProviderStrategyItem) []types.CapacityProviderStrategyItem {
	out := make([]types.CapacityProviderStrategyItem, 0, len(items))
	for _, it := range items {
		out = append(out, types.CapacityProviderStrategyItem{CapacityProvider: it.CapacityProvider, Weight: it.Weight, Base: it.Base})
	}
	return out
}

func isFargateProvider(name string) bool { return name == "FARGATE" || name == "FARGATE_SPOT" }

// checkStrategy applies botocore ecs CapacityProviderStrategyItem: weight
// 0..1000, base 0..100000, only one item with a base, at most 20 items, and
// AWS's rules that the providers are associated with the cluster and are
// either all Fargate or all Auto Scaling group providers.
func (s *Server) checkStrategy(c *cluster, items []types.CapacityProviderStrategyItem, associated []string) error {
	if len(items) > 20 {
		return invalid("The capacity provider strategy can contain a maximum of 20 capacity providers.")
	}
	bases, fargate, asg := 0, 0, 0
	seen := map[string]bool{}
	for _, it := range items {
		name := str(it.CapacityProvider)
		if name == "" {
			return invalid("capacityProvider is required in a capacity provider strategy item.")
		}
		if it.Weight < 0 || it.Weight > 1000 {
			return invalid("The specified capacity provider strategy weight must be between 0 and 1000.")
		}
		if it.Base < 0 || it.Base > 100000 {
			return invalid("The specified capacity provider strategy base must be between 0 and 100000.")
		}
		if it.Base > 0 {
			bases++
		}
		if seen[name] {
			return invalid("The capacity provider strategy cannot contain duplicate capacity providers.")
		}
		seen[name] = true
		found := false
		for _, a := range associated {
			if a == name {
				found = true
			}
		}
		if !found {
			return invalid("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if isFargateProvider(name) {
			fargate++
		} else {
			asg++
		}
	}
	if bases > 1 {
		return invalid("The capacity provider strategy can only contain one capacity provider with a base value greater than zero.")
	}
	if fargate > 0 && asg > 0 {
		return invalid("A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.")
	}
	if len(items) > 0 {
		positive := false
		for _, it := range items {
			if it.Weight > 0 {
				positive = true
			}
		}
		if !positive {
			return invalid("The capacity provider strategy must contain at least one capacity provider with a weight greater than zero.")
		}
	}
	return nil
}

// checkAssociation validates a cluster's provider list and default strategy.
func (s *Server) checkAssociation(c *cluster, names []string, strategy []types.CapacityProviderStrategyItem) error {
	for _, n := range names {
		if isFargateProvider(n) {
			continue
		}
		p := s.providers[n]
		if p == nil || string(p.cp.Status) != "ACTIVE" {
			return invalid("The specified capacity provider '%s' does not exist. Specify a valid capacity provider and try again.", n)
		}
		for _, other := range s.clusters {
			if other != c && other.status == "ACTIVE" {
				for _, on := range other.providers {
					if on == n {
						return invalid("The specified capacity provider '%s' is already in use by cluster '%s'. Specify a different capacity provider and try again.", n, other.name)
					}
				}
			}
		}
	}
	return s.checkStrategy(c, strategy, names)
}

func (s *Server) putClusterCapacityProviders(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.PutClusterCapacityProvidersInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore ecs PutClusterCapacityProvidersRequest: cluster,
	// capacityProviders and defaultCapacityProviderStrategy are required.
	if str(in.Cluster) == "" || in.CapacityProviders == nil || in.DefaultCapacityProviderStrategy == nil {
		return nil, invalid("cluster, capacityProviders and defaultCapacityProviderStrategy are required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	if err := s.checkAssociation(c, in.CapacityProviders, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	// Removing a provider that tasks still use is refused.
	for _, old := range c.providers {
		kept := false
		for _, n := range in.CapacityProviders {
			if n == old {
				kept = true
			}
		}
		if kept {
			continue
		}
		for _, t := range c.tasks {
			if t.capacityProvider == old && t.lastStatus(now) != "STOPPED" {
				return nil, awsproto.Errf("ResourceInUseException", "The specified capacity provider is in use and cannot be removed.")
			}
		}
	}
	c.providers = append([]string{}, in.CapacityProviders...)
	c.strategy = normStrategy(in.DefaultCapacityProviderStrategy)
	out := s.clusterOut(c, nil)
	return &ecs.PutClusterCapacityProvidersOutput{Cluster: &out}, nil
}

// ---- capacity providers ----

func (s *Server) builtinProvider(name string) types.CapacityProvider {
	return types.CapacityProvider{
		CapacityProviderArn: ptr(s.arn("capacity-provider/" + name)),
		Name:                ptr(name), Status: types.CapacityProviderStatusActive,
		Type: types.CapacityProviderType(name),
	}
}

func (s *Server) createCapacityProvider(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.CreateCapacityProviderInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := str(in.Name)
	if !nameRe.MatchString(name) {
		return nil, invalid("The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens.")
	}
	lower := strings.ToLower(name)
	for _, p := range []string{"aws", "ecs", "fargate"} {
		if strings.HasPrefix(lower, p) {
			return nil, invalid("The specified capacity provider name is invalid. The name can't be prefixed with \"aws\", \"ecs\", or \"fargate\".")
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	asg := in.AutoScalingGroupProvider
	if asg == nil {
		return nil, invalid("autoScalingGroupProvider is required.")
	}
	if str(asg.AutoScalingGroupArn) == "" {
		return nil, invalid("autoScalingGroupArn is required.")
	}
	if err := checkManagedScaling(asg.ManagedScaling); err != nil {
		return nil, err
	}
	if err := checkEnum("managedTerminationProtection", string(asg.ManagedTerminationProtection), "ENABLED", "DISABLED"); err != nil {
		return nil, err
	}
	if err := checkEnum("managedDraining", string(asg.ManagedDraining), "ENABLED", "DISABLED"); err != nil {
		return nil, err
	}
	ms := fillManagedScaling(asg.ManagedScaling)
	if asg.ManagedTerminationProtection == types.ManagedTerminationProtectionEnabled && ms.Status != types.ManagedScalingStatusEnabled {
		return nil, invalid("The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, the Auto Scaling group must have instance protection from scale in enabled and managed scaling must be enabled.")
	}
	if p := s.providers[name]; p != nil && string(p.cp.Status) == "ACTIVE" {
		return nil, clientErr("The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.")
	}
	if s.AutoScalingGroupExists != nil && !s.AutoScalingGroupExists(str(asg.AutoScalingGroupArn)) {
		// botocore ecs CreateCapacityProvider errors: ClientException covers
		// a resource the caller named that is not usable. AWS publishes no text
		// for this case; the message follows its capacity provider messages.
		return nil, clientErr("The specified Auto Scaling group ARN %s does not exist. Specify a valid Auto Scaling group ARN and try again.", str(asg.AutoScalingGroupArn))
	}
	for _, p := range s.providers {
		if string(p.cp.Status) == "ACTIVE" && str(p.cp.AutoScalingGroupProvider.AutoScalingGroupArn) == str(asg.AutoScalingGroupArn) {
			return nil, clientErr("The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.")
		}
	}
	drain := asg.ManagedDraining
	if drain == "" {
		drain = types.ManagedDrainingEnabled
	}
	mtp := asg.ManagedTerminationProtection
	if mtp == "" {
		mtp = types.ManagedTerminationProtectionDisabled
	}
	p := &provider{cp: types.CapacityProvider{
		CapacityProviderArn: ptr(s.arn("capacity-provider/" + name)),
		Name:                ptr(name), Status: types.CapacityProviderStatusActive,
		Type: types.CapacityProviderTypeEc2Autoscaling,
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{
			AutoScalingGroupArn: asg.AutoScalingGroupArn, ManagedScaling: ms,
			ManagedTerminationProtection: mtp, ManagedDraining: drain,
		},
		Tags: in.Tags,
	}}
	s.providers[name] = p
	return &ecs.CreateCapacityProviderOutput{CapacityProvider: ptr(p.out(false))}, nil
}

func (p *provider) out(tags bool) types.CapacityProvider {
	cp := p.cp
	if !tags {
		cp.Tags = nil
	}
	return cp
}

func checkEnum(member, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return invalid("Invalid value %q for %s. Valid values: %s.", v, member, strings.Join(allowed, ", "))
}

// botocore ecs ManagedScaling: targetCapacity 1..100, step sizes 1..10000,
// instanceWarmupPeriod 0..10000.
func checkManagedScaling(ms *types.ManagedScaling) error {
	if ms == nil {
		return nil
	}
	if err := checkEnum("managedScaling.status", string(ms.Status), "ENABLED", "DISABLED"); err != nil {
		return err
	}
	if ms.TargetCapacity != nil && (*ms.TargetCapacity < 1 || *ms.TargetCapacity > 100) {
		return invalid("The managed scaling target capacity must be between 1 and 100.")
	}
	for _, v := range []*int32{ms.MinimumScalingStepSize, ms.MaximumScalingStepSize} {
		if v != nil && (*v < 1 || *v > 10000) {
			return invalid("The managed scaling step size must be between 1 and 10000.")
		}
	}
	if ms.MinimumScalingStepSize != nil && ms.MaximumScalingStepSize != nil && *ms.MinimumScalingStepSize > *ms.MaximumScalingStepSize {
		return invalid("The managed scaling minimum scaling step size cannot be greater than the maximum scaling step size.")
	}
	if ms.InstanceWarmupPeriod != nil && (*ms.InstanceWarmupPeriod < 0 || *ms.InstanceWarmupPeriod > 10000) {
		return invalid("The instance warmup period must be between 0 and 10000.")
	}
	return nil
}

// fillManagedScaling applies the model's documented defaults: targetCapacity
// 100, minimum step 1, maximum step 10000, warmup 300 s.
func fillManagedScaling(ms *types.ManagedScaling) *types.ManagedScaling {
	out := types.ManagedScaling{Status: types.ManagedScalingStatusDisabled}
	if ms != nil {
		out = *ms
		if out.Status == "" {
			out.Status = types.ManagedScalingStatusEnabled
		}
	}
	if out.TargetCapacity == nil {
		out.TargetCapacity = ptr(int32(100))
	}
	if out.MinimumScalingStepSize == nil {
		out.MinimumScalingStepSize = ptr(int32(1))
	}
	if out.MaximumScalingStepSize == nil {
		out.MaximumScalingStepSize = ptr(int32(10000))
	}
	if out.InstanceWarmupPeriod == nil {
		out.InstanceWarmupPeriod = ptr(int32(300))
	}
	return &out
}

func (s *Server) describeCapacityProviders(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeCapacityProvidersInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.CapacityProviders) > 100 {
		return nil, invalid("capacityProviders can have at most 100 items.")
	}
	if err := checkMaxResults(in.MaxResults, 10); err != nil {
		return nil, err
	}
	tags := false
	for _, f := range in.Include {
		if f == types.CapacityProviderFieldTags {
			tags = true
		}
	}
	out := &ecs.DescribeCapacityProvidersOutput{CapacityProviders: []types.CapacityProvider{}, Failures: []types.Failure{}}
	var all []types.CapacityProvider
	if len(in.CapacityProviders) == 0 {
		all = append(all, s.builtinProvider("FARGATE"), s.builtinProvider("FARGATE_SPOT"))
		for _, name := range sortedKeys(s.providers) {
			if string(s.providers[name].cp.Status) != "INACTIVE" {
				all = append(all, s.providers[name].out(tags))
			}
		}
	} else {
		for _, id := range in.CapacityProviders {
			name := lastSegment(id)
			switch p := s.providers[name]; {
			case isFargateProvider(name):
				all = append(all, s.builtinProvider(name))
			case p != nil:
				all = append(all, p.out(tags))
			default:
				arn := id
				if !strings.HasPrefix(id, "arn:") {
					arn = s.arn("capacity-provider/" + id)
				}
				out.Failures = append(out.Failures, types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			}
		}
	}
	page, next, err := awsproto.Paginate(all, str(in.NextToken), int(i32(in.MaxResults, 0)), 10, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out.CapacityProviders = append(out.CapacityProviders, page...)
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) updateCapacityProvider(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.UpdateCapacityProviderInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := lastSegment(str(in.Name))
	if name == "" {
		return nil, invalid("name is required.")
	}
	p := s.providers[name]
	if p == nil || string(p.cp.Status) != "ACTIVE" {
		return nil, invalid("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")
	}
	if u := in.AutoScalingGroupProvider; u != nil {
		if err := checkManagedScaling(u.ManagedScaling); err != nil {
			return nil, err
		}
		if err := checkEnum("managedTerminationProtection", string(u.ManagedTerminationProtection), "ENABLED", "DISABLED"); err != nil {
			return nil, err
		}
		if err := checkEnum("managedDraining", string(u.ManagedDraining), "ENABLED", "DISABLED"); err != nil {
			return nil, err
		}
		a := *p.cp.AutoScalingGroupProvider
		if u.ManagedScaling != nil {
			a.ManagedScaling = fillManagedScaling(u.ManagedScaling)
		}
		if u.ManagedTerminationProtection != "" {
			a.ManagedTerminationProtection = u.ManagedTerminationProtection
		}
		if u.ManagedDraining != "" {
			a.ManagedDraining = u.ManagedDraining
		}
		if a.ManagedTerminationProtection == types.ManagedTerminationProtectionEnabled && a.ManagedScaling.Status != types.ManagedScalingStatusEnabled {
			return nil, invalid("The managed termination protection setting for the capacity provider is invalid. To enable managed termination protection for a capacity provider, the Auto Scaling group must have instance protection from scale in enabled and managed scaling must be enabled.")
		}
		p.cp.AutoScalingGroupProvider = &a
		p.cp.UpdateStatus = types.CapacityProviderUpdateStatusUpdateComplete
	}
	return &ecs.UpdateCapacityProviderOutput{CapacityProvider: ptr(p.out(false))}, nil
}

func (s *Server) deleteCapacityProvider(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DeleteCapacityProviderInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := lastSegment(str(in.CapacityProvider))
	if name == "" {
		return nil, invalid("capacityProvider is required.")
	}
	if isFargateProvider(name) {
		return nil, invalid("The specified capacity provider is reserved and cannot be deleted.")
	}
	p := s.providers[name]
	if p == nil || string(p.cp.Status) != "ACTIVE" {
		return nil, invalid("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")
	}
	for _, c := range s.clusters {
		if c.status != "ACTIVE" {
			continue
		}
		for _, n := range c.providers {
			if n == name {
				// botocore ecs DeleteCapacityProvider lists no
				// ResourceInUseException: "Only capacity providers that
				// aren't associated with a cluster can be deleted."
				return nil, clientErr("The specified capacity provider is associated with cluster %s. Remove it from the cluster with PutClusterCapacityProviders, then delete it.", c.name)
			}
		}
	}
	p.cp.Status = types.CapacityProviderStatusInactive
	p.cp.UpdateStatus = types.CapacityProviderUpdateStatusDeleteComplete
	return &ecs.DeleteCapacityProviderOutput{CapacityProvider: ptr(p.out(false))}, nil
}

// ---- spot control ----

// SetSpotAvailable makes spot capacity in a cluster available or not (see the
// package doc); making it unavailable interrupts the cluster's running spot
// tasks.
func (s *Server) SetSpotAvailable(clusterName string, available bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	s.advance(now)
	if c := s.clusters[clusterName]; c != nil {
		c.spotEvents = append(c.spotEvents, spotEvent{at: now, available: &available})
		s.advance(now)
	}
}

// InterruptSpot interrupts every running spot task in a cluster now.
func (s *Server) InterruptSpot(clusterName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	s.advance(now)
	if c := s.clusters[clusterName]; c != nil {
		c.spotEvents = append(c.spotEvents, spotEvent{at: now})
		s.advance(now)
	}
}

// applySpotTags turns the test-control tags into spot events; the interrupt
// tag is consumed.
func (s *Server) applySpotTags(c *cluster, tags []types.Tag, now time.Time) {
	for _, t := range tags {
		switch str(t.Key) {
		case tagSpot:
			avail := !strings.EqualFold(str(t.Value), "unavailable")
			c.spotEvents = append(c.spotEvents, spotEvent{at: now, available: &avail})
		case tagSpotInterrupt:
			c.spotEvents = append(c.spotEvents, spotEvent{at: now})
			c.tags = removeTags(c.tags, []string{tagSpotInterrupt})
		}
	}
}

// ---- tags ----

func (s *Server) tagTarget(arn string) (*[]types.Tag, *cluster, error) {
	kind, path, ok := resourceOf(arn)
	if !ok {
		return nil, nil, invalid("Invalid Arn")
	}
	notFound := awsproto.Errf("ResourceNotFoundException", "The specified resource is not found.")
	switch kind {
	case "cluster":
		c := s.clusters[path]
		if c == nil || c.status != "ACTIVE" {
			return nil, nil, errClusterNotFound()
		}
		return &c.tags, c, nil
	case "service":
		cl, name, found := strings.Cut(path, "/")
		if !found {
			return nil, nil, notFound
		}
		c := s.clusters[cl]
		if c == nil || c.status != "ACTIVE" {
			return nil, nil, errClusterNotFound()
		}
		svc := c.services[name]
		if svc == nil || svc.status == "INACTIVE" {
			return nil, nil, notFound
		}
		return &svc.tags, nil, nil
	case "task":
		cl, id, _ := strings.Cut(path, "/")
		c := s.clusters[cl]
		if c == nil {
			return nil, nil, errClusterNotFound()
		}
		t := c.tasks[id]
		if t == nil {
			return nil, nil, notFound
		}
		return &t.tags, nil, nil
	case "task-definition":
		td := s.findTaskDef(path)
		if td == nil {
			return nil, nil, notFound
		}
		return &td.tags, nil, nil
	case "capacity-provider":
		p := s.providers[path]
		if p == nil || string(p.cp.Status) != "ACTIVE" {
			return nil, nil, notFound
		}
		return &p.cp.Tags, nil, nil
	case "container-instance":
		cl, id, _ := strings.Cut(path, "/")
		if c := s.clusters[cl]; c != nil {
			for _, in := range c.instances {
				if in.id == id {
					return &in.tags, nil, nil
				}
			}
		}
		return nil, nil, notFound
	}
	return nil, nil, invalid("Invalid Arn")
}

func (s *Server) tagResource(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.TagResourceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.ResourceArn) == "" || in.Tags == nil {
		return nil, invalid("resourceArn and tags are required.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	tags, c, err := s.tagTarget(str(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	merged := mergeTags(*tags, in.Tags)
	if len(merged) > 50 {
		return nil, awsproto.Errf("LimitExceededException", "The resource can have at most 50 tags.")
	}
	*tags = merged
	if c != nil {
		s.applySpotTags(c, in.Tags, now)
		s.advance(now)
	}
	return &ecs.TagResourceOutput{}, nil
}

func (s *Server) untagResource(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.UntagResourceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.ResourceArn) == "" || in.TagKeys == nil {
		return nil, invalid("resourceArn and tagKeys are required.")
	}
	tags, c, err := s.tagTarget(str(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	*tags = removeTags(*tags, in.TagKeys)
	if c != nil {
		for _, k := range in.TagKeys {
			if k == tagSpot {
				avail := true
				c.spotEvents = append(c.spotEvents, spotEvent{at: now, available: &avail})
			}
		}
		s.advance(now)
	}
	return &ecs.UntagResourceOutput{}, nil
}

func (s *Server) listTagsForResource(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListTagsForResourceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.ResourceArn) == "" {
		return nil, invalid("resourceArn is required.")
	}
	tags, _, err := s.tagTarget(str(in.ResourceArn))
	if err != nil {
		return nil, err
	}
	return &ecs.ListTagsForResourceOutput{Tags: append([]types.Tag{}, *tags...)}, nil
}
