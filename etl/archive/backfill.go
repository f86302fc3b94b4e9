package archive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// BackfillOptions select the archive whose DynamoDB table is exported.
type BackfillOptions struct {
	Name string
	// EnablePITR turns on the table's point-in-time recovery when it is off
	// (an export needs it; it is billed per GB-month, so only with consent).
	EnablePITR bool
	DryRun     bool
}

// Validate checks the options.
func (o BackfillOptions) Validate() error { return ValidateName(o.Name) }

// Resource kinds of a backfill's changes.
const (
	ResPITR   = "dynamodb-point-in-time-recovery"
	ResExport = "dynamodb-export"
)

// BackfillResult is the export of the table's existing items.
type BackfillResult struct {
	Name     string `json:"name"`
	Table    string `json:"table"`
	TableARN string `json:"table_arn"`
	Bucket   string `json:"bucket"`
	// ExportPrefix is where DynamoDB writes the export:
	// PREFIX/backfill/AWSDynamoDB/EXPORT_ID/ (manifest-summary.json,
	// manifest-files.json, data/*.json.gz).
	ExportPrefix string        `json:"export_prefix"`
	ExportARN    string        `json:"export_arn,omitempty"`
	ExportStatus string        `json:"export_status,omitempty"`
	ExportTime   *time.Time    `json:"export_time,omitempty"`
	ItemCount    int64         `json:"item_count"`
	Manifest     string        `json:"manifest,omitempty"`
	DryRun       bool          `json:"dry_run"`
	Changes      []plan.Change `json:"changes"`
}

// PITRCommand is the command that enables point-in-time recovery on table.
func PITRCommand(table string) string {
	return "aws dynamodb update-continuous-backups --table-name " + table +
		" --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
}

// Backfill exports the items a DynamoDB archive's table already holds to
// the archive's bucket with DynamoDB's export to S3
// (ExportTableToPointInTime; it reads the table's point-in-time recovery
// data, so it consumes no read capacity), under PREFIX/backfill/, and waits
// until it is COMPLETED. Point-in-time recovery must be on: Backfill turns
// it on only with EnablePITR, and otherwise fails naming the command that
// does. Uses Firehose (the archive's table, bucket and prefix) and DynamoDB.
// MySQL and Postgres archives get their existing rows from Debezium's
// initial snapshot instead.
func Backfill(ctx context.Context, deps Deps, opts BackfillOptions) (BackfillResult, error) {
	if err := opts.Validate(); err != nil {
		return BackfillResult{}, err
	}
	res := BackfillResult{Name: opts.Name, DryRun: opts.DryRun}
	fh, err := deps.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(opts.Name)})
	if err != nil {
		if isNotFound(err) {
			return res, fmt.Errorf("archive %s: no firehose stream %s (create the archive first)", opts.Name, opts.Name)
		}
		return res, fmt.Errorf("describe firehose stream %q: %w", opts.Name, err)
	}
	source, err := archiveSource(ctx, deps, opts.Name)
	if err != nil {
		return res, err
	}
	table, ok := strings.CutPrefix(source, SourceDynamoDB+":")
	if !ok {
		return res, fmt.Errorf("archive %s archives %s: backfill exports DynamoDB tables; MySQL and Postgres archives get their existing rows from Debezium's initial snapshot (snapshot.mode=initial in the printed config)", opts.Name, source)
	}
	res.Table = table
	d := fh.DeliveryStreamDescription
	if len(d.Destinations) == 0 || d.Destinations[0].ExtendedS3DestinationDescription == nil {
		return res, fmt.Errorf("firehose stream %q has no S3 destination", opts.Name)
	}
	dst := d.Destinations[0].ExtendedS3DestinationDescription
	res.Bucket = aws.ToString(dst.BucketARN)[strings.LastIndex(aws.ToString(dst.BucketARN), ":")+1:]
	prefix, ok := strings.CutSuffix(staticPrefix(aws.ToString(dst.Prefix)), "data/")
	if !ok {
		return res, fmt.Errorf("firehose stream %q writes to %s, not an archive's PREFIX/data/", opts.Name, aws.ToString(dst.Prefix))
	}
	res.ExportPrefix = prefix + "backfill"
	t, err := deps.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return res, fmt.Errorf("describe dynamodb table %q: %w", table, err)
	}
	res.TableARN = aws.ToString(t.Table.TableArn)
	cb, err := deps.DynamoDB.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(table)})
	if err != nil {
		return res, fmt.Errorf("describe continuous backups of table %q: %w", table, err)
	}
	pitrOn := cb.ContinuousBackupsDescription != nil && cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription != nil &&
		cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus == ddbtypes.PointInTimeRecoveryStatusEnabled
	var steps []plan.Step
	if !pitrOn {
		if !opts.EnablePITR {
			return res, fmt.Errorf("table %s: point-in-time recovery is off, and DynamoDB exports only tables that have it (it is billed per GB-month): re-run with --enable-pitr, or enable it yourself:\n   %s", table, PITRCommand(table))
		}
		steps = append(steps, plan.New(ResPITR, table, plan.ActionUpdate, change("point_in_time_recovery", "DISABLED", "ENABLED"), func(ctx context.Context) error {
			_, err := deps.DynamoDB.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String(table),
				PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
			if err != nil {
				return fmt.Errorf("enable point-in-time recovery of table %q: %w", table, err)
			}
			return nil
		}))
	}
	steps = append(steps, plan.New(ResExport, table, plan.ActionCreate, set("export", fmt.Sprintf("s3://%s/%s/AWSDynamoDB/…", res.Bucket, res.ExportPrefix)), func(ctx context.Context) error {
		out, err := deps.DynamoDB.ExportTableToPointInTime(ctx, &dynamodb.ExportTableToPointInTimeInput{TableArn: aws.String(res.TableARN),
			S3Bucket: aws.String(res.Bucket), S3Prefix: aws.String(res.ExportPrefix), ExportFormat: ddbtypes.ExportFormatDynamodbJson})
		if err != nil {
			return fmt.Errorf("export table %q to s3://%s/%s: %w", table, res.Bucket, res.ExportPrefix, err)
		}
		res.ExportARN = aws.ToString(out.ExportDescription.ExportArn)
		return waitExport(ctx, deps, &res)
	}))
	res.Changes, err = deps.execute(ctx, "backfill archive "+opts.Name, steps, opts.DryRun)
	return res, err
}

