package ecsemu

import (
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// svcDeployment is one entry of the service deployments API: a change of the
// service (CreateService, or UpdateService that starts a deployment) from its
// source revisions to its target revision, including a rollback of it.
type svcDeployment struct {
	arn                  string
	svc                  *service
	createdAt, startedAt time.Time
	updatedAt            time.Time
	finishedAt           *time.Time
	stoppedAt            *time.Time
	target               *deployment
	sources              []*deployment
	status               types.ServiceDeploymentStatus
	reason               string
	cfg                  types.DeploymentConfiguration
	breakerStatus        types.ServiceDeploymentRollbackMonitorsStatus
	failureCount         int32
	alarmsTriggered      []string
	rollbackDep          *deployment
	rollbackInfo         *types.Rollback
}

func (sd *svcDeployment) ongoing() bool {
	switch sd.status {
	case types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress,
		types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress,
		types.ServiceDeploymentStatusStopRequested:
		return true
	}
	return false
}

// finish records that deployment d of sd completed.
func (sd *svcDeployment) finish(t time.Time, d *deployment) {
	switch {
	case !sd.ongoing():
		return
	case d == sd.rollbackDep:
		sd.status = types.ServiceDeploymentStatusRollbackSuccessful
	case sd.status == types.ServiceDeploymentStatusStopRequested:
		sd.status = types.ServiceDeploymentStatusStopped
		sd.stoppedAt = ptr(t)
	default:
		sd.status = types.ServiceDeploymentStatusSuccessful
		sd.reason = ""
	}
	if sd.breakerStatus != types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		sd.breakerStatus = types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
	}
	sd.finishedAt = ptr(t)
	sd.updatedAt = t
}

func (s *Server) revisionSummary(svc *service, d *deployment, now time.Time) types.ServiceRevisionSummary {
	out := types.ServiceRevisionSummary{Arn: ptr(d.revArn)}
	for _, t := range svc.depTasks(d) {
		switch {
		case t.running(now):
			out.RunningTaskCount++
		case t.pending(now) && t.active(now):
			out.PendingTaskCount++
		}
		if t.active(now) {
			out.RequestedTaskCount++
		}
	}
	if d.status == "PRIMARY" {
		out.RequestedTaskCount = svc.desired
	}
	return out
}

func (s *Server) sdOut(sd *svcDeployment, now time.Time) types.ServiceDeployment {
	svc := sd.svc
	out := types.ServiceDeployment{
		ServiceDeploymentArn: ptr(sd.arn), ServiceArn: ptr(svc.arn), ClusterArn: ptr(svc.c.arn),
		CreatedAt: ptr(sd.createdAt), StartedAt: ptr(sd.startedAt), UpdatedAt: ptr(sd.updatedAt),
		FinishedAt: sd.finishedAt, StoppedAt: sd.stoppedAt, Status: sd.status,
		TargetServiceRevision:   ptr(s.revisionSummary(svc, sd.target, now)),
		SourceServiceRevisions:  []types.ServiceRevisionSummary{},
		DeploymentConfiguration: ptr(sd.cfg),
		Rollback:                sd.rollbackInfo,
	}
	if sd.reason != "" {
		out.StatusReason = ptr(sd.reason)
	}
	for _, d := range sd.sources {
		out.SourceServiceRevisions = append(out.SourceServiceRevisions, s.revisionSummary(svc, d, now))
	}
	if sd.ongoing() {
		out.LifecycleStage = types.ServiceDeploymentLifecycleStageScaleUp
		if len(svc.depTasks(sd.target)) > 0 && sd.target.status != "PRIMARY" {
			out.LifecycleStage = types.ServiceDeploymentLifecycleStageCleanUp
		}
		if st := sd.target.shift; st != nil && sd.status == types.ServiceDeploymentStatusInProgress {
			out.LifecycleStage = st.lifecycleStage(svc, sd.target, now)
		}
	}
	cb := sd.cfg.DeploymentCircuitBreaker
	bs := types.ServiceDeploymentCircuitBreaker{Status: types.ServiceDeploymentRollbackMonitorsStatusDisabled}
	if cb != nil && cb.Enable {
		bs.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoring
		if sd.breakerStatus != "" {
			bs.Status = sd.breakerStatus
		}
		bs.Threshold = threshold(cb, svc.desired)
		bs.FailureCount = sd.target.failedTasks
		if sd.failureCount > bs.FailureCount {
			bs.FailureCount = sd.failureCount
		}
	}
	out.DeploymentCircuitBreaker = &bs
	as := types.ServiceDeploymentAlarms{Status: types.ServiceDeploymentRollbackMonitorsStatusDisabled}
	if a := sd.cfg.Alarms; a != nil && a.Enable {
		as.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoring
		if !sd.ongoing() {
			as.Status = types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
		}
		as.AlarmNames = a.AlarmNames
		as.TriggeredAlarmNames = append([]string{}, sd.alarmsTriggered...)
		if len(sd.alarmsTriggered) > 0 {
			as.Status = types.ServiceDeploymentRollbackMonitorsStatusTriggered
		}
	}
	out.Alarms = &as
	return out
}

