package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/redrive"
)

func init() {
	registerGroup(func(st *state) *cli.Command {
		return &cli.Command{
			Name:  "dlq",
			Usage: "find, inspect, archive and redrive dead-letter queues (SQS and Lambda) without losing a message",
			Description: "A message leaves a dead-letter queue only once a copy is durably elsewhere: redrive\n" +
				"archives (optional), sends, and deletes only what was sent. Safe to run from cron.\n\n" +
				"Example:\n   opsctl dlq list\n   opsctl dlq peek orders-dlq --limit 5\n   opsctl dlq redrive orders-dlq --archive s3://ops-archive/dlq/\n   opsctl dlq audit\n   opsctl dlq add orders --email ops@example.com\n\n" + exitCodesHelp,
			Subcommands: []*cli.Command{dlqList(st), dlqPeek(st), dlqRedrive(st), dlqExport(st), dlqImport(st), dlqAdd(st), dlqAudit(st)},
		}
	})
}

// dlqDeps builds the AWS clients the dlq commands use.
func (st *state) dlqDeps(ctx context.Context, label string, needS3 bool) (redrive.Deps, func(), error) {
	cfg, err := st.aws.Config(ctx)
	if err != nil {
		return redrive.Deps{}, nil, err
	}
	// One connection per worker: the SDK keeps only 10 idle connections per
	// host by default, so more workers than that would open and close a TCP
	// connection per call.
	sqsOpts := func(o *sqs.Options) {
		if bc, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			o.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) {
				tr.MaxIdleConns = 256
				tr.MaxIdleConnsPerHost = 128
			})
		}
	}
	d := redrive.Deps{
		SQS:        sqs.NewFromConfig(cfg, sqsOpts),
		Lambda:     lambda.NewFromConfig(cfg),
		CloudWatch: cloudwatch.NewFromConfig(cfg),
		Log:        st.log,
	}
	if needS3 {
		if d.S3, err = st.aws.NewS3(ctx); err != nil {
			return d, nil, err
		}
	}
	done := func() {}
	if label != "" {
		p := output.NewProgress(st.stderr, st.tty, label)
		d.Progress = func(done, total int64) { p.Update(done, total, "msgs") }
		done = p.Done
	}
	return d, done, nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	switch c.NArg() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usage("%s: missing %s", c.Command.Name, what)
	}
	return "", usage("%s: want one %s, got %d arguments", c.Command.Name, what, c.NArg())
}

func dlqList(st *state) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list every dead-letter queue with its kind, depth, oldest message, sources and alarm",
		Description: "Finds DLQs through other queues' RedrivePolicy (and ListDeadLetterSourceQueues), Lambda\n" +
			"functions' DeadLetterConfig and on-failure destinations. The age of the oldest message comes\n" +
			"from a sample of up to 10 messages, hidden for one second and released (--no-sample skips it).\n" +
			"An alarm counts as watching a DLQ when it is on its AWS/SQS ApproximateNumberOfMessagesVisible\n" +
			"or ApproximateAgeOfOldestMessage metric.\n\n" +
			"Example:\n   opsctl dlq list\n   opsctl dlq list --prefix orders --output json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "prefix", Usage: "only queues whose name starts with `PREFIX`"},
			&cli.BoolFlag{Name: "no-sample", Usage: "do not receive a sample to measure the oldest message's age"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage("list takes no arguments")
			}
			opts := redrive.ListOptions{Prefix: c.String("prefix"), NoSample: c.Bool("no-sample")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, _, err := st.dlqDeps(c.Context, "", false)
				if err != nil {
					return err
				}
				res, listErr := redrive.List(c.Context, deps, opts)
				if listErr != nil && res.DLQs == nil && len(res.Incomplete) == 0 {
					return listErr
				}
				if err := st.printer.Emit(res, func(w io.Writer) error {
					rows := make([][]string, 0, len(res.DLQs))
					for _, d := range res.DLQs {
						age := ""
						if d.OldestAgeSeconds != nil {
							age = (time.Duration(*d.OldestAgeSeconds) * time.Second).String()
						}
						alarm := "unknown"
						if d.Alarmed != nil {
							alarm = "NONE"
							if *d.Alarmed {
								alarm = strings.Join(d.Alarms, ",")
							}
						}
						rows = append(rows, []string{d.Name, strings.Join(d.Kinds, ","), strconv.FormatInt(d.Depth, 10),
							strconv.FormatInt(d.InFlight, 10), age, strings.Join(d.Sources, ","), alarm})
					}
					for _, s := range res.Incomplete {
						if _, err := fmt.Fprintln(w, "INCOMPLETE: "+s); err != nil {
							return err
						}
					}
					if len(rows) == 0 {
						_, err := fmt.Fprintln(w, "no dead-letter queues found")
						return err
					}
					return output.WriteTable(w, []string{"name", "kinds", "depth", "in flight", "oldest", "sources", "alarm"}, rows)
				}); err != nil {
					return err
				}
				return listErr
			})
		},
	}
}

