// Package archive sets up and checks change-data-capture archives on AWS:
//
//	DynamoDB table ──(Kinesis streaming destination, µs timestamps)──┐
//	MySQL binlog / Postgres WAL ──(Debezium Server, Kinesis sink)────┤
//	                                                                 ▼
//	        Kinesis data stream (on demand) → Firehose → S3 (gzip, one JSON record per line)
//
// with the defaults that avoid the known traps: a newline appended to every
// record (Firehose otherwise writes records back to back), gzip, a
// time-partitioned data prefix and a separate error prefix, CloudWatch
// logging, an encrypted bucket with Block Public Access and a TLS-only
// policy, and a least-privilege role for Firehose (this stream, this bucket
// prefix, this KMS key and nothing else).
//
// Every mutation is plan → diff → apply: Create reads the live state, lists
// the steps that differ and runs only those, so a second run makes no write
// call; with DryRun it stops after the plan. The package never prints, exits
// or reads flags; cmd/opsctl does.
package archive

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// Source kinds.
const (
	SourceDynamoDB = "dynamodb"
	SourceMySQL    = "mysql"
	SourcePostgres = "postgres"
)

// Tag keys opsctl writes on what it creates.
const (
	TagArchive = "opsctl:archive"     // the archive's name
	TagSource  = "opsctl:source"      // dynamodb:TABLE, mysql:db.table, postgres:schema.table
	TagBucket  = "opsctl:bucket-for"  // on a bucket opsctl created: the archive it was created for
	TagComp    = "opsctl:component"   // "etl-archive"
	Component  = "etl-archive"        // opsctl:component value
	policyName = "opsctl-etl-archive" // the role's inline policy
)

// Firehose's buffering limits (Firehose API reference, BufferingHints).
const (
	MinBufferMB       = 1
	MaxBufferMB       = 128
	MaxBufferInterval = 900 * time.Second
)

// Options describe one archive.
type Options struct {
	// Name names the Kinesis stream, the Firehose delivery stream and (with
	// a prefix) the IAM role: 1–64 of [a-zA-Z0-9_.-], at most 44 so the role
	// name fits IAM's 64 characters.
	Name string
	// SourceKind is dynamodb, mysql or postgres.
	SourceKind string
	// DynamoDBTable is the table to stream (SourceKind dynamodb).
	DynamoDBTable string
	// SourceTable is the database table for mysql/postgres
	// (db.table / schema.table; default: Name). It goes into the Debezium
	// configuration and the rebuild command.
	SourceTable string
	// KeyColumns are the table's primary-key columns (default ["id"]), for
	// the rebuild command of mysql/postgres archives.
	KeyColumns []string
	// Bucket receives the archive; created (encrypted, private, TLS-only)
	// when missing.
	Bucket string
	// Prefix is where the archive lives in the bucket (default cdc/NAME/):
	// PREFIX data/yyyy/MM/dd/HH/ for records, PREFIX errors/… for failures.
	Prefix string
	// BufferMB and BufferInterval are Firehose's buffering hints
	// (1–128 MiB, default 64; 0–900 s, where 0 is Firehose's zero
	// buffering: the CLI's default is 300 s).
	BufferMB       int
	BufferInterval time.Duration
	// KMSKey, if set, encrypts the bucket and the objects with SSE-KMS under
	// this key (SSE-S3 otherwise); the role may use this key only. A key ID,
	// alias name or alias ARN is resolved to the key ARN (KMS DescribeKey)
	// before anything is written: IAM matches a policy's Resource against the
	// key ARN, never an alias.
	KMSKey string
	// RetentionDays, if > 0, expires archive objects after N days (a
	// lifecycle rule on the prefix of a bucket opsctl created).
	RetentionDays int
	// LogRetentionDays is the Firehose log group's retention (default 14).
	LogRetentionDays int
	// DryRun plans and reports the IAM policies without writing.
	DryRun bool
}

var nameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,44}$`)

// kmsRe accepts what KMS's DescribeKey accepts (botocore kms
// DescribeKeyRequest.KeyId): a key ARN, an alias ARN, an alias name
// (alias/NAME) or a key ID.
var kmsRe = regexp.MustCompile(`^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[a-zA-Z0-9/_-]+|alias/[a-zA-Z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
var tableRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
var sqlTableRe = regexp.MustCompile(`^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?$`)

// ValidateName checks an archive name.
func ValidateName(name string) error {
	if !nameRe.MatchString(name) {
		return opserr.Usagef("invalid archive name %q: 1-44 characters of letters, digits, '_', '.', '-' (it names the Kinesis stream, the Firehose stream and the IAM role)", name)
	}
	return nil
}

// WithDefaults fills the defaults.
func (o Options) WithDefaults() Options {
	if o.SourceKind == "" && o.DynamoDBTable != "" {
		o.SourceKind = SourceDynamoDB
	}
	if o.Prefix == "" && o.Name != "" {
		o.Prefix = "cdc/" + o.Name + "/"
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.BufferMB == 0 {
		o.BufferMB = 64
	}
	if o.LogRetentionDays == 0 {
		o.LogRetentionDays = 14
	}
	if o.SourceKind == SourceMySQL || o.SourceKind == SourcePostgres {
		if o.SourceTable == "" {
			o.SourceTable = o.Name
		}
		if len(o.KeyColumns) == 0 {
			o.KeyColumns = []string{"id"}
		}
	}
	return o
}

// Validate checks the options (after WithDefaults) without calling AWS.
func (o Options) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	switch o.SourceKind {
	case SourceDynamoDB:
		// botocore dynamodb service-2.json: TableName min 3, max 255,
		// pattern [a-zA-Z0-9_.-]+.
		if !tableRe.MatchString(o.DynamoDBTable) {
			return opserr.Usagef("invalid --dynamodb-table %q (%d characters): 3-255 characters of letters, digits, '_', '.', '-'", o.DynamoDBTable, len(o.DynamoDBTable))
		}
	case SourceMySQL, SourcePostgres:
		if o.DynamoDBTable != "" {
			return opserr.Usagef("--dynamodb-table and --source-kind %s exclude each other", o.SourceKind)
		}
		if !sqlTableRe.MatchString(o.SourceTable) {
			return opserr.Usagef("invalid --source-table %q: want table, db.table or schema.table", o.SourceTable)
		}
		if err := validateSQLName(o.SourceKind, "--source-table", o.SourceTable); err != nil {
			return err
		}
		for _, k := range o.KeyColumns {
			if !sqlTableRe.MatchString(k) || strings.Contains(k, ".") {
				return opserr.Usagef("invalid key column %q", k)
			}
			if err := validateSQLName(o.SourceKind, "--key", k); err != nil {
				return err
			}
		}
	case "":
		return opserr.Usagef("a source is required: --dynamodb-table TABLE or --source-kind mysql|postgres")
	default:
		return opserr.Usagef("invalid --source-kind %q: want dynamodb, mysql or postgres", o.SourceKind)
	}
	if err := ValidateBucketName(o.Bucket); err != nil {
		return err
	}
	if err := validatePrefix(o.Prefix); err != nil {
		return err
	}
	if o.BufferMB < MinBufferMB || o.BufferMB > MaxBufferMB {
		return opserr.Usagef("invalid --buffer-mb %d: Firehose buffers 1-128 MiB", o.BufferMB)
	}
	if o.BufferInterval < 0 || o.BufferInterval > MaxBufferInterval || o.BufferInterval%time.Second != 0 {
		return opserr.Usagef("invalid --buffer-interval %s: Firehose buffers 0s-900s in whole seconds", o.BufferInterval)
	}
	if o.KMSKey != "" && !kmsRe.MatchString(o.KMSKey) {
		return opserr.Usagef("invalid --kms-key %q: want a KMS key ARN, key ID, alias name (alias/NAME) or alias ARN", o.KMSKey)
	}
	if o.RetentionDays < 0 || o.RetentionDays > 36500 {
		return opserr.Usagef("invalid --retention-days %d: 0 (keep forever) to 36500", o.RetentionDays)
	}
	return ValidateLogRetentionDays(o.LogRetentionDays)
}

// Names are the AWS names an archive uses, all derived from its name.
type Names struct {
	Stream, DeliveryStream, Role, LogGroup, LogStream string
	StreamARN, DeliveryStreamARN, RoleARN, BucketARN  string
	DataPrefix, ErrorPrefix                           string
	// FirehosePrefix and FirehoseErrorPrefix are the S3 prefixes with
	// Firehose's expressions (UTC arrival hour, error type).
	FirehosePrefix, FirehoseErrorPrefix string
}

// NamesFor derives the names in a partition/region/account.
func NamesFor(o Options, partition, region, account string) Names {
	n := Names{
		Stream:         o.Name,
		DeliveryStream: o.Name,
		Role:           "opsctl-firehose-" + o.Name,
		LogGroup:       "/aws/kinesisfirehose/" + o.Name,
		LogStream:      "DestinationDelivery",
		DataPrefix:     o.Prefix + "data/",
		ErrorPrefix:    o.Prefix + "errors/",
	}
	n.StreamARN = fmt.Sprintf("arn:%s:kinesis:%s:%s:stream/%s", partition, region, account, n.Stream)
	n.DeliveryStreamARN = fmt.Sprintf("arn:%s:firehose:%s:%s:deliverystream/%s", partition, region, account, n.DeliveryStream)
	n.RoleARN = fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, n.Role)
	n.BucketARN = fmt.Sprintf("arn:%s:s3:::%s", partition, o.Bucket)
	n.FirehosePrefix = n.DataPrefix + "!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/"
	n.FirehoseErrorPrefix = n.ErrorPrefix + "!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/"
	return n
}

