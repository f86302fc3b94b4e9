// Package localaws is opsctl's local AWS endpoint for tests: one loopback URL,
// like LocalStack's edge port, that routes each request by the service named
// in its SigV4 Authorization header to
//
//   - third-party emulators started as child processes from the pinned npm
//     packages in emulators/ (local-aws-sqs for SQS, fauxqs for SNS and STS,
//     kinesis-local for Kinesis),
//   - gofakes3, in process, for S3,
//   - opsctl's own stateful emulations (one subpackage per service) for what no
//     installable emulator covers.
//
// Every request is recorded (Calls) and can be failed on purpose (InjectFault)
// with an AWS error, throttling, a 5xx, a delay or a dropped connection.
// Shipped commands never import this package.
package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Defaults used by the endpoint and its emulators.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

// Options configure a Server.
type Options struct {
	// Addr is the loopback address to listen on (default 127.0.0.1:0).
	Addr string
	// Region and Account the emulations report (defaults above).
	Region, Account string
	// Emulators lists the npm emulators to start: any of EmulatorSQS,
	// EmulatorSNS (also serves STS), EmulatorKinesis. Own emulations and S3
	// are always on.
	Emulators []string
	// SQSBackend chooses who serves SQS: "local-aws-sqs" (default; has
	// ListDeadLetterSourceQueues and message move tasks) or "fauxqs" (faster).
	SQSBackend string
	// EmulatorsDir holds node_modules with the npm emulators (default: found
	// from the module root, or $OPSCTL_EMULATORS_DIR).
	EmulatorsDir string
	// Logf receives diagnostics (child process output on failure). Default: discard.
	Logf func(format string, args ...any)
	// Clock is the endpoint's one clock: every emulation reads time from it,
	// and state that changes over time (deployments, builds, buffers) is
	// computed from it when read. Tests pass a *clock.Fake (shared with the
	// code under test, so a poller's sleeps move the endpoint). Default: real
	// time plus whatever POST /_localaws/clock advances it by.
	Clock clock.Clock
}

// Call is one request the endpoint served.
type Call struct {
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Status    int    `json:"status"`
	Faulted   bool   `json:"faulted,omitempty"`
}

// Server is a running local endpoint.
type Server struct {
	// URL is the endpoint, e.g. http://127.0.0.1:41234.
	URL     string
	Region  string
	Account string

	opts     Options
	ln       net.Listener
	http     *http.Server
	mu       sync.Mutex
	services map[string]http.Handler
	children []*child
	faults   faults
	calls    []Call
	closers  []func()
}

// Syncer is an emulation whose state moves with the endpoint's clock
// (Firehose buffers today; deployments, builds and executions next). It runs
// no goroutines or timers: the endpoint calls Sync before it serves any
// request and after POST /_localaws/clock with wrote "" (what the request
// reads is computed from the clock now), and after each write with the
// service written to (an emulation that consumes another service's data,
// Firehose reading Kinesis, takes it in at the time it was written).
// Requests an emulation makes to the endpoint itself carry the header
// awsproto.InternalHeader and trigger no Sync.
type Syncer interface {
	Sync(ctx context.Context, wrote string)
}

// sync brings every time-driven emulation up to the clock.
func (s *Server) sync(ctx context.Context, wrote string) {
	s.mu.Lock()
	var syncers []Syncer
	for _, h := range s.services {
		if sy, ok := h.(Syncer); ok {
			syncers = append(syncers, sy)
		}
	}
	s.mu.Unlock()
	for _, sy := range syncers {
		sy.Sync(ctx, wrote)
	}
}

// OperationNamer is implemented by REST-style emulations (S3, Lambda) whose
// operation is not in a header or the body.
type OperationNamer interface {
	OperationName(r *http.Request) string
}

// New starts a server. Close it when done.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Clock == nil {
		opts.Clock = clock.NewOffset(clock.Real(), 1)
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("localaws: bad address %q: %w", opts.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("localaws: refusing to listen on %q: loopback addresses only", opts.Addr)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("localaws: listen: %w", err)
	}
	s := &Server{
		URL:      "http://" + ln.Addr().String(),
		Region:   opts.Region,
		Account:  opts.Account,
		opts:     opts,
		ln:       ln,
		services: map[string]http.Handler{},
	}
	for name, h := range builtinServices(s) {
		s.services[name] = h
	}
	if err := s.startEmulators(ctx); err != nil {
		ln.Close()
		s.stopChildren()
		return nil, err
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go s.http.Serve(ln)
	return s, nil
}

// builtinServices is filled by services.go: every own emulation plus S3.
var builtinServices = func(s *Server) map[string]http.Handler { return nil }

// Handle registers (or replaces) the handler for a SigV4 service name.
func (s *Server) Handle(service string, h http.Handler) {
	s.mu.Lock()
	s.services[service] = h
	s.mu.Unlock()
}