// waitExport waits until the export is COMPLETED (exports take minutes).
func waitExport(ctx context.Context, deps Deps, res *BackfillResult) error {
	_, err := wait.Until(ctx, wait.Options{What: "wait for export " + res.ExportARN + " to complete", Clock: deps.Clock,
		Timeout: deps.waitTimeout(), Interval: 10 * time.Second, MaxInterval: time.Minute, Multiplier: 1.5}, func(ctx context.Context) (wait.Status, error) {
		out, err := deps.DynamoDB.DescribeExport(ctx, &dynamodb.DescribeExportInput{ExportArn: aws.String(res.ExportARN)})
		if err != nil {
			return wait.Status{}, fmt.Errorf("describe export %s: %w", res.ExportARN, err)
		}
		e := out.ExportDescription
		res.ExportStatus = string(e.ExportStatus)
		switch e.ExportStatus {
		case ddbtypes.ExportStatusCompleted:
			t := aws.ToTime(e.ExportTime)
			res.ExportTime, res.ItemCount, res.Manifest = &t, aws.ToInt64(e.ItemCount), aws.ToString(e.ExportManifest)
			return wait.Status{Done: true}, nil
		case ddbtypes.ExportStatusFailed:
			return wait.Status{}, fmt.Errorf("export %s failed: %s: %s", res.ExportARN, aws.ToString(e.FailureCode), aws.ToString(e.FailureMessage))
		}
		return wait.Status{State: string(e.ExportStatus)}, nil
	})
	return err
}

// archiveSource reads the Firehose stream's tags: the archive's source
// (opsctl:source), or an error when the stream is not the opsctl archive
// of that name (no opsctl:archive=NAME tag): opsctl never acts on it then.
func archiveSource(ctx context.Context, deps Deps, name string) (string, error) {
	tags, err := deps.Firehose.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("list tags of firehose stream %q: %w", name, err)
	}
	source, owned := "", false
	for _, t := range tags.Tags {
		switch aws.ToString(t.Key) {
		case TagArchive:
			owned = aws.ToString(t.Value) == name
		case TagSource:
			source = aws.ToString(t.Value)
		}
	}
	if !owned {
		return "", fmt.Errorf("firehose stream %q is not an opsctl archive (no %s=%s tag); not touching it", name, TagArchive, name)
	}
	return source, nil
}
