package ecsemu

// ECS native deployment strategies BLUE_GREEN, CANARY and LINEAR
// (DeploymentConfiguration.strategy) for services behind an Application
// Load Balancer. A new deployment (green) scales up to the full desired
// count next to the running one (blue), which keeps all its tasks; when
// green's tasks are healthy, ECS moves the production listener rule's
// weights from blue's target group to green's — all at once (BLUE_GREEN),
// canaryPercent then the rest after canaryBakeTimeInMinutes (CANARY), or
// stepPercent every stepBakeTimeInMinutes (LINEAR) — then both run for
// bakeTimeInMinutes (BAKE_TIME), when a rollback (StopServiceDeployment
// ROLLBACK, the circuit breaker or deployment alarms) moves the traffic
// straight back to blue's still running tasks; after the bake, blue's tasks
// stop (CLEAN_UP) and the deployment completes. Green's tasks register in
// the target group blue does not use (the service's targetGroupArn or
// advancedConfiguration.alternateTargetGroupArn), so the two alternate.
//
// Lifecycle stages are botocore ecs ServiceDeploymentLifecycleStage:
// PRE_SCALE_UP, SCALE_UP, PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP
// (RECONCILE_SERVICE, POST_* and TEST_TRAFFIC_SHIFT pass without a
// lifecycle hook in no time, and without testListenerRule there is no test
// traffic). Ranges: botocore ecs CanaryConfiguration (canaryPercent
// multiples of 0.1 from 0.1 to 100, canaryBakeTimeInMinutes 0-1440),
// LinearConfiguration (stepPercent multiples of 0.1 from 3 to 100,
// stepBakeTimeInMinutes 0-1440), DeploymentConfiguration.bakeTimeInMinutes
// (required for BLUE_GREEN; 0-1440 in the developer guide).

