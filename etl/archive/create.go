package archive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/internal/wait"
)

// CreateResult is what Create planned and did.
type CreateResult struct {
	Name           string        `json:"name"`
	Source         string        `json:"source"`
	Stream         string        `json:"stream"`
	StreamARN      string        `json:"stream_arn"`
	DeliveryStream string        `json:"delivery_stream"`
	Role           string        `json:"role"`
	Bucket         string        `json:"bucket"`
	BucketManaged  bool          `json:"bucket_managed"`
	DataPrefix     string        `json:"data_prefix"`
	ErrorPrefix    string        `json:"error_prefix"`
	DryRun         bool          `json:"dry_run"`
	Changes        []plan.Change `json:"changes"`
	Policies       Policies      `json:"policies"`
	// DebeziumConfig is a ready Debezium Server application.properties for
	// mysql/postgres archives.
	DebeziumConfig string `json:"debezium_config,omitempty"`
	// RebuildCommand rebuilds the table's snapshot from this archive.
	RebuildCommand string `json:"rebuild_command"`
	// Warnings are things the user should know (an existing bucket left as
	// it is, ...).
	Warnings []string `json:"warnings,omitempty"`
}

// Changed reports whether any change writes something.
func (r CreateResult) Changed() bool {
	for _, c := range r.Changes {
		if c.Action != plan.ActionNone {
			return true
		}
	}
	return false
}

// Resource kinds in changes.
const (
	ResBucket           = "s3-bucket"
	ResBucketTags       = "s3-bucket-tags"
	ResEncryption       = "s3-encryption"
	ResPublicAccess     = "s3-public-access-block"
	ResBucketPolicy     = "s3-bucket-policy"
	ResLifecycle        = "s3-lifecycle"
	ResStream           = "kinesis-stream"
	ResStreamEncryption = "kinesis-stream-encryption"
	ResLogGroup         = "log-group"
	ResLogStream        = "log-stream"
	ResRole             = "iam-role"
	ResRolePolicy       = "iam-role-policy"
	ResFirehose         = "firehose-delivery-stream"
	ResDDBStreaming     = "dynamodb-kinesis-destination"
	ResObjects          = "s3-objects"
	ResAlarm            = "cloudwatch-alarm"
)

func isNotFound(err error) bool {
	switch awsx.ErrorCode(err) {
	case "ResourceNotFoundException", "NoSuchEntity", "NotFound", "NoSuchBucket", "NoSuchKey", "404":
		return true
	}
	var nf *s3types.NotFound
	return errors.As(err, &nf)
}

// Create sets up (or corrects) the archive. Uses every client but
// CloudWatch.
func Create(ctx context.Context, deps Deps, opts Options) (CreateResult, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return CreateResult{}, err
	}
	partition, account, err := identity(ctx, deps)
	if err != nil {
		return CreateResult{}, err
	}
	if opts.KMSKey != "" {
		if opts.KMSKey, err = resolveKMSKey(ctx, deps, opts.KMSKey); err != nil {
			return CreateResult{}, err
		}
	}
	n := NamesFor(opts, partition, deps.Region, account)
	res := CreateResult{
		Name: opts.Name, Source: sourceLabel(opts), Stream: n.Stream, StreamARN: n.StreamARN, DeliveryStream: n.DeliveryStream,
		Role: n.RoleARN, Bucket: opts.Bucket, DataPrefix: n.DataPrefix, ErrorPrefix: n.ErrorPrefix, DryRun: opts.DryRun,
		Policies: PoliciesFor(opts, n, partition, deps.Region, account),
	}
	res.RebuildCommand = RebuildCommand(opts, n)
	if opts.SourceKind != SourceDynamoDB {
		res.DebeziumConfig = DebeziumConfig(opts, n, deps.Region)
		if fixed := keyJSONOverhead(opts.KeyColumns); fixed > MaxPartitionKeyBytes/2 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the key columns alone take %d of the %d characters Kinesis allows in a partition key ({\"col\":value,...}); rows whose key values do not fit are rejected by Kinesis", fixed, MaxPartitionKeyBytes))
		}
	}
	p := &planner{deps: deps, opts: opts, n: n, pol: res.Policies, account: account}
	if opts.SourceKind == SourceDynamoDB {
		// Fail before anything is written when the table is missing.
		if _, err := deps.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(opts.DynamoDBTable)}); err != nil {
			if isNotFound(err) {
				return res, fmt.Errorf("dynamodb table %q: not found in %s", opts.DynamoDBTable, deps.Region)
			}
			return res, fmt.Errorf("describe dynamodb table %q: %w", opts.DynamoDBTable, err)
		}
	}
	for _, plan := range []func(context.Context) error{p.bucket, p.stream, p.logs, p.role, p.firehose, p.dynamodb} {
		if err := plan(ctx); err != nil {
			return res, err
		}
	}
	res.BucketManaged = p.bucketManaged
	res.Warnings = append(res.Warnings, p.warnings...)
	for _, w := range p.warnings {
		deps.log().Warn(w)
	}
	res.Changes, err = deps.execute(ctx, "create archive "+opts.Name, p.steps, opts.DryRun)
	return res, err
}

func sourceLabel(o Options) string {
	if o.SourceKind == SourceDynamoDB {
		return "dynamodb:" + o.DynamoDBTable
	}
	return o.SourceKind + ":" + o.SourceTable
}

type planner struct {
	deps          Deps
	opts          Options
	n             Names
	pol           Policies
	account       string
	steps         []plan.Step
	warnings      []string
	bucketManaged bool
	streamCreated bool
}

