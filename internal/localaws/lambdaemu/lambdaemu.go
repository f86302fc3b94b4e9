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
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/clock"
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

	rest awsproto.RESTService

	mu          sync.Mutex
	funcs       map[string]*function
	invocations []Invocation
	pageSize    int

	// Asynchronous invocation (async.go).
	clk            clock.Clock
	sqs            *sqs.Client
	async          []*asyncEvent
	deliveryErrors []string
	esms           []EventSourceMapping // esm.go
}

type function struct {
	cfg      FunctionConfiguration
	eic      *EventInvokeConfig
	tags     map[string]string
	handler  Handler
	throttle int
}

// New returns an empty Lambda for region and account.
func New(region, account string) *Server {
	s := &Server{region: region, account: account, funcs: map[string]*function{}, pageSize: 2}
	s.rest = awsproto.RESTService{
		Routes:            s.routes(),
		ValidationCode:    "InvalidParameterValueException",
		SerializationCode: "InvalidRequestContentException",
		MaxBody:           7 << 20,
		ErrorFields:       errorType,
	}
	return s
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
	validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// botocore lambda service-2.json RoleArn.pattern.
	validRole    = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	validDestARN = regexp.MustCompile(`^arn:aws[a-z-]*:(sqs|sns|lambda|events|s3):[a-z0-9-]*:\d{12}:?.+$`)
	validDLQARN  = regexp.MustCompile(`^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:.+$`)
	// runtimes is botocore lambda service-2.json Runtime.enum, in model order.
	runtimes = []string{"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "java8", "java8.al2", "java11", "java17", "java21", "java25", "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8", "dotnet10", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3", "ruby3.4", "ruby4.0", "provided", "provided.al2", "provided.al2023", "nodejs26.x", "python3.15", "java8.al2023", "java11.al2023", "java17.al2023"}
)

// v words Lambda's constraint violations: every one is an
// InvalidParameterValueException (botocore lambda: the only validation error
// each operation lists).
var v = awsproto.Validator{Code: "InvalidParameterValueException"}

// tagRules: botocore lambda TagKey (1-128), TagValue (0-256); at most 50 tags
// per function (Lambda quotas).
var tagRules = awsproto.TagRules{Validator: v, Member: "tags"}

// routes is the operation table: methods, URIs and success statuses from
// botocore lambda service-2.json ("http" of each operation). DeleteFunction
// answers 204 as Lambda does (the model says 200).
func (s *Server) routes() []awsproto.Route {
	return []awsproto.Route{
		{Op: "CreateFunction", Method: "POST", Path: "/2015-03-31/functions", Status: http.StatusCreated, Handler: s.createFunction},
		{Op: "ListFunctions", Method: "GET", Path: "/2015-03-31/functions", Handler: s.listFunctions},
		{Op: "GetFunction", Method: "GET", Path: "/2015-03-31/functions/{FunctionName}", Handler: s.getFunction},
		{Op: "DeleteFunction", Method: "DELETE", Path: "/2015-03-31/functions/{FunctionName}", Status: http.StatusNoContent, Handler: s.deleteFunction},
		{Op: "GetFunctionConfiguration", Method: "GET", Path: "/2015-03-31/functions/{FunctionName}/configuration", Handler: s.getFunctionConfiguration},
		{Op: "UpdateFunctionConfiguration", Method: "PUT", Path: "/2015-03-31/functions/{FunctionName}/configuration", Handler: s.updateConfiguration},
		{Op: "Invoke", Method: "POST", Path: "/2015-03-31/functions/{FunctionName}/invocations", Handler: s.invoke},
		{Op: "PutFunctionEventInvokeConfig", Method: "PUT", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Handler: s.putEIC},
		{Op: "UpdateFunctionEventInvokeConfig", Method: "POST", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Handler: s.putEIC},
		{Op: "GetFunctionEventInvokeConfig", Method: "GET", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Handler: s.getEIC},
		{Op: "DeleteFunctionEventInvokeConfig", Method: "DELETE", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config", Status: http.StatusNoContent, Handler: s.deleteEIC},
		{Op: "ListFunctionEventInvokeConfigs", Method: "GET", Path: "/2019-09-25/functions/{FunctionName}/event-invoke-config/list", Handler: s.listEIC},
		{Op: "CreateEventSourceMapping", Method: "POST", Path: "/2015-03-31/event-source-mappings", Status: http.StatusAccepted, Handler: s.createESM},
		{Op: "ListEventSourceMappings", Method: "GET", Path: "/2015-03-31/event-source-mappings", Handler: s.listESMs},
		{Op: "TagResource", Method: "POST", Path: "/2017-03-31/tags/{Resource}", Status: http.StatusNoContent, Handler: s.tagResource},
		{Op: "UntagResource", Method: "DELETE", Path: "/2017-03-31/tags/{Resource}", Status: http.StatusNoContent, Handler: s.untagResource},
		{Op: "ListTags", Method: "GET", Path: "/2017-03-31/tags/{Resource}", Handler: s.listTags},
	}
}

// OperationName names a request as the Lambda API does.
func (s *Server) OperationName(r *http.Request) string { return s.rest.OperationName(r) }

// Protocol implements awsproto.ProtocolSpeaker: Lambda speaks restJson1.
func (s *Server) Protocol() awsproto.Protocol { return awsproto.RESTJSON }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Pump() // retries that came due on the clock (async.go)
	s.rest.ServeHTTP(w, r)
}

