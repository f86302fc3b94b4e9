package ecsemu

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Task timeline, in endpoint time from the task's creation.
const (
	pendingAfter   = 10 * time.Second // PROVISIONING → PENDING (image pull starts)
	pulledAfter    = 25 * time.Second // pull done
	runningAfter   = 30 * time.Second // PENDING → RUNNING
	healthyNoCheck = 40 * time.Second // no health check: counted healthy 40 s after RUNNING
	exitAfterRun   = 10 * time.Second // "exit-1" tasks exit 10 s after RUNNING
	oneOffRun      = 20 * time.Second // RunTask tasks with a command exit after 20 s
	stopDuration   = 10 * time.Second // stop requested → STOPPED
	keepStopped    = time.Hour        // stopped tasks stay visible at least 1 hour
)

type task struct {
	id, arn          string
	c                *cluster
	td               *taskDef
	svc              *service
	dep              *deployment
	group, startedBy string
	launchType       types.LaunchType
	capacityProvider string
	platformVersion  string
	instance         *instance
	spot             bool
	overrides        *types.TaskOverride
	tags             []types.Tag
	netcfg           *types.NetworkConfiguration
	az               string
	enableExec       bool

	createdAt time.Time
	startedAt *time.Time // RUNNING from here (nil: never runs)
	healthyAt *time.Time // counts as healthy from here (nil: never)
	hasCheck  bool       // an essential container defines a health check
	unhealthy bool

	stopAt       *time.Time // desiredStatus STOPPED from here
	stoppedAt    *time.Time
	stopCode     types.TaskStopCode
	stopReason   string
	exitCode     *int32
	failure      bool   // counts toward the circuit breaker
	containerMsg string // containers[].reason

	// What the scheduler has seen (at its ticks).
	sawHealthy, sawStopped bool

	lbs        *lbState   // load balancer registrations (lb.go)
	drainUntil *time.Time // DEACTIVATING while its targets drain (lb.go)
	logged     bool       // its containers' output went to their awslogs streams
}

var exitRe = regexp.MustCompile(`\bexit\s+(\d{1,3})\b`)

// essentialImage is the image of the task's first essential container.
func (td *taskDef) essential() types.ContainerDefinition {
	for _, c := range td.td.ContainerDefinitions {
		if c.Essential == nil || *c.Essential {
			return c
		}
	}
	return td.td.ContainerDefinitions[0]
}