func dlqPeek(st *state) *cli.Command {
	return &cli.Command{
		Name:      "peek",
		Usage:     "show messages in a dead-letter queue without consuming them",
		ArgsUsage: "DLQ",
		Description: "Receives with a short visibility timeout and releases the messages again, so consumers\n" +
			"and later redrives see them unchanged (only their receive count goes up). DLQ is a queue\n" +
			"name, URL or ARN. Message bodies are printed: this is the command that shows them.\n\n" +
			"Filter expressions: body contains \"x\" | body ~ /re/ | $.a.b == \"v\" | $.n > 3 | $.k exists |\n" +
			"attr.NAME == \"v\" | age > 2h | receive_count >= 3 | group == \"g\" | source == \"orders\",\n" +
			"combined with and/or/not/( ). A message lacking what age, receive_count or source need\n" +
			"(SentTimestamp, ApproximateReceiveCount, DeadLetterQueueSourceArn) is counted as undecided,\n" +
			"never silently skipped.\n\n" +
			"Example:\n   opsctl dlq peek orders-dlq --limit 5\n   opsctl dlq peek orders-dlq --filter '$.status == \"FAILED\" and age > 1h' -o json",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "limit", Value: 10, Usage: "show at most `N` messages"},
			&cli.StringFlag{Name: "filter", Usage: "only messages matching `EXPR`"},
		},
		Action: func(c *cli.Context) error {
			dlq, err := oneArg(c, "DLQ")
			if err != nil {
				return err
			}
			opts := redrive.PeekOptions{DLQ: dlq, Limit: c.Int("limit"), Filter: c.String("filter")}
			if opts.Limit == 0 {
				return usage("--limit must be at least 1")
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, _, err := st.dlqDeps(c.Context, "", false)
				if err != nil {
					return err
				}
				res, err := redrive.Peek(c.Context, deps, opts)
				if err != nil {
					return err
				}
				return st.printer.Emit(res, func(w io.Writer) error {
					fmt.Fprintf(w, "%s: %d shown, %d looked at, depth %d\n", res.DLQ, len(res.Messages), res.Scanned, res.Depth)
					if res.Undecided > 0 {
						fmt.Fprintf(w, "%d not shown: %s\n", res.Undecided, res.UndecidedWhy)
					}
					for _, m := range res.Messages {
						fmt.Fprintln(w)
						var attrs []string
						for k, v := range m.MessageAttributes {
							val := "(binary)"
							if v.StringValue != nil {
								val = *v.StringValue
							}
							attrs = append(attrs, k+"="+val)
						}
						sort.Strings(attrs)
						sent := ""
						if !m.SentAt.IsZero() {
							sent = m.SentAt.Format(time.RFC3339)
						}
						if err := output.WriteKV(w, [][2]string{
							{"MessageID", m.MessageID}, {"Sent", sent}, {"Receives", strconv.Itoa(m.ReceiveCount)},
							{"Source", m.SourceARN}, {"Group", m.GroupID}, {"Attributes", strings.Join(attrs, " ")}, {"Body", m.Body},
						}); err != nil {
							return err
						}
					}
					return nil
				})
			})
		},
	}
}