// Lambda's errors carry "Type": "User" for client faults and "Service" for
// server faults (every error shape in the model has a Type member).
func errorType(e *awsproto.Error) map[string]any {
	if e.Status >= 500 {
		return map[string]any{"Type": "Service"}
	}
	return map[string]any{"Type": "User"}
}

func errf(status int, code, format string, args ...any) *awsproto.Error {
	e := awsproto.Errf(code, format, args...)
	e.Status = status
	return e
}

func notFound(format string, args ...any) *awsproto.Error {
	return errf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func invalid(format string, args ...any) *awsproto.Error {
	return errf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

// resolve finds a function by name, ARN or partial ARN (with an optional
// $LATEST qualifier). Callers hold s.mu.
func (s *Server) resolve(ref, qualifier string) (*function, error) {
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
		return nil, v.Violation(ref, "functionName", "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
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
	Tags map[string]string `json:"Tags"`
}

func checkDLQ(d *DeadLetterConfig) error {
	if d == nil || d.TargetArn == "" {
		return nil
	}
	if !validDLQARN.MatchString(d.TargetArn) {
		return invalid("The provided target arn %s is invalid: a dead-letter target must be an SQS queue or SNS topic ARN", d.TargetArn)
	}
	return nil
}

// checkTimeoutMemory applies Lambda's quotas (timeout 1-900 s, memory
// 128-10240 MB; the model's wider bounds, 5400 and 32768, are not what a
// function may use).
func checkTimeoutMemory(timeout, mem *int) error {
	var errs []error
	if timeout != nil {
		errs = append(errs, v.Range("timeout", int64(*timeout), 1, 900))
	}
	if mem != nil {
		errs = append(errs, v.Range("memorySize", int64(*mem), 128, 10240))
	}
	return awsproto.Check(errs...)
}

func (s *Server) createFunction(req *awsproto.RESTRequest) (any, error) {
	var in createInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	// botocore lambda CreateFunctionRequest.required: FunctionName, Role, Code.
	if err := awsproto.Check(
		v.Required("functionName", in.FunctionName != ""),
		v.Required("role", in.Role != ""),
		v.Required("code", in.Code != nil),
	); err != nil {
		return nil, err
	}
	if err := awsproto.Check(
		v.Pattern("functionName", in.FunctionName, validName),
		v.Pattern("role", in.Role, validRole),
	); err != nil {
		return nil, err
	}
	if in.PackageType == "" {
		in.PackageType = "Zip"
	}
	if in.PackageType == "Zip" {
		if err := v.Enum("runtime", in.Runtime, runtimes...); err != nil {
			return nil, err
		}
		if in.Handler == "" {
			return nil, invalid("Handler is required for functions packaged as a .zip file archive")
		}
	}
	if len(in.Code.ZipFile) == 0 && in.Code.S3Bucket == "" && in.Code.ImageURI == "" {
		return nil, invalid("Please provide a source for function code.")
	}
	if err := checkDLQ(in.DeadLetterConfig); err != nil {
		return nil, err
	}
	if err := checkTimeoutMemory(in.Timeout, in.MemorySize); err != nil {
		return nil, err
	}
	if err := tagRules.Check(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.funcs[in.FunctionName] != nil {
		return nil, errf(http.StatusConflict, "ResourceConflictException", "Function already exist: %s", in.FunctionName)
	}
	cfg := FunctionConfiguration{
		FunctionName: in.FunctionName, FunctionArn: s.arn(in.FunctionName), Runtime: in.Runtime, Role: in.Role,
		Handler: in.Handler, Description: in.Description, Timeout: 3, MemorySize: 128,
		CodeSize: int64(len(in.Code.ZipFile)), CodeSha256: "emulated", Version: "$LATEST",
		LastModified: s.now().UTC().Format("2006-01-02T15:04:05.000+0000"), State: "Active",
		LastUpdateStatus: "Successful", PackageType: in.PackageType, DeadLetterConfig: in.DeadLetterConfig,
		RevisionID: awsproto.RequestID(), Architectures: []string{"x86_64"}, Environment: in.Environment,
	}
	if in.Timeout != nil {
		cfg.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		cfg.MemorySize = *in.MemorySize
	}
	s.funcs[in.FunctionName] = &function{cfg: cfg, tags: awsproto.CopyTags(in.Tags)}
	return cfg, nil
}

func (s *Server) getFunction(req *awsproto.RESTRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), req.QueryValue("Qualifier"))
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"Configuration": f.cfg,
		"Tags":          awsproto.CopyTags(f.tags),
		"Code":          map[string]string{"RepositoryType": "S3", "Location": "https://awslambda-" + s.region + "-tasks.s3.amazonaws.com/snapshots/" + s.account + "/" + f.cfg.FunctionName},
	}, nil
}

func (s *Server) getFunctionConfiguration(req *awsproto.RESTRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), req.QueryValue("Qualifier"))
	if err != nil {
		return nil, err
	}
	return f.cfg, nil
}