func (p *planner) add(res, name, action string, diff []plan.FieldDiff, apply func(ctx context.Context) error) {
	p.steps = append(p.steps, plan.New(res, name, action, diff, apply))
}

func (p *planner) none(res, name string) { p.steps = append(p.steps, plan.Unchanged(res, name)) }

// set is the diff of a create: field gets value.
func set(field, value string) []plan.FieldDiff {
	return []plan.FieldDiff{{Field: field, Old: plan.Show(""), New: value}}
}

// change is the diff of an update of one field.
func change(field, old, new string) []plan.FieldDiff {
	return []plan.FieldDiff{{Field: field, Old: plan.Show(old), New: plan.Show(new)}}
}

func days(n int) string {
	if n == 0 {
		return "keep forever"
	}
	return fmt.Sprintf("%d days", n)
}

// ---- bucket ----

func (p *planner) wantEncryption() *s3types.ServerSideEncryptionConfiguration {
	rule := s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}
	if p.opts.KMSKey != "" {
		rule.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(p.opts.KMSKey)}
		rule.BucketKeyEnabled = aws.Bool(true)
	}
	return &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{rule}}
}

func encLabel(c *s3types.ServerSideEncryptionConfiguration) string {
	if c == nil || len(c.Rules) == 0 || c.Rules[0].ApplyServerSideEncryptionByDefault == nil {
		return "none"
	}
	d := c.Rules[0].ApplyServerSideEncryptionByDefault
	if k := aws.ToString(d.KMSMasterKeyID); k != "" {
		return string(d.SSEAlgorithm) + " " + k
	}
	return string(d.SSEAlgorithm)
}

var allBlocked = &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}

func (p *planner) lifecycleRuleID() string { return "opsctl-archive-" + p.opts.Name + "-expire" }

func (p *planner) wantLifecycle() *s3types.BucketLifecycleConfiguration {
	return &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
		ID: aws.String(p.lifecycleRuleID()), Status: s3types.ExpirationStatusEnabled,
		Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String(p.opts.Prefix)},
		Expiration:                     &s3types.LifecycleExpiration{Days: aws.Int32(int32(p.opts.RetentionDays))},
		AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)},
	}}}
}

