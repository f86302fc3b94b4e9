package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/output"
)

func init() {
	registerEtlCommand(func(st *state) *cli.Command {
		return &cli.Command{
			Name:  "archive",
			Usage: "set up and check CDC archives: DynamoDB / MySQL / Postgres → Kinesis → Firehose → S3",
			Description: "An archive is an on-demand Kinesis stream, a Firehose stream that writes it to S3 (gzip, one\n" +
				"record per line, PREFIX/data/yyyy/MM/dd/HH/, failures under PREFIX/errors/), a least-privilege\n" +
				"role for Firehose and, when opsctl creates it, an encrypted, private, TLS-only bucket. DynamoDB\n" +
				"tables stream into it directly; MySQL and Postgres through Debezium Server (config printed).\n" +
				"`opsctl etl rebuild` turns the archive into the table's snapshot.\n\n" +
				"Example:\n   opsctl etl archive create orders --dynamodb-table orders --bucket acme-cdc\n" +
				"   opsctl etl archive status\n\n" + exitCodesHelp,
			Subcommands: []*cli.Command{archiveCreateCommand(st), archiveStatusCommand(st), archiveAlarmCommand(st), archiveRmCommand(st), archiveBackfillCommand(st)},
		}
	})
}

// archiveDeps builds the AWS clients of the archive package.
func archiveDeps(ctx context.Context, st *state) (archive.Deps, error) {
	cfg, err := st.aws.Config(ctx)
	if err != nil {
		return archive.Deps{}, err
	}
	s3c, err := st.aws.NewS3(ctx)
	if err != nil {
		return archive.Deps{}, err
	}
	return archive.Deps{
		Kinesis: kinesis.NewFromConfig(cfg), Firehose: firehose.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg),
		S3: s3c, IAM: iam.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg),
		STS: sts.NewFromConfig(cfg), KMS: kms.NewFromConfig(cfg), Region: cfg.Region, Log: st.log,
		Progress: progressChange(st),
	}, nil
}

func archiveName(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 1:
		name := c.Args().First()
		return name, archive.ValidateName(name)
	case 0:
		return "", usage("%s: the archive NAME is required", c.Command.Name)
	}
	return "", usage("%s: one NAME expected, got %d arguments", c.Command.Name, c.NArg())
}

func archiveCreateCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create or correct a CDC archive (stream, Firehose, bucket, role); idempotent",
		ArgsUsage: "NAME",
		Description: "Plans, diffs and applies: the on-demand Kinesis stream NAME; for DynamoDB the table's Kinesis\n" +
			"streaming destination with microsecond creation times; the Firehose stream NAME (Kinesis source,\n" +
			"gzip, newline appended to every record, PREFIX/data/yyyy/MM/dd/HH/ in UTC arrival time, errors under\n" +
			"PREFIX/errors/, buffering hints, logging to /aws/kinesisfirehose/NAME); the role opsctl-firehose-NAME\n" +
			"(this stream, this prefix, this KMS key only); and, if the bucket is missing, the bucket with default\n" +
			"encryption, Block Public Access, a TLS-only policy and optional expiry. A second run writes nothing;\n" +
			"a changed flag updates only what differs. For mysql/postgres it prints a ready Debezium Server\n" +
			"configuration and the matching rebuild command.\n\n" +
			"Example:\n   opsctl etl archive create orders --dynamodb-table orders --bucket acme-cdc --dry-run\n" +
			"   opsctl etl archive create users --source-kind postgres --source-table public.users --key id \\\n" +
			"       --bucket acme-cdc --kms-key arn:aws:kms:eu-west-1:123456789012:key/1111-2222 --retention-days 400",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dynamodb-table", Usage: "archive this DynamoDB `TABLE` (through its Kinesis streaming destination)"},
			&cli.StringFlag{Name: "source-kind", Usage: "`KIND` of source: dynamodb, mysql or postgres"},
			&cli.StringFlag{Name: "source-table", Usage: "mysql/postgres `TABLE` (db.table or schema.table; default NAME) for the Debezium config"},
			&cli.StringFlag{Name: "key", Usage: "mysql/postgres primary-key `COLUMNS`, comma-separated (default id), for the rebuild command"},
			&cli.StringFlag{Name: "bucket", Usage: "S3 `BUCKET` for the archive (created encrypted and private when missing)"},
			&cli.StringFlag{Name: "prefix", Usage: "key `PREFIX` in the bucket (default cdc/NAME/)"},
			&cli.IntFlag{Name: "buffer-mb", Value: 64, Usage: "Firehose buffer `MIB` before writing an object (1-128)"},
			&cli.DurationFlag{Name: "buffer-interval", Value: 300 * time.Second, Usage: "Firehose buffer `DURATION` before writing an object (0s-900s)"},
			&cli.StringFlag{Name: "kms-key", Usage: "encrypt with SSE-KMS under this `KEY` (key ARN, key ID, alias/NAME or alias ARN; resolved to the key ARN) (default SSE-S3)"},
			&cli.IntFlag{Name: "retention-days", Usage: "expire archived objects after `N` days (bucket created by opsctl only; default keep)"},
			&cli.IntFlag{Name: "log-retention-days", Value: 14, Usage: "retention of the Firehose error log group, in `DAYS` (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, ... 3653)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and the IAM policies; write nothing"},
			&cli.BoolFlag{Name: "backfill", Usage: "DynamoDB: then export the items the table already holds (see etl archive backfill)"},
			&cli.BoolFlag{Name: "enable-pitr", Usage: "with --backfill: turn on the table's point-in-time recovery if it is off (the export needs it)"},
		},
		Action: func(c *cli.Context) error {
			name, err := archiveName(c)
			if err != nil {
				return err
			}
			// 0 is not "the default" here: WithDefaults would turn it into
			// 64 MiB / 14 days, which is not what was asked for.
			if n := c.Int("buffer-mb"); n < archive.MinBufferMB || n > archive.MaxBufferMB {
				return usage("invalid --buffer-mb %d: Firehose buffers 1-128 MiB", n)
			}
			if err := archive.ValidateLogRetentionDays(c.Int("log-retention-days")); err != nil {
				return err
			}
			var keys []string
			for _, k := range strings.Split(c.String("key"), ",") {
				if k = strings.TrimSpace(k); k != "" {
					keys = append(keys, k)
				}
			}
			opts := archive.Options{
				Name: name, SourceKind: c.String("source-kind"), DynamoDBTable: c.String("dynamodb-table"),
				SourceTable: c.String("source-table"), KeyColumns: keys, Bucket: c.String("bucket"), Prefix: c.String("prefix"),
				BufferMB: c.Int("buffer-mb"), BufferInterval: c.Duration("buffer-interval"), KMSKey: c.String("kms-key"),
				RetentionDays: c.Int("retention-days"), LogRetentionDays: c.Int("log-retention-days"), DryRun: c.Bool("dry-run"),
			}.WithDefaults()
			if opts.SourceKind == archive.SourceDynamoDB && opts.DynamoDBTable == "" {
				return usage("--source-kind dynamodb needs --dynamodb-table TABLE")
			}
			if opts.SourceKind != "" && opts.SourceKind != archive.SourceDynamoDB && c.IsSet("dynamodb-table") {
				return usage("--dynamodb-table and --source-kind %s exclude each other", opts.SourceKind)
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			if c.Bool("backfill") && opts.SourceKind != archive.SourceDynamoDB {
				return usage("--backfill exports DynamoDB tables; %s archives get their existing rows from Debezium's initial snapshot", opts.SourceKind)
			}
			if c.Bool("enable-pitr") && !c.Bool("backfill") {
				return usage("--enable-pitr goes with --backfill")
			}
			return st.do(opts, func() error {
				deps, err := archiveDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := archive.Create(c.Context, deps, opts)
				if err != nil && res.Changes == nil {
					return err // failed before applying anything: nothing to show
				}
				if err == nil && c.Bool("backfill") {
					bf, berr := archive.Backfill(c.Context, deps, archive.BackfillOptions{Name: opts.Name, EnablePITR: c.Bool("enable-pitr"), DryRun: opts.DryRun})
					res.Changes = append(res.Changes, bf.Changes...)
					if berr != nil {
						err = opserr.Partialf("archive created; backfill: %w", berr)
					}
				}
				return emitThen(st, res, func(w io.Writer) error { return writeCreateResult(w, res) }, err)
			})
		},
	}
}

