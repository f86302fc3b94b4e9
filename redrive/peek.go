package redrive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

func usagef(format string, args ...any) error { return opserr.Usagef(format, args...) }

// PeekOptions configure Peek.
type PeekOptions struct {
	DLQ    string
	Limit  int    // messages to show (default 10)
	Filter string // only messages matching this
	// Visibility is how long the peeked messages are hidden while Peek runs
	// (default 20s); they are released as soon as it ends.
	Visibility time.Duration
	// MaxScan bounds how many messages are looked at to find Limit matches
	// (default 100 × Limit, at least 1000).
	MaxScan int
}

// Validate checks the options.
func (o PeekOptions) Validate() error {
	if err := validQueueRef(o.DLQ); err != nil {
		return usagef("DLQ: %v", err)
	}
	if o.Limit < 0 || o.Limit > 10000 {
		return usagef("--limit must be between 1 and 10000, got %d", o.Limit)
	}
	if _, err := ParseFilter(o.Filter); err != nil {
		return err
	}
	return nil
}

// PeekResult is what Peek saw.
type PeekResult struct {
	DLQ      string    `json:"dlq"`
	DLQARN   string    `json:"dlq_arn"`
	Depth    int64     `json:"depth"`
	Scanned  int       `json:"scanned"`
	Messages []Message `json:"messages"`
	// Undecided counts messages the filter could not decide on because they
	// lack a field it uses (age, receive_count, source); UndecidedWhy says
	// which.
	Undecided    int    `json:"undecided,omitempty"`
	UndecidedWhy string `json:"undecided_why,omitempty"`
}

// undecidedWhy explains missing filter fields.
func undecidedWhy(fields []string) string {
	var parts []string
	for _, f := range fields {
		switch f {
		case "age":
			parts = append(parts, "age needs SentTimestamp")
		case "receive_count":
			parts = append(parts, "receive_count needs ApproximateReceiveCount")
		case "source":
			parts = append(parts, "source needs DeadLetterQueueSourceArn (absent on messages sent to the DLQ directly)")
		}
	}
	return "the filter uses fields the endpoint did not return for these messages: " + strings.Join(parts, "; ")
}

// Peek shows messages without consuming them: they are received with a short
// visibility timeout and released (made visible again) before Peek returns.
func Peek(ctx context.Context, deps Deps, opts PeekOptions) (PeekResult, error) {
	if err := opts.Validate(); err != nil {
		return PeekResult{}, err
	}
	if opts.Limit == 0 {
		opts.Limit = 10
	}
	if opts.Visibility <= 0 {
		opts.Visibility = 20 * time.Second
	}
	if opts.MaxScan <= 0 {
		opts.MaxScan = max(100*opts.Limit, 1000)
	}
	f, _ := ParseFilter(opts.Filter)
	dlq, err := describeQueue(ctx, deps.SQS, opts.DLQ)
	if err != nil {
		return PeekResult{}, err
	}
	res := PeekResult{DLQ: dlq.Name, DLQARN: dlq.ARN, Depth: dlq.Visible, Messages: []Message{}}
	ro := Options{VisibilityTimeout: opts.Visibility}
	ro.defaults()
	mv := newMover(deps, ro, modeDryRun, dlq, f)
	defer mv.releaseHeld(ctx)
	empties := 0
	seen := map[string]bool{}
	now := deps.now()
	for len(res.Messages) < opts.Limit && res.Scanned < opts.MaxScan && empties < 2 {
		out, err := deps.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(dlq.URL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: int32(opts.Visibility / time.Second),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			AttributeNames:              allSystemAttributes,
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return res, fmt.Errorf("peek at %s: %w", dlq.Name, err)
		}
		fresh := 0
		for _, r := range out.Messages {
			m := fromSQS(r, dlq.ARN)
			mv.hold(&m)
			if seen[m.MessageID] {
				continue
			}
			seen[m.MessageID] = true
			fresh++
			res.Scanned++
			ok, unknown := f.Decide(m.filterView(now))
			if len(unknown) > 0 {
				res.Undecided++
				res.UndecidedWhy = undecidedWhy(unknown)
			}
			if ok && len(res.Messages) < opts.Limit {
				res.Messages = append(res.Messages, m)
			}
		}
		if fresh == 0 {
			empties++
		} else {
			empties = 0
		}
	}
	return res, nil
}

func partialf(format string, args ...any) error { return opserr.Partialf(format, args...) }
