package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
)

func init() {
	registerDeployCommand(func(st *state) *cli.Command {
		return &cli.Command{
			Name:  "service",
			Usage: "create or update an ECS service on a cluster's capacity (task definition, roles, auto scaling)",
			Description: "Example:\n   opsctl deploy service create api --cluster prod --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1 --port 8080\n" +
				"   opsctl deploy service update api --cluster prod --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2 --min 2 --max 10\n\n" + exitCodesHelp,
			Subcommands: []*cli.Command{serviceCommand(st, "create"), serviceCommand(st, "update"), serviceRmCommand(st)},
		}
	})
	registerDeployCommand(func(st *state) *cli.Command {
		cmd := serviceCommand(st, "diff")
		return cmd
	})
}

func serviceFlags(diff bool) []cli.Flag {
	fl := []cli.Flag{
		&cli.StringFlag{Name: "cluster", Usage: "the opsctl `CLUSTER` (deploy cluster create)", Required: true},
		&cli.StringFlag{Name: "image", Usage: "container `IMAGE` with a tag or digest (an ECR image is checked before any change)", Required: true},
		&cli.StringFlag{Name: "container", Usage: "container `NAME` (default: the service name)"},
		&cli.IntFlag{Name: "cpu", Value: deploy.DefaultCPU, Usage: "task `CPU` units (a Fargate size: 256, 512, 1024, …)"},
		&cli.IntFlag{Name: "memory", Value: deploy.DefaultMemory, Usage: "task memory in `MiB` (valid for the cpu, as Fargate requires)"},
		&cli.IntFlag{Name: "port", Usage: "container `PORT` (0: none)"},
		&cli.StringSliceFlag{Name: "env", Usage: "environment `K=V` (repeatable)"},
		&cli.StringSliceFlag{Name: "secret", Usage: "secret `K=ssm:/path` or K=arn:aws:secretsmanager:… (repeatable; must exist)"},
		&cli.IntFlag{Name: "desired", Value: deploy.DefaultDesired, Usage: "desired task `COUNT` (with --max, only at create)"},
		&cli.IntFlag{Name: "min", Usage: "auto scaling minimum `N` tasks"},
		&cli.IntFlag{Name: "max", Usage: "auto scaling maximum `N` tasks (0: no auto scaling)"},
		&cli.Float64Flag{Name: "cpu-target", Usage: "target average CPU utilization `PERCENT` (default 60 with --max)"},
		&cli.Float64Flag{Name: "memory-target", Usage: "also track average memory utilization `PERCENT`"},
		&cli.IntFlag{Name: "failure-threshold", Usage: "circuit breaker: roll back after `N` failed tasks (default: AWS's 50% of desired, 3-200)"},
		&cli.IntFlag{Name: "log-retention", Value: deploy.DefaultLogRetention, Usage: "log retention in `DAYS`"},
		&cli.StringFlag{Name: "alarm-email", Usage: "email `ADDR` for the service's error-log alarm; the alarm also rolls back deployments"},
		spotAfterFlag(),
	}
	fl = append(fl, lbFlags()...)
	if !diff {
		fl = append(fl, &cli.BoolFlag{Name: "dry-run", Usage: "print the plan, the IAM policies and the task definition; write nothing"})
	}
	return fl
}

// serviceOptions reads the flags into options and validates them (no AWS call).
func serviceOptions(c *cli.Context) (deploy.ServiceOptions, error) {
	if c.NArg() != 1 {
		return deploy.ServiceOptions{}, usage("%s: one service NAME expected, got %d arguments", c.Command.Name, c.NArg())
	}
	env, err := deploy.ParseEnv(c.StringSlice("env"))
	if err != nil {
		return deploy.ServiceOptions{}, err
	}
	var secrets []deploy.SecretRef
	for _, s := range c.StringSlice("secret") {
		r, err := deploy.ParseSecret(s)
		if err != nil {
			return deploy.ServiceOptions{}, err
		}
		secrets = append(secrets, r)
	}
	o := deploy.ServiceOptions{
		Cluster: c.String("cluster"), Name: c.Args().First(), Image: c.String("image"), Container: c.String("container"),
		CPU: c.Int("cpu"), Memory: c.Int("memory"), Port: c.Int("port"), Env: env, Secrets: secrets, Desired: c.Int("desired"),
		Min: c.Int("min"), Max: c.Int("max"), CPUTarget: c.Float64("cpu-target"), MemoryTarget: c.Float64("memory-target"),
		FailureThreshold: c.Int("failure-threshold"), LogRetention: c.Int("log-retention"), AlarmEmail: c.String("alarm-email"),
		DryRun: c.Bool("dry-run"), Update: c.Command.Name != "create",
	}
	o.LB, o.LBSet = lbOptions(c)
	o = o.WithDefaults()
	if o.SpotAfter, err = spotAfter(c); err != nil {
		return o, err
	}
	if c.IsSet("min") && !c.IsSet("desired") && o.Desired < o.Min {
		o.Desired = o.Min
	}
	if c.IsSet("max") && !c.IsSet("desired") && o.Max > 0 && o.Desired > o.Max {
		o.Desired = o.Max
	}
	return o, o.Validate()
}

