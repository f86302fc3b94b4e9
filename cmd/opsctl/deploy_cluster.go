package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
)

func init() {
	registerDeployCommand(func(st *state) *cli.Command {
		return &cli.Command{
			Name:  "cluster",
			Usage: "create, inspect and remove ECS clusters on spot capacity (EC2 Auto Scaling groups or Fargate)",
			Description: "Example:\n   opsctl deploy cluster create prod --spot\n   opsctl deploy cluster create jobs --fargate --spot --on-demand-base 0\n" +
				"   opsctl deploy cluster status prod\n   opsctl deploy cluster rm prod --yes\n\n" + exitCodesHelp,
			Subcommands: []*cli.Command{clusterCreateCommand(st), clusterStatusCommand(st), clusterRmCommand(st)},
		}
	})
}

// clusterName reads the one NAME argument.
func clusterName(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 1:
		name := c.Args().First()
		return name, deploy.ValidateClusterName(name)
	case 0:
		return "", usage("%s: the cluster NAME is required", c.Command.Name)
	}
	return "", usage("%s: one NAME expected, got %d arguments", c.Command.Name, c.NArg())
}

// commaList splits a comma-separated flag value (one value of one flag:
// "t3.small,t3a.small"), dropping blanks.
func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func clusterCreateCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create or correct an ECS cluster with its capacity (idempotent)",
		ArgsUsage: "NAME",
		Description: "Plans, diffs and applies. EC2 mode (default): a launch template opsctl-NAME with the current\n" +
			"ECS-optimized Amazon Linux 2023 AMI (SSM parameter " + deploy.AMIParameterX86 + ")\n" +
			"and user data that joins the cluster with spot instance draining on; the Auto Scaling group\n" +
			"opsctl-NAME-on-demand and, with --spot, opsctl-NAME-spot (spot only, price-capacity-optimized over\n" +
			"the instance types); a capacity provider per group with managed scaling, managed termination\n" +
			"protection and managed draining; the instance role and profile opsctl-NAME-instance (the ECS agent's\n" +
			"permissions on this cluster only). The default strategy puts --on-demand-base tasks on on-demand\n" +
			"capacity and the rest on spot. Fargate mode (--fargate): FARGATE and FARGATE_SPOT with the same\n" +
			"strategy. Both: the default VPC's default subnets unless --subnets, and the security group\n" +
			"opsctl-NAME-tasks. A second run writes nothing; a changed flag updates only what differs.\n\n" +
			"Example:\n   opsctl deploy cluster create prod --spot --instance-types t3.small,t3a.small,t3.medium --max 6\n" +
			"   opsctl deploy cluster create jobs --fargate --spot --dry-run\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "fargate", Usage: "run tasks on Fargate (FARGATE and FARGATE_SPOT) instead of EC2 instances"},
			&cli.BoolFlag{Name: "spot", Usage: "run tasks above the on-demand base on spot capacity"},
			&cli.StringFlag{Name: "instance-types", Usage: "EC2 instance `TYPES`, comma-separated, in priority order (default " + strings.Join(deploy.DefaultInstanceTypes, ",") + ")"},
			&cli.IntFlag{Name: "min", Value: deploy.DefaultMin, Usage: "minimum `N` instances per Auto Scaling group (EC2 mode)"},
			&cli.IntFlag{Name: "max", Value: deploy.DefaultMax, Usage: "maximum `N` instances per Auto Scaling group (EC2 mode)"},
			&cli.IntFlag{Name: "on-demand-base", Value: deploy.DefaultOnDemandBase, Usage: "`N` tasks of each service placed on on-demand capacity before any on spot"},
			&cli.StringFlag{Name: "subnets", Usage: "`SUBNETS`, comma-separated (default: the default VPC's default subnets)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan, the IAM policies and the user data; write nothing"},
		},
		Action: func(c *cli.Context) error {
			name, err := clusterName(c)
			if err != nil {
				return err
			}
			if c.Bool("fargate") {
				for _, f := range []string{"instance-types", "min", "max"} {
					if c.IsSet(f) {
						return usage("--%s applies to EC2 clusters, not --fargate", f)
					}
				}
			}
			ints := map[string]int32{}
			for _, f := range []string{"min", "max", "on-demand-base"} {
				v := c.Int(f)
				if v < 0 || v > 1<<30 {
					return usage("--%s %d: out of range", f, v)
				}
				ints[f] = int32(v)
			}
			opts := deploy.ClusterOptions{
				Name: name, Fargate: c.Bool("fargate"), Spot: c.Bool("spot"), InstanceTypes: commaList(c.String("instance-types")),
				Min: ints["min"], Max: ints["max"], OnDemandBase: ints["on-demand-base"], Subnets: commaList(c.String("subnets")), DryRun: c.Bool("dry-run"),
			}.WithDefaults()
			if c.IsSet("instance-types") && len(opts.InstanceTypes) == 0 {
				return usage("--instance-types is empty")
			}
			if c.IsSet("subnets") && len(opts.Subnets) == 0 {
				return usage("--subnets is empty")
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.CreateCluster(c.Context, deps, opts)
				if err != nil && res.Changes == nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeClusterCreate(w, res) }, err)
			})
		},
	}
}