func (p *planner) bucket(ctx context.Context) error {
	s3c, b := p.deps.S3, aws.String(p.opts.Bucket)
	_, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
	switch {
	case err != nil && isNotFound(err):
		p.bucketManaged = true
		p.add(ResBucket, p.opts.Bucket, plan.ActionCreate, set("object_ownership", "BucketOwnerEnforced (ACLs disabled)"), func(ctx context.Context) error {
			in := &s3.CreateBucketInput{Bucket: b, ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}
			if p.deps.Region != "" && p.deps.Region != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(p.deps.Region)}
			}
			if _, err := s3c.CreateBucket(ctx, in); err != nil {
				return fmt.Errorf("create bucket %q: %w", p.opts.Bucket, err)
			}
			return nil
		})
		p.add(ResBucketTags, p.opts.Bucket, plan.ActionCreate, set("tag "+TagBucket, p.opts.Name), p.putBucketTags)
		p.add(ResEncryption, p.opts.Bucket, plan.ActionCreate, set("default_encryption", encLabel(p.wantEncryption())), p.putEncryption)
		p.add(ResPublicAccess, p.opts.Bucket, plan.ActionCreate, set("block_public_access", "all"), p.putPAB)
		p.add(ResBucketPolicy, p.opts.Bucket, plan.ActionCreate, set("policy", "deny requests without TLS (aws:SecureTransport=false)"), p.putBucketPolicy)
		if p.opts.RetentionDays > 0 {
			p.add(ResLifecycle, p.opts.Bucket, plan.ActionCreate, set("expiry of "+p.opts.Prefix+"*", fmt.Sprintf("%d days", p.opts.RetentionDays)), p.putLifecycle)
		}
		return nil
	case err != nil:
		return fmt.Errorf("head bucket %q: %w", p.opts.Bucket, err)
	}
	tags, err := s3c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "NoSuchTagSet" {
		return fmt.Errorf("get tags of bucket %q: %w", p.opts.Bucket, err)
	}
	if tags != nil {
		for _, t := range tags.TagSet {
			if aws.ToString(t.Key) == TagBucket && aws.ToString(t.Value) == p.opts.Name {
				p.bucketManaged = true
			}
		}
	}
	if !p.bucketManaged {
		p.none(ResBucket, p.opts.Bucket)
		p.warnings = append(p.warnings, fmt.Sprintf("bucket %s exists and was not created by this archive: its encryption, public access block, policy and lifecycle are left as they are", p.opts.Bucket))
		p.warnings = append(p.warnings, p.checkForeignBucket(ctx)...)
		if p.opts.RetentionDays > 0 {
			p.warnings = append(p.warnings, fmt.Sprintf("--retention-days %d is not applied: opsctl only sets lifecycle rules on buckets it created", p.opts.RetentionDays))
		}
		return nil
	}
	p.none(ResBucket, p.opts.Bucket)
	// Encryption.
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	var live *s3types.ServerSideEncryptionConfiguration
	if err == nil {
		live = enc.ServerSideEncryptionConfiguration
	} else if awsx.ErrorCode(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		return fmt.Errorf("get encryption of bucket %q: %w", p.opts.Bucket, err)
	}
	if old, want := encLabel(live), encLabel(p.wantEncryption()); old != want {
		p.add(ResEncryption, p.opts.Bucket, plan.ActionUpdate, change("default_encryption", old, want), p.putEncryption)
	} else {
		p.none(ResEncryption, p.opts.Bucket)
	}
	// Block Public Access.
	pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "NoSuchPublicAccessBlockConfiguration" {
		return fmt.Errorf("get public access block of bucket %q: %w", p.opts.Bucket, err)
	}
	if pab == nil || pab.PublicAccessBlockConfiguration == nil || !allTrue(pab.PublicAccessBlockConfiguration) {
		p.add(ResPublicAccess, p.opts.Bucket, plan.ActionUpdate, change("block_public_access", "off", "all"), p.putPAB)
	} else {
		p.none(ResPublicAccess, p.opts.Bucket)
	}
	// Policy.
	pol, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "NoSuchBucketPolicy" {
		return fmt.Errorf("get policy of bucket %q: %w", p.opts.Bucket, err)
	}
	livePolicy := ""
	if pol != nil {
		livePolicy = aws.ToString(pol.Policy)
	}
	merged, changed, err := mergeBucketPolicy(livePolicy, p.pol.Bucket)
	if err != nil {
		return fmt.Errorf("policy of bucket %q: %w", p.opts.Bucket, err)
	}
	if changed {
		p.add(ResBucketPolicy, p.opts.Bucket, plan.ActionUpdate, change("policy statement DenyInsecureTransport", "missing or differs", "deny requests without TLS (other statements kept)"), func(ctx context.Context) error {
			if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(merged)}); err != nil {
				return fmt.Errorf("put policy of bucket %q: %w", p.opts.Bucket, err)
			}
			return nil
		})
	} else {
		p.none(ResBucketPolicy, p.opts.Bucket)
	}
	// Lifecycle.
	lc, err := s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil && awsx.ErrorCode(err) != "NoSuchLifecycleConfiguration" {
		return fmt.Errorf("get lifecycle of bucket %q: %w", p.opts.Bucket, err)
	}
	liveDays := 0
	var otherRules []s3types.LifecycleRule
	if lc != nil {
		for _, r := range lc.Rules {
			if aws.ToString(r.ID) == p.lifecycleRuleID() && r.Expiration != nil && r.Status == s3types.ExpirationStatusEnabled &&
				r.Filter != nil && aws.ToString(r.Filter.Prefix) == p.opts.Prefix {
				liveDays = int(aws.ToInt32(r.Expiration.Days))
			} else if aws.ToString(r.ID) != p.lifecycleRuleID() {
				otherRules = append(otherRules, r)
			}
		}
	}
	switch {
	case liveDays == p.opts.RetentionDays:
		p.none(ResLifecycle, p.opts.Bucket)
	case p.opts.RetentionDays == 0 && len(otherRules) == 0:
		p.add(ResLifecycle, p.opts.Bucket, plan.ActionDelete, change("expiry of "+p.opts.Prefix+"*", fmt.Sprintf("%d days", liveDays), "keep forever"), func(ctx context.Context) error {
			if _, err := s3c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: b}); err != nil {
				return fmt.Errorf("delete lifecycle of bucket %q: %w", p.opts.Bucket, err)
			}
			return nil
		})
	default:
		want := p.wantLifecycle()
		if p.opts.RetentionDays == 0 {
			want.Rules = nil
		}
		want.Rules = append(otherRules, want.Rules...)
		p.add(ResLifecycle, p.opts.Bucket, plan.ActionUpdate, change("expiry of "+p.opts.Prefix+"*", days(liveDays), days(p.opts.RetentionDays)), func(ctx context.Context) error {
			if _, err := s3c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: want}); err != nil {
				return fmt.Errorf("put lifecycle of bucket %q: %w", p.opts.Bucket, err)
			}
			return nil
		})
	}
	return nil
}

// checkForeignBucket reads (never writes) the settings opsctl would have
// given a bucket it created, and returns one warning per missing one.
func (p *planner) checkForeignBucket(ctx context.Context) []string {
	s3c, b, name := p.deps.S3, aws.String(p.opts.Bucket), p.opts.Bucket
	var out []string
	missing := func(format string, args ...any) { out = append(out, fmt.Sprintf("bucket "+name+": "+format, args...)) }
	enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	switch {
	case err != nil && awsx.ErrorCode(err) == "ServerSideEncryptionConfigurationNotFoundError":
		missing("no default encryption (opsctl would set %s)", encLabel(p.wantEncryption()))
	case err != nil:
		missing("default encryption not checked: %v", err)
	case p.opts.KMSKey != "" && encLabel(enc.ServerSideEncryptionConfiguration) != encLabel(p.wantEncryption()):
		missing("default encryption is %s, not %s", encLabel(enc.ServerSideEncryptionConfiguration), encLabel(p.wantEncryption()))
	}
	pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	switch {
	case err != nil && awsx.ErrorCode(err) == "NoSuchPublicAccessBlockConfiguration":
		missing("Block Public Access is off (no public access block configuration)")
	case err != nil:
		missing("Block Public Access not checked: %v", err)
	case pab.PublicAccessBlockConfiguration == nil || !allTrue(pab.PublicAccessBlockConfiguration):
		missing("Block Public Access is not fully on (all four settings)")
	}
	pol, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	switch {
	case err != nil && awsx.ErrorCode(err) == "NoSuchBucketPolicy":
		missing("no bucket policy denies requests without TLS (aws:SecureTransport=false)")
	case err != nil:
		missing("TLS-only policy not checked: %v", err)
	case !tlsOnly(aws.ToString(pol.Policy), p.n.BucketARN):
		missing("its policy does not deny requests without TLS (aws:SecureTransport=false)")
	}
	return out
}

