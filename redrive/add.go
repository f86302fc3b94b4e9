package redrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// dlqRetention is the DLQ's MessageRetentionPeriod: SQS's maximum, 14 days
// (botocore sqs service-2.json SetQueueAttributes: 60 to 1,209,600 seconds),
// so a failure waits as long as SQS allows for someone to look at it.
const dlqRetention = "1209600"

// AlarmFunc puts the DLQ alarm (ApproximateNumberOfMessagesVisible > 0) on
// queue through the alarms library, notifying emails; cmd/opsctl wires it to
// alarms.AddDLQ. It returns the changes it planned or applied.
type AlarmFunc func(ctx context.Context, queue string, emails []string, dryRun bool) ([]plan.Change, error)

// AddOptions configure Add.
type AddOptions struct {
	Queue      string   // the consumer's queue (name, URL or ARN), or
	Lambda     string   // the function (name or ARN) invoked asynchronously
	MaxReceive int      // receives before SQS moves a message to the DLQ (0: keep the source's, else 5)
	Emails     []string // notified by the DLQ alarm
	DryRun     bool
}

// Validate checks the options without calling AWS.
func (o *AddOptions) Validate() error {
	switch {
	case (o.Queue == "") == (o.Lambda == ""):
		return opserr.Usagef("name a QUEUE or pass --lambda FUNCTION (one of them)")
	case o.Queue != "":
		if err := validQueueRef(o.Queue); err != nil {
			return opserr.Usagef("QUEUE: %v", err)
		}
	default:
		if err := validFunctionRef(o.Lambda); err != nil {
			return opserr.Usagef("--lambda %v", err)
		}
	}
	// botocore sqs service-2.json (SetQueueAttributes, RedrivePolicy) and the
	// SQS developer guide: maxReceiveCount is 1 to 1,000.
	if o.MaxReceive < 0 || o.MaxReceive > 1000 {
		return opserr.Usagef("--max-receive must be between 1 and 1000, got %d", o.MaxReceive)
	}
	for _, e := range o.Emails {
		if at := strings.IndexByte(e, '@'); at < 1 || at == len(e)-1 || strings.ContainsAny(e, " ,;<>") {
			return opserr.Usagef("--email %q: want an address such as ops@example.com", e)
		}
	}
	return nil
}

// AddResult is what Add planned or did.
type AddResult struct {
	Source  string        `json:"source"` // queue name or "lambda:FUNCTION"
	DLQ     string        `json:"dlq"`
	DLQARN  string        `json:"dlq_arn"`
	DryRun  bool          `json:"dry_run"`
	Changes []plan.Change `json:"changes"`
	Notes   []string      `json:"notes,omitempty"`
}

// Add gives a consumer a dead-letter queue: for a queue, a DLQ (14-day
// retention, FIFO when the source is, the source's encryption) whose
// RedriveAllowPolicy admits only its sources, and the source's
// RedrivePolicy; for a Lambda function, a DLQ as its on-failure destination
// for asynchronous invokes. Then the DLQ alarm through deps.Alarm. It reads
// the live state first and writes only what differs (plan → diff → apply),
// so a re-run writes nothing; with DryRun it writes nothing at all.
func Add(ctx context.Context, deps Deps, opts AddOptions) (AddResult, error) {
	if err := opts.Validate(); err != nil {
		return AddResult{}, err
	}
	var (
		res   AddResult
		steps []plan.Step
		err   error
		dlq   *queueInfo // nil until it exists
	)
	res.DryRun = opts.DryRun
	if opts.Queue != "" {
		steps, dlq, err = planQueueDLQ(ctx, deps, opts, &res)
	} else {
		steps, dlq, err = planLambdaDLQ(ctx, deps, opts, &res)
	}
	if err != nil {
		return res, err
	}
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: opts.DryRun, Log: deps.Log})
	res.Changes = changes
	if err != nil {
		return res, fmt.Errorf("add a dead-letter queue for %s: %w", res.Source, err)
	}
	if deps.Alarm == nil {
		return res, nil
	}
	if dlq == nil && opts.DryRun { // the alarm is planned once the DLQ exists
		res.Changes = append(res.Changes, plan.Change{Resource: "alarm", Name: "DLQ alarm on " + res.DLQ, Action: plan.ActionCreate, Status: plan.StatusPlanned})
		return res, nil
	}
	ac, err := deps.Alarm(ctx, res.DLQ, opts.Emails, opts.DryRun)
	res.Changes = append(res.Changes, ac...)
	if err != nil {
		return res, fmt.Errorf("alarm on %s: %w", res.DLQ, err)
	}
	return res, nil
}

