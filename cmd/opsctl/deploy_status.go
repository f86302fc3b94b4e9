package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
)

func init() {
	registerDeployCommand(deployStatusCommand)
	registerDeployCommand(deployRevisionsCommand)
	registerDeployCommand(deploySpotCheckCommand)
}

func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usage("%s takes no arguments (got %q): use --cluster and --service", c.Command.Name, c.Args().Slice())
	}
	return nil
}

func deployStatusCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "status",
		Usage:       "what each service is doing, in plain words: tasks, deployments, spot vs on-demand, events, stopped reasons, auto scaling",
		Description: "Example:\n   opsctl deploy status --cluster prod\n   opsctl deploy status --cluster prod --service api -o json\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cluster", Usage: "`CLUSTER` name", Required: true},
			&cli.StringFlag{Name: "service", Usage: "only this `SERVICE`"},
			&cli.IntFlag{Name: "events", Value: 5, Usage: "show the latest `N` service events"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := deploy.StatusOptions{Cluster: c.String("cluster"), Service: c.String("service"), Events: c.Int("events")}
			if err := deploy.ValidateClusterName(o.Cluster); err != nil {
				return err
			}
			if o.Events < 1 || o.Events > 100 {
				return usage("--events %d: 1-100 (ECS keeps the latest 100 events)", o.Events)
			}
			return st.do(o, func() error {
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.Status(c.Context, deps, o)
				if err != nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeDeployStatus(w, res) }, nil)
			})
		},
	}
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func writeDeployStatus(w io.Writer, r deploy.StatusResult) error {
	if len(r.Services) == 0 {
		_, err := fmt.Fprintf(w, "Cluster %s has no services.\n", r.Cluster)
		return err
	}
	for i, s := range r.Services {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Service %s (%s): %s\n", s.Service, strings.ToLower(s.Status), s.Summary)
		pairs := [][2]string{
			{"Tasks", fmt.Sprintf("%d running / %d desired / %d pending (%d on spot, %d on-demand)", s.Running, s.Desired, s.Pending, s.SpotTasks, s.OnDemandTasks)},
			{"Task definition", s.TaskDefinition}, {"Capacity", strategyText(s.Strategy)},
		}
		if s.SpotFallback != "" {
			pairs = append(pairs, [2]string{"Spot fallback", "on on-demand since " + s.SpotFallback})
		}
		if sc := s.Scaling; sc != nil {
			a := fmt.Sprintf("%d-%d tasks", sc.Min, sc.Max)
			if la := sc.LastActivity; la != nil {
				a += fmt.Sprintf("; last: %s %s (%s; %s)", ts(la.Time), la.Description, la.Status, la.Cause)
			}
			pairs = append(pairs, [2]string{"Auto scaling", a})
		}
		pairs = append(pairs, lbStatusPairs(s.LoadBalancer)...)
		if err := output.WriteKV(w, pairs); err != nil {
			return err
		}
		var rows [][]string
		for _, d := range s.Deployments {
			rows = append(rows, []string{d.ID, d.Status, d.RolloutState, d.TaskDefinition, fmt.Sprintf("%d/%d/%d", d.Running, d.Desired, d.Pending), fmt.Sprint(d.Failed), d.Reason})
		}
		if len(rows) > 0 {
			if err := output.WriteTable(w, []string{"Deployment", "Status", "Rollout", "Task definition", "Running/Desired/Pending", "Failed", "Reason"}, rows); err != nil {
				return err
			}
		}
		for _, t := range s.Stopped {
			line := fmt.Sprintf("  stopped %s %s: %s", ts(t.StoppedAt), t.StopCode, t.Reason)
			if t.Container != "" {
				line += " (" + t.Container + ")"
			}
			fmt.Fprintln(w, line)
		}
		for _, e := range s.Events {
			fmt.Fprintf(w, "  event %s %s\n", ts(e.Time), e.Message)
		}
	}
	return nil
}

func deployRevisionsCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "revisions",
		Usage: "list a service's task definition revisions; --keep N deregisters the old unused ones",
		Description: "Only the family opsctl registers for the service (CLUSTER-SERVICE) is touched; revisions a\n" +
			"deployment uses are always kept.\n\nExample:\n   opsctl deploy revisions --cluster prod --service api\n" +
			"   opsctl deploy revisions --cluster prod --service api --keep 5 --dry-run\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cluster", Usage: "`CLUSTER` name", Required: true},
			&cli.StringFlag{Name: "service", Usage: "`SERVICE` name", Required: true},
			&cli.IntFlag{Name: "keep", Usage: "keep the newest `N` revisions (and those in use); deregister the rest"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be deregistered; write nothing"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := deploy.RevisionsOptions{Cluster: c.String("cluster"), Service: c.String("service"), Keep: c.Int("keep"), DryRun: c.Bool("dry-run")}
			if err := deploy.ValidateClusterName(o.Cluster); err != nil {
				return err
			}
			if c.IsSet("keep") && o.Keep < 1 {
				return usage("--keep %d: keep at least 1 revision", o.Keep)
			}
			return st.do(o, func() error {
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.Revisions(c.Context, deps, o)
				if err != nil && res.Family == "" {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					var rows [][]string
					for _, r := range res.Revisions {
						use := ""
						if r.InUse {
							use = "in use"
						}
						rows = append(rows, []string{fmt.Sprint(r.Revision), use, r.Action})
					}
					fmt.Fprintf(w, "Task definition family %s (%d active revisions)\n", res.Family, len(res.Revisions))
					return output.WriteTable(w, []string{"Revision", "Used", "Action"}, rows)
				}, err)
			})
		},
	}
}

func deploySpotCheckCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "spot-check",
		Usage: "spot fallback: move services to on-demand while spot cannot place tasks, and back when it can (cron-safe)",
		Description: "Run it every few minutes (cron, a scheduled task) and after rollouts. A service whose tasks cannot be\n" +
			"placed for --after moves to the cluster's on-demand capacity (a new deployment); while it is there,\n" +
			"each run probes spot with one task of the service, and when the probe runs the service moves back.\n" +
			"The state is kept in the service's tags (opsctl:spot-*), so runs may be repeated or missed.\n\n" +
			"Example:\n   opsctl deploy spot-check --cluster prod\n   */5 * * * * opsctl deploy spot-check --cluster prod --after 10m -o json\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cluster", Usage: "`CLUSTER` name", Required: true},
			&cli.StringFlag{Name: "service", Usage: "only this `SERVICE`"},
			&cli.DurationFlag{Name: "after", Value: deploy.DefaultSpotAfter, Usage: "fall back after spot fails to place tasks for `DURATION`"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would change; write nothing"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			o := deploy.SpotCheckOptions{Cluster: c.String("cluster"), Service: c.String("service"), After: c.Duration("after"), DryRun: c.Bool("dry-run")}
			if err := deploy.ValidateClusterName(o.Cluster); err != nil {
				return err
			}
			if o.After < time.Minute {
				return usage("--after %s: at least 1m (ECS needs time to place tasks)", o.After)
			}
			return st.do(o, func() error {
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.SpotCheck(c.Context, deps, o)
				if err != nil && len(res.Services) == 0 {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					var rows [][]string
					for _, s := range res.Services {
						rows = append(rows, []string{s.Service, s.State, s.Message})
					}
					if err := output.WriteTable(w, []string{"Service", "State", "What happened"}, rows); err != nil {
						return err
					}
					var all []plan.Change
					for _, s := range res.Services {
						all = append(all, s.Changes...)
					}
					if len(all) > 0 {
						fmt.Fprintln(w)
						return output.WriteTable(w, plan.Headers, plan.Rows(all, 70))
					}
					return nil
				}, err)
			})
		},
	}
}
