package elbv2emu

// ECS native blue/green, canary and linear deployments move a listener
// rule's forward weights between the service's two target groups (ECS
// developer guide, "Amazon ECS blue/green deployments": the production
// listener rule forwards to the primary and the alternate target group, and
// ECS changes their weights). The ECS emulation calls these.

import (
	"fmt"
	"time"
)

// RuleForECS reports whether the rule exists and the target groups its
// forward action uses.
func (s *Server) RuleForECS(ruleArn string) (targetGroups []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru := s.rules[ruleArn]
	if ru == nil {
		return nil, false
	}
	for _, a := range ru.actions {
		if a.Type == "forward" {
			targetGroups = append(targetGroups, forwardTargets(a)...)
		}
	}
	return targetGroups, true
}

// ShiftTrafficForECS sets the weights of the rule's forward action: each
// target group named in weights gets its weight (the others keep theirs);
// a group the action lacks is added.
func (s *Server) ShiftTrafficForECS(ruleArn string, weights map[string]int32, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru := s.rules[ruleArn]
	if ru == nil {
		return fmt.Errorf("rule %s not found", ruleArn)
	}
	for i, a := range ru.actions {
		if a.Type != "forward" {
			continue
		}
		fc := &ForwardConfig{}
		if a.ForwardConfig != nil {
			c := *a.ForwardConfig
			c.TargetGroups = append([]TargetGroupTuple(nil), a.ForwardConfig.TargetGroups...)
			fc = &c
		} else if a.TargetGroupArn != "" {
			fc.TargetGroups = []TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn, Weight: ptr(int32(1))}}
		}
		seen := map[string]bool{}
		for j := range fc.TargetGroups {
			tg := fc.TargetGroups[j].TargetGroupArn
			if w, ok := weights[tg]; ok {
				fc.TargetGroups[j].Weight = ptr(w)
				seen[tg] = true
			}
		}
		for _, tg := range sortedKeys(weights) {
			if !seen[tg] {
				fc.TargetGroups = append(fc.TargetGroups, TargetGroupTuple{TargetGroupArn: tg, Weight: ptr(weights[tg])})
			}
		}
		ru.actions[i].TargetGroupArn = ""
		ru.actions[i].ForwardConfig = fc
	}
	s.refreshUse(at)
	return nil
}