func dlqRedrive(st *state) *cli.Command {
	return &cli.Command{
		Name:      "redrive",
		Usage:     "move messages out of a dead-letter queue back to their source, another queue or a Lambda function",
		ArgsUsage: "DLQ",
		Description: "Default target: each message's own source queue (DeadLetterQueueSourceArn); a Lambda async\n" +
			"DLQ message re-invokes its function with the original payload (InvocationType Event), an\n" +
			"on-failure destination record re-invokes with its requestPayload.\n\n" +
			"With nothing that needs the client (no --filter, --archive, --limit, --to-lambda, --dry-run,\n" +
			"--rate above 500/s) the native SQS message move task does the work; Ctrl-C cancels it.\n" +
			"Otherwise opsctl receives, filters, archives (durably, before sending), sends in batches and\n" +
			"deletes only what was sent; anything not sent stays in the DLQ. FIFO group order is kept and\n" +
			"each message gets a deduplication id derived from its original id.\n\n" +
			"The circuit breaker stops the run when redriven messages come back to the DLQ (the consumer\n" +
			"is still failing). Exit 0 when everything selected moved, 3 when some did not (they are\n" +
			"still in the DLQ; the output says how many), 1 on failure, 130 when interrupted.\n\n" +
			"Example:\n   opsctl dlq redrive orders-dlq\n" +
			"   opsctl dlq redrive orders-dlq --filter 'attr.ErrorCode == \"503\"' --archive s3://ops-archive/dlq/ --rate 100/s\n" +
			"   opsctl dlq redrive orders-dlq --to orders-replay --limit 10 --dry-run\n" +
			"   opsctl dlq redrive resize-dlq --to-lambda resize-image",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "send to `QUEUE` (name, URL or ARN) instead of each message's source"},
			&cli.StringFlag{Name: "to-lambda", Usage: "re-invoke `FUNCTION` asynchronously with each message"},
			&cli.StringFlag{Name: "filter", Usage: "only messages matching `EXPR` (see `opsctl dlq peek --help`)"},
			&cli.IntFlag{Name: "limit", Usage: "move at most `N` messages"},
			&cli.StringFlag{Name: "rate", Usage: "at most `N/s` messages per second (also N/m)"},
			&cli.IntFlag{Name: "concurrency", Value: 8, Usage: "`N` parallel receive/send workers (client path)"},
			&cli.StringFlag{Name: "archive", Usage: "write every message durably to `s3://BUCKET/PREFIX/ or FILE.jsonl` before sending it"},
			&cli.BoolFlag{Name: "dry-run", Usage: "count and sample what would move; change nothing"},
			&cli.StringFlag{Name: "method", Value: redrive.MethodAuto, Usage: "`auto`, native (SQS move task) or client"},
			&cli.DurationFlag{Name: "visibility-timeout", Value: 60 * time.Second, Usage: "hide a batch in flight for `DURATION` (extended while it is being sent); after a crash its messages reappear in the DLQ this much later"},
			&cli.Float64Flag{Name: "breaker-ratio", Value: 0.5, Usage: "stop when this `FRACTION` of moved messages come back to the DLQ (negative: never)"},
		},
		Action: func(c *cli.Context) error {
			dlq, err := oneArg(c, "DLQ")
			if err != nil {
				return err
			}
			rate, err := redrive.ParseRate(c.String("rate"))
			if err != nil {
				return err
			}
			opts := redrive.Options{
				DLQ: dlq, To: c.String("to"), ToLambda: c.String("to-lambda"), Filter: c.String("filter"),
				Limit: c.Int("limit"), Rate: rate, Concurrency: c.Int("concurrency"), Archive: c.String("archive"),
				DryRun: c.Bool("dry-run"), Method: c.String("method"), BreakerRatio: c.Float64("breaker-ratio"),
				VisibilityTimeout: c.Duration("visibility-timeout"),
			}
			if opts.VisibilityTimeout < time.Second {
				return usage("--visibility-timeout must be at least 1s")
			}
			if opts.Concurrency < 1 {
				return usage("--concurrency must be at least 1, got %d", opts.Concurrency)
			}
			if opts.BreakerRatio == 0 {
				opts.BreakerRatio = -1 // 0 on the command line means "off", not "default"
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				loc, _ := redrive.ParseLocation(opts.Archive)
				deps, done, err := st.dlqDeps(c.Context, "redriving", loc.IsS3())
				if err != nil {
					return err
				}
				res, runErr := redrive.Redrive(c.Context, deps, opts)
				done()
				if res.DLQARN == "" && runErr != nil {
					return runErr
				}
				if err := st.printer.Emit(res, func(w io.Writer) error { return writeRedriveResult(w, res) }); err != nil {
					return err
				}
				if runErr != nil {
					return runErr
				}
				return res.Outcome()
			})
		},
	}
}

