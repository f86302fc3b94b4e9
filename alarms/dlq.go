package alarms

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// DLQ is a dead-letter queue and the queues that send to it.
type DLQ struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Sources []string `json:"sources"`
}

// queueName returns the name in a queue name, URL or ARN.
func queueName(ref string) string {
	ref = strings.TrimRight(ref, "/")
	if i := strings.LastIndexAny(ref, "/:"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// DLQAlarmName is opsctl's name for the alarm on a DLQ: "dlq-QUEUE",
// shortened with a hash when the queue name is long.
func DLQAlarmName(queue string) string {
	n := "dlq-" + strings.TrimSuffix(queue, ".fifo")
	if strings.HasSuffix(queue, ".fifo") {
		n += "-fifo"
	}
	if len(n) <= MaxNameLen {
		return n
	}
	h := sha1.Sum([]byte(queue))
	return n[:MaxNameLen-9] + "-" + hex.EncodeToString(h[:4])
}

// DiscoverDLQs finds every queue that some queue's RedrivePolicy names as
// its dead-letter target, with its sources (from the redrive policies and
// ListDeadLetterSourceQueues). Uses deps.SQS.
func DiscoverDLQs(ctx context.Context, deps Deps) ([]DLQ, error) {
	if deps.SQS == nil {
		return nil, errors.New("discover dead-letter queues: no SQS client")
	}
	urls := map[string]string{} // name → URL
	var all []string
	p := sqs.NewListQueuesPaginator(deps.SQS, &sqs.ListQueuesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list SQS queues: %w", err)
		}
		for _, u := range page.QueueUrls {
			urls[queueName(u)] = u
			all = append(all, u)
		}
	}
	sources := map[string]map[string]bool{} // DLQ name → source names
	for _, u := range all {
		out, err := deps.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(u), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy},
		})
		if err != nil {
			var ne *sqstypes.QueueDoesNotExist
			if errors.As(err, &ne) {
				continue // deleted while we looked
			}
			return nil, fmt.Errorf("read redrive policy of %s: %w", queueName(u), err)
		}
		rp := out.Attributes[string(sqstypes.QueueAttributeNameRedrivePolicy)]
		if rp == "" {
			continue
		}
		var pol struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		}
		if err := json.Unmarshal([]byte(rp), &pol); err != nil || pol.DeadLetterTargetArn == "" {
			deps.log().Warn("unreadable redrive policy", "queue", queueName(u), "policy", rp)
			continue
		}
		d := queueName(pol.DeadLetterTargetArn)
		if sources[d] == nil {
			sources[d] = map[string]bool{}
		}
		sources[d][queueName(u)] = true
	}
	var out []DLQ
	for name, srcs := range sources {
		d := DLQ{Name: name, URL: urls[name]}
		if d.URL != "" {
			more, err := deadLetterSources(ctx, deps.SQS, d.URL)
			if err != nil {
				return nil, err
			}
			for _, s := range more {
				srcs[s] = true
			}
		}
		for s := range srcs {
			d.Sources = append(d.Sources, s)
		}
		sort.Strings(d.Sources)
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func deadLetterSources(ctx context.Context, c SQSAPI, url string) ([]string, error) {
	var out []string
	p := sqs.NewListDeadLetterSourceQueuesPaginator(c, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(url)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list dead-letter sources of %s: %w", queueName(url), err)
		}
		for _, u := range page.QueueUrls {
			out = append(out, queueName(u))
		}
	}
	return out, nil
}

// resolveDLQ finds a queue named by name, URL or ARN.
func resolveDLQ(ctx context.Context, deps Deps, ref string) (DLQ, error) {
	name := queueName(ref)
	out, err := deps.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		var ne *sqstypes.QueueDoesNotExist
		if errors.As(err, &ne) {
			return DLQ{}, opserr.Usagef("queue %q does not exist in %s", name, deps.Region)
		}
		return DLQ{}, fmt.Errorf("find queue %q: %w", name, err)
	}
	d := DLQ{Name: name, URL: aws.ToString(out.QueueUrl)}
	d.Sources, err = deadLetterSources(ctx, deps.SQS, d.URL)
	if err != nil {
		return DLQ{}, err
	}
	if d.Sources == nil {
		d.Sources = []string{}
	}
	return d, nil
}

