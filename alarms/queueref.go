package alarms

import (
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/opsctl/opsctl/internal/opserr"
)

// queueRef is a dead-letter queue named by name, URL or ARN.
type queueRef struct {
	Name    string
	Account string // from a URL or ARN, else ""
	Region  string // from an ARN or an AWS URL, else ""
}

// maxQueueNameLen: "A queue name can have up to 80 characters" including a
// FIFO queue's ".fifo" suffix (botocore sqs service-2.json, CreateQueue.QueueName).
const maxQueueNameLen = 80

func checkQueueName(ref, name string) error {
	switch {
	case name == "":
		return opserr.Usagef("invalid queue %q: no queue name in it", ref)
	case len(name) > maxQueueNameLen || !queueNameRe.MatchString(name):
		return opserr.Usagef("invalid queue %q: a queue name is 1-%d letters, digits, '-' or '_' (FIFO queues end in .fifo)", ref, maxQueueNameLen)
	}
	return nil
}

// parseQueueRef reads an SQS queue name, queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) or queue ARN
// (arn:PARTITION:sqs:REGION:ACCOUNT:NAME) without calling AWS. Anything else,
// an SNS topic ARN included, is a usage error that says what it is.
func parseQueueRef(ref string) (queueRef, error) {
	switch {
	case ref == "":
		return queueRef{}, opserr.Usagef("empty queue: want a queue name, URL or ARN")
	case strings.HasPrefix(ref, "arn:"):
		a, err := arn.Parse(ref)
		if err != nil {
			return queueRef{}, opserr.Usagef("invalid queue ARN %q: %v (want arn:aws:sqs:REGION:ACCOUNT:NAME)", ref, err)
		}
		if a.Service != "sqs" {
			what := "a " + a.Service + " resource"
			if a.Service == "sns" {
				what = "an SNS topic"
			}
			return queueRef{}, opserr.Usagef("%q is %s, not an SQS queue: add-dlq alarms on SQS dead-letter queues (arn:aws:sqs:REGION:ACCOUNT:NAME)", ref, what)
		}
		if a.Region == "" || a.AccountID == "" {
			return queueRef{}, opserr.Usagef("invalid queue ARN %q: region and account are required (want arn:aws:sqs:REGION:ACCOUNT:NAME)", ref)
		}
		return queueRef{Name: a.Resource, Account: a.AccountID, Region: a.Region}, checkQueueName(ref, a.Resource)
	case strings.Contains(ref, "://"):
		u, err := url.Parse(ref)
		if err != nil {
			return queueRef{}, opserr.Usagef("invalid queue URL %q: %v", ref, err)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			return queueRef{}, opserr.Usagef("invalid queue URL %q: want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME", ref)
		}
		if u.Host == "" {
			return queueRef{}, opserr.Usagef("invalid queue URL %q: no host (want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", ref)
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) != 2 || parts[0] == "" {
			return queueRef{}, opserr.Usagef("invalid queue URL %q: the path must be /ACCOUNT/NAME (want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", ref)
		}
		r := queueRef{Name: parts[1], Account: parts[0]}
		host := u.Hostname()
		if strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn") {
			labels := strings.Split(host, ".")
			switch {
			case labels[0] == "sqs" && len(labels) >= 4:
				r.Region = labels[1]
			case len(labels) >= 4 && labels[1] == "queue": // legacy REGION.queue.amazonaws.com
				r.Region = labels[0]
			case host == "queue.amazonaws.com":
				r.Region = "us-east-1"
			default:
				return queueRef{}, opserr.Usagef("%q is not an SQS queue URL (host %s is not SQS's): add-dlq alarms on SQS dead-letter queues", ref, host)
			}
		}
		return r, checkQueueName(ref, r.Name)
	case strings.ContainsAny(ref, "/:"):
		return queueRef{}, opserr.Usagef("invalid queue %q: want a queue name, a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) or a queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", ref)
	}
	return queueRef{Name: ref}, checkQueueName(ref, ref)
}

// validateQueueRef checks a queue name, URL or ARN without calling AWS.
func validateQueueRef(q string) error {
	_, err := parseQueueRef(q)
	return err
}
