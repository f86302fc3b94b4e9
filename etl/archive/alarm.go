package archive

import (
	"context"
	"fmt"
	"github.com/opsctl/opsctl/internal/plan"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/opserr"
)

// AlarmOptions configure an archive's alarms.
type AlarmOptions struct {
	Name string
	// Emails are subscribed to the topic (at least one).
	Emails []string
	// Topic is the SNS topic (default: the alarms package's shared topic).
	Topic string
	// MaxAge is the freshness threshold: the oldest undelivered record (and
	// Firehose's lag behind Kinesis) may be this old (default: the
	// archive's buffer interval + 15 minutes).
	MaxAge time.Duration
	DryRun bool
}

// Validate checks the options without calling AWS.
func (o AlarmOptions) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if len(o.Emails) == 0 {
		return opserr.Usagef("at least one --email is required")
	}
	if err := alarms.ValidateEmails(o.Emails); err != nil {
		return err
	}
	if o.Topic != "" {
		if err := alarms.ValidateTopicName(o.Topic); err != nil {
			return err
		}
	}
	if o.MaxAge < 0 || (o.MaxAge > 0 && o.MaxAge < time.Minute) {
		return opserr.Usagef("invalid --max-age %s: at least 1m", o.MaxAge)
	}
	return nil
}

// AlarmNames are the CloudWatch alarm names of an archive.
func AlarmNames(name string) (freshness, deliveryErrors, iteratorAge string) {
	base := alarms.AlarmName("etl-archive-" + name)
	return base + "-freshness", base + "-delivery-errors", base + "-iterator-age"
}

// ArchiveAlarm is one alarm and what Alarm did to it.
type ArchiveAlarm struct {
	Name      string        `json:"name"`
	Metric    string        `json:"metric"`
	Condition string        `json:"condition"`
	Changes   []plan.Change `json:"changes"`
}

// AlarmResult is the topic and the alarms of an archive.
type AlarmResult struct {
	Name   string             `json:"name"`
	Topic  alarms.TopicResult `json:"topic"`
	Alarms []ArchiveAlarm     `json:"alarms"`
	DryRun bool               `json:"dry_run"`
}

// AllChanges returns every change of the result, the topic's first.
func (r AlarmResult) AllChanges() []plan.Change {
	out := append([]plan.Change(nil), r.Topic.Changes...)
	for _, a := range r.Alarms {
		out = append(out, a.Changes...)
	}
	return out
}

// Alarm makes the archive's alarms exist: data freshness
// (DeliveryToS3.DataFreshness), delivery errors (DeliveryToS3.Success < 1)
// and Firehose's lag behind Kinesis (GetRecords.IteratorAgeMilliseconds),
// all notifying an SNS topic with the given email subscriptions, through the
// alarms package (plan → diff → apply, no write when nothing differs). Uses
// deps.Firehose to find the archive; ad (CloudWatch, SNS, STS) for the rest.
func Alarm(ctx context.Context, deps Deps, ad alarms.Deps, opts AlarmOptions) (AlarmResult, error) {
	if err := opts.Validate(); err != nil {
		return AlarmResult{}, err
	}
	res := AlarmResult{Name: opts.Name, DryRun: opts.DryRun}
	out, err := deps.Firehose.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(opts.Name)})
	if err != nil {
		if isNotFound(err) {
			return res, fmt.Errorf("archive %q: firehose stream not found; create the archive first", opts.Name)
		}
		return res, fmt.Errorf("describe firehose stream %q: %w", opts.Name, err)
	}
	d := out.DeliveryStreamDescription
	stream := opts.Name
	if d.Source != nil && d.Source.KinesisStreamSourceDescription != nil {
		arn := aws.ToString(d.Source.KinesisStreamSourceDescription.KinesisStreamARN)
		stream = arn[strings.LastIndex(arn, "/")+1:]
	}
	maxAge := opts.MaxAge
	if maxAge == 0 {
		interval := 300 * time.Second
		if len(d.Destinations) > 0 && d.Destinations[0].ExtendedS3DestinationDescription != nil && d.Destinations[0].ExtendedS3DestinationDescription.BufferingHints != nil {
			interval = time.Duration(aws.ToInt32(d.Destinations[0].ExtendedS3DestinationDescription.BufferingHints.IntervalInSeconds)) * time.Second
		}
		maxAge = interval + 15*time.Minute
	}
	topic, err := alarms.EnsureTopic(ctx, ad, alarms.TopicSpec{Name: opts.Topic, Emails: opts.Emails, Component: Component, DryRun: opts.DryRun})
	res.Topic = topic
	if err != nil {
		return res, fmt.Errorf("alarm topic: %w", err)
	}
	topicARN := topic.ARN // known in a dry run too: EnsureTopic derives it
	fresh, errs, iter := AlarmNames(opts.Name)
	fh := map[string]string{"DeliveryStreamName": opts.Name}
	specs := []alarms.MetricAlarmSpec{
		{Name: fresh, Description: fmt.Sprintf("opsctl etl archive %s: records wait more than %s to reach S3", opts.Name, maxAge),
			Namespace: "AWS/Firehose", MetricName: "DeliveryToS3.DataFreshness", Dimensions: fh, Statistic: "Maximum",
			Period: 5 * time.Minute, EvaluationPeriods: 1, Comparison: "GreaterThanThreshold", Threshold: maxAge.Seconds()},
		{Name: errs, Description: fmt.Sprintf("opsctl etl archive %s: Firehose failed to write to S3 (records pile up, then go to the error prefix)", opts.Name),
			Namespace: "AWS/Firehose", MetricName: "DeliveryToS3.Success", Dimensions: fh, Statistic: "Minimum",
			Period: 5 * time.Minute, EvaluationPeriods: 1, Comparison: "LessThanThreshold", Threshold: 1},
		{Name: iter, Description: fmt.Sprintf("opsctl etl archive %s: Firehose lags more than %s behind Kinesis stream %s", opts.Name, maxAge, stream),
			Namespace: "AWS/Kinesis", MetricName: "GetRecords.IteratorAgeMilliseconds", Dimensions: map[string]string{"StreamName": stream}, Statistic: "Maximum",
			Period: 5 * time.Minute, EvaluationPeriods: 1, Comparison: "GreaterThanThreshold", Threshold: float64(maxAge.Milliseconds())},
	}
	cond := []string{fmt.Sprintf("max > %s for 5m", maxAge), "min < 1 for 5m", fmt.Sprintf("max > %s for 5m", maxAge)}
	for i, s := range specs {
		s.TopicARN, s.Component, s.DryRun = topicARN, Component, opts.DryRun
		changes, err := alarms.EnsureMetricAlarm(ctx, ad, s)
		res.Alarms = append(res.Alarms, ArchiveAlarm{Name: s.Name, Metric: s.Namespace + " " + s.MetricName, Condition: cond[i], Changes: changes})
		if err != nil {
			return res, fmt.Errorf("alarm %q: %w", s.Name, err)
		}
	}
	return res, nil
}
