package redrive

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opsctl/opsctl/internal/opserr"
)

// A Filter selects messages. It is parsed from a small expression language:
//
//	body contains "timeout"            substring of the body
//	body ~ /Timeout|Throttl/           regular expression (RE2) on the body
//	$.order.status == "FAILED"         JSON path equality on a JSON body
//	$.items[0].qty >= 3                numeric comparison on a JSON body
//	$.customer exists                  the path is present
//	attr.ErrorCode == "200"            a message attribute's string value
//	attr["Retry Reason"] exists        attribute names with spaces
//	age > 2h                           time since the message was first sent
//	receive_count >= 3                 ApproximateReceiveCount
//	group == "tenant-7"                FIFO MessageGroupId
//	source == "orders"                 the queue the message was dead-lettered from (name or ARN)
//	a and b, a or b, not a, ( ... )    combinations (not > and > or)
//
// Operators: == != contains ~ (regex) exists < <= > >=. Strings take double or
// single quotes with backslash escapes; a regex is /.../ or a quoted string.
//
// age, receive_count and source come from SQS system attributes. When a
// message lacks one (an endpoint that does not return it, or a message sent
// to the DLQ by hand, which has no source), a condition on it is unknown, not
// false: the filter decides with the rest of the expression when it can
// (unknown and false is false, unknown or true is true), and otherwise
// reports the message as undecided so that nothing is skipped silently.
type Filter struct {
	root node
	src  string
}

// FilterMessage is what a filter sees of a message.
type FilterMessage struct {
	Body         string
	Attributes   map[string]string // message attributes (string values)
	SentAt       time.Time
	ReceiveCount int
	GroupID      string
	// SourceARN is the queue the message was dead-lettered from
	// (DeadLetterQueueSourceArn); empty when unknown.
	SourceARN string
	Now       time.Time
}

// ParseFilter parses a filter expression. An empty expression is nil (matches
// everything). Errors are usage errors that point at the offending position.
func ParseFilter(src string) (*Filter, error) {
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	p := &parser{src: src}
	if err := p.lex(); err != nil {
		return nil, opserr.Usagef("invalid --filter %q: %v", src, err)
	}
	n, err := p.parseOr(0)
	if err == nil && p.pos < len(p.toks) {
		err = p.errf("unexpected %s", p.toks[p.pos])
	}
	if err != nil {
		return nil, opserr.Usagef("invalid --filter %q: %v", src, err)
	}
	return &Filter{root: n, src: src}, nil
}

// Match reports whether m is selected. A nil filter selects everything. An
// undecided message (see Decide) is not selected.
func (f *Filter) Match(m FilterMessage) bool {
	ok, _ := f.Decide(m)
	return ok
}

// Decide reports whether m is selected; when the answer depends on a field m
// does not carry (age, receive_count, source), it returns false and the names
// of those fields.
func (f *Filter) Decide(m FilterMessage) (match bool, unknown []string) {
	if f == nil {
		return true, nil
	}
	ev := &evalCtx{m: m}
	switch f.root.eval(ev) {
	case triTrue:
		return true, nil
	case triFalse:
		return false, nil
	}
	return false, ev.unknown
}

// String returns the canonical form of the expression (it parses back to the
// same filter).
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.root.String()
}

// ---- lexer ----

type tokKind int

const (
	tIdent tokKind = iota // body, age, attr.X, $.a.b, and, or, not, contains, exists ...
	tString
	tRegex
	tNumber
	tDuration
	tOp // == != ~ < <= > >=
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string // identifier / operator text, or decoded string value
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tString:
		return quote(t.text)
	case tRegex:
		return "/" + t.text + "/"
	}
	return quote(t.text)
}

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) errf(format string, args ...any) error {
	at := len(p.src)
	if p.pos < len(p.toks) {
		at = p.toks[p.pos].pos
	}
	return fmt.Errorf("at offset %d: %s", at, fmt.Sprintf(format, args...))
}