func allTrue(c *s3types.PublicAccessBlockConfiguration) bool {
	return aws.ToBool(c.BlockPublicAcls) && aws.ToBool(c.IgnorePublicAcls) && aws.ToBool(c.BlockPublicPolicy) && aws.ToBool(c.RestrictPublicBuckets)
}

func (p *planner) putBucketTags(ctx context.Context) error {
	_, err := p.deps.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(p.opts.Bucket), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String(TagBucket), Value: aws.String(p.opts.Name)}, {Key: aws.String(TagComp), Value: aws.String(Component)}}}})
	if err != nil {
		return fmt.Errorf("tag bucket %q: %w", p.opts.Bucket, err)
	}
	return nil
}

func (p *planner) putEncryption(ctx context.Context) error {
	if _, err := p.deps.S3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(p.opts.Bucket), ServerSideEncryptionConfiguration: p.wantEncryption()}); err != nil {
		return fmt.Errorf("put encryption of bucket %q: %w", p.opts.Bucket, err)
	}
	return nil
}

func (p *planner) putPAB(ctx context.Context) error {
	if _, err := p.deps.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(p.opts.Bucket), PublicAccessBlockConfiguration: allBlocked}); err != nil {
		return fmt.Errorf("block public access to bucket %q: %w", p.opts.Bucket, err)
	}
	return nil
}

func (p *planner) putBucketPolicy(ctx context.Context) error {
	if _, err := p.deps.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.opts.Bucket), Policy: aws.String(p.pol.Bucket)}); err != nil {
		return fmt.Errorf("put policy of bucket %q: %w", p.opts.Bucket, err)
	}
	return nil
}

func (p *planner) putLifecycle(ctx context.Context) error {
	if _, err := p.deps.S3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(p.opts.Bucket), LifecycleConfiguration: p.wantLifecycle()}); err != nil {
		return fmt.Errorf("put lifecycle of bucket %q: %w", p.opts.Bucket, err)
	}
	return nil
}

// ---- Kinesis stream ----

func (p *planner) stream(ctx context.Context) error {
	k := p.deps.Kinesis
	out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(p.n.Stream)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("describe kinesis stream %q: %w", p.n.Stream, err)
	}
	if err != nil {
		p.streamCreated = true
		p.add(ResStream, p.n.Stream, plan.ActionCreate, set("capacity_mode", "ON_DEMAND"), func(ctx context.Context) error {
			_, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(p.n.Stream),
				StreamModeDetails: &ktypes.StreamModeDetails{StreamMode: ktypes.StreamModeOnDemand},
				Tags:              map[string]string{TagArchive: p.opts.Name, TagComp: Component}})
			if err != nil {
				return fmt.Errorf("create kinesis stream %q: %w", p.n.Stream, err)
			}
			return waitStream(ctx, p.deps, p.n.Stream)
		})
		p.add(ResStreamEncryption, p.n.Stream, plan.ActionCreate, set("encryption", "KMS "+StreamKMSKey), p.encryptStream)
		return nil
	}
	d := out.StreamDescriptionSummary
	if d.EncryptionType != ktypes.EncryptionTypeKms {
		p.add(ResStreamEncryption, p.n.Stream, plan.ActionUpdate, change("encryption", string(d.EncryptionType), "KMS "+StreamKMSKey), p.encryptStream)
	} else {
		p.none(ResStreamEncryption, p.n.Stream)
	}
	if d.StreamModeDetails != nil && d.StreamModeDetails.StreamMode == ktypes.StreamModeProvisioned {
		p.add(ResStream, p.n.Stream, plan.ActionUpdate, change("capacity_mode", "PROVISIONED", "ON_DEMAND"), func(ctx context.Context) error {
			if err := waitStream(ctx, p.deps, p.n.Stream); err != nil {
				return err
			}
			if _, err := k.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: d.StreamARN, StreamModeDetails: &ktypes.StreamModeDetails{StreamMode: ktypes.StreamModeOnDemand}}); err != nil {
				return fmt.Errorf("switch kinesis stream %q to on-demand: %w", p.n.Stream, err)
			}
			return waitStream(ctx, p.deps, p.n.Stream)
		})
		return nil
	}
	p.none(ResStream, p.n.Stream)
	return nil
}

// StreamKMSKey encrypts the Kinesis stream at rest: the AWS managed key of
// Kinesis, whose key policy lets the account's principals that may use the
// stream (DynamoDB's streaming destination, Debezium, Firehose's role) use
// the key through Kinesis, so no key grant is needed (Kinesis developer
// guide, "Data protection: server-side encryption").
const StreamKMSKey = "alias/aws/kinesis"

// encryptStream turns on server-side encryption once the stream is ACTIVE
// (StartStreamEncryption is refused while it is CREATING or UPDATING) and
// waits for the UPDATING it causes to end.
func (p *planner) encryptStream(ctx context.Context) error {
	if err := waitStream(ctx, p.deps, p.n.Stream); err != nil {
		return err
	}
	_, err := p.deps.Kinesis.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String(p.n.Stream),
		EncryptionType: ktypes.EncryptionTypeKms, KeyId: aws.String(StreamKMSKey)})
	if err != nil {
		return fmt.Errorf("encrypt kinesis stream %q: %w", p.n.Stream, err)
	}
	return waitStream(ctx, p.deps, p.n.Stream)
}