// Clock is the endpoint's clock (Options.Clock).
func (s *Server) Clock() clock.Clock { return s.opts.Clock }

// Service returns the handler registered for a service (nil if none), so tests
// can reach an emulation's backdoors (for example, to age a message).
func (s *Server) Service(name string) http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.services[name]
}

// OnClose registers f to run first when the server closes: emulations with
// background goroutines (the Firehose delivery readers) stop there.
func (s *Server) OnClose(f func()) {
	s.mu.Lock()
	s.closers = append(s.closers, f)
	s.mu.Unlock()
}

// Close stops the server and its child emulators.
func (s *Server) Close() error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for _, f := range closers {
		f()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	s.stopChildren()
	return nil
}

// InjectFault makes matching requests fail (see Fault).
func (s *Server) InjectFault(f Fault) { s.faults.add(f) }

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// Calls returns the requests served so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded requests.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

var writeOp = regexp.MustCompile(`^(Put|Create|Delete|Update|Set|Subscribe|Unsubscribe|Tag|Untag|Enable|Disable|Start|Stop|Send|Attach|Detach|Register|Deregister|Add|Remove|Change|Modify|Publish|Purge|Cancel|Invoke|Test|Associate|Disassociate|Restore|Reset|Upload|Complete|Abort|Copy|Export)`)

// IsWrite reports whether an operation name mutates state (by its verb;
// TestMetricFilter and TestEventPattern count as reads).
func IsWrite(op string) bool {
	if strings.HasPrefix(op, "Test") {
		return false
	}
	return writeOp.MatchString(op)
}

// WriteCalls returns the recorded calls that mutate state.
func (s *Server) WriteCalls() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if IsWrite(c.Operation) {
			out = append(out, c)
		}
	}
	return out
}

var credentialRe = regexp.MustCompile(`Credential=[^/]+/[0-9]{8}/([^/]+)/([^/]+)/aws4_request`)

// targetServices maps X-Amz-Target prefixes to signing names, for requests
// without a SigV4 header.
var targetServices = map[string]string{
	"Logs_20140328":                 "logs",
	"AmazonSQS":                     "sqs",
	"Kinesis_20131202":              "kinesis",
	"Firehose_20150804":             "firehose",
	"DynamoDB_20120810":             "dynamodb",
	"GraniteServiceVersion20100801": "monitoring",
	"TrentService":                  "kms",
}

// ServiceOf returns the SigV4 signing name of a request's service.
func ServiceOf(r *http.Request) string {
	if m := credentialRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[2]
	}
	if m := credentialRe.FindStringSubmatch("Credential=" + r.URL.Query().Get("X-Amz-Credential")); m != nil {
		return m[2]
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.IndexByte(t, '.'); i > 0 {
			return targetServices[t[:i]]
		}
	}
	if strings.Contains(r.URL.Path, "/service/GraniteServiceVersion20100801/") {
		return "monitoring"
	}
	return ""
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Hijack() (net.Conn, *bufioReadWriter, error) {
	return hijack(r.ResponseWriter)
}

// ServeHTTP routes a request to its service.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_localaws/") {
		s.control(w, r)
		return
	}
	service := ServiceOf(r)
	s.mu.Lock()
	h := s.services[service]
	s.mu.Unlock()
	if h == nil {
		msg := fmt.Sprintf("localaws: no emulator for service %q", service)
		if service == "" {
			msg = "localaws: request is not SigV4-signed; cannot tell which service it is for"
		}
		awsproto.WriteError(w, r, &awsproto.Error{Status: 400, Code: "UnrecognizedClientException", Message: msg, Sender: true})
		return
	}
	if ps, ok := h.(awsproto.ProtocolSpeaker); ok {
		r = awsproto.WithProtocol(r, ps.Protocol())
	}
	// Read the body once so Query actions can be named; hand a fresh reader on.
	var body []byte
	if r.Body != nil && awsproto.Detect(r) == awsproto.Query {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	op := awsproto.Operation(r, body)
	if n, ok := h.(OperationNamer); ok && op == "" {
		op = n.OperationName(r)
	}
	internal := r.Header.Get(awsproto.InternalHeader) != ""
	if !internal {
		s.sync(r.Context(), "")
	}
	rec := &statusRecorder{ResponseWriter: w}
	faulted := false
	if f := s.faults.take(service, op); f != nil {
		if f.apply(rec, r, service) {
			faulted = true
		}
	}
	if !faulted {
		h.ServeHTTP(rec, r)
	}
	if rec.status == 0 {
		rec.status = 200
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Service: service, Operation: op, Status: rec.status, Faulted: faulted})
	s.mu.Unlock()
	if !internal && !faulted && rec.status < 300 && IsWrite(op) {
		s.sync(r.Context(), service)
	}
}

