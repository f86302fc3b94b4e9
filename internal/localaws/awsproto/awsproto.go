// Package awsproto holds the wire-protocol plumbing shared by opsctl's own AWS
// emulations: recognising a request's protocol and operation, decoding inputs,
// encoding outputs and AWS-shaped errors (one *Error type for every protocol),
// NextToken pagination, and the validation and tag helpers every emulation
// needs.
//
// One codec per protocol:
//
//	awsJson 1.0/1.1, rpcv2Cbor  RPC          (awsproto.go)  Logs, Firehose, DynamoDB, CloudWatch, ECS...
//	awsQuery                    QueryService (query.go)     IAM, Auto Scaling, ELBv2
//	ec2Query                    EC2Service   (ec2query.go)  EC2
//	restJson1                   RESTService  (restjson.go)  Lambda
//
// An RPC emulation is a map from operation name to a handler that decodes its
// input with the Decoder it is given and returns an output struct or an
// *Error. The same handler serves JSON and CBOR clients.
package awsproto

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Protocol is an AWS wire protocol.
type Protocol string

const (
	JSON10   Protocol = "awsJson1_0"
	JSON11   Protocol = "awsJson1_1"
	CBOR     Protocol = "rpcv2Cbor"
	Query    Protocol = "awsQuery"
	RESTXML  Protocol = "restXml"
	RESTJSON Protocol = "restJson1"
)

// ProtocolSpeaker is implemented by services whose protocol cannot always be
// told from a request's headers (a bodiless restJson1 GET looks like
// REST-XML); the endpoint marks their requests WithProtocol, so injected
// faults answer in the service's error shape.
type ProtocolSpeaker interface {
	Protocol() Protocol
}

type protocolKey struct{}

// WithProtocol returns r marked as speaking p: Detect then returns p.
func WithProtocol(r *http.Request, p Protocol) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), protocolKey{}, p))
}

// Detect returns the protocol a request speaks.
func Detect(r *http.Request) Protocol {
	if p, ok := r.Context().Value(protocolKey{}).(Protocol); ok {
		return p
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" || strings.HasPrefix(ct, "application/cbor"):
		return CBOR
	case strings.HasPrefix(ct, "application/x-amz-json-1.0"):
		return JSON10
	case strings.HasPrefix(ct, "application/x-amz-json-1.1"):
		return JSON11
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded") && r.Method == http.MethodPost:
		return Query
	case r.Header.Get("X-Amz-Target") != "":
		return JSON11
	case strings.HasPrefix(ct, "application/json"):
		// restJson1 requests with a body (Lambda); bodiless ones cannot be
		// told from REST-XML by their headers alone.
		return RESTJSON
	}
	return RESTXML
}

// Operation names the operation of an RPC-style request: the X-Amz-Target
// suffix (JSON), the path's last element (CBOR: /service/S/operation/Op) or the
// Action form field (Query; body is the already-read request body). REST
// requests return "" and are named by their service.
func Operation(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return t[i+1:]
		}
		return t
	}
	if i := strings.Index(r.URL.Path, "/operation/"); i >= 0 {
		return r.URL.Path[i+len("/operation/"):]
	}
	if Detect(r) == Query {
		if v, err := url.ParseQuery(string(body)); err == nil {
			return v.Get("Action")
		}
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	return ""
}

// Error is an AWS error response.
type Error struct {
	Status  int
	Code    string
	Message string
	// Sender is false for server-side faults (Query protocol <Type>).
	Sender bool
	// Type, when set, is the modeled error shape sent as __type in JSON and
	// CBOR bodies (for example "com.amazonaws.cloudwatch#ResourceNotFound")
	// while Code travels in X-Amzn-Query-Error. awsQuery-compatible services
	// (CloudWatch, SQS) answer that way, and the SDK then returns the typed
	// error with ErrorCode() == Code. Empty means __type is Code.
	Type string
	// Fields are further modelled members of the error shape, sent in JSON,
	// CBOR and REST-JSON bodies (Lambda's TooManyRequestsException "Reason").
	Fields map[string]any
	// Header holds response headers the error carries (Retry-After).
	Header map[string]string
}

// bodyType is the __type a JSON or CBOR error body carries.
func (e *Error) bodyType() string {
	if e.Type != "" {
		return e.Type
	}
	return e.Code
}

// body is the JSON or CBOR error document: __type, message and Fields.
func (e *Error) body() map[string]any {
	m := make(map[string]any, len(e.Fields)+2)
	for k, v := range e.Fields {
		m[k] = v
	}
	m["__type"] = e.bodyType()
	m["message"] = e.Message
	return m
}

// queryError is the X-Amzn-Query-Error header value for e.
func (e *Error) queryError() string {
	if e.Sender {
		return e.Code + ";Sender"
	}
	return e.Code + ";Receiver"
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errf builds a 400 client error.
func Errf(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...), Sender: true}
}

// Common errors.
func ResourceNotFound(format string, args ...any) *Error {
	return Errf("ResourceNotFoundException", format, args...)
}
func InvalidParameter(format string, args ...any) *Error {
	return Errf("InvalidParameterException", format, args...)
}