func isIdentRune(r rune) bool {
	return r == '_' || r == '.' || r == '$' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (p *parser) lex() error {
	s := p.src
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '(':
			p.toks = append(p.toks, token{tLParen, "(", i})
			i++
		case r == ')':
			p.toks = append(p.toks, token{tRParen, ")", i})
			i++
		case r == '"' || r == '\'':
			str, n, err := lexQuoted(s[i:], byte(r))
			if err != nil {
				return fmt.Errorf("at offset %d: %v", i, err)
			}
			p.toks = append(p.toks, token{tString, str, i})
			i += n
		case r == '/':
			j := i + 1
			var b strings.Builder
			for ; j < len(s) && s[j] != '/'; j++ {
				if s[j] == '\\' && j+1 < len(s) && s[j+1] == '/' {
					b.WriteByte('/')
					j++
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return fmt.Errorf("at offset %d: unterminated regex", i)
			}
			p.toks = append(p.toks, token{tRegex, b.String(), i})
			i = j + 1
		case r == '=' || r == '!' || r == '<' || r == '>' || r == '~':
			op := string(r)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			width := len(op)
			switch op {
			case "==", "!=", "<", "<=", ">", ">=", "~":
			case "=":
				op = "=="
			default:
				return fmt.Errorf("at offset %d: unknown operator %q", i, op)
			}
			p.toks = append(p.toks, token{tOp, op, i})
			i += width
		case r == '-' || r == '+' || unicode.IsDigit(r):
			j := i + 1
			for j < len(s) && (isIdentRune(rune(s[j])) || s[j] == '+') {
				j++
			}
			lit := s[i:j]
			if _, err := strconv.ParseFloat(lit, 64); err == nil {
				p.toks = append(p.toks, token{tNumber, lit, i})
			} else if d, err := parseDuration(lit); err == nil && d >= 0 {
				p.toks = append(p.toks, token{tDuration, lit, i})
			} else {
				return fmt.Errorf("at offset %d: bad number or duration %q", i, lit)
			}
			i = j
		case r == '[':
			// attr["name"] is handled by the identifier branch; a bare [ is an error.
			return fmt.Errorf("at offset %d: unexpected '['", i)
		case isIdentRune(r):
			j := i
			for j < len(s) {
				c, cw := utf8.DecodeRuneInString(s[j:])
				if isIdentRune(c) {
					j += cw
					continue
				}
				if c == '[' { // a[0] or attr["x y"]
					k := j + 1
					if k < len(s) && (s[k] == '"' || s[k] == '\'') {
						_, n, err := lexQuoted(s[k:], s[k])
						if err != nil {
							return fmt.Errorf("at offset %d: %v", k, err)
						}
						k += n
					} else {
						for k < len(s) && s[k] >= '0' && s[k] <= '9' {
							k++
						}
					}
					if k >= len(s) || s[k] != ']' {
						return fmt.Errorf("at offset %d: unterminated '['", j)
					}
					j = k + 1
					continue
				}
				break
			}
			p.toks = append(p.toks, token{tIdent, s[i:j], i})
			i = j
		default:
			return fmt.Errorf("at offset %d: unexpected character %q", i, r)
		}
	}
	return nil
}

// quote is the inverse of lexQuoted: only ", \ and control newlines/tabs are escaped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func lexQuoted(s string, q byte) (string, int, error) {
	var b strings.Builder
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == q {
			return b.String(), j + 1, nil
		}
		if c == '\\' && j+1 < len(s) {
			j++
			switch s[j] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[j])
			}
			continue
		}
		b.WriteByte(c)
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// parseDuration accepts Go durations plus a "d" (24h) unit: 2d, 1d12h.
func parseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		d := time.Duration(days) * 24 * time.Hour
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, err
			}
			d += r
		}
		return d, nil
	}
	return time.ParseDuration(s)
}

// ---- parser ----

const maxDepth = 64

func (p *parser) peekIdent(word string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tIdent && strings.EqualFold(p.toks[p.pos].text, word)
}

