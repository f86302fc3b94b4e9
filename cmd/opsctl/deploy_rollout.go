package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/wait"
)

func init() {
	registerDeployCommand(deployRolloutCommand)
	registerDeployCommand(deployWaitCommand)
	registerDeployCommand(deployRollbackCommand)
	registerDeployCommand(deployRunCommand)
}

func clusterServiceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cluster", Usage: "ECS `CLUSTER` name (required)"},
		&cli.StringFlag{Name: "service", Usage: "ECS `SERVICE` name (required)"},
	}
}

func spotAfterFlag() cli.Flag {
	return &cli.DurationFlag{Name: "spot-after", Value: deploy.DefaultSpotAfter,
		Usage: "move the service to on-demand when its new tasks cannot be placed on spot for `DURATION`, as spot-check does (0: never)"}
}

// spotAfter maps --spot-after to the library's value (0 there means the
// default; negative means never).
func spotAfter(c *cli.Context) (time.Duration, error) {
	d := c.Duration("spot-after")
	switch {
	case d < 0:
		return 0, usage("invalid --spot-after %s: must be positive (0: never)", d)
	case d == 0:
		return -1, nil
	}
	return d, nil
}

func timeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: deploy.DefaultRolloutTimeout, Usage: "give up following after `DURATION` (the deployment keeps going)"}
}

func pollFlag() cli.Flag {
	return &cli.DurationFlag{Name: "poll-interval", Usage: "look every `DURATION` (at least 1s; default 10s backing off to 15s)"}
}

// followDeps are the deploy Deps with a terminal progress bar fed by OnTick.
func followDeps(ctx context.Context, st *state, label string) (deploy.Deps, *output.Progress, error) {
	d, err := deployDeps(ctx, st)
	if err != nil {
		return d, nil, err
	}
	bar := output.NewProgress(st.stderr, st.tty, label)
	d.OnTick = func(tk wait.Tick) {
		if tk.Fraction >= 0 {
			bar.Update(int64(tk.Fraction*100), 100, "% "+tk.State)
		}
	}
	return d, bar, nil
}

func writeRolloutResult(w io.Writer, r deploy.RolloutResult) error {
	pairs := [][2]string{
		{"Service", r.Service + " (cluster " + r.Cluster + ")"},
		{"State", r.State},
	}
	add := func(k, v string) {
		if v != "" && v != "0" {
			pairs = append(pairs, [2]string{k, v})
		}
	}
	add("Deployment", r.DeploymentID)
	add("Service deployment", r.ServiceDeploymentArn)
	add("Image", r.Image)
	add("Revision", strconv.Itoa(r.Revision))
	add("Previous revision", strconv.Itoa(r.PreviousRevision))
	add("Rolled back to", strconv.Itoa(r.RolledBackTo))
	add("Reason", r.Reason)
	add("Spot fallback", r.SpotFallback)
	if r.DesiredCount > 0 || r.RunningCount > 0 {
		pairs = append(pairs, [2]string{"Tasks", fmt.Sprintf("%d/%d running, %d failed", r.RunningCount, r.DesiredCount, r.FailedTasks)})
	}
	if r.ElapsedSeconds > 0 {
		pairs = append(pairs, [2]string{"Elapsed", fmt.Sprintf("%ds", r.ElapsedSeconds)})
	}
	if len(r.StoppedTasks) > 0 {
		pairs = append(pairs, [2]string{"Stopped tasks", strings.Join(uniqueStrings(r.StoppedTasks), "\n")})
	}
	if err := output.WriteKV(w, pairs); err != nil {
		return err
	}
	if r.State == deploy.StateInProgress && r.DeploymentID != "" {
		_, err := fmt.Fprintf(w, "\nFollow it with: opsctl deploy wait --cluster %s --service %s --deployment %s\n", r.Cluster, r.Service, r.DeploymentID)
		return err
	}
	return nil
}