// newTask creates a task at now and plans its timeline from the test-control
// conventions (package doc).
func (s *Server) newTask(c *cluster, td *taskDef, now time.Time, pl placement, oneOff bool, overrides *types.TaskOverride, gracePeriod int32) *task {
	id := hexID(32)
	t := &task{
		id: id, arn: s.arn("task/" + c.name + "/" + id), c: c, td: td,
		launchType: pl.launchType, capacityProvider: pl.provider, spot: pl.spot, instance: pl.instance,
		overrides: overrides, createdAt: now, az: s.Region + "a",
	}
	if t.launchType == types.LaunchTypeFargate {
		t.platformVersion = "1.4.0"
	}
	ess := td.essential()
	image := str(ess.Image)
	var hc *types.HealthCheck
	for _, cd := range td.td.ContainerDefinitions {
		if cd.HealthCheck != nil && (cd.Essential == nil || *cd.Essential) {
			hc = cd.HealthCheck
		}
	}
	t.hasCheck = hc != nil
	interval, retries, startPeriod := 30*time.Second, 3, time.Duration(0)
	if hc != nil {
		if hc.Interval != nil {
			interval = time.Duration(*hc.Interval) * time.Second
		}
		if hc.Retries != nil {
			retries = int(*hc.Retries)
		}
		if hc.StartPeriod != nil {
			startPeriod = time.Duration(*hc.StartPeriod) * time.Second
		}
	}
	running := now.Add(runningAfter)
	switch {
	case strings.Contains(image, "fail-pull"):
		stop := now.Add(pulledAfter)
		t.stopAt = &stop
		t.stoppedAt = ptr(now.Add(runningAfter))
		t.stopCode = types.TaskStopCodeTaskFailedToStart
		t.stopReason = fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref %s: not found", image)
		t.containerMsg = t.stopReason
		t.failure = true
		return t
	case strings.Contains(image, "exit-1"):
		t.startedAt = &running
		stop := running.Add(exitAfterRun)
		t.stopAt = &stop
		t.stoppedAt = ptr(stop.Add(5 * time.Second))
		t.stopCode = types.TaskStopCodeEssentialContainerExited
		t.stopReason = "Essential container in task exited"
		t.exitCode = ptr(int32(1))
		t.failure = true
		return t
	case strings.Contains(image, "unhealthy"):
		t.startedAt = &running
		t.unhealthy = true
		t.hasCheck = true
		if !oneOff {
			grace := max(startPeriod, time.Duration(gracePeriod)*time.Second)
			stop := running.Add(grace + interval*time.Duration(retries))
			t.stopAt = &stop
			t.stoppedAt = ptr(stop.Add(stopDuration))
			t.stopCode = types.TaskStopCodeServiceSchedulerInitiated
			t.stopReason = "Task failed container health checks"
			t.exitCode = ptr(int32(137))
			t.failure = true
		}
		return t
	}
	t.startedAt = &running
	if hc != nil {
		t.healthyAt = ptr(running.Add(interval))
	} else {
		t.healthyAt = ptr(running.Add(healthyNoCheck))
	}
	if oneOff {
		cmd := ess.Command
		if overrides != nil {
			for _, co := range overrides.ContainerOverrides {
				if str(co.Name) == str(ess.Name) && co.Command != nil {
					cmd = co.Command
				}
			}
		}
		if len(cmd) > 0 {
			code := int32(0)
			if m := exitRe.FindStringSubmatch(strings.Join(cmd, " ")); m != nil {
				n, _ := strconv.Atoi(m[1])
				code = int32(n)
			}
			stop := running.Add(oneOffRun)
			t.stopAt = &stop
			t.stoppedAt = ptr(stop.Add(5 * time.Second))
			t.stopCode = types.TaskStopCodeEssentialContainerExited
			t.stopReason = "Essential container in task exited"
			t.exitCode = &code
		}
	}
	return t
}

// stop asks a task to stop at now (unless it already is stopping earlier).
func (t *task) stop(now time.Time, code types.TaskStopCode, reason string) bool {
	if t.stopAt != nil && !t.stopAt.After(now) {
		return false
	}
	t.stopAt = ptr(now)
	t.stoppedAt = ptr(now.Add(stopDuration))
	t.stopCode = code
	t.stopReason = reason
	t.failure = false
	if t.startedAt != nil && t.startedAt.After(now) {
		t.startedAt = nil
		t.healthyAt = nil
	}
	if t.healthyAt != nil && t.healthyAt.After(now) {
		t.healthyAt = nil
	}
	if t.startedAt != nil {
		t.exitCode = ptr(int32(143))
	}
	return true
}

func (t *task) stopping(at time.Time) bool { return t.stopAt != nil && !t.stopAt.After(at) }

func (t *task) stoppedBy(at time.Time) bool { return t.stoppedAt != nil && !t.stoppedAt.After(at) }

// active: not (yet) asked to stop.
func (t *task) active(at time.Time) bool { return !t.stopping(at) }

func (t *task) running(at time.Time) bool {
	return t.startedAt != nil && !t.startedAt.After(at) && !t.stopping(at)
}

func (t *task) healthy(at time.Time) bool {
	return t.healthyAt != nil && !t.healthyAt.After(at) && !t.stopping(at)
}

// lastStatus at a time: PROVISIONING → PENDING → RUNNING →
// DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED.
func (t *task) lastStatus(at time.Time) string {
	switch {
	case t.stoppedBy(at):
		return "STOPPED"
	case t.stopping(at):
		since := at.Sub(t.drainedAt())
		switch {
		case since < 2*time.Second:
			return "DEACTIVATING"
		case since < 5*time.Second:
			return "STOPPING"
		}
		return "DEPROVISIONING"
	case t.startedAt != nil && !t.startedAt.After(at):
		return "RUNNING"
	case !t.createdAt.Add(pendingAfter).After(at):
		return "PENDING"
	}
	return "PROVISIONING"
}

func (t *task) pending(at time.Time) bool {
	st := t.lastStatus(at)
	return st == "PROVISIONING" || st == "PENDING"
}

func (t *task) desiredStatus(at time.Time) string {
	if t.stopping(at) {
		return "STOPPED"
	}
	return "RUNNING"
}

