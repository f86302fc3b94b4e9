package logsemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The Logs Insights query language subset the emulation runs: the shapes
// opsctl generates and their close relatives (CloudWatch Logs user guide,
// "CloudWatch Logs Insights language query syntax"):
//
//	fields F, F...                  (@timestamp, @message, @logStream, @log, @ptr)
//	filter EXPR                     F like "text" | F like /re/ | F =~ /re/ |
//	                                F not like ... | F = "v" | F != "v" |
//	                                not EXPR | EXPR and EXPR | EXPR or EXPR | (EXPR)
//	stats count(*)|count(F) [as A] [by bin(DURATION)[, F]]
//	sort F [asc|desc]
//	limit N
//
// Anything else is a MalformedQueryException naming the position.

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokRegex
	tokNumber
	tokPunct
)

type token struct {
	kind tokKind
	text string // identifier, punctuation, string/regex contents (unescaped)
	pos  int
}

// lexQuery splits a query into tokens. A '/' starts a regex where a value is
// expected (after like, =~ or '('), which is where the language allows one.
func lexQuery(q string) ([]token, error) {
	var out []token
	i := 0
	prevAllowsRegex := func() bool {
		if len(out) == 0 {
			return false
		}
		p := out[len(out)-1]
		return (p.kind == tokIdent && strings.EqualFold(p.text, "like")) || (p.kind == tokPunct && (p.text == "=~" || p.text == "("))
	}
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			start := i
			var b strings.Builder
			i++
			for ; i < len(q) && q[i] != c; i++ {
				if q[i] == '\\' && i+1 < len(q) {
					i++
				}
				b.WriteByte(q[i])
			}
			if i >= len(q) {
				return nil, compileError(start, "unterminated string")
			}
			i++
			out = append(out, token{tokString, b.String(), start})
		case c == '/' && prevAllowsRegex():
			start := i
			var b strings.Builder
			i++
			for ; i < len(q) && q[i] != '/'; i++ {
				if q[i] == '\\' && i+1 < len(q) && q[i+1] == '/' {
					i++
				} else if q[i] == '\\' && i+1 < len(q) {
					b.WriteByte('\\')
					i++
				}
				b.WriteByte(q[i])
			}
			if i >= len(q) {
				return nil, compileError(start, "unterminated regular expression")
			}
			i++
			out = append(out, token{tokRegex, b.String(), start})
		case c == '=' && i+1 < len(q) && q[i+1] == '~', c == '!' && i+1 < len(q) && q[i+1] == '=',
			c == '<' && i+1 < len(q) && q[i+1] == '=', c == '>' && i+1 < len(q) && q[i+1] == '=':
			out = append(out, token{tokPunct, q[i : i+2], i})
			i += 2
		case strings.IndexByte("|(),*=<>", c) >= 0:
			out = append(out, token{tokPunct, string(c), i})
			i++
		case c >= '0' && c <= '9':
			start := i
			for i < len(q) && (q[i] >= '0' && q[i] <= '9' || q[i] == '.') {
				i++
			}
			// A duration such as 5m is one identifier-like token.
			for i < len(q) && unicode.IsLetter(rune(q[i])) {
				i++
			}
			kind := tokNumber
			if _, err := strconv.ParseFloat(q[start:i], 64); err != nil {
				kind = tokIdent
			}
			out = append(out, token{kind, q[start:i], start})
		case c == '@' || c == '_' || c == '$' || unicode.IsLetter(rune(c)):
			start := i
			for i < len(q) && (q[i] == '@' || q[i] == '_' || q[i] == '.' || q[i] == '$' || unicode.IsLetter(rune(q[i])) || unicode.IsDigit(rune(q[i]))) {
				i++
			}
			out = append(out, token{tokIdent, q[start:i], start})
		default:
			return nil, compileError(i, fmt.Sprintf("unexpected symbol %q", c))
		}
	}
	return append(out, token{kind: tokEOF, pos: len(q)}), nil
}

// queryError is a compile error at a position of the query string.
type queryError struct {
	pos int
	msg string
}

