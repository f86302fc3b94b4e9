package deploy

// `opsctl deploy status --cluster C [--service S]`: per service, in plain
// words, what it is doing: running / desired / pending, its deployments and
// their rollout state, tasks on spot vs on-demand capacity, the latest
// service events and why tasks stopped, and its auto scaling bounds and
// last scaling activity.
//
// Calls are batched to what the APIs allow, so a 50-service cluster costs a
// handful of calls, not one per service: DescribeServices takes 10 services,
// DescribeTasks 100 tasks, DescribeScalableTargets 50 resource ids, and the
// tasks and scaling activities are listed once per cluster.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// StatusOptions are the inputs of Status.
type StatusOptions struct {
	Cluster string `json:"cluster"`
	Service string `json:"service,omitempty"`
	// Events is how many of the latest service events to show (default 5).
	Events int `json:"events"`
}

// DeploymentStatus is one deployment of a service.
type DeploymentStatus struct {
	ID             string    `json:"id"`
	Status         string    `json:"status"`
	RolloutState   string    `json:"rollout_state"`
	Reason         string    `json:"reason,omitempty"`
	TaskDefinition string    `json:"task_definition"`
	Desired        int32     `json:"desired"`
	Running        int32     `json:"running"`
	Pending        int32     `json:"pending"`
	Failed         int32     `json:"failed_tasks"`
	CreatedAt      time.Time `json:"created_at"`
}

// Event is a service event.
type Event struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// StoppedTask is a recently stopped task of a service.
type StoppedTask struct {
	Task      string    `json:"task"`
	StopCode  string    `json:"stop_code"`
	Reason    string    `json:"reason"`
	Container string    `json:"container_reason,omitempty"`
	StoppedAt time.Time `json:"stopped_at"`
}

// ScalingActivity is an Application Auto Scaling activity.
type ScalingActivity struct {
	Time        time.Time `json:"time"`
	Description string    `json:"description"`
	Cause       string    `json:"cause"`
	Status      string    `json:"status"`
}

// ScalingStatus is a service's auto scaling.
type ScalingStatus struct {
	Min          int32            `json:"min"`
	Max          int32            `json:"max"`
	LastActivity *ScalingActivity `json:"last_activity,omitempty"`
}

// ServiceStatus is one service.
type ServiceStatus struct {
	Service        string             `json:"service"`
	Status         string             `json:"status"`
	Summary        string             `json:"summary"`
	Desired        int32              `json:"desired"`
	Running        int32              `json:"running"`
	Pending        int32              `json:"pending"`
	TaskDefinition string             `json:"task_definition"`
	Deployments    []DeploymentStatus `json:"deployments"`
	SpotTasks      int                `json:"spot_tasks"`
	OnDemandTasks  int                `json:"on_demand_tasks"`
	Strategy       []StrategyItem     `json:"capacity_provider_strategy"`
	SpotFallback   string             `json:"spot_fallback_since,omitempty"`
	Events         []Event            `json:"events"`
	Stopped        []StoppedTask      `json:"stopped_tasks"`
	Scaling        *ScalingStatus     `json:"auto_scaling,omitempty"`
	LoadBalancer   *LBStatus          `json:"load_balancer,omitempty"` // lb_status.go
}

// StatusResult is the status of a cluster's services.
type StatusResult struct {
	Cluster  string          `json:"cluster"`
	Services []ServiceStatus `json:"services"`
}

// Status reports the services of a cluster (or one service).
func Status(ctx context.Context, d Deps, o StatusOptions) (StatusResult, error) {
	if err := ValidateClusterName(o.Cluster); err != nil {
		return StatusResult{}, err
	}
	if o.Service != "" && !serviceNameRe.MatchString(o.Service) {
		return StatusResult{}, opserr.Usagef("--service %q: not a service name", o.Service)
	}
	if o.Events <= 0 {
		o.Events = 5
	}
	res := StatusResult{Cluster: o.Cluster, Services: []ServiceStatus{}}
	svcs, err := describeAll(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	if len(svcs) == 0 {
		return res, nil
	}
	running, stopped, err := clusterTasks(ctx, d, o.Cluster)
	if err != nil {
		return res, err
	}
	scaling, err := scalingOf(ctx, d, o.Cluster, svcs)
	if err != nil {
		return res, err
	}
	for _, s := range svcs {
		res.Services = append(res.Services, serviceStatus(o.Cluster, s, running, stopped, scaling, o.Events))
	}
	return res, addLBStatus(ctx, d, o.Cluster, svcs, res.Services)
}

// describeAll lists and describes a cluster's services (10 per call).
func describeAll(ctx context.Context, d Deps, cluster, only string) ([]ecstypes.Service, error) {
	var names []string
	if only != "" {
		names = []string{only}
	} else {
		p := ecs.NewListServicesPaginator(d.ECS, &ecs.ListServicesInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				if strings.Contains(err.Error(), "ClusterNotFoundException") {
					return nil, fmt.Errorf("cluster %s not found in %s", cluster, d.Region)
				}
				return nil, fmt.Errorf("list services of %s: %w", cluster, err)
			}
			names = append(names, out.ServiceArns...)
		}
	}
	var svcs []ecstypes.Service
	for i := 0; i < len(names); i += 10 {
		out, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names[i:min(i+10, len(names))],
			Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
		if err != nil {
			if strings.Contains(err.Error(), "ClusterNotFoundException") {
				return nil, fmt.Errorf("cluster %s not found in %s", cluster, d.Region)
			}
			return nil, fmt.Errorf("describe services of %s: %w", cluster, err)
		}
		svcs = append(svcs, out.Services...)
		if only != "" && len(out.Services) == 0 {
			return nil, fmt.Errorf("service %s not found in cluster %s", only, cluster)
		}
	}
	sort.Slice(svcs, func(i, j int) bool { return aws.ToString(svcs[i].ServiceName) < aws.ToString(svcs[j].ServiceName) })
	return svcs, nil
}

