package lambdaemu

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/clock"
)

// Asynchronous invocation as Lambda runs it (Lambda developer guide,
// "Invoking a Lambda function asynchronously", "Error handling and automatic
// retries in Lambda", "Dead-letter queues", "Capturing records of
// asynchronous invocations"):
//
//   - an Event invoke is queued and answered 202; the first attempt runs at once;
//   - when the function fails, Lambda retries twice by default, one minute
//     after the first attempt and two minutes after the second; the
//     function's event invoke config sets MaximumRetryAttempts (0-2) and
//     MaximumEventAgeInSeconds (60-21600, default 6 hours), after which an
//     event is discarded even with retries left;
//   - an event that fails for good goes to the on-failure destination as an
//     invocation record (condition RetriesExhausted or EventAgeExceeded) and
//     to the function's dead-letter queue as the original event with the
//     attributes RequestID, ErrorCode (the 3-digit status) and ErrorMessage
//     (the first 1 KB of the error).
//
// Retry times are computed from the endpoint's clock, never with a timer or
// a goroutine: pending retries run when the emulation is next asked anything
// (every request, and Pump), so a test advances the clock and calls Pump.

// Retry delays after the first and the second attempt.
var retryDelays = []time.Duration{time.Minute, 2 * time.Minute}

const (
	defaultMaxRetries  = 2
	defaultMaxEventAge = 6 * time.Hour
)

// asyncEvent is one queued Event invocation.
type asyncEvent struct {
	function  string
	requestID string
	payload   []byte
	queuedAt  time.Time
	nextAt    time.Time
	attempts  int
	lastErr   string
}

// Connect gives the emulation a clock and the endpoint's URL, through which
// it sends failed events to SQS dead-letter queues and destinations.
func (s *Server) Connect(clk clock.Clock, endpointURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clk = clk
	if endpointURL != "" {
		s.sqs = sqs.New(sqs.Options{Region: s.region, BaseEndpoint: aws.String(endpointURL),
			Credentials: credentials.NewStaticCredentialsProvider("lambda-emulator", "lambda-emulator", "")})
	}
}

func (s *Server) now() time.Time { return clock.Or(s.clk).Now() }

// enqueue queues an Event invocation; s.mu is held.
func (s *Server) enqueue(f *function, rid string, payload []byte) {
	now := s.now()
	s.async = append(s.async, &asyncEvent{function: f.cfg.FunctionName, requestID: rid, payload: append([]byte(nil), payload...), queuedAt: now, nextAt: now})
}

// Pending returns how many queued Event invocations have not finished.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.async)
}

// Pump runs every queued attempt that is due on the clock, retrying and
// delivering failures as Lambda does. It is called on every request; tests
// call it after advancing the clock.
func (s *Server) Pump() {
	for {
		s.mu.Lock()
		now := s.now()
		var ev *asyncEvent
		for _, e := range s.async {
			if !e.nextAt.After(now) {
				ev = e
				break
			}
		}
		if ev == nil {
			s.mu.Unlock()
			return
		}
		f := s.funcs[ev.function]
		if f == nil { // deleted meanwhile: Lambda drops the event
			s.dropAsync(ev)
			s.mu.Unlock()
			continue
		}
		maxRetries, maxAge := defaultMaxRetries, defaultMaxEventAge
		var onFailure string
		if f.eic != nil {
			if f.eic.MaximumRetryAttempts != nil {
				maxRetries = *f.eic.MaximumRetryAttempts
			}
			if f.eic.MaximumEventAgeInSeconds != nil {
				maxAge = time.Duration(*f.eic.MaximumEventAgeInSeconds) * time.Second
			}
			if f.eic.DestinationConfig != nil && f.eic.DestinationConfig.OnFailure != nil {
				onFailure = f.eic.DestinationConfig.OnFailure.Destination
			}
		}
		var dlq string
		if f.cfg.DeadLetterConfig != nil {
			dlq = f.cfg.DeadLetterConfig.TargetArn
		}
		cfg := f.cfg
		if now.Sub(ev.queuedAt) > maxAge {
			s.dropAsync(ev)
			s.mu.Unlock()
			s.deliverFailure(cfg, ev, "EventAgeExceeded", onFailure, dlq, now)
			continue
		}
		ev.attempts++
		h := f.handler
		if ev.attempts > 1 { // a retry is an invocation too
			s.invocations = append(s.invocations, Invocation{Function: cfg.FunctionName, Type: "Event", Payload: ev.payload, RequestID: ev.requestID, At: now})
		}
		s.mu.Unlock()

		var err error
		if h != nil {
			_, err = h(ev.payload)
		}

		s.mu.Lock()
		if err == nil {
			s.dropAsync(ev)
			s.mu.Unlock()
			continue
		}
		ev.lastErr = err.Error()
		if ev.attempts > maxRetries {
			s.dropAsync(ev)
			s.mu.Unlock()
			s.deliverFailure(cfg, ev, "RetriesExhausted", onFailure, dlq, now)
			continue
		}
		ev.nextAt = now.Add(retryDelays[min(ev.attempts-1, len(retryDelays)-1)])
		s.mu.Unlock()
	}
}