func (e *queryError) Error() string { return fmt.Sprintf("%s at position %d", e.msg, e.pos) }

func compileError(pos int, msg string) error { return &queryError{pos: pos, msg: msg} }

// record is one log event as a query sees it.
type record struct {
	ev    event
	group string
	log   string // ACCOUNT:GROUP
}

func (r record) field(name string) (string, bool) {
	switch name {
	case "@message":
		return r.ev.msg, true
	case "@timestamp":
		return formatInsightsTime(r.ev.ts), true
	case "@ingestionTime":
		return formatInsightsTime(r.ev.ingest), true
	case "@logStream":
		return r.ev.stream, true
	case "@log":
		return r.log, true
	case "@ptr":
		return r.ev.id, true
	}
	return "", false
}

// formatInsightsTime is how Insights results show a timestamp:
// "2006-01-02 15:04:05.000" in UTC.
func formatInsightsTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
}

// cond is a compiled filter expression.
type cond func(record) bool

type statsSpec struct {
	field string // "*" for count(*)
	alias string
	bin   time.Duration
	byFld []string
}

type sortSpec struct {
	field string
	desc  bool
}

// compiledQuery is a parsed query.
type compiledQuery struct {
	fields  []string
	filters []cond
	stats   *statsSpec
	sorts   []sortSpec
	limit   int
}

type qparser struct {
	toks []token
	i    int
}

func (p *qparser) peek() token { return p.toks[p.i] }
func (p *qparser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *qparser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, w)
}

func (p *qparser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

func (p *qparser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return compileError(p.peek().pos, fmt.Sprintf("expected %q", s))
	}
	p.i++
	return nil
}

func (p *qparser) fieldName() (string, error) {
	t := p.next()
	if t.kind != tokIdent {
		return "", compileError(t.pos, "expected a field name")
	}
	return t.text, nil
}

// compileQuery parses a query string.
func compileQuery(q string) (*compiledQuery, error) {
	toks, err := lexQuery(q)
	if err != nil {
		return nil, err
	}
	p := &qparser{toks: toks}
	cq := &compiledQuery{}
	for {
		if p.peek().kind == tokEOF {
			break
		}
		cmd := p.next()
		if cmd.kind != tokIdent {
			return nil, compileError(cmd.pos, "expected a command (fields, filter, stats, sort, limit)")
		}
		switch strings.ToLower(cmd.text) {
		case "fields", "display":
			for {
				f, err := p.fieldName()
				if err != nil {
					return nil, err
				}
				cq.fields = append(cq.fields, f)
				if !p.isPunct(",") {
					break
				}
				p.i++
			}
		case "filter":
			c, err := p.orExpr()
			if err != nil {
				return nil, err
			}
			cq.filters = append(cq.filters, c)
		case "stats":
			if cq.stats != nil {
				return nil, compileError(cmd.pos, "only one stats command is supported")
			}
			st, err := p.statsCmd()
			if err != nil {
				return nil, err
			}
			cq.stats = st
		case "sort":
			for {
				f, err := p.fieldName()
				if err != nil {
					return nil, err
				}
				s := sortSpec{field: f}
				if p.isWord("desc") {
					s.desc = true
					p.i++
				} else if p.isWord("asc") {
					p.i++
				}
				cq.sorts = append(cq.sorts, s)
				if !p.isPunct(",") {
					break
				}
				p.i++
			}
		case "limit":
			t := p.next()
			n, err := strconv.Atoi(t.text)
			if t.kind != tokNumber || err != nil || n < 1 || n > 10000 {
				return nil, compileError(t.pos, "limit takes a number from 1 to 10000")
			}
			cq.limit = n
		default:
			return nil, compileError(cmd.pos, fmt.Sprintf("unknown or unsupported command %q", cmd.text))
		}
		switch {
		case p.isPunct("|"):
			p.i++
		case p.peek().kind != tokEOF:
			return nil, compileError(p.peek().pos, fmt.Sprintf("unexpected %q: commands are separated by |", p.peek().text))
		}
	}
	return cq, nil
}

