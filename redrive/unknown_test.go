package redrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// A condition on a field the message does not carry is unknown: the filter
// decides with the rest when it can, and otherwise names the missing field.
func TestFilterOnMissingFieldsIsUndecided(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	bare := FilterMessage{Body: "x", Attributes: map[string]string{"ErrorCode": "503"}, Now: now}
	full := FilterMessage{Body: "x", Attributes: map[string]string{"ErrorCode": "503"}, Now: now, SentAt: now.Add(-time.Hour), ReceiveCount: 2,
		SourceARN: "arn:aws:sqs:us-east-1:123456789012:orders"}
	tests := map[string]struct {
		expr    string
		m       FilterMessage
		want    bool
		unknown string
	}{
		"age without SentTimestamp":                {`age > 0`, bare, false, "age"},
		"negated age is still unknown":             {`not age > 1h`, bare, false, "age"},
		"receive count without the attribute":      {`receive_count >= 1`, bare, false, "receive_count"},
		"source without DeadLetterQueueSourceArn":  {`source == "orders"`, bare, false, "source"},
		"README example without SentTimestamp":     {`attr.ErrorCode == "503" and age < 2d`, bare, false, "age"},
		"false and unknown is false":               {`attr.ErrorCode == "500" and age < 2d`, bare, false, ""},
		"true or unknown is true":                  {`attr.ErrorCode == "503" or age < 2d`, bare, true, ""},
		"README example with SentTimestamp":        {`attr.ErrorCode == "503" and age < 2d`, full, true, ""},
		"source by name":                           {`source == "orders"`, full, true, ""},
		"source by ARN":                            {`source == "arn:aws:sqs:us-east-1:123456789012:orders"`, full, true, ""},
		"another source":                           {`source != "orders"`, full, false, ""},
		"both unknown fields are named":            {`age > 1h and receive_count > 1`, bare, false, "age,receive_count"},
		"a known field decides despite an unknown": {`receive_count > 1 and age > 1h`, FilterMessage{Body: "x", ReceiveCount: 1, Now: now}, false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFilter(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, unknown := f.Decide(tc.m)
			if got != tc.want || strings.Join(unknown, ",") != tc.unknown {
				t.Fatalf("Decide(%q) = %v, unknown %v; want %v, unknown %q", tc.expr, got, unknown, tc.want, tc.unknown)
			}
		})
	}
}

// README's own example, against the local endpoint's default SQS emulator
// (local-aws-sqs), which returns system attributes only for the older
// AttributeNames form: opsctl asks in both forms, so age is known and the
// filter selects exactly the 503s.
func TestReadmeFilterExampleWorksOnTheLocalEndpoint(t *testing.T) {
	e := newEnv(t, "") // local-aws-sqs
	p := e.pair(t, "readme", false)
	replay, err := e.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("readme-replay")})
	if err != nil {
		t.Fatal(err)
	}
	putErrorCodes(t, e, p.dlq, 12)
	o := fastOpts(p.dlq)
	o.To, o.Filter = *replay.QueueUrl, `attr.ErrorCode == "503" and age < 2d`
	res, err := Redrive(context.Background(), e.deps(t), o)
	if err != nil || res.Moved != 6 || res.FilteredOut != 6 || res.Undecided != 0 || res.Outcome() != nil {
		t.Fatalf("redrive: %v %+v", err, res)
	}
	for _, m := range e.drain(t, *replay.QueueUrl) {
		if c := aws.ToString(m.MessageAttributes["ErrorCode"].StringValue); c != "503" {
			t.Fatalf("a %s was moved", c)
		}
	}
	pk, err := Peek(context.Background(), e.deps(t), PeekOptions{DLQ: p.dlq, Filter: `age < 2d and receive_count >= 1`})
	if err != nil || len(pk.Messages) != 6 || pk.Undecided != 0 {
		t.Fatalf("peek: %v %+v", err, pk)
	}
}

func putErrorCodes(t *testing.T, e *env, url string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		code := []string{"503", "500"}[i%2]
		if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strconv.Itoa(i)),
			MessageAttributes: map[string]types.MessageAttributeValue{"ErrorCode": {DataType: aws.String("Number"), StringValue: aws.String(code)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// attrStripper plays an endpoint that returns no system attributes at all.
type attrStripper struct{ inner http.Handler }

func (s attrStripper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ReceiveMessage") {
		s.inner.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, r)
	var out map[string]any
	body := rec.Body.Bytes()
	if json.Unmarshal(body, &out) == nil {
		if msgs, ok := out["Messages"].([]any); ok {
			for _, m := range msgs {
				delete(m.(map[string]any), "Attributes")
			}
		}
		body, _ = json.Marshal(out)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(bytes.Clone(body))
}

// An endpoint that returns no system attributes: a filter on age neither
// moves nor filters out anything quietly; every message is reported as
// undecided, with why, and the run is partial (exit 3).
func TestFilterOnAttributesTheEndpointDoesNotReturn(t *testing.T) {
	e := newEnv(t, "fauxqs")
	p := e.pair(t, "bare", false)
	putErrorCodes(t, e, p.dlq, 10)
	inner := e.srv.Service("sqs")
	e.srv.Handle("sqs", attrStripper{inner})
	defer e.srv.Handle("sqs", inner)
	o := fastOpts(p.dlq)
	o.To, o.Filter = p.src, `attr.ErrorCode == "503" and age < 2d`
	res, err := Redrive(context.Background(), e.deps(t), o)
	if err != nil {
		t.Fatal(err)
	}
	var pe *opserr.PartialError
	if res.Moved != 0 || res.Undecided != 5 || res.FilteredOut != 5 || !strings.Contains(res.UndecidedWhy, "SentTimestamp") || !errors.As(res.Outcome(), &pe) {
		t.Fatalf("want the 5 503s undecided (the 500s filtered out by the attribute): %+v", res)
	}
	if e.count(t, p.dlq) != 10 {
		t.Fatal("messages left the DLQ")
	}
}