// dropAsync removes ev from the queue; s.mu is held.
func (s *Server) dropAsync(ev *asyncEvent) {
	for i, e := range s.async {
		if e == ev {
			s.async = append(s.async[:i], s.async[i+1:]...)
			return
		}
	}
}

// invocationRecord is what Lambda sends to a destination (Lambda developer
// guide, "Capturing records of asynchronous invocations", example record).
type invocationRecord struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload,omitempty"`
}

// deliverFailure sends a failed event to the destination and the DLQ.
// Delivery failures are recorded (DeliveryErrors), as Lambda reports them in
// the DestinationDeliveryFailures / DeadLetterErrors metrics.
func (s *Server) deliverFailure(cfg FunctionConfiguration, ev *asyncEvent, condition, onFailure, dlq string, at time.Time) {
	errMsg := ev.lastErr
	if condition == "EventAgeExceeded" && errMsg == "" {
		errMsg = "Event age exceeded"
	}
	if onFailure != "" {
		var rec invocationRecord
		rec.Version = "1.0"
		rec.Timestamp = at.UTC().Format("2006-01-02T15:04:05.000Z")
		rec.RequestContext.RequestID = ev.requestID
		rec.RequestContext.FunctionArn = cfg.FunctionArn + ":$LATEST"
		rec.RequestContext.Condition = condition
		rec.RequestContext.ApproximateInvokeCount = ev.attempts
		rec.RequestPayload = json.RawMessage(ev.payload)
		if len(ev.payload) == 0 {
			rec.RequestPayload = json.RawMessage("null")
		}
		rec.ResponseContext.StatusCode = 200
		rec.ResponseContext.ExecutedVersion = "$LATEST"
		if ev.lastErr != "" {
			rec.ResponseContext.FunctionError = "Unhandled"
			rec.ResponsePayload, _ = json.Marshal(map[string]any{"errorMessage": ev.lastErr, "errorType": "Error", "stackTrace": []string{}})
		}
		body, _ := json.Marshal(rec)
		s.sendSQS(onFailure, string(body), nil)
	}
	if dlq != "" {
		if len(errMsg) > 1024 {
			errMsg = errMsg[:1024]
		}
		s.sendSQS(dlq, string(ev.payload), map[string]sqstypes.MessageAttributeValue{
			"RequestID":    {DataType: aws.String("String"), StringValue: aws.String(ev.requestID)},
			"ErrorCode":    {DataType: aws.String("Number"), StringValue: aws.String("200")},
			"ErrorMessage": {DataType: aws.String("String"), StringValue: aws.String(errMsg)},
		})
	}
}

// sendSQS sends one message to the queue with ARN arn (SNS targets are not
// emulated: recorded as a delivery error).
func (s *Server) sendSQS(arn, body string, attrs map[string]sqstypes.MessageAttributeValue) {
	s.mu.Lock()
	client := s.sqs
	s.mu.Unlock()
	p := strings.Split(arn, ":")
	if client == nil || len(p) != 6 || p[2] != "sqs" {
		s.noteDeliveryError(fmt.Sprintf("%s: cannot deliver (not an SQS queue, or no endpoint connected)", arn))
		return
	}
	ctx := context.Background()
	u, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(p[5]), QueueOwnerAWSAccountId: aws.String(p[4])})
	if err == nil {
		_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String(body), MessageAttributes: attrs})
	}
	if err != nil {
		s.noteDeliveryError(fmt.Sprintf("%s: %v", arn, err))
	}
}

func (s *Server) noteDeliveryError(msg string) {
	s.mu.Lock()
	s.deliveryErrors = append(s.deliveryErrors, msg)
	s.mu.Unlock()
}

// DeliveryErrors returns the failed deliveries to destinations and DLQs.
func (s *Server) DeliveryErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deliveryErrors...)
}