func writeRedriveResult(w io.Writer, res redrive.Result) error {
	pairs := [][2]string{
		{"DLQ", res.DLQ}, {"Method", res.Method}, {"Target", res.Target},
	}
	if res.DryRun {
		pairs = append(pairs, [2]string{"Dry run", "yes: nothing was changed"})
		var keys []string
		for k := range res.WouldMove {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			pairs = append(pairs, [2]string{"Would move", fmt.Sprintf("%d → %s", res.WouldMove[k], k)})
		}
	}
	pairs = append(pairs,
		[2]string{"Received", strconv.FormatInt(res.Received, 10)},
		[2]string{"Moved", strconv.FormatInt(res.Moved, 10)},
		[2]string{"Filtered out", strconv.FormatInt(res.FilteredOut, 10)},
		[2]string{"Not moved", fmt.Sprintf("%d (still in the DLQ)", res.Failed)},
		[2]string{"Sent, not deleted", fmt.Sprintf("%d (in the target and still in the DLQ: a re-run sends them again)", res.SentNotDeleted)},
	)
	if res.StoppedBecause != "" {
		pairs = append(pairs, [2]string{"Stopped", res.StoppedBecause})
	}
	if res.Undecided > 0 {
		pairs = append(pairs, [2]string{"Undecided", fmt.Sprintf("%d (still in the DLQ): %s", res.Undecided, res.UndecidedWhy)})
	}
	if res.Archive != "" {
		pairs = append(pairs, [2]string{"Archived", fmt.Sprintf("%d to %s", res.Archived, res.Archive)})
	}
	var reasons []string
	for k, v := range res.FailureReasons {
		reasons = append(reasons, fmt.Sprintf("%d: %s", v, k))
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		pairs = append(pairs, [2]string{"Why not moved", strings.Join(reasons, "; ")})
	}
	cb := res.CircuitBreaker
	if res.CircuitBreakerReason != "" {
		cb += ": " + res.CircuitBreakerReason
	}
	pairs = append(pairs,
		[2]string{"Came back", strconv.FormatInt(res.Returned, 10)},
		[2]string{"Circuit breaker", cb},
		[2]string{"Left in DLQ", strconv.FormatInt(res.RemainingInDLQ, 10)},
		[2]string{"Duration", fmt.Sprintf("%.1fs (%.0f msg/s)", res.DurationSeconds, res.MessagesPerSecond)},
	)
	if res.TaskHandle != "" {
		pairs = append(pairs, [2]string{"Move task", res.TaskHandle})
	}
	if err := output.WriteKV(w, pairs); err != nil {
		return err
	}
	for _, m := range res.Samples {
		if _, err := fmt.Fprintf(w, "sample %s: %s\n", m.MessageID, truncate(m.Body, 200)); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func dlqExport(st *state) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a dead-letter queue's messages to a JSONL file or S3 (optionally deleting them)",
		ArgsUsage: "DLQ",
		Description: "Each message becomes one JSON line (id, body, message attributes, system attributes).\n" +
			"A file is appended to and fsync'd per batch; S3 gets one object per batch under the prefix.\n" +
			"Without --delete the DLQ is left as it was; with --delete a message is deleted only after\n" +
			"its line is durably written. Replay with `opsctl dlq import`.\n\n" +
			"Example:\n   opsctl dlq export orders-dlq --to orders-dlq.jsonl\n   opsctl dlq export orders-dlq --to s3://ops-archive/dlq/orders/ --delete --yes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "`FILE.jsonl or s3://BUCKET/PREFIX/` to write to"},
			&cli.BoolFlag{Name: "delete", Usage: "delete each message from the DLQ once it is written"},
			&cli.StringFlag{Name: "filter", Usage: "only messages matching `EXPR`"},
			&cli.IntFlag{Name: "limit", Usage: "export at most `N` messages"},
			&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "`N` parallel workers (with --delete)"},
		},
		Action: func(c *cli.Context) error {
			dlq, err := oneArg(c, "DLQ")
			if err != nil {
				return err
			}
			opts := redrive.ExportOptions{DLQ: dlq, To: c.String("to"), Delete: c.Bool("delete"), Filter: c.String("filter"),
				Limit: c.Int("limit"), Concurrency: c.Int("concurrency")}
			if opts.Concurrency < 1 {
				return usage("--concurrency must be at least 1, got %d", opts.Concurrency)
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				if opts.Delete {
					if err := st.confirm(c.Context, fmt.Sprintf("Export %s to %s and delete the exported messages from the queue?", dlq, opts.To)); err != nil {
						return err
					}
				}
				loc, _ := redrive.ParseLocation(opts.To)
				deps, done, err := st.dlqDeps(c.Context, "exporting", loc.IsS3())
				if err != nil {
					return err
				}
				res, runErr := redrive.Export(c.Context, deps, opts)
				done()
				if res.DLQARN == "" && runErr != nil {
					return runErr
				}
				if err := st.printer.Emit(res, func(w io.Writer) error {
					return output.WriteKV(w, [][2]string{
						{"DLQ", res.DLQ}, {"Exported", fmt.Sprintf("%d to %s", res.Moved, res.Target)},
						{"Deleted from DLQ", map[bool]string{true: "yes", false: "no"}[opts.Delete]},
						{"Filtered out", strconv.FormatInt(res.FilteredOut, 10)},
						{"Left in DLQ", strconv.FormatInt(res.RemainingInDLQ, 10)},
					})
				}); err != nil {
					return err
				}
				if runErr != nil {
					return runErr
				}
				return res.Outcome()
			})
		},
	}
}

