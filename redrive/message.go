package redrive

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Message is a dead-lettered message as opsctl shows, archives and exports it
// (one JSON object per line in an archive or export file).
type Message struct {
	MessageID         string                    `json:"message_id"`
	Body              string                    `json:"body"`
	MessageAttributes map[string]AttributeValue `json:"message_attributes,omitempty"`
	// Attributes are the SQS system attributes (SentTimestamp, MessageGroupId,
	// MessageDeduplicationId, DeadLetterQueueSourceArn, ...).
	Attributes   map[string]string `json:"attributes,omitempty"`
	ReceiveCount int               `json:"receive_count,omitempty"`
	SourceARN    string            `json:"source_arn,omitempty"`
	SentAt       time.Time         `json:"sent_at,omitzero"`
	GroupID      string            `json:"group_id,omitempty"`
	DLQARN       string            `json:"dlq_arn,omitempty"`
	ArchivedAt   time.Time         `json:"archived_at,omitzero"`

	receipt string
}

// AttributeValue is an SQS message attribute.
type AttributeValue struct {
	DataType         string   `json:"data_type"`
	StringValue      *string  `json:"string_value,omitempty"`
	BinaryValue      []byte   `json:"binary_value,omitempty"`
	StringListValues []string `json:"string_list_values,omitempty"`
	BinaryListValues [][]byte `json:"binary_list_values,omitempty"`
}

func fromSQS(m types.Message, dlqARN string) Message {
	out := Message{
		MessageID:  aws.ToString(m.MessageId),
		Body:       aws.ToString(m.Body),
		Attributes: m.Attributes,
		DLQARN:     dlqARN,
		receipt:    aws.ToString(m.ReceiptHandle),
	}
	if len(m.MessageAttributes) > 0 {
		out.MessageAttributes = make(map[string]AttributeValue, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			out.MessageAttributes[k] = AttributeValue{
				DataType: aws.ToString(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
			}
		}
	}
	out.fillDerived()
	return out
}

// fillDerived sets the convenience fields from the system attributes.
func (m *Message) fillDerived() {
	a := m.Attributes
	if a == nil {
		return
	}
	if n, err := strconv.Atoi(a["ApproximateReceiveCount"]); err == nil {
		m.ReceiveCount = n
	}
	if ms, err := strconv.ParseInt(a["SentTimestamp"], 10, 64); err == nil && m.SentAt.IsZero() {
		m.SentAt = time.UnixMilli(ms).UTC()
	}
	if v := a["DeadLetterQueueSourceArn"]; v != "" {
		m.SourceARN = v
	}
	if v := a["MessageGroupId"]; v != "" {
		m.GroupID = v
	}
}

func (m *Message) sqsAttributes() map[string]types.MessageAttributeValue {
	if len(m.MessageAttributes) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(m.MessageAttributes))
	for k, v := range m.MessageAttributes {
		out[k] = types.MessageAttributeValue{
			DataType: aws.String(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue,
			StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
		}
	}
	return out
}

// filterView is what a filter sees of m.
func (m *Message) filterView(now time.Time) FilterMessage {
	attrs := make(map[string]string, len(m.MessageAttributes))
	for k, v := range m.MessageAttributes {
		switch {
		case v.StringValue != nil:
			attrs[k] = *v.StringValue
		case v.BinaryValue != nil:
			attrs[k] = string(v.BinaryValue)
		default:
			attrs[k] = ""
		}
	}
	return FilterMessage{Body: m.Body, Attributes: attrs, SentAt: m.SentAt, ReceiveCount: m.ReceiveCount, GroupID: m.GroupID, SourceARN: m.SourceARN, Now: now}
}

// size approximates the bytes a message counts for in SendMessageBatch's
// payload limit.
func (m *Message) size() int {
	n := len(m.Body)
	for k, v := range m.MessageAttributes {
		n += len(k) + len(v.DataType) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
		for _, s := range v.StringListValues {
			n += len(s)
		}
		for _, b := range v.BinaryListValues {
			n += len(b)
		}
	}
	return n
}

// lambdaRecord is the part of a Lambda on-failure destination record redrive
// needs (Lambda "Capturing records of asynchronous invocations").
type lambdaRecord struct {
	RequestContext struct {
		RequestID   string `json:"requestId"`
		FunctionArn string `json:"functionArn"`
		Condition   string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
}

// asLambdaRecord parses a destination record; ok is false for anything else.
func asLambdaRecord(body string) (lambdaRecord, bool) {
	var r lambdaRecord
	if len(body) == 0 || body[0] != '{' {
		return r, false
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return r, false
	}
	return r, r.RequestContext.FunctionArn != "" && len(r.RequestPayload) > 0
}

// isLambdaDLQMessage reports a message Lambda put in an async DLQ: its body is
// the original event and it carries RequestID, ErrorCode and ErrorMessage.
func (m *Message) isLambdaDLQMessage() bool {
	_, rid := m.MessageAttributes["RequestID"]
	_, code := m.MessageAttributes["ErrorCode"]
	return rid && code
}
