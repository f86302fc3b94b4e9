// Package iampolicy evaluates IAM policy documents the way AWS does, so the
// local endpoint can refuse a call that the policies opsctl writes would not
// allow in AWS. It covers what opsctl's policies and the emulated delivery
// paths need, following "Policy evaluation logic" and "IAM JSON policy
// element reference" of the IAM User Guide:
//
//   - Effect Allow / Deny; an explicit Deny anywhere wins, then any Allow,
//     otherwise the implicit deny;
//   - Action / NotAction (case-insensitive, * and ? wildcards), Resource /
//     NotResource (case-sensitive; ARNs matched component by component as
//     ArnLike does), Principal / NotPrincipal ("*", AWS account ids, account
//     roots and ARNs, Service principals);
//   - Condition: every operator family (String*, Numeric*, Date*, Bool,
//     BinaryEquals, IpAddress, Arn*, Null) with ...IfExists and the
//     ForAnyValue: / ForAllValues: set qualifiers; keys are case-insensitive,
//     several keys or operators are ANDed, several values ORed, and for the
//     negated operators NORed; a key missing from the request context makes a
//     condition false except for the negated operators (true), IfExists
//     (true) and Null;
//   - policy variables ${aws:...} in Resource and in condition values, with
//     the ${*}, ${?} and ${$} escapes.
package iampolicy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Effect is the outcome of evaluating policies for one request.
type Effect int

const (
	// ImplicitDeny: no statement allows the request (AWS's default).
	ImplicitDeny Effect = iota
	// Allow: a statement allows the request and none denies it.
	Allow
	// ExplicitDeny: a statement denies the request.
	ExplicitDeny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case ExplicitDeny:
		return "explicit deny"
	}
	return "implicit deny"
}

// Principal is who makes the request: an IAM role, user or account ("AWS",
// ID an ARN) or an AWS service ("Service", ID e.g. "firehose.amazonaws.com").
type Principal struct {
	Type, ID string
}

// Request is one authorization question.
type Request struct {
	Principal Principal
	Action    string // service:Operation
	Resource  string // ARN ("*" for actions without resource-level permissions)
	// Context holds the request's condition keys (aws:SourceArn,
	// aws:SecureTransport, ...), each with one or more values. Key names
	// are matched case-insensitively, as AWS does.
	Context map[string][]string
}