func writeCreateResult(w io.Writer, r archive.CreateResult) error {
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "Archive %s: %s → kinesis %s → firehose %s → s3://%s/%s%s\n\n", r.Name, r.Source, r.Stream, r.DeliveryStream, r.Bucket, r.DataPrefix, mode)
	if err := writeChanges(w, r.Changes); err != nil {
		return err
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if r.DryRun {
		fmt.Fprintf(w, "\nIAM trust policy of %s:\n%s\n", r.Role, r.Policies.FirehoseTrust)
		fmt.Fprintf(w, "\nIAM permissions of %s:\n%s\n", r.Role, r.Policies.FirehoseRole)
		if r.BucketManaged {
			fmt.Fprintf(w, "\nBucket policy of %s:\n%s\n", r.Bucket, r.Policies.Bucket)
		}
	}
	if r.DebeziumConfig != "" {
		fmt.Fprintf(w, "\nDebezium Server application.properties:\n\n%s", r.DebeziumConfig)
	}
	_, err := fmt.Fprintf(w, "\nErrors land under s3://%s/%s (check with: opsctl etl archive status %s)\nRebuild the table:\n   %s\n", r.Bucket, r.ErrorPrefix, r.Name, r.RebuildCommand)
	return err
}

func fmtPtr(v *float64, unit func(float64) string) string {
	if v == nil {
		return "-"
	}
	return unit(*v)
}

func archiveStatusCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "check archives: streams, Firehose, data freshness, newest object, error objects (exit 3 if unhealthy)",
		ArgsUsage: "[NAME]",
		Description: "Per archive (all archives opsctl created when NAME is omitted): the Kinesis stream's state and\n" +
			"IteratorAge, the Firehose stream's state and DeliveryToS3.DataFreshness, the newest object under\n" +
			"the data prefix and its age, and the objects under the error prefix (records that were not\n" +
			"delivered: lost from the archive until handled). Exits 3 when any archive is unhealthy or\n" +
			"could not be fully checked (metrics unreadable, AccessDenied: listed as NOT CHECKED, health\n" +
			"UNKNOWN), so it can run from cron or CI.\n\n" +
			"Example:\n   opsctl etl archive status\n   opsctl etl archive status orders --max-age 2h -o json",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "max-age", Value: 6 * time.Hour, Usage: "unhealthy when the newest object (or the oldest undelivered record) is older than `DURATION`"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usage("status: at most one NAME, got %d arguments", c.NArg())
			}
			opts := archive.StatusOptions{Name: c.Args().First(), MaxAge: c.Duration("max-age")}
			if opts.MaxAge <= 0 {
				return usage("invalid --max-age %s: must be positive", opts.MaxAge)
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := archiveDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := archive.Status(c.Context, deps, opts)
				if err != nil && len(res.Archives) == 0 {
					return err
				}
				if err == nil && !res.Healthy {
					var why []string
					if u := res.Unhealthy(); len(u) > 0 {
						why = append(why, "unhealthy archive(s): "+strings.Join(u, ", "))
					}
					if u := res.Unknown(); len(u) > 0 {
						why = append(why, "not fully checked, health unknown: "+strings.Join(u, ", "))
					}
					err = opserr.Partialf("%s", strings.Join(why, "; "))
				}
				return emitThen(st, res, func(w io.Writer) error { return writeStatus(w, res) }, err)
			})
		},
	}
}