func (t *task) healthStatus(at time.Time) types.HealthStatus {
	if !t.hasCheck || t.startedAt == nil || t.startedAt.After(at) {
		return types.HealthStatusUnknown
	}
	if t.unhealthy {
		if at.Sub(*t.startedAt) >= 30*time.Second {
			return types.HealthStatusUnhealthy
		}
		return types.HealthStatusUnknown
	}
	if t.healthyAt != nil && !t.healthyAt.After(at) {
		return types.HealthStatusHealthy
	}
	return types.HealthStatusUnknown
}

func (s *Server) taskOut(t *task, now time.Time, withTags bool) types.Task {
	st := t.lastStatus(now)
	out := types.Task{
		TaskArn: ptr(t.arn), ClusterArn: ptr(t.c.arn), TaskDefinitionArn: ptr(t.td.arn()),
		LastStatus: ptr(st), DesiredStatus: ptr(t.desiredStatus(now)),
		CreatedAt: ptr(t.createdAt), LaunchType: t.launchType, Group: ptr(t.group),
		Cpu: t.td.td.Cpu, Memory: t.td.td.Memory, Version: 1,
		AvailabilityZone: ptr(t.az), HealthStatus: t.healthStatus(now),
		Connectivity: types.ConnectivityConnected, ConnectivityAt: ptr(t.createdAt.Add(pendingAfter / 2)),
		EnableExecuteCommand: t.enableExec,
		Overrides:            &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{}, InferenceAcceleratorOverrides: []types.InferenceAcceleratorOverride{}},
	}
	if t.overrides != nil {
		out.Overrides = t.overrides
	}
	if t.startedBy != "" {
		out.StartedBy = ptr(t.startedBy)
	}
	if t.capacityProvider != "" {
		out.CapacityProviderName = ptr(t.capacityProvider)
	}
	if t.platformVersion != "" {
		out.PlatformVersion = ptr(t.platformVersion)
		out.PlatformFamily = ptr("Linux")
	}
	if t.instance != nil {
		out.ContainerInstanceArn = ptr(t.instance.arn)
	}
	if !t.createdAt.Add(pendingAfter).After(now) {
		out.PullStartedAt = ptr(t.createdAt.Add(pendingAfter))
	}
	if !t.createdAt.Add(pulledAfter).After(now) && t.stopCode != types.TaskStopCodeTaskFailedToStart {
		out.PullStoppedAt = ptr(t.createdAt.Add(pulledAfter))
	}
	if t.startedAt != nil && !t.startedAt.After(now) {
		out.StartedAt = ptr(*t.startedAt)
	}
	if t.stopping(now) {
		out.StoppingAt = ptr(*t.stopAt)
		out.StopCode = t.stopCode
		out.StoppedReason = ptr(t.stopReason)
		out.ExecutionStoppedAt = ptr(t.drainedAt().Add(5 * time.Second))
		if out.ExecutionStoppedAt.After(now) {
			out.ExecutionStoppedAt = nil
		}
	}
	if t.stoppedBy(now) {
		out.StoppedAt = ptr(*t.stoppedAt)
	}
	if t.td.td.NetworkMode == types.NetworkModeAwsvpc {
		att := types.Attachment{Id: ptr(hexIDFrom(t.id, 8) + "-" + t.id[8:12] + "-4" + t.id[13:16] + "-8" + t.id[17:20] + "-" + t.id[20:32]), Type: ptr("ElasticNetworkInterface"), Status: ptr("ATTACHED")}
		if t.netcfg != nil && t.netcfg.AwsvpcConfiguration != nil && len(t.netcfg.AwsvpcConfiguration.Subnets) > 0 {
			att.Details = []types.KeyValuePair{
				{Name: ptr("subnetId"), Value: ptr(t.netcfg.AwsvpcConfiguration.Subnets[0])},
				{Name: ptr("networkInterfaceId"), Value: ptr("eni-" + t.id[:17])},
				{Name: ptr("privateIPv4Address"), Value: ptr(t.privateIP())},
			}
		}
		out.Attachments = []types.Attachment{att}
	}
	for _, cd := range t.td.td.ContainerDefinitions {
		ctr := types.Container{
			ContainerArn: ptr(s.arn("container/" + t.c.name + "/" + t.id + "/" + hexIDFrom(t.id+str(cd.Name), 8))),
			TaskArn:      ptr(t.arn), Name: cd.Name, Image: cd.Image, LastStatus: ptr(containerStatus(st)),
			NetworkBindings: []types.NetworkBinding{}, NetworkInterfaces: []types.NetworkInterface{},
		}
		if cd.Cpu != 0 {
			ctr.Cpu = ptr(strconv.Itoa(int(cd.Cpu)))
		}
		if cd.Memory != nil {
			ctr.Memory = ptr(strconv.Itoa(int(*cd.Memory)))
		}
		if cd.HealthCheck != nil {
			ctr.HealthStatus = out.HealthStatus
		}
		if st == "STOPPED" && t.exitCode != nil && t.startedAt != nil {
			ctr.ExitCode = t.exitCode
		}
		if t.containerMsg != "" && t.stopping(now) {
			ctr.Reason = ptr(t.containerMsg)
		}
		out.Containers = append(out.Containers, ctr)
	}
	if withTags {
		out.Tags = append([]types.Tag{}, t.tags...)
	}
	return out
}

