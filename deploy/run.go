package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/wait"
)

// RunStartedBy marks the one-off tasks `deploy run` starts (RunTask startedBy).
const RunStartedBy = "opsctl-deploy-run"

// maxRunLogLines caps the log lines a run prints.
const maxRunLogLines = 1000

// RunOptions are the inputs of `deploy run`.
type RunOptions struct {
	Cluster, Service string
	// Command replaces the container's command (exec form, one argument each).
	Command []string
	// Container to run the command in; empty means the task definition's
	// first essential container.
	Container    string
	Timeout      time.Duration
	PollInterval time.Duration
}

// Validate checks the options before any AWS call.
func (o RunOptions) Validate() error {
	if err := validateNames(o.Cluster, o.Service); err != nil {
		return err
	}
	if len(o.Command) == 0 {
		return opserr.Usagef("give the command after --, for example: opsctl deploy run --cluster prod --service api -- ./migrate up")
	}
	if o.Container != "" && !resourceNameRe.MatchString(o.Container) {
		return opserr.Usagef("invalid --container %q: up to 255 letters, digits, hyphens and underscores", o.Container)
	}
	if err := validatePoll(o.PollInterval); err != nil {
		return err
	}
	return validateTimeout(o.Timeout)
}

// RunResult is what `deploy run` reports.
type RunResult struct {
	Cluster        string   `json:"cluster"`
	Service        string   `json:"service"`
	TaskArn        string   `json:"task_arn,omitempty"`
	TaskDefinition string   `json:"task_definition,omitempty"`
	Container      string   `json:"container,omitempty"`
	Command        []string `json:"command"`
	LastStatus     string   `json:"last_status,omitempty"`
	ExitCode       *int32   `json:"exit_code"`
	StopCode       string   `json:"stop_code,omitempty"`
	StoppedReason  string   `json:"stopped_reason,omitempty"`
	LogGroup       string   `json:"log_group,omitempty"`
	LogStream      string   `json:"log_stream,omitempty"`
	Log            []string `json:"log,omitempty"`
	ElapsedSeconds int64    `json:"elapsed_seconds"`
}

// ExitError carries the one-off task's exit code to opsctl's exit status.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code (opserr.ExitCode honours it).
func (e *ExitError) ExitCode() int { return e.Code }