func (p *parser) parseOr(depth int) (node, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.peekIdent("or") {
		p.pos++
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
	return l, nil
}

func (p *parser) parseAnd(depth int) (node, error) {
	l, err := p.parseNot(depth)
	if err != nil {
		return nil, err
	}
	for p.peekIdent("and") {
		p.pos++
		r, err := p.parseNot(depth)
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
	return l, nil
}

func (p *parser) parseNot(depth int) (node, error) {
	if depth > maxDepth {
		return nil, p.errf("expression nested too deeply")
	}
	if p.peekIdent("not") {
		p.pos++
		n, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	}
	if p.pos < len(p.toks) && p.toks[p.pos].kind == tLParen {
		p.pos++
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != tRParen {
			return nil, p.errf("missing ')'")
		}
		p.pos++
		return n, nil
	}
	return p.parseCond()
}

type fieldKind int

const (
	fBody fieldKind = iota
	fJSON
	fAttr
	fAge
	fReceiveCount
	fGroup
	fSource
)

type field struct {
	kind fieldKind
	name string     // attribute name
	path []pathElem // JSON path
	src  string     // canonical text
}

type pathElem struct {
	key   string
	index int // -1 for key access
}

func (p *parser) parseField(t token) (field, error) {
	txt := t.text
	switch {
	case strings.EqualFold(txt, "body"):
		return field{kind: fBody, src: "body"}, nil
	case strings.EqualFold(txt, "age"):
		return field{kind: fAge, src: "age"}, nil
	case strings.EqualFold(txt, "receive_count"):
		return field{kind: fReceiveCount, src: "receive_count"}, nil
	case strings.EqualFold(txt, "group"):
		return field{kind: fGroup, src: "group"}, nil
	case strings.EqualFold(txt, "source"):
		return field{kind: fSource, src: "source"}, nil
	case strings.HasPrefix(txt, "attr.") && len(txt) > 5:
		name := txt[5:]
		return field{kind: fAttr, name: name, src: attrSrc(name)}, nil
	case strings.HasPrefix(txt, "attr[") && strings.HasSuffix(txt, "]"):
		inner := txt[5 : len(txt)-1]
		if len(inner) < 2 || (inner[0] != '"' && inner[0] != '\'') {
			return field{}, p.errf("attr[...] wants a quoted name")
		}
		name, n, err := lexQuoted(inner, inner[0])
		if err != nil || n != len(inner) || name == "" {
			return field{}, p.errf("bad attribute name in %q", txt)
		}
		return field{kind: fAttr, name: name, src: attrSrc(name)}, nil
	case txt == "$" || strings.HasPrefix(txt, "$.") || strings.HasPrefix(txt, "$["):
		path, err := parseJSONPath(txt[1:])
		if err != nil {
			return field{}, p.errf("%v", err)
		}
		return field{kind: fJSON, path: path, src: jsonPathSrc(path)}, nil
	}
	return field{}, p.errf("unknown field %q (want body, $.path, attr.NAME, age, receive_count, group or source)", txt)
}

func attrSrc(name string) string {
	for _, r := range name {
		if !(r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return "attr[" + quote(name) + "]"
		}
	}
	return "attr." + name
}

func parseJSONPath(s string) ([]pathElem, error) {
	var out []pathElem
	for s != "" {
		switch s[0] {
		case '.':
			j := 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == 1 {
				return nil, fmt.Errorf("empty JSON path element")
			}
			out = append(out, pathElem{key: s[1:j], index: -1})
			s = s[j:]
		case '[':
			j := strings.IndexByte(s, ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated '[' in JSON path")
			}
			inner := s[1:j]
			if inner != "" && (inner[0] == '"' || inner[0] == '\'') {
				k, n, err := lexQuoted(inner, inner[0])
				if err != nil || n != len(inner) {
					return nil, fmt.Errorf("bad JSON path key %s", inner)
				}
				out = append(out, pathElem{key: k, index: -1})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 || n > 1<<20 {
					return nil, fmt.Errorf("bad JSON path index %q", inner)
				}
				out = append(out, pathElem{index: n})
			}
			s = s[j+1:]
		default:
			return nil, fmt.Errorf("bad JSON path near %q", s)
		}
	}
	return out, nil
}

func jsonPathSrc(path []pathElem) string {
	var b strings.Builder
	b.WriteString("$")
	for _, e := range path {
		switch {
		case e.index >= 0:
			fmt.Fprintf(&b, "[%d]", e.index)
		case e.key != "" && !strings.ContainsAny(e.key, ".[]\"' \t\n\r\\()=!<>~/") && utf8.ValidString(e.key) && !strings.ContainsFunc(e.key, unicode.IsSpace):
			b.WriteString("." + e.key)
		default:
			b.WriteString("[" + quote(e.key) + "]")
		}
	}
	return b.String()
}

func (p *parser) parseCond() (node, error) {
	if p.pos >= len(p.toks) {
		return nil, p.errf("expected a condition")
	}
	t := p.toks[p.pos]
	if t.kind != tIdent {
		return nil, p.errf("expected a field, got %s", t)
	}
	f, err := p.parseField(t)
	if err != nil {
		return nil, err
	}
	p.pos++
	if p.pos >= len(p.toks) {
		return nil, p.errf("expected an operator after %s", f.src)
	}
	opTok := p.toks[p.pos]
	op := opTok.text
	if opTok.kind == tIdent {
		op = strings.ToLower(op)
		if op == "matches" {
			op = "~"
		}
	} else if opTok.kind != tOp {
		return nil, p.errf("expected an operator after %s, got %s", f.src, opTok)
	}
	p.pos++
	c := &condNode{f: f, op: op}
	switch op {
	case "exists":
		if f.kind != fJSON && f.kind != fAttr {
			return nil, p.errf("exists applies to $.path and attr.NAME")
		}
		return c, nil
	case "contains", "~", "==", "!=", "<", "<=", ">", ">=":
	default:
		return nil, p.errf("unknown operator %q", op)
	}
	if p.pos >= len(p.toks) {
		return nil, p.errf("expected a value after %s %s", f.src, op)
	}
	v := p.toks[p.pos]
	p.pos++
	switch op {
	case "contains":
		if f.kind == fAge || f.kind == fReceiveCount || v.kind != tString {
			return nil, p.errf("contains wants a string field and a quoted string")
		}
		c.str = v.text
	case "~":
		if f.kind == fAge || f.kind == fReceiveCount || (v.kind != tString && v.kind != tRegex) {
			return nil, p.errf("~ wants a string field and /regex/ or a quoted string")
		}
		re, err := regexp.Compile(v.text)
		if err != nil {
			return nil, p.errf("bad regex: %v", err)
		}
		c.re = re
	default:
		switch f.kind {
		case fAge:
			if v.kind != tDuration && !(v.kind == tNumber && v.text == "0") {
				return nil, p.errf("age compares with a duration such as 30m, 2h or 3d")
			}
			d, _ := parseDuration(v.text)
			if v.text == "0" {
				d = 0
			}
			c.dur, c.durSrc = d, v.text
		case fReceiveCount:
			if v.kind != tNumber {
				return nil, p.errf("receive_count compares with a number")
			}
			n, _ := strconv.ParseFloat(v.text, 64)
			c.num, c.numSrc = n, v.text
		case fJSON:
			switch {
			case v.kind == tString:
				c.lit = v.text
				c.litKind = litString
			case v.kind == tNumber:
				n, _ := strconv.ParseFloat(v.text, 64)
				c.num, c.numSrc, c.litKind = n, v.text, litNumber
			case v.kind == tIdent && (v.text == "true" || v.text == "false"):
				c.litKind, c.lit = litBool, v.text
			case v.kind == tIdent && v.text == "null":
				c.litKind = litNull
			default:
				return nil, p.errf("JSON path compares with a string, number, true, false or null")
			}
			if c.litKind != litNumber && op != "==" && op != "!=" {
				return nil, p.errf("%s applies to numbers only", op)
			}
		default: // body, attr, group
			if op != "==" && op != "!=" {
				return nil, p.errf("%s compares strings with ==, !=, contains or ~", f.src)
			}
			if v.kind != tString {
				return nil, p.errf("%s compares with a quoted string", f.src)
			}
			c.lit, c.litKind = v.text, litString
		}
	}
	return c, nil
}

// ---- AST ----

type evalCtx struct {
	m       FilterMessage
	parsed  bool
	doc     any
	docOK   bool
	unknown []string // fields a condition needed and the message lacks
}

func (e *evalCtx) missing(field string) tri {
	for _, f := range e.unknown {
		if f == field {
			return triUnknown
		}
	}
	e.unknown = append(e.unknown, field)
	return triUnknown
}

// tri is a three-valued truth: a condition on a field the message does not
// carry is unknown.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (e *evalCtx) json() (any, bool) {
	if !e.parsed {
		e.parsed = true
		e.docOK = json.Unmarshal([]byte(e.m.Body), &e.doc) == nil
	}
	return e.doc, e.docOK
}

type node interface {
	eval(*evalCtx) tri
	String() string
}

type orNode struct{ l, r node }
type andNode struct{ l, r node }
type notNode struct{ n node }

func (n *orNode) eval(e *evalCtx) tri {
	l := n.l.eval(e)
	if l == triTrue {
		return triTrue
	}
	r := n.r.eval(e)
	switch {
	case r == triTrue:
		return triTrue
	case l == triUnknown || r == triUnknown:
		return triUnknown
	}
	return triFalse
}

func (n *andNode) eval(e *evalCtx) tri {
	l := n.l.eval(e)
	if l == triFalse {
		return triFalse
	}
	r := n.r.eval(e)
	switch {
	case r == triFalse:
		return triFalse
	case l == triUnknown || r == triUnknown:
		return triUnknown
	}
	return triTrue
}

func (n *notNode) eval(e *evalCtx) tri {
	switch v := n.n.eval(e); v {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	default:
		return v
	}
}
func (n *orNode) String() string  { return "(" + n.l.String() + " or " + n.r.String() + ")" }
func (n *andNode) String() string { return "(" + n.l.String() + " and " + n.r.String() + ")" }
func (n *notNode) String() string { return "not " + n.n.String() }

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
)

