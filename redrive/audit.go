package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
)

// Kinds of audit finding.
const (
	FindingQueue        = "queue-without-dlq"                   // a consumer queue with no RedrivePolicy
	FindingFunction     = "function-without-dlq"                // async invokes with neither DLQ nor on-failure destination
	FindingSubscription = "subscription-without-redrive-policy" // SNS drops what it cannot deliver
)

// Finding is one consumer without a dead-letter queue, and the command that
// gives it one.
type Finding struct {
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	ARN      string `json:"arn"`
	Detail   string `json:"detail"`
	Fix      string `json:"fix"`
}

// AuditOptions configure Audit.
type AuditOptions struct {
	Prefix string // only queues and functions whose name starts with this
}

// Validate checks the options.
func (o AuditOptions) Validate() error {
	if o.Prefix != "" {
		if err := validQueueRef(o.Prefix); err != nil || strings.HasPrefix(o.Prefix, "arn:") || strings.Contains(o.Prefix, "://") {
			return usagef("--prefix %q: want the start of a name", o.Prefix)
		}
	}
	return nil
}

// AuditResult lists what Audit found.
type AuditResult struct {
	Findings      []Finding `json:"findings"`
	Queues        int       `json:"queues_checked"`
	Functions     int       `json:"functions_checked"`
	Subscriptions int       `json:"subscriptions_checked"`
	// Incomplete says what could not be looked at, so a gap is never read
	// as "nothing found".
	Incomplete []string `json:"incomplete,omitempty"`
	// Notes are gaps that hide no finding.
	Notes []string `json:"notes,omitempty"`
}

// Outcome is the error to exit with after printing: partial (exit 3) when
// anything was found or could not be checked.
func (r AuditResult) Outcome() error {
	switch {
	case len(r.Findings) > 0:
		return opserr.Partialf("%d consumers without a dead-letter queue; each finding names the command that fixes it", len(r.Findings))
	case len(r.Incomplete) > 0:
		return opserr.Partialf("the audit is incomplete: %s", strings.Join(r.Incomplete, "; "))
	}
	return nil
}

// asyncPrincipals are the services that invoke a function asynchronously
// (Lambda developer guide, "Invoking a Lambda function asynchronously": S3,
// SNS, EventBridge, Scheduler, CloudWatch Logs, SES, IoT, CodeCommit, ...).
var asyncPrincipals = []string{"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com",
	"logs.amazonaws.com", "ses.amazonaws.com", "iot.amazonaws.com", "codecommit.amazonaws.com", "config.amazonaws.com",
	"cloudformation.amazonaws.com", "lex.amazonaws.com"}

// Audit finds consumers without a dead-letter queue: queues that are not
// DLQs and have no RedrivePolicy (naming the functions whose event source
// mappings consume them), functions invoked asynchronously with neither a
// DLQ nor an on-failure destination, and SNS subscriptions without a redrive
// policy. It only reads.
func Audit(ctx context.Context, deps Deps, opts AuditOptions) (AuditResult, error) {
	if err := opts.Validate(); err != nil {
		return AuditResult{}, err
	}
	res := AuditResult{Findings: []Finding{}}
	var queues []*queueInfo
	dlqs := map[string]bool{}
	p := sqs.NewListQueuesPaginator(deps.SQS, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("list queues: %w", err)
		}
		for _, u := range out.QueueUrls {
			q, err := describeURL(ctx, deps.SQS, u)
			if err != nil {
				return res, err
			}
			queues = append(queues, q)
			if q.DeadLetterTarget != "" {
				dlqs[q.DeadLetterTarget] = true
			}
		}
	}
	// Lambda: DLQs and destinations are DLQs too; mappings say who consumes a queue.
	consumers := map[string][]string{} // queue ARN → functions
	if deps.Lambda != nil {
		idx, err := discoverLambda(ctx, deps)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Incomplete = append(res.Incomplete, "Lambda functions not checked: "+err.Error())
		}
		for arn := range idx {
			dlqs[arn] = true
		}
		mp := lambda.NewListEventSourceMappingsPaginator(deps.Lambda, &lambda.ListEventSourceMappingsInput{})
		for mp.HasMorePages() {
			out, err := mp.NextPage(ctx)
			if err != nil {
				// Only the "consumed by" detail depends on the mappings: every
				// queue without a RedrivePolicy is reported either way.
				if !isUnsupported(err) {
					res.Notes = append(res.Notes, "findings do not say which functions consume each queue: "+lambdaErr("list event source mappings", "lambda:ListEventSourceMappings", err).Error())
				}
				break
			}
			for _, m := range out.EventSourceMappings {
				src := aws.ToString(m.EventSourceArn)
				if fn := aws.ToString(m.FunctionArn); strings.Contains(src, ":sqs:") {
					consumers[src] = append(consumers[src], fn[strings.LastIndexByte(fn, ':')+1:])
				}
			}
		}
		if err == nil {
			if err := auditFunctions(ctx, deps, opts, &res); err != nil {
				return res, err
			}
		}
	}
	for _, q := range queues {
		if opts.Prefix != "" && !strings.HasPrefix(q.Name, opts.Prefix) {
			continue
		}
		res.Queues++
		if q.DeadLetterTarget != "" || dlqs[q.ARN] {
			continue
		}
		if _, isDLQ := isDLQ(ctx, deps, q); isDLQ {
			continue
		}
		f := Finding{Kind: FindingQueue, Resource: q.Name, ARN: q.ARN, Fix: "opsctl dlq add " + q.Name,
			Detail: "no RedrivePolicy: a message its consumer keeps failing on is retried until it expires, then lost"}
		if fns := consumers[q.ARN]; len(fns) > 0 {
			sort.Strings(fns)
			f.Detail = "consumed by Lambda (" + strings.Join(fns, ", ") + ") through an event source mapping, and " + f.Detail
		}
		res.Findings = append(res.Findings, f)
	}
	if deps.SNS != nil {
		if err := auditSubscriptions(ctx, deps, &res); err != nil {
			return res, err
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		if res.Findings[i].Kind != res.Findings[j].Kind {
			return res.Findings[i].Kind < res.Findings[j].Kind
		}
		return res.Findings[i].Resource < res.Findings[j].Resource
	})
	return res, nil
}

