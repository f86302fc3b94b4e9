package localaws

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// FaultKind is what an injected fault does to a matching request.
type FaultKind string

const (
	// FaultError answers with the fault's Code, Message and Status (default 400).
	FaultError FaultKind = "error"
	// FaultThrottle answers with the service's throttling error (HTTP 400,
	// ThrottlingException / Throttling / SlowDown 503 for S3), which the SDK retries.
	FaultThrottle FaultKind = "throttle"
	// Fault5xx answers HTTP 500 (or Status, if set) InternalFailure.
	Fault5xx FaultKind = "5xx"
	// FaultSlow waits Delay (or until the client gives up), then serves normally.
	FaultSlow FaultKind = "slow"
	// FaultDrop closes the connection without a response.
	FaultDrop FaultKind = "drop"
)

// Fault makes matching requests fail. Service is the SigV4 signing name
// ("logs", "monitoring", "sqs", "s3", ...), Operation the API operation name;
// empty matches any. Times is how many matching requests fail (0 means 1; a
// negative value means every one until cleared).
type Fault struct {
	Service   string        `json:"service,omitempty"`
	Operation string        `json:"operation,omitempty"`
	Kind      FaultKind     `json:"kind"`
	Times     int           `json:"times,omitempty"`
	Code      string        `json:"code,omitempty"`
	Message   string        `json:"message,omitempty"`
	Status    int           `json:"status,omitempty"`
	Delay     time.Duration `json:"delay,omitempty"`
}

type faults struct {
	mu   sync.Mutex
	list []*Fault
}

func (f *faults) add(x Fault) {
	if x.Times == 0 {
		x.Times = 1
	}
	f.mu.Lock()
	f.list = append(f.list, &x)
	f.mu.Unlock()
}

func (f *faults) clear() {
	f.mu.Lock()
	f.list = nil
	f.mu.Unlock()
}

// take returns the first fault matching service/op and consumes one use of it.
func (f *faults) take(service, op string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.list {
		if (x.Service == "" || x.Service == service) && (x.Operation == "" || strings.EqualFold(x.Operation, op)) {
			cp := *x
			if x.Times > 0 {
				x.Times--
				if x.Times == 0 {
					f.list = append(f.list[:i], f.list[i+1:]...)
				}
			}
			return &cp
		}
	}
	return nil
}

// apply serves the fault. It returns true when the request was answered (or
// dropped) and must not reach the service.
func (x *Fault) apply(w http.ResponseWriter, r *http.Request, service string) bool {
	switch x.Kind {
	case FaultSlow:
		select {
		case <-time.After(x.Delay):
		case <-r.Context().Done():
		}
		return false
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case FaultThrottle:
		e := &awsproto.Error{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Sender: true}
		switch {
		case service == "s3":
			e = &awsproto.Error{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."}
		case awsproto.IsEC2Query(r):
			e.Code = awsproto.EC2Throttling
		case awsproto.Detect(r) == awsproto.Query:
			e.Code = "Throttling"
		}
		if x.Code != "" {
			e.Code = x.Code
		}
		awsproto.WriteError(w, r, e)
		return true
	case Fault5xx:
		st := x.Status
		if st == 0 {
			st = 500
		}
		code := x.Code
		if code == "" {
			code = "InternalFailure"
			if service == "s3" {
				code = "InternalError"
			}
		}
		msg := x.Message
		if msg == "" {
			msg = "We encountered an internal error. Please try again."
		}
		awsproto.WriteError(w, r, &awsproto.Error{Status: st, Code: code, Message: msg})
		return true
	default: // FaultError
		st := x.Status
		if st == 0 {
			st = 400
		}
		msg := x.Message
		if msg == "" {
			msg = "injected fault"
		}
		awsproto.WriteError(w, r, &awsproto.Error{Status: st, Code: x.Code, Message: msg, Sender: st < 500})
		return true
	}
}