// hexIDFrom returns a stable hex string of n characters derived from seed.
func hexIDFrom(seed string, n int) string {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(seed); i++ {
		h ^= uint64(seed[i])
		h *= 1099511628211
	}
	s := fmt.Sprintf("%016x%016x", h, h*31+7)
	return s[:n]
}

func containerStatus(taskStatus string) string {
	switch taskStatus {
	case "RUNNING", "STOPPED", "PENDING":
		return taskStatus
	case "PROVISIONING":
		return "PENDING"
	}
	return "RUNNING"
}

// ---- placement ----

type placement struct {
	launchType types.LaunchType
	provider   string
	spot       bool
	instance   *instance
}

// isSpotProvider: FARGATE_SPOT, or an ASG provider whose name says spot.
func isSpotProvider(name string) bool {
	return name == "FARGATE_SPOT" || (!isFargateProvider(name) && strings.Contains(strings.ToLower(name), "spot"))
}

// Placement failure reasons (service events and RunTask failures).
const (
	reasonNoInstances   = "No Container Instances were found in your cluster."
	reasonCapacity      = "Capacity is unavailable at this time. Please try again later or in a different availability zone."
	reasonNoCPInstances = "No Container Instances were found in your capacity provider."
)

// pick chooses the provider for one more task given how many active tasks
// each provider already has: the base first, then by weight.
func pick(strategy []types.CapacityProviderStrategyItem, counts map[string]int) string {
	for _, it := range strategy {
		if it.Base > 0 && counts[str(it.CapacityProvider)] < int(it.Base) {
			return str(it.CapacityProvider)
		}
	}
	best, bestScore, bestWeight := "", 0.0, int32(0)
	for _, it := range strategy {
		if it.Weight <= 0 {
			continue
		}
		name := str(it.CapacityProvider)
		n := counts[name] - int(it.Base)
		if n < 0 {
			n = 0
		}
		score := float64(n+1) / float64(it.Weight)
		if best == "" || score < bestScore || (score == bestScore && it.Weight > bestWeight) {
			best, bestScore, bestWeight = name, score, it.Weight
		}
	}
	return best
}

// place finds capacity for one task; reason is set when it cannot.
func (s *Server) place(c *cluster, at time.Time, launchType types.LaunchType, strategy []types.CapacityProviderStrategyItem, counts map[string]int) (placement, string) {
	if len(strategy) > 0 {
		name := pick(strategy, counts)
		spot := isSpotProvider(name)
		if spot && c.spotDown {
			if isFargateProvider(name) {
				return placement{}, reasonCapacity
			}
			return placement{}, reasonNoCPInstances
		}
		if isFargateProvider(name) {
			return placement{launchType: types.LaunchTypeFargate, provider: name, spot: spot}, ""
		}
		return placement{launchType: types.LaunchTypeEc2, provider: name, spot: spot, instance: s.instanceFor(c, name, at)}, ""
	}
	if launchType == types.LaunchTypeFargate {
		return placement{launchType: types.LaunchTypeFargate}, ""
	}
	for _, in := range c.instances {
		if in.status == "ACTIVE" && in.provider == "" && c.activeOn(in, at) < instanceSlots {
			return placement{launchType: types.LaunchTypeEc2, instance: in}, ""
		}
	}
	return placement{}, reasonNoInstances
}