func strategyText(items []deploy.StrategyItem) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%s base %d weight %d", it.Provider, it.Base, it.Weight))
	}
	return strings.Join(parts, "; ")
}

func writeClusterCreate(w io.Writer, r deploy.ClusterResult) error {
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing written)"
	}
	spot := "on-demand only"
	if r.Spot {
		spot = "spot above the on-demand base"
	}
	fmt.Fprintf(w, "Cluster %s: %s, %s, in %s%s\n", r.Cluster, r.Mode, spot, r.Region, mode)
	pairs := [][2]string{
		{"VPC", r.VpcID}, {"Subnets", shortList(r.Subnets)}, {"Security group", r.SecurityGroup},
		{"Default strategy", strategyText(r.DefaultStrategy)},
	}
	if r.Mode == deploy.ModeEC2 {
		pairs = append(pairs, [2]string{"AMI", r.ImageID}, [2]string{"Instance types", strings.Join(r.InstanceTypes, ",")},
			[2]string{"Auto Scaling groups", strings.Join(r.AutoScalingGroups, ",")}, [2]string{"Instance role", r.InstanceRole})
	}
	if err := output.WriteKV(w, pairs); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := output.WriteTable(w, plan.Headers, plan.Rows(r.Changes, 36)); err != nil {
		return err
	}
	if r.DryRun && r.Policies.InstancePermissions != "" {
		fmt.Fprintf(w, "\n# IAM trust policy of %s (EC2 assumes it for the instance itself: no confused-deputy condition applies)\n%s\n", r.InstanceRole, indentJSON(r.Policies.InstanceTrust))
		fmt.Fprintf(w, "\n# IAM permissions of %s (the ECS agent, on this cluster only)\n%s\n", r.InstanceRole, indentJSON(r.Policies.InstancePermissions))
		fmt.Fprintf(w, "\n# User data of launch template %s\n%s", r.LaunchTemplate, r.Policies.UserData)
	}
	return nil
}

// indentJSON pretty-prints a policy document for people.
func indentJSON(doc string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(doc), "", "  ") != nil {
		return doc
	}
	return b.String()
}

func clusterStatusCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "status",
		Usage:       "show a cluster: capacity providers, Auto Scaling groups, instances, tasks, problems",
		ArgsUsage:   "NAME",
		Description: "Example:\n   opsctl deploy cluster status prod\n   opsctl deploy cluster status prod -o json\n\n" + exitCodesHelp,
		Action: func(c *cli.Context) error {
			name, err := clusterName(c)
			if err != nil {
				return err
			}
			return st.do(name, func() error {
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.ClusterStatusOf(c.Context, deps, name)
				if err != nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeClusterStatus(w, res) }, nil)
			})
		},
	}
}