// clusterTasks lists the cluster's running and recently stopped tasks, by
// service name (the task group "service:NAME").
func clusterTasks(ctx context.Context, d Deps, cluster string) (running, stopped map[string][]ecstypes.Task, err error) {
	running, stopped = map[string][]ecstypes.Task{}, map[string][]ecstypes.Task{}
	for _, st := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		var arns []string
		p := ecs.NewListTasksPaginator(d.ECS, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: st, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("list tasks of %s: %w", cluster, err)
			}
			arns = append(arns, out.TaskArns...)
		}
		for i := 0; i < len(arns); i += 100 {
			out, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[i:min(i+100, len(arns))]})
			if err != nil {
				return nil, nil, fmt.Errorf("describe tasks of %s: %w", cluster, err)
			}
			for _, t := range out.Tasks {
				svc, ok := strings.CutPrefix(aws.ToString(t.Group), "service:")
				if !ok {
					continue
				}
				if st == ecstypes.DesiredStatusRunning {
					running[svc] = append(running[svc], t)
				} else {
					stopped[svc] = append(stopped[svc], t)
				}
			}
		}
	}
	return running, stopped, nil
}

// scalingOf reads the services' scalable targets (50 per call) and the
// latest scaling activity of each.
func scalingOf(ctx context.Context, d Deps, cluster string, svcs []ecstypes.Service) (map[string]*ScalingStatus, error) {
	out := map[string]*ScalingStatus{}
	if d.AppScaling == nil {
		return out, nil
	}
	var ids []string
	for _, s := range svcs {
		ids = append(ids, resourceID(cluster, aws.ToString(s.ServiceName)))
	}
	for i := 0; i < len(ids); i += 50 {
		p := aas.NewDescribeScalableTargetsPaginator(d.AppScaling, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceIds: ids[i:min(i+50, len(ids))], ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe scalable targets: %w", err)
			}
			for _, t := range page.ScalableTargets {
				out[aws.ToString(t.ResourceId)] = &ScalingStatus{Min: aws.ToInt32(t.MinCapacity), Max: aws.ToInt32(t.MaxCapacity)}
			}
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	// The latest activity per target: one listing per cluster, newest first;
	// with one service, only its own activities.
	in := &aas.DescribeScalingActivitiesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, MaxResults: aws.Int32(50)}
	if len(ids) == 1 {
		in.ResourceId = aws.String(ids[0])
	}
	missing := len(out)
	p := aas.NewDescribeScalingActivitiesPaginator(d.AppScaling, in)
	for pages := 0; p.HasMorePages() && missing > 0 && pages < 5; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe scaling activities: %w", err)
		}
		for _, a := range page.ScalingActivities {
			s := out[aws.ToString(a.ResourceId)]
			if s == nil || s.LastActivity != nil {
				continue
			}
			s.LastActivity = &ScalingActivity{Time: aws.ToTime(a.StartTime), Description: aws.ToString(a.Description), Cause: aws.ToString(a.Cause), Status: string(a.StatusCode)}
			missing--
		}
	}
	return out, nil
}

