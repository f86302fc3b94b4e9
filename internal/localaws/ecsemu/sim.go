package ecsemu

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// advance runs every cluster's scheduler up to now.
func (s *Server) advance(now time.Time) {
	for _, name := range sortedKeys(s.clusters) {
		if c := s.clusters[name]; c.status == "ACTIVE" {
			s.advanceCluster(c, now)
		}
	}
}

func (s *Server) advanceCluster(c *cluster, now time.Time) {
	for {
		next := c.simAt.Truncate(tick).Add(tick)
		if next.After(now) {
			break
		}
		s.applySpotEvents(c, next)
		busy := false
		for _, name := range c.serviceOrder {
			if s.schedule(c, c.services[name], next) {
				busy = true
			}
		}
		s.scaleIn(c, next)
		c.simAt = next
		if !busy && !c.transitionsAfter(next) {
			// Nothing changes until now or the next spot event: skip ahead.
			target := now.Truncate(tick)
			for _, ev := range c.spotEvents {
				if t := ev.at.Truncate(tick); t.Before(target) {
					target = t
				}
			}
			if target.After(c.simAt) {
				c.simAt = target
			}
		}
	}
	s.applySpotEvents(c, now)
	s.writeTaskLogs(c, now)
	for id, t := range c.tasks {
		if t.stoppedAt != nil && now.Sub(*t.stoppedAt) > keepStopped && (t.svc == nil || t.sawStopped) {
			delete(c.tasks, id)
		}
	}
}

// transitionsAfter: some task changes state after t by its own timeline.
func (c *cluster) transitionsAfter(t time.Time) bool {
	for _, tk := range c.tasks {
		for _, at := range []*time.Time{tk.startedAt, tk.healthyAt, tk.stopAt, tk.stoppedAt} {
			if at != nil && at.After(t) {
				return true
			}
		}
		if tk.createdAt.Add(pulledAfter).After(t) {
			return true
		}
	}
	return false
}

// scaleIn deregisters container instances with no active task (managed
// scaling scales an empty Auto Scaling group instance in).
func (s *Server) scaleIn(c *cluster, at time.Time) {
	var keep []*instance
	for _, in := range c.instances {
		used := false
		for _, t := range c.tasks {
			if t.instance == in && !t.stoppedBy(at) {
				used = true
			}
		}
		if used {
			keep = append(keep, in)
		}
	}
	c.instances = keep
}

func (s *Server) applySpotEvents(c *cluster, at time.Time) {
	var rest []spotEvent
	for _, ev := range c.spotEvents {
		if ev.at.After(at) {
			rest = append(rest, ev)
			continue
		}
		interrupt := ev.available == nil
		if ev.available != nil {
			if !*ev.available {
				interrupt = !c.spotDown
			}
			c.spotDown = !*ev.available
		}
		if interrupt {
			for _, t := range c.tasks {
				if t.spot && t.active(ev.at) {
					t.stop(ev.at, types.TaskStopCodeSpotInterruption, "Your Spot Task was interrupted.")
				}
			}
		}
	}
	c.spotEvents = rest
}