// DLQOptions are the inputs of AddDLQ.
type DLQOptions struct {
	Queues            []string
	All               bool
	Emails            []string
	Topic             string
	Period            time.Duration
	EvaluationPeriods int
	DryRun            bool
}

// Validate checks the options without calling AWS.
func (o *DLQOptions) Validate() error {
	if o.All == (len(o.Queues) > 0) {
		return opserr.Usagef("name dead-letter queues or pass --all (not both)")
	}
	for _, q := range o.Queues {
		ref, err := parseQueueRef(q)
		if err != nil {
			return err
		}
		s := o.spec(ref.Name)
		if err := s.Validate(); err != nil {
			return err
		}
	}
	o.Emails = splitEmails(o.Emails)
	for _, e := range o.Emails {
		if err := validateEmail(e); err != nil {
			return err
		}
	}
	if o.Topic != "" {
		return validateTopicName(o.Topic)
	}
	return nil
}

func (o DLQOptions) spec(queue string) Spec {
	s := Spec{Name: DLQAlarmName(queue), Queue: queue, Emails: o.Emails, Topic: o.Topic, Period: o.Period, EvaluationPeriods: o.EvaluationPeriods}
	s.Normalize()
	return s
}

// DLQResult is what AddDLQ did.
type DLQResult struct {
	DLQs     []DLQ       `json:"dlqs"`
	Warnings []string    `json:"warnings,omitempty"`
	Result   ApplyResult `json:"result"`
}

// AddDLQ puts an alarm on ApproximateNumberOfMessagesVisible > 0 on each
// named dead-letter queue, or with All on every queue some RedrivePolicy
// points to. Uses deps.SQS, deps.CloudWatch, deps.SNS and deps.STS.
func AddDLQ(ctx context.Context, deps Deps, opts DLQOptions) (DLQResult, error) {
	if err := opts.Validate(); err != nil {
		return DLQResult{}, err
	}
	if deps.SQS == nil {
		return DLQResult{}, errors.New("add DLQ alarms: no SQS client")
	}
	var res DLQResult
	if opts.All {
		dlqs, err := DiscoverDLQs(ctx, deps)
		if err != nil {
			return res, err
		}
		res.DLQs = dlqs
		if len(dlqs) == 0 {
			res.Warnings = append(res.Warnings, "no queue has a RedrivePolicy: there is no dead-letter queue to alarm on")
		}
	} else {
		for _, q := range opts.Queues {
			if ref, _ := parseQueueRef(q); ref.Region != "" && deps.Region != "" && ref.Region != deps.Region {
				return res, opserr.Usagef("queue %q is in region %s, but the alarms are created in %s: run with --region %s", q, ref.Region, deps.Region, ref.Region)
			}
		}
		for _, q := range opts.Queues {
			d, err := resolveDLQ(ctx, deps, q)
			if err != nil {
				return res, err
			}
			if len(d.Sources) == 0 {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s is not any queue's dead-letter queue (no RedrivePolicy points to it); alarming on it anyway", d.Name))
			}
			res.DLQs = append(res.DLQs, d)
		}
	}
	for _, w := range res.Warnings {
		deps.log().Warn(w)
	}
	var specs []Spec
	for _, d := range res.DLQs {
		specs = append(specs, opts.spec(d.Name))
	}
	if res.DLQs == nil {
		res.DLQs = []DLQ{}
	}
	r, err := applySpecs(ctx, deps, specs, nil, opts.DryRun)
	res.Result = r
	return res, err
}
