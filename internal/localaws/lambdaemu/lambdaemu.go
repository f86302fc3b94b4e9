// Package lambdaemu emulates the part of AWS Lambda opsctl uses (REST-JSON,
// SigV4 name "lambda"): functions with their DeadLetterConfig, asynchronous
// invocation configs with on-failure destinations, and Invoke.
//
// Invocations are recorded with their payload (Invocations) and run a Go
// handler that tests set per function (SetHandler), so a test can make a
// function fail or throttle (Throttle) and check what was re-invoked. No code
// is executed: CreateFunction stores the configuration only.
package lambdaemu

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Handler runs one invocation: payload in, result out. An error makes a
// RequestResponse invocation return FunctionError "Unhandled".
type Handler func(payload []byte) ([]byte, error)

// Invocation is one recorded Invoke call.
type Invocation struct {
	Function  string    // function name
	Type      string    // Event, RequestResponse or DryRun
	Payload   []byte    // as sent
	RequestID string    // the x-amzn-RequestId returned
	Qualifier string    // "" or $LATEST
	At        time.Time // when it arrived
}

// Server is the Lambda emulation.
type Server struct {
	region, account string

	mu          sync.Mutex
	funcs       map[string]*function
	invocations []Invocation
	pageSize    int
}

type function struct {
	cfg      FunctionConfiguration
	eic      *EventInvokeConfig
	handler  Handler
	throttle int
}

// New returns an empty Lambda for region and account.
func New(region, account string) *Server {
	return &Server{region: region, account: account, funcs: map[string]*function{}, pageSize: 2}
}

// SetHandler sets the Go function that serves a Lambda function's
// invocations (nil: return "null"). It returns false if no such function exists.
func (s *Server) SetHandler(name string, h Handler) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.funcs[name]
	if f == nil {
		return false
	}
	f.handler = h
	return true
}

// Throttle makes the next n invocations of a function fail with 429
// TooManyRequestsException.
func (s *Server) Throttle(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.funcs[name]; f != nil {
		f.throttle = n
	}
}

// Invocations returns the recorded invocations of a function ("" for all).
func (s *Server) Invocations(name string) []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Invocation
	for _, in := range s.invocations {
		if name == "" || in.Function == name {
			out = append(out, in)
		}
	}
	return out
}

// SetPageSize sets the page size of the List operations (default 2, so
// callers must follow markers).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	s.pageSize = n
	s.mu.Unlock()
}

// ---- wire types (JSON names as the Lambda API uses) ----

// DeadLetterConfig is a function's async DLQ.
type DeadLetterConfig struct {
	TargetArn string `json:"TargetArn,omitempty"`
}

// FunctionConfiguration is what Get/List/Create return.
type FunctionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime,omitempty"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler,omitempty"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	CodeSize         int64             `json:"CodeSize"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	LastModified     string            `json:"LastModified"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	RevisionID       string            `json:"RevisionId"`
	Architectures    []string          `json:"Architectures"`
	Environment      *struct {
		Variables map[string]string `json:"Variables,omitempty"`
	} `json:"Environment,omitempty"`
}

// Destination is one destination of an event invoke config.
type Destination struct {
	Destination string `json:"Destination,omitempty"`
}

// DestinationConfig holds on-success and on-failure destinations.
type DestinationConfig struct {
	OnSuccess *Destination `json:"OnSuccess,omitempty"`
	OnFailure *Destination `json:"OnFailure,omitempty"`
}

// EventInvokeConfig is a function's asynchronous invocation config.
type EventInvokeConfig struct {
	FunctionArn              string             `json:"FunctionArn"`
	LastModified             awsproto.EpochTime `json:"LastModified"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig,omitempty"`
}

// ---- routing ----

var (
	reFunctions   = regexp.MustCompile(`^/2015-03-31/functions/?$`)
	reFunction    = regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/?$`)
	reConfig      = regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/configuration/?$`)
	reInvoke      = regexp.MustCompile(`^/2015-03-31/functions/([^/]+)/invocations/?$`)
	reEIC         = regexp.MustCompile(`^/2019-09-25/functions/([^/]+)/event-invoke-config/?$`)
	reEICList     = regexp.MustCompile(`^/2019-09-25/functions/([^/]+)/event-invoke-config/list/?$`)
	validName     = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	validRole     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	validDestARN  = regexp.MustCompile(`^arn:aws[a-z-]*:(sqs|sns|lambda|events|s3):[a-z0-9-]*:\d{12}:?.+$`)
	validDLQARN   = regexp.MustCompile(`^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:.+$`)
	knownRuntimes = map[string]bool{"nodejs20.x": true, "nodejs22.x": true, "python3.11": true, "python3.12": true, "python3.13": true, "java21": true, "provided.al2023": true, "provided.al2": true, "dotnet8": true, "ruby3.3": true, "go1.x": true}
)

