package redrive

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
)

// Kinds of dead-letter queue.
const (
	KindSQSRedrive        = "sqs-redrive"        // another queue's RedrivePolicy targets it
	KindLambdaAsyncDLQ    = "lambda-async-dlq"   // a function's DeadLetterConfig
	KindLambdaDestination = "lambda-destination" // a function's on-failure destination
)

// DLQ is one dead-letter queue found by List.
type DLQ struct {
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	ARN      string   `json:"arn"`
	Kinds    []string `json:"kinds"`
	FIFO     bool     `json:"fifo"`
	Depth    int64    `json:"depth"`     // visible messages
	InFlight int64    `json:"in_flight"` // received, not yet deleted
	// OldestAgeSeconds is the age of the oldest message in a sample of up to
	// ten (received with a zero visibility timeout, so nothing is consumed);
	// nil when the queue is empty or was not sampled.
	OldestAgeSeconds *float64 `json:"oldest_age_seconds"`
	Sources          []string `json:"sources"` // source queue names, "lambda:FUNCTION" for functions
	// Alarms watching the queue's depth or age (AWS/SQS metrics); Alarmed is
	// nil when CloudWatch could not be asked.
	Alarms  []string `json:"alarms"`
	Alarmed *bool    `json:"alarmed"`
}

// ListOptions configure List.
type ListOptions struct {
	Prefix   string // only queues whose name starts with this
	NoSample bool   // skip the age sample (no ReceiveMessage at all)
}

// Validate checks the options.
func (o ListOptions) Validate() error {
	if o.Prefix != "" {
		if err := validQueueRef(o.Prefix); err != nil || strings.HasPrefix(o.Prefix, "arn:") || strings.Contains(o.Prefix, "://") {
			return usagef("--prefix %q: want the start of a queue name", o.Prefix)
		}
	}
	return nil
}

// ListResult is the output of List.
type ListResult struct {
	DLQs []DLQ `json:"dlqs"`
	// Incomplete says what could not be looked at (a missing permission),
	// so a missing DLQ is never mistaken for no DLQ.
	Incomplete []string `json:"incomplete,omitempty"`
}

// List finds every dead-letter queue: queues named in other queues'
// RedrivePolicy (completed with ListDeadLetterSourceQueues), Lambda
// functions' DeadLetterConfig and on-failure destinations.
func List(ctx context.Context, deps Deps, opts ListOptions) (ListResult, error) {
	if err := opts.Validate(); err != nil {
		return ListResult{}, err
	}
	log := deps.log()
	byARN := map[string]*queueInfo{}
	var all []*queueInfo
	p := sqs.NewListQueuesPaginator(deps.SQS, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(opts.Prefix), MaxResults: aws.Int32(1000)})
	if opts.Prefix == "" {
		p = sqs.NewListQueuesPaginator(deps.SQS, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return ListResult{}, fmt.Errorf("list queues: %w", err)
		}
		for _, u := range out.QueueUrls {
			q, err := describeURL(ctx, deps.SQS, u)
			if err != nil {
				return ListResult{}, err
			}
			byARN[q.ARN] = q
			all = append(all, q)
		}
	}
	found := map[string]*DLQ{}
	add := func(arn, kind, source string) {
		d := found[arn]
		if d == nil {
			d = &DLQ{ARN: arn}
			found[arn] = d
		}
		if !contains(d.Kinds, kind) {
			d.Kinds = append(d.Kinds, kind)
		}
		if source != "" && !contains(d.Sources, source) {
			d.Sources = append(d.Sources, source)
		}
	}
	for _, q := range all {
		if q.DeadLetterTarget != "" {
			add(q.DeadLetterTarget, KindSQSRedrive, q.Name)
		}
	}
	all2, lambdaErr := discoverLambda(ctx, deps)
	if lambdaErr != nil && ctx.Err() != nil {
		return ListResult{}, ctx.Err()
	}
	for arn, li := range all2 {
		for _, fn := range li.asyncDLQ {
			add(arn, KindLambdaAsyncDLQ, "lambda:"+fn)
		}
		for _, fn := range li.destination {
			add(arn, KindLambdaDestination, "lambda:"+fn)
		}
	}
	var res ListResult
	for arn, d := range found {
		q := byARN[arn]
		if q == nil {
			var err error
			if q, err = describeQueue(ctx, deps.SQS, arn); err != nil {
				log.Warn("dead-letter queue named by a redrive policy or function cannot be read", "arn", arn, "err", err)
				continue
			}
		}
		if opts.Prefix != "" && !strings.HasPrefix(q.Name, opts.Prefix) {
			continue
		}
		d.Name, d.URL, d.FIFO, d.Depth, d.InFlight = q.Name, q.URL, q.FIFO, q.Visible, q.InFlight
		if contains(d.Kinds, KindSQSRedrive) {
			// Sources in other accounts are only visible this way.
			urls, ok, err := sourceQueues(ctx, deps.SQS, q.URL)
			if err != nil {
				return ListResult{}, err
			}
			if ok {
				for _, u := range urls {
					name := u[strings.LastIndexByte(u, '/')+1:]
					if !contains(d.Sources, name) {
						d.Sources = append(d.Sources, name)
					}
				}
			}
		}
		if !opts.NoSample && q.Visible > 0 && q.DeadLetterTarget == "" {
			d.OldestAgeSeconds = sampleOldest(ctx, deps, q)
		}
		if err := alarmsFor(ctx, deps, d); err != nil {
			log.Warn("cannot tell whether an alarm watches the queue", "queue", d.Name, "err", err)
		}
		sort.Strings(d.Sources)
		sort.Strings(d.Kinds)
		res.DLQs = append(res.DLQs, *d)
	}
	sort.Slice(res.DLQs, func(i, j int) bool { return res.DLQs[i].Name < res.DLQs[j].Name })
	if lambdaErr != nil {
		res.Incomplete = append(res.Incomplete, "Lambda dead-letter queues and on-failure destinations are not listed: "+lambdaErr.Error())
		return res, opserr.Partialf("the list is incomplete: %w", lambdaErr)
	}
	return res, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// sampleOldest receives up to ten messages with a zero visibility timeout