func uniqueStrings(in []string) []string {
	seen := map[string]int{}
	var out []string
	for _, s := range in {
		if seen[s] == 0 {
			out = append(out, s)
		}
		seen[s]++
	}
	for i, s := range out {
		if n := seen[s]; n > 1 {
			out[i] = fmt.Sprintf("%s (%d tasks)", s, n)
		}
	}
	return out
}

// emitRollout prints the result (also on failure: the reason is the point)
// and returns the command's error.
func emitRollout(st *state, bar *output.Progress, res deploy.RolloutResult, err error) error {
	bar.Done()
	if res.State == "" {
		return err
	}
	return emitThen(st, res, func(w io.Writer) error { return writeRolloutResult(w, res) }, err)
}

func deployRolloutCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "rollout",
		Usage: "deploy a new image to a service and follow this deployment until it completes",
		Description: "Registers a revision of the service's task definition that differs only in the container's\n" +
			"image, updates the service and follows this deployment by its id. Exit 0 only when this\n" +
			"deployment completed; when the circuit breaker or an alarm failed it and ECS rolled back,\n" +
			"exit 1 with the reason. Waits longer than 10 minutes work. Before any write it checks that\n" +
			"the container is in the task definition and that an ECR image (tag or digest) exists.\n\n" +
			"Example:\n   opsctl deploy rollout --cluster prod --service api --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2\n" +
			"   opsctl deploy rollout --cluster prod --service api --container app --image api:v2 --no-wait",
		Flags: append(clusterServiceFlags(),
			&cli.StringFlag{Name: "image", Usage: "new image `REF` (repository[:tag][@sha256:digest]; required)"},
			&cli.StringFlag{Name: "container", Usage: "`NAME` of the container to change (default: the only container)"},
			timeoutFlag(), pollFlag(), spotAfterFlag(),
			&cli.BoolFlag{Name: "no-wait", Usage: "print the deployment id and return; follow it later with deploy wait"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage("deploy rollout takes no arguments, got %q", c.Args().First())
			}
			opts := deploy.RolloutOptions{
				Cluster: c.String("cluster"), Service: c.String("service"), Image: c.String("image"),
				Container: c.String("container"), Timeout: c.Duration("timeout"), NoWait: c.Bool("no-wait"), PollInterval: c.Duration("poll-interval"),
			}
			var err error
			if opts.SpotAfter, err = spotAfter(c); err != nil {
				return err
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				d, bar, err := followDeps(c.Context, st, "rollout")
				if err != nil {
					return err
				}
				res, err := deploy.Rollout(c.Context, d, opts)
				return emitRollout(st, bar, res, err)
			})
		},
	}
}

func deployWaitCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "wait",
		Usage: "follow a service's deployment until it completes (exit 1 when it failed or was rolled back)",
		Description: "Follows the deployment named by --deployment (an ecs-svc/… id or a service deployment ARN),\n" +
			"or the service's PRIMARY deployment, the way rollout does: new service events and\n" +
			"stopped-task reasons while it waits, no 10-minute cap.\n\n" +
			"Example:\n   opsctl deploy wait --cluster prod --service api --deployment ecs-svc/1234567890123456789",
		Flags: append(clusterServiceFlags(),
			&cli.StringFlag{Name: "deployment", Usage: "deployment `ID` (ecs-svc/…) or service deployment ARN (default: the PRIMARY one)"},
			timeoutFlag(), pollFlag(), spotAfterFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage("deploy wait takes no arguments, got %q", c.Args().First())
			}
			opts := deploy.WaitOptions{Cluster: c.String("cluster"), Service: c.String("service"), Deployment: c.String("deployment"), Timeout: c.Duration("timeout"), PollInterval: c.Duration("poll-interval")}
			var err error
			if opts.SpotAfter, err = spotAfter(c); err != nil {
				return err
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				d, bar, err := followDeps(c.Context, st, "deployment")
				if err != nil {
					return err
				}
				res, err := deploy.Wait(c.Context, d, opts)
				return emitRollout(st, bar, res, err)
			})
		},
	}
}

func deployRollbackCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "rollback",
		Usage: "roll back the deployment in progress (ECS's service deployments API), or deploy revision N",
		Description: "Without --to-revision, stops the service's deployment in progress with rollback\n" +
			"(StopServiceDeployment, stopType ROLLBACK), which works even when the service was not\n" +
			"configured to roll back. With --to-revision N, deploys revision N of the service's task\n" +
			"definition family. Either way it follows the result like rollout.\n\n" +
			"Example:\n   opsctl deploy rollback --cluster prod --service api\n   opsctl deploy rollback --cluster prod --service api --to-revision 41",
		Flags: append(clusterServiceFlags(),
			&cli.IntFlag{Name: "to-revision", Usage: "deploy revision `N` of the task definition family"},
			timeoutFlag(), pollFlag(),
			&cli.BoolFlag{Name: "no-wait", Usage: "return once the rollback started"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage("deploy rollback takes no arguments, got %q", c.Args().First())
			}
			if c.IsSet("to-revision") && c.Int("to-revision") < 1 {
				return usage("invalid --to-revision %d: revisions start at 1", c.Int("to-revision"))
			}
			opts := deploy.RollbackOptions{Cluster: c.String("cluster"), Service: c.String("service"), ToRevision: c.Int("to-revision"),
				Timeout: c.Duration("timeout"), NoWait: c.Bool("no-wait"), PollInterval: c.Duration("poll-interval")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				d, bar, err := followDeps(c.Context, st, "rollback")
				if err != nil {
					return err
				}
				res, err := deploy.Rollback(c.Context, d, opts)
				return emitRollout(st, bar, res, err)
			})
		},
	}
}

func deployRunCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a one-off task (a database migration) from a service's task definition and network",
		ArgsUsage: "-- CMD [ARG...]",
		Description: "Starts one task from the service's task definition, network configuration and capacity,\n" +
			"with the container's command replaced by CMD, waits for it to stop, prints its log\n" +
			"(awslogs) and exits with the container's exit code.\n\n" +
			"Example:\n   opsctl deploy run --cluster prod --service api -- ./migrate up",
		Flags: append(clusterServiceFlags(),
			&cli.StringFlag{Name: "container", Usage: "`NAME` of the container to run the command in (default: the first essential one)"},
			timeoutFlag(), pollFlag(),
		),
		Action: func(c *cli.Context) error {
			opts := deploy.RunOptions{Cluster: c.String("cluster"), Service: c.String("service"), Command: c.Args().Slice(),
				Container: c.String("container"), Timeout: c.Duration("timeout"), PollInterval: c.Duration("poll-interval")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				d, bar, err := followDeps(c.Context, st, "task")
				if err != nil {
					return err
				}
				res, err := deploy.Run(c.Context, d, opts)
				bar.Done()
				if res.TaskArn == "" {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeRunResult(w, res) }, err)
			})
		},
	}
}

func writeRunResult(w io.Writer, r deploy.RunResult) error {
	for _, line := range r.Log {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	if len(r.Log) > 0 {
		fmt.Fprintln(w)
	}
	exit := "-"
	if r.ExitCode != nil {
		exit = strconv.Itoa(int(*r.ExitCode))
	}
	pairs := [][2]string{
		{"Task", r.TaskArn},
		{"Command", strings.Join(r.Command, " ")},
		{"Status", r.LastStatus},
		{"Exit code", exit},
	}
	if r.StoppedReason != "" {
		pairs = append(pairs, [2]string{"Stopped reason", r.StoppedReason})
	}
	if r.LogGroup != "" {
		pairs = append(pairs, [2]string{"Log", r.LogGroup + " " + r.LogStream})
	}
	return output.WriteKV(w, pairs)
}
