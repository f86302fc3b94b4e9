package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/redrive"
)

// dlqAlarm wires redrive's DLQ alarm step to the alarms library.
func (st *state) dlqAlarm() redrive.AlarmFunc {
	return func(ctx context.Context, queue string, emails []string, dryRun bool) ([]plan.Change, error) {
		deps, err := alarmDeps(ctx, st)
		if err != nil {
			return nil, err
		}
		res, err := alarms.AddDLQ(ctx, deps, alarms.DLQOptions{Queues: []string{queue}, Emails: emails, // topic: one per set of recipients, as add-dlq
			Period: time.Minute, EvaluationPeriods: 1, DryRun: dryRun})
		var out []plan.Change
		for _, c := range res.Result.AllChanges() {
			pc := plan.Change{Resource: c.Resource, Name: c.Name, Action: c.Action, Status: c.Status, Error: c.Error}
			for _, d := range c.Diff {
				pc.Diff = append(pc.Diff, plan.FieldDiff{Field: d.Field, Old: d.Old, New: d.New})
			}
			out = append(out, pc)
		}
		return out, err
	}
}

func dlqAdd(st *state) *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "give a queue or a Lambda function a dead-letter queue, with its alarm",
		ArgsUsage: "QUEUE | --lambda FUNCTION",
		Description: "For a queue: creates QUEUE-dlq (14-day retention, FIFO when the queue is, the queue's\n" +
			"encryption) whose RedriveAllowPolicy admits only its sources, and sets the queue's\n" +
			"RedrivePolicy (--max-receive, default 5; an existing one is kept unless given). For a\n" +
			"function: creates FUNCTION-dlq and makes it the on-failure destination of asynchronous\n" +
			"invokes (unless the function already has a DLQ or destination). Then the DLQ alarm\n" +
			"(ApproximateNumberOfMessagesVisible > 0, as `alarm add-dlq`), notifying --email.\n" +
			"Reads first and writes only what differs: a re-run changes nothing. --dry-run shows the plan.\n\n" +
			"Example:\n   opsctl dlq add orders --email ops@example.com\n   opsctl dlq add --lambda resize-image --dry-run",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lambda", Usage: "give `FUNCTION`'s asynchronous invokes an on-failure destination"},
			&cli.IntFlag{Name: "max-receive", Usage: "receives before SQS moves a message to the DLQ (`N`, default 5)"},
			&cli.StringSliceFlag{Name: "email", Usage: "email `ADDR` the DLQ alarm notifies (repeatable)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the plan and diff; write nothing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage("add: want one QUEUE, got %d arguments", c.NArg())
			}
			opts := redrive.AddOptions{Queue: c.Args().First(), Lambda: c.String("lambda"), MaxReceive: c.Int("max-receive"),
				Emails: c.StringSlice("email"), DryRun: c.Bool("dry-run")}
			if c.IsSet("max-receive") && opts.MaxReceive < 1 {
				return usage("--max-receive must be between 1 and 1000, got %d", opts.MaxReceive)
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, _, err := st.dlqDeps(c.Context, "", false)
				if err != nil {
					return err
				}
				deps.Alarm = st.dlqAlarm()
				res, runErr := redrive.Add(c.Context, deps, opts)
				if res.Source == "" && runErr != nil {
					return runErr
				}
				if runErr == nil && plan.Partial(res.Changes) {
					runErr = fmt.Errorf("some changes were not applied")
				}
				return emitThen(st, res, func(w io.Writer) error {
					fmt.Fprintf(w, "%s → dead-letter queue %s\n", res.Source, res.DLQ)
					if res.DryRun {
						fmt.Fprintln(w, "dry run: nothing was changed")
					}
					if plan.Writes(res.Changes) == 0 {
						fmt.Fprintln(w, "no changes: it already has a dead-letter queue as described")
					}
					if err := output.WriteTable(w, plan.Headers, plan.Rows(res.Changes, 100)); err != nil {
						return err
					}
					for _, n := range res.Notes {
						fmt.Fprintln(w, "note: "+n)
					}
					return nil
				}, runErr)
			})
		},
	}
}

func dlqAudit(st *state) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "find consumers without a dead-letter queue (queues, async Lambda functions, SNS subscriptions)",
		Description: "Reports queues that are not DLQs and have no RedrivePolicy (naming the Lambda functions\n" +
			"whose event source mappings consume them), functions invoked asynchronously with neither a\n" +
			"DLQ nor an on-failure destination, and SNS subscriptions without a redrive policy. Each\n" +
			"finding comes with the command that fixes it. Exit 3 when anything is found. Reads only.\n\n" +
			"Example:\n   opsctl dlq audit\n   opsctl dlq audit --output json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "prefix", Usage: "only queues and functions whose name starts with `PREFIX`"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage("audit takes no arguments")
			}
			opts := redrive.AuditOptions{Prefix: c.String("prefix")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, _, err := st.dlqDeps(c.Context, "", false)
				if err != nil {
					return err
				}
				cfg, err := st.aws.Config(c.Context)
				if err != nil {
					return err
				}
				deps.SNS = sns.NewFromConfig(cfg)
				res, err := redrive.Audit(c.Context, deps, opts)
				if err != nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					fmt.Fprintf(w, "checked %s queues, %s functions, %s subscriptions: %d findings\n",
						strconv.Itoa(res.Queues), strconv.Itoa(res.Functions), strconv.Itoa(res.Subscriptions), len(res.Findings))
					for _, s := range res.Incomplete {
						fmt.Fprintln(w, "INCOMPLETE: "+s)
					}
					for _, s := range res.Notes {
						fmt.Fprintln(w, "note: "+s)
					}
					for _, f := range res.Findings {
						fmt.Fprintf(w, "\n%s %s\n  %s\n  fix: %s\n", f.Kind, f.Resource, f.Detail, f.Fix)
					}
					return nil
				}, res.Outcome())
			})
		},
	}
}