// waitStream polls until the stream is ACTIVE (bounded by WaitTimeout).
func waitStream(ctx context.Context, deps Deps, name string) error {
	return deps.waitFor(ctx, fmt.Sprintf("wait for kinesis stream %q to become ACTIVE", name), func(ctx context.Context) (wait.Status, error) {
		out, err := deps.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		switch {
		case err == nil:
			st := out.StreamDescriptionSummary.StreamStatus
			return wait.Status{Done: st == ktypes.StreamStatusActive, State: string(st)}, nil
		case isNotFound(err):
			return wait.Status{State: "not found yet"}, nil
		}
		return wait.Status{}, fmt.Errorf("wait for kinesis stream %q: %w", name, err)
	})
}

// ---- log group ----

func (p *planner) logs(ctx context.Context) error {
	l := p.deps.Logs
	groups, err := l.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(p.n.LogGroup)})
	if err != nil {
		return fmt.Errorf("describe log group %q: %w", p.n.LogGroup, err)
	}
	exists, retention := false, int32(0)
	for _, g := range groups.LogGroups {
		if aws.ToString(g.LogGroupName) == p.n.LogGroup {
			exists, retention = true, aws.ToInt32(g.RetentionInDays)
		}
	}
	putRetention := func(ctx context.Context) error {
		if _, err := l.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(p.n.LogGroup), RetentionInDays: aws.Int32(int32(p.opts.LogRetentionDays))}); err != nil {
			return fmt.Errorf("set retention of log group %q: %w", p.n.LogGroup, err)
		}
		return nil
	}
	switch {
	case !exists:
		p.add(ResLogGroup, p.n.LogGroup, plan.ActionCreate, set("retention_days", strconv.Itoa(p.opts.LogRetentionDays)), func(ctx context.Context) error {
			if _, err := l.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(p.n.LogGroup),
				Tags: map[string]string{TagArchive: p.opts.Name, TagComp: Component}}); err != nil && awsx.ErrorCode(err) != "ResourceAlreadyExistsException" {
				return fmt.Errorf("create log group %q: %w", p.n.LogGroup, err)
			}
			return putRetention(ctx)
		})
		p.add(ResLogStream, p.n.LogStream, plan.ActionCreate, nil, p.createLogStream)
		return nil
	case int(retention) != p.opts.LogRetentionDays:
		p.add(ResLogGroup, p.n.LogGroup, plan.ActionUpdate, change("retention_days", strconv.Itoa(int(retention)), strconv.Itoa(p.opts.LogRetentionDays)), putRetention)
	default:
		p.none(ResLogGroup, p.n.LogGroup)
	}
	st, err := l.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(p.n.LogGroup), LogStreamNamePrefix: aws.String(p.n.LogStream)})
	if err != nil {
		return fmt.Errorf("describe log streams of %q: %w", p.n.LogGroup, err)
	}
	for _, s := range st.LogStreams {
		if aws.ToString(s.LogStreamName) == p.n.LogStream {
			p.none(ResLogStream, p.n.LogStream)
			return nil
		}
	}
	p.add(ResLogStream, p.n.LogStream, plan.ActionCreate, nil, p.createLogStream)
	return nil
}

func (p *planner) createLogStream(ctx context.Context) error {
	_, err := p.deps.Logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(p.n.LogGroup), LogStreamName: aws.String(p.n.LogStream)})
	if err != nil && awsx.ErrorCode(err) != "ResourceAlreadyExistsException" {
		return fmt.Errorf("create log stream %q in %q: %w", p.n.LogStream, p.n.LogGroup, err)
	}
	return nil
}

// ---- IAM role ----

func (p *planner) role(ctx context.Context) error {
	c := p.deps.IAM
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.n.Role)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("get role %q: %w", p.n.Role, err)
	}
	putPolicy := func(ctx context.Context) error {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p.n.Role), PolicyName: aws.String(policyName), PolicyDocument: aws.String(p.pol.FirehoseRole)}); err != nil {
			return fmt.Errorf("put policy of role %q: %w", p.n.Role, err)
		}
		return nil
	}
	if err != nil {
		p.add(ResRole, p.n.Role, plan.ActionCreate, set("trust_policy", "firehose.amazonaws.com for delivery stream "+p.n.DeliveryStream+" only"), func(ctx context.Context) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(p.n.Role), AssumeRolePolicyDocument: aws.String(p.pol.FirehoseTrust),
				Description: aws.String("Firehose delivery for opsctl etl archive " + p.opts.Name),
				Tags:        []iamtypes.Tag{{Key: aws.String(TagArchive), Value: aws.String(p.opts.Name)}, {Key: aws.String(TagComp), Value: aws.String(Component)}}})
			if err != nil {
				return fmt.Errorf("create role %q: %w", p.n.Role, err)
			}
			return nil
		})
		p.add(ResRolePolicy, p.n.Role+"/"+policyName, plan.ActionCreate, set("permissions", "read stream "+p.n.Stream+", write s3://"+p.opts.Bucket+"/"+p.opts.Prefix+"*"), putPolicy)
		return nil
	}
	if !samePolicy(aws.ToString(role.Role.AssumeRolePolicyDocument), p.pol.FirehoseTrust) {
		p.add(ResRole, p.n.Role, plan.ActionUpdate, change("trust_policy", "differs", "firehose.amazonaws.com for delivery stream "+p.n.DeliveryStream+" only"), func(ctx context.Context) error {
			if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.n.Role), PolicyDocument: aws.String(p.pol.FirehoseTrust)}); err != nil {
				return fmt.Errorf("update trust policy of role %q: %w", p.n.Role, err)
			}
			return nil
		})
	} else {
		p.none(ResRole, p.n.Role)
	}
	rp, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(p.n.Role), PolicyName: aws.String(policyName)})
	switch {
	case err != nil && !isNotFound(err):
		return fmt.Errorf("get policy of role %q: %w", p.n.Role, err)
	case err != nil:
		p.add(ResRolePolicy, p.n.Role+"/"+policyName, plan.ActionCreate, nil, putPolicy)
	case !samePolicy(aws.ToString(rp.PolicyDocument), p.pol.FirehoseRole):
		p.add(ResRolePolicy, p.n.Role+"/"+policyName, plan.ActionUpdate, change("permissions", "differs", "this stream, this prefix"+map[bool]string{true: ", this KMS key", false: ""}[p.opts.KMSKey != ""]), putPolicy)
	default:
		p.none(ResRolePolicy, p.n.Role+"/"+policyName)
	}
	return nil
}

