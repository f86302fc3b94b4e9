package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsctl/opsctl/internal/plan"
)

// RmOptions select what Rm removes.
type RmOptions struct {
	Name string
	// KeepData keeps the archived objects (and the bucket).
	KeepData bool
	DryRun   bool
}

// Validate checks the options.
func (o RmOptions) Validate() error { return ValidateName(o.Name) }

// RmResult is what Rm planned and did.
type RmResult struct {
	Name           string        `json:"name"`
	DryRun         bool          `json:"dry_run"`
	KeepData       bool          `json:"keep_data"`
	ObjectsDeleted int           `json:"objects_deleted"`
	Changes        []plan.Change `json:"changes"`
	Warnings       []string      `json:"warnings,omitempty"`
}

// Rm removes an archive, producer side first so nothing new arrives: the
// DynamoDB streaming destination, the alarms, the Firehose stream (it
// delivers what it buffered), the Kinesis stream, the log group, unless
// KeepData the archived objects and a bucket opsctl created for this
// archive once it is empty, and last the role. What is already gone is
// skipped, so Rm can be re-run after any failure: the role goes last
// because its policy, which opsctl wrote, names the bucket and prefix once
// the Firehose stream is gone. Uses every client but Logs' create calls.
func Rm(ctx context.Context, deps Deps, opts RmOptions) (RmResult, error) {
	if err := opts.Validate(); err != nil {
		return RmResult{}, err
	}
	res := RmResult{Name: opts.Name, DryRun: opts.DryRun, KeepData: opts.KeepData}
	var steps []plan.Step
	add := func(resName, name string, apply func(ctx context.Context) error) {
		steps = append(steps, plan.Delete(resName, name, apply))
	}
	stream, bucket, dataPrefix, errPrefix, source := opts.Name, "", "", "", ""
	fh, err := deps.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(opts.Name)})
	fhExists := err == nil
	if err != nil && !isNotFound(err) {
		return res, fmt.Errorf("describe firehose stream %q: %w", opts.Name, err)
	}
	if fhExists {
		d := fh.DeliveryStreamDescription
		if d.Source != nil && d.Source.KinesisStreamSourceDescription != nil {
			arn := aws.ToString(d.Source.KinesisStreamSourceDescription.KinesisStreamARN)
			stream = arn[strings.LastIndex(arn, "/")+1:]
		}
		if len(d.Destinations) > 0 && d.Destinations[0].ExtendedS3DestinationDescription != nil {
			dst := d.Destinations[0].ExtendedS3DestinationDescription
			bucket = aws.ToString(dst.BucketARN)[strings.LastIndex(aws.ToString(dst.BucketARN), ":")+1:]
			dataPrefix, errPrefix = staticPrefix(aws.ToString(dst.Prefix)), staticPrefix(aws.ToString(dst.ErrorOutputPrefix))
		}
		if source, err = archiveSource(ctx, deps, opts.Name); err != nil {
			return res, err
		}
	}
	role := "opsctl-firehose-" + opts.Name
	roleExists, roleHasPolicy := false, false
	if r, err := deps.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err == nil {
		roleExists = true
		rp, err := deps.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policyName)})
		switch {
		case err == nil:
			roleHasPolicy = true
			if !fhExists && roleOwned(r.Role.Tags, opts.Name) {
				// The Firehose stream is gone (an earlier rm failed after
				// deleting it): the role's policy, which opsctl wrote, names
				// the bucket and prefix.
				if b, prefix, ok := archivedPrefix(aws.ToString(rp.PolicyDocument)); ok {
					bucket, dataPrefix, errPrefix = b, prefix+"data/", prefix+"errors/"
				}
			}
		case !isNotFound(err):
			return res, fmt.Errorf("get policy of role %q: %w", role, err)
		}
	} else if !isNotFound(err) {
		return res, fmt.Errorf("get role %q: %w", role, err)
	}
	if !fhExists && bucket == "" && !opts.KeepData {
		res.Warnings = append(res.Warnings, "the Firehose stream and the role are already gone: the bucket and prefix are unknown, so no archived data is deleted")
	}
	// 1. DynamoDB stops producing.
	if table, ok := strings.CutPrefix(source, SourceDynamoDB+":"); ok && deps.DynamoDB != nil {
		out, err := deps.DynamoDB.DescribeKinesisStreamingDestination(ctx, &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: aws.String(table)})
		if err != nil && !isNotFound(err) {
			return res, fmt.Errorf("describe kinesis streaming destinations of table %q: %w", table, err)
		}
		if err == nil {
			for _, d := range out.KinesisDataStreamDestinations {
				arn := aws.ToString(d.StreamArn)
				if strings.HasSuffix(arn, ":stream/"+stream) && (d.DestinationStatus == ddbtypes.DestinationStatusActive || d.DestinationStatus == ddbtypes.DestinationStatusEnabling || d.DestinationStatus == ddbtypes.DestinationStatusUpdating) {
					add(ResDDBStreaming, table+" → "+stream, func(ctx context.Context) error {
						if d.DestinationStatus != ddbtypes.DestinationStatusActive {
							if err := waitDestination(ctx, deps, table, arn); err != nil {
								return err
							}
						}
						if _, err := deps.DynamoDB.DisableKinesisStreamingDestination(ctx, &dynamodb.DisableKinesisStreamingDestinationInput{TableName: aws.String(table), StreamArn: aws.String(arn)}); err != nil {
							return fmt.Errorf("disable kinesis streaming of table %q: %w", table, err)
						}
						return nil
					})
				}
			}
		}
	}
	// 2. Alarms.
	if deps.CloudWatch != nil {
		f, e, i := AlarmNames(opts.Name)
		out, err := deps.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{f, e, i}})
		if err != nil {
			return res, fmt.Errorf("describe alarms of archive %q: %w", opts.Name, err)
		}
		var names []string
		for _, a := range out.MetricAlarms {
			names = append(names, aws.ToString(a.AlarmName))
		}
		if len(names) > 0 {
			add(ResAlarm, strings.Join(names, ","), func(ctx context.Context) error {
				if _, err := deps.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: names}); err != nil {
					return fmt.Errorf("delete alarms %v: %w", names, err)
				}
				return nil
			})
		}
	}
	// 3. Firehose, 4. Kinesis.
	if fhExists {
		add(ResFirehose, opts.Name, func(ctx context.Context) error {
			if _, err := deps.Firehose.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String(opts.Name)}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete firehose stream %q: %w", opts.Name, err)
			}
			return nil
		})
	}
	ks, err := deps.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	switch {
	case err == nil && ks.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusDeleting:
		// already on its way out
	case err == nil:
		add(ResStream, stream, func(ctx context.Context) error {
			if _, err := deps.Kinesis.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(stream), EnforceConsumerDeletion: aws.Bool(true)}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete kinesis stream %q: %w", stream, err)
			}
			return nil
		})
	case !isNotFound(err):
		return res, fmt.Errorf("describe kinesis stream %q: %w", stream, err)
	}
	// 5. Log group.
	if deps.Logs != nil {
		lg := "/aws/kinesisfirehose/" + opts.Name
		out, err := deps.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(lg)})
		if err != nil {
			return res, fmt.Errorf("describe log group %q: %w", lg, err)
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) == lg {
				add(ResLogGroup, lg, func(ctx context.Context) error {
					if _, err := deps.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(lg)}); err != nil && !isNotFound(err) {
						return fmt.Errorf("delete log group %q: %w", lg, err)
					}
					return nil
				})
			}
		}
	}
	// 6. Data, 7. the bucket opsctl created for this archive.
	if !opts.KeepData && bucket != "" {
		for _, prefix := range []string{dataPrefix, errPrefix} {
			if prefix == "" {
				continue // never the whole bucket
			}
			n, _, _, err := countObjects(ctx, deps.S3, bucket, prefix, 1)
			if err != nil && !isNotFound(err) {
				return res, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
			}
			if n > 0 {
				add(ResObjects, "s3://"+bucket+"/"+prefix, func(ctx context.Context) error {
					k, err := deleteUnder(ctx, deps, bucket, prefix)
					res.ObjectsDeleted += k
					return err
				})
			}
		}
		tags, err := deps.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
		if err == nil {
			for _, t := range tags.TagSet {
				if aws.ToString(t.Key) == TagBucket && aws.ToString(t.Value) == opts.Name {
					add(ResBucket, bucket, func(ctx context.Context) error {
						if n, _, _, err := countObjects(ctx, deps.S3, bucket, "", 1); err != nil || n > 0 {
							res.Warnings = append(res.Warnings, fmt.Sprintf("bucket %s kept: it holds other objects", bucket))
							return nil
						}
						if _, err := deps.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
							return fmt.Errorf("delete bucket %q: %w", bucket, err)
						}
						return nil
					})
				}
			}
		}
	}
	// 8. Role, last: its inline policy names the bucket and prefix, so a
	// re-run after a failure deleting the objects (the Firehose stream, the
	// other record of them, is gone by then) still knows what to delete.
	if roleExists {
		if roleHasPolicy {
			add(ResRolePolicy, role+"/"+policyName, func(ctx context.Context) error {
				if _, err := deps.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policyName)}); err != nil && !isNotFound(err) {
					return fmt.Errorf("delete policy of role %q: %w", role, err)
				}
				return nil
			})
		}
		add(ResRole, role, func(ctx context.Context) error {
			if _, err := deps.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(role)}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete role %q: %w", role, err)
			}
			return nil
		})
	}
	res.Changes, err = deps.execute(ctx, "remove archive "+opts.Name, steps, opts.DryRun)
	if res.Changes == nil {
		res.Changes = []plan.Change{}
	}
	return res, err
}

