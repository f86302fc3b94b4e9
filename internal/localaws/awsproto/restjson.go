package awsproto

// The restJson1 codec (Lambda today; API Gateway-style services next): the
// operation is named by the HTTP method and the URI, members travel in the
// path ({Name} labels), the query string, headers and a JSON body, and the
// output's status code is part of the operation's model (botocore
// "http": {"method", "requestUri", "responseCode"}).
//
// Errors follow the Smithy restJson1 conventions
// (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization):
// the code travels in the X-Amzn-ErrorType header (clients read it before the
// body), the status is the error shape's httpStatusCode, and the body is a JSON
// object with "message" (SDKs also accept "Message") plus any modelled
// members, for example Lambda's {"Type":"User","message":"..."}.
//
// A service is a RESTService: a table of routes, each a method and a URI
// pattern from the API model, and a RESTHandler per operation:
//
//	s.rest = awsproto.RESTService{ValidationCode: "InvalidParameterValueException", Routes: []awsproto.Route{
//		{Op: "GetFunction", Method: "GET", Path: "/2015-03-31/functions/{FunctionName}", Handler: s.getFunction},
//	}}
//
// A handler decodes its input with RESTRequest.Decode into a struct whose
// fields carry encoding/json tags for body members and `rest:"..."` tags for
// the others:
//
//	rest:"uri=FunctionName"             a path label
//	rest:"query=MaxItems"               a query-string parameter
//	rest:"header=X-Amz-Invocation-Type" a header
//	rest:"payload"                      the raw body ([]byte; the body is then not JSON-decoded)
//
// It returns the output (encoded as JSON with the route's Status), a
// *RESTResponse when status, headers or a raw body vary per call, nil for no
// body, or an error (an *Error, anything else is a 500).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// RESTHandler serves one restJson1 operation.
type RESTHandler func(req *RESTRequest) (any, error)

// Route binds an operation to its HTTP method and URI pattern, as the API
// model's "http" trait gives them. Path is the requestUri: literal segments,
// {Label} segments (one path segment, unescaped) and an optional trailing
// {Label+} (the rest of the path). A "?name" or "?name=value" suffix requires
// that query parameter. Status is the success status (default 200).
type Route struct {
	Op      string
	Method  string
	Path    string
	Status  int
	Handler RESTHandler
}

// compiledRoute is a Route with its pattern split.
type compiledRoute struct {
	*Route
	segs  []string
	query url.Values
}

// RESTResponse is an output whose status, headers or body are chosen per
// call (Lambda's Invoke answers 200, 202 or 204 and carries a raw payload).
type RESTResponse struct {
	Status int         // 0: the route's Status
	Header http.Header // extra response headers
	Body   any         // encoded as JSON unless Raw is set; nil: no body
	Raw    []byte      // written as is (Content-Type application/json unless Header sets one)
}

// RESTService serves a restJson1 service from a table of routes.
type RESTService struct {
	Routes []Route
	// ValidationCode is the error code for query-string, header or label
	// values that do not fit their member's type (default
	// "ValidationException", the Smithy default; Lambda uses
	// "InvalidParameterValueException").
	ValidationCode string
	// SerializationCode is the error code for a body that is not valid JSON
	// (default "SerializationException"; Lambda uses
	// "InvalidRequestContentException").
	SerializationCode string
	// MaxBody caps the request body read (default 10 MiB); longer bodies are
	// cut there, and handlers enforce their own payload quotas.
	MaxBody int64
	// ErrorFields, if set, adds modelled members to every error body (Lambda:
	// "Type": "User" or "Service").
	ErrorFields func(e *Error) map[string]any

	once   sync.Once
	routes []compiledRoute
}

func (s *RESTService) compile() {
	s.once.Do(func() {
		for i := range s.Routes {
			rt := &s.Routes[i]
			p, q, _ := strings.Cut(rt.Path, "?")
			c := compiledRoute{Route: rt, segs: splitPath(p), query: url.Values{}}
			if q != "" {
				for _, kv := range strings.Split(q, "&") {
					k, v, _ := strings.Cut(kv, "=")
					c.query.Add(k, v)
				}
			}
			s.routes = append(s.routes, c)
		}
	})
}

// RESTRequest is a routed request.
type RESTRequest struct {
	*http.Request
	// Op is the operation name.
	Op string
	// Params are the path labels, unescaped.
	Params map[string]string
	// Body is the request body as read.
	Body []byte

	svc *RESTService
}

// Param returns the path label name ("" if absent).
func (q *RESTRequest) Param(name string) string { return q.Params[name] }