// schedule is one pass of the service scheduler at time t. It reports whether
// the service is still converging (so the caller keeps ticking).
func (s *Server) schedule(c *cluster, svc *service, t time.Time) bool {
	if svc == nil || svc.status == "INACTIVE" {
		return false
	}
	busy := false
	p := svc.primary()
	s.syncTargets(svc, t)

	// 1. What happened to the tasks since the last pass.
	for _, tk := range svc.tasks() {
		d := tk.dep
		if !tk.sawHealthy && tk.healthy(t) {
			tk.sawHealthy = true
			busy = true
			cb := svc.cfg.DeploymentCircuitBreaker
			if d != nil && (cb == nil || cb.ResetOnHealthyTask == nil || *cb.ResetOnHealthyTask) {
				d.failedTasks = 0
			}
		}
		if !tk.sawStopped && tk.stopping(t) {
			tk.sawStopped = true
			busy = true
			if tk.stopReason == "Task failed container health checks" {
				svc.event(*tk.stopAt, fmt.Sprintf("(service %s) (task %s) failed container health checks.", svc.name, tk.id))
				svc.event(*tk.stopAt, fmt.Sprintf("(service %s) has stopped 1 running tasks: (task %s).", svc.name, tk.id))
			}
			if tk.failure && !tk.sawHealthy && d != nil && d.rollout == types.DeploymentRolloutStateInProgress {
				d.failedTasks++
				d.updatedAt = t
			}
		}
	}

	if svc.status == "DRAINING" {
		for _, tk := range svc.tasks() {
			if tk.active(t) {
				tk.stop(t, types.TaskStopCodeServiceSchedulerInitiated, "Service is being deleted")
				busy = true
			}
		}
		done := true
		for _, tk := range svc.tasks() {
			if !tk.stoppedBy(t) {
				done = false
			}
		}
		if done {
			svc.status = "INACTIVE"
			return busy
		}
		return true
	}

	// 2. The circuit breaker.
	cb := svc.cfg.DeploymentCircuitBreaker
	if p.rollout == types.DeploymentRolloutStateInProgress && (cb == nil || !cb.Enable) && p.failedTasks >= threshold(cb, svc.desired) {
		// Without the breaker ECS keeps trying and says so (service event
		// messages, "service (service-name) is unable to consistently start
		// tasks successfully.").
		// Wording: "service (service-name) is unable to consistently start
		// tasks successfully." in https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html
		if svc.eventOnce(t, fmt.Sprintf("(service %s) is unable to consistently start tasks successfully.", svc.name)) {
			busy = true
		}
	}
	if p.rollout == types.DeploymentRolloutStateInProgress && cb != nil && cb.Enable && p.failedTasks >= threshold(cb, svc.desired) {
		s.failDeployment(svc, p, t, cb.Rollback)
		p = svc.primary()
		busy = true
	}

	// Deployment alarms: one in ALARM fails the deployment (an alarm already
	// in ALARM when it started is ignored for it).
	if a := svc.cfg.Alarms; p.rollout == types.DeploymentRolloutStateInProgress && a != nil && a.Enable && s.AlarmState != nil {
		var fired []string
		for _, n := range a.AlarmNames {
			if s.AlarmState(n) == "ALARM" && !p.alarmsAtStart[n] {
				fired = append(fired, n)
			}
		}
		if len(fired) > 0 {
			s.failOnAlarms(svc, p, t, fired, a.Rollback)
			p = svc.primary()
			busy = true
		}
	}

	desired := svc.desired
	maxTotal := int(math.Floor(float64(desired) * float64(i32(svc.cfg.MaximumPercent, 200)) / 100))
	minHealthy := int(math.Ceil(float64(desired) * float64(i32(svc.cfg.MinimumHealthyPercent, 100)) / 100))
	if holdsBlue(p, t) {
		maxTotal = max(maxTotal, 2*int(desired)) // green scales up next to blue
	}

	// 3. Stop what the service no longer needs.
	healthy := 0
	for _, tk := range svc.tasks() {
		if tk.healthy(t) {
			healthy++
		}
	}
	stopped := []string{}
	reason := fmt.Sprintf("Scaling activity initiated by (deployment %s)", p.id)
	failedPrimary := p.rollout == types.DeploymentRolloutStateFailed
	for _, d := range svc.deployments[1:] {
		if failedPrimary || holdsBlue(p, t) {
			break // a FAILED deployment launches nothing and keeps the old ones; blue stays until the bake is over
		}
		for _, tk := range svc.depTasks(d) {
			if !tk.active(t) {
				continue
			}
			if !tk.healthy(t) {
				tk.stop(t, types.TaskStopCodeServiceSchedulerInitiated, reason)
				stopped = append(stopped, tk.id)
			} else if healthy-1 >= minHealthy {
				tk.stop(t, types.TaskStopCodeServiceSchedulerInitiated, reason)
				stopped = append(stopped, tk.id)
				healthy--
			}
		}
	}
	var primaryActive []*task
	for _, tk := range svc.depTasks(p) {
		if tk.active(t) {
			primaryActive = append(primaryActive, tk)
		}
	}
	for i := len(primaryActive) - 1; i >= 0 && len(primaryActive) > int(desired); i-- {
		tk := primaryActive[i]
		tk.stop(t, types.TaskStopCodeServiceSchedulerInitiated, reason)
		stopped = append(stopped, tk.id)
		primaryActive = primaryActive[:i]
	}
	if len(stopped) > 0 {
		svc.event(t, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", svc.name, len(stopped), taskList(stopped)))
		busy = true
	}

	// 4. Start what the primary deployment still needs.
	if !failedPrimary {
		need := int(desired) - len(primaryActive)
		total := 0
		for _, tk := range svc.tasks() {
			if tk.active(t) {
				total++
			}
		}
		room := maxTotal - total
		if need > 0 {
			busy = true
		}
		n := min(need, room)
		// Wording: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html ("service (service-name) was unable to
		// stop or start tasks during a deployment because of the service
		// deployment configuration. Update the minimumHealthyPercent or
		// maximumPercent value and try again.").
		if need > 0 && room <= 0 && len(stopped) == 0 && len(svc.deployments) > 1 && !anyStopping(svc, t) {
			svc.eventOnce(t, fmt.Sprintf("(service %s) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.", svc.name))
		}
		if n > 0 {
			lt, strategy := effectiveStrategy(c, p.lt, p.strategy)
			counts := map[string]int{}
			for _, tk := range svc.tasks() {
				if tk.active(t) {
					counts[tk.capacityProvider]++
				}
			}
			var started []string
			for i := 0; i < n; i++ {
				pl, why := s.place(c, t, lt, strategy, counts)
				if why != "" {
					// Wording: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html ("service (service-name) was
					// unable to place a task because no container instance met all
					// of its requirements." and "... was unable to place a task.
					// Reason: ..."); the capacity reason is RunTask's failure reason
					// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html).
					msg := fmt.Sprintf("(service %s) was unable to place a task. Reason: %s", svc.name, why)
					if why == reasonNoInstances || why == reasonNoCPInstances {
						msg = fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. Reason: %s", svc.name, why)
					}
					svc.eventOnce(t, msg)
					break
				}
				counts[pl.provider]++
				tk := s.newTask(c, p.td, t, pl, false, nil, i32(svc.grace, 0))
				tk.svc, tk.dep, tk.group, tk.netcfg = svc, p, "service:"+svc.name, p.netcfg
				tk.startedBy = p.id
				tk.enableExec = svc.in.EnableExecuteCommand
				if svc.in.PropagateTags == types.PropagateTagsService {
					tk.tags = append([]types.Tag{}, svc.tags...)
				} else if svc.in.PropagateTags == types.PropagateTagsTaskDefinition {
					tk.tags = append([]types.Tag{}, p.td.tags...)
				}
				c.tasks[tk.id] = tk
				started = append(started, tk.id)
			}
			if len(started) > 0 {
				for msg := range svc.suppressed {
					if strings.Contains(msg, "was unable to place a task") {
						delete(svc.suppressed, msg) // placement works again
					}
				}
				svc.event(t, fmt.Sprintf("(service %s) has started %d tasks: %s.", svc.name, len(started), taskList(started)))
				p.updatedAt = t
			}
		}
	}

	// 5. Old deployments with nothing left become INACTIVE and leave the list.
	kept := svc.deployments[:1]
	for _, d := range svc.deployments[1:] {
		left := false
		for _, tk := range svc.depTasks(d) {
			if !tk.stoppedBy(t) {
				left = true
			}
		}
		// A FAILED deployment stays listed while the rollback is in progress.
		lingers := d.rollout == types.DeploymentRolloutStateFailed && p.rollout == types.DeploymentRolloutStateInProgress
		if left || failedPrimary || lingers {
			kept = append(kept, d)
			continue
		}
		d.status = "INACTIVE"
		d.updatedAt = t
		busy = true
	}
	svc.deployments = kept

	// 6. Completion and steady state.
	running, healthyP := 0, 0
	for _, tk := range svc.depTasks(p) {
		if tk.running(t) {
			running++
		}
		if tk.healthy(t) {
			healthyP++
		}
	}
	s.advanceShift(svc, p, t, healthyP == int(desired) && running == int(desired))
	if p.rollout == types.DeploymentRolloutStateInProgress {
		busy = true
		othersLeft := false
		for _, d := range svc.deployments[1:] {
			for _, tk := range svc.depTasks(d) {
				if !tk.stoppedBy(t) {
					othersLeft = true
				}
			}
		}
		if !othersLeft && healthyP == int(desired) && running == int(desired) {
			for _, d := range svc.deployments[1:] {
				d.status = "INACTIVE"
				d.updatedAt = t
			}
			svc.deployments = svc.deployments[:1]
			p.rollout = types.DeploymentRolloutStateCompleted
			// rolloutStateReason "ECS deployment ecs-svc/N completed." as real
			// DescribeServices output shows it (quoted in public reports; no AWS
			// reference page states the text).
			p.reason = "ECS deployment " + p.id + " completed."
			p.updatedAt = t
			svc.lastCompleted = p
			svc.suppressed = nil // the causes of repeated messages are resolved
			// Wording as seen in real events, "(service my-svc) (deployment
			// ecs-svc/N) deployment completed.", the same shape as the
			// "deployment failed" event in aws/copilot-cli
			// internal/pkg/stream/ecs_test.go.
			svc.event(t, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", svc.name, p.id))
			if sd := p.sd; sd != nil {
				sd.finish(t, p)
			}
		}
	}
	steady := len(svc.deployments) == 1 && running == int(desired) && p.rollout != types.DeploymentRolloutStateInProgress
	if steady && !svc.steady {
		// Wording: "(service my-http-service) has reached a steady state."
		// (aws/aws-cli awscli/examples/ecs/describe-services.rst; listed in
		// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html).
		svc.event(t, fmt.Sprintf("(service %s) has reached a steady state.", svc.name))
		busy = true
	}
	svc.steady = steady
	if !steady && len(primaryActive) < int(desired) {
		busy = true
	}
	return busy
}

func anyStopping(svc *service, t time.Time) bool {
	for _, tk := range svc.tasks() {
		if tk.stopping(t) && !tk.stoppedBy(t) {
			return true
		}
	}
	return false
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// failDeployment moves the primary deployment to FAILED (circuit breaker) and,
// with rollback, starts a deployment of the last COMPLETED task definition.
func (s *Server) failDeployment(svc *service, p *deployment, t time.Time, rollback bool) {
	p.rollout = types.DeploymentRolloutStateFailed
	// rolloutStateReason of a FAILED deployment as DescribeServices returns
	// it (real output quoted by users; the circuit breaker guide,
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html,
	// describes the FAILED state without quoting the text).
	p.reason = "ECS deployment circuit breaker: tasks failed to start."
	p.updatedAt = t
	svc.event(t, fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", svc.name, p.id))
	sd := p.sd
	if sd != nil {
		sd.breakerStatus = types.ServiceDeploymentRollbackMonitorsStatusTriggered
		sd.failureCount = p.failedTasks
		sd.updatedAt = t
	}
	target := svc.lastCompleted
	if !rollback || target == nil || p.rollback {
		if sd != nil {
			if p.rollback {
				sd.status = types.ServiceDeploymentStatusRollbackFailed
				sd.reason = "Service deployment rollback failed because the circuit breaker threshold was exceeded."
			} else {
				sd.status = types.ServiceDeploymentStatusStopped
				sd.reason = "Service deployment failed because the circuit breaker threshold was exceeded."
			}
			sd.stoppedAt = ptr(t)
			sd.finishedAt = ptr(t)
		}
		return
	}
	// The rollback deployment's rolloutStateReason, "ECS deployment circuit
	// breaker: rolling back to deploymentId ecs-svc/N." (DescribeServices
	// fixtures in fabfuel/ecs-deploy tests/test_ecs.py, from real output).
	s.rollBack(svc, sd, target, t, "ECS deployment circuit breaker: rolling back to deploymentId "+target.id+".",
		"Circuit breaker initiated rollback because the service deployment failed.")
}

// rollBack starts a PRIMARY deployment of target's task definition, part of
// service deployment sd.
func (s *Server) rollBack(svc *service, sd *svcDeployment, target *deployment, t time.Time, rolloutReason, why string) {
	svc.lt, svc.strategy, svc.netcfg, svc.platformVersion = target.lt, target.strategy, target.netcfg, target.platformVersion
	failed := svc.primary()
	rb := s.startDeployment(svc, target.td, t, true, rolloutReason)
	rb.sd = sd
	s.rollbackShift(svc, failed, target, rb, t)
	// Wording: "(service my-svc) rolling back to deployment ecs-svc/N."
	// (aws/copilot-cli internal/pkg/stream/ecs_test.go).
	svc.event(t, fmt.Sprintf("(service %s) rolling back to deployment %s.", svc.name, target.id))
	if sd != nil {
		sd.status = types.ServiceDeploymentStatusRollbackInProgress
		sd.reason = why
		sd.rollbackDep = rb
		sd.rollbackInfo = &types.Rollback{Reason: ptr(why), StartedAt: ptr(t), ServiceRevisionArn: ptr(target.revArn)}
		sd.updatedAt = t
	}
}

// failOnAlarms fails the primary deployment because deployment alarms fired.
func (s *Server) failOnAlarms(svc *service, p *deployment, t time.Time, fired []string, rollback bool) {
	p.rollout = types.DeploymentRolloutStateFailed
	// AWS publishes no text for an alarm-failed deployment's
	// rolloutStateReason: this wording is the emulation's own. The event below
	// is AWS's (aws/copilot-cli internal/pkg/stream/ecs_test.go:
	// "(service my-svc) (deployment ecs-svc/N) deployment failed: alarm detected.").
	p.reason = "ECS deployment alarms detected: " + strings.Join(fired, ", ") + " in ALARM."
	p.updatedAt = t
	svc.event(t, fmt.Sprintf("(service %s) (deployment %s) deployment failed: alarm detected.", svc.name, p.id))
	sd := p.sd
	if sd != nil {
		sd.alarmsTriggered = fired
		sd.updatedAt = t
	}
	target := svc.lastCompleted
	if !rollback || target == nil || p.rollback {
		if sd != nil {
			sd.status = types.ServiceDeploymentStatusStopped
			if p.rollback {
				sd.status = types.ServiceDeploymentStatusRollbackFailed
			}
			sd.reason = "Service deployment failed because deployment alarms were triggered."
			sd.stoppedAt, sd.finishedAt = ptr(t), ptr(t)
		}
		return
	}
	s.rollBack(svc, sd, target, t, "ECS deployment alarms: rolling back to deploymentId "+target.id+".",
		"Deployment alarms initiated rollback: "+strings.Join(fired, ", ")+" in ALARM.")
}