// queueAttrs reads every attribute of a queue.
func queueAttrs(ctx context.Context, api SQSAPI, url string) (map[string]string, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		return nil, fmt.Errorf("read attributes of queue %s: %w", url, err)
	}
	return out.Attributes, nil
}

// findQueue returns the URL of the queue called name, or "" when there is none.
func findQueue(ctx context.Context, api SQSAPI, name string) (string, error) {
	out, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		switch awsx.ErrorCode(err) {
		case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist":
			return "", nil
		}
		return "", fmt.Errorf("find queue %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// dlqNameFor is the name opsctl gives a new DLQ: NAME-dlq (NAME-dlq.fifo),
// within SQS's 80 characters.
func dlqNameFor(name string) string {
	base, fifo := strings.CutSuffix(name, ".fifo")
	suffix := "-dlq"
	if fifo {
		suffix += ".fifo"
	}
	if len(base)+len(suffix) > 80 {
		base = base[:80-len(suffix)]
	}
	return base + suffix
}

// encryptionAttrs are the source attributes a new DLQ copies.
var encryptionAttrs = []string{"KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"}

type redriveAllow struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

func planQueueDLQ(ctx context.Context, deps Deps, opts AddOptions, res *AddResult) ([]plan.Step, *queueInfo, error) {
	src, err := describeQueue(ctx, deps.SQS, opts.Queue)
	if err != nil {
		return nil, nil, err
	}
	res.Source = src.Name
	srcAttrs, err := queueAttrs(ctx, deps.SQS, src.URL)
	if err != nil {
		return nil, nil, err
	}
	if src.DeadLetterTarget == "" {
		if _, ok := isDLQ(ctx, deps, src); ok {
			return nil, nil, fmt.Errorf("%s is itself a dead-letter queue: give its sources a DLQ instead", src.Name)
		}
	}
	// The DLQ: the one the source already names, else NAME-dlq.
	dlqName := dlqNameFor(src.Name)
	if src.DeadLetterTarget != "" {
		if _, n, ok := arnName(src.DeadLetterTarget); ok {
			dlqName = n
		}
	}
	dlqARN := strings.TrimSuffix(src.ARN, src.Name) + dlqName
	if src.DeadLetterTarget != "" {
		dlqARN = src.DeadLetterTarget
	}
	res.DLQ, res.DLQARN = dlqName, dlqARN
	var steps []plan.Step
	url, err := findQueue(ctx, deps.SQS, dlqName)
	if err != nil {
		return nil, nil, err
	}
	var dlq *queueInfo
	wantAllow := redriveAllow{RedrivePermission: "byQueue", SourceQueueArns: []string{src.ARN}}
	if url == "" {
		attrs := map[string]string{"MessageRetentionPeriod": dlqRetention}
		if src.FIFO {
			attrs["FifoQueue"] = "true"
		}
		for _, k := range encryptionAttrs {
			if v := srcAttrs[k]; v != "" && !(k == "SqsManagedSseEnabled" && v == "false") {
				attrs[k] = v
			}
		}
		allow, _ := json.Marshal(wantAllow)
		attrs["RedriveAllowPolicy"] = string(allow)
		doc, _ := json.MarshalIndent(attrs, "", "  ")
		steps = append(steps, plan.Create("sqs queue", dlqName, func(ctx context.Context) error {
			_, err := deps.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(dlqName), Attributes: attrs})
			if err != nil {
				return fmt.Errorf("create queue %s: %w", dlqName, err)
			}
			return nil
		}).WithDocument(string(doc)))
	} else {
		if dlq, err = describeURL(ctx, deps.SQS, url); err != nil {
			return nil, nil, err
		}
		res.DLQARN = dlq.ARN
		if dlq.FIFO != src.FIFO {
			return nil, nil, fmt.Errorf("%s and its dead-letter queue %s must both be FIFO or both standard (SQS requires the same type)", src.Name, dlqName)
		}
		dAttrs, err := queueAttrs(ctx, deps.SQS, url)
		if err != nil {
			return nil, nil, err
		}
		var cur redriveAllow
		if p := dAttrs["RedriveAllowPolicy"]; p != "" {
			json.Unmarshal([]byte(p), &cur)
		}
		want := wantAllow
		if cur.RedrivePermission == "byQueue" {
			want.SourceQueueArns = union(cur.SourceQueueArns, src.ARN)
		} else if urls, ok, err := sourceQueues(ctx, deps.SQS, url); err == nil && ok {
			// allowAll (the default) or denyAll: narrow it to the queues that use it.
			for _, u := range urls {
				if q, err := describeURL(ctx, deps.SQS, u); err == nil {
					want.SourceQueueArns = union(want.SourceQueueArns, q.ARN)
				}
			}
		}
		if len(want.SourceQueueArns) > 10 { // SQS: up to 10 source queue ARNs
			want = redriveAllow{RedrivePermission: "allowAll"}
			res.Notes = append(res.Notes, dlqName+" serves more than 10 source queues, more than RedriveAllowPolicy byQueue can name: left at allowAll")
		}
		var d plan.Differ
		d.Str("MessageRetentionPeriod", dAttrs["MessageRetentionPeriod"], dlqRetention)
		wantDoc, _ := json.Marshal(want)
		curDoc := dAttrs["RedriveAllowPolicy"]
		if !sameAllow(cur, want) {
			d = append(d, plan.FieldDiff{Field: "RedriveAllowPolicy", Old: plan.Show(curDoc), New: string(wantDoc)})
		}
		if len(d) == 0 {
			steps = append(steps, plan.Unchanged("sqs queue", dlqName))
		} else {
			set := map[string]string{"MessageRetentionPeriod": dlqRetention, "RedriveAllowPolicy": string(wantDoc)}
			steps = append(steps, plan.Update("sqs queue", dlqName, d, func(ctx context.Context) error {
				_, err := deps.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: set})
				if err != nil {
					return fmt.Errorf("set attributes of %s: %w", dlqName, err)
				}
				return nil
			}))
		}
	}
	// The source's RedrivePolicy; an existing maxReceiveCount is kept unless
	// --max-receive says otherwise.
	maxReceive := opts.MaxReceive
	switch {
	case maxReceive > 0:
	case src.DeadLetterTarget != "" && src.MaxReceiveCount > 0:
		maxReceive = src.MaxReceiveCount
	default:
		maxReceive = 5
	}
	wantRP := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, res.DLQARN, maxReceive)
	var d plan.Differ
	d.Str("RedrivePolicy.deadLetterTargetArn", src.DeadLetterTarget, res.DLQARN)
	d.Int("RedrivePolicy.maxReceiveCount", int64(src.MaxReceiveCount), int64(maxReceive))
	if len(d) == 0 {
		steps = append(steps, plan.Unchanged("sqs redrive policy", src.Name))
	} else {
		steps = append(steps, plan.Update("sqs redrive policy", src.Name, d, func(ctx context.Context) error {
			_, err := deps.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(src.URL), Attributes: map[string]string{"RedrivePolicy": wantRP}})
			if err != nil {
				return fmt.Errorf("set the RedrivePolicy of %s: %w", src.Name, err)
			}
			return nil
		}).WithDocument(wantRP))
	}
	return steps, dlq, nil
}