func serviceCommand(st *state, verb string) *cli.Command {
	usageText := map[string]string{
		"create": "create an ECS service, or bring an existing one to what the flags say (idempotent)",
		"update": "update an existing ECS service to what the flags say (only what differs)",
		"diff":   "show what `deploy service update` would change, field by field; write nothing",
	}[verb]
	return &cli.Command{
		Name:      verb,
		Usage:     usageText,
		ArgsUsage: "NAME",
		Description: "Plans, diffs and applies: the log group /ecs/CLUSTER/NAME with a retention; the execution role\n" +
			"opsctl-CLUSTER-NAME-exec (trusted by ECS tasks of this account and region only; may pull the one ECR\n" +
			"repository, write its log group and read only the named secrets); a task definition revision (family\n" +
			"CLUSTER-NAME, awsvpc, awslogs, stopTimeout 110 s within spot's two-minute notice) when anything differs;\n" +
			"the service with the cluster's capacity provider strategy, rolling updates (minimum healthy 100%,\n" +
			"maximum 200%), the deployment circuit breaker with rollback and awsvpc networking; with --max, an\n" +
			"Application Auto Scaling target and target tracking on CPU (and memory). Before any change it checks\n" +
			"the ECR image, the secrets and the container name. A second run writes nothing.\n\n" +
			"Example:\n   opsctl deploy service " + verb + " api --cluster prod --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2 \\\n" +
			"     --port 8080 --env MODE=prod --secret DB_URL=ssm:/prod/api/db_url --min 2 --max 10 --cpu-target 60\n\n" + exitCodesHelp,
		Flags: serviceFlags(verb == "diff"),
		Action: func(c *cli.Context) error {
			o, err := serviceOptions(c)
			if err != nil {
				return err
			}
			return st.do(o, func() error {
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				var res deploy.ServiceResult
				switch verb {
				case "create":
					res, err = deploy.CreateService(c.Context, deps, o)
				case "update":
					res, err = deploy.UpdateService(c.Context, deps, o)
				default:
					res, err = deploy.DiffService(c.Context, deps, o)
				}
				if err != nil && len(res.Changes) == 0 {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeService(w, res, verb) }, err)
			})
		},
	}
}

func writeService(w io.Writer, r deploy.ServiceResult, verb string) error {
	mode := ""
	if r.DryRun && verb != "diff" {
		mode = " (dry run: nothing written)"
	}
	if verb == "diff" {
		mode = " (diff: nothing written)"
	}
	fmt.Fprintf(w, "Service %s in cluster %s%s\n", r.Service, r.Cluster, mode)
	strategy := strategyText(r.Strategy)
	if r.SpotFallback {
		strategy += " (spot fallback: on-demand until spot can place tasks again)"
	}
	pairs := [][2]string{{"Image", r.Image}, {"Task definition", r.TaskDefinition}, {"Log group", r.LogGroup},
		{"Execution role", r.ExecutionRole}, {"Capacity", strategy}}
	if s := r.Scaling; s != nil {
		a := fmt.Sprintf("%d-%d tasks, CPU %g%%", s.Min, s.Max, s.CPUTarget)
		if s.MemoryTarget > 0 {
			a += fmt.Sprintf(", memory %g%%", s.MemoryTarget)
		}
		pairs = append(pairs, [2]string{"Auto scaling", a})
	}
	if r.Alarm != "" {
		pairs = append(pairs, [2]string{"Alarm", r.Alarm})
	}
	pairs = append(pairs, lbResultPairs(r.LoadBalancer)...)
	if r.SpotCheck != "" {
		pairs = append(pairs, [2]string{"Spot", r.SpotCheck})
	}
	if err := output.WriteKV(w, pairs); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if verb == "diff" {
		changed := 0
		for _, c := range r.Changes {
			if !c.Changed() {
				continue
			}
			changed++
			if len(c.Diff) == 0 {
				fmt.Fprintf(w, "%s %s: will be created\n", c.Resource, c.Name)
			}
			for _, d := range c.Diff {
				fmt.Fprintf(w, "%s %s: %s: %s → %s\n", c.Resource, c.Name, d.Field, d.Old, d.New)
			}
		}
		if changed == 0 {
			fmt.Fprintln(w, "No differences: `deploy service update` would change nothing.")
		}
		return nil
	}
	if err := output.WriteTable(w, plan.Headers, plan.Rows(r.Changes, 70)); err != nil {
		return err
	}
	if r.DryRun {
		fmt.Fprintf(w, "\n# Trust policy of %s\n%s\n", r.ExecutionRole, r.Policies.ExecutionTrust)
		fmt.Fprintf(w, "\n# Permissions of %s\n%s\n", r.ExecutionRole, r.Policies.ExecutionPermissions)
		fmt.Fprintf(w, "\n# Task definition\n%s\n", r.Policies.TaskDefinition)
	}
	return nil
}
