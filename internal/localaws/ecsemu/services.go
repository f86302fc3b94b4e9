package ecsemu

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type service struct {
	name, arn string
	c         *cluster
	status    string // ACTIVE, DRAINING, INACTIVE
	desired   int32
	createdAt time.Time
	tags      []types.Tag

	lt              types.LaunchType
	strategy        []types.CapacityProviderStrategyItem
	platformVersion string
	netcfg          *types.NetworkConfiguration
	cfg             types.DeploymentConfiguration
	grace           *int32

	in ecs.CreateServiceInput // echoed fields (placement, load balancers, ...)

	deployments   []*deployment // [0] is PRIMARY
	lastCompleted *deployment
	events        []types.ServiceEvent
	suppressed    map[string]time.Time
	steady        bool
}

type deployment struct {
	id, status      string // PRIMARY, ACTIVE, INACTIVE
	td              *taskDef
	lt              types.LaunchType
	strategy        []types.CapacityProviderStrategyItem
	platformVersion string
	netcfg          *types.NetworkConfiguration
	createdAt       time.Time
	updatedAt       time.Time
	rollout         types.DeploymentRolloutState
	reason          string
	failedTasks     int32
	sd              *svcDeployment
	revArn          string
	rollback        bool // this deployment is a rollback
	alarmsAtStart   map[string]bool
	tg              string      // the target group its tasks register in ("": the service's; strategy.go)
	shift           *shiftState // BLUE_GREEN, CANARY, LINEAR timeline (strategy.go)
}

func (s *Server) resolveService(c *cluster, id string) *service {
	if strings.HasPrefix(id, "arn:") {
		kind, path, ok := resourceOf(id)
		if !ok || kind != "service" {
			return nil
		}
		if cl, name, found := strings.Cut(path, "/"); found {
			if cl != c.name {
				return nil
			}
			id = name
		} else {
			id = path
		}
	}
	return c.services[id]
}

func (svc *service) primary() *deployment { return svc.deployments[0] }

// tasks of the service (any state still kept).
func (svc *service) tasks() []*task {
	var out []*task
	for _, t := range svc.c.tasks {
		if t.svc == svc {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].createdAt.Equal(out[j].createdAt) {
			return out[i].createdAt.Before(out[j].createdAt)
		}
		return out[i].id < out[j].id
	})
	return out
}

func (svc *service) depTasks(d *deployment) []*task {
	var out []*task
	for _, t := range svc.tasks() {
		if t.dep == d {
			out = append(out, t)
		}
	}
	return out
}

// event records a service event at "at" (newest first, 100 kept). Messages
// in suppressed form (placement failures) repeat only after their cause was
// resolved or 6 hours passed, as the ECS console documents.
func (svc *service) event(at time.Time, msg string) {
	svc.events = append([]types.ServiceEvent{{Id: ptr(uuid()), CreatedAt: ptr(at), Message: ptr(msg)}}, svc.events...)
	if len(svc.events) > 100 {
		svc.events = svc.events[:100]
	}
}

func (svc *service) eventOnce(at time.Time, msg string) bool {
	if last, ok := svc.suppressed[msg]; ok && at.Sub(last) < 6*time.Hour {
		return false
	}
	if svc.suppressed == nil {
		svc.suppressed = map[string]time.Time{}
	}
	svc.suppressed[msg] = at
	svc.event(at, msg)
	return true
}