func serviceStatus(cluster string, s ecstypes.Service, running, stopped map[string][]ecstypes.Task, scaling map[string]*ScalingStatus, nEvents int) ServiceStatus {
	name := aws.ToString(s.ServiceName)
	st := ServiceStatus{Service: name, Status: aws.ToString(s.Status), Desired: s.DesiredCount, Running: s.RunningCount, Pending: s.PendingCount,
		TaskDefinition: shortTD(aws.ToString(s.TaskDefinition)), Strategy: toItems(s.CapacityProviderStrategy),
		SpotFallback: serviceTags(&s)[TagSpotFallback], Deployments: []DeploymentStatus{}, Events: []Event{}, Stopped: []StoppedTask{}}
	for _, dp := range s.Deployments {
		st.Deployments = append(st.Deployments, DeploymentStatus{ID: aws.ToString(dp.Id), Status: aws.ToString(dp.Status), RolloutState: string(dp.RolloutState),
			Reason: aws.ToString(dp.RolloutStateReason), TaskDefinition: shortTD(aws.ToString(dp.TaskDefinition)), Desired: dp.DesiredCount,
			Running: dp.RunningCount, Pending: dp.PendingCount, Failed: dp.FailedTasks, CreatedAt: aws.ToTime(dp.CreatedAt)})
	}
	for _, t := range running[name] {
		if aws.ToString(t.LastStatus) == "STOPPED" {
			continue
		}
		if isSpotProvider(aws.ToString(t.CapacityProviderName)) {
			st.SpotTasks++
		} else {
			st.OnDemandTasks++
		}
	}
	for i, e := range s.Events {
		if i >= nEvents {
			break
		}
		st.Events = append(st.Events, Event{Time: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	stp := stopped[name]
	sort.Slice(stp, func(i, j int) bool { return aws.ToTime(stp[i].StoppedAt).After(aws.ToTime(stp[j].StoppedAt)) })
	for i, t := range stp {
		if i >= 3 {
			break
		}
		ct := ""
		for _, c := range t.Containers {
			if r := aws.ToString(c.Reason); r != "" {
				ct = r
			} else if c.ExitCode != nil && *c.ExitCode != 0 {
				ct = fmt.Sprintf("%s exited with code %d", aws.ToString(c.Name), *c.ExitCode)
			}
		}
		st.Stopped = append(st.Stopped, StoppedTask{Task: arnTail(aws.ToString(t.TaskArn)), StopCode: string(t.StopCode), Reason: aws.ToString(t.StoppedReason),
			Container: ct, StoppedAt: aws.ToTime(t.StoppedAt)})
	}
	if sc := scaling[resourceID(cluster, name)]; sc != nil {
		st.Scaling = sc
	}
	st.Summary = summarize(st)
	return st
}

func arnTail(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// summarize says in plain words what a service is doing.
func summarize(st ServiceStatus) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d of %d running", st.Running, st.Desired))
	if st.Pending > 0 {
		parts[0] += fmt.Sprintf(", %d pending", st.Pending)
	}
	if st.SpotTasks+st.OnDemandTasks > 0 {
		parts = append(parts, fmt.Sprintf("%d on spot, %d on-demand", st.SpotTasks, st.OnDemandTasks))
	}
	for _, dp := range st.Deployments {
		if dp.Status != "PRIMARY" {
			continue
		}
		switch dp.RolloutState {
		case "IN_PROGRESS":
			s := fmt.Sprintf("rolling out %s (%d/%d running", dp.TaskDefinition, dp.Running, dp.Desired)
			if dp.Failed > 0 {
				s += fmt.Sprintf(", %d tasks failed", dp.Failed)
			}
			parts = append(parts, s+")")
		case "FAILED":
			parts = append(parts, "deployment "+dp.ID+" failed: "+dp.Reason)
		case "COMPLETED":
			if st.Running == st.Desired {
				parts = append(parts, "steady on "+dp.TaskDefinition)
			}
		}
		if strings.Contains(dp.Reason, "rolling back") {
			parts = append(parts, "rolling back: "+dp.Reason)
		}
	}
	if st.SpotFallback != "" {
		parts = append(parts, "on on-demand capacity since "+st.SpotFallback+" (spot could not place tasks)")
	} else if placementFailing(st.Running, st.Pending, st.Desired, st.Events) {
		parts = append(parts, "cannot place tasks: "+latestPlacementFailure(st.Events))
	}
	if len(st.Stopped) > 0 && st.Running < st.Desired {
		t := st.Stopped[0]
		why := t.Reason
		if t.Container != "" {
			why += " (" + t.Container + ")"
		}
		parts = append(parts, "last stopped task: "+why)
	}
	return strings.Join(parts, "; ")
}

// placementFailing: fewer tasks than desired, and the newest "unable to
// place a task" event is newer than the newest steady-state event (events
// are newest first, as DescribeServices returns them).
func placementFailing(running, pending, desired int32, events []Event) bool {
	if running+pending >= desired {
		return false
	}
	for _, e := range events {
		switch {
		case strings.Contains(e.Message, "was unable to place a task"):
			return true
		case strings.Contains(e.Message, "has reached a steady state"):
			return false
		}
	}
	return false
}

func latestPlacementFailure(events []Event) string {
	for _, e := range events {
		if strings.Contains(e.Message, "was unable to place a task") {
			return e.Message
		}
	}
	return ""
}
