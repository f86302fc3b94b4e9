package redrive

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// entryFailer wraps the endpoint's SQS handler to make SendMessageBatch fail
// individual entries, which a localaws.Fault (whole requests only) cannot:
// entries it rejects are removed from the request before it reaches the
// emulator and reported in the response's Failed list, exactly as SQS reports
// a partial batch failure. Test code only; installed with srv.Handle("sqs", ...).
type entryFailer struct {
	inner http.Handler
	// decide returns "" to let an entry through, or the error code to fail it
	// with; sender says whether SQS would blame the caller (permanent).
	decide func(queueURL string, body string, attempt int) (code string, sender bool)
	// onSend sees every SendMessageBatch entry body before it is forwarded.
	onSend func(queueURL string, bodies []string)

	mu       sync.Mutex
	attempts map[string]int // body → times seen
	rejected int
}

func installEntryFailer(t *testing.T, e *env, f *entryFailer) *entryFailer {
	f.inner = e.srv.Service("sqs")
	f.attempts = map[string]int{}
	e.srv.Handle("sqs", f)
	t.Cleanup(func() { e.srv.Handle("sqs", f.inner) })
	return f
}

func (f *entryFailer) Rejected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rejected
}

type sendBatchReq struct {
	QueueURL string            `json:"QueueUrl"`
	Entries  []json.RawMessage `json:"Entries"`
}

func (f *entryFailer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".SendMessageBatch") {
		f.inner.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req sendBatchReq
	if err := json.Unmarshal(body, &req); err != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.inner.ServeHTTP(w, r)
		return
	}
	type failed struct {
		ID          string `json:"Id"`
		Code        string `json:"Code"`
		Message     string `json:"Message"`
		SenderFault bool   `json:"SenderFault"`
	}
	var keep []json.RawMessage
	var fails []failed
	var bodies []string
	for _, raw := range req.Entries {
		var en struct {
			ID          string `json:"Id"`
			MessageBody string `json:"MessageBody"`
		}
		json.Unmarshal(raw, &en)
		f.mu.Lock()
		f.attempts[en.MessageBody]++
		n := f.attempts[en.MessageBody]
		f.mu.Unlock()
		if code, sender := f.decide(req.QueueURL, en.MessageBody, n); code != "" {
			f.mu.Lock()
			f.rejected++
			f.mu.Unlock()
			fails = append(fails, failed{ID: en.ID, Code: code, Message: "rejected by the test", SenderFault: sender})
			continue
		}
		keep = append(keep, raw)
		bodies = append(bodies, en.MessageBody)
	}
	if f.onSend != nil && len(bodies) > 0 {
		f.onSend(req.QueueURL, bodies)
	}
	var out struct {
		Successful []json.RawMessage `json:"Successful"`
		Failed     []failed          `json:"Failed"`
	}
	out.Successful = []json.RawMessage{}
	if len(keep) > 0 {
		var m map[string]any
		json.Unmarshal(body, &m)
		m["Entries"] = keep
		nb, _ := json.Marshal(m)
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(nb))
		r2.ContentLength = int64(len(nb))
		r2.Header.Set("Content-Length", strconv.Itoa(len(nb)))
		rec := httptest.NewRecorder()
		f.inner.ServeHTTP(rec, r2)
		if rec.Code != 200 {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		var inner struct {
			Successful []json.RawMessage `json:"Successful"`
			Failed     []failed          `json:"Failed"`
		}
		json.Unmarshal(rec.Body.Bytes(), &inner)
		out.Successful = append(out.Successful, inner.Successful...)
		out.Failed = append(out.Failed, inner.Failed...)
	}
	out.Failed = append(out.Failed, fails...)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

// receiveLoser serves the first `lose` ReceiveMessage calls from the
// emulator (so SQS hands the messages out) and then drops the response: the
// client never sees them and they stay hidden until their visibility ends.
type receiveLoser struct {
	inner http.Handler
	mu    sync.Mutex
	lose  int
}

func (l *receiveLoser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ReceiveMessage") {
		l.mu.Lock()
		drop := l.lose > 0
		l.mu.Unlock()
		if drop {
			rec := httptest.NewRecorder()
			l.inner.ServeHTTP(rec, r)
			l.mu.Lock()
			drop = l.lose > 0 && strings.Contains(rec.Body.String(), "ReceiptHandle")
			if drop {
				l.lose--
			}
			l.mu.Unlock()
			if drop {
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
						return
					}
				}
				panic(http.ErrAbortHandler)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
	}
	l.inner.ServeHTTP(w, r)
}