// (they stay visible) and returns the age of the oldest.
func sampleOldest(ctx context.Context, deps Deps, q *queueInfo) *float64 {
	// A zero VisibilityTimeout is not sent by the SDK (it is the zero value),
	// so the sample is hidden for one second and released at once.
	out, err := deps.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 1,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
		AttributeNames:              []types.QueueAttributeName{types.QueueAttributeName(types.MessageSystemAttributeNameSentTimestamp)},
	})
	if err != nil {
		deps.log().Debug("age sample failed", "queue", q.Name, "err", err)
		return nil
	}
	mv := newMover(deps, Options{}, modeDryRun, q, nil)
	var oldest int64
	for _, m := range out.Messages {
		mv.held[aws.ToString(m.MessageId)] = aws.ToString(m.ReceiptHandle)
		if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil && (oldest == 0 || ms < oldest) {
			oldest = ms
		}
	}
	mv.releaseHeld(ctx)
	if oldest == 0 {
		return nil
	}
	age := deps.now().Sub(time.UnixMilli(oldest)).Seconds()
	if age < 0 {
		age = 0
	}
	return &age
}

// alarmMetrics are the AWS/SQS metrics whose alarms count as watching a DLQ.
var alarmMetrics = []string{"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}

func alarmsFor(ctx context.Context, deps Deps, d *DLQ) error {
	if deps.CloudWatch == nil {
		return nil
	}
	names := []string{}
	for _, metric := range alarmMetrics {
		out, err := deps.CloudWatch.DescribeAlarmsForMetric(ctx, &cloudwatch.DescribeAlarmsForMetricInput{
			Namespace:  aws.String("AWS/SQS"),
			MetricName: aws.String(metric),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(d.Name)}},
		})
		if err != nil {
			return fmt.Errorf("describe alarms for %s of %s: %w", metric, d.Name, err)
		}
		for _, a := range out.MetricAlarms {
			if n := aws.ToString(a.AlarmName); !contains(names, n) {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	d.Alarms = names
	alarmed := len(names) > 0
	d.Alarmed = &alarmed
	return nil
}

// lambdaIndex says which functions use one queue as a DLQ.
type lambdaIndex struct {
	asyncDLQ    []string // functions whose DeadLetterConfig targets it
	destination []string // functions whose on-failure destination is it
}

// discoverLambda maps SQS queue ARNs to the functions that dead-letter into
// them. Without a Lambda client it finds nothing (tests of SQS-only jobs); an
// error (a missing permission) is returned, never taken for "no functions":
// a Lambda DLQ mistaken for an SQS one would be handed to the native move
// task, which AWS does not support for it.
func discoverLambda(ctx context.Context, deps Deps) (map[string]*lambdaIndex, error) {
	res := map[string]*lambdaIndex{}
	if deps.Lambda == nil {
		return res, nil
	}
	get := func(arn string) *lambdaIndex {
		if res[arn] == nil {
			res[arn] = &lambdaIndex{}
		}
		return res[arn]
	}
	p := lambda.NewListFunctionsPaginator(deps.Lambda, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, lambdaErr("list Lambda functions", "lambda:ListFunctions", err)
		}
		for _, fn := range out.Functions {
			name := aws.ToString(fn.FunctionName)
			if fn.DeadLetterConfig != nil && strings.Contains(aws.ToString(fn.DeadLetterConfig.TargetArn), ":sqs:") {
				li := get(aws.ToString(fn.DeadLetterConfig.TargetArn))
				li.asyncDLQ = append(li.asyncDLQ, name)
			}
			ep := lambda.NewListFunctionEventInvokeConfigsPaginator(deps.Lambda, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String(name)})
			for ep.HasMorePages() {
				eo, err := ep.NextPage(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					return nil, lambdaErr("read the event invoke configs (on-failure destinations) of function "+name, "lambda:ListFunctionEventInvokeConfigs", err)
				}
				for _, c := range eo.FunctionEventInvokeConfigs {
					if c.DestinationConfig == nil || c.DestinationConfig.OnFailure == nil {
						continue
					}
					if dst := aws.ToString(c.DestinationConfig.OnFailure.Destination); strings.Contains(dst, ":sqs:") {
						li := get(dst)
						if !contains(li.destination, name) {
							li.destination = append(li.destination, name)
						}
					}
				}
			}
		}
	}
	return res, nil
}

func lambdaIndexFor(ctx context.Context, deps Deps, dlqARN string) (*lambdaIndex, error) {
	all, err := discoverLambda(ctx, deps)
	if err != nil {
		return nil, err
	}
	if li := all[dlqARN]; li != nil {
		return li, nil
	}
	return &lambdaIndex{}, nil
}

// lambdaErr wraps a Lambda discovery error; a permission error names the
// permission that is missing.
func lambdaErr(what, permission string, err error) error {
	switch awsx.ErrorCode(err) {
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException":
		return fmt.Errorf("%s: permission denied (the role needs %s): %w", what, permission, err)
	}
	return fmt.Errorf("%s (needs %s): %w", what, permission, err)
}