// QueryValue returns the query-string parameter name ("" if absent).
func (q *RESTRequest) QueryValue(name string) string { return q.URL.Query().Get(name) }

// Decode fills v, a pointer to a struct: body members through encoding/json
// (an empty body leaves them zero), then the fields tagged `rest:"..."`.
func (q *RESTRequest) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return &Error{Status: 500, Code: "InternalFailure", Message: fmt.Sprintf("awsproto: cannot decode a REST request into %T", v)}
	}
	rv = rv.Elem()
	t := rv.Type()
	payload := false
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("rest") == "payload" {
			payload = true
		}
	}
	if !payload && len(bytes.TrimSpace(q.Body)) > 0 {
		if err := json.Unmarshal(q.Body, v); err != nil {
			return Errf(q.svc.serializationCode(), "Could not parse request body into json: %s", err.Error())
		}
	}
	query := q.URL.Query()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("rest")
		if !ok || !f.IsExported() {
			continue
		}
		if tag == "payload" {
			fv := rv.Field(i)
			if fv.Kind() != reflect.Slice || fv.Type().Elem().Kind() != reflect.Uint8 {
				return &Error{Status: 500, Code: "InternalFailure", Message: "awsproto: a rest payload field must be a byte slice: " + f.Name}
			}
			fv.SetBytes(append([]byte(nil), q.Body...))
			continue
		}
		kind, name, ok := strings.Cut(tag, "=")
		if !ok {
			return &Error{Status: 500, Code: "InternalFailure", Message: "awsproto: bad rest tag on " + f.Name + ": " + tag}
		}
		var vals []string
		switch kind {
		case "uri":
			if p, ok := q.Params[name]; ok {
				vals = []string{p}
			}
		case "query":
			vals = query[name]
		case "header":
			vals = q.Header.Values(name)
		default:
			return &Error{Status: 500, Code: "InternalFailure", Message: "awsproto: bad rest tag on " + f.Name + ": " + tag}
		}
		if len(vals) == 0 {
			continue
		}
		if kind == "header" && rv.Field(i).Kind() == reflect.Slice {
			// Headers carry lists comma-separated; query strings repeat the key.
			var split []string
			for _, x := range vals {
				for _, p := range strings.Split(x, ",") {
					split = append(split, strings.TrimSpace(p))
				}
			}
			vals = split
		}
		if err := setText(rv.Field(i), vals); err != nil {
			return Errf(q.svc.validationCode(), "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", vals[0], lowerFirst(name), err.Error())
		}
	}
	return nil
}

// setText sets a string, number, bool (or a pointer to one), or a []string
// from text values.
func setText(v reflect.Value, vals []string) error {
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := setText(nv.Elem(), vals); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	s := vals[0]
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("Member must be a boolean")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("Member must be an integer")
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("Member must be a number")
		}
		v.SetFloat(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", v.Type())
		}
		v.Set(reflect.ValueOf(append([]string(nil), vals...)).Convert(v.Type()))
	default:
		return fmt.Errorf("unsupported member type %s", v.Type())
	}
	return nil
}

func (s *RESTService) validationCode() string {
	if s == nil || s.ValidationCode == "" {
		return "ValidationException"
	}
	return s.ValidationCode
}

func (s *RESTService) serializationCode() string {
	if s == nil || s.SerializationCode == "" {
		return "SerializationException"
	}
	return s.SerializationCode
}

// match reports whether rt serves method and the escaped path, with the
// labels it captured. score counts literal segments, so /a/list beats /a/{x}.
func (rt *compiledRoute) match(method, path string, query url.Values) (params map[string]string, score int, pathOK bool) {
	segs := splitPath(path)
	params = map[string]string{}
	for i, pat := range rt.segs {
		if strings.HasPrefix(pat, "{") && strings.HasSuffix(pat, "+}") {
			if i >= len(segs) {
				return nil, 0, false
			}
			rest := make([]string, 0, len(segs)-i)
			for _, s := range segs[i:] {
				rest = append(rest, unescapeSeg(s))
			}
			params[pat[1:len(pat)-2]] = strings.Join(rest, "/")
			segs = segs[:i]
			break
		}
		if i >= len(segs) {
			return nil, 0, false
		}
		if strings.HasPrefix(pat, "{") && strings.HasSuffix(pat, "}") {
			if segs[i] == "" {
				return nil, 0, false
			}
			params[pat[1:len(pat)-1]] = unescapeSeg(segs[i])
			continue
		}
		if pat != segs[i] {
			return nil, 0, false
		}
		score++
	}
	if len(segs) > len(rt.segs) {
		return nil, 0, false
	}
	for k, vs := range rt.query {
		if !query.Has(k) || (vs[0] != "" && query.Get(k) != vs[0]) {
			return nil, 0, false
		}
		score++
	}
	if !strings.EqualFold(method, rt.Method) {
		return nil, score, true
	}
	return params, score, true
}