func (p *qparser) statsCmd() (*statsSpec, error) {
	st := &statsSpec{}
	if !p.isWord("count") {
		return nil, compileError(p.peek().pos, "only count(*) and count(field) are supported in stats")
	}
	p.i++
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if p.isPunct("*") {
		p.i++
		st.field = "*"
	} else {
		f, err := p.fieldName()
		if err != nil {
			return nil, err
		}
		st.field = f
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if st.field == "*" {
		st.alias = "count(*)"
	} else {
		st.alias = "count(" + st.field + ")"
	}
	if p.isWord("as") {
		p.i++
		a, err := p.fieldName()
		if err != nil {
			return nil, err
		}
		st.alias = a
	}
	if !p.isWord("by") {
		return st, nil
	}
	p.i++
	for {
		if p.isWord("bin") {
			start := p.next()
			if err := p.expectPunct("("); err != nil {
				return nil, err
			}
			t := p.next()
			d, err := parseBin(t.text)
			if err != nil {
				return nil, compileError(t.pos, err.Error())
			}
			if err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			if st.bin != 0 {
				return nil, compileError(start.pos, "only one bin() per stats")
			}
			st.bin = d
		} else {
			f, err := p.fieldName()
			if err != nil {
				return nil, err
			}
			st.byFld = append(st.byFld, f)
		}
		if !p.isPunct(",") {
			return st, nil
		}
		p.i++
	}
}

// parseBin reads a bin() period: a number and a unit (ms, s, m, h, d; the
// user guide also lists the long names).
func parseBin(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bin() takes a period such as 5m")
	}
	units := map[string]time.Duration{
		"ms": time.Millisecond, "s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	}
	u, ok := units[strings.ToLower(s[i:])]
	if !ok {
		return 0, fmt.Errorf("bin() unit %q: want ms, s, m, h or d", s[i:])
	}
	return time.Duration(n) * u, nil
}

func (p *qparser) orExpr() (cond, error) {
	l, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.i++
		r, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(x record) bool { return a(x) || b(x) }
	}
	return l, nil
}

func (p *qparser) andExpr() (cond, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.i++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(x record) bool { return a(x) && b(x) }
	}
	return l, nil
}

func (p *qparser) unary() (cond, error) {
	if p.isWord("not") {
		p.i++
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(x record) bool { return !c(x) }, nil
	}
	if p.isPunct("(") {
		p.i++
		c, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		return c, p.expectPunct(")")
	}
	return p.comparison()
}

func (p *qparser) comparison() (cond, error) {
	f, err := p.fieldName()
	if err != nil {
		return nil, err
	}
	negate := false
	if p.isWord("not") {
		p.i++
		negate = true
	}
	op := p.next()
	var c cond
	switch {
	case op.kind == tokIdent && strings.EqualFold(op.text, "like"), op.kind == tokPunct && op.text == "=~":
		v := p.next()
		switch {
		case v.kind == tokRegex:
			re, err := regexp.Compile(v.text)
			if err != nil {
				return nil, compileError(v.pos, "invalid regular expression: "+err.Error())
			}
			c = func(x record) bool { s, _ := x.field(f); return re.MatchString(s) }
		case v.kind == tokString && op.text != "=~":
			sub := v.text
			c = func(x record) bool { s, _ := x.field(f); return strings.Contains(s, sub) }
		default:
			return nil, compileError(v.pos, fmt.Sprintf("%s takes a string or a /regular expression/", op.text))
		}
	case op.kind == tokPunct && (op.text == "=" || op.text == "!="):
		v := p.next()
		if v.kind != tokString && v.kind != tokNumber {
			return nil, compileError(v.pos, "= compares with a string or number")
		}
		want, ne := v.text, op.text == "!="
		c = func(x record) bool { s, ok := x.field(f); return ok && (s == want) != ne }
	default:
		return nil, compileError(op.pos, fmt.Sprintf("expected like, =~, = or != after %s", f))
	}
	if negate {
		inner := c
		c = func(x record) bool { return !inner(x) }
	}
	return c, nil
}