func dlqImport(st *state) *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "send the messages of an export (or archive) to a queue",
		ArgsUsage: "FILE.jsonl|s3://BUCKET/KEY.jsonl|s3://BUCKET/PREFIX/",
		Description: "Sends every record in file order with its body and message attributes; to a FIFO queue\n" +
			"with its group and a deduplication id derived from the original message id, so a re-import\n" +
			"within five minutes is dropped by SQS. Records that could not be sent are listed (exit 3).\n\n" +
			"Example:\n   opsctl dlq import orders-dlq.jsonl --to orders\n   opsctl dlq import s3://ops-archive/dlq/orders/ --to orders --rate 50/s",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "target `QUEUE` (name, URL or ARN)"},
			&cli.StringFlag{Name: "rate", Usage: "at most `N/s` messages per second"},
			&cli.IntFlag{Name: "concurrency", Value: 4, Usage: "`N` parallel senders (FIFO targets use one)"},
		},
		Action: func(c *cli.Context) error {
			from, err := oneArg(c, "FILE.jsonl or s3:// location")
			if err != nil {
				return err
			}
			rate, err := redrive.ParseRate(c.String("rate"))
			if err != nil {
				return err
			}
			opts := redrive.ImportOptions{From: from, To: c.String("to"), Rate: rate, Concurrency: c.Int("concurrency")}
			if opts.To == "" {
				return usage("import: --to QUEUE is required")
			}
			if opts.Concurrency < 1 {
				return usage("--concurrency must be at least 1, got %d", opts.Concurrency)
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				loc, _ := redrive.ParseLocation(from)
				deps, done, err := st.dlqDeps(c.Context, "importing", loc.IsS3())
				if err != nil {
					return err
				}
				res, runErr := redrive.Import(c.Context, deps, opts)
				done()
				if err := st.printer.Emit(res, func(w io.Writer) error {
					pairs := [][2]string{{"From", res.From}, {"To", res.To}, {"Read", strconv.FormatInt(res.Read, 10)},
						{"Sent", strconv.FormatInt(res.Sent, 10)}, {"Failed", strconv.FormatInt(res.Failed, 10)}}
					if len(res.FailedIDs) > 0 {
						pairs = append(pairs, [2]string{"Failed ids", strings.Join(res.FailedIDs, ",")})
					}
					return output.WriteKV(w, pairs)
				}); err != nil {
					return err
				}
				return runErr
			})
		},
	}
}