// control serves the endpoint's own API for standalone use:
//
//	GET    /_localaws/health   {"status":"ok","services":[...]}
//	POST   /_localaws/faults   body: a Fault as JSON
//	DELETE /_localaws/faults
//	GET    /_localaws/calls    the recorded calls
//	DELETE /_localaws/calls
//	GET    /_localaws/clock    {"now":"<RFC 3339>"}
//	POST   /_localaws/clock    body {"advance":"90s"}: moves the endpoint's clock forward
//	POST   /_localaws/sns/confirm  body {"email":"ops@example.com"}: the person clicks the link
//	POST   /_localaws/codepipeline/push  body {"repository":"owner/repo","branch":"main","commit":"<sha>"}: a git push
//	POST   /_localaws/codeconnections/handshake  body {"connection":"NAME or ARN"}: the console handshake completes
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/_localaws/health":
		s.mu.Lock()
		var names []string
		for n := range s.services {
			names = append(names, n)
		}
		s.mu.Unlock()
		sort.Strings(names)
		json.NewEncoder(w).Encode(map[string]any{"status": "ok", "services": names, "region": s.Region, "account": s.Account})
	case r.URL.Path == "/_localaws/faults" && r.Method == http.MethodPost:
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Kind == "" {
			http.Error(w, `{"error":"want a JSON fault with at least \"kind\""}`, http.StatusBadRequest)
			return
		}
		s.InjectFault(f)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_localaws/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_localaws/sns/confirm" && r.Method == http.MethodPost:
		var body struct {
			Email string `json:"email"`
		}
		c, ok := s.Service("sns").(interface{ Confirm(email string) int })
		if !ok {
			http.Error(w, `{"error":"this endpoint serves no SNS (start it with the sns emulator)"}`, http.StatusConflict)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Email == "" {
			http.Error(w, `{"error":"want {\"email\":\"ops@example.com\"}"}`, http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]int{"confirmed": c.Confirm(body.Email)})
	case strings.HasPrefix(r.URL.Path, "/_localaws/codepipeline/"):
		c, ok := s.Service("codepipeline").(interface {
			ServeControl(w http.ResponseWriter, r *http.Request)
		})
		if !ok {
			http.Error(w, `{"error":"this endpoint serves no CodePipeline"}`, http.StatusConflict)
			return
		}
		c.ServeControl(w, r)
	case r.URL.Path == "/_localaws/codeconnections/handshake" && r.Method == http.MethodPost:
		var body struct {
			Connection string `json:"connection"`
		}
		c, ok := s.Service("codeconnections").(interface{ CompleteHandshake(nameOrARN string) int })
		if !ok || json.NewDecoder(r.Body).Decode(&body) != nil || body.Connection == "" {
			http.Error(w, `{"error":"want {\"connection\":\"NAME or ARN\"}"}`, http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]int{"completed": c.CompleteHandshake(body.Connection)})
	case strings.HasPrefix(r.URL.Path, "/_localaws/codepipeline/"):
		c, ok := s.Service("codepipeline").(interface {
			ServeControl(w http.ResponseWriter, r *http.Request)
		})
		if !ok {
			http.Error(w, `{"error":"this endpoint serves no CodePipeline"}`, http.StatusConflict)
			return
		}
		c.ServeControl(w, r)
	case r.URL.Path == "/_localaws/calls" && r.Method == http.MethodGet:
		json.NewEncoder(w).Encode(s.Calls())
	case r.URL.Path == "/_localaws/calls" && r.Method == http.MethodDelete:
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_localaws/clock" && r.Method == http.MethodGet:
		json.NewEncoder(w).Encode(map[string]string{"now": s.Clock().Now().UTC().Format(time.RFC3339Nano)})
	case r.URL.Path == "/_localaws/clock" && r.Method == http.MethodPost:
		var body struct {
			Advance string `json:"advance"`
		}
		adv, ok := s.Clock().(clock.Advancer)
		if !ok {
			http.Error(w, `{"error":"this endpoint's clock cannot be advanced"}`, http.StatusConflict)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":"want {\"advance\":\"90s\"}"}`, http.StatusBadRequest)
			return
		}
		d, err := time.ParseDuration(body.Advance)
		if err != nil || d < 0 {
			http.Error(w, `{"error":"advance must be a non-negative Go duration such as 90s or 15m"}`, http.StatusBadRequest)
			return
		}
		adv.Advance(d)
		s.sync(r.Context(), "")
		json.NewEncoder(w).Encode(map[string]string{"now": s.Clock().Now().UTC().Format(time.RFC3339Nano)})
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}

// ErrEmulatorsMissing is returned when npm emulators are requested but not installed.
var ErrEmulatorsMissing = errors.New("localaws: npm emulators are not installed; run `make emulators` (npm ci --prefix internal/localaws/emulators)")