type condNode struct {
	f       field
	op      string
	str     string // contains
	re      *regexp.Regexp
	lit     string
	litKind litKind
	num     float64
	numSrc  string
	dur     time.Duration
	durSrc  string
}

func (c *condNode) String() string {
	var v string
	switch {
	case c.op == "exists":
		return c.f.src + " exists"
	case c.op == "contains":
		v = quote(c.str)
	case c.op == "~":
		v = quote(c.re.String())
	case c.f.kind == fAge:
		v = c.durSrc
	case c.f.kind == fReceiveCount:
		v = c.numSrc
	case c.litKind == litNumber:
		v = c.numSrc
	case c.litKind == litBool:
		v = c.lit
	case c.litKind == litNull:
		v = "null"
	default:
		v = quote(c.lit)
	}
	return c.f.src + " " + c.op + " " + v
}

func cmpFloat(a float64, op string, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// strValue returns the string a string-typed field has, and whether it exists.
func (c *condNode) strValue(e *evalCtx) (string, bool) {
	switch c.f.kind {
	case fBody:
		return e.m.Body, true
	case fGroup:
		return e.m.GroupID, e.m.GroupID != ""
	case fSource:
		_, name, _ := arnName(e.m.SourceARN)
		return name, name != ""
	case fAttr:
		v, ok := e.m.Attributes[c.f.name]
		return v, ok
	case fJSON:
		v, ok := c.jsonValue(e)
		if !ok {
			return "", false
		}
		if s, isStr := v.(string); isStr {
			return s, true
		}
		b, _ := json.Marshal(v)
		return string(b), true
	}
	return "", false
}

func (c *condNode) jsonValue(e *evalCtx) (any, bool) {
	doc, ok := e.json()
	if !ok {
		return nil, false
	}
	cur := doc
	for _, pe := range c.f.path {
		if pe.index >= 0 {
			arr, ok := cur.([]any)
			if !ok || pe.index >= len(arr) {
				return nil, false
			}
			cur = arr[pe.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[pe.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (c *condNode) eval(e *evalCtx) tri {
	if c.f.kind == fSource && e.m.SourceARN == "" {
		return e.missing("source")
	}
	switch c.op {
	case "exists":
		if c.f.kind == fAttr {
			_, ok := e.m.Attributes[c.f.name]
			return triOf(ok)
		}
		_, ok := c.jsonValue(e)
		return triOf(ok)
	case "contains":
		s, ok := c.strValue(e)
		return triOf(ok && strings.Contains(s, c.str))
	case "~":
		s, ok := c.strValue(e)
		return triOf(ok && c.re.MatchString(s))
	}
	switch c.f.kind {
	case fAge:
		if e.m.SentAt.IsZero() {
			return e.missing("age")
		}
		now := e.m.Now
		if now.IsZero() {
			now = time.Now()
		}
		return triOf(cmpFloat(float64(now.Sub(e.m.SentAt)), c.op, float64(c.dur)))
	case fReceiveCount:
		if e.m.ReceiveCount == 0 { // SQS counts the receive that returned it: at least 1
			return e.missing("receive_count")
		}
		return triOf(cmpFloat(float64(e.m.ReceiveCount), c.op, c.num))
	case fSource:
		s, _ := c.strValue(e)
		eq := s == c.lit || e.m.SourceARN == c.lit
		return triOf(eq == (c.op == "=="))
	case fJSON:
		v, ok := c.jsonValue(e)
		if !ok {
			return triOf(c.op == "!=")
		}
		var eq bool
		switch c.litKind {
		case litNumber:
			n, isNum := v.(float64)
			if !isNum {
				return triOf(c.op == "!=")
			}
			return triOf(cmpFloat(n, c.op, c.num))
		case litString:
			s, isStr := v.(string)
			eq = isStr && s == c.lit
		case litBool:
			b, isBool := v.(bool)
			eq = isBool && b == (c.lit == "true")
		case litNull:
			eq = v == nil
		}
		return triOf(eq == (c.op == "=="))
	default:
		s, ok := c.strValue(e)
		eq := ok && s == c.lit
		return triOf(eq == (c.op == "=="))
	}
}