func pathOf(r *http.Request) string {
	p := r.URL.EscapedPath()
	return p
}

func unesc(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// OperationName names a request as the Lambda API does.
func (s *Server) OperationName(r *http.Request) string {
	p := pathOf(r)
	switch {
	case reFunctions.MatchString(p):
		if r.Method == http.MethodPost {
			return "CreateFunction"
		}
		return "ListFunctions"
	case reInvoke.MatchString(p):
		return "Invoke"
	case reConfig.MatchString(p):
		if r.Method == http.MethodPut {
			return "UpdateFunctionConfiguration"
		}
		return "GetFunctionConfiguration"
	case reEICList.MatchString(p):
		return "ListFunctionEventInvokeConfigs"
	case reEIC.MatchString(p):
		switch r.Method {
		case http.MethodPut:
			return "PutFunctionEventInvokeConfig"
		case http.MethodPost:
			return "UpdateFunctionEventInvokeConfig"
		case http.MethodDelete:
			return "DeleteFunctionEventInvokeConfig"
		}
		return "GetFunctionEventInvokeConfig"
	case reFunction.MatchString(p):
		if r.Method == http.MethodDelete {
			return "DeleteFunction"
		}
		return "GetFunction"
	}
	return ""
}

// apiError is a Lambda error: HTTP status, code, message (and a Type, as
// Lambda's JSON errors carry).
type apiError struct {
	status  int
	code    string
	message string
	reason  string
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return errf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func invalid(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-RequestId", awsproto.RequestID())
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	body := map[string]string{"Type": "User", "Message": e.message, "message": e.message}
	if e.status >= 500 {
		body["Type"] = "Service"
	}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("X-Amzn-RequestId", awsproto.RequestID())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 7<<20))
	if err != nil {
		writeErr(w, errf(400, "InvalidRequestContentException", "could not read the request body"))
		return
	}
	p := pathOf(r)
	name := func(re *regexp.Regexp) string { return unesc(re.FindStringSubmatch(p)[1]) }
	var e *apiError
	switch op := s.OperationName(r); op {
	case "CreateFunction":
		e = s.createFunction(w, body)
	case "ListFunctions":
		e = s.listFunctions(w, r)
	case "GetFunction":
		e = s.getFunction(w, name(reFunction), true)
	case "DeleteFunction":
		e = s.deleteFunction(w, name(reFunction))
	case "GetFunctionConfiguration":
		e = s.getFunction(w, name(reConfig), false)
	case "UpdateFunctionConfiguration":
		e = s.updateConfiguration(w, name(reConfig), body)
	case "Invoke":
		e = s.invoke(w, r, name(reInvoke), body)
	case "PutFunctionEventInvokeConfig", "UpdateFunctionEventInvokeConfig":
		e = s.putEIC(w, r, name(reEIC), body, op == "UpdateFunctionEventInvokeConfig")
	case "GetFunctionEventInvokeConfig":
		e = s.getEIC(w, name(reEIC))
	case "DeleteFunctionEventInvokeConfig":
		e = s.deleteEIC(w, name(reEIC))
	case "ListFunctionEventInvokeConfigs":
		e = s.listEIC(w, r, name(reEICList))
	default:
		e = errf(404, "UnknownOperationException", "operation %s %s is not supported by this emulator", r.Method, p)
	}
	if e != nil {
		writeErr(w, e)
	}
}

// resolve finds a function by name, ARN or partial ARN (with an optional
// $LATEST qualifier). Callers hold s.mu.
func (s *Server) resolve(ref, qualifier string) (*function, *apiError) {
	name := ref
	q := qualifier
	if strings.HasPrefix(ref, "arn:") {
		p := strings.Split(ref, ":")
		if len(p) < 7 || p[2] != "lambda" || p[5] != "function" {
			return nil, invalid("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint", ref)
		}
		if p[3] != s.region || p[4] != s.account {
			return nil, notFound("Function not found: %s", ref)
		}
		name = p[6]
		if len(p) == 8 {
			q = p[7]
		}
	} else if strings.Contains(ref, ":function:") {
		p := strings.Split(ref, ":")
		if len(p) < 3 {
			return nil, invalid("invalid function name %q", ref)
		}
		name = p[2]
		if len(p) == 4 {
			q = p[3]
		}
	} else if i := strings.IndexByte(ref, ':'); i > 0 {
		name, q = ref[:i], ref[i+1:]
	}
	if !validName.MatchString(name) {
		return nil, invalid("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", ref)
	}
	f := s.funcs[name]
	if f == nil || (q != "" && q != "$LATEST") {
		arn := s.arn(name)
		if q != "" {
			arn += ":" + q
		}
		return nil, notFound("Function not found: %s", arn)
	}
	return f, nil
}

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region, s.account, name)
}