// deleteUnder deletes every object under prefix, 1000 per call.
func deleteUnder(ctx context.Context, deps Deps, bucket, prefix string) (int, error) {
	n := 0
	for {
		out, err := deps.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1000)})
		if err != nil {
			return n, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		if len(out.Contents) == 0 {
			return n, nil
		}
		var ids []s3types.ObjectIdentifier
		for _, o := range out.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		del, err := deps.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return n, fmt.Errorf("delete objects under s3://%s/%s: %w", bucket, prefix, err)
		}
		if len(del.Errors) > 0 {
			e := del.Errors[0]
			return n, fmt.Errorf("delete s3://%s/%s: %s: %s", bucket, aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
		n += len(ids)
	}
}

// roleOwned reports whether the role carries opsctl's archive tag for name.
func roleOwned(tags []iamtypes.Tag, name string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagArchive && aws.ToString(t.Value) == name {
			return true
		}
	}
	return false
}

// archivedPrefix reads the bucket and archive prefix from the role policy
// opsctl wrote (PoliciesFor): the Resource of its WriteThisPrefix statement
// is arn:PARTITION:s3:::BUCKET/PREFIX*. ok is false when the statement is
// missing or not of that shape (then nothing is deleted).
func archivedPrefix(doc string) (bucket, prefix string, ok bool) {
	if u, err := url.QueryUnescape(doc); err == nil {
		doc = u
	}
	var p struct {
		Statement []struct {
			Sid      string
			Resource any
		}
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return "", "", false
	}
	for _, st := range p.Statement {
		if st.Sid != "WriteThisPrefix" {
			continue
		}
		res, _ := st.Resource.(string)
		_, rest, found := strings.Cut(res, ":s3:::")
		if !found || !strings.HasSuffix(rest, "*") {
			return "", "", false
		}
		bucket, prefix, found = strings.Cut(strings.TrimSuffix(rest, "*"), "/")
		if !found || prefix == "" || ValidateBucketName(bucket) != nil || strings.ContainsAny(prefix, "*?") {
			return "", "", false
		}
		return bucket, prefix, true
	}
	return "", "", false
}
