package awsproto

// The awsQuery codec (IAM, Auto Scaling, Elastic Load Balancing v2, STS, SNS,
// CloudWatch's older wire): form-encoded POSTs (or GETs) carrying Action,
// Version and the operation's input flattened into dotted keys, answered with
// XML documents
//
//	<OpResponse xmlns="..."><OpResult>...</OpResult>
//	<ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></OpResponse>
//
// and errors as
//
//	<ErrorResponse><Error><Type>Sender</Type><Code>...</Code>
//	<Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>
//
// Input keys follow the Smithy awsQuery serialisation rules
// (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html):
//
//	scalar            Name=value
//	structure         Name.Member=value
//	list              Name.member.N (N from 1), or Name.N when flattened
//	map               Name.entry.N.key / Name.entry.N.value
//
// An operation handler decodes its input with the Decoder it is given, into a
// struct whose fields are tagged `query:"Name"` (the field name when untagged)
// with options ",flat" (a flattened list or map), ",required" (absent is a
// validation error) and for maps ",key=K,value=V" (other entry names). A
// handler may instead decode into a *url.Values to read the raw form. It
// returns an output struct with encoding/xml tags, nil for operations without
// output, or an *Error.

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// QueryService serves an awsQuery service from a table of operations.
type QueryService struct {
	// Version is the API version the service speaks (e.g. "2011-01-01").
	// A request naming another version is answered with InvalidAction, as
	// AWS does ("Could not find operation X for version Y").
	Version string
	// XMLNS is the namespace of response documents, e.g.
	// "http://autoscaling.amazonaws.com/doc/2011-01-01/".
	XMLNS string
	// Ops maps an Action to its handler.
	Ops map[string]Handler
	// ValidationCode is the error code for inputs that cannot be decoded or
	// miss a required member (default "ValidationError", which IAM and Auto
	// Scaling use).
	ValidationCode string
}

// ServeHTTP implements http.Handler.
func (s *QueryService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, err := ReadForm(r)
	if err != nil {
		WriteError(w, r, Errf("MalformedQueryString", "%s", err.Error()))
		return
	}
	action := form.Get("Action")
	h, ok := s.Ops[action]
	if !ok || (s.Version != "" && form.Get("Version") != "" && form.Get("Version") != s.Version) {
		WriteError(w, r, Errf("InvalidAction", "Could not find operation %s for version %s", action, form.Get("Version")))
		return
	}
	vcode := s.ValidationCode
	if vcode == "" {
		vcode = "ValidationError"
	}
	dec := func(v any) error {
		return decodeForm(form, v, queryStyle, vcode)
	}
	out, err := h(r, dec)
	if err != nil {
		WriteError(w, r, asError(err))
		return
	}
	WriteQueryOutput(w, action, s.XMLNS, out)
}

// ReadForm returns a Query request's parameters: the form-encoded body, plus
// URL query parameters the body does not set (GET requests carry them all in
// the URL).
func ReadForm(r *http.Request) (url.Values, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("could not read request: %v", err)
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("could not parse form body: %v", err)
	}
	for k, v := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	return form, nil
}

// asError turns any handler error into an *Error (a plain error is a 500
// InternalFailure).
func asError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
}