func (s *Server) listServiceDeployments(now time.Time, dec awsproto.Decoder) (any, error) {
	var in struct {
		Service   string   `json:"service"`
		Cluster   string   `json:"cluster"`
		Status    []string `json:"status"`
		CreatedAt *struct {
			Before *awsproto.EpochTime `json:"before"`
			After  *awsproto.EpochTime `json:"after"`
		} `json:"createdAt"`
		NextToken  string `json:"nextToken"`
		MaxResults *int32 `json:"maxResults"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Service == "" {
		return nil, invalid("service is required.")
	}
	// botocore ecs ListServiceDeploymentsRequest.maxResults: 1..100 (20 by default).
	if err := checkMaxResults(in.MaxResults, 100); err != nil {
		return nil, err
	}
	for _, st := range in.Status {
		if err := checkEnum("status", st, "PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"); err != nil {
			return nil, err
		}
	}
	c, err := s.resolveCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	svc := s.resolveService(c, in.Service)
	if svc == nil {
		return nil, errServiceNotFound()
	}
	var list []*svcDeployment
	for _, sd := range s.sdeps {
		if sd.svc != svc {
			continue
		}
		if len(in.Status) > 0 {
			match := false
			for _, st := range in.Status {
				if string(sd.status) == st {
					match = true
				}
			}
			if !match {
				continue
			}
		}
		if in.CreatedAt != nil {
			if in.CreatedAt.Before != nil && !sd.createdAt.Before(time.Time(*in.CreatedAt.Before)) {
				continue
			}
			if in.CreatedAt.After != nil && !sd.createdAt.After(time.Time(*in.CreatedAt.After)) {
				continue
			}
		}
		list = append(list, sd)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].createdAt.Equal(list[j].createdAt) {
			return list[i].createdAt.After(list[j].createdAt)
		}
		return list[i].arn > list[j].arn
	})
	page, next, err := awsproto.Paginate(list, in.NextToken, int(i32(in.MaxResults, 20)), 100, "InvalidParameterException")
	if err != nil {
		return nil, err
	}
	out := &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeploymentBrief{}}
	for _, sd := range page {
		b := types.ServiceDeploymentBrief{
			ServiceDeploymentArn: ptr(sd.arn), ServiceArn: ptr(svc.arn), ClusterArn: ptr(c.arn),
			CreatedAt: ptr(sd.createdAt), StartedAt: ptr(sd.startedAt), FinishedAt: sd.finishedAt,
			TargetServiceRevisionArn: ptr(sd.target.revArn), Status: sd.status,
		}
		if sd.reason != "" {
			b.StatusReason = ptr(sd.reason)
		}
		out.ServiceDeployments = append(out.ServiceDeployments, b)
	}
	if next != "" {
		out.NextToken = ptr(next)
	}
	return out, nil
}

func (s *Server) describeServiceDeployments(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.DescribeServiceDeploymentsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.ServiceDeploymentArns) == 0 {
		return nil, invalid("serviceDeploymentArns cannot be empty.")
	}
	if len(in.ServiceDeploymentArns) > 20 {
		return nil, invalid("serviceDeploymentArns can have at most 20 items.")
	}
	out := &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeployment{}, Failures: []types.Failure{}}
	for _, arn := range in.ServiceDeploymentArns {
		kind, _, ok := resourceOf(arn)
		if !ok || kind != "service-deployment" {
			return nil, invalid("Invalid service deployment ARN: %s", arn)
		}
		sd := s.sdeps[arn]
		if sd == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, s.sdOut(sd, now))
	}
	return out, nil
}

func (s *Server) stopServiceDeployment(now time.Time, dec awsproto.Decoder) (any, error) {
	var in ecs.StopServiceDeploymentInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	arn := str(in.ServiceDeploymentArn)
	if arn == "" {
		return nil, invalid("serviceDeploymentArn is required.")
	}
	if err := checkEnum("stopType", string(in.StopType), "ABORT", "ROLLBACK"); err != nil {
		return nil, err
	}
	kind, _, ok := resourceOf(arn)
	if !ok || kind != "service-deployment" || !strings.Contains(arn, ":service-deployment/") {
		return nil, invalid("Invalid service deployment ARN: %s", arn)
	}
	sd := s.sdeps[arn]
	if sd == nil {
		return nil, awsproto.Errf("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", arn)
	}
	svc := sd.svc
	if svc.status != "ACTIVE" || (sd.status != types.ServiceDeploymentStatusInProgress && sd.status != types.ServiceDeploymentStatusPending) || sd.target != svc.primary() {
		return nil, awsproto.Errf("ConflictException", "The service deployment %s is in %s status and cannot be stopped. Only an in-progress service deployment can be stopped.", arn, sd.status)
	}
	p := sd.target
	if in.StopType == types.StopServiceDeploymentStopTypeAbort {
		sd.status = types.ServiceDeploymentStatusStopped
		sd.reason = "Service deployment stopped by user."
		sd.stoppedAt, sd.finishedAt = ptr(now), ptr(now)
		sd.updatedAt = now
		return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: ptr(arn)}, nil
	}
	var target *deployment
	if len(sd.sources) > 0 {
		target = sd.sources[0]
	}
	if target == nil {
		return nil, awsproto.Errf("ConflictException", "The service deployment %s has no previous service revision to roll back to.", arn)
	}
	p.rollout = types.DeploymentRolloutStateFailed
	p.reason = "ECS deployment stopped by user: rolling back to deploymentId " + target.id + "."
	p.updatedAt = now
	s.rollBack(svc, sd, target, now, "ECS deployment rolling back to deploymentId "+target.id+".", "Rollback requested by StopServiceDeployment.")
	s.schedule(svc.c, svc, now)
	return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: ptr(arn)}, nil
}