func writeStatus(w io.Writer, r archive.StatusResult) error {
	if len(r.Archives) == 0 {
		_, err := fmt.Fprintln(w, "No archives (Firehose streams tagged opsctl:archive) in this region.")
		return err
	}
	age := func(s float64) string { return (time.Duration(s * float64(time.Second))).Round(time.Second).String() }
	rows := [][]string{}
	for _, a := range r.Archives {
		health := a.Health
		if !a.Healthy {
			health = strings.ToUpper(a.Health)
		}
		errs := strconv.Itoa(a.ErrorObjects)
		if a.ErrorObjectsCapped {
			errs += "+"
		}
		rows = append(rows, []string{a.Name, a.StreamStatus, fmtPtr(a.IteratorAgeMs, func(v float64) string { return age(v / 1000) }),
			a.DeliveryStatus, fmtPtr(a.DataFreshnessSeconds, age), fmtPtr(a.NewestObjectAgeSec, age), errs, health})
	}
	if err := output.WriteTable(w, []string{"Archive", "Stream", "IteratorAge", "Firehose", "Freshness", "Newest object", "Error objects", "Health"}, rows); err != nil {
		return err
	}
	for _, a := range r.Archives {
		for _, p := range a.Problems {
			fmt.Fprintf(w, "%s: %s\n", a.Name, p)
		}
		for _, p := range a.Unchecked {
			fmt.Fprintf(w, "%s: NOT CHECKED: %s\n", a.Name, p)
		}
		for _, p := range a.Warnings {
			fmt.Fprintf(w, "%s: note: %s\n", a.Name, p)
		}
	}
	return nil
}

func archiveAlarmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "alarm",
		Usage:     "email when an archive stops delivering: freshness, delivery errors and Kinesis lag alarms",
		ArgsUsage: "NAME",
		Description: "Creates or corrects three CloudWatch alarms through the alarm package's SNS topic (with its\n" +
			"publish policy) and one email subscription per address: DeliveryToS3.DataFreshness above --max-age,\n" +
			"DeliveryToS3.Success below 1, and the Kinesis stream's GetRecords.IteratorAgeMilliseconds above\n" +
			"--max-age. Subscriptions stay pending until each person confirms; the output says who must.\n\n" +
			"Example:\n   opsctl etl archive alarm orders --email data@example.com --email oncall@example.com",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "email", Usage: "`ADDRESS` to notify (repeatable)"},
			&cli.StringFlag{Name: "topic", Usage: "SNS topic `NAME` (default opsctl-alarms)"},
			&cli.DurationFlag{Name: "max-age", Usage: "freshness/lag threshold `DURATION` (default the buffer interval + 15m)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the plan and diff; write nothing"},
		},
		Action: func(c *cli.Context) error {
			name, err := archiveName(c)
			if err != nil {
				return err
			}
			opts := archive.AlarmOptions{Name: name, Emails: c.StringSlice("email"), Topic: c.String("topic"), MaxAge: c.Duration("max-age"), DryRun: c.Bool("dry-run")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				deps, err := archiveDeps(c.Context, st)
				if err != nil {
					return err
				}
				ad, err := alarmDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := archive.Alarm(c.Context, deps, ad, opts)
				if err != nil && res.Topic.ARN == "" {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					fmt.Fprintf(w, "Alarms of archive %s → topic %s\n", res.Name, res.Topic.ARN)
					if err := writeChanges(w, res.AllChanges()); err != nil {
						return err
					}
					return writeSubs(w, res.Topic.Subscriptions)
				}, err)
			})
		},
	}
}

func archiveRmCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove an archive: streaming destination, alarms, Firehose, Kinesis, role, logs and (unless --keep-data) its data",
		ArgsUsage: "NAME",
		Description: "Stops the producer side first (the DynamoDB streaming destination), then deletes the alarms, the\n" +
			"Firehose stream (it delivers what it buffered), the Kinesis stream (unread records are lost) and the\n" +
			"log group. Without --keep-data it also deletes the objects under the archive's data and error\n" +
			"prefixes and, when opsctl created the bucket for this archive and nothing else is in it, the bucket.\n" +
			"The role goes last: its policy names the bucket and prefix, so after a failure (exit 3) a re-run\n" +
			"finishes the job. Asks for confirmation unless --yes.\n\n" +
			"Example:\n   opsctl etl archive rm orders --keep-data --yes\n   opsctl etl archive rm scratch --dry-run",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep-data", Usage: "keep the archived objects and the bucket"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be removed; remove nothing"},
		},
		Action: func(c *cli.Context) error {
			name, err := archiveName(c)
			if err != nil {
				return err
			}
			opts := archive.RmOptions{Name: name, KeepData: c.Bool("keep-data"), DryRun: c.Bool("dry-run")}
			if err := opts.Validate(); err != nil {
				return err
			}
			return st.do(opts, func() error {
				if !opts.DryRun {
					q := fmt.Sprintf("Remove archive %s and DELETE its archived data?", name)
					if opts.KeepData {
						q = fmt.Sprintf("Remove archive %s (keeping its data)?", name)
					}
					if err := st.confirm(c.Context, q); err != nil {
						return err
					}
				}
				deps, err := archiveDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := archive.Rm(c.Context, deps, opts)
				if err != nil && res.Changes == nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					if err := writeChanges(w, res.Changes); err != nil {
						return err
					}
					for _, warn := range res.Warnings {
						fmt.Fprintf(w, "warning: %s\n", warn)
					}
					_, err := fmt.Fprintf(w, "%d object(s) deleted\n", res.ObjectsDeleted)
					return err
				}, err)
			})
		},
	}
}

func archiveBackfillCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "backfill",
		Usage:     "export the items a DynamoDB archive's table already holds into the archive's bucket",
		ArgsUsage: "NAME",
		Description: "The archive captures changes only: items that never change never reach it. backfill exports the\n" +
			"table with DynamoDB's export to S3 (ExportTableToPointInTime, no read capacity used) to\n" +
			"s3://BUCKET/PREFIX/backfill/AWSDynamoDB/EXPORT_ID/ (manifest-summary.json, manifest-files.json,\n" +
			"data/*.json.gz) and waits until it is COMPLETED. The export needs point-in-time recovery: with\n" +
			"--enable-pitr it is turned on when off; without, backfill fails and prints the command that does.\n" +
			"MySQL and Postgres archives get their existing rows from Debezium's initial snapshot instead.\n\n" +
			"Example:\n   opsctl etl archive backfill orders --enable-pitr",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "enable-pitr", Usage: "turn on the table's point-in-time recovery if it is off (billed per GB-month)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show the plan; export nothing"},
		},
		Action: func(c *cli.Context) error {
			name, err := archiveName(c)
			if err != nil {
				return err
			}
			opts := archive.BackfillOptions{Name: name, EnablePITR: c.Bool("enable-pitr"), DryRun: c.Bool("dry-run")}
			return st.do(opts, func() error {
				deps, err := archiveDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := archive.Backfill(c.Context, deps, opts)
				if err != nil && res.Changes == nil {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error {
					if err := writeChanges(w, res.Changes); err != nil {
						return err
					}
					if res.ExportStatus == "" {
						return nil
					}
					_, err := fmt.Fprintf(w, "Export %s: %s, %d item(s), manifest s3://%s/%s\n", res.ExportARN, res.ExportStatus, res.ItemCount, res.Bucket, res.Manifest)
					return err
				}, err)
			})
		},
	}
}
