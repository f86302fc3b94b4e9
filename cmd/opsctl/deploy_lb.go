package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
)

// lbFlags are the load-balancer and deployment-strategy flags of
// `deploy service create|update|diff` (deploy/lb_input.go checks them).
func lbFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "public", Usage: "serve the service through the cluster's shared Application Load Balancer (needs --port)"},
		&cli.StringSliceFlag{Name: "host", Usage: "route requests for host `NAME` (ALB host condition; * and ? wildcards; repeatable)"},
		&cli.StringSliceFlag{Name: "path", Usage: "route requests whose path matches `PATTERN`, e.g. '/api/*' (repeatable)"},
		&cli.StringFlag{Name: "certificate", Usage: "ACM certificate `ARN`: HTTPS on 443, HTTP redirected to HTTPS"},
		&cli.StringFlag{Name: "health-path", Value: deploy.DefaultHealthPath, Usage: "target group health check `PATH`"},
		&cli.IntFlag{Name: "priority", Usage: "listener rule `PRIORITY` 1-50000 (default: opsctl keeps the lowest free one)"},
		&cli.BoolFlag{Name: "access-logs", Usage: "write the load balancer's access logs to an encrypted S3 bucket"},
		&cli.StringFlag{Name: "strategy", Value: deploy.StrategyRolling, Usage: "deployment `STRATEGY`: rolling, canary, linear or blue-green (ECS native)"},
		&cli.IntFlag{Name: "bake-time", Value: deploy.DefaultBakeMinutes, Usage: "`MINUTES` both revisions run after production traffic moved (0-1440)"},
		&cli.Float64Flag{Name: "canary-percent", Value: deploy.DefaultCanaryPercent, Usage: "canary: `PERCENT` of traffic shifted first (0.1-100)"},
		&cli.IntFlag{Name: "canary-bake-time", Value: deploy.DefaultCanaryBakeMinutes, Usage: "canary: `MINUTES` before the rest of the traffic moves (0-1440)"},
		&cli.Float64Flag{Name: "linear-percent", Value: deploy.DefaultLinearPercent, Usage: "linear: `PERCENT` of traffic per step (3-100)"},
		&cli.IntFlag{Name: "linear-bake-time", Value: deploy.DefaultLinearBakeMinutes, Usage: "linear: `MINUTES` between steps (0-1440)"},
	}
}

// lbOptions reads the flags (validation happens with the service's options).
func lbOptions(c *cli.Context) (deploy.LBOptions, deploy.LBSet) {
	return deploy.LBOptions{
			Public: c.Bool("public"), Hosts: c.StringSlice("host"), Paths: c.StringSlice("path"), Certificate: c.String("certificate"),
			HealthPath: c.String("health-path"), Priority: c.Int("priority"), AccessLogs: c.Bool("access-logs"), Strategy: c.String("strategy"),
			BakeMinutes: c.Int("bake-time"), CanaryPercent: c.Float64("canary-percent"), CanaryBakeMinutes: c.Int("canary-bake-time"),
			LinearPercent: c.Float64("linear-percent"), LinearBakeMinutes: c.Int("linear-bake-time"),
		}, deploy.LBSet{Bake: c.IsSet("bake-time"), CanaryPercent: c.IsSet("canary-percent"), CanaryBake: c.IsSet("canary-bake-time"),
			LinearPercent: c.IsSet("linear-percent"), LinearBake: c.IsSet("linear-bake-time")}
}

// lbStatusPairs are the status lines of a load-balanced service.
func lbStatusPairs(l *deploy.LBStatus) [][2]string {
	if l == nil {
		return nil
	}
	url := l.URL
	if url == "" {
		url = "(no listener rule: re-run deploy service create)"
	}
	out := [][2]string{{"URL", url}, {"Routes", fmt.Sprintf("%s on %s (priority %d)", strings.Join(l.Routes, ", "), l.LoadBalancer, l.Priority)}}
	t := fmt.Sprintf("%d of %d healthy", l.Healthy, len(l.Targets))
	if len(l.Targets) == 0 {
		t = "none registered"
	}
	for _, x := range l.Targets {
		if x.State != "healthy" {
			t += fmt.Sprintf("; %s %s", x.Target, x.State)
			if x.Why != "" {
				t += ": " + x.Why
			}
		}
	}
	return append(out, [2]string{"Targets", t})
}

// lbResultPairs are the lines service create prints about the load balancer.
func lbResultPairs(l *deploy.LoadBalancerInfo) [][2]string {
	if l == nil {
		return nil
	}
	url := l.URL
	if url == "" {
		url = "(known once the load balancer exists)"
	}
	return [][2]string{{"Load balancer", l.Name}, {"URL", url},
		{"Routes", fmt.Sprintf("%s on %s (priority %d)", strings.Join(l.Conditions, ", "), l.Listener, l.RulePriority)},
		{"Target groups", strings.Join(l.TargetGroups, ", ")}, {"Deployments", l.StrategyDetail}}
}

func serviceRmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "delete a service and its routing; the cluster's load balancer goes with its last rule (asks first)",
		ArgsUsage: "NAME",
		Description: "Deletes the ECS service, its auto scaling target, its execution role, its listener rule and target\n" +
			"groups, and its port on the task security group (unless another service uses it). When its rule was\n" +
			"the load balancer's last, the load balancer, its listeners and its security group go too. Keeps the\n" +
			"log group and the task definition revisions. Only what carries opsctl's tags is deleted. Asks for\n" +
			"confirmation (--yes to skip; required without a terminal). After a partial failure, run it again.\n\n" +
			"Example:\n   opsctl deploy service rm api --cluster prod\n   opsctl deploy service rm api --cluster prod --dry-run\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cluster", Usage: "the opsctl `CLUSTER`", Required: true},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be deleted; delete nothing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage("rm: one service NAME expected, got %d arguments", c.NArg())
			}
			o := deploy.ServiceRemoveOptions{Cluster: c.String("cluster"), Name: c.Args().First(), DryRun: c.Bool("dry-run")}
			if err := deploy.ValidateClusterName(o.Cluster); err != nil {
				return err
			}
			if err := deploy.ValidateServiceName(o.Name); err != nil {
				return err
			}
			if !o.DryRun {
				if err := st.canConfirm("deploy service rm"); err != nil {
					return err
				}
			}
			return st.do(o, func() error {
				if !o.DryRun {
					if err := st.confirm(c.Context, fmt.Sprintf("Delete service %s of cluster %s and its load balancer routing?", o.Name, o.Cluster)); err != nil {
						return err
					}
				}
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.RemoveService(c.Context, deps, o)
				if err != nil && len(res.Changes) == 0 {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeServiceRm(w, res) }, err)
			})
		},
	}
}

func writeServiceRm(w io.Writer, r deploy.ServiceRemoveResult) error {
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing deleted)"
	}
	fmt.Fprintf(w, "Service %s in cluster %s%s\n", r.Service, r.Cluster, mode)
	if plan.Writes(r.Changes) == 0 && !r.DryRun {
		fmt.Fprintln(w, "Nothing opsctl created is left; nothing to remove.")
	}
	if err := output.WriteTable(w, plan.Headers, plan.Rows(r.Changes, 60)); err != nil {
		return err
	}
	if r.LoadBalancerRemoved {
		fmt.Fprintln(w, "The load balancer had no other rule and was removed.")
	}
	for _, k := range r.Kept {
		fmt.Fprintf(w, "kept: %s\n", k)
	}
	return nil
}
