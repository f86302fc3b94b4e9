package elbv2emu

import (
	"strings"
	"time"
)

// The in-process interface the ECS emulation uses (set in the endpoint's
// services.go): ECS checks a service's target groups at CreateService and
// registers its tasks as targets when they reach RUNNING, deregistering them
// when they stop, as ECS does with an Application Load Balancer.

// TargetGroupForECS reports whether the target group arn exists, its target
// type, and whether a load balancer uses it (a listener or rule forwards to
// it).
func (s *Server) TargetGroupForECS(arn string) (targetType string, attached, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[arn]
	if tg == nil {
		return "", false, false
	}
	return tg.targetType, s.tgUsed(tg), true
}

// imageFailure is the test-control convention for ECS tasks (package doc):
// the image of the task's essential container says how its target fails.
func imageFailure(image string) string {
	switch {
	case strings.Contains(image, "elb-timeout"):
		return reasonTimeout
	case strings.Contains(image, "elb-refused"):
		return reasonFailedChecks
	case strings.Contains(image, "fail-elb"):
		return reasonRespMismatch
	}
	return ""
}

// RegisterTargetForECS registers the target id:port in the target group arn
// at the time "at" (a task's RUNNING time, which may be before the clock's
// now) for a task running image. It returns when the target becomes healthy,
// or when it becomes unhealthy with the description of why (zero times: it
// never does, for example while no load balancer uses the group).
func (s *Server) RegisterTargetForECS(arn, id string, port int32, image string, at time.Time) (healthyAt, unhealthyAt time.Time, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[arn]
	if tg == nil {
		return time.Time{}, time.Time{}, ""
	}
	if err := s.register(tg, id, port, "", imageFailure(image), at); err != nil {
		return time.Time{}, time.Time{}, ""
	}
	var t *target
	for _, x := range tg.targets {
		if x.id == id && x.port == port && x.deregAt == nil {
			t = x
		}
	}
	start, used := s.checksStart(tg, t.registeredAt)
	if !used || !tg.hc.enabled {
		return time.Time{}, time.Time{}, ""
	}
	interval := time.Duration(tg.hc.interval) * time.Second
	if t.fail != "" {
		return time.Time{}, start.Add(interval * time.Duration(tg.hc.unhealthyCnt)), reasonText[t.fail]
	}
	return start.Add(interval * time.Duration(tg.hc.healthyCount)), time.Time{}, ""
}

// DeregisterTargetForECS starts draining the target id:port of the target
// group arn at the time "at" (the task's stop) and returns how long it
// drains: the group's deregistration_delay.timeout_seconds.
func (s *Server) DeregisterTargetForECS(arn, id string, port int32, at time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[arn]
	if tg == nil {
		return 0
	}
	s.deregister(tg, id, port, at)
	return s.deregDelay(tg)
}