// ---- Firehose ----

func (p *planner) wantDest() *fhtypes.ExtendedS3DestinationConfiguration {
	enc := &fhtypes.EncryptionConfiguration{NoEncryptionConfig: fhtypes.NoEncryptionConfigNoEncryption}
	if p.opts.KMSKey != "" {
		enc = &fhtypes.EncryptionConfiguration{KMSEncryptionConfig: &fhtypes.KMSEncryptionConfig{AWSKMSKeyARN: aws.String(p.opts.KMSKey)}}
	}
	return &fhtypes.ExtendedS3DestinationConfiguration{
		RoleARN:           aws.String(p.n.RoleARN),
		BucketARN:         aws.String(p.n.BucketARN),
		Prefix:            aws.String(p.n.FirehosePrefix),
		ErrorOutputPrefix: aws.String(p.n.FirehoseErrorPrefix),
		BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(int32(p.opts.BufferMB)),
			IntervalInSeconds: aws.Int32(int32(p.opts.BufferInterval / time.Second))},
		CompressionFormat:       fhtypes.CompressionFormatGzip,
		EncryptionConfiguration: enc,
		CloudWatchLoggingOptions: &fhtypes.CloudWatchLoggingOptions{Enabled: aws.Bool(true),
			LogGroupName: aws.String(p.n.LogGroup), LogStreamName: aws.String(p.n.LogStream)},
		// AppendDelimiterToRecord without parameters appends "\n" to every
		// record; without it Firehose writes records back to back.
		ProcessingConfiguration: &fhtypes.ProcessingConfiguration{Enabled: aws.Bool(true), Processors: []fhtypes.Processor{{
			Type: fhtypes.ProcessorTypeAppendDelimiterToRecord,
		}}},
		S3BackupMode: fhtypes.S3BackupModeDisabled,
	}
}

func hasDelimiter(pc *fhtypes.ProcessingConfiguration) bool {
	if pc == nil || !aws.ToBool(pc.Enabled) {
		return false
	}
	for _, pr := range pc.Processors {
		if pr.Type == fhtypes.ProcessorTypeAppendDelimiterToRecord {
			for _, prm := range pr.Parameters {
				if prm.ParameterName == fhtypes.ProcessorParameterNameDelimiter && aws.ToString(prm.ParameterValue) != `\n` {
					return false
				}
			}
			return true
		}
	}
	return false
}

func kmsOf(e *fhtypes.EncryptionConfiguration) string {
	if e == nil || e.KMSEncryptionConfig == nil {
		return "none"
	}
	return aws.ToString(e.KMSEncryptionConfig.AWSKMSKeyARN)
}

func diffDest(live *fhtypes.ExtendedS3DestinationDescription, want *fhtypes.ExtendedS3DestinationConfiguration) []plan.FieldDiff {
	var d plan.Differ
	cmp := d.Str
	cmp("role", aws.ToString(live.RoleARN), aws.ToString(want.RoleARN))
	cmp("bucket", aws.ToString(live.BucketARN), aws.ToString(want.BucketARN))
	cmp("prefix", aws.ToString(live.Prefix), aws.ToString(want.Prefix))
	cmp("error_prefix", aws.ToString(live.ErrorOutputPrefix), aws.ToString(want.ErrorOutputPrefix))
	var size, interval int32
	if live.BufferingHints != nil {
		size, interval = aws.ToInt32(live.BufferingHints.SizeInMBs), aws.ToInt32(live.BufferingHints.IntervalInSeconds)
	}
	cmp("buffer_mb", strconv.Itoa(int(size)), strconv.Itoa(int(aws.ToInt32(want.BufferingHints.SizeInMBs))))
	cmp("buffer_interval", fmt.Sprintf("%ds", interval), fmt.Sprintf("%ds", aws.ToInt32(want.BufferingHints.IntervalInSeconds)))
	cmp("compression", string(live.CompressionFormat), string(want.CompressionFormat))
	cmp("newline_delimiter", strconv.FormatBool(hasDelimiter(live.ProcessingConfiguration)), "true")
	cmp("kms_key", kmsOf(live.EncryptionConfiguration), kmsOf(want.EncryptionConfiguration))
	lg := live.CloudWatchLoggingOptions
	if lg == nil {
		lg = &fhtypes.CloudWatchLoggingOptions{}
	}
	cmp("logging", fmt.Sprintf("%t %s/%s", aws.ToBool(lg.Enabled), aws.ToString(lg.LogGroupName), aws.ToString(lg.LogStreamName)),
		fmt.Sprintf("true %s/%s", aws.ToString(want.CloudWatchLoggingOptions.LogGroupName), aws.ToString(want.CloudWatchLoggingOptions.LogStreamName)))
	return d
}

