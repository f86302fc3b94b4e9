package ecsemu

// Services behind an Application Load Balancer (CreateService
// loadBalancers): the ECS side of the coupling with the ELBv2 emulation.
//
// A task of such a service is registered in each of the service's target
// groups when it reaches RUNNING (awsvpc: its private IP and the container
// port; otherwise its container instance's EC2 id) and deregistered when it
// starts stopping, with the service events ECS writes ("(service S)
// registered N targets in (target-group ARN)", "... deregistered ...").
// The service counts the task as healthy only once its targets are healthy;
// a task whose target fails its health checks is stopped (after the
// service's healthCheckGracePeriodSeconds) with stoppedReason "Task failed
// ELB health checks in (target-group ARN)", the event "(service S) (task ID)
// (port P) is unhealthy in (target-group ARN) due to (reason ...)", and
// counts toward the deployment circuit breaker.

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// LoadBalancing is what ECS needs from the Elastic Load Balancing emulation
// (elbv2emu.Server implements it).
type LoadBalancing interface {
	// TargetGroupForECS: whether the target group exists, its target type,
	// and whether a load balancer uses it.
	TargetGroupForECS(arn string) (targetType string, attached, ok bool)
	// RegisterTargetForECS registers id:port at "at" for a task running
	// image; it returns when the target becomes healthy, or unhealthy and
	// why (zero: never).
	RegisterTargetForECS(arn, id string, port int32, image string, at time.Time) (healthyAt, unhealthyAt time.Time, why string)
	// DeregisterTargetForECS starts draining id:port at "at" and returns
	// how long it drains (the group's deregistration delay).
	DeregisterTargetForECS(arn, id string, port int32, at time.Time) time.Duration
}

// SetLoadBalancing connects the ELBv2 emulation. Without it, a service's
// loadBalancers are echoed but neither checked nor used.
func (s *Server) SetLoadBalancing(lb LoadBalancing) {
	s.mu.Lock()
	s.lb = lb
	s.mu.Unlock()
}

// Advance brings every cluster's scheduler up to the clock's now (the
// ELBv2 emulation calls it before answering, so targets that tasks register
// are there when target health is read).
func (s *Server) Advance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.clk.Now())
}

// targetReg is one target a task registered.
type targetReg struct {
	tg, id string
	port   int32
	dereg  bool
}

// lbState is a task's load balancer registrations.
type lbState struct {
	done    bool // registration was attempted
	targets []targetReg
	elbFail string // the unhealthy target's reason description
	elbTG   string
	elbPort int32
}

// checkLoadBalancers validates a service's loadBalancers as ECS does
// (botocore ecs LoadBalancer; messages as ECS words them).
func (s *Server) checkLoadBalancers(td *taskDef, lbs []types.LoadBalancer, grace *int32) error {
	if len(lbs) == 0 {
		if grace != nil {
			return invalid("Health check grace period is only valid for services configured to use load balancers")
		}
		return nil
	}
	// API reference CreateService loadBalancers: up to 5 target groups.
	if len(lbs) > 5 {
		return invalid("loadBalancers can have at most 5 items.")
	}
	for _, lb := range lbs {
		tg, name := str(lb.TargetGroupArn), str(lb.ContainerName)
		if tg == "" && str(lb.LoadBalancerName) == "" {
			return invalid("Either targetGroupArn or loadBalancerName must be specified for a load balancer.")
		}
		if tg == "" {
			return invalid("Classic Load Balancers are not supported by this endpoint: specify targetGroupArn.")
		}
		if name == "" || lb.ContainerPort == nil {
			return invalid("containerName and containerPort must be specified for a load balancer.")
		}
		var cd *types.ContainerDefinition
		for i := range td.td.ContainerDefinitions {
			if str(td.td.ContainerDefinitions[i].Name) == name {
				cd = &td.td.ContainerDefinitions[i]
			}
		}
		if cd == nil {
			return invalid("The container %s does not exist in the task definition.", name)
		}
		mapped := false
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort != nil && *pm.ContainerPort == *lb.ContainerPort {
				mapped = true
			}
		}
		if !mapped {
			return invalid("The container %s did not have a container port %d defined.", name, *lb.ContainerPort)
		}
		if s.lb == nil {
			continue
		}
		typ, attached, ok := s.lb.TargetGroupForECS(tg)
		switch {
		case !ok:
			return invalid("The target group with targetGroupArn %s does not exist.", tg)
		case !attached:
			return invalid("The target group with targetGroupArn %s does not have an associated load balancer.", tg)
		case td.td.NetworkMode == types.NetworkModeAwsvpc && typ != "ip":
			return invalid("The provided target group %s has target type %s, which is incompatible with the awsvpc network mode specified in the task definition.", tg, typ)
		}
	}
	return nil
}

// drainedAt is when a stopping task's targets finished draining (its stop
// when it has none): its STOPPING and DEPROVISIONING follow.
func (t *task) drainedAt() time.Time {
	if t.drainUntil != nil {
		return *t.drainUntil
	}
	return *t.stopAt
}