var requestSeq atomic.Int64

// RequestID returns a fresh request id.
func RequestID() string {
	n := requestSeq.Add(1)
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().Unix()&0xffffffff, n)
}

// WriteError writes e in the protocol the request spoke.
func WriteError(w http.ResponseWriter, r *http.Request, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	switch {
	case Detect(r) == RESTJSON:
		writeRESTJSONError(w, e, nil)
		return
	case IsEC2Query(r):
		// EC2 clients read only Response/Errors/Error (injected faults land here).
		WriteEC2Error(w, e)
		return
	}
	rid := RequestID()
	w.Header().Set("X-Amzn-RequestId", rid)
	for k, v := range e.Header {
		w.Header().Set(k, v)
	}
	switch p := Detect(r); p {
	case CBOR:
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		// Read only by clients of awsQuery-compatible services.
		w.Header().Set("X-Amzn-Query-Error", e.queryError())
		b, _ := cborEnc.Marshal(e.body())
		w.WriteHeader(status)
		w.Write(b)
	case JSON10, JSON11:
		ct := "application/x-amz-json-1.1"
		if p == JSON10 {
			ct = "application/x-amz-json-1.0"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Amzn-ErrorType", e.bodyType())
		// Query-compatible JSON services (SQS) also read this header.
		w.Header().Set("X-Amzn-Query-Error", e.queryError())
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(e.body())
	case Query:
		kind := "Sender"
		if !e.Sender {
			kind = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0"?><ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			kind, xmlEscape(e.Code), xmlEscape(e.Message), rid)
	default: // REST-XML (S3)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`,
			xmlEscape(e.Code), xmlEscape(e.Message), rid)
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

var (
	cborEnc cbor.EncMode
	cborDec cbor.DecMode
)

func init() {
	var err error
	cborEnc, err = cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	cborDec, err = cbor.DecOptions{DefaultMapType: nil}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Decoder decodes an operation's input into v.
type Decoder func(v any) error

// Handler serves one operation.
type Handler func(r *http.Request, dec Decoder) (any, error)

// RPC serves a JSON or CBOR RPC service from a table of operations.
type RPC struct {
	Ops map[string]Handler
}

// ServeHTTP implements http.Handler.
func (s *RPC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		WriteError(w, r, &Error{Status: 400, Code: "SerializationException", Message: err.Error(), Sender: true})
		return
	}
	// Operations with the requestCompression trait (CloudWatch PutMetricData)
	// arrive gzipped.
	if strings.Contains(r.Header.Get("Content-Encoding"), "gzip") && len(body) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			WriteError(w, r, &Error{Status: 400, Code: "SerializationException", Message: "could not gunzip request: " + err.Error(), Sender: true})
			return
		}
	}
	op := Operation(r, body)
	h, ok := s.Ops[op]
	if !ok {
		WriteError(w, r, &Error{Status: 400, Code: "UnknownOperationException", Message: fmt.Sprintf("operation %q is not supported by this emulator", op), Sender: true})
		return
	}
	proto := Detect(r)
	dec := func(v any) error {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		var err error
		if proto == CBOR {
			err = cborDec.Unmarshal(body, v)
		} else {
			d := json.NewDecoder(bytes.NewReader(body))
			err = d.Decode(v)
		}
		if err != nil {
			return &Error{Status: 400, Code: "SerializationException", Message: "could not decode request: " + err.Error(), Sender: true}
		}
		return nil
	}
	out, err := h(r, dec)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			e = &Error{Status: 500, Code: "InternalFailure", Message: err.Error()}
		}
		WriteError(w, r, e)
		return
	}
	WriteOutput(w, r, out)
}

// WriteOutput encodes out in the request's protocol (JSON or CBOR).
func WriteOutput(w http.ResponseWriter, r *http.Request, out any) {
	w.Header().Set("X-Amzn-RequestId", RequestID())
	if out == nil {
		out = struct{}{}
	}
	switch p := Detect(r); p {
	case CBOR:
		b, err := cborEnc.Marshal(out)
		if err != nil {
			WriteError(w, r, &Error{Status: 500, Code: "InternalFailure", Message: err.Error()})
			return
		}
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.Write(b)
	default:
		ct := "application/x-amz-json-1.1"
		if p == JSON10 {
			ct = "application/x-amz-json-1.0"
		} else if p == RESTJSON || p == RESTXML {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		json.NewEncoder(w).Encode(out)
	}
}

// EpochTime is a timestamp that encodes as JSON epoch seconds (the awsJson
// wire format) and as a CBOR tag-1 time. Emulations use it in outputs.
type EpochTime time.Time

func (t EpochTime) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(t).UnixMilli())/1000)), nil
}

func (t *EpochTime) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*t = EpochTime(time.UnixMilli(int64(f * 1000)).UTC())
	return nil
}

func (t EpochTime) MarshalCBOR() ([]byte, error) { return cborEnc.Marshal(time.Time(t)) }

func (t *EpochTime) UnmarshalCBOR(b []byte) error {
	var tt time.Time
	if err := cborDec.Unmarshal(b, &tt); err != nil {
		return err
	}
	*t = EpochTime(tt)
	return nil
}
