// Package deploy runs a small company's services on ECS: clusters on spot
// capacity (EC2 Auto Scaling groups with a capacity provider, or Fargate and
// Fargate Spot), services with rolling deployments and the circuit breaker,
// rollouts that follow one deployment by its id and tell the truth about it,
// rollback, auto scaling and spot fallback. Every mutation goes plan → diff →
// apply through internal/plan; every wait goes through internal/wait on the
// injected clock.
package deploy

import (
	"log/slog"

	"github.com/opsctl/opsctl/alarms"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// Deps are the clients and hooks a deploy command uses. A nil client is one
// the command does not call.
type Deps struct {
	ECS         ECSAPI
	EC2         EC2API
	AutoScaling AutoScalingAPI
	AppScaling  AppAutoScalingAPI
	SSM         SSMAPI
	Secrets     SecretsAPI
	ECR         ECRAPI
	IAM         IAMAPI
	Logs        LogsAPI
	STS         STSAPI
	ELB         ELBAPI // load-balanced services (lb.go)
	ACM         ACMAPI // their certificates

	// Region, Account and Partition name ARNs (from the caller's identity).
	Region, Account, Partition string

	// Clock is read and slept on by every wait (nil: real time).
	Clock clock.Clock
	// Log gets progress lines (nil: discarded).
	Log *slog.Logger
	// OnChange is told of each applied plan step (terminal progress).
	OnChange func(plan.Change)
	// OnTick is told of each poll of a wait (terminal progress bars).
	OnTick func(wait.Tick)

	// Alarms are the alarms library's clients (service --alarm-email).
	Alarms alarms.Deps
}

func (d Deps) clock() clock.Clock { return clock.Or(d.Clock) }

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}