func writeClusterStatus(w io.Writer, s deploy.ClusterStatus) error {
	pairs := [][2]string{
		{"Cluster", s.Cluster}, {"Status", s.Status}, {"Mode", s.Mode}, {"Region", s.Region},
		{"Subnets", shortList(s.Subnets)}, {"Security group", s.SecurityGroup},
		{"Services", strconv.Itoa(int(s.ActiveServices))},
		{"Tasks", fmt.Sprintf("%d running, %d pending", s.RunningTasks, s.PendingTasks)},
		{"Container instances", strconv.Itoa(int(s.ContainerInstances))},
		{"Default strategy", strategyText(s.DefaultStrategy)},
	}
	if err := output.WriteKV(w, pairs); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows := [][]string{}
	for _, p := range s.CapacityProviders {
		size, inst, last := "", "", ""
		if g := p.Group; g != nil {
			size = fmt.Sprintf("%d/%d/%d", g.Min, g.Desired, g.Max)
			inst = fmt.Sprintf("%d up, %d pending", g.InService, g.Pending)
			if g.Status != "" {
				inst = g.Status
			}
			if a := g.LastActivity; a != nil {
				last = a.Time.UTC().Format("01-02 15:04") + " " + a.Status
			}
		}
		var managed []string
		if p.ManagedScaling == "ENABLED" {
			managed = append(managed, fmt.Sprintf("scaling %d%%", p.TargetCapacity))
		}
		if p.TerminationProtection == "ENABLED" {
			managed = append(managed, "protection")
		}
		if p.ManagedDraining == "ENABLED" {
			managed = append(managed, "draining")
		}
		rows = append(rows, []string{p.Name, p.Status, size, inst, strings.Join(managed, ", "), last})
	}
	if err := output.WriteTable(w, []string{"Capacity provider", "Status", "Min/Des/Max", "Instances", "Managed", "Last activity"}, rows); err != nil {
		return err
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	return nil
}

func clusterRmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "delete a cluster and everything opsctl created for it (asks first)",
		ArgsUsage: "NAME",
		Description: "Deletes, in reverse order of creation, what carries the tag opsctl:cluster=NAME: the capacity\n" +
			"providers, the Auto Scaling groups (terminating their instances, waiting until they are gone), the\n" +
			"launch template, the instance profile and role, the security group and the cluster. Refuses while\n" +
			"the cluster has active services unless --force, which deletes them first. Asks for confirmation\n" +
			"(--yes to skip; required without a terminal). After a partial failure, run it again.\n\n" +
			"Example:\n   opsctl deploy cluster rm staging\n   opsctl deploy cluster rm staging --force --yes\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "delete the cluster's services too instead of refusing"},
		},
		Action: func(c *cli.Context) error {
			name, err := clusterName(c)
			if err != nil {
				return err
			}
			opts := deploy.RemoveOptions{Name: name, Force: c.Bool("force")}
			return st.do(opts, func() error {
				question := fmt.Sprintf("Delete ECS cluster %s and everything opsctl created for it?", name)
				if opts.Force {
					question = fmt.Sprintf("Delete ECS cluster %s, its services, and everything opsctl created for it?", name)
				}
				if err := st.confirm(c.Context, question); err != nil {
					return err
				}
				deps, err := deployDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := deploy.RemoveCluster(c.Context, deps, opts)
				if err != nil && res.Changes == nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeClusterRm(w, res) }, err)
			})
		},
	}
}

func writeClusterRm(w io.Writer, r deploy.RemoveResult) error {
	if !r.Found {
		_, err := fmt.Fprintf(w, "Cluster %s: nothing opsctl created is left; nothing to remove.\n", r.Cluster)
		return err
	}
	return output.WriteTable(w, plan.Headers, plan.Rows(r.Changes, 36))
}

// shortList shows the first item of a long list and how many follow (the
// JSON output has them all), keeping tables within a terminal's width.
func shortList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1, 2:
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, %s and %d more (-o json lists all)", items[0], items[1], len(items)-2)
}