// Run starts a one-off task from the service's task definition, network and
// capacity, with the command replaced, waits for it to stop, reads its log
// (awslogs) and returns the container's exit code: a non-zero code is an
// *ExitError with that code.
func Run(ctx context.Context, d Deps, o RunOptions) (RunResult, error) {
	res := RunResult{Cluster: o.Cluster, Service: o.Service, Command: o.Command}
	if err := o.Validate(); err != nil {
		return res, err
	}
	svc, err := describeService(ctx, d, o.Cluster, o.Service)
	if err != nil {
		return res, err
	}
	res.TaskDefinition = aws.ToString(svc.TaskDefinition)
	tdOut, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if err != nil {
		return res, fmt.Errorf("describe task definition %s: %w", res.TaskDefinition, err)
	}
	td := tdOut.TaskDefinition
	var cd *types.ContainerDefinition
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		if o.Container != "" && aws.ToString(c.Name) == o.Container {
			cd = c
		}
		if o.Container == "" && cd == nil && (c.Essential == nil || *c.Essential) {
			cd = c
		}
	}
	if cd == nil {
		_, err := pickContainer(td, o.Container)
		return res, err
	}
	res.Container = aws.ToString(cd.Name)

	in := &ecs.RunTaskInput{
		Cluster: aws.String(o.Cluster), TaskDefinition: svc.TaskDefinition, Count: aws.Int32(1),
		NetworkConfiguration: svc.NetworkConfiguration, StartedBy: aws.String(RunStartedBy),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: cd.Name, Command: o.Command}}},
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else {
		in.LaunchType = svc.LaunchType
	}
	if svc.PlatformVersion != nil && in.LaunchType == types.LaunchTypeFargate {
		in.PlatformVersion = svc.PlatformVersion
	}
	out, err := d.ECS.RunTask(ctx, in)
	if err != nil {
		return res, fmt.Errorf("run a task of %s: %w", res.TaskDefinition, err)
	}
	if len(out.Tasks) == 0 {
		why := "ECS started no task"
		if len(out.Failures) > 0 {
			why = aws.ToString(out.Failures[0].Reason)
		}
		return res, fmt.Errorf("run a task of %s: %s", res.TaskDefinition, why)
	}
	res.TaskArn = aws.ToString(out.Tasks[0].TaskArn)
	d.log().Info("task started", "task", lastPart(res.TaskArn), "command", fmt.Sprint(o.Command))

	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultRolloutTimeout
	}
	clk := d.clock()
	start := clk.Now()
	interval, maxInterval := 5*time.Second, 15*time.Second
	if o.PollInterval > 0 {
		interval, maxInterval = o.PollInterval, o.PollInterval
	}
	var task types.Task
	_, err = wait.Until(ctx, wait.Options{
		What: "task " + lastPart(res.TaskArn), Clock: clk, Timeout: timeout,
		Interval: interval, MaxInterval: maxInterval, Progress: d.OnTick,
	}, func(ctx context.Context) (wait.Status, error) {
		dt, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(o.Cluster), Tasks: []string{res.TaskArn}})
		if err != nil {
			return wait.Status{}, fmt.Errorf("describe task %s: %w", res.TaskArn, err)
		}
		if len(dt.Tasks) == 0 {
			return wait.Status{}, fmt.Errorf("task %s is no longer known to ECS", res.TaskArn)
		}
		task = dt.Tasks[0]
		st := aws.ToString(task.LastStatus)
		res.LastStatus = st
		return wait.Status{Done: st == "STOPPED", State: st, Fraction: -1}, nil
	})
	res.ElapsedSeconds = int64(clk.Now().Sub(start) / time.Second)
	if err != nil {
		var te *wait.TimeoutError
		if errors.As(err, &te) {
			return res, fmt.Errorf("task %s still %s after %s; it keeps running (stop it with aws ecs stop-task if it should not): %w", res.TaskArn, res.LastStatus, timeout, err)
		}
		return res, err
	}
	res.StopCode = string(task.StopCode)
	res.StoppedReason = aws.ToString(task.StoppedReason)
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == res.Container {
			res.ExitCode = c.ExitCode
		}
	}
	res.LogGroup, res.LogStream = runLogLocation(cd, res.Container, res.TaskArn)
	if res.LogGroup != "" && d.Logs != nil {
		res.Log = readRunLog(ctx, d, res.LogGroup, res.LogStream)
	}
	switch {
	case res.ExitCode == nil:
		return res, fmt.Errorf("task %s stopped before its command ran: %s", lastPart(res.TaskArn), taskStopReason(task))
	case *res.ExitCode != 0:
		return res, &ExitError{Code: int(*res.ExitCode), Err: fmt.Errorf("command %v exited with code %d in task %s", o.Command, *res.ExitCode, lastPart(res.TaskArn))}
	}
	return res, nil
}

// runLogLocation is where the awslogs driver writes the container's output:
// the group from awslogs-group, the stream prefix/container/task-id.
func runLogLocation(cd *types.ContainerDefinition, container, taskArn string) (string, string) {
	lc := cd.LogConfiguration
	if lc == nil || lc.LogDriver != types.LogDriverAwslogs {
		return "", ""
	}
	group := lc.Options["awslogs-group"]
	prefix := lc.Options["awslogs-stream-prefix"]
	if group == "" || prefix == "" {
		return group, ""
	}
	return group, prefix + "/" + container + "/" + lastPart(taskArn)
}

// readRunLog reads the task's log stream from the start (up to maxRunLogLines).
func readRunLog(ctx context.Context, d Deps, group, stream string) []string {
	if stream == "" {
		return nil
	}
	var lines []string
	var token *string
	for len(lines) < maxRunLogLines {
		out, err := d.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), NextToken: token,
		})
		if err != nil {
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
				d.log().Warn("read the task's log", "group", group, "stream", stream, "error", err)
			}
			return lines
		}
		for _, e := range out.Events {
			lines = append(lines, aws.ToString(e.Message))
		}
		if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(token) {
			return lines
		}
		token = out.NextForwardToken
	}
	return lines
}