func uuid() string {
	h := hexID(32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// ---- deployment configuration ----

// fillConfig applies the documented defaults: minimumHealthyPercent 100,
// maximumPercent 200 (REPLICA), strategy ROLLING.
func fillConfig(in *types.DeploymentConfiguration, old *types.DeploymentConfiguration) types.DeploymentConfiguration {
	var out types.DeploymentConfiguration
	if old != nil {
		out = *old
	}
	if in != nil {
		if in.MaximumPercent != nil {
			out.MaximumPercent = in.MaximumPercent
		}
		if in.MinimumHealthyPercent != nil {
			out.MinimumHealthyPercent = in.MinimumHealthyPercent
		}
		if in.DeploymentCircuitBreaker != nil {
			out.DeploymentCircuitBreaker = in.DeploymentCircuitBreaker
		}
		if in.Alarms != nil {
			out.Alarms = in.Alarms
		}
		if in.Strategy != "" {
			out.Strategy = in.Strategy
		}
		if in.BakeTimeInMinutes != nil {
			out.BakeTimeInMinutes = in.BakeTimeInMinutes
		}
		if in.CanaryConfiguration != nil {
			out.CanaryConfiguration = in.CanaryConfiguration
		}
		if in.LinearConfiguration != nil {
			out.LinearConfiguration = in.LinearConfiguration
		}
	}
	if out.MaximumPercent == nil {
		out.MaximumPercent = ptr(int32(200))
	}
	if out.MinimumHealthyPercent == nil {
		out.MinimumHealthyPercent = ptr(int32(100))
	}
	if out.DeploymentCircuitBreaker == nil {
		out.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: false, Rollback: false}
	}
	if out.Strategy == "" {
		out.Strategy = types.DeploymentStrategyRolling
	}
	return out
}

func checkConfig(cfg *types.DeploymentConfiguration) error {
	if cfg == nil {
		return nil
	}
	if cfg.MinimumHealthyPercent != nil && (*cfg.MinimumHealthyPercent < 0 || *cfg.MinimumHealthyPercent > 100) {
		return invalid("The minimumHealthyPercent value must be between 0 and 100.")
	}
	if cfg.MaximumPercent != nil && *cfg.MaximumPercent < 100 {
		return invalid("The maximumPercent value must be greater than or equal to 100.")
	}
	if err := checkEnum("strategy", string(cfg.Strategy), "ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"); err != nil {
		return err
	}
	if err := checkStrategyConfig(cfg); err != nil {
		return err
	}
	if cb := cfg.DeploymentCircuitBreaker; cb != nil && cb.ThresholdConfiguration != nil {
		tc := cb.ThresholdConfiguration
		if err := checkEnum("thresholdConfiguration.type", string(tc.Type), "COUNT", "BOUNDED_PERCENT", "UNBOUNDED_PERCENT"); err != nil {
			return err
		}
		if tc.Type == "" {
			return invalid("thresholdConfiguration requires both type and value.")
		}
		if tc.Value < 1 {
			return invalid("The thresholdConfiguration value must be greater than 0.")
		}
	}
	if a := cfg.Alarms; a != nil && a.AlarmNames == nil {
		return invalid("alarmNames is required in the deployment alarms configuration.")
	}
	return nil
}

// threshold is the circuit breaker's failure threshold
// (DeploymentCircuitBreaker.thresholdConfiguration; default BOUNDED_PERCENT
// 50: 0.5 × desired rounded up, minimum 3, maximum 200).
func threshold(cb *types.DeploymentCircuitBreaker, desired int32) int32 {
	typ, value := types.ThresholdTypeBoundedPercent, int32(50)
	if cb != nil && cb.ThresholdConfiguration != nil {
		typ = cb.ThresholdConfiguration.Type
		value = cb.ThresholdConfiguration.Value
	}
	pct := (int64(value)*int64(desired) + 99) / 100
	switch typ {
	case types.ThresholdTypeCount:
		return value
	case types.ThresholdTypeUnboundedPercent:
		return int32(max(pct, 1))
	}
	return int32(min(max(pct, 3), 200))
}

// ---- CreateService ----

func (s *Server) createService(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.CreateServiceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	name := str(in.ServiceName)
	if name == "" {
		return nil, invalid("serviceName is required.")
	}
	if !nameRe.MatchString(name) {
		return nil, invalid("Service name can only contain letters, numbers, underscores, and hyphens, up to 255 characters.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkEnum("schedulingStrategy", string(in.SchedulingStrategy), "REPLICA", "DAEMON"); err != nil {
		return nil, err
	}
	if err := checkEnum("propagateTags", string(in.PropagateTags), "TASK_DEFINITION", "SERVICE", "NONE"); err != nil {
		return nil, err
	}
	if in.DeploymentController != nil {
		if err := checkEnum("deploymentController.type", string(in.DeploymentController.Type), "ECS", "CODE_DEPLOY", "EXTERNAL"); err != nil {
			return nil, err
		}
	}
	if err := checkConfig(in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	if in.ClientToken != nil && len(*in.ClientToken) > 36 {
		return nil, invalid("clientToken must be at most 36 characters.")
	}
	if old := c.services[name]; old != nil {
		switch old.status {
		case "ACTIVE":
			return nil, invalid("Creation of service was not idempotent.")
		case "DRAINING":
			return nil, invalid("Unable to Start a service that is still Draining.")
		}
	}
	if str(in.TaskDefinition) == "" {
		return nil, invalid("TaskDefinition must be specified for a service that uses the ECS deployment controller.")
	}
	td := s.findTaskDef(str(in.TaskDefinition))
	if td == nil || td.td.Status == types.TaskDefinitionStatusDeleteInProgress {
		return nil, clientErr("TaskDefinition not found.")
	}
	if td.td.Status != types.TaskDefinitionStatusActive {
		return nil, clientErr("TaskDefinition is inactive")
	}
	if in.SchedulingStrategy != types.SchedulingStrategyDaemon {
		if in.DesiredCount == nil {
			return nil, invalid("The desired count is required for a service using the REPLICA scheduling strategy.")
		}
		if *in.DesiredCount < 0 {
			return nil, invalid("The desired count must be greater than or equal to 0.")
		}
	}
	if err := s.checkLaunch(c, td, in.LaunchType, in.CapacityProviderStrategy, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if err := s.checkLoadBalancers(td, in.LoadBalancers, in.HealthCheckGracePeriodSeconds); err != nil {
		return nil, err
	}
	if err := s.checkAdvanced(fillConfig(in.DeploymentConfiguration, nil), in.LoadBalancers); err != nil {
		return nil, err
	}
	if in.SchedulingStrategy == types.SchedulingStrategyDaemon && in.LaunchType == types.LaunchTypeFargate {
		return nil, invalid("The DAEMON scheduling strategy does not support the FARGATE launch type.")
	}
	svc := &service{
		name: name, arn: s.arn("service/" + c.name + "/" + name), c: c, status: "ACTIVE",
		desired: i32(in.DesiredCount, 0), createdAt: now, tags: in.Tags,
		lt: in.LaunchType, strategy: normStrategy(in.CapacityProviderStrategy),
		platformVersion: str(in.PlatformVersion), netcfg: in.NetworkConfiguration,
		cfg: fillConfig(in.DeploymentConfiguration, nil), grace: in.HealthCheckGracePeriodSeconds, in: in,
	}
	if svc.lt == "" && len(svc.strategy) == 0 && len(c.strategy) > 0 {
		svc.strategy = normStrategy(c.strategy) // the cluster default is copied onto the service
	}
	if svc.lt == "" && len(svc.strategy) == 0 {
		svc.lt = types.LaunchTypeEc2
	}
	if svc.lt == types.LaunchTypeFargate && svc.platformVersion == "" {
		svc.platformVersion = "LATEST"
	}
	c.services[name] = svc
	c.serviceOrder = appendUnique(c.serviceOrder, name)
	s.startDeployment(svc, td, now, false, "")
	s.schedule(c, svc, now)
	return &ecs.CreateServiceOutput{Service: ptr(s.serviceOut(svc, now, false))}, nil
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// startDeployment makes a new PRIMARY deployment of td, with its service
// deployment (ListServiceDeployments) unless it is a rollback of one.
func (s *Server) startDeployment(svc *service, td *taskDef, now time.Time, rollback bool, reason string) *deployment {
	d := &deployment{
		id: "ecs-svc/" + digits(19), status: "PRIMARY", td: td,
		lt: svc.lt, strategy: svc.strategy, platformVersion: svc.platformVersion, netcfg: svc.netcfg,
		createdAt: now, updatedAt: now, rollout: types.DeploymentRolloutStateInProgress, rollback: rollback,
		revArn: s.arn(fmt.Sprintf("service-revision/%s/%s/%s", svc.c.name, svc.name, digits(19))),
	}
	if a := svc.cfg.Alarms; a != nil && a.Enable && s.AlarmState != nil {
		d.alarmsAtStart = map[string]bool{}
		for _, n := range a.AlarmNames {
			d.alarmsAtStart[n] = s.AlarmState(n) == "ALARM"
		}
	}
	d.reason = reason
	if d.reason == "" {
		// rolloutStateReason "ECS deployment ecs-svc/N in progress." as real
		// DescribeServices output shows it (quoted in public reports; no AWS
		// reference page states the text).
		d.reason = "ECS deployment " + d.id + " in progress."
	}
	var sources []*deployment
	for _, old := range svc.deployments {
		old.status = "ACTIVE"
		old.updatedAt = now
		sources = append(sources, old)
		if sd := old.sd; sd != nil && !rollback && sd.ongoing() {
			sd.status = types.ServiceDeploymentStatusStopped
			sd.reason = "Service deployment stopped because a new service deployment started."
			sd.stoppedAt = ptr(now)
			sd.updatedAt = now
		}
	}
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	s.initShift(svc, d, rollback)
	if !rollback {
		sd := &svcDeployment{
			arn: s.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.c.name, svc.name, shortID(21))),
			svc: svc, createdAt: now, startedAt: now, updatedAt: now, target: d, sources: sources,
			status: types.ServiceDeploymentStatusInProgress, cfg: svc.cfg,
		}
		d.sd = sd
		s.sdeps[sd.arn] = sd
	}
	svc.steady = false
	return d
}

// ---- UpdateService ----

func sameStrategy(a, b []types.CapacityProviderStrategyItem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if str(a[i].CapacityProvider) != str(b[i].CapacityProvider) || a[i].Weight != b[i].Weight || a[i].Base != b[i].Base {
			return false
		}
	}
	return true
}

func sameNet(a, b *types.NetworkConfiguration) bool {
	return fmt.Sprint(wire(a)) == fmt.Sprint(wire(b))
}

func (s *Server) updateService(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.UpdateServiceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.Service) == "" {
		return nil, invalid("service is required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	svc := s.resolveService(c, str(in.Service))
	if svc == nil {
		return nil, errServiceNotFound()
	}
	if svc.status != "ACTIVE" {
		return nil, errServiceNotActive()
	}
	if err := checkConfig(in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, invalid("The desired count must be greater than or equal to 0.")
	}
	td := svc.primary().td
	if in.TaskDefinition != nil {
		td = s.findTaskDef(*in.TaskDefinition)
		if td == nil || td.td.Status == types.TaskDefinitionStatusDeleteInProgress {
			return nil, clientErr("TaskDefinition not found.")
		}
		if td.td.Status != types.TaskDefinitionStatusActive {
			return nil, clientErr("TaskDefinition is inactive")
		}
	}
	strategy := svc.strategy
	if in.CapacityProviderStrategy != nil {
		if err := s.checkStrategy(c, in.CapacityProviderStrategy, c.providers); err != nil {
			return nil, err
		}
		strategy = normStrategy(in.CapacityProviderStrategy)
		if !sameStrategy(strategy, svc.strategy) {
			if !in.ForceNewDeployment {
				return nil, invalid("When switching from launch type to capacity provider strategy on an existing service, or making a change to a capacity provider strategy on a service that is already using one, you must force a new deployment.")
			}
			if len(svc.strategy) > 0 && len(strategy) > 0 && isFargateProvider(str(svc.strategy[0].CapacityProvider)) != isFargateProvider(str(strategy[0].CapacityProvider)) {
				return nil, invalid("A service cannot be updated from Fargate capacity providers to Auto Scaling group capacity providers, or the other way around.")
			}
		}
	}
	netcfg := svc.netcfg
	if in.NetworkConfiguration != nil {
		netcfg = in.NetworkConfiguration
	}
	lt := svc.lt
	if len(strategy) > 0 {
		lt = ""
	}
	if err := s.checkLaunch(c, td, lt, strategy, netcfg); err != nil {
		return nil, err
	}
	if lbs := in.LoadBalancers; lbs != nil || in.DeploymentConfiguration != nil {
		if lbs == nil {
			lbs = svc.in.LoadBalancers
		}
		if err := s.checkAdvanced(fillConfig(in.DeploymentConfiguration, &svc.cfg), lbs); err != nil {
			return nil, err
		}
	}
	if in.LoadBalancers != nil {
		if err := s.checkLoadBalancers(td, in.LoadBalancers, nil); err != nil {
			return nil, err
		}
		svc.in.LoadBalancers = in.LoadBalancers
	}
	newDeployment := in.ForceNewDeployment || td != svc.primary().td || !sameStrategy(strategy, svc.strategy) ||
		!sameNet(netcfg, svc.netcfg) || (in.PlatformVersion != nil && *in.PlatformVersion != svc.platformVersion)
	svc.cfg = fillConfig(in.DeploymentConfiguration, &svc.cfg)
	if in.DesiredCount != nil {
		svc.desired = *in.DesiredCount
		svc.steady = false
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		svc.grace = in.HealthCheckGracePeriodSeconds
	}
	if in.EnableExecuteCommand != nil {
		svc.in.EnableExecuteCommand = *in.EnableExecuteCommand
	}
	if in.PropagateTags != "" {
		svc.in.PropagateTags = in.PropagateTags
	}
	if in.PlacementConstraints != nil {
		svc.in.PlacementConstraints = in.PlacementConstraints
	}
	if in.PlacementStrategy != nil {
		svc.in.PlacementStrategy = in.PlacementStrategy
	}
	svc.strategy, svc.netcfg, svc.lt = strategy, netcfg, lt
	if in.PlatformVersion != nil {
		svc.platformVersion = *in.PlatformVersion
	}
	if newDeployment {
		s.startDeployment(svc, td, now, false, "")
	}
	s.schedule(c, svc, now)
	return &ecs.UpdateServiceOutput{Service: ptr(s.serviceOut(svc, now, false))}, nil
}

// ---- DescribeServices / ListServices / DeleteService ----

func (s *Server) deploymentOut(svc *service, d *deployment, now time.Time) types.Deployment {
	out := types.Deployment{
		Id: ptr(d.id), Status: ptr(d.status), TaskDefinition: ptr(d.td.arn()),
		CreatedAt: ptr(d.createdAt), UpdatedAt: ptr(d.updatedAt),
		RolloutState: d.rollout, RolloutStateReason: ptr(d.reason), FailedTasks: d.failedTasks,
		NetworkConfiguration: d.netcfg,
	}
	if len(d.strategy) > 0 {
		out.CapacityProviderStrategy = d.strategy
	} else {
		out.LaunchType = d.lt
	}
	if d.platformVersion != "" {
		out.PlatformVersion = ptr(d.platformVersion)
		out.PlatformFamily = ptr("Linux")
	}
	active := int32(0)
	for _, t := range svc.depTasks(d) {
		switch {
		case t.running(now):
			out.RunningCount++
		case t.pending(now) && t.active(now):
			out.PendingCount++
		}
		if t.active(now) {
			active++
		}
	}
	if d.status == "PRIMARY" {
		out.DesiredCount = svc.desired
	} else {
		out.DesiredCount = active
	}
	return out
}

func (s *Server) serviceOut(svc *service, now time.Time, withTags bool) types.Service {
	out := types.Service{
		ServiceArn: ptr(svc.arn), ServiceName: ptr(svc.name), ClusterArn: ptr(svc.c.arn),
		Status: ptr(svc.status), DesiredCount: svc.desired, CreatedAt: ptr(svc.createdAt),
		TaskDefinition: ptr(svc.primary().td.arn()), DeploymentConfiguration: ptr(svc.cfg),
		NetworkConfiguration: svc.netcfg, HealthCheckGracePeriodSeconds: svc.grace,
		SchedulingStrategy: svc.in.SchedulingStrategy, PropagateTags: svc.in.PropagateTags,
		EnableECSManagedTags: svc.in.EnableECSManagedTags, EnableExecuteCommand: svc.in.EnableExecuteCommand,
		LoadBalancers: svc.in.LoadBalancers, ServiceRegistries: svc.in.ServiceRegistries,
		PlacementConstraints: svc.in.PlacementConstraints, PlacementStrategy: svc.in.PlacementStrategy,
		DeploymentController: svc.in.DeploymentController,
		CreatedBy:            ptr(fmt.Sprintf("arn:aws:iam::%s:root", s.Account)),
		Events:               append([]types.ServiceEvent{}, svc.events...),
		RoleArn:              ptr(fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS", s.Account)),
	}
	if out.SchedulingStrategy == "" {
		out.SchedulingStrategy = types.SchedulingStrategyReplica
	}
	if out.PropagateTags == "" {
		out.PropagateTags = types.PropagateTagsNone
	}
	if out.DeploymentController == nil {
		out.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeEcs}
	}
	if out.LoadBalancers == nil {
		out.LoadBalancers = []types.LoadBalancer{}
	}
	if out.ServiceRegistries == nil {
		out.ServiceRegistries = []types.ServiceRegistry{}
	}
	if out.PlacementConstraints == nil {
		out.PlacementConstraints = []types.PlacementConstraint{}
	}
	if out.PlacementStrategy == nil {
		out.PlacementStrategy = []types.PlacementStrategy{}
	}
	if len(svc.strategy) > 0 {
		out.CapacityProviderStrategy = svc.strategy
	} else {
		out.LaunchType = svc.lt
	}
	if svc.platformVersion != "" {
		out.PlatformVersion = ptr(svc.platformVersion)
		out.PlatformFamily = ptr("Linux")
	}
	out.Deployments = []types.Deployment{}
	for _, d := range svc.deployments {
		out.Deployments = append(out.Deployments, s.deploymentOut(svc, d, now))
	}
	for _, t := range svc.tasks() {
		switch {
		case t.running(now):
			out.RunningCount++
		case t.pending(now) && t.active(now):
			out.PendingCount++
		}
	}
	if withTags {
		out.Tags = append([]types.Tag{}, svc.tags...)
	}
	return out
}

func (s *Server) describeServices(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeServicesInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, invalid("Services cannot be empty.")
	}
	// botocore ecs DescribeServicesRequest.services: "You may specify up to
	// 10 services to describe in a single operation."
	if len(in.Services) > 10 {
		return nil, invalid("Services cannot contain more than 10 elements.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	tags := false
	for _, f := range in.Include {
		if f == types.ServiceFieldTags {
			tags = true
		}
	}
	out := &ecs.DescribeServicesOutput{Services: []types.Service{}, Failures: []types.Failure{}}
	for _, id := range in.Services {
		svc := s.resolveService(c, id)
		if svc == nil {
			arn := id
			if !strings.HasPrefix(id, "arn:") {
				arn = s.arn("service/" + c.name + "/" + id)
			}
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			continue
		}
		out.Services = append(out.Services, s.serviceOut(svc, now, tags))
	}
	return out, nil
}

func (s *Server) listServices(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListServicesInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	if err := checkEnum("launchType", string(in.LaunchType), "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"); err != nil {
		return nil, err
	}
	if err := checkEnum("schedulingStrategy", string(in.SchedulingStrategy), "REPLICA", "DAEMON"); err != nil {
		return nil, err
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, name := range c.serviceOrder {
		svc := c.services[name]
		if svc.status == "INACTIVE" {
			continue
		}
		if in.LaunchType != "" && svc.lt != in.LaunchType {
			continue
		}
		if in.SchedulingStrategy != "" && in.SchedulingStrategy != svc.in.SchedulingStrategy &&
			!(in.SchedulingStrategy == types.SchedulingStrategyReplica && svc.in.SchedulingStrategy == "") {
			continue
		}
		arns = append(arns, svc.arn)
	}
	page, next, err := awsproto.Paginate(arns, str(in.NextToken), int(i32(in.MaxResults, 0)), 10, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListServicesOutput{ServiceArns: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) deleteService(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DeleteServiceInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.Service) == "" {
		return nil, invalid("service is required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	svc := s.resolveService(c, str(in.Service))
	if svc == nil || svc.status == "INACTIVE" {
		return nil, errServiceNotFound()
	}
	if svc.status == "ACTIVE" {
		if svc.desired > 0 && (in.Force == nil || !*in.Force) && svc.in.SchedulingStrategy != types.SchedulingStrategyDaemon {
			return nil, invalid("The service cannot be stopped while it is scaled above 0.")
		}
		svc.status = "DRAINING"
		svc.desired = 0
		for _, d := range svc.deployments {
			if d.sd != nil && d.sd.ongoing() {
				d.sd.status = types.ServiceDeploymentStatusStopped
				d.sd.reason = "Service deployment stopped because the service was deleted."
				d.sd.stoppedAt = ptr(now)
				d.sd.updatedAt = now
			}
		}
		s.schedule(c, svc, now)
	}
	return &ecs.DeleteServiceOutput{Service: ptr(s.serviceOut(svc, now, false))}, nil
}
