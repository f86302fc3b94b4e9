package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
)

func init() { registerGroup(alarmCommand) }

func alarmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "alarm",
		Usage: "alarms that email a person: log patterns, log lines, dead-letter queues, and an audit of silent gaps",
		Description: "Each alarm is one idempotent command: the metric filter (default value 0), the alarm\n" +
			"(Sum ≥ threshold, missing data not breaching, ALARM and OK actions), the SNS topic with a\n" +
			"policy that lets only this account's CloudWatch alarms publish, and one email subscription\n" +
			"per address, whose confirmation state is reported.\n\n" +
			"Example:\n   opsctl alarm add api-errors --log-group /aws/lambda/api --pattern ERROR --email ops@example.com\n" +
			"   opsctl alarm audit\n\n" + exitCodesHelp,
		Subcommands: []*cli.Command{
			alarmAddCommand(st), alarmPreviewCommand(st), alarmAddDLQCommand(st), alarmListCommand(st),
			alarmRmCommand(st), alarmTestCommand(st), alarmAuditCommand(st), alarmApplyCommand(st),
		},
	}
}

// alarmDeps builds the AWS clients the alarms package uses.
func alarmDeps(ctx context.Context, st *state) (alarms.Deps, error) {
	cfg, err := st.aws.Config(ctx)
	if err != nil {
		return alarms.Deps{}, err
	}
	return alarms.Deps{
		CloudWatch: cloudwatch.NewFromConfig(cfg),
		Logs:       cloudwatchlogs.NewFromConfig(cfg),
		SNS:        sns.NewFromConfig(cfg),
		SQS:        sqs.NewFromConfig(cfg),
		IAM:        iam.NewFromConfig(cfg),
		STS:        sts.NewFromConfig(cfg),
		Region:     cfg.Region,
		Log:        st.log,
		Progress:   progressChange(st),
	}, nil
}

// explicitZero rejects a numeric flag given as 0 (or less): the alarms
// package reads 0 as "not set" and would use the default instead.
func explicitZero(c *cli.Context, names ...string) error {
	for _, n := range names {
		if !c.IsSet(n) {
			continue
		}
		switch v := c.Value(n).(type) {
		case time.Duration:
			if v <= 0 {
				return usage("invalid --%s %s: must be positive (omit the flag for the default)", n, v)
			}
		case int:
			if v < 1 {
				return usage("invalid --%s %d: at least 1 (omit the flag for the default)", n, v)
			}
		}
	}
	return nil
}

func writePreview(w io.Writer, pv *alarms.Preview) error {
	if pv == nil {
		return nil
	}
	fmt.Fprintf(w, "Preview: %d events of %s since %s\n", pv.EventsScanned, pv.LogGroup, pv.Since.Format(time.RFC3339))
	for _, p := range pv.Patterns {
		fmt.Fprintf(w, "  pattern %s: %d matches\n", p.Pattern, p.Matches)
		for _, s := range p.Samples {
			fmt.Fprintf(w, "    | %s\n", s)
		}
	}
	for _, warn := range pv.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	_, err := fmt.Fprintln(w)
	return err
}

func writeSubs(w io.Writer, subs []alarms.Subscription) error {
	if len(subs) == 0 {
		return nil
	}
	var rows [][]string
	for _, s := range subs {
		rows = append(rows, []string{s.Email, s.State, s.Todo})
	}
	fmt.Fprintln(w)
	return output.WriteTable(w, []string{"Email", "State", "To do"}, rows)
}

func writeAlarmResult(w io.Writer, r alarms.AlarmResult) error {
	if err := writePreview(w, r.Preview); err != nil {
		return err
	}
	fmt.Fprintf(w, "Alarm %s (%s, %s) → topic %s\n", r.AlarmName, r.Kind, r.Target, r.Topic)
	if err := writeChanges(w, r.Changes); err != nil {
		return err
	}
	if err := writeSubs(w, r.Subscriptions); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Summary)
	return err
}

func alarmAddCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "create or update an alarm that emails when a log group's lines match a pattern",
		ArgsUsage: "NAME",
		Description: "Previews each pattern against recent events (FilterLogEvents + TestMetricFilter), then\n" +
			"plans, diffs and applies: metric filter(s) with default value 0, the alarm, the SNS topic and\n" +
			"its policy, and an email subscription per address. A second identical run writes nothing and\n" +
			"says \"no changes\". With --log-lines N the alarm is a CloudWatch log alarm (scheduled Logs\n" +
			"Insights query, PutLogAlarm) whose email includes N matching lines; opsctl creates its\n" +
			"least-privilege query role. Pattern forms: terms (ERROR), quoted phrases (\"\\\"timed out\\\"\"),\n" +
			"exclusions (-DEBUG), alternatives (?ERROR ?FATAL), JSON selectors ({ $.level = \"error\" }).\n\n" +
			"Example:\n   opsctl alarm add api-errors --log-group /aws/lambda/api --pattern ERROR --pattern '\"Task timed out\"' --email ops@example.com\n" +
			"   opsctl alarm add api-errors --log-group /aws/lambda/api --pattern ERROR --email ops@example.com,dev@example.com --threshold 5 --period 10m --dry-run\n" +
			"   opsctl alarm add api-lines --log-group /aws/lambda/api --pattern ERROR --email ops@example.com --log-lines 20",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-group", Usage: "log `GROUP` to watch (required)"},
			&cli.StringSliceFlag{Name: "pattern", Usage: "filter `PATTERN` (repeatable; any one matching counts)"},
			&cli.StringSliceFlag{Name: "email", Usage: "email `ADDR` to notify (repeatable or comma-separated; required)"},
			&cli.Float64Flag{Name: "threshold", Value: alarms.DefaultThreshold, Usage: "alarm when at least `N` lines match in a period"},
			&cli.DurationFlag{Name: "period", Value: alarms.DefaultPeriod, Usage: "evaluation `PERIOD` (10s, 30s or whole minutes)"},
			&cli.IntFlag{Name: "evaluation-periods", Value: alarms.DefaultEvaluationPeriods, Usage: "`N` breaching periods in a row before ALARM"},
			&cli.StringFlag{Name: "topic", Usage: "SNS `TOPIC` name to notify (default: opsctl-alarms-HASH, one topic per set of --email addresses)"},
			&cli.IntFlag{Name: "log-lines", Usage: "use a CloudWatch log alarm whose email includes `N` (1-50) matching lines"},
			&cli.DurationFlag{Name: "preview-window", Value: alarms.DefaultPreviewWindow, Usage: "preview the patterns against events of the last `DURATION`"},
			&cli.BoolFlag{Name: "no-preview", Usage: "skip the pattern preview"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the plan and diff; write nothing"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage("alarm add: want exactly one NAME, got %d arguments", c.NArg())
			}
			if c.IsSet("log-lines") && c.Int("log-lines") == 0 {
				return usage("invalid --log-lines 0: 1-%d (omit the flag for a metric filter alarm)", alarms.MaxLogLines)
			}
			if err := explicitZero(c, "period", "evaluation-periods"); err != nil {
				return err
			}
			if c.Float64("threshold") <= 0 {
				return usage("invalid --threshold %g: must be greater than 0", c.Float64("threshold"))
			}
			opts := alarms.AddOptions{
				Spec: alarms.Spec{
					Name: c.Args().First(), LogGroup: c.String("log-group"), Patterns: c.StringSlice("pattern"),
					Emails: c.StringSlice("email"), Topic: c.String("topic"), Threshold: c.Float64("threshold"),
					Period: c.Duration("period"), EvaluationPeriods: c.Int("evaluation-periods"), LogLines: c.Int("log-lines"),
				},
				DryRun: c.Bool("dry-run"), PreviewWindow: c.Duration("preview-window"), NoPreview: c.Bool("no-preview"),
				RequireEmail: true,
			}
			if c.Int("evaluation-periods") < 1 {
				return usage("invalid --evaluation-periods %d: at least 1", c.Int("evaluation-periods"))
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := alarms.Add(c.Context, deps, opts)
				if res.Name == "" {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeAlarmResult(w, res) }, err)
			})
		},
	}
}

func alarmPreviewCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "preview",
		Usage: "show how many recent events of a log group each pattern matches, with samples",
		Description: "Samples the log group's recent events (FilterLogEvents) and runs each pattern over them\n" +
			"with CloudWatch Logs' TestMetricFilter: the check `alarm add` does before applying.\n\n" +
			"Example:\n   opsctl alarm preview --log-group /aws/lambda/api --pattern ERROR --pattern '{ $.level = \"error\" }' --window 6h",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-group", Usage: "log `GROUP` to sample (required)"},
			&cli.StringSliceFlag{Name: "pattern", Usage: "filter `PATTERN` (repeatable)"},
			&cli.DurationFlag{Name: "window", Value: alarms.DefaultPreviewWindow, Usage: "sample events of the last `DURATION`"},
			&cli.IntFlag{Name: "events", Value: alarms.DefaultPreviewEvents, Usage: "sample at most `N` (newest) events"},
		},
		Action: func(c *cli.Context) error {
			opts := alarms.PreviewOptions{LogGroup: c.String("log-group"), Patterns: c.StringSlice("pattern"), Window: c.Duration("window"), MaxEvents: c.Int("events")}
			// Validate through a spec: same rules as add.
			probe := alarms.Spec{Name: "preview", LogGroup: opts.LogGroup, Patterns: opts.Patterns}
			probe.Normalize()
			if err := probe.Validate(); err != nil {
				return err
			}
			if opts.Window <= 0 || opts.MaxEvents <= 0 {
				return usage("--window and --events must be positive")
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				pv, err := alarms.PreviewPatterns(c.Context, deps, opts)
				if err != nil {
					return err
				}
				return st.printer.Emit(pv, func(w io.Writer) error { return writePreview(w, pv) })
			})
		},
	}
}

func writeApplyResult(w io.Writer, r alarms.ApplyResult) error {
	if all := r.AllChanges(); len(all) > 0 {
		if err := writeChanges(w, all); err != nil {
			return err
		}
	}
	var subs []alarms.Subscription
	for _, t := range r.Topics {
		subs = append(subs, t.Subscriptions...)
	}
	if err := writeSubs(w, subs); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Summary)
	return err
}

func alarmAddDLQCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "add-dlq",
		Usage:     "alarm when a dead-letter queue has messages (ApproximateNumberOfMessagesVisible > 0)",
		ArgsUsage: "[QUEUE…]",
		Description: "One alarm per queue (name, URL or ARN), or with --all one per queue that some queue's\n" +
			"RedrivePolicy points to. The alarms notify the topic (default opsctl-alarms).\n\n" +
			"Example:\n   opsctl alarm add-dlq orders-dlq --email ops@example.com\n   opsctl alarm add-dlq --all --email ops@example.com --dry-run",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "alarm on every queue named as a dead-letter target by a RedrivePolicy"},
			&cli.StringSliceFlag{Name: "email", Usage: "email `ADDR` to notify (repeatable or comma-separated)"},
			&cli.StringFlag{Name: "topic", Usage: "SNS `TOPIC` name to notify (default: opsctl-alarms-HASH, one topic per set of --email addresses)"},
			&cli.DurationFlag{Name: "period", Value: time.Minute, Usage: "evaluation `PERIOD`"},
			&cli.IntFlag{Name: "evaluation-periods", Value: 1, Usage: "`N` periods with messages before ALARM"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the plan and diff; write nothing"},
		},
		Action: func(c *cli.Context) error {
			if err := explicitZero(c, "period", "evaluation-periods"); err != nil {
				return err
			}
			opts := alarms.DLQOptions{Queues: c.Args().Slice(), All: c.Bool("all"), Emails: c.StringSlice("email"), Topic: c.String("topic"),
				Period: c.Duration("period"), EvaluationPeriods: c.Int("evaluation-periods"), DryRun: c.Bool("dry-run")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := alarms.AddDLQ(c.Context, deps, opts)
				if res.DLQs == nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					for _, d := range res.DLQs {
						fmt.Fprintf(w, "DLQ %s ← %s\n", d.Name, strings.Join(d.Sources, ", "))
					}
					for _, warn := range res.Warnings {
						fmt.Fprintf(w, "warning: %s\n", warn)
					}
					fmt.Fprintln(w)
					return writeApplyResult(w, res.Result)
				}, err)
			})
		},
	}
}

func alarmListCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the alarms opsctl manages with their state, topic and subscriptions",
		Description: "Shows name, kind (log-pattern, log-alarm, dlq), target, pattern, state, topic and how many\n" +
			"of the topic's email subscriptions are confirmed or still pending.\n\n" +
			"Example:\n   opsctl alarm list\n   opsctl alarm list --output json",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage("alarm list takes no arguments")
			}
			return st.do(struct{}{}, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := alarms.List(c.Context, deps)
				if err != nil {
					return err
				}
				return st.printer.Emit(res, func(w io.Writer) error {
					var rows [][]string
					for _, a := range res.Alarms {
						rows = append(rows, []string{a.Name, a.Kind, a.Target, a.Pattern, a.State, a.Topic,
							strconv.Itoa(a.Confirmed) + "/" + strconv.Itoa(a.Pending)})
					}
					return output.WriteTable(w, []string{"Name", "Kind", "Target", "Pattern", "State", "Topic", "Confirmed/Pending"}, rows)
				})
			})
		},
	}
}

func alarmRmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove an alarm and its metric filters (the topic stays while other alarms use it)",
		ArgsUsage: "NAME",
		Description: "Deletes the alarm opsctl-NAME, its metric filters and (log alarms) its query role. The topic\n" +
			"is deleted only when opsctl created it and no other alarm uses it. Asks first unless --yes.\n\n" +
			"Example:\n   opsctl alarm rm api-errors --dry-run\n   opsctl alarm rm api-errors --yes",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "show what would be deleted; delete nothing"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage("alarm rm: want exactly one NAME, got %d arguments", c.NArg())
			}
			opts := alarms.RmOptions{Name: c.Args().First(), DryRun: c.Bool("dry-run")}
			if err := opts.Validate(); err != nil {
				return err
			}
			if !opts.DryRun {
				if err := st.canConfirm("alarm rm"); err != nil {
					return err
				}
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				if !opts.DryRun {
					planned, err := alarms.PlanRemove(c.Context, deps, opts)
					if err != nil {
						return err
					}
					var what []string
					for _, ch := range planned.Changes {
						if ch.Changed() {
							what = append(what, ch.Resource+" "+ch.Name)
						}
					}
					if len(what) > 0 { // already gone: nothing to ask about
						if err := st.confirm(c.Context, "delete "+strings.Join(what, ", ")+"?"); err != nil {
							return err
						}
					}
				}
				res, err := alarms.Remove(c.Context, deps, opts)
				if res.Name == "" {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					if err := writeChanges(w, res.Changes); err != nil {
						return err
					}
					if res.TopicNote != "" {
						fmt.Fprintf(w, "\n%s\n", res.TopicNote)
					}
					_, err := fmt.Fprintf(w, "\n%s\n", res.Summary)
					return err
				}, err)
			})
		},
	}
}

func alarmTestCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "set an alarm to ALARM and back to OK to prove the email reaches its subscribers",
		ArgsUsage: "NAME",
		Description: "Calls SetAlarmState ALARM, waits until CloudWatch reports it, then OK, and shows the\n" +
			"transitions from the alarm history. Warns when the topic has no confirmed subscription.\n\n" +
			"Example:\n   opsctl alarm test api-errors",
		Flags: []cli.Flag{&cli.DurationFlag{Name: "wait", Value: 30 * time.Second, Usage: "wait at most `DURATION` for each state"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage("alarm test: want exactly one NAME, got %d arguments", c.NArg())
			}
			opts := alarms.TestOptions{Name: c.Args().First(), Wait: c.Duration("wait")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := alarms.Test(c.Context, deps, opts)
				if res.Name == "" {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					var rows [][]string
					for _, t := range res.Transitions {
						rows = append(rows, []string{t.At.Format(time.RFC3339), t.From, t.To, t.Reason})
					}
					if err := output.WriteTable(w, []string{"At", "From", "To", "Reason"}, rows); err != nil {
						return err
					}
					for _, n := range res.Notifications {
						fmt.Fprintf(w, "\nnotified: %s", n)
					}
					fmt.Fprintf(w, "\ntopic %s: %d confirmed, %d pending subscriptions\n", res.Topic, res.Confirmed, res.Pending)
					for _, warn := range res.Warnings {
						fmt.Fprintf(w, "warning: %s\n", warn)
					}
					return nil
				}, err)
			})
		},
	}
}

func alarmAuditCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "find silent alarm failures; exit 3 when there are any (for cron)",
		Description: "Checks every alarm of the account and region: alarms without (enabled) actions, topics with\n" +
			"no confirmed subscription or expired confirmation requests, metric filters whose metric has no alarm, dead-letter queues\n" +
			"without an alarm, alarms stuck in INSUFFICIENT_DATA.\n\n" +
			"Example:\n   opsctl alarm audit\n   opsctl alarm audit --stuck-after 6h --output json",
		Flags: []cli.Flag{&cli.DurationFlag{Name: "stuck-after", Value: 24 * time.Hour, Usage: "INSUFFICIENT_DATA longer than `DURATION` is a finding"}},
		Action: func(c *cli.Context) error {
			opts := alarms.AuditOptions{StuckAfter: c.Duration("stuck-after")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := alarms.Audit(c.Context, deps, opts)
				if err != nil {
					return err
				}
				var findErr error
				if n := len(res.Findings); n > 0 {
					findErr = opserr.Partialf("audit found %d problem(s): see the findings above", n)
				}
				return emitThen(st, res, func(w io.Writer) error {
					var rows [][]string
					for _, f := range res.Findings {
						rows = append(rows, []string{f.Kind, f.Resource, f.Detail, f.Fix})
					}
					if err := output.WriteTable(w, []string{"Finding", "Resource", "Detail", "Fix"}, rows); err != nil {
						return err
					}
					_, err := fmt.Fprintf(w, "\nchecked %d alarms, %d topics, %d metric filters, %d DLQs: %d findings\n",
						res.Checked.Alarms, res.Checked.Topics, res.Checked.MetricFilters, res.Checked.DLQs, len(res.Findings))
					return err
				}, findErr)
			})
		},
	}
}

func alarmApplyCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "apply",
		Usage: "make the alarms of a YAML file exist as declared (plan, diff, apply; --prune deletes the undeclared)",
		Description: "The file is validated completely (unknown fields, names, patterns, emails, numbers; errors\n" +
			"name the line) before any AWS call. --prune deletes only alarms opsctl's alarm command\n" +
			"manages (name prefix opsctl- and tags opsctl:managed=true, opsctl:component=alarm) that the\n" +
			"file no longer declares, after asking (or with --yes).\n\n" +
			"File:\n   topic: opsctl-alarms\n   emails: [ops@example.com]\n   alarms:\n" +
			"     - name: api-errors\n       log_group: /aws/lambda/api\n       patterns: [ERROR, '\"Task timed out\"']\n" +
			"       threshold: 1\n       period: 5m\n     - name: orders-dlq\n       dlq: orders-dlq\n\n" +
			"Example:\n   opsctl alarm apply -f alarms.yaml --dry-run\n   opsctl alarm apply -f alarms.yaml --prune --yes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "alarms `FILE` (YAML; - for stdin)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the plan and diff; write nothing"},
			&cli.BoolFlag{Name: "prune", Usage: "delete opsctl-managed alarms the file does not declare"},
		},
		Action: func(c *cli.Context) error {
			path := c.String("file")
			if path == "" {
				return usage("alarm apply: -f FILE is required")
			}
			var r io.Reader = st.stdin
			if path != "-" {
				f, err := os.Open(path)
				if err != nil {
					return usage("alarm apply: %v", err)
				}
				defer f.Close()
				r = f
			}
			file, err := alarms.ParseFile(path, r)
			if err != nil {
				return err
			}
			opts := alarms.ApplyOptions{File: file, DryRun: c.Bool("dry-run"), Prune: c.Bool("prune")}
			if opts.Prune && !opts.DryRun {
				if err := st.canConfirm("alarm apply --prune"); err != nil {
					return err
				}
			}
			return st.do(opts, func() error {
				deps, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				if opts.Prune && !opts.DryRun {
					dry := opts
					dry.DryRun = true
					planned, err := alarms.Apply(c.Context, deps, dry)
					if err != nil {
						return err
					}
					var del []string
					for _, ch := range planned.Pruned {
						if ch.Action == plan.ActionDelete {
							del = append(del, ch.Resource+" "+ch.Name)
						}
					}
					if len(del) > 0 {
						if err := st.confirm(c.Context, "prune "+strings.Join(del, ", ")+"?"); err != nil {
							return err
						}
					}
				}
				res, err := alarms.Apply(c.Context, deps, opts)
				if res.Topics == nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writeApplyResult(w, res) }, err)
			})
		},
	}
}
