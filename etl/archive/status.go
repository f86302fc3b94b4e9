package archive

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/opserr"
)

// StatusOptions select the archives to check.
type StatusOptions struct {
	// Name of one archive; "" checks every archive opsctl created (Firehose
	// streams tagged opsctl:archive).
	Name string
	// MaxAge is how old the newest delivered object (and Firehose's data
	// freshness, and the Kinesis iterator age) may be before the archive is
	// unhealthy (default 6h).
	MaxAge time.Duration
	// MaxErrorObjects caps how many error objects are counted (default 1000).
	MaxErrorObjects int
}

// Validate checks the options.
func (o StatusOptions) Validate() error {
	if o.Name != "" {
		if err := ValidateName(o.Name); err != nil {
			return err
		}
	}
	if o.MaxAge < 0 {
		return opserr.Usagef("invalid --max-age %s: must be positive", o.MaxAge)
	}
	return nil
}

// ArchiveStatus is the health of one archive.
type ArchiveStatus struct {
	Name           string `json:"name"`
	Source         string `json:"source,omitempty"`
	Stream         string `json:"stream"`
	StreamStatus   string `json:"stream_status"`
	DeliveryStream string `json:"delivery_stream"`
	DeliveryStatus string `json:"delivery_status"`
	// IteratorAgeMs is Kinesis' GetRecords.IteratorAgeMilliseconds (max of
	// the last 15 minutes): how far Firehose lags behind the stream.
	IteratorAgeMs *float64 `json:"iterator_age_ms"`
	// DataFreshnessSeconds is Firehose's DeliveryToS3.DataFreshness (max of
	// the last 15 minutes): the age of the oldest record not yet in S3.
	DataFreshnessSeconds *float64   `json:"data_freshness_seconds"`
	Bucket               string     `json:"bucket"`
	DataPrefix           string     `json:"data_prefix"`
	ErrorPrefix          string     `json:"error_prefix"`
	NewestObject         string     `json:"newest_object,omitempty"`
	NewestObjectTime     *time.Time `json:"newest_object_time,omitempty"`
	NewestObjectAgeSec   *float64   `json:"newest_object_age_seconds,omitempty"`
	ErrorObjects         int        `json:"error_objects"`
	// ErrorObjectsCapped: there are at least ErrorObjects.
	ErrorObjectsCapped bool   `json:"error_objects_capped,omitempty"`
	NewestErrorObject  string `json:"newest_error_object,omitempty"`
	// Healthy is true only when every check ran and found nothing wrong.
	Healthy bool `json:"healthy"`
	// Health is "healthy", "unhealthy" (a problem was found) or "unknown"
	// (no problem found, but something could not be checked).
	Health   string   `json:"health"`
	Problems []string `json:"problems,omitempty"`
	// Unchecked lists what could not be checked and why (metrics that
	// cannot be read, AccessDenied on a listing, ...): an archive with
	// unchecked parts is never reported healthy.
	Unchecked []string `json:"unchecked,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Health values.
const (
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
	HealthUnknown   = "unknown"
)

// StatusResult is every checked archive.
type StatusResult struct {
	Archives []ArchiveStatus `json:"archives"`
	Healthy  bool            `json:"healthy"`
}

// Unhealthy returns the names of the archives with a problem.
func (r StatusResult) Unhealthy() []string { return r.with(HealthUnhealthy) }

// Unknown returns the names of the archives without a problem found but
// with something that could not be checked.
func (r StatusResult) Unknown() []string { return r.with(HealthUnknown) }

func (r StatusResult) with(health string) []string {
	var out []string
	for _, a := range r.Archives {
		if a.Health == health {
			out = append(out, a.Name)
		}
	}
	return out
}

// Status checks archives. Uses Firehose, Kinesis, S3 and CloudWatch. A
// check that cannot run (CloudWatch nil or refusing, AccessDenied on a
// listing, ...) is listed in Unchecked and the archive is not healthy; only
// a cancelled context or a failure to list the archives is an error.
func Status(ctx context.Context, deps Deps, opts StatusOptions) (StatusResult, error) {
	if err := opts.Validate(); err != nil {
		return StatusResult{}, err
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = 6 * time.Hour
	}
	if opts.MaxErrorObjects <= 0 {
		opts.MaxErrorObjects = 1000
	}
	names := []string{opts.Name}
	if opts.Name == "" {
		var err error
		if names, err = listArchives(ctx, deps); err != nil {
			return StatusResult{}, err
		}
	}
	res := StatusResult{Archives: []ArchiveStatus{}, Healthy: true}
	for _, name := range names {
		st, err := statusOf(ctx, deps, name, opts)
		if err != nil {
			return res, err
		}
		res.Archives = append(res.Archives, st)
		res.Healthy = res.Healthy && st.Healthy
	}
	return res, nil
}

// listArchives returns the Firehose streams tagged opsctl:archive, sorted.
func listArchives(ctx context.Context, deps Deps) ([]string, error) {
	var names []string
	in := &firehose.ListDeliveryStreamsInput{Limit: aws.Int32(100)}
	for {
		out, err := deps.Firehose.ListDeliveryStreams(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list firehose streams: %w", err)
		}
		for _, n := range out.DeliveryStreamNames {
			tags, err := deps.Firehose.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String(n)})
			if err != nil {
				if isNotFound(err) {
					continue // deleted meanwhile
				}
				return nil, fmt.Errorf("list tags of firehose stream %q: %w", n, err)
			}
			for _, t := range tags.Tags {
				if aws.ToString(t.Key) == TagArchive {
					names = append(names, n)
				}
			}
		}
		if !aws.ToBool(out.HasMoreDeliveryStreams) || len(out.DeliveryStreamNames) == 0 {
			break
		}
		in = &firehose.ListDeliveryStreamsInput{Limit: aws.Int32(100), ExclusiveStartDeliveryStreamName: aws.String(out.DeliveryStreamNames[len(out.DeliveryStreamNames)-1])}
	}
	sort.Strings(names)
	return names, nil
}

// staticPrefix is a Firehose prefix up to its first expression.
func staticPrefix(p string) string {
	if i := strings.Index(p, "!{"); i >= 0 {
		return p[:i]
	}
	return p
}

func statusOf(ctx context.Context, deps Deps, name string, opts StatusOptions) (ArchiveStatus, error) {
	st := ArchiveStatus{Name: name, DeliveryStream: name, Stream: name}
	problem := func(format string, args ...any) { st.Problems = append(st.Problems, fmt.Sprintf(format, args...)) }
	unchecked := func(what string, err error) { st.Unchecked = append(st.Unchecked, what+": "+err.Error()) }
	out, err := deps.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
	if err != nil {
		if ctx.Err() != nil {
			return st, fmt.Errorf("describe firehose stream %q: %w", name, err)
		}
		if isNotFound(err) {
			st.DeliveryStatus = "MISSING"
			problem("firehose stream %s does not exist (create the archive: opsctl etl archive create %s ...)", name, name)
			return finish(st), nil
		}
		st.DeliveryStatus = "UNKNOWN"
		unchecked("the firehose stream, and with it the stream, bucket and prefixes (describe firehose stream)", err)
		return finish(st), nil
	}
	d := out.DeliveryStreamDescription
	st.DeliveryStatus = string(d.DeliveryStreamStatus)
	if d.DeliveryStreamStatus != fhtypes.DeliveryStreamStatusActive {
		problem("firehose stream is %s, not ACTIVE", d.DeliveryStreamStatus)
	}
	if d.Source != nil && d.Source.KinesisStreamSourceDescription != nil {
		arn := aws.ToString(d.Source.KinesisStreamSourceDescription.KinesisStreamARN)
		st.Stream = arn[strings.LastIndex(arn, "/")+1:]
	}
	var dest *fhtypes.ExtendedS3DestinationDescription
	if len(d.Destinations) > 0 {
		dest = d.Destinations[0].ExtendedS3DestinationDescription
	}
	if dest == nil {
		problem("firehose stream has no S3 destination")
		return finish(st), nil
	}
	st.Bucket = strings.TrimPrefix(aws.ToString(dest.BucketARN), "arn:aws:s3:::")
	if i := strings.LastIndex(st.Bucket, ":::"); i >= 0 {
		st.Bucket = st.Bucket[i+3:]
	}
	st.DataPrefix = staticPrefix(aws.ToString(dest.Prefix))
	st.ErrorPrefix = staticPrefix(aws.ToString(dest.ErrorOutputPrefix))
	if tags, err := deps.Firehose.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String(name)}); err == nil {
		for _, t := range tags.Tags {
			if aws.ToString(t.Key) == TagSource {
				st.Source = aws.ToString(t.Value)
			}
		}
	} else if ctx.Err() == nil {
		st.Warnings = append(st.Warnings, "source not read (list tags of firehose stream): "+err.Error())
	}
	if !hasDelimiter(dest.ProcessingConfiguration) {
		problem("records are written without a newline delimiter (re-run create to fix)")
	}
	// Kinesis.
	ks, err := deps.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(st.Stream)})
	switch {
	case err != nil && ctx.Err() != nil:
		return st, fmt.Errorf("describe kinesis stream %q: %w", st.Stream, err)
	case err != nil && isNotFound(err):
		st.StreamStatus = "MISSING"
		problem("kinesis stream %s does not exist", st.Stream)
	case err != nil:
		st.StreamStatus = "UNKNOWN"
		unchecked("kinesis stream "+st.Stream+" (describe stream)", err)
	default:
		st.StreamStatus = string(ks.StreamDescriptionSummary.StreamStatus)
		if s := st.StreamStatus; s != "ACTIVE" && s != "UPDATING" {
			problem("kinesis stream is %s", s)
		}
	}
	// Metrics.
	now := deps.now()
	st.IteratorAgeMs, st.DataFreshnessSeconds = metrics(ctx, deps, &st, now)
	if v := st.IteratorAgeMs; v != nil && time.Duration(*v)*time.Millisecond > opts.MaxAge {
		problem("Firehose lags %s behind the Kinesis stream (IteratorAge > %s): records expire from the stream after its retention", time.Duration(*v)*time.Millisecond, opts.MaxAge)
	}
	if v := st.DataFreshnessSeconds; v != nil && time.Duration(*v*float64(time.Second)) > opts.MaxAge {
		problem("the oldest undelivered record is %s old (DeliveryToS3.DataFreshness > %s)", time.Duration(*v*float64(time.Second)).Round(time.Second), opts.MaxAge)
	}
	// Objects.
	key, t, err := newestObject(ctx, deps.S3, st.Bucket, st.DataPrefix)
	switch {
	case err != nil && ctx.Err() != nil:
		return st, fmt.Errorf("list s3://%s/%s: %w", st.Bucket, st.DataPrefix, err)
	case err != nil && isNotFound(err):
		problem("bucket %s does not exist", st.Bucket)
		return finish(st), nil
	case err != nil:
		unchecked(fmt.Sprintf("the newest delivered object (list s3://%s/%s)", st.Bucket, st.DataPrefix), err)
	case key != "":
		age := now.Sub(t)
		ageSec := age.Seconds()
		st.NewestObject, st.NewestObjectTime, st.NewestObjectAgeSec = key, &t, &ageSec
		if age > opts.MaxAge {
			problem("stale: the newest object is %s old (more than --max-age %s)", age.Round(time.Second), opts.MaxAge)
		}
	case !aws.ToTime(d.CreateTimestamp).IsZero() && now.Sub(aws.ToTime(d.CreateTimestamp)) > opts.MaxAge:
		problem("stale: nothing delivered in the %s since the archive was created", now.Sub(aws.ToTime(d.CreateTimestamp)).Round(time.Second))
	default:
		st.Warnings = append(st.Warnings, "no object delivered yet")
	}
	n, capped, newestErr, err := countObjects(ctx, deps.S3, st.Bucket, st.ErrorPrefix, opts.MaxErrorObjects)
	if err != nil {
		if ctx.Err() != nil {
			return st, fmt.Errorf("list s3://%s/%s: %w", st.Bucket, st.ErrorPrefix, err)
		}
		unchecked(fmt.Sprintf("the error objects (list s3://%s/%s)", st.Bucket, st.ErrorPrefix), err)
		return finish(st), nil
	}
	st.ErrorObjects, st.ErrorObjectsCapped, st.NewestErrorObject = n, capped, newestErr
	if n > 0 {
		more := ""
		if capped {
			more = "at least "
		}
		problem("%s%d object(s) under s3://%s/%s: records Firehose could not deliver; they are missing from the archive until handled", more, n, st.Bucket, st.ErrorPrefix)
	}
	return finish(st), nil
}

func finish(st ArchiveStatus) ArchiveStatus {
	switch {
	case len(st.Problems) > 0:
		st.Health = HealthUnhealthy
	case len(st.Unchecked) > 0:
		st.Health = HealthUnknown
	default:
		st.Health = HealthHealthy
	}
	st.Healthy = st.Health == HealthHealthy
	return st
}

// metricsUnchecked names what is unknown when the metrics cannot be read.
const metricsUnchecked = "Kinesis IteratorAge and Firehose DeliveryToS3.DataFreshness (CloudWatch GetMetricData)"

// metrics reads the latest IteratorAge and DataFreshness of the last 15
// minutes; nil when there is no datapoint (a new archive). When CloudWatch
// is unavailable or refuses, the metrics are listed as unchecked.
func metrics(ctx context.Context, deps Deps, st *ArchiveStatus, now time.Time) (iterAge, freshness *float64) {
	if deps.CloudWatch == nil {
		st.Unchecked = append(st.Unchecked, metricsUnchecked+": no CloudWatch client")
		return nil, nil
	}
	q := func(id, ns, metric, dim, val string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(val)}}},
			Period: aws.Int32(60), Stat: aws.String("Maximum")}}
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-15 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
		ScanBy: cwtypes.ScanByTimestampDescending,
		MetricDataQueries: []cwtypes.MetricDataQuery{
			q("iterator_age", "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", st.Stream),
			q("freshness", "AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", st.DeliveryStream),
		},
	}
	for {
		out, err := deps.CloudWatch.GetMetricData(ctx, in)
		if err != nil {
			st.Unchecked = append(st.Unchecked, metricsUnchecked+": "+err.Error())
			return nil, nil
		}
		for _, r := range out.MetricDataResults {
			if len(r.Values) == 0 {
				continue
			}
			v := r.Values[0] // newest first
			switch aws.ToString(r.Id) {
			case "iterator_age":
				if iterAge == nil {
					iterAge = &v
				}
			case "freshness":
				if freshness == nil {
					freshness = &v
				}
			}
		}
		if out.NextToken == nil {
			return iterAge, freshness
		}
		in.NextToken = out.NextToken
	}
}

// newestObject finds the newest object under prefix. Firehose keys are
// time-ordered (…/yyyy/MM/dd/HH/stream-version-yyyy-MM-dd-HH-mm-ss-…), so it
// descends into the greatest sub-prefix at each level instead of listing
// the whole archive.
func newestObject(ctx context.Context, c S3API, bucket, prefix string) (string, time.Time, error) {
	var bestKey string
	var best time.Time
	for depth := 0; depth < 10; depth++ {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
		maxPrefix := ""
		for {
			out, err := c.ListObjectsV2(ctx, in)
			if err != nil {
				return "", time.Time{}, err
			}
			for _, o := range out.Contents {
				if t := aws.ToTime(o.LastModified); bestKey == "" || t.After(best) {
					bestKey, best = aws.ToString(o.Key), t
				}
			}
			for _, cp := range out.CommonPrefixes {
				if p := aws.ToString(cp.Prefix); p > maxPrefix {
					maxPrefix = p
				}
			}
			if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
				break
			}
			in.ContinuationToken = out.NextContinuationToken
		}
		if maxPrefix == "" {
			break
		}
		prefix = maxPrefix
	}
	return bestKey, best, nil
}

// countObjects counts objects under prefix, up to limit.
func countObjects(ctx context.Context, c S3API, bucket, prefix string, limit int) (n int, capped bool, newest string, err error) {
	var newestT time.Time
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	for {
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			return n, false, newest, err
		}
		for _, o := range out.Contents {
			n++
			if t := aws.ToTime(o.LastModified); newest == "" || t.After(newestT) {
				newest, newestT = aws.ToString(o.Key), t
			}
			if n >= limit {
				return n, true, newest, nil
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return n, false, newest, nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}
