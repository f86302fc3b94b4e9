package redrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/opsctl/opsctl/internal/awsx"
)

// queueInfo is what redrive needs to know about a queue.
type queueInfo struct {
	URL, ARN, Name    string
	FIFO              bool
	Visible           int64 // ApproximateNumberOfMessages
	InFlight          int64 // ApproximateNumberOfMessagesNotVisible
	Delayed           int64
	VisibilityTimeout int32
	DeadLetterTarget  string // the DLQ this queue redrives to (RedrivePolicy), if any
	MaxReceiveCount   int
}

// arnName splits an SQS ARN arn:aws:sqs:REGION:ACCOUNT:NAME.
func arnName(arn string) (account, name string, ok bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[5] == "" {
		return "", "", false
	}
	return p[4], p[5], true
}

// validQueueRef checks a queue name, URL or ARN without calling AWS.
func validQueueRef(ref string) error {
	switch {
	case ref == "":
		return errors.New("empty queue")
	case strings.HasPrefix(ref, "arn:"):
		if _, _, ok := arnName(ref); !ok {
			return fmt.Errorf("%q is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", ref)
		}
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		u, err := url.Parse(ref)
		if err != nil || strings.Trim(u.Path, "/") == "" {
			return fmt.Errorf("%q is not a queue URL", ref)
		}
	default:
		if len(ref) > 80 {
			return fmt.Errorf("queue name %q is longer than 80 characters", ref)
		}
		for _, r := range ref {
			if !(r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return fmt.Errorf("queue name %q has a character other than letters, digits, - and _", ref)
			}
		}
	}
	return nil
}

// queueURL resolves a name, URL or ARN to a queue URL.
func queueURL(ctx context.Context, api SQSAPI, ref string) (string, error) {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		return ref, nil
	}
	in := &sqs.GetQueueUrlInput{QueueName: aws.String(ref)}
	if account, name, ok := arnName(ref); ok {
		in.QueueName = aws.String(name)
		in.QueueOwnerAWSAccountId = aws.String(account)
	}
	out, err := api.GetQueueUrl(ctx, in)
	if err != nil {
		return "", fmt.Errorf("find queue %q: %w", ref, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// describeQueue resolves ref and reads its attributes.
func describeQueue(ctx context.Context, api SQSAPI, ref string) (*queueInfo, error) {
	u, err := queueURL(ctx, api, ref)
	if err != nil {
		return nil, err
	}
	return describeURL(ctx, api, u)
}

func describeURL(ctx context.Context, api SQSAPI, u string) (*queueInfo, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(u),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		return nil, fmt.Errorf("read attributes of queue %s: %w", u, err)
	}
	a := out.Attributes
	q := &queueInfo{URL: u, ARN: a["QueueArn"], FIFO: a["FifoQueue"] == "true"}
	if _, name, ok := arnName(q.ARN); ok {
		q.Name = name
	} else {
		q.Name = u[strings.LastIndexByte(strings.TrimRight(u, "/"), '/')+1:]
	}
	q.Visible, _ = strconv.ParseInt(a["ApproximateNumberOfMessages"], 10, 64)
	q.InFlight, _ = strconv.ParseInt(a["ApproximateNumberOfMessagesNotVisible"], 10, 64)
	q.Delayed, _ = strconv.ParseInt(a["ApproximateNumberOfMessagesDelayed"], 10, 64)
	if v, err := strconv.Atoi(a["VisibilityTimeout"]); err == nil {
		q.VisibilityTimeout = int32(v)
	}
	if rp := a["RedrivePolicy"]; rp != "" {
		var p struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if json.Unmarshal([]byte(rp), &p) == nil {
			q.DeadLetterTarget = p.DeadLetterTargetArn
			switch v := p.MaxReceiveCount.(type) {
			case float64:
				q.MaxReceiveCount = int(v)
			case string:
				q.MaxReceiveCount, _ = strconv.Atoi(v)
			}
		}
	}
	return q, nil
}

// queueCache resolves target queues by ARN once per run.
type queueCache struct {
	api SQSAPI
	mu  sync.Mutex
	m   map[string]*queueInfo
	err map[string]error
}

func newQueueCache(api SQSAPI) *queueCache {
	return &queueCache{api: api, m: map[string]*queueInfo{}, err: map[string]error{}}
}

func (c *queueCache) get(ctx context.Context, ref string) (*queueInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q, ok := c.m[ref]; ok {
		return q, nil
	}
	if err, ok := c.err[ref]; ok {
		return nil, err
	}
	q, err := describeQueue(ctx, c.api, ref)
	if err != nil {
		if isPermanentQueueError(err) {
			c.err[ref] = err
		}
		return nil, err
	}
	c.m[ref] = q
	return q, nil
}

func isPermanentQueueError(err error) bool {
	switch awsx.ErrorCode(err) {
	case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "AccessDenied", "AccessDeniedException", "InvalidAddress":
		return true
	}
	return false
}

// sourceQueues lists the queues whose redrive policy names dlq, through
// ListDeadLetterSourceQueues. ok is false when the service does not offer the
// operation (some emulators), so callers can fall back to RedrivePolicy scans.
func sourceQueues(ctx context.Context, api SQSAPI, dlqURL string) (urls []string, ok bool, err error) {
	p := sqs.NewListDeadLetterSourceQueuesPaginator(api, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlqURL), MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			if isUnsupported(err) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("list source queues of %s: %w", dlqURL, err)
		}
		urls = append(urls, out.QueueUrls...)
	}
	return urls, true, nil
}

// isUnsupported reports an error meaning "this endpoint does not implement
// the operation" (emulators), as opposed to a real failure.
func isUnsupported(err error) bool {
	switch awsx.ErrorCode(err) {
	case "UnknownOperationException", "InvalidAction", "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "NotImplemented", "UnknownOperation":
		return true
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && (re.HTTPStatusCode() == 404 || re.HTTPStatusCode() == 501) {
		return true
	}
	return false
}

// sourcesByPolicy finds the queues whose RedrivePolicy targets dlqARN by
// reading every queue's attributes (for endpoints without
// ListDeadLetterSourceQueues).
func sourcesByPolicy(ctx context.Context, api SQSAPI, dlqARN string) ([]string, error) {
	var urls []string
	p := sqs.NewListQueuesPaginator(api, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list queues: %w", err)
		}
		for _, u := range out.QueueUrls {
			q, err := describeURL(ctx, api, u)
			if err != nil {
				return nil, err
			}
			if q.DeadLetterTarget == dlqARN {
				urls = append(urls, u)
			}
		}
	}
	return urls, nil
}