func union(xs []string, add ...string) []string {
	out := append([]string{}, xs...)
	for _, a := range add {
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

func sameAllow(a, b redriveAllow) bool {
	if a.RedrivePermission != b.RedrivePermission {
		return false
	}
	x, y := union(a.SourceQueueArns), union(b.SourceQueueArns)
	return strings.Join(x, ",") == strings.Join(y, ",")
}

// isDLQ reports whether q is a DLQ: some queue's RedrivePolicy targets it.
func isDLQ(ctx context.Context, deps Deps, q *queueInfo) ([]string, bool) {
	urls, ok, err := sourceQueues(ctx, deps.SQS, q.URL)
	if err != nil || !ok {
		return nil, false
	}
	return urls, len(urls) > 0
}

func planLambdaDLQ(ctx context.Context, deps Deps, opts AddOptions, res *AddResult) ([]plan.Step, *queueInfo, error) {
	if deps.Lambda == nil {
		return nil, nil, errors.New("--lambda: no Lambda client")
	}
	fc, err := deps.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(opts.Lambda)})
	if err != nil {
		return nil, nil, lambdaErr("read function "+opts.Lambda, "lambda:GetFunctionConfiguration", err)
	}
	name := aws.ToString(fc.FunctionName)
	res.Source = "lambda:" + name
	var existing string // the DLQ or on-failure destination the function already has
	if fc.DeadLetterConfig != nil {
		existing = aws.ToString(fc.DeadLetterConfig.TargetArn)
	}
	eic, err := deps.Lambda.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String(name)})
	hasEIC := err == nil
	if err != nil && awsx.ErrorCode(err) != "ResourceNotFoundException" {
		return nil, nil, lambdaErr("read the event invoke config of "+name, "lambda:GetFunctionEventInvokeConfig", err)
	}
	if hasEIC && eic.DestinationConfig != nil && eic.DestinationConfig.OnFailure != nil && aws.ToString(eic.DestinationConfig.OnFailure.Destination) != "" {
		existing = aws.ToString(eic.DestinationConfig.OnFailure.Destination)
	}
	if existing != "" {
		// Failures already go somewhere: nothing to change.
		res.DLQARN = existing
		if _, n, ok := arnName(existing); ok {
			res.DLQ = n
		} else {
			res.DLQ = existing
		}
		steps := []plan.Step{plan.Unchanged("lambda on-failure destination", name)}
		var dlq *queueInfo
		if strings.Contains(existing, ":sqs:") {
			if dlq, err = describeQueue(ctx, deps.SQS, existing); err != nil {
				return nil, nil, err
			}
		}
		return steps, dlq, nil
	}
	// A new standard queue (Lambda destinations cannot be FIFO queues:
	// Lambda developer guide, "Capturing records of asynchronous invocations").
	dlqName := dlqNameFor(name)
	res.DLQ = dlqName
	var steps []plan.Step
	url, err := findQueue(ctx, deps.SQS, dlqName)
	if err != nil {
		return nil, nil, err
	}
	var dlq *queueInfo
	if url == "" {
		// No queue may name it as a DLQ: only the function writes to it.
		attrs := map[string]string{"MessageRetentionPeriod": dlqRetention, "RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`}
		steps = append(steps, plan.Create("sqs queue", dlqName, func(ctx context.Context) error {
			_, err := deps.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(dlqName), Attributes: attrs})
			if err != nil {
				return fmt.Errorf("create queue %s: %w", dlqName, err)
			}
			return nil
		}))
		// The ARN: the function's account and region.
		p := strings.Split(aws.ToString(fc.FunctionArn), ":")
		if len(p) >= 5 {
			res.DLQARN = fmt.Sprintf("arn:%s:sqs:%s:%s:%s", p[1], p[3], p[4], dlqName)
		}
	} else {
		if dlq, err = describeURL(ctx, deps.SQS, url); err != nil {
			return nil, nil, err
		}
		res.DLQARN = dlq.ARN
		steps = append(steps, plan.Unchanged("sqs queue", dlqName))
	}
	dest := &lambdatypes.DestinationConfig{OnFailure: &lambdatypes.OnFailure{Destination: aws.String(res.DLQARN)}}
	if hasEIC && eic.DestinationConfig != nil {
		dest.OnSuccess = eic.DestinationConfig.OnSuccess
	}
	var d plan.Differ
	d.Str("DestinationConfig.OnFailure.Destination", "", res.DLQARN)
	steps = append(steps, plan.Update("lambda on-failure destination", name, d, func(ctx context.Context) error {
		var err error
		if hasEIC { // keep its retry settings and on-success destination
			_, err = deps.Lambda.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String(name), DestinationConfig: dest})
		} else {
			_, err = deps.Lambda.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), DestinationConfig: dest})
		}
		if err != nil {
			return lambdaErr("set the on-failure destination of "+name, "lambda:PutFunctionEventInvokeConfig", err)
		}
		return nil
	}))
	res.Notes = append(res.Notes, "the function's execution role needs sqs:SendMessage on "+res.DLQARN+" (Lambda sends failed events with it)")
	return steps, dlq, nil
}