// effectiveStrategy: the explicit strategy, else the launch type, else the
// cluster's default strategy, else the EC2 launch type.
func effectiveStrategy(c *cluster, lt types.LaunchType, strategy []types.CapacityProviderStrategyItem) (types.LaunchType, []types.CapacityProviderStrategyItem) {
	if len(strategy) > 0 {
		return "", strategy
	}
	if lt != "" {
		return lt, nil
	}
	if len(c.strategy) > 0 {
		return "", c.strategy
	}
	return types.LaunchTypeEc2, nil
}

// ---- RunTask / StopTask / ListTasks / DescribeTasks ----

func (s *Server) checkLaunch(c *cluster, td *taskDef, lt types.LaunchType, strategy []types.CapacityProviderStrategyItem, netcfg *types.NetworkConfiguration) error {
	if err := checkEnum("launchType", string(lt), "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"); err != nil {
		return err
	}
	if lt != "" && len(strategy) > 0 {
		return invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if len(strategy) > 0 {
		if err := s.checkStrategy(c, strategy, c.providers); err != nil {
			return err
		}
	}
	elt, est := effectiveStrategy(c, lt, strategy)
	fargate := elt == types.LaunchTypeFargate
	for _, it := range est {
		if isFargateProvider(str(it.CapacityProvider)) {
			fargate = true
		}
	}
	if fargate && !hasCompat(td.td.Compatibilities, "FARGATE") {
		return invalid("Task definition does not support launch_type FARGATE.")
	}
	if td.td.NetworkMode == types.NetworkModeAwsvpc {
		if netcfg == nil || netcfg.AwsvpcConfiguration == nil {
			return invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
	} else if netcfg != nil && netcfg.AwsvpcConfiguration != nil {
		return invalid("Network Configuration is not valid for the given networkMode of this task definition.")
	}
	if netcfg != nil && netcfg.AwsvpcConfiguration != nil {
		a := netcfg.AwsvpcConfiguration
		if len(a.Subnets) == 0 {
			return invalid("subnets can not be empty.")
		}
		if len(a.Subnets) > 16 {
			return invalid("subnets can have at most 16 items.")
		}
		if len(a.SecurityGroups) > 5 {
			return invalid("securityGroups can have at most 5 items.")
		}
		if err := checkEnum("assignPublicIp", string(a.AssignPublicIp), "ENABLED", "DISABLED"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) runTask(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.RunTaskInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.TaskDefinition) == "" {
		return nil, invalid("taskDefinition is required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	count := i32(in.Count, 1)
	if count < 1 || count > 10 {
		return nil, invalid("count must be between 1 and 10.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.StartedBy != nil && len(*in.StartedBy) > 128 {
		return nil, invalid("startedBy must be at most 128 characters.")
	}
	td := s.findTaskDef(str(in.TaskDefinition))
	if td == nil || td.td.Status == types.TaskDefinitionStatusDeleteInProgress {
		return nil, clientErr("TaskDefinition not found.")
	}
	if td.td.Status != types.TaskDefinitionStatusActive {
		return nil, clientErr("TaskDefinition is inactive")
	}
	if in.Overrides != nil {
		for _, co := range in.Overrides.ContainerOverrides {
			found := false
			for _, cd := range td.td.ContainerDefinitions {
				if str(cd.Name) == str(co.Name) {
					found = true
				}
			}
			if !found {
				return nil, invalid("Override for container named %s is not a container in the TaskDefinition.", str(co.Name))
			}
		}
	}
	if err := s.checkLaunch(c, td, in.LaunchType, in.CapacityProviderStrategy, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	lt, strategy := effectiveStrategy(c, in.LaunchType, in.CapacityProviderStrategy)
	out := &ecs.RunTaskOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	counts := map[string]int{}
	group := str(in.Group)
	if group == "" {
		group = "family:" + str(td.td.Family)
	}
	for i := int32(0); i < count; i++ {
		pl, reason := s.place(c, now, lt, strategy, counts)
		if reason != "" {
			if reason == reasonNoInstances && len(c.instances) == 0 && len(strategy) == 0 {
				return nil, invalid("No Container Instances were found in your cluster.")
			}
			out.Failures = append(out.Failures, types.Failure{Reason: ptr(reason)})
			continue
		}
		counts[pl.provider]++
		t := s.newTask(c, td, now, pl, true, in.Overrides, 0)
		t.group, t.startedBy, t.tags, t.netcfg = group, str(in.StartedBy), in.Tags, in.NetworkConfiguration
		t.enableExec = in.EnableExecuteCommand
		c.tasks[t.id] = t
		out.Tasks = append(out.Tasks, s.taskOut(t, now, false))
	}
	return out, nil
}

func (s *Server) findTask(c *cluster, id string) *task {
	if strings.HasPrefix(id, "arn:") {
		kind, path, ok := resourceOf(id)
		if !ok || kind != "task" {
			return nil
		}
		cl, tid, found := strings.Cut(path, "/")
		if !found || cl != c.name {
			return nil
		}
		id = tid
	}
	return c.tasks[id]
}

func (s *Server) stopTask(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.StopTaskInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if str(in.Task) == "" {
		return nil, invalid("task is required.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	t := s.findTask(c, str(in.Task))
	if t == nil {
		return nil, invalid("The referenced task was not found.")
	}
	if t.active(now) {
		reason := str(in.Reason)
		if reason == "" {
			reason = "Task stopped by user"
		}
		t.stop(now, types.TaskStopCodeUserInitiated, reason)
	}
	return &ecs.StopTaskOutput{Task: ptr(s.taskOut(t, now, false))}, nil
}

func (s *Server) listTasks(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListTasksInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	if err := checkEnum("desiredStatus", string(in.DesiredStatus), "RUNNING", "PENDING", "STOPPED"); err != nil {
		return nil, err
	}
	if err := checkEnum("launchType", string(in.LaunchType), "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"); err != nil {
		return nil, err
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	if in.StartedBy != nil && (in.ServiceName != nil || in.Family != nil || in.ContainerInstance != nil) {
		return nil, invalid("startedBy must be the only filter when it is specified.")
	}
	var svc *service
	if in.ServiceName != nil {
		svc = c.services[lastSegment(*in.ServiceName)]
		if svc == nil {
			return nil, errServiceNotFound()
		}
	}
	want := string(in.DesiredStatus)
	if want == "" {
		want = "RUNNING"
	}
	var list []*task
	for _, t := range c.tasks {
		ds := t.desiredStatus(now)
		if want == "PENDING" {
			if !t.pending(now) || ds != "RUNNING" {
				continue
			}
		} else if ds != want {
			continue
		}
		if svc != nil && t.svc != svc {
			continue
		}
		if in.Family != nil && str(t.td.td.Family) != *in.Family {
			continue
		}
		if in.StartedBy != nil && t.startedBy != *in.StartedBy {
			continue
		}
		if in.LaunchType != "" && t.launchType != in.LaunchType {
			continue
		}
		if in.ContainerInstance != nil && (t.instance == nil || (t.instance.arn != *in.ContainerInstance && t.instance.id != *in.ContainerInstance)) {
			continue
		}
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].createdAt.Equal(list[j].createdAt) {
			return list[i].createdAt.Before(list[j].createdAt)
		}
		return list[i].id < list[j].id
	})
	arns := make([]string, len(list))
	for i, t := range list {
		arns[i] = t.arn
	}
	page, next, err := awsproto.Paginate(arns, str(in.NextToken), int(i32(in.MaxResults, 0)), 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListTasksOutput{TaskArns: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) describeTasks(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeTasksInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, invalid("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalid("Tasks can have at most 100 items.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	tags := false
	for _, f := range in.Include {
		if f == types.TaskFieldTags {
			tags = true
		}
	}
	out := &ecs.DescribeTasksOutput{Tasks: []types.Task{}, Failures: []types.Failure{}}
	for _, id := range in.Tasks {
		t := s.findTask(c, id)
		if t == nil {
			arn := id
			if !strings.HasPrefix(id, "arn:") {
				arn = s.arn("task/" + c.name + "/" + id)
			}
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			continue
		}
		out.Tasks = append(out.Tasks, s.taskOut(t, now, tags))
	}
	return out, nil
}

// ---- container instances (Auto Scaling group providers) ----

const instanceSlots = 4

type instance struct {
	id, arn, ec2ID string
	provider       string
	status         string
	registeredAt   time.Time
	tags           []types.Tag
}

// instanceFor returns a container instance of the provider with a free slot,
// registering a new one (managed scaling) when all are full.
func (s *Server) instanceFor(c *cluster, provider string, at time.Time) *instance {
	for _, in := range c.instances {
		if in.provider == provider && in.status == "ACTIVE" && c.activeOn(in, at) < instanceSlots {
			return in
		}
	}
	id := hexID(32)
	in := &instance{id: id, arn: s.arn("container-instance/" + c.name + "/" + id), ec2ID: "i-0" + hexID(16),
		provider: provider, status: "ACTIVE", registeredAt: at}
	c.instances = append(c.instances, in)
	return in
}

func (s *Server) instanceOut(c *cluster, in *instance, now time.Time) types.ContainerInstance {
	running, pending := int32(0), int32(0)
	for _, t := range c.tasks {
		if t.instance != in {
			continue
		}
		switch {
		case t.running(now):
			running++
		case t.pending(now) && t.active(now):
			pending++
		}
	}
	out := types.ContainerInstance{
		ContainerInstanceArn: ptr(in.arn), Ec2InstanceId: ptr(in.ec2ID), Status: ptr(in.status),
		AgentConnected: in.status == "ACTIVE", RunningTasksCount: running, PendingTasksCount: pending,
		RegisteredAt: ptr(in.registeredAt), Version: 1,
		VersionInfo: &types.VersionInfo{AgentVersion: ptr("1.89.0"), DockerVersion: ptr("DockerVersion: 25.0.8")},
		RegisteredResources: []types.Resource{
			{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: 2048},
			{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: 3904},
		},
		RemainingResources: []types.Resource{
			{Name: ptr("CPU"), Type: ptr("INTEGER"), IntegerValue: 2048 - 512*(running+pending)},
			{Name: ptr("MEMORY"), Type: ptr("INTEGER"), IntegerValue: 3904 - 976*(running+pending)},
		},
		Attributes: []types.Attribute{{Name: ptr("ecs.capability.spot"), Value: nil}},
	}
	if !isSpotProvider(in.provider) {
		out.Attributes = nil
	}
	if in.provider != "" {
		out.CapacityProviderName = ptr(in.provider)
	}
	return out
}

func (s *Server) listContainerInstances(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.ListContainerInstancesInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	if err := checkEnum("status", string(in.Status), "ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"); err != nil {
		return nil, err
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, ci := range c.instances {
		if in.Status != "" && string(in.Status) != ci.status {
			continue
		}
		arns = append(arns, ci.arn)
	}
	page, next, err := awsproto.Paginate(arns, str(in.NextToken), int(i32(in.MaxResults, 0)), 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListContainerInstancesOutput{ContainerInstanceArns: append([]string{}, page...)}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) describeContainerInstances(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeContainerInstancesInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) == 0 {
		return nil, invalid("containerInstances cannot be empty.")
	}
	if len(in.ContainerInstances) > 100 {
		return nil, invalid("containerInstances can have at most 100 items.")
	}
	c, err := s.resolveCluster(str(in.Cluster))
	if err != nil {
		return nil, err
	}
	out := &ecs.DescribeContainerInstancesOutput{ContainerInstances: []types.ContainerInstance{}, Failures: []types.Failure{}}
	for _, id := range in.ContainerInstances {
		var found *instance
		for _, ci := range c.instances {
			if ci.arn == id || ci.id == id {
				found = ci
			}
		}
		if found == nil {
			arn := id
			if !strings.HasPrefix(id, "arn:") {
				arn = s.arn("container-instance/" + c.name + "/" + id)
			}
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			continue
		}
		ci := s.instanceOut(c, found, now)
		for _, f := range in.Include {
			if f == types.ContainerInstanceFieldTags {
				ci.Tags = append([]types.Tag{}, found.tags...)
			}
		}
		out.ContainerInstances = append(out.ContainerInstances, ci)
	}
	return out, nil
}

// activeOn counts the tasks placed on a container instance that are not stopping.
func (c *cluster) activeOn(in *instance, at time.Time) int {
	n := 0
	for _, t := range c.tasks {
		if t.instance == in && t.active(at) {
			n++
		}
	}
	return n
}