type createInput struct {
	FunctionName     string            `json:"FunctionName"`
	Runtime          string            `json:"Runtime"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler"`
	Description      string            `json:"Description"`
	Timeout          *int              `json:"Timeout"`
	MemorySize       *int              `json:"MemorySize"`
	PackageType      string            `json:"PackageType"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig"`
	Code             *struct {
		ZipFile  []byte `json:"ZipFile"`
		S3Bucket string `json:"S3Bucket"`
		S3Key    string `json:"S3Key"`
		ImageURI string `json:"ImageUri"`
	} `json:"Code"`
	Environment *struct {
		Variables map[string]string `json:"Variables,omitempty"`
	} `json:"Environment"`
}

func checkDLQ(d *DeadLetterConfig) *apiError {
	if d == nil || d.TargetArn == "" {
		return nil
	}
	if !validDLQARN.MatchString(d.TargetArn) {
		return invalid("The provided target arn %s is invalid: a dead-letter target must be an SQS queue or SNS topic ARN", d.TargetArn)
	}
	return nil
}

func checkTimeoutMemory(timeout, mem *int) *apiError {
	if timeout != nil && (*timeout < 1 || *timeout > 900) {
		return invalid("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", *timeout)
	}
	if mem != nil && (*mem < 128 || *mem > 10240) {
		return invalid("1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240", *mem)
	}
	return nil
}

func (s *Server) createFunction(w http.ResponseWriter, body []byte) *apiError {
	var in createInput
	if err := json.Unmarshal(body, &in); err != nil {
		return invalid("could not parse request: %v", err)
	}
	if !validName.MatchString(in.FunctionName) {
		return invalid("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length at most 64", in.FunctionName)
	}
	if !validRole.MatchString(in.Role) {
		return invalid("1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", in.Role)
	}
	if in.PackageType == "" {
		in.PackageType = "Zip"
	}
	if in.PackageType == "Zip" {
		if in.Runtime == "" || !knownRuntimes[in.Runtime] {
			return invalid("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set", in.Runtime)
		}
		if in.Handler == "" {
			return invalid("Handler is required for functions packaged as a .zip file archive")
		}
	}
	if in.Code == nil || (len(in.Code.ZipFile) == 0 && in.Code.S3Bucket == "" && in.Code.ImageURI == "") {
		return invalid("Please provide a source for function code.")
	}
	if e := checkDLQ(in.DeadLetterConfig); e != nil {
		return e
	}
	if e := checkTimeoutMemory(in.Timeout, in.MemorySize); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.funcs[in.FunctionName] != nil {
		return errf(409, "ResourceConflictException", "Function already exist: %s", in.FunctionName)
	}
	cfg := FunctionConfiguration{
		FunctionName: in.FunctionName, FunctionArn: s.arn(in.FunctionName), Runtime: in.Runtime, Role: in.Role,
		Handler: in.Handler, Description: in.Description, Timeout: 3, MemorySize: 128,
		CodeSize: int64(len(in.Code.ZipFile)), CodeSha256: "emulated", Version: "$LATEST",
		LastModified: time.Now().UTC().Format("2006-01-02T15:04:05.000+0000"), State: "Active",
		LastUpdateStatus: "Successful", PackageType: in.PackageType, DeadLetterConfig: in.DeadLetterConfig,
		RevisionID: awsproto.RequestID(), Architectures: []string{"x86_64"}, Environment: in.Environment,
	}
	if in.Timeout != nil {
		cfg.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		cfg.MemorySize = *in.MemorySize
	}
	s.funcs[in.FunctionName] = &function{cfg: cfg}
	writeJSON(w, http.StatusCreated, cfg)
	return nil
}

func (s *Server) getFunction(w http.ResponseWriter, ref string, full bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.resolve(ref, "")
	if e != nil {
		return e
	}
	if !full {
		writeJSON(w, 200, f.cfg)
		return nil
	}
	writeJSON(w, 200, map[string]any{
		"Configuration": f.cfg,
		"Code":          map[string]string{"RepositoryType": "S3", "Location": "https://awslambda-" + s.region + "-tasks.s3.amazonaws.com/snapshots/" + s.account + "/" + f.cfg.FunctionName},
	})
	return nil
}