func (p *planner) firehose(ctx context.Context) error {
	f := p.deps.Firehose
	want := p.wantDest()
	out, err := f.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(p.n.DeliveryStream)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("describe firehose stream %q: %w", p.n.DeliveryStream, err)
	}
	if err != nil {
		diff := set("delivery", fmt.Sprintf("kinesis %s → s3://%s/%s (gzip, newline per record, %d MiB / %s buffers)", p.n.Stream, p.opts.Bucket, p.n.DataPrefix, p.opts.BufferMB, p.opts.BufferInterval))
		p.add(ResFirehose, p.n.DeliveryStream, plan.ActionCreate, diff, func(ctx context.Context) error {
			if err := waitStream(ctx, p.deps, p.n.Stream); err != nil {
				return err
			}
			return p.createFirehose(ctx, want)
		})
		return nil
	}
	desc := out.DeliveryStreamDescription
	if src := desc.Source; src == nil || src.KinesisStreamSourceDescription == nil || aws.ToString(src.KinesisStreamSourceDescription.KinesisStreamARN) != p.n.StreamARN {
		return fmt.Errorf("firehose stream %q exists but does not read kinesis stream %s; Firehose cannot change its source: remove it (opsctl etl archive rm %s --keep-data) and create again", p.n.DeliveryStream, p.n.StreamARN, p.opts.Name)
	}
	if len(desc.Destinations) == 0 || desc.Destinations[0].ExtendedS3DestinationDescription == nil {
		return fmt.Errorf("firehose stream %q exists but has no S3 destination; remove it and create again", p.n.DeliveryStream)
	}
	dest := desc.Destinations[0]
	diff := diffDest(dest.ExtendedS3DestinationDescription, want)
	if len(diff) == 0 {
		p.none(ResFirehose, p.n.DeliveryStream)
		return nil
	}
	p.add(ResFirehose, p.n.DeliveryStream, plan.ActionUpdate, diff, func(ctx context.Context) error {
		version, err := waitFirehose(ctx, p.deps, p.n.DeliveryStream)
		if err != nil {
			return err
		}
		_, err = f.UpdateDestination(ctx, &firehose.UpdateDestinationInput{
			DeliveryStreamName: aws.String(p.n.DeliveryStream), CurrentDeliveryStreamVersionId: aws.String(version), DestinationId: dest.DestinationId,
			ExtendedS3DestinationUpdate: &fhtypes.ExtendedS3DestinationUpdate{
				RoleARN: want.RoleARN, BucketARN: want.BucketARN, Prefix: want.Prefix, ErrorOutputPrefix: want.ErrorOutputPrefix,
				BufferingHints: want.BufferingHints, CompressionFormat: want.CompressionFormat, EncryptionConfiguration: want.EncryptionConfiguration,
				CloudWatchLoggingOptions: want.CloudWatchLoggingOptions, ProcessingConfiguration: want.ProcessingConfiguration,
			}})
		if err != nil {
			return fmt.Errorf("update firehose stream %q: %w", p.n.DeliveryStream, err)
		}
		return nil
	})
	return nil
}

// createFirehose creates the delivery stream, retrying while IAM has not yet
// propagated the new role to Firehose ("unable to assume role").
func (p *planner) createFirehose(ctx context.Context, want *fhtypes.ExtendedS3DestinationConfiguration) error {
	in := &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(p.n.DeliveryStream),
		DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration: &fhtypes.KinesisStreamSourceConfiguration{
			KinesisStreamARN: aws.String(p.n.StreamARN), RoleARN: aws.String(p.n.RoleARN)},
		ExtendedS3DestinationConfiguration: want,
		Tags: []fhtypes.Tag{{Key: aws.String(TagArchive), Value: aws.String(p.opts.Name)}, {Key: aws.String(TagComp), Value: aws.String(Component)},
			{Key: aws.String(TagSource), Value: aws.String(sourceLabel(p.opts))}},
	}
	_, err := wait.Until(ctx, wait.Options{What: fmt.Sprintf("create firehose stream %q: role %s still not assumable", p.n.DeliveryStream, p.n.RoleARN),
		Clock: p.deps.Clock, Timeout: p.deps.waitTimeout(), Interval: 3 * time.Second}, func(ctx context.Context) (wait.Status, error) {
		_, err := p.deps.Firehose.CreateDeliveryStream(ctx, in)
		if err == nil {
			return wait.Status{Done: true}, nil
		}
		if awsx.ErrorCode(err) != "InvalidArgumentException" || !strings.Contains(strings.ToLower(err.Error()), "assume") {
			return wait.Status{}, fmt.Errorf("create firehose stream %q: %w", p.n.DeliveryStream, err)
		}
		p.deps.log().Info("waiting for IAM to let Firehose assume the new role", "role", p.n.RoleARN)
		return wait.Status{State: "role not yet assumable"}, nil
	})
	return err
}

// waitFirehose waits until the delivery stream is ACTIVE and returns its
// version id.
func waitFirehose(ctx context.Context, deps Deps, name string) (string, error) {
	version := ""
	err := deps.waitFor(ctx, fmt.Sprintf("wait for firehose stream %q to become ACTIVE", name), func(ctx context.Context) (wait.Status, error) {
		out, err := deps.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
		if err != nil {
			return wait.Status{}, fmt.Errorf("describe firehose stream %q: %w", name, err)
		}
		d := out.DeliveryStreamDescription
		version = aws.ToString(d.VersionId)
		return wait.Status{Done: d.DeliveryStreamStatus == fhtypes.DeliveryStreamStatusActive, State: string(d.DeliveryStreamStatus)}, nil
	})
	return version, err
}

// ---- DynamoDB streaming destination ----

