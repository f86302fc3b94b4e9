// Package alarms keeps CloudWatch alarms that email a person in their desired
// state: log-pattern alarms (metric filter with default value 0 → metric →
// alarm), log alarms (PutLogAlarm over a scheduled Logs query, with matching
// lines in the email, and a least-privilege query role), dead-letter-queue
// alarms, the SNS topic they notify (with a policy that lets only this
// account's CloudWatch alarms publish) and its email subscriptions.
//
// Every mutation is plan → diff → apply: the current state is read first, the
// difference is computed field by field, and only what differs is written, so
// a second identical run makes no write call. A dry run stops after the plan.
//
// The package never prints, exits or reads flags; cmd/opsctl does. The AWS
// clients are narrow interfaces declared here in exact SDK v2 signatures, so
// *cloudwatch.Client, *cloudwatchlogs.Client, *sns.Client, *sqs.Client,
// *iam.Client and *sts.Client satisfy them.
//
// # Stable API for other opsctl packages
//
// EnsureTopic and EnsureMetricAlarm are the building blocks other commands
// (etl archive alarm) use to notify a person about any AWS metric:
//
//	deps := alarms.Deps{CloudWatch: cw, SNS: snsc, STS: stsc, Region: cfg.Region, Log: log}
//	// Name "" is the shared default topic, opsctl-alarms.
//	topic, err := alarms.EnsureTopic(ctx, deps, alarms.TopicSpec{Emails: []string{"ops@example.com"}})
//	// topic.Subscriptions says which addresses still must confirm.
//	changes, err := alarms.EnsureMetricAlarm(ctx, deps, alarms.MetricAlarmSpec{
//		Name: "etl-orders-firehose-errors", Component: "etl-archive",
//		Namespace: "AWS/Firehose", MetricName: "DeliveryToS3.Success",
//		Dimensions: map[string]string{"DeliveryStreamName": "orders"},
//		Statistic: "Minimum", Period: 5 * time.Minute, EvaluationPeriods: 1,
//		Comparison: "LessThanThreshold", Threshold: 1, TreatMissingData: "breaching",
//		TopicARN: topic.ARN,
//	})
//
// Both are idempotent (no write call when nothing differs) and honour DryRun.
package alarms

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/plan"
)

// CloudWatchAPI is the part of CloudWatch the package calls.
type CloudWatchAPI interface {
	PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	PutLogAlarm(ctx context.Context, in *cloudwatch.PutLogAlarmInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutLogAlarmOutput, error)
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
	SetAlarmState(ctx context.Context, in *cloudwatch.SetAlarmStateInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error)
	DescribeAlarmHistory(ctx context.Context, in *cloudwatch.DescribeAlarmHistoryInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmHistoryOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatch.ListTagsForResourceInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListTagsForResourceOutput, error)
	TagResource(ctx context.Context, in *cloudwatch.TagResourceInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.TagResourceOutput, error)
}

// LogsAPI is the part of CloudWatch Logs the package calls.
type LogsAPI interface {
	PutMetricFilter(ctx context.Context, in *cloudwatchlogs.PutMetricFilterInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutMetricFilterOutput, error)
	DescribeMetricFilters(ctx context.Context, in *cloudwatchlogs.DescribeMetricFiltersInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeMetricFiltersOutput, error)
	DeleteMetricFilter(ctx context.Context, in *cloudwatchlogs.DeleteMetricFilterInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteMetricFilterOutput, error)
	TestMetricFilter(ctx context.Context, in *cloudwatchlogs.TestMetricFilterInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.TestMetricFilterOutput, error)
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// SNSAPI is the part of SNS the package calls.
type SNSAPI interface {
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, optFns ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
	CreateTopic(ctx context.Context, in *sns.CreateTopicInput, optFns ...func(*sns.Options)) (*sns.CreateTopicOutput, error)
	DeleteTopic(ctx context.Context, in *sns.DeleteTopicInput, optFns ...func(*sns.Options)) (*sns.DeleteTopicOutput, error)
	GetTopicAttributes(ctx context.Context, in *sns.GetTopicAttributesInput, optFns ...func(*sns.Options)) (*sns.GetTopicAttributesOutput, error)
	SetTopicAttributes(ctx context.Context, in *sns.SetTopicAttributesInput, optFns ...func(*sns.Options)) (*sns.SetTopicAttributesOutput, error)
	ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput, optFns ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	Subscribe(ctx context.Context, in *sns.SubscribeInput, optFns ...func(*sns.Options)) (*sns.SubscribeOutput, error)
	Unsubscribe(ctx context.Context, in *sns.UnsubscribeInput, optFns ...func(*sns.Options)) (*sns.UnsubscribeOutput, error)
	ListTagsForResource(ctx context.Context, in *sns.ListTagsForResourceInput, optFns ...func(*sns.Options)) (*sns.ListTagsForResourceOutput, error)
	TagResource(ctx context.Context, in *sns.TagResourceInput, optFns ...func(*sns.Options)) (*sns.TagResourceOutput, error)
}

// SQSAPI is the part of SQS the package calls (DLQ discovery).
type SQSAPI interface {
	ListQueues(ctx context.Context, in *sqs.ListQueuesInput, optFns ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ListDeadLetterSourceQueues(ctx context.Context, in *sqs.ListDeadLetterSourceQueuesInput, optFns ...func(*sqs.Options)) (*sqs.ListDeadLetterSourceQueuesOutput, error)
}

// IAMAPI is the part of IAM the package calls (the log alarm's query role).
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, optFns ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
}

// STSAPI finds the account (for ARNs and the topic policy): awsx.CallerIdentity.
type STSAPI = awsx.STSAPI

// Deps are the clients and settings the package needs. Each function documents
// which clients it uses; the others may be nil.
type Deps struct {
	CloudWatch CloudWatchAPI
	Logs       LogsAPI
	SNS        SNSAPI
	SQS        SQSAPI
	IAM        IAMAPI
	STS        STSAPI

	// Region is the AWS region the clients call (for ARNs).
	Region string
	// Log receives progress and warnings (default: discard).
	Log *slog.Logger
	// Progress, when set, is called as each resource is applied.
	Progress func(c plan.Change)
	// Clock is what waits (alarm test, IAM propagation retries) sleep on
	// and read; nil is the real clock. Tests pass a clock.Fake.
	Clock clock.Clock
}

// execute runs steps through the plan engine: in order, nothing in a dry
// run, the rest skipped after the first failure (an alarm needs its topic
// and its metric filter), or all skipped when blocked by an earlier failure.
func (d Deps) execute(ctx context.Context, steps []plan.Step, dryRun bool, blocked error) ([]plan.Change, error) {
	return plan.Execute(ctx, steps, plan.Options{DryRun: dryRun, Blocked: blocked, OnChange: d.Progress})
}

func (d Deps) clock() clock.Clock { return clock.Or(d.Clock) }

func (d Deps) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}