func auditFunctions(ctx context.Context, deps Deps, opts AuditOptions, res *AuditResult) error {
	p := lambda.NewListFunctionsPaginator(deps.Lambda, &lambda.ListFunctionsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return lambdaErr("list Lambda functions", "lambda:ListFunctions", err)
		}
		for _, fn := range out.Functions {
			name := aws.ToString(fn.FunctionName)
			if opts.Prefix != "" && !strings.HasPrefix(name, opts.Prefix) {
				continue
			}
			res.Functions++
			if fn.DeadLetterConfig != nil && aws.ToString(fn.DeadLetterConfig.TargetArn) != "" {
				continue
			}
			eic, err := deps.Lambda.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
			switch {
			case err == nil && eic.DestinationConfig != nil && eic.DestinationConfig.OnFailure != nil && aws.ToString(eic.DestinationConfig.OnFailure.Destination) != "":
				continue // failures go to the destination
			case err != nil && awsx.ErrorCode(err) != "ResourceNotFoundException":
				return lambdaErr("read the event invoke config of "+name, "lambda:GetFunctionEventInvokeConfig", err)
			}
			why := ""
			switch invoker, known := asyncInvoker(ctx, deps, name); {
			case err == nil:
				why = "it has an event invoke config (asynchronous invokes)"
			case invoker != "":
				why = "its resource policy lets " + invoker + " invoke it asynchronously"
			case !known:
				why = "its resource policy could not be read, so it may be invoked asynchronously"
			default:
				continue // not invoked asynchronously: failures are its callers' to handle
			}
			res.Findings = append(res.Findings, Finding{Kind: FindingFunction, Resource: name, ARN: aws.ToString(fn.FunctionArn),
				Fix:    "opsctl dlq add --lambda " + name,
				Detail: why + ", with neither a dead-letter queue nor an on-failure destination: an event that fails every retry is dropped"})
		}
	}
	return nil
}

// asyncInvoker returns the service whose permission in the function's
// resource policy invokes it asynchronously ("" for none); known is false
// when the policy could not be read.
func asyncInvoker(ctx context.Context, deps Deps, name string) (invoker string, known bool) {
	out, err := deps.Lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", awsx.ErrorCode(err) == "ResourceNotFoundException" // no policy at all
	}
	var doc struct {
		Statement []struct {
			Principal json.RawMessage `json:"Principal"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc) != nil {
		return "", false
	}
	for _, st := range doc.Statement {
		for _, svc := range asyncPrincipals {
			if strings.Contains(string(st.Principal), svc) {
				return svc, true
			}
		}
	}
	return "", true
}

func auditSubscriptions(ctx context.Context, deps Deps, res *AuditResult) error {
	p := sns.NewListSubscriptionsPaginator(deps.SNS, &sns.ListSubscriptionsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			if isUnsupported(err) {
				res.Incomplete = append(res.Incomplete, "SNS subscriptions not checked: the endpoint does not offer ListSubscriptions")
				return nil
			}
			return fmt.Errorf("list SNS subscriptions (needs sns:ListSubscriptions): %w", err)
		}
		for _, s := range out.Subscriptions {
			arn := aws.ToString(s.SubscriptionArn)
			if !strings.HasPrefix(arn, "arn:") { // PendingConfirmation, Deleted
				continue
			}
			res.Subscriptions++
			ao, err := deps.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
			if err != nil {
				return fmt.Errorf("read subscription %s (needs sns:GetSubscriptionAttributes): %w", arn, err)
			}
			if ao.Attributes["RedrivePolicy"] != "" {
				continue
			}
			topic := aws.ToString(s.TopicArn)
			topicName := topic[strings.LastIndexByte(topic, ':')+1:]
			endpoint := aws.ToString(s.Endpoint)
			dlqName := dlqNameFor(topicName + "-" + aws.ToString(s.Protocol) + "-sub")
			parts := strings.Split(topic, ":")
			dlqARN := dlqName
			if len(parts) == 6 {
				dlqARN = fmt.Sprintf("arn:%s:sqs:%s:%s:%s", parts[1], parts[3], parts[4], dlqName)
			}
			res.Findings = append(res.Findings, Finding{Kind: FindingSubscription, Resource: topicName + " → " + aws.ToString(s.Protocol) + ":" + endpoint, ARN: arn,
				Detail: "no RedrivePolicy: SNS drops a message it cannot deliver once its delivery retries are used up (SNS developer guide, \"Amazon SNS dead-letter queues\")",
				Fix: fmt.Sprintf("aws sqs create-queue --queue-name %s --attributes MessageRetentionPeriod=%s && aws sns set-subscription-attributes --subscription-arn %s --attribute-name RedrivePolicy --attribute-value '{\"deadLetterTargetArn\":\"%s\"}' (the DLQ's policy must let sns.amazonaws.com send to it)",
					dlqName, dlqRetention, arn, dlqARN)})
		}
	}
	return nil
}