func (p *planner) dynamodb(ctx context.Context) error {
	if p.opts.SourceKind != SourceDynamoDB {
		return nil
	}
	d := p.deps.DynamoDB
	table := aws.String(p.opts.DynamoDBTable)
	name := p.opts.DynamoDBTable + " → " + p.n.Stream
	out, err := d.DescribeKinesisStreamingDestination(ctx, &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: table})
	if err != nil {
		return fmt.Errorf("describe kinesis streaming destinations of table %q: %w", p.opts.DynamoDBTable, err)
	}
	var live *ddbtypes.KinesisDataStreamDestination
	for i, dst := range out.KinesisDataStreamDestinations {
		if aws.ToString(dst.StreamArn) == p.n.StreamARN {
			live = &out.KinesisDataStreamDestinations[i]
		}
	}
	const micro = ddbtypes.ApproximateCreationDateTimePrecisionMicrosecond
	if live == nil || live.DestinationStatus == ddbtypes.DestinationStatusDisabled || live.DestinationStatus == ddbtypes.DestinationStatusEnableFailed ||
		live.DestinationStatus == ddbtypes.DestinationStatusDisabling {
		p.add(ResDDBStreaming, name, plan.ActionCreate, set("creation_time_precision", "MICROSECOND"), func(ctx context.Context) error {
			if err := waitStream(ctx, p.deps, p.n.Stream); err != nil {
				return err
			}
			_, err := d.EnableKinesisStreamingDestination(ctx, &dynamodb.EnableKinesisStreamingDestinationInput{TableName: table, StreamArn: aws.String(p.n.StreamARN),
				EnableKinesisStreamingConfiguration: &ddbtypes.EnableKinesisStreamingConfiguration{ApproximateCreationDateTimePrecision: micro}})
			if err != nil {
				return fmt.Errorf("enable kinesis streaming of table %q to %s: %w", p.opts.DynamoDBTable, p.n.Stream, err)
			}
			return nil
		})
		return nil
	}
	if live.ApproximateCreationDateTimePrecision != micro {
		p.add(ResDDBStreaming, name, plan.ActionUpdate, change("creation_time_precision", string(live.ApproximateCreationDateTimePrecision), "MICROSECOND"), func(ctx context.Context) error {
			if err := waitDestination(ctx, p.deps, p.opts.DynamoDBTable, p.n.StreamARN); err != nil {
				return err
			}
			_, err := d.UpdateKinesisStreamingDestination(ctx, &dynamodb.UpdateKinesisStreamingDestinationInput{TableName: table, StreamArn: aws.String(p.n.StreamARN),
				UpdateKinesisStreamingConfiguration: &ddbtypes.UpdateKinesisStreamingConfiguration{ApproximateCreationDateTimePrecision: micro}})
			if err != nil {
				return fmt.Errorf("update kinesis streaming of table %q: %w", p.opts.DynamoDBTable, err)
			}
			return nil
		})
		return nil
	}
	p.none(ResDDBStreaming, name)
	return nil
}

// waitDestination waits until the table's destination is ACTIVE.
func waitDestination(ctx context.Context, deps Deps, table, streamARN string) error {
	return deps.waitFor(ctx, fmt.Sprintf("wait for table %q to stream to %s", table, streamARN), func(ctx context.Context) (wait.Status, error) {
		out, err := deps.DynamoDB.DescribeKinesisStreamingDestination(ctx, &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: aws.String(table)})
		if err != nil {
			return wait.Status{}, fmt.Errorf("describe kinesis streaming destinations of table %q: %w", table, err)
		}
		for _, d := range out.KinesisDataStreamDestinations {
			if aws.ToString(d.StreamArn) == streamARN {
				return wait.Status{Done: d.DestinationStatus == ddbtypes.DestinationStatusActive, State: string(d.DestinationStatus)}, nil
			}
		}
		return wait.Status{State: "no destination yet"}, nil
	})
}

// resolveKMSKey returns the ARN of the key id names (a key ARN, key ID,
// alias name or alias ARN): the policies, the bucket's default encryption
// and Firehose need the key ARN, since IAM never matches an alias against a
// policy's Resource (KMS developer guide, "Using aliases to control access
// to KMS keys": aliases in Resource have no effect on the key). The key must
// be enabled and in the archive's region (Firehose and S3 use keys of their
// own region only).
func resolveKMSKey(ctx context.Context, deps Deps, id string) (string, error) {
	if deps.KMS == nil {
		return "", fmt.Errorf("resolve --kms-key %s: no KMS client", id)
	}
	out, err := deps.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		if awsx.ErrorCode(err) == "NotFoundException" {
			return "", fmt.Errorf("--kms-key %s: no such key or alias in %s: %w", id, deps.Region, err)
		}
		return "", fmt.Errorf("resolve --kms-key %s (kms DescribeKey): %w", id, err)
	}
	m := out.KeyMetadata
	if m == nil || aws.ToString(m.Arn) == "" {
		return "", fmt.Errorf("resolve --kms-key %s: KMS returned no key ARN", id)
	}
	arn := aws.ToString(m.Arn)
	if !strings.Contains(arn, ":kms:"+deps.Region+":") {
		return "", fmt.Errorf("--kms-key %s is key %s, not in %s: Firehose and S3 use keys of their own region", id, arn, deps.Region)
	}
	if !m.Enabled || m.KeyState != kmstypes.KeyStateEnabled {
		return "", fmt.Errorf("--kms-key %s: key %s is %s, not Enabled", id, arn, m.KeyState)
	}
	return arn, nil
}
