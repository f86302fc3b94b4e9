package awsproto

// The EC2 Query codec. Requests look like awsQuery (form-encoded Action,
// Version and dotted parameters) but every list is flattened as Name.N —
// the name being the member's queryName, or its locationName with the first
// letter upper-cased (Filter.1.Name, Filter.1.Value.1, VpcId.1,
// TagSpecification.1.Tag.1.Key) — and responses differ
// (https://smithy.io/2.0/aws/protocols/aws-ec2-query-protocol.html):
//
//	<OpResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
//	  <requestId>…</requestId>  …output members by locationName (lower-case
//	  first letter), lists as <xSet><item>…</item></xSet>…
//	</OpResponse>
//
// and errors
//
//	<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
//	<RequestID>…</RequestID></Response>
//
// Handlers are the same awsproto.Handler as for the other codecs; their
// Decoder fills `query:"Name"`-tagged structs (all lists flat), and their
// output structs carry encoding/xml tags with the EC2 element names.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
)

// EC2Query is the EC2 Query protocol.
const EC2Query Protocol = "ec2Query"

// EC2XMLNS is the namespace of EC2 responses (API version 2016-11-15).
const EC2XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// EC2Service serves an EC2 Query service from a table of operations.
type EC2Service struct {
	// Version is the API version (EC2: "2016-11-15"); empty accepts any.
	Version string
	// XMLNS is the response namespace (default EC2XMLNS).
	XMLNS string
	Ops   map[string]Handler
}

// ServeHTTP implements http.Handler.
func (s *EC2Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, err := ReadForm(r)
	if err != nil {
		WriteEC2Error(w, Errf("InvalidParameterValue", "%s", err.Error()))
		return
	}
	action := form.Get("Action")
	h, ok := s.Ops[action]
	if !ok {
		WriteEC2Error(w, Errf("InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if s.Version != "" && form.Get("Version") != "" && form.Get("Version") != s.Version {
		WriteEC2Error(w, Errf("InvalidAction", "The action %s is not valid for version %s.", action, form.Get("Version")))
		return
	}
	dec := func(v any) error {
		return decodeForm(form, v, ec2Style, "InvalidParameterValue")
	}
	out, err := h(r, dec)
	if err != nil {
		WriteEC2Error(w, asError(err))
		return
	}
	ns := s.XMLNS
	if ns == "" {
		ns = EC2XMLNS
	}
	WriteEC2Output(w, action, ns, out)
}

// DecodeEC2Form decodes EC2 Query form parameters into v (every list
// flattened as Name.N).
func DecodeEC2Form(r *http.Request, v any) error {
	form, err := ReadForm(r)
	if err != nil {
		return Errf("InvalidParameterValue", "%s", err.Error())
	}
	return decodeForm(form, v, ec2Style, "InvalidParameterValue")
}

// WriteEC2Output writes out (an encoding/xml value whose fields are the
// response's members, or nil) as the EC2 response to action.
func WriteEC2Output(w http.ResponseWriter, action, xmlns string, out any) {
	rid := RequestID()
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<%sResponse xmlns="%s"><requestId>%s</requestId>`, action, xmlEscape(xmlns), rid)
	if out != nil {
		// Encode out under a throw-away element and keep only its content,
		// so its members sit directly under the response element.
		var inner bytes.Buffer
		enc := xml.NewEncoder(&inner)
		const wrap = "ec2wrap"
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: wrap}}); err != nil {
			WriteEC2Error(w, &Error{Status: 500, Code: "InternalError", Message: "could not encode response: " + err.Error()})
			return
		}
		enc.Flush()
		s := inner.Bytes()
		s = bytes.TrimPrefix(s, []byte("<"+wrap+">"))
		s = bytes.TrimSuffix(s, []byte("</"+wrap+">"))
		b.Write(s)
	}
	fmt.Fprintf(&b, `</%sResponse>`, action)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-RequestId", rid)
	w.Write(b.Bytes())
}

// WriteEC2Error writes e in EC2's error shape. EC2 has no Sender/Receiver
// type; server faults carry a 5xx status.
func WriteEC2Error(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	rid := RequestID()
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-RequestId", rid)
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		xmlEscape(e.Code), xmlEscape(e.Message), rid)
}

var ec2ScopeRe = regexp.MustCompile(`Credential=[^/]+/[0-9]{8}/[^/]+/ec2/aws4_request`)

// IsEC2Query reports whether r is an EC2 Query request (SigV4 signing name
// "ec2"), which must be answered with WriteEC2Error rather than the awsQuery
// ErrorResponse: the EC2 SDK clients read only Response/Errors/Error.
func IsEC2Query(r *http.Request) bool {
	return ec2ScopeRe.MatchString(r.Header.Get("Authorization")) ||
		ec2ScopeRe.MatchString("Credential="+r.URL.Query().Get("X-Amz-Credential"))
}

// EC2Throttling is the code EC2 answers throttled requests with.
const EC2Throttling = "RequestLimitExceeded"