// KinesisAPI is the part of Kinesis the package calls.
type KinesisAPI interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
	UpdateStreamMode(ctx context.Context, in *kinesis.UpdateStreamModeInput, optFns ...func(*kinesis.Options)) (*kinesis.UpdateStreamModeOutput, error)
	StartStreamEncryption(ctx context.Context, in *kinesis.StartStreamEncryptionInput, optFns ...func(*kinesis.Options)) (*kinesis.StartStreamEncryptionOutput, error)
	DeleteStream(ctx context.Context, in *kinesis.DeleteStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.DeleteStreamOutput, error)
}

// FirehoseAPI is the part of Firehose the package calls.
type FirehoseAPI interface {
	DescribeDeliveryStream(ctx context.Context, in *firehose.DescribeDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.DescribeDeliveryStreamOutput, error)
	CreateDeliveryStream(ctx context.Context, in *firehose.CreateDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.CreateDeliveryStreamOutput, error)
	UpdateDestination(ctx context.Context, in *firehose.UpdateDestinationInput, optFns ...func(*firehose.Options)) (*firehose.UpdateDestinationOutput, error)
	DeleteDeliveryStream(ctx context.Context, in *firehose.DeleteDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.DeleteDeliveryStreamOutput, error)
	ListDeliveryStreams(ctx context.Context, in *firehose.ListDeliveryStreamsInput, optFns ...func(*firehose.Options)) (*firehose.ListDeliveryStreamsOutput, error)
	ListTagsForDeliveryStream(ctx context.Context, in *firehose.ListTagsForDeliveryStreamInput, optFns ...func(*firehose.Options)) (*firehose.ListTagsForDeliveryStreamOutput, error)
}

// DynamoDBAPI is the part of DynamoDB the package calls.
type DynamoDBAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeKinesisStreamingDestination(ctx context.Context, in *dynamodb.DescribeKinesisStreamingDestinationInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeKinesisStreamingDestinationOutput, error)
	EnableKinesisStreamingDestination(ctx context.Context, in *dynamodb.EnableKinesisStreamingDestinationInput, optFns ...func(*dynamodb.Options)) (*dynamodb.EnableKinesisStreamingDestinationOutput, error)
	UpdateKinesisStreamingDestination(ctx context.Context, in *dynamodb.UpdateKinesisStreamingDestinationInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateKinesisStreamingDestinationOutput, error)
	DisableKinesisStreamingDestination(ctx context.Context, in *dynamodb.DisableKinesisStreamingDestinationInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DisableKinesisStreamingDestinationOutput, error)
	DescribeContinuousBackups(ctx context.Context, in *dynamodb.DescribeContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeContinuousBackupsOutput, error)
	UpdateContinuousBackups(ctx context.Context, in *dynamodb.UpdateContinuousBackupsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateContinuousBackupsOutput, error)
	ExportTableToPointInTime(ctx context.Context, in *dynamodb.ExportTableToPointInTimeInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ExportTableToPointInTimeOutput, error)
	DescribeExport(ctx context.Context, in *dynamodb.DescribeExportInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeExportOutput, error)
}