func (s *Server) deleteFunction(req *awsproto.RESTRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), "")
	if err != nil {
		return nil, err
	}
	delete(s.funcs, f.cfg.FunctionName)
	return nil, nil
}

// listInput is the paging input of the List operations.
type listInput struct {
	Marker   string `rest:"query=Marker"`
	MaxItems *int   `rest:"query=MaxItems"`
}

func (s *Server) listFunctions(req *awsproto.RESTRequest) (any, error) {
	var in listInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	maxItems := 0
	if in.MaxItems != nil {
		// botocore lambda MaxListItems: 1-10000.
		if err := v.Range("maxItems", int64(*in.MaxItems), 1, 10000); err != nil {
			return nil, err
		}
		maxItems = *in.MaxItems
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
	page, next, err := awsproto.Paginate(all, in.Marker, maxItems, ps, "InvalidParameterValueException")
	if err != nil {
		return nil, invalid("Invalid marker")
	}
	out := map[string]any{"Functions": page}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

func (s *Server) updateConfiguration(req *awsproto.RESTRequest) (any, error) {
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
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Role != nil {
		if err := v.Pattern("role", *in.Role, validRole); err != nil {
			return nil, err
		}
	}
	if in.Runtime != nil {
		if err := v.Enum("runtime", *in.Runtime, runtimes...); err != nil {
			return nil, err
		}
	}
	if err := checkDLQ(in.DeadLetterConfig); err != nil {
		return nil, err
	}
	if err := checkTimeoutMemory(in.Timeout, in.MemorySize); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), "")
	if err != nil {
		return nil, err
	}
	if in.RevisionID != nil && *in.RevisionID != f.cfg.RevisionID {
		return nil, errf(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
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
	c.LastModified = s.now().UTC().Format("2006-01-02T15:04:05.000+0000")
	c.RevisionID = awsproto.RequestID()
	return f.cfg, nil
}

// Payload limits (Lambda quotas): 6 MB synchronous, 1 MB asynchronous.
const (
	maxSyncPayload  = 6 << 20
	maxAsyncPayload = 1 << 20
)

// invokeInput is botocore lambda InvocationRequest (the members opsctl uses).
type invokeInput struct {
	InvocationType string `rest:"header=X-Amz-Invocation-Type"`
	Qualifier      string `rest:"query=Qualifier"`
	Payload        []byte `rest:"payload"`
}

func (s *Server) invoke(req *awsproto.RESTRequest) (any, error) {
	var in invokeInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	typ, body := in.InvocationType, in.Payload
	if typ == "" {
		typ = "RequestResponse"
	}
	// botocore lambda InvocationType.enum.
	if err := v.Enum("invocationType", typ, "Event", "RequestResponse", "DryRun"); err != nil {
		return nil, err
	}
	if (typ == "Event" && len(body) > maxAsyncPayload) || len(body) > maxSyncPayload {
		return nil, errf(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", map[bool]int{true: maxAsyncPayload, false: maxSyncPayload}[typ == "Event"])
	}
	if len(body) > 0 && !json.Valid(body) {
		return nil, errf(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
	}
	s.mu.Lock()
	f, err := s.resolve(req.Param("FunctionName"), in.Qualifier)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if f.throttle > 0 {
		f.throttle--
		s.mu.Unlock()
		e := errf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
		e.Fields = map[string]any{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
		e.Header = map[string]string{"Retry-After": "1"}
		return nil, e
	}
	if typ == "DryRun" {
		s.mu.Unlock()
		return &awsproto.RESTResponse{Status: http.StatusNoContent}, nil
	}
	rid := awsproto.RequestID()
	s.invocations = append(s.invocations, Invocation{
		Function: f.cfg.FunctionName, Type: typ, Payload: append([]byte(nil), body...),
		RequestID: rid, Qualifier: in.Qualifier, At: s.now(),
	})
	h := f.handler
	if typ == "Event" {
		s.enqueue(f, rid, body) // retried and dead-lettered as Lambda does (async.go)
	}
	s.mu.Unlock()
	hdr := http.Header{}
	hdr.Set("X-Amzn-RequestId", rid)
	hdr.Set("X-Amz-Executed-Version", "$LATEST")
	if typ == "Event" {
		s.Pump() // the first attempt: the caller never sees its outcome
		return &awsproto.RESTResponse{Status: http.StatusAccepted, Header: hdr}, nil
	}
	out := []byte("null")
	if h != nil {
		res, err := h(body)
		if err != nil {
			hdr.Set("X-Amz-Function-Error", "Unhandled")
			return &awsproto.RESTResponse{Header: hdr, Body: map[string]any{"errorMessage": err.Error(), "errorType": "Error", "stackTrace": []string{}}}, nil
		}
		if res != nil {
			out = res
		}
	}
	return &awsproto.RESTResponse{Header: hdr, Raw: out}, nil
}

// eicInput is botocore lambda PutFunctionEventInvokeConfigRequest (and the
// Update request, which has the same members).
type eicInput struct {
	Qualifier                string             `rest:"query=Qualifier"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *DestinationConfig `json:"DestinationConfig"`
}

func (s *Server) putEIC(req *awsproto.RESTRequest) (any, error) {
	update := req.Op == "UpdateFunctionEventInvokeConfig"
	var in eicInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	// botocore lambda MaximumRetryAttempts 0-2, MaximumEventAgeInSeconds 60-21600.
	var errs []error
	if n := in.MaximumRetryAttempts; n != nil {
		errs = append(errs, v.Range("maximumRetryAttempts", int64(*n), 0, 2))
	}
	if n := in.MaximumEventAgeInSeconds; n != nil {
		errs = append(errs, v.Range("maximumEventAgeInSeconds", int64(*n), 60, 21600))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	if dc := in.DestinationConfig; dc != nil {
		for _, d := range []*Destination{dc.OnFailure, dc.OnSuccess} {
			if d != nil && d.Destination != "" && !validDestARN.MatchString(d.Destination) {
				return nil, invalid("The destination ARN %s is invalid.", d.Destination)
			}
		}
		if dc.OnFailure != nil && strings.HasSuffix(dc.OnFailure.Destination, ".fifo") {
			return nil, invalid("The destination ARN %s is invalid: FIFO queues are not supported as destinations", dc.OnFailure.Destination)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), in.Qualifier)
	if err != nil {
		return nil, err
	}
	if update && f.eic == nil {
		return nil, notFound("The function %s doesn't have an EventInvokeConfig", f.cfg.FunctionArn)
	}
	c := &EventInvokeConfig{}
	if update {
		cp := *f.eic
		c = &cp
	}
	c.FunctionArn = f.cfg.FunctionArn + ":$LATEST"
	c.LastModified = awsproto.EpochTime(s.now().UTC())
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
	return c, nil
}

func (s *Server) getEIC(req *awsproto.RESTRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), "")
	if err != nil {
		return nil, err
	}
	if f.eic == nil {
		return nil, notFound("The function %s doesn't have an EventInvokeConfig", f.cfg.FunctionArn)
	}
	return f.eic, nil
}

func (s *Server) deleteEIC(req *awsproto.RESTRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.resolve(req.Param("FunctionName"), "")
	if err != nil {
		return nil, err
	}
	if f.eic == nil {
		return nil, notFound("The function %s doesn't have an EventInvokeConfig", f.cfg.FunctionArn)
	}
	f.eic = nil
	return nil, nil
}

func (s *Server) listEIC(req *awsproto.RESTRequest) (any, error) {
	var in listInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	maxItems := 0
	if in.MaxItems != nil {
		// botocore lambda MaxFunctionEventInvokeConfigListItems: 1-50.
		if err := v.Range("maxItems", int64(*in.MaxItems), 1, 50); err != nil {
			return nil, err
		}
		maxItems = *in.MaxItems
	}
	s.mu.Lock()
	f, err := s.resolve(req.Param("FunctionName"), "")
	var all []EventInvokeConfig
	if f != nil && f.eic != nil {
		all = append(all, *f.eic)
	}
	ps := s.pageSize
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	page, next, perr := awsproto.Paginate(all, in.Marker, maxItems, ps, "InvalidParameterValueException")
	if perr != nil {
		return nil, invalid("Invalid marker")
	}
	out := map[string]any{"FunctionEventInvokeConfigs": page}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

// taggedFunction resolves a tagging API's Resource: a function ARN
// (botocore lambda TaggableResource). Callers hold s.mu.
func (s *Server) taggedFunction(arn string) (*function, error) {
	p := strings.Split(arn, ":")
	if len(p) < 7 || p[0] != "arn" || p[2] != "lambda" || p[5] != "function" {
		return nil, v.Violation(arn, "resource", "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}(-gov)?-[a-z]+-\\d{1}:\\d{12}:function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
	}
	return s.resolve(arn, "")
}

func (s *Server) tagResource(req *awsproto.RESTRequest) (any, error) {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	// botocore lambda TagResourceRequest.required: Resource, Tags.
	if err := v.Required("tags", in.Tags != nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.taggedFunction(req.Param("Resource"))
	if err != nil {
		return nil, err
	}
	if f.tags == nil {
		f.tags = map[string]string{}
	}
	return nil, tagRules.Apply(f.tags, in.Tags)
}

func (s *Server) untagResource(req *awsproto.RESTRequest) (any, error) {
	var in struct {
		TagKeys []string `rest:"query=tagKeys"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	// botocore lambda UntagResourceRequest.required: Resource, TagKeys.
	if err := v.Required("tagKeys", in.TagKeys != nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.taggedFunction(req.Param("Resource"))
	if err != nil {
		return nil, err
	}
	awsproto.Untag(f.tags, in.TagKeys)
	return nil, nil
}

func (s *Server) listTags(req *awsproto.RESTRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.taggedFunction(req.Param("Resource"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": awsproto.CopyTags(f.tags)}, nil
}
