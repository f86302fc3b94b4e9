// Package snswrap makes the SNS emulator (fauxqs) behave like AWS for email
// subscriptions. fauxqs confirms an email subscription the moment it is
// created; AWS instead sends a confirmation email and keeps the subscription
// pending until the person clicks the link, and deletes it when nobody
// confirmed it within 48 hours (ExpireAfter; see there for the source). So
// that tests can exercise the pending path, Handler sits in front of fauxqs
// and, for email and email-json subscriptions only:
//
//   - Subscribe answers "pending confirmation" (or the real ARN when
//     ReturnSubscriptionArn is true, as AWS does);
//   - ListSubscriptionsByTopic and ListSubscriptions show a pending
//     subscription's ARN as "PendingConfirmation";
//   - GetSubscriptionAttributes reports PendingConfirmation "true";
//   - Unsubscribe and DeleteTopic forget the pending state;
//   - a subscription still pending ExpireAfter after Subscribe (on the
//     endpoint's clock) is deleted, as AWS deletes it.
//
// Confirm and ConfirmARN are the test backdoor for "the person clicked the
// link". Everything else passes through unchanged.
package snswrap

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
)

// ExpireAfter is how long an email subscription may stay pending before SNS
// deletes it. botocore sns service-2.json, Subscribe: "Confirmation tokens are
// valid for two days"; AWS What's New, 10 May 2023, "Amazon SNS now supports
// automatic deletion of unconfirmed subscriptions once they have been in a
// pending confirmation state for 48 hours" (previously 72 hours).
const ExpireAfter = 48 * time.Hour

type sub struct {
	topicARN string
	endpoint string
	since    time.Time // when Subscribe asked for confirmation
}

// Handler wraps the SNS emulator. Safe for concurrent use.
type Handler struct {
	next  http.Handler
	clock clock.Clock

	mu        sync.Mutex
	pending   map[string]sub // subscription ARN → subscription awaiting confirmation
	confirmed map[string]bool
}

// New wraps next (the proxy to fauxqs). Pending subscriptions age on clk (the
// endpoint's clock; nil means the real one).
func New(next http.Handler, clk clock.Clock) *Handler {
	return &Handler{next: next, clock: clock.Or(clk), pending: map[string]sub{}, confirmed: map[string]bool{}}
}

// expire deletes, in the emulator too, the subscriptions pending for
// ExpireAfter or longer. Called with h.mu held, before every request, so the
// state is computed from the clock when it is read.
func (h *Handler) expire() {
	now := h.clock.Now()
	for arn, s := range h.pending {
		if now.Sub(s.since) < ExpireAfter {
			continue
		}
		delete(h.pending, arn)
		form := url.Values{"Action": {"Unsubscribe"}, "Version": {"2010-03-31"}, "SubscriptionArn": {arn}}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.next.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// Confirm confirms every pending subscription of the email address (as if
// the person clicked the link) and returns how many it confirmed.
func (h *Handler) Confirm(email string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire() // an expired link confirms nothing
	n := 0
	for arn, s := range h.pending {
		if strings.EqualFold(s.endpoint, email) {
			delete(h.pending, arn)
			h.confirmed[arn] = true
			n++
		}
	}
	return n
}

// ConfirmARN confirms one pending subscription.
func (h *Handler) ConfirmARN(arn string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire() // an expired link confirms nothing
	if _, ok := h.pending[arn]; !ok {
		return false
	}
	delete(h.pending, arn)
	h.confirmed[arn] = true
	return true
}

// Pending returns the email addresses with a subscription awaiting confirmation.
func (h *Handler) Pending() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire() // an expired link confirms nothing
	var out []string
	for _, s := range h.pending {
		out = append(out, s.endpoint)
	}
	return out
}

var (
	subArnRe = regexp.MustCompile(`<SubscriptionArn>([^<]*)</SubscriptionArn>`)
	pendRe   = regexp.MustCompile(`<key>PendingConfirmation</key>\s*<value>false</value>`)
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	action := form.Get("Action")
	h.mu.Lock()
	h.expire()
	h.mu.Unlock()
	switch action {
	case "Subscribe", "ListSubscriptionsByTopic", "ListSubscriptions", "GetSubscriptionAttributes", "Unsubscribe", "DeleteTopic":
	default:
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		out = h.rewrite(action, form, out)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rec.Code)
	w.Write(out)
}

func (h *Handler) rewrite(action string, form url.Values, out []byte) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch action {
	case "Subscribe":
		proto := form.Get("Protocol")
		if proto != "email" && proto != "email-json" {
			return out
		}
		m := subArnRe.FindSubmatch(out)
		if m == nil {
			return out
		}
		arn := string(m[1])
		if h.confirmed[arn] {
			return out // already confirmed: AWS returns the existing ARN
		}
		if _, again := h.pending[arn]; !again { // a repeated Subscribe does not restart the 48 hours
			h.pending[arn] = sub{topicARN: form.Get("TopicArn"), endpoint: form.Get("Endpoint"), since: h.clock.Now()}
		}
		if form.Get("ReturnSubscriptionArn") == "true" {
			return out
		}
		return subArnRe.ReplaceAll(out, []byte("<SubscriptionArn>pending confirmation</SubscriptionArn>"))
	case "ListSubscriptionsByTopic", "ListSubscriptions":
		return subArnRe.ReplaceAllFunc(out, func(b []byte) []byte {
			arn := string(subArnRe.FindSubmatch(b)[1])
			if _, ok := h.pending[arn]; ok {
				return []byte("<SubscriptionArn>PendingConfirmation</SubscriptionArn>")
			}
			return b
		})
	case "GetSubscriptionAttributes":
		if _, ok := h.pending[form.Get("SubscriptionArn")]; ok {
			return pendRe.ReplaceAll(out, []byte("<key>PendingConfirmation</key><value>true</value>"))
		}
	case "Unsubscribe":
		delete(h.pending, form.Get("SubscriptionArn"))
		delete(h.confirmed, form.Get("SubscriptionArn"))
	case "DeleteTopic":
		topic := form.Get("TopicArn")
		for arn, s := range h.pending {
			if s.topicARN == topic {
				delete(h.pending, arn)
			}
		}
		for arn := range h.confirmed {
			if strings.HasPrefix(arn, topic+":") {
				delete(h.confirmed, arn)
			}
		}
	}
	return out
}