// WriteQueryOutput writes out (an encoding/xml value, or nil) as the awsQuery
// response to action.
func WriteQueryOutput(w http.ResponseWriter, action, xmlns string, out any) {
	rid := RequestID()
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<%sResponse`, action)
	if xmlns != "" {
		fmt.Fprintf(&b, ` xmlns="%s"`, xmlEscape(xmlns))
	}
	b.WriteString(">")
	if out != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeQueryFailure(w, rid, err)
			return
		}
		enc.Flush()
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, rid, action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", rid)
	w.Write(b.Bytes())
}

func writeQueryFailure(w http.ResponseWriter, rid string, err error) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?><ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		xmlEscape("could not encode response: "+err.Error()), rid)
}

// XMLTime is a timestamp in the XML protocols' wire format (ISO 8601 in UTC
// with milliseconds, e.g. 2026-12-04T13:42:58.000Z).
type XMLTime time.Time

// MarshalText implements encoding.TextMarshaler.
func (t XMLTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z")), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *XMLTime) UnmarshalText(b []byte) error {
	v, err := parseISOTime(string(b))
	if err != nil {
		return err
	}
	*t = XMLTime(v)
	return nil
}

func parseISOTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", s)
}

// formStyle is how a protocol names list and map members.
type formStyle int

const (
	queryStyle formStyle = iota // Name.member.N, Name.entry.N.key
	ec2Style                    // Name.N always
)

// DecodeQueryForm decodes awsQuery form parameters into v (see the package
// comment in query.go for the tags). Emulations with their own router use it;
// QueryService handlers get it through their Decoder.
func DecodeQueryForm(form url.Values, v any) error {
	return decodeForm(form, v, queryStyle, "ValidationError")
}

// decodeForm fills v, a pointer to a struct or a *url.Values, from form.
func decodeForm(form url.Values, v any, style formStyle, vcode string) error {
	if fv, ok := v.(*url.Values); ok {
		*fv = url.Values{}
		for k, vs := range form {
			(*fv)[k] = append([]string(nil), vs...)
		}
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return &Error{Status: 500, Code: "InternalFailure", Message: fmt.Sprintf("awsproto: cannot decode a form into %T", v)}
	}
	d := &formDecoder{form: form, style: style, vcode: vcode, keys: formKeys(form)}
	return d.structure("", rv.Elem())
}

type formDecoder struct {
	form  url.Values
	style formStyle
	vcode string
	keys  []string // sorted
}

func formKeys(form url.Values) []string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// has reports whether any parameter is prefix itself or starts with prefix+".".
func (d *formDecoder) has(prefix string) bool {
	if _, ok := d.form[prefix]; ok {
		return true
	}
	p := prefix + "."
	i := sort.SearchStrings(d.keys, p)
	return i < len(d.keys) && strings.HasPrefix(d.keys[i], p)
}

// indices returns the sorted distinct N of parameters prefix.N[.…].
func (d *formDecoder) indices(prefix string) []int {
	p := prefix + "."
	var out []int
	seen := map[int]bool{}
	for i := sort.SearchStrings(d.keys, p); i < len(d.keys) && strings.HasPrefix(d.keys[i], p); i++ {
		rest := d.keys[i][len(p):]
		if j := strings.IndexByte(rest, '.'); j >= 0 {
			rest = rest[:j]
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

type fieldTag struct {
	name           string
	flat, required bool
	mapKey, mapVal string
	skip           bool
}

func parseTag(f reflect.StructField) fieldTag {
	t := fieldTag{name: f.Name, mapKey: "key", mapVal: "value"}
	tag, ok := f.Tag.Lookup("query")
	if !ok {
		return t
	}
	if tag == "-" {
		t.skip = true
		return t
	}
	parts := strings.Split(tag, ",")
	if parts[0] != "" {
		t.name = parts[0]
	}
	for _, o := range parts[1:] {
		switch {
		case o == "flat":
			t.flat = true
		case o == "required":
			t.required = true
		case strings.HasPrefix(o, "key="):
			t.mapKey = o[4:]
		case strings.HasPrefix(o, "value="):
			t.mapVal = o[6:]
		}
	}
	return t
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (d *formDecoder) structure(prefix string, v reflect.Value) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := parseTag(f)
		if tag.skip {
			continue
		}
		key := join(prefix, tag.name)
		if !d.has(key) {
			if tag.required {
				return d.missing(key, tag.name)
			}
			continue
		}
		if err := d.value(key, tag, v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

// missing is the protocol's error for an absent required member.
func (d *formDecoder) missing(key, name string) error {
	if d.style == ec2Style {
		return Errf("MissingParameter", "The request must contain the parameter %s", key)
	}
	return Errf(d.vcode, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
}

func (d *formDecoder) invalid(key, val, why string) error {
	if d.style == ec2Style {
		return Errf("InvalidParameterValue", "Value (%s) for parameter %s is invalid. %s", val, key, why)
	}
	return Errf(d.vcode, "Invalid value %q for %s: %s", val, key, why)
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	xmlTimeType = reflect.TypeOf(XMLTime{})
	bytesType   = reflect.TypeOf([]byte(nil))
)

func (d *formDecoder) value(key string, tag fieldTag, v reflect.Value) error {
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		if err := d.value(key, tag, nv.Elem()); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	}
	switch v.Type() {
	case timeType, xmlTimeType:
		s := d.form.Get(key)
		tm, err := parseISOTime(s)
		if err != nil {
			// awsQuery also accepts epoch seconds.
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				tm, err = time.UnixMilli(int64(f*1000)).UTC(), nil
			}
		}
		if err != nil {
			return d.invalid(key, s, "It is not a valid timestamp.")
		}
		v.Set(reflect.ValueOf(tm).Convert(v.Type()))
		return nil
	case bytesType:
		s := d.form.Get(key)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return d.invalid(key, s, "It is not valid base64.")
		}
		v.SetBytes(b)
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(d.form.Get(key))
	case reflect.Bool:
		s := d.form.Get(key)
		b, err := strconv.ParseBool(s)
		if err != nil {
			return d.invalid(key, s, "It is not a boolean.")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s := d.form.Get(key)
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return d.invalid(key, s, "It is not an integer.")
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		s := d.form.Get(key)
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return d.invalid(key, s, "It is not a number.")
		}
		v.SetFloat(f)
	case reflect.Struct:
		return d.structure(key, v)
	case reflect.Slice:
		base := key
		if d.style == queryStyle && !tag.flat {
			base = key + ".member"
			if d.form.Has(key) && d.form.Get(key) == "" && !d.has(base) {
				// An empty list is sent as "Name=".
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
				return nil
			}
		}
		idx := d.indices(base)
		s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
		for i, n := range idx {
			if err := d.value(base+"."+strconv.Itoa(n), fieldTag{name: tag.name, mapKey: "key", mapVal: "value"}, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return &Error{Status: 500, Code: "InternalFailure", Message: "awsproto: map keys must be strings: " + key}
		}
		base := key
		if d.style == queryStyle && !tag.flat {
			base = key + ".entry"
		}
		m := reflect.MakeMap(v.Type())
		for _, n := range d.indices(base) {
			e := base + "." + strconv.Itoa(n)
			k := d.form.Get(e + "." + tag.mapKey)
			ev := reflect.New(v.Type().Elem()).Elem()
			if d.has(e + "." + tag.mapVal) {
				if err := d.value(e+"."+tag.mapVal, fieldTag{mapKey: "key", mapVal: "value"}, ev); err != nil {
					return err
				}
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	default:
		return &Error{Status: 500, Code: "InternalFailure", Message: fmt.Sprintf("awsproto: cannot decode %s into %s", key, v.Type())}
	}
	return nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