// privateIP is an awsvpc task's private IPv4 address.
func (t *task) privateIP() string {
	return fmt.Sprintf("10.0.%d.%d", hexByte(t.id[0:2])%200, hexByte(t.id[2:4])%250+2)
}

func hexByte(s string) int {
	n := 0
	fmt.Sscanf(s, "%x", &n)
	return n
}

// syncTargets registers the service's tasks that reached RUNNING by t and
// deregisters those stopping by t, with ECS's events.
func (s *Server) syncTargets(svc *service, t time.Time) {
	if s.lb == nil || len(svc.in.LoadBalancers) == 0 {
		return
	}
	registered, deregistered := map[string]int{}, map[string]int{}
	draining := 0
	for _, tk := range svc.tasks() {
		if tk.lbs == nil {
			tk.lbs = &lbState{}
		}
		st := tk.lbs
		if !st.done && tk.running(t) {
			st.done = true
			s.registerTask(svc, tk, registered)
		}
		if st.elbFail != "" && !tk.sawStopped && tk.stopping(t) {
			svc.event(*tk.stopAt, fmt.Sprintf("(service %s) (task %s) (port %d) is unhealthy in (target-group %s) due to (reason %s).",
				svc.name, tk.id, st.elbPort, st.elbTG, st.elbFail))
			svc.event(*tk.stopAt, fmt.Sprintf("(service %s) has stopped 1 running tasks: (task %s).", svc.name, tk.id))
		}
		if tk.stopping(t) {
			n, drain := 0, time.Duration(0)
			for i := range st.targets {
				if r := &st.targets[i]; !r.dereg {
					r.dereg = true
					drain = max(drain, s.lb.DeregisterTargetForECS(r.tg, r.id, r.port, *tk.stopAt))
					deregistered[r.tg]++
					n++
				}
			}
			if n > 0 {
				draining++
				// The task stays DEACTIVATING while its targets drain, and
				// stops once the deregistration delay is over.
				if end := tk.stopAt.Add(drain); end.After(*tk.stopAt) {
					tk.drainUntil = ptr(end)
					tk.stoppedAt = ptr(end.Add(stopDuration))
				}
			}
		}
	}
	for _, tg := range sortedKeys(registered) { // the alternate target groups too
		svc.event(t, fmt.Sprintf("(service %s) registered %d targets in (target-group %s)", svc.name, registered[tg], tg))
	}
	if draining > 0 {
		svc.event(t, fmt.Sprintf("(service %s) has begun draining connections on %d tasks.", svc.name, draining))
	}
	for _, tg := range sortedKeys(deregistered) {
		svc.event(t, fmt.Sprintf("(service %s) deregistered %d targets in (target-group %s)", svc.name, deregistered[tg], tg))
	}
}

// registerTask registers a task that just reached RUNNING in each target
// group, and plans its health from what the load balancer says.
func (s *Server) registerTask(svc *service, tk *task, counts map[string]int) {
	id := tk.privateIP()
	if tk.td.td.NetworkMode != types.NetworkModeAwsvpc {
		if tk.instance == nil {
			return
		}
		id = tk.instance.ec2ID
	}
	image := str(tk.td.essential().Image)
	started := *tk.startedAt
	var healthy, unhealthy time.Time
	never := false
	for _, lb := range svc.in.LoadBalancers {
		tg, port := targetGroupOf(tk.dep, lb), *lb.ContainerPort
		h, u, why := s.lb.RegisterTargetForECS(tg, id, port, image, started)
		tk.lbs.targets = append(tk.lbs.targets, targetReg{tg: tg, id: id, port: port})
		counts[tg]++
		switch {
		case !u.IsZero():
			if unhealthy.IsZero() || u.Before(unhealthy) {
				unhealthy = u
				tk.lbs.elbFail, tk.lbs.elbTG, tk.lbs.elbPort = why, tg, port
			}
		case h.IsZero():
			never = true
		case h.After(healthy):
			healthy = h
		}
	}
	switch {
	case !unhealthy.IsZero():
		tk.healthyAt = nil
		// ECS ignores the load balancer's health checks during the
		// service's health check grace period.
		if g := started.Add(time.Duration(i32(svc.grace, 0)) * time.Second); g.After(unhealthy) {
			unhealthy = g
		}
		if tk.stopAt == nil || tk.stopAt.After(unhealthy) {
			tk.stopAt = ptr(unhealthy)
			tk.stoppedAt = ptr(unhealthy.Add(stopDuration))
			tk.stopCode = types.TaskStopCodeServiceSchedulerInitiated
			tk.stopReason = "Task failed ELB health checks in (target-group " + tk.lbs.elbTG + ")"
			tk.exitCode = ptr(int32(143))
			tk.failure = true
		}
	case never:
		tk.healthyAt = nil // a target never becomes healthy
	case tk.healthyAt != nil && healthy.After(*tk.healthyAt):
		tk.healthyAt = ptr(healthy)
	}
}