// S3API is the part of S3 the package calls.
type S3API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
	GetBucketTagging(ctx context.Context, in *s3.GetBucketTaggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
	PutBucketTagging(ctx context.Context, in *s3.PutBucketTaggingInput, optFns ...func(*s3.Options)) (*s3.PutBucketTaggingOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	GetBucketLifecycleConfiguration(ctx context.Context, in *s3.GetBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	PutBucketLifecycleConfiguration(ctx context.Context, in *s3.PutBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error)
	DeleteBucketLifecycle(ctx context.Context, in *s3.DeleteBucketLifecycleInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketLifecycleOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// IAMAPI is the part of IAM the package calls.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, optFns ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
}

// LogsAPI is the part of CloudWatch Logs the package calls (Firehose's
// error log group).
type LogsAPI interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

// KMSAPI is the part of KMS the package calls: resolving --kms-key.
type KMSAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// CloudWatchAPI is the part of CloudWatch the package calls (status
// metrics; alarms go through the alarms package).
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
}

// STSAPI finds the account for ARNs: awsx.CallerIdentity.
type STSAPI = awsx.STSAPI

// Deps are the clients and settings. Each function documents which clients
// it uses; the others may be nil.
type Deps struct {
	Kinesis    KinesisAPI
	Firehose   FirehoseAPI
	DynamoDB   DynamoDBAPI
	S3         S3API
	IAM        IAMAPI
	Logs       LogsAPI
	CloudWatch CloudWatchAPI
	STS        STSAPI
	KMS        KMSAPI

	// Region the clients call.
	Region string
	// Log receives progress and warnings (default: discard).
	Log *slog.Logger
	// Progress, when set, is called after each applied change.
	Progress func(c plan.Change)
	// Clock tells the time (status ages) and paces the waits for a
	// resource to become ACTIVE; nil is the real clock.
	Clock clock.Clock
	// WaitTimeout bounds each wait for a resource to become ACTIVE
	// (default 5 minutes, on Clock).
	WaitTimeout time.Duration
}

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d Deps) now() time.Time { return clock.Or(d.Clock).Now() }

// waitFor polls check until it is done, on the Deps' clock and within
// WaitTimeout: after 1 s, then 1.5× longer each time up to 15 s (a Kinesis
// stream takes about 30 s to become ACTIVE, a Firehose stream about a minute).
func (d Deps) waitFor(ctx context.Context, what string, check wait.Check) error {
	_, err := wait.Until(ctx, wait.Options{What: what, Clock: d.Clock, Timeout: d.waitTimeout(),
		Interval: time.Second, MaxInterval: 15 * time.Second, Multiplier: 1.5}, check)
	return err
}

// execute runs the steps through the plan engine: in order, nothing in a dry
// run, the rest skipped after the first failure. A failure after some
// writes is partial (exit 3): the error says what was already applied, and a
// re-run of the same command plans only what is left.
func (d Deps) execute(ctx context.Context, what string, steps []plan.Step, dryRun bool) ([]plan.Change, error) {
	cs, err := plan.Execute(ctx, steps, plan.Options{DryRun: dryRun, OnChange: d.Progress, Log: d.Log})
	if err == nil || !plan.Partial(cs) {
		return cs, err
	}
	var done []string
	for _, c := range cs {
		if c.Status == plan.StatusApplied {
			done = append(done, c.Action+" "+c.Resource+" "+c.Name)
		}
	}
	return cs, &opserr.PartialError{Err: fmt.Errorf("%s: %w (already done: %s; re-run the same command to finish)", what, err, strings.Join(done, ", "))}
}

func (d Deps) waitTimeout() time.Duration {
	if d.WaitTimeout <= 0 {
		return 5 * time.Minute
	}
	return d.WaitTimeout
}

// identity returns the partition and account of the caller.
func identity(ctx context.Context, deps Deps) (partition, account string, err error) {
	c, err := awsx.CallerIdentity(ctx, deps.STS, deps.Region)
	return c.Partition, c.Account, err
}