import (
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TrafficShifter is what the strategies need from the ELBv2 emulation
// (elbv2emu.Server implements it).
type TrafficShifter interface {
	// RuleForECS: whether the listener rule exists and the target groups
	// its forward action uses.
	RuleForECS(ruleArn string) (targetGroups []string, ok bool)
	// ShiftTrafficForECS sets the forward weights of the rule's groups.
	ShiftTrafficForECS(ruleArn string, weights map[string]int32, at time.Time) error
}

func (s *Server) shifter() TrafficShifter {
	ts, _ := s.lb.(TrafficShifter)
	return ts
}

// shiftState is a traffic-shifting deployment's timeline.
type shiftState struct {
	blueTG, greenTG, rule    string
	readyAt, fullAt, bakeEnd time.Time
	percent                  float64 // green's share of production traffic
	cfg                      types.DeploymentConfiguration
}

func shifting(cfg types.DeploymentConfiguration) bool {
	switch cfg.Strategy {
	case types.DeploymentStrategyBlueGreen, types.DeploymentStrategyCanary, types.DeploymentStrategyLinear:
		return true
	}
	return false
}

func tenth(v float64) bool { return math.Abs(v*10-math.Round(v*10)) < 1e-6 }

// checkStrategyConfig checks the strategy's settings (CreateService and
// UpdateService deploymentConfiguration).
func checkStrategyConfig(cfg *types.DeploymentConfiguration) error {
	if b := cfg.BakeTimeInMinutes; b != nil && (*b < 0 || *b > 1440) {
		return invalid("bakeTimeInMinutes must be between 0 and 1440.")
	}
	if c := cfg.CanaryConfiguration; c != nil {
		if cfg.Strategy != types.DeploymentStrategyCanary {
			return invalid("canaryConfiguration is only valid when the deployment strategy is CANARY.")
		}
		if p := c.CanaryPercent; p != nil && (*p < 0.1 || *p > 100 || !tenth(*p)) {
			return invalid("canaryPercent must be a multiple of 0.1 between 0.1 and 100.0.")
		}
		if b := c.CanaryBakeTimeInMinutes; b != nil && (*b < 0 || *b > 1440) {
			return invalid("canaryBakeTimeInMinutes must be between 0 and 1440.")
		}
	}
	if c := cfg.LinearConfiguration; c != nil {
		if cfg.Strategy != types.DeploymentStrategyLinear {
			return invalid("linearConfiguration is only valid when the deployment strategy is LINEAR.")
		}
		if p := c.StepPercent; p != nil && (*p < 3 || *p > 100 || !tenth(*p)) {
			return invalid("stepPercent must be a multiple of 0.1 between 3.0 and 100.0.")
		}
		if b := c.StepBakeTimeInMinutes; b != nil && (*b < 0 || *b > 1440) {
			return invalid("stepBakeTimeInMinutes must be between 0 and 1440.")
		}
	}
	if cfg.Strategy == types.DeploymentStrategyBlueGreen && cfg.BakeTimeInMinutes == nil {
		return invalid("bakeTimeInMinutes is required for the BLUE_GREEN deployment strategy.")
	}
	return nil
}

var iamRoleArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

// checkAdvanced checks the loadBalancers' advancedConfiguration against
// the (filled) deployment configuration.
func (s *Server) checkAdvanced(cfg types.DeploymentConfiguration, lbs []types.LoadBalancer) error {
	for _, lb := range lbs {
		a := lb.AdvancedConfiguration
		if !shifting(cfg) {
			if a != nil {
				return invalid("advancedConfiguration is only supported for services using the BLUE_GREEN, LINEAR or CANARY deployment strategy.")
			}
			continue
		}
		if a == nil {
			return invalid("advancedConfiguration is required for the load balancers of a service using the %s deployment strategy.", cfg.Strategy)
		}
		alt, prod, role := str(a.AlternateTargetGroupArn), str(a.ProductionListenerRule), str(a.RoleArn)
		if alt == "" || prod == "" || role == "" {
			return invalid("advancedConfiguration requires alternateTargetGroupArn, productionListenerRule and roleArn.")
		}
		if alt == str(lb.TargetGroupArn) {
			return invalid("The alternateTargetGroupArn must be different from the targetGroupArn.")
		}
		if !iamRoleArnRe.MatchString(role) {
			return invalid("Invalid roleArn in advancedConfiguration: %s", role)
		}
		if s.lb == nil {
			continue
		}
		if _, _, ok := s.lb.TargetGroupForECS(alt); !ok {
			return invalid("The target group with targetGroupArn %s does not exist.", alt)
		}
		ts := s.shifter()
		if ts == nil {
			continue
		}
		for _, r := range []string{prod, str(a.TestListenerRule)} {
			if r == "" {
				continue
			}
			tgs, ok := ts.RuleForECS(r)
			if !ok {
				return invalid("The listener rule %s does not exist.", r)
			}
			has := map[string]bool{}
			for _, t := range tgs {
				has[t] = true
			}
			if !has[str(lb.TargetGroupArn)] || !has[alt] {
				return invalid("The listener rule %s must forward to both target groups %s and %s.", r, str(lb.TargetGroupArn), alt)
			}
		}
	}
	return nil
}

// initShift gives a new (non-rollback) deployment of a traffic-shifting
// service its timeline and target group. The first deployment has no blue
// to shift from: it starts in the service's target group.
func (s *Server) initShift(svc *service, d *deployment, rollback bool) {
	if rollback || !shifting(svc.cfg) || len(svc.in.LoadBalancers) == 0 {
		return
	}
	lb := svc.in.LoadBalancers[0]
	a := lb.AdvancedConfiguration
	prev := svc.lastCompleted
	if a == nil || prev == nil {
		return
	}
	primary, alt := str(lb.TargetGroupArn), str(a.AlternateTargetGroupArn)
	blue := prev.tg
	if blue == "" {
		blue = primary
	}
	green := alt
	if blue == alt {
		green = primary
	}
	d.tg = green
	d.shift = &shiftState{blueTG: blue, greenTG: green, rule: str(a.ProductionListenerRule), cfg: svc.cfg}
}

// targetGroupOf is the group a deployment's tasks register in for lb.
func targetGroupOf(d *deployment, lb types.LoadBalancer) string {
	if d != nil && d.tg != "" && lb.AdvancedConfiguration != nil {
		return d.tg
	}
	return str(lb.TargetGroupArn)
}

func minutes(p *int32, def int32) time.Duration {
	return time.Duration(i32(p, def)) * time.Minute
}

// schedule of green's share: the times it changes and the shares.
func (st *shiftState) percentAt(t time.Time) float64 {
	if st.readyAt.IsZero() || t.Before(st.readyAt) {
		return 0
	}
	since := t.Sub(st.readyAt)
	switch st.cfg.Strategy {
	case types.DeploymentStrategyCanary:
		c := st.cfg.CanaryConfiguration
		if c == nil {
			c = &types.CanaryConfiguration{}
		}
		if since >= minutes(c.CanaryBakeTimeInMinutes, 10) {
			return 100
		}
		if c.CanaryPercent != nil {
			return *c.CanaryPercent
		}
		return 5
	case types.DeploymentStrategyLinear:
		c := st.cfg.LinearConfiguration
		if c == nil {
			c = &types.LinearConfiguration{}
		}
		step := 10.0
		if c.StepPercent != nil {
			step = *c.StepPercent
		}
		bake := minutes(c.StepBakeTimeInMinutes, 6)
		if bake == 0 {
			return 100
		}
		return math.Min(100, step*float64(1+int(since/bake)))
	}
	return 100
}

// fullTime is when green gets all the traffic.
func (st *shiftState) fullTime() time.Time {
	switch st.cfg.Strategy {
	case types.DeploymentStrategyCanary:
		c := st.cfg.CanaryConfiguration
		if c == nil {
			c = &types.CanaryConfiguration{}
		}
		return st.readyAt.Add(minutes(c.CanaryBakeTimeInMinutes, 10))
	case types.DeploymentStrategyLinear:
		c := st.cfg.LinearConfiguration
		if c == nil {
			c = &types.LinearConfiguration{}
		}
		step := 10.0
		if c.StepPercent != nil {
			step = *c.StepPercent
		}
		steps := int(math.Ceil(100/step - 1e-9))
		return st.readyAt.Add(time.Duration(steps-1) * minutes(c.StepBakeTimeInMinutes, 6))
	}
	return st.readyAt
}

// weights are the rule's weights for green's share (weights are 0-999 in
// ALB: botocore elbv2 TargetGroupTuple; shares in tenths of a percent).
func weights(blue, green string, percent float64) map[string]int32 {
	g := int32(math.Round(percent * 10))
	b := 1000 - g
	switch {
	case g >= 1000:
		g, b = 999, 0
	case b >= 1000:
		g, b = 0, 999
	}
	return map[string]int32{blue: b, green: g}
}

// advanceShift moves a traffic-shifting deployment along its timeline at t
// (ready: green's tasks are all running and healthy).
func (s *Server) advanceShift(svc *service, p *deployment, t time.Time, ready bool) {
	st := p.shift
	if st == nil || p.rollout != types.DeploymentRolloutStateInProgress {
		return
	}
	if st.readyAt.IsZero() {
		if !ready {
			return
		}
		st.readyAt = t
		st.fullAt = st.fullTime()
		st.bakeEnd = st.fullAt.Add(minutes(st.cfg.BakeTimeInMinutes, 0))
	}
	want := st.percentAt(t)
	if want == st.percent {
		return
	}
	st.percent = want
	if ts := s.shifter(); ts != nil {
		_ = ts.ShiftTrafficForECS(st.rule, weights(st.blueTG, st.greenTG, want), t)
	}
	svc.event(t, fmt.Sprintf("(service %s) (deployment %s) shifted %g%% of production traffic to (target-group %s).", svc.name, p.id, want, st.greenTG))
	p.updatedAt = t
}

// holdsBlue: the old deployments keep their tasks until the bake is over.
func holdsBlue(p *deployment, t time.Time) bool {
	st := p.shift
	return st != nil && p.rollout == types.DeploymentRolloutStateInProgress && (st.readyAt.IsZero() || t.Before(st.bakeEnd))
}

// rollbackShift: a rollback of a traffic-shifting deployment moves the
// traffic back to blue at once, and blue's running tasks serve the rollback
// deployment.
func (s *Server) rollbackShift(svc *service, failed, blue, rb *deployment, t time.Time) {
	if failed == nil || failed.shift == nil || blue == nil {
		return
	}
	st := failed.shift
	rb.tg = blue.tg
	if st.percent > 0 {
		if ts := s.shifter(); ts != nil {
			_ = ts.ShiftTrafficForECS(st.rule, weights(st.blueTG, st.greenTG, 0), t)
		}
		svc.event(t, fmt.Sprintf("(service %s) (deployment %s) shifted 100%% of production traffic back to (target-group %s).", svc.name, rb.id, st.blueTG))
		st.percent = 0
	}
	for _, tk := range svc.depTasks(blue) {
		if tk.active(t) {
			tk.dep = rb
		}
	}
}

// lifecycleStage is where a traffic-shifting deployment is.
func (st *shiftState) lifecycleStage(svc *service, d *deployment, now time.Time) types.ServiceDeploymentLifecycleStage {
	switch {
	case len(svc.depTasks(d)) == 0:
		return types.ServiceDeploymentLifecycleStagePreScaleUp
	case st.readyAt.IsZero():
		return types.ServiceDeploymentLifecycleStageScaleUp
	case now.Before(st.fullAt) || st.percent < 100:
		return types.ServiceDeploymentLifecycleStageProductionTrafficShift
	case now.Before(st.bakeEnd):
		return types.ServiceDeploymentLifecycleStageBakeTime
	}
	return types.ServiceDeploymentLifecycleStageCleanUp
}