func (r Request) lookup(key string) ([]string, bool) {
	for k, v := range r.Context {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Decision is an evaluation's outcome and the statement that decided it.
type Decision struct {
	Effect Effect
	// Sid of the deciding statement ("" when none, or when it has no Sid).
	Sid string
}

// Policy is one parsed policy document.
type Policy struct {
	Statements []Statement
}

// Statement is one parsed statement.
type Statement struct {
	Sid                      string
	Deny                     bool
	Actions, NotActions      []string
	Resources, NotResources  []string
	hasAction, hasNotAction  bool
	hasResource, hasNotRes   bool
	Principals, NotPrincipal map[string][]string // "AWS", "Service", "Federated", "*"
	hasPrincipal, hasNotPr   bool
	Conditions               []Condition
}

// Condition is one operator-key pair of a Condition block.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string
	Values   []string
}

// Parse reads a policy document. It accepts what IAM accepts for the
// elements it evaluates (single values or arrays) and returns an error for a
// document it cannot evaluate; it never panics.
func Parse(doc string) (*Policy, error) {
	var raw struct {
		Statement json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	if len(raw.Statement) == 0 {
		return nil, fmt.Errorf("parse policy: no Statement")
	}
	var list []map[string]any
	if bytes.HasPrefix(bytes.TrimSpace(raw.Statement), []byte("[")) {
		if err := decodeNumber(raw.Statement, &list); err != nil {
			return nil, fmt.Errorf("parse policy: Statement: %w", err)
		}
	} else {
		var one map[string]any
		if err := decodeNumber(raw.Statement, &one); err != nil {
			return nil, fmt.Errorf("parse policy: Statement: %w", err)
		}
		list = []map[string]any{one}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("parse policy: no Statement")
	}
	p := &Policy{}
	for i, m := range list {
		st, err := parseStatement(m)
		if err != nil {
			return nil, fmt.Errorf("parse policy: statement %d: %w", i+1, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func decodeNumber(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func parseStatement(m map[string]any) (Statement, error) {
	var st Statement
	if m == nil {
		return st, fmt.Errorf("not an object")
	}
	st.Sid, _ = m["Sid"].(string)
	switch m["Effect"] {
	case "Allow":
	case "Deny":
		st.Deny = true
	default:
		return st, fmt.Errorf("Effect must be Allow or Deny")
	}
	var err error
	if st.Actions, st.hasAction, err = strings1(m, "Action"); err != nil {
		return st, err
	}
	if st.NotActions, st.hasNotAction, err = strings1(m, "NotAction"); err != nil {
		return st, err
	}
	if st.hasAction == st.hasNotAction {
		return st, fmt.Errorf("exactly one of Action and NotAction is required")
	}
	if st.Resources, st.hasResource, err = strings1(m, "Resource"); err != nil {
		return st, err
	}
	if st.NotResources, st.hasNotRes, err = strings1(m, "NotResource"); err != nil {
		return st, err
	}
	if st.hasResource && st.hasNotRes {
		return st, fmt.Errorf("Resource and NotResource cannot both be present")
	}
	if st.Principals, st.hasPrincipal, err = principals(m["Principal"]); err != nil {
		return st, err
	}
	if st.NotPrincipal, st.hasNotPr, err = principals(m["NotPrincipal"]); err != nil {
		return st, err
	}
	if c, ok := m["Condition"]; ok {
		block, ok := c.(map[string]any)
		if !ok {
			return st, fmt.Errorf("Condition must be an object")
		}
		for op, keys := range block {
			km, ok := keys.(map[string]any)
			if !ok {
				return st, fmt.Errorf("Condition %s must be an object", op)
			}
			if _, err := parseOperator(op); err != nil {
				return st, err
			}
			for k, v := range km {
				vals, err := values(v)
				if err != nil {
					return st, fmt.Errorf("Condition %s %s: %w", op, k, err)
				}
				st.Conditions = append(st.Conditions, Condition{Operator: op, Key: k, Values: vals})
			}
		}
	}
	return st, nil
}

// strings1 reads an element that is a string or an array of strings.
func strings1(m map[string]any, name string) ([]string, bool, error) {
	v, ok := m[name]
	if !ok {
		return nil, false, nil
	}
	vals, err := values(v)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", name, err)
	}
	return vals, true, nil
}

// values reads a condition or element value: a scalar or an array of
// scalars (numbers and booleans as IAM reads them, as strings).
func values(v any) ([]string, error) {
	scalar := func(x any) (string, error) {
		switch t := x.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		case bool:
			return strconv.FormatBool(t), nil
		}
		return "", fmt.Errorf("values must be strings, numbers or booleans")
	}
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, x := range arr {
			s, err := scalar(x)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func principals(v any) (map[string][]string, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	if s, ok := v.(string); ok {
		if s != "*" {
			return nil, true, fmt.Errorf(`Principal must be "*" or an object`)
		}
		return map[string][]string{"*": {"*"}}, true, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, true, fmt.Errorf("Principal must be an object")
	}
	out := map[string][]string{}
	for k, x := range m {
		vals, err := values(x)
		if err != nil {
			return nil, true, fmt.Errorf("Principal %s: %w", k, err)
		}
		out[k] = vals
	}
	return out, true, nil
}

// Kind says how a policy is evaluated.
type Kind int

const (
	// Identity policies (a role's inline and managed policies) have no
	// Principal element: they apply to their holder.
	Identity Kind = iota
	// Resource policies (trust policies, bucket and topic policies, key
	// policies) apply only to the principals they name.
	Resource
)

// Evaluate evaluates one policy for req: ExplicitDeny if a matching Deny
// statement applies, Allow if a matching Allow statement does, otherwise
// ImplicitDeny.
func (p *Policy) Evaluate(kind Kind, req Request) Decision {
	var allow *Statement
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.matches(kind, req) {
			continue
		}
		if st.Deny {
			return Decision{Effect: ExplicitDeny, Sid: st.Sid}
		}
		if allow == nil {
			allow = st
		}
	}
	if allow != nil {
		return Decision{Effect: Allow, Sid: allow.Sid}
	}
	return Decision{Effect: ImplicitDeny}
}

func (st *Statement) matches(kind Kind, req Request) bool {
	if st.hasAction && !anyMatch(st.Actions, req.Action, true, req) {
		return false
	}
	if st.hasNotAction && anyMatch(st.NotActions, req.Action, true, req) {
		return false
	}
	if st.hasResource && !anyResource(st.Resources, req.Resource, req) {
		return false
	}
	if st.hasNotRes && anyResource(st.NotResources, req.Resource, req) {
		return false
	}
	if kind == Resource {
		if st.hasPrincipal && !principalMatch(st.Principals, req.Principal) {
			return false
		}
		if st.hasNotPr && principalMatch(st.NotPrincipal, req.Principal) {
			return false
		}
		if !st.hasPrincipal && !st.hasNotPr {
			return false
		}
	}
	for _, c := range st.Conditions {
		if !c.holds(req) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, v string, fold bool, req Request) bool {
	for _, p := range patterns {
		if fold {
			if Glob(strings.ToLower(p), strings.ToLower(v)) {
				return true
			}
		} else if globEsc(substitute(p, req), v) {
			return true
		}
	}
	return false
}

func anyResource(patterns []string, res string, req Request) bool {
	for _, p := range patterns {
		if arnLike(substitute(p, req), res) {
			return true
		}
	}
	return false
}

// principalMatch reports whether the request's principal is among m. An
// account id or account root ARN names every principal of the account.
func principalMatch(m map[string][]string, pr Principal) bool {
	if _, ok := m["*"]; ok {
		return true
	}
	for _, v := range m[pr.Type] {
		if v == "*" || v == pr.ID {
			return true
		}
		if pr.Type == "AWS" {
			acct := accountOf(pr.ID)
			if acct != "" && (v == acct || v == fmt.Sprintf("arn:%s:iam::%s:root", partitionOf(pr.ID), acct)) {
				return true
			}
		}
	}
	return false
}

func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}

func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[1]
	}
	return "aws"
}

// Glob matches IAM's wildcards: * any run of characters (including none),
// ? any one character.
func Glob(pattern, s string) bool { return globTokens(tokens(pattern, false), s) }

// token is one pattern element: a literal byte, or a wildcard ('*', '?').
type token struct {
	c    byte
	wild bool
}

// tokens splits a pattern. With escaped, a backslash makes the next byte
// literal: substitute writes the text it inserts that way.
func tokens(p string, escaped bool) []token {
	out := make([]token, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case escaped && c == '\\' && i+1 < len(p):
			i++
			out = append(out, token{c: p[i]})
		case c == '*' || c == '?':
			out = append(out, token{c: c, wild: true})
		default:
			out = append(out, token{c: c})
		}
	}
	return out
}

func globTokens(pattern []token, s string) bool {
	// Iterative matcher with one backtrack point: never exponential on
	// hostile patterns.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p].wild && pattern[p].c == '?',
			p < len(pattern) && !pattern[p].wild && pattern[p].c == s[i]:
			p++
			i++
		case p < len(pattern) && pattern[p].wild && pattern[p].c == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p].wild && pattern[p].c == '*' {
		p++
	}
	return p == len(pattern)
}

// globEsc matches a pattern written by substitute.
func globEsc(pattern, s string) bool { return globTokens(tokens(pattern, true), s) }

// arnLike matches an ARN pattern the way ArnLike and the Resource element
// do: "*" matches everything; otherwise each of the six colon-separated
// components is matched on its own (wildcards do not cross a colon), the
// last one holding the rest of the ARN.
func arnLike(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return globEsc(pattern, arn)
	}
	for i := range pp {
		if !globEsc(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// substitute replaces policy variables ${key} with the request's value (one
// value only; a missing or multi-valued key leaves the text unmatched, as
// AWS does), and the escapes ${*}, ${?}, ${$} with the literal characters.
// The result is a pattern for globEsc: inserted text is literal (a
// backslash before each byte that would otherwise be special).
func substitute(s string, req Request) string {
	var b strings.Builder
	lit := func(t string) {
		for i := 0; i < len(t); i++ {
			if t[i] == '*' || t[i] == '?' || t[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(t[i])
		}
	}
	raw := func(t string) {
		for i := 0; i < len(t); i++ {
			if t[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(t[i])
		}
	}
	for {
		i := strings.Index(s, "${")
		j := -1
		if i >= 0 {
			j = strings.IndexByte(s[i:], '}')
		}
		if i < 0 || j < 0 {
			raw(s)
			return b.String()
		}
		raw(s[:i])
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			lit(name)
		default:
			def := ""
			hasDef := false
			if k := strings.Index(name, ","); k >= 0 {
				d := strings.TrimSpace(name[k+1:])
				name = strings.TrimSpace(name[:k])
				if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
					def, hasDef = d[1:len(d)-1], true
				}
			}
			if v, ok := req.lookup(name); ok && len(v) == 1 {
				lit(v[0])
			} else if hasDef {
				lit(def)
			} else {
				// An unresolvable variable matches nothing: a byte
				// that cannot occur in an ARN or a value we compare.
				b.WriteByte(0)
			}
		}
		s = s[i+j+1:]
	}
}

// operator is a parsed condition operator name.
type operator struct {
	base     string // e.g. StringLike
	ifExists bool
	set      string // "", "ForAnyValue", "ForAllValues"
}

var bases = map[string]bool{
	"StringEquals": true, "StringNotEquals": true, "StringEqualsIgnoreCase": true, "StringNotEqualsIgnoreCase": true,
	"StringLike": true, "StringNotLike": true,
	"NumericEquals": true, "NumericNotEquals": true, "NumericLessThan": true, "NumericLessThanEquals": true,
	"NumericGreaterThan": true, "NumericGreaterThanEquals": true,
	"DateEquals": true, "DateNotEquals": true, "DateLessThan": true, "DateLessThanEquals": true,
	"DateGreaterThan": true, "DateGreaterThanEquals": true,
	"Bool": true, "BinaryEquals": true, "IpAddress": true, "NotIpAddress": true,
	"ArnEquals": true, "ArnLike": true, "ArnNotEquals": true, "ArnNotLike": true,
	"Null": true,
}

func parseOperator(op string) (operator, error) {
	var o operator
	name := op
	if i := strings.Index(name, ":"); i >= 0 {
		o.set = name[:i]
		if o.set != "ForAnyValue" && o.set != "ForAllValues" {
			return o, fmt.Errorf("unknown condition operator %s", op)
		}
		name = name[i+1:]
	}
	if strings.HasSuffix(name, "IfExists") && name != "IfExists" {
		o.ifExists = true
		name = strings.TrimSuffix(name, "IfExists")
	}
	if !bases[name] || (name == "Null" && o.ifExists) {
		return o, fmt.Errorf("unknown condition operator %s", op)
	}
	o.base = name
	return o, nil
}

func negated(base string) bool {
	return strings.Contains(base, "Not")
}

// holds evaluates one condition against the request.
func (c Condition) holds(req Request) bool {
	op, err := parseOperator(c.Operator)
	if err != nil {
		return false
	}
	got, present := req.lookup(c.Key)
	if op.base == "Null" {
		// Null true: the key is absent; false: present.
		want := len(c.Values) > 0 && strings.EqualFold(c.Values[0], "true")
		return want == !present
	}
	if !present {
		switch {
		case op.ifExists:
			return true
		case op.set == "ForAllValues":
			// An empty set is a subset of anything.
			return true
		case op.set == "ForAnyValue":
			return false
		}
		return negated(op.base)
	}
	want := make([]string, len(c.Values))
	for i, v := range c.Values {
		want[i] = substitute(v, req)
	}
	switch op.set {
	case "ForAnyValue":
		for _, g := range got {
			if matchValue(op.base, g, want) {
				return true
			}
		}
		return false
	case "ForAllValues":
		for _, g := range got {
			if !matchValue(op.base, g, want) {
				return false
			}
		}
		return true
	}
	// A single-valued key: one context value.
	if len(got) != 1 {
		return negated(op.base) && len(got) == 0
	}
	return matchValue(op.base, got[0], want)
}

// matchValue reports whether one context value satisfies the operator for
// the policy's values: ORed for positive operators, NORed for negated ones.
func matchValue(base, got string, want []string) bool {
	if negated(base) {
		pos := positive(base)
		for _, w := range want {
			if compare(pos, got, w) {
				return false
			}
		}
		return true
	}
	for _, w := range want {
		if compare(base, got, w) {
			return true
		}
	}
	return false
}

func positive(base string) string {
	switch base {
	case "NotIpAddress":
		return "IpAddress"
	case "ArnNotEquals":
		return "ArnEquals"
	case "ArnNotLike":
		return "ArnLike"
	}
	return strings.Replace(base, "Not", "", 1)
}

// compare applies one positive operator; want is in substitute's escaped
// form, which the wildcard operators use as is.
func compare(base, got, want string) bool {
	switch base {
	case "StringLike":
		return globEsc(want, got)
	case "ArnEquals", "ArnLike":
		// The IAM User Guide: ArnEquals and ArnLike behave the same.
		return arnLike(want, got)
	}
	want = unescape(want)
	switch base {
	case "StringEquals":
		return got == want
	case "StringEqualsIgnoreCase":
		return strings.EqualFold(got, want)
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		g, err1 := strconv.ParseFloat(got, 64)
		w, err2 := strconv.ParseFloat(want, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return cmpOrdered(base[len("Numeric"):], g, w)
	case "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		g, ok1 := parseDate(got)
		w, ok2 := parseDate(want)
		if !ok1 || !ok2 {
			return false
		}
		return cmpOrdered(base[len("Date"):], float64(g.UnixNano()), float64(w.UnixNano()))
	case "Bool":
		return strings.EqualFold(got, want)
	case "BinaryEquals":
		g, err1 := base64.StdEncoding.DecodeString(got)
		w, err2 := base64.StdEncoding.DecodeString(want)
		return err1 == nil && err2 == nil && bytes.Equal(g, w)
	case "IpAddress":
		ip := net.ParseIP(got)
		if ip == nil {
			return false
		}
		if _, n, err := net.ParseCIDR(want); err == nil {
			return n.Contains(ip)
		}
		w := net.ParseIP(want)
		return w != nil && w.Equal(ip)
	}
	return false
}

// unescape turns substitute's escaped form back into plain text.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func cmpOrdered(rel string, g, w float64) bool {
	switch rel {
	case "Equals":
		return g == w
	case "LessThan":
		return g < w
	case "LessThanEquals":
		return g <= w
	case "GreaterThan":
		return g > w
	case "GreaterThanEquals":
		return g >= w
	}
	return false
}

// parseDate reads the date forms IAM accepts: ISO 8601 (with or without a
// time) or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}
