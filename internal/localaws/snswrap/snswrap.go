// Package snswrap makes the SNS emulator (fauxqs) behave like AWS for email
// subscriptions. fauxqs confirms an email subscription the moment it is
// created; AWS instead sends a confirmation email and keeps the subscription
// pending until the person clicks the link (and deletes it after 3 days). So
// that tests can exercise the pending path, Handler sits in front of fauxqs
// and, for email and email-json subscriptions only:
//
//   - Subscribe answers "pending confirmation" (or the real ARN when
//     ReturnSubscriptionArn is true, as AWS does);
//   - ListSubscriptionsByTopic and ListSubscriptions show a pending
//     subscription's ARN as "PendingConfirmation";
//   - GetSubscriptionAttributes reports PendingConfirmation "true";
//   - Unsubscribe and DeleteTopic forget the pending state.
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
)

type sub struct {
	topicARN string
	endpoint string
}

// Handler wraps the SNS emulator. Safe for concurrent use.
type Handler struct {
	next http.Handler

	mu        sync.Mutex
	pending   map[string]sub // subscription ARN → subscription awaiting confirmation
	confirmed map[string]bool
}

// New wraps next (the proxy to fauxqs).
func New(next http.Handler) *Handler {
	return &Handler{next: next, pending: map[string]sub{}, confirmed: map[string]bool{}}
}

// Confirm confirms every pending subscription of the email address (as if
// the person clicked the link) and returns how many it confirmed.
func (h *Handler) Confirm(email string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
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
		h.pending[arn] = sub{topicARN: form.Get("TopicArn"), endpoint: form.Get("Endpoint")}
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
