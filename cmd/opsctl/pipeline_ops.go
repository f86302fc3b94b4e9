package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/pipelines"
)

func init() {
	registerPipelineCommand(pipelineStatusCommand)
	registerPipelineCommand(pipelineRunCommand)
	registerPipelineCommand(pipelineLogsCommand)
	registerPipelineCommand(pipelineRmCommand)
}

func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usage("%s: one pipeline NAME expected, got %d arguments", commandPath(c), c.NArg())
	}
	name := c.Args().First()
	return name, pipelines.ValidateName(name)
}

func pipelineStatusCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "status",
		Usage:       "the latest execution of each stage and action, recent executions, and for a failure the failing action with the tail of its build log",
		ArgsUsage:   "NAME",
		Description: "Example:\n   opsctl pipeline status shop\n   opsctl pipeline status shop --executions 10 --tail 50 -o json\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "executions", Value: 5, Usage: "recent executions to list (`N`, 1-50)"},
			&cli.IntFlag{Name: "tail", Value: pipelines.DefaultLogTail, Usage: "build log `LINES` shown for a failed build or test"},
		},
		Action: func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			o := pipelines.StatusOptions{Name: name, Executions: c.Int("executions"), Tail: c.Int("tail")}
			if err := o.Validate(); err != nil {
				return err
			}
			return st.do(o, func() error {
				deps, err := pipelineDeps(c.Context, st)
				if err != nil {
					return err
				}
				r, err := pipelines.Status(c.Context, deps, o)
				if err != nil {
					return err
				}
				return st.printer.Emit(r, func(w io.Writer) error { return writePipelineStatus(w, r) })
			})
		},
	}
}

func writePipelineStatus(w io.Writer, r pipelines.StatusResult) error {
	fmt.Fprintf(w, "Pipeline %s (version %d)  %s\n\n", r.Pipeline, r.Version, r.ConsoleURL)
	var rows [][]string
	for _, s := range r.Stages {
		for _, a := range s.Actions {
			detail := a.Summary
			if a.Error != "" {
				detail = a.Error
			}
			rows = append(rows, []string{s.Stage, s.Status, a.Action, a.Status, detail})
		}
	}
	if err := output.WriteTable(w, []string{"Stage", "Stage status", "Action", "Action status", "Detail"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows = nil
	for _, x := range r.Executions {
		rev := x.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		rows = append(rows, []string{x.ID, x.Status, x.Type, x.Trigger, x.Started.UTC().Format("2006-01-02 15:04:05"), rev, x.Summary})
	}
	if err := output.WriteTable(w, []string{"Execution", "Status", "Type", "Trigger", "Started (UTC)", "Revision", "Summary"}, rows); err != nil {
		return err
	}
	if f := r.Failure; f != nil {
		fmt.Fprintf(w, "\nFailed: stage %s, action %s, execution %s: %s\n", f.Stage, f.Action, f.ExecutionID, f.Error)
		if len(f.LogTail) > 0 {
			fmt.Fprintf(w, "Last %d lines of build %s (%s):\n", len(f.LogTail), f.BuildID, f.LogGroup)
			for _, l := range f.LogTail {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
	return nil
}

func pipelineRunCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "start an execution (the source branch's latest commit, or --commit)",
		ArgsUsage: "NAME",
		Description: "CodePipeline starts a manual execution on the source action's branch; it has no branch override.\n" +
			"--branch is checked against that branch (push to another branch to build it); --commit runs one commit.\n\n" +
			"Example:\n   opsctl pipeline run shop\n   opsctl pipeline run shop --commit 4f2a9c1\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "branch", Usage: "expected source `BRANCH` (refused when the pipeline builds another)"},
			&cli.StringFlag{Name: "commit", Usage: "commit `ID` to run (a source revision override)"},
		},
		Action: func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			o := pipelines.RunOptions{Name: name, Branch: c.String("branch"), Commit: c.String("commit")}
			if err := o.Validate(); err != nil {
				return err
			}
			return st.do(o, func() error {
				deps, err := pipelineDeps(c.Context, st)
				if err != nil {
					return err
				}
				r, err := pipelines.Run(c.Context, deps, o)
				if err != nil {
					return err
				}
				return st.printer.Emit(r, func(w io.Writer) error {
					fmt.Fprintf(w, "Started execution %s of pipeline %s (branch %s)\nFollow it: opsctl pipeline status %s\n", r.ExecutionID, r.Pipeline, r.Branch, r.Pipeline)
					return nil
				})
			})
		},
	}
}

func pipelineLogsCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "logs",
		Usage:       "the CodeBuild logs of an execution's build and test actions",
		ArgsUsage:   "NAME",
		Description: "Example:\n   opsctl pipeline logs shop\n   opsctl pipeline logs shop --execution 2dd3e6da-7cec-4ba6-957d-c59b52495120 --tail 200\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "execution", Usage: "execution `ID` (default: the latest)"},
			&cli.IntFlag{Name: "tail", Value: 100, Usage: "last `LINES` of each build log"},
		},
		Action: func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			o := pipelines.LogsOptions{Name: name, Execution: c.String("execution"), Tail: c.Int("tail")}
			if err := o.Validate(); err != nil {
				return err
			}
			return st.do(o, func() error {
				deps, err := pipelineDeps(c.Context, st)
				if err != nil {
					return err
				}
				r, err := pipelines.Logs(c.Context, deps, o)
				if err != nil {
					return err
				}
				return st.printer.Emit(r, func(w io.Writer) error {
					fmt.Fprintf(w, "Execution %s of pipeline %s\n", r.ExecutionID, r.Pipeline)
					for _, b := range r.Builds {
						fmt.Fprintf(w, "\n== %s/%s (%s) build %s\n%s\n", b.Stage, b.Action, b.Status, b.BuildID, strings.Join(b.Lines, "\n"))
					}
					if len(r.Builds) == 0 {
						fmt.Fprintln(w, "No build has run in this execution yet.")
					}
					return nil
				})
			})
		},
	}
}

func pipelineRmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "delete a pipeline and what opsctl created for it (asks first; re-runnable); keeps images and artifacts",
		ArgsUsage: "NAME",
		Description: "Deletes the failure rule, the pipeline, the CodeBuild projects, the IAM roles and the connection\n" +
			"opsctl created (each only when tagged opsctl:managed). Keeps the ECR repository (images), the artifact\n" +
			"bucket and the build logs, and prints how to delete them.\n\n" +
			"Example:\n   opsctl pipeline rm shop\n   opsctl pipeline rm shop --yes\n\n" + exitCodesHelp,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "print what would be deleted; delete nothing"}},
		Action: func(c *cli.Context) error {
			name, err := oneName(c)
			if err != nil {
				return err
			}
			o := pipelines.RmOptions{Name: name, DryRun: c.Bool("dry-run")}
			if !o.DryRun {
				if err := st.canConfirm("pipeline rm"); err != nil {
					return err
				}
			}
			return st.do(o, func() error {
				deps, err := pipelineDeps(c.Context, st)
				if err != nil {
					return err
				}
				steps, r, err := pipelines.PlanRemove(c.Context, deps, o)
				if err != nil {
					return err
				}
				if len(steps) > 0 && !o.DryRun {
					if err := st.confirm(c.Context, fmt.Sprintf("Delete pipeline %s and %d resources opsctl created for it?", name, len(steps))); err != nil {
						return err
					}
				}
				r, err = pipelines.Remove(c.Context, deps, steps, r)
				return emitThen(st, r, func(w io.Writer) error {
					if len(r.Changes) == 0 {
						fmt.Fprintf(w, "Nothing of pipeline %s is left to delete.\n", name)
					} else if err := output.WriteTable(w, plan.Headers, plan.Rows(r.Changes, 70)); err != nil {
						return err
					}
					for _, k := range r.Kept {
						fmt.Fprintf(w, "Kept: %s\n", k)
					}
					return nil
				}, err)
			})
		},
	}
}