// splitPath splits an escaped path into segments, ignoring a trailing slash.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return []string{}
	}
	return strings.Split(p, "/")
}

func unescapeSeg(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// route finds the route for r: the matching route with the most literal
// segments. known reports whether some route matched the path with another
// method.
func (s *RESTService) route(r *http.Request) (rt *Route, params map[string]string, known bool) {
	s.compile()
	best := -1
	path, query := r.URL.EscapedPath(), r.URL.Query()
	for i := range s.routes {
		p, score, pathOK := s.routes[i].match(r.Method, path, query)
		if pathOK {
			known = true
		}
		if p != nil && score > best {
			rt, params, best = s.routes[i].Route, p, score
		}
	}
	return rt, params, known
}

// OperationName names a request by its route ("" when none matches), for
// localaws's call log and fault matching.
func (s *RESTService) OperationName(r *http.Request) string {
	if rt, _, _ := s.route(r); rt != nil {
		return rt.Op
	}
	return ""
}

// Protocol implements ProtocolSpeaker.
func (s *RESTService) Protocol() Protocol { return RESTJSON }

// ServeHTTP implements http.Handler.
func (s *RESTService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	max := s.MaxBody
	if max <= 0 {
		max = 10 << 20
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, max))
		if err != nil {
			s.WriteError(w, Errf(s.serializationCode(), "could not read the request body"))
			return
		}
		body = b
	}
	rt, params, known := s.route(r)
	if rt == nil {
		e := &Error{Status: http.StatusNotFound, Code: "UnknownOperationException", Sender: true,
			Message: fmt.Sprintf("operation %s %s is not supported by this emulator", r.Method, r.URL.EscapedPath())}
		if known {
			e.Status = http.StatusMethodNotAllowed
		}
		s.WriteError(w, e)
		return
	}
	req := &RESTRequest{Request: r, Op: rt.Op, Params: params, Body: body, svc: s}
	out, err := rt.Handler(req)
	if err != nil {
		s.WriteError(w, asError(err))
		return
	}
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	WriteRESTOutput(w, status, out)
}

// WriteRESTOutput writes out (see RESTHandler) with status.
func WriteRESTOutput(w http.ResponseWriter, status int, out any) {
	h := w.Header()
	if h.Get("X-Amzn-RequestId") == "" {
		h.Set("X-Amzn-RequestId", RequestID())
	}
	if resp, ok := out.(*RESTResponse); ok {
		for k, vs := range resp.Header {
			h[k] = vs
		}
		if resp.Status != 0 {
			status = resp.Status
		}
		switch {
		case resp.Raw != nil:
			if h.Get("Content-Type") == "" {
				h.Set("Content-Type", "application/json")
			}
			w.WriteHeader(status)
			w.Write(resp.Raw)
			return
		case resp.Body == nil:
			w.WriteHeader(status)
			return
		}
		out = resp.Body
	}
	if out == nil || status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeRESTJSONError(w, &Error{Status: 500, Code: "InternalFailure", Message: "could not encode response: " + err.Error()}, nil)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// WriteError writes e in the restJson1 error shape, with the service's
// ErrorFields.
func (s *RESTService) WriteError(w http.ResponseWriter, e *Error) {
	writeRESTJSONError(w, e, s.ErrorFields)
}

// writeRESTJSONError writes e as restJson1 does: X-Amzn-ErrorType, the
// status, and {"message": ..., "Message": ..., modelled members}.
func writeRESTJSONError(w http.ResponseWriter, e *Error, fields func(*Error) map[string]any) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	h := w.Header()
	h.Set("X-Amzn-RequestId", RequestID())
	h.Set("X-Amzn-ErrorType", e.Code)
	h.Set("Content-Type", "application/json")
	for k, v := range e.Header {
		h.Set(k, v)
	}
	body := map[string]any{}
	if fields != nil {
		for k, v := range fields(e) {
			body[k] = v
		}
	}
	for k, v := range e.Fields {
		body[k] = v
	}
	// Shapes model either member name (Lambda: ResourceNotFoundException has
	// Message, InvalidParameterValueException has message).
	body["message"] = e.Message
	body["Message"] = e.Message
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