func (s *Server) deleteFunction(w http.ResponseWriter, ref string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.resolve(ref, "")
	if e != nil {
		return e
	}
	delete(s.funcs, f.cfg.FunctionName)
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	maxItems := 0
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return invalid("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", v)
		}
		maxItems = n
	}
	s.mu.Lock()
	names := make([]string, 0, len(s.funcs))
	for n := range s.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	all := make([]FunctionConfiguration, len(names))
	for i, n := range names {
		all[i] = s.funcs[n].cfg
	}
	ps := s.pageSize
	s.mu.Unlock()
	page, next, err := awsproto.Paginate(all, q.Get("Marker"), maxItems, ps, "InvalidParameterValueException")
	if err != nil {
		return invalid("Invalid marker")
	}
	out := map[string]any{"Functions": page}
	if next != "" {
		out["NextMarker"] = next
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) updateConfiguration(w http.ResponseWriter, ref string, body []byte) *apiError {
	var in struct {
		Role             *string           `json:"Role"`
		Handler          *string           `json:"Handler"`
		Description      *string           `json:"Description"`
		Timeout          *int              `json:"Timeout"`
		MemorySize       *int              `json:"MemorySize"`
		Runtime          *string           `json:"Runtime"`
		DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig"`
		RevisionID       *string           `json:"RevisionId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return invalid("could not parse request: %v", err)
	}
	if in.Role != nil && !validRole.MatchString(*in.Role) {
		return invalid("1 validation error detected: Value '%s' at 'role' failed to satisfy constraint", *in.Role)
	}
	if in.Runtime != nil && !knownRuntimes[*in.Runtime] {
		return invalid("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set", *in.Runtime)
	}
	if e := checkDLQ(in.DeadLetterConfig); e != nil {
		return e
	}
	if e := checkTimeoutMemory(in.Timeout, in.MemorySize); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.resolve(ref, "")
	if e != nil {
		return e
	}
	if in.RevisionID != nil && *in.RevisionID != f.cfg.RevisionID {
		return errf(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	c := &f.cfg
	if in.Role != nil {
		c.Role = *in.Role
	}
	if in.Handler != nil {
		c.Handler = *in.Handler
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.Timeout != nil {
		c.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		c.MemorySize = *in.MemorySize
	}
	if in.Runtime != nil {
		c.Runtime = *in.Runtime
	}
	if in.DeadLetterConfig != nil {
		if in.DeadLetterConfig.TargetArn == "" {
			c.DeadLetterConfig = nil // an empty TargetArn removes the DLQ
		} else {
			d := *in.DeadLetterConfig
			c.DeadLetterConfig = &d
		}
	}
	c.LastModified = time.Now().UTC().Format("2006-01-02T15:04:05.000+0000")
	c.RevisionID = awsproto.RequestID()
	writeJSON(w, 200, f.cfg)
	return nil
}

// Payload limits (Lambda quotas): 6 MB synchronous, 1 MB asynchronous.
const (
	maxSyncPayload  = 6 << 20
	maxAsyncPayload = 1 << 20
)

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, ref string, body []byte) *apiError {
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	switch typ {
	case "Event", "RequestResponse", "DryRun":
	default:
		return invalid("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)
	}
	if (typ == "Event" && len(body) > maxAsyncPayload) || len(body) > maxSyncPayload {
		return errf(413, "RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", map[bool]int{true: maxAsyncPayload, false: maxSyncPayload}[typ == "Event"])
	}
	if len(body) > 0 && !json.Valid(body) {
		return errf(400, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
	}
	s.mu.Lock()
	f, e := s.resolve(ref, r.URL.Query().Get("Qualifier"))
	if e != nil {
		s.mu.Unlock()
		return e
	}
	if f.throttle > 0 {
		f.throttle--
		s.mu.Unlock()
		e := errf(429, "TooManyRequestsException", "Rate Exceeded.")
		e.reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
		w.Header().Set("Retry-After", "1")
		return e
	}
	if typ == "DryRun" {
		s.mu.Unlock()
		writeJSON(w, http.StatusNoContent, nil)
		return nil
	}
	rid := awsproto.RequestID()
	s.invocations = append(s.invocations, Invocation{
		Function: f.cfg.FunctionName, Type: typ, Payload: append([]byte(nil), body...),
		RequestID: rid, Qualifier: r.URL.Query().Get("Qualifier"), At: time.Now(),
	})
	h := f.handler
	s.mu.Unlock()
	w.Header().Set("X-Amzn-RequestId", rid)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if typ == "Event" {
		if h != nil {
			go h(body) // asynchronous: the caller never sees the outcome
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	out := []byte("null")
	if h != nil {
		res, err := h(body)
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			json.NewEncoder(w).Encode(map[string]any{"errorMessage": err.Error(), "errorType": "Error", "stackTrace": []string{}})
			return nil
		}
		if res != nil {
			out = res
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	w.Write(out)
	return nil
}

func (s *Server) putEIC(w http.ResponseWriter, r *http.Request, ref string, body []byte, update bool) *apiError {
	var in struct {
		MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
		MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
		DestinationConfig        *DestinationConfig `json:"DestinationConfig"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return invalid("could not parse request: %v", err)
		}
	}
	if v := in.MaximumRetryAttempts; v != nil && (*v < 0 || *v > 2) {
		return invalid("1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", *v)
	}
	if v := in.MaximumEventAgeInSeconds; v != nil && (*v < 60 || *v > 21600) {
		return invalid("1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 21600", *v)
	}
	if dc := in.DestinationConfig; dc != nil {
		for _, d := range []*Destination{dc.OnFailure, dc.OnSuccess} {
			if d != nil && d.Destination != "" && !validDestARN.MatchString(d.Destination) {
				return invalid("The destination ARN %s is invalid.", d.Destination)
			}
		}
		if dc.OnFailure != nil && strings.HasSuffix(dc.OnFailure.Destination, ".fifo") {
			return invalid("The destination ARN %s is invalid: FIFO queues are not supported as destinations", dc.OnFailure.Destination)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.resolve(ref, r.URL.Query().Get("Qualifier"))
	if e != nil {
		return e
	}
	if update && f.eic == nil {
		return notFound("The function %s doesn't have an EventInvokeConfig", f.cfg.FunctionArn)
	}
	c := &EventInvokeConfig{}
	if update {
		cp := *f.eic
		c = &cp
	}
	c.FunctionArn = f.cfg.FunctionArn + ":$LATEST"
	c.LastModified = awsproto.EpochTime(time.Now().UTC())
	if in.MaximumRetryAttempts != nil || !update {
		c.MaximumRetryAttempts = in.MaximumRetryAttempts
	}
	if in.MaximumEventAgeInSeconds != nil || !update {
		c.MaximumEventAgeInSeconds = in.MaximumEventAgeInSeconds
	}
	if in.DestinationConfig != nil || !update {
		c.DestinationConfig = in.DestinationConfig
	}
	if c.MaximumRetryAttempts == nil {
		two := 2
		c.MaximumRetryAttempts = &two
	}
	if c.MaximumEventAgeInSeconds == nil {
		six := 21600
		c.MaximumEventAgeInSeconds = &six
	}
	if c.DestinationConfig == nil {
		c.DestinationConfig = &DestinationConfig{}
	}
	f.eic = c
	writeJSON(w, 200, c)
	return nil
}

func (s *Server) getEIC(w http.ResponseWriter, ref string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.resolve(ref, "")
	if e != nil {
		return e
	}
	if f.eic == nil {
		return notFound("The function %s doesn't have an EventInvokeConfig", f.cfg.FunctionArn)
	}
	writeJSON(w, 200, f.eic)
	return nil
}

func (s *Server) deleteEIC(w http.ResponseWriter, ref string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.resolve(ref, "")
	if e != nil {
		return e
	}
	if f.eic == nil {
		return notFound("The function %s doesn't have an EventInvokeConfig", f.cfg.FunctionArn)
	}
	f.eic = nil
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) listEIC(w http.ResponseWriter, r *http.Request, ref string) *apiError {
	q := r.URL.Query()
	maxItems := 0
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return invalid("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 50", v)
		}
		maxItems = n
	}
	s.mu.Lock()
	f, e := s.resolve(ref, "")
	var all []EventInvokeConfig
	if f != nil && f.eic != nil {
		all = append(all, *f.eic)
	}
	ps := s.pageSize
	s.mu.Unlock()
	if e != nil {
		return e
	}
	page, next, err := awsproto.Paginate(all, q.Get("Marker"), maxItems, ps, "InvalidParameterValueException")
	if err != nil {
		return invalid("Invalid marker")
	}
	out := map[string]any{"FunctionEventInvokeConfigs": page}
	if next != "" {
		out["NextMarker"] = next
	}
	writeJSON(w, 200, out)
	return nil
}
