package logpattern

import (
	"encoding/json"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// jsonNode is a node of a { ... } pattern.
type jsonNode interface {
	eval(doc any) bool
	selectors(*[]*selector)
}

type jsonAnd struct{ l, r jsonNode }
type jsonOr struct{ l, r jsonNode }

func (n *jsonAnd) eval(doc any) bool { return n.l.eval(doc) && n.r.eval(doc) }
func (n *jsonOr) eval(doc any) bool  { return n.l.eval(doc) || n.r.eval(doc) }
func (n *jsonAnd) selectors(out *[]*selector) {
	n.l.selectors(out)
	n.r.selectors(out)
}
func (n *jsonOr) selectors(out *[]*selector) {
	n.l.selectors(out)
	n.r.selectors(out)
}

// selector is a property path like $.a.b[0], $.['cluster.name'], $.* or
// $.items[*].id.
type selector struct {
	src      string
	steps    []step
	wildcard bool // some step is * or [*]: the selector may select many values
}

type step struct {
	key   string
	index int
	isIdx bool
	any   bool // * (every member of an object or element of an array) or [*]
}

// resolve returns the single value a selector without wildcards selects.
func (s *selector) resolve(doc any) (any, bool) {
	if s.wildcard {
		return nil, false
	}
	vs := s.resolveAll(doc)
	if len(vs) == 0 {
		return nil, false
	}
	return vs[0], true
}

// resolveAll returns every value the selector selects; a wildcard step
// fans out over an object's members or an array's elements.
func (s *selector) resolveAll(doc any) []any {
	cur := []any{doc}
	for _, st := range s.steps {
		var next []any
		for _, v := range cur {
			switch {
			case st.any:
				switch x := v.(type) {
				case map[string]any:
					for _, m := range x {
						next = append(next, m)
					}
				case []any:
					next = append(next, x...)
				}
			case st.isIdx:
				if a, ok := v.([]any); ok && st.index < len(a) {
					next = append(next, a[st.index])
				}
			default:
				if m, ok := v.(map[string]any); ok {
					if e, found := m[st.key]; found {
						next = append(next, e)
					}
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

// valueText is the text of a value node (string, number, boolean).
func valueText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// operand is the right-hand side of a comparison.
type operand struct {
	text     string         // string value (quoted or bare)
	quoted   bool           // written in double quotes
	num      float64        // numeric value when isNum
	isNum    bool           // a bare number
	wildcard bool           // contains '*'
	re       *regexp.Regexp // %regex% value
}

type jsonCond struct {
	sel *selector
	op  string // = != < > <= >= null true false notexists
	val operand
}

func (c *jsonCond) selectors(out *[]*selector) { *out = append(*out, c.sel) }

// eval applies the condition to what the selector selects. A wildcard
// selector matches when any selected value satisfies the condition, and
// NOT EXISTS when it selects nothing.
func (c *jsonCond) eval(doc any) bool {
	vs := c.sel.resolveAll(doc)
	if c.op == "notexists" {
		return len(vs) == 0
	}
	for _, v := range vs {
		if c.holds(v) {
			return true
		}
	}
	return false
}

func (c *jsonCond) holds(v any) bool {
	switch c.op {
	case "null":
		return v == nil
	case "true", "false":
		b, ok := v.(bool)
		return ok && b == (c.op == "true")
	}
	return compare(v, c.op, c.val)
}

// compare applies op to a JSON value node. Objects, arrays and null never
// compare (AWS: "the selector must point to a value node").
func compare(v any, op string, val operand) bool {
	text, isValue := valueText(v)
	if !isValue {
		return false
	}
	_, isStr := v.(string)
	n, isNumber := v.(json.Number)
	switch {
	case val.re != nil:
		if _, isBool := v.(bool); isBool {
			return false
		}
		return val.re.MatchString(text) == (op == "=")
	case val.isNum:
		if !isNumber {
			return false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return false
		}
		return numCompare(f, op, val.num)
	case val.wildcard:
		return wildcardMatch(val.text, text) == (op == "=")
	default:
		// A plain string compares with strings only: "123" does not
		// match the number 123, neither with = nor with !=.
		if !isStr {
			return false
		}
		return (text == val.text) == (op == "=")
	}
}

func numCompare(a float64, op string, b float64) bool {
	switch op {
	case "=":
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

// numberRe is the number syntax AWS documents: an integer or decimal with an
// optional sign, optionally followed by an exponent.
var numberRe = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

func parseNumber(s string) (float64, bool) {
	if !numberRe.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimPrefix(s, "+"), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// decodeJSON decodes a whole message as JSON (numbers kept as json.Number).
func decodeJSON(msg string) (any, bool) {
	t := strings.TrimSpace(msg)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// ---- lexer and parser ----

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tAnd
	tOr
	tSelector
	tOp
	tString
	tRegex
	tBare
)

type token struct {
	kind tokKind
	off  int // byte offset in the whole pattern
	text string
	sel  *selector
	re   *regexp.Regexp
}

// lexer tokenizes the inside of a JSON or space-delimited pattern.
type lexer struct {
	src     string
	i, end  int
	nRegex  int
	inDelim bool
	peeked  *token
	peekErr error
}

func (lx *lexer) peek() (token, error) {
	if lx.peeked == nil && lx.peekErr == nil {
		t, err := lx.scan()
		lx.peeked, lx.peekErr = &t, err
	}
	if lx.peekErr != nil {
		return token{}, lx.peekErr
	}
	return *lx.peeked, nil
}

func (lx *lexer) next() (token, error) {
	t, err := lx.peek()
	lx.peeked, lx.peekErr = nil, nil
	return t, err
}

func isBareChar(c byte) bool {
	return isWordChar(c) || c == '.' || c == '*' || c == '-' || c == '+'
}

func isNameChar(c byte) bool { return isWordChar(c) || c == '-' }

func (lx *lexer) scan() (token, error) {
	src := lx.src
	for lx.i < lx.end && isSpace(src[lx.i]) {
		lx.i++
	}
	if lx.i >= lx.end {
		return token{kind: tEOF, off: lx.end}, nil
	}
	off := lx.i
	c := src[off]
	switch {
	case c == '(' && !lx.inDelim:
		lx.i++
		return token{kind: tLParen, off: off}, nil
	case c == ')' && !lx.inDelim:
		lx.i++
		return token{kind: tRParen, off: off}, nil
	case c == '&' || c == '|':
		if off+1 < lx.end && src[off+1] == c {
			lx.i += 2
			if c == '&' {
				return token{kind: tAnd, off: off, text: "&&"}, nil
			}
			return token{kind: tOr, off: off, text: "||"}, nil
		}
		return token{}, errAt(src, off, "%q is not an operator; use %q", c, string([]byte{c, c}))
	case c == '=' || c == '!' || c == '<' || c == '>':
		op := string(c)
		if off+1 < lx.end && src[off+1] == '=' && c != '=' {
			op += "="
		} else if lx.inDelim && c == '=' && off+1 < lx.end && src[off+1] == '!' {
			op = "!=" // AWS documents [w1=!ERROR] for "not ERROR"
		}
		if op == "!" {
			return token{}, errAt(src, off, "'!' must be followed by '=' (the operator is !=)")
		}
		if op == "=" && off+1 < lx.end && src[off+1] == '=' {
			return token{}, errAt(src, off, "'==' is not an operator; use '='")
		}
		lx.i += len(op)
		return token{kind: tOp, off: off, text: op}, nil
	case c == '"':
		s, next, err := quoted(src, off, lx.end)
		if err != nil {
			return token{}, err
		}
		lx.i = next
		return token{kind: tString, off: off, text: s}, nil
	case c == '%':
		close, err := regexEnd(src, off, lx.end)
		if err != nil {
			return token{}, err
		}
		re, err := parseRegexBody(src, off, close)
		if err != nil {
			return token{}, err
		}
		lx.nRegex++
		if lx.nRegex > MaxRegexPerPattern {
			return token{}, errAt(src, off, "a filter pattern may contain at most %d regular expressions", MaxRegexPerPattern)
		}
		lx.i = close + 1
		return token{kind: tRegex, off: off, re: re, text: src[off : close+1]}, nil
	case c == '$' && !lx.inDelim:
		sel, next, err := parseSelector(src, off, lx.end)
		if err != nil {
			return token{}, err
		}
		lx.i = next
		return token{kind: tSelector, off: off, sel: sel, text: sel.src}, nil
	case isBareChar(c):
		j := off
		for j < lx.end && isBareChar(src[j]) {
			j++
		}
		lx.i = j
		return token{kind: tBare, off: off, text: src[off:j]}, nil
	}
	if lx.inDelim && c == ',' {
		return token{}, errAt(src, off, "unexpected ','")
	}
	return token{}, errAt(src, off, "unexpected character %q%s", runeAt(src, off), quoteHint(c))
}

func quoteHint(c byte) string {
	if c == '\'' {
		return " (strings are quoted with double quotes)"
	}
	if c == '}' || c == ']' {
		return ""
	}
	return "; values with characters other than letters, digits, '_', '-', '.', '+' and '*' must be in double quotes"
}

// parseSelector reads a selector starting at src[i] == '$': property steps
// .name (letters, digits, '_' and '-'), bracketed keys for names with other
// characters such as dots (['cluster.name'], also written .['cluster.name']),
// array indexes [0], and the wildcards .* and [*].
func parseSelector(src string, i, end int) (*selector, int, error) {
	start := i
	i++
	sel := &selector{}
	for i < end {
		c := src[i]
		if c == '.' && i+1 < end && src[i+1] == '[' {
			i++ // .['key'] is the same as ['key']
			c = '['
			if j := i + 1; j >= end || (src[j] != '\'' && src[j] != '"') {
				return nil, 0, errAt(src, i, "expected a quoted key such as ['cluster.name'] after '.['")
			}
		}
		switch c {
		case '.':
			j := i + 1
			if j < end && src[j] == '*' {
				sel.steps = append(sel.steps, step{any: true})
				sel.wildcard = true
				i = j + 1
				continue
			}
			for j < end && isNameChar(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, 0, errAt(src, i+1, "expected a property name after '.' in selector (letters, digits, '_' and '-'; ['name'] for other characters; * for any property)")
			}
			sel.steps = append(sel.steps, step{key: src[i+1 : j]})
			i = j
			continue
		case '[':
			if i+1 < end && (src[i+1] == '\'' || src[i+1] == '"') {
				q := src[i+1]
				k := strings.IndexByte(src[i+2:end], q)
				if k < 0 {
					return nil, 0, errAt(src, i+1, "unterminated key in selector (a %c without its closing %c)", q, q)
				}
				key := src[i+2 : i+2+k]
				close := i + 2 + k + 1
				if key == "" {
					return nil, 0, errAt(src, i+1, "empty key [%c%c] in selector", q, q)
				}
				if close >= end || src[close] != ']' {
					return nil, 0, errAt(src, close, "expected ']' after the quoted key in selector")
				}
				sel.steps = append(sel.steps, step{key: key})
				i = close + 1
				continue
			}
			if len(sel.steps) == 0 {
				return nil, 0, errAt(src, i, "an array index must follow a property, as in $.items[0]")
			}
			if i+2 < end && src[i+1] == '*' && src[i+2] == ']' {
				sel.steps = append(sel.steps, step{any: true})
				sel.wildcard = true
				i += 3
				continue
			}
			j := i + 1
			for j < end && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j == i+1 || j >= end || src[j] != ']' {
				return nil, 0, errAt(src, i, "expected an array index like [0], [*] or a quoted key like ['a.b'] in selector")
			}
			n, err := strconv.Atoi(src[i+1 : j])
			if err != nil || n > 1<<20 {
				return nil, 0, errAt(src, i+1, "array index %s is too large", src[i+1:j])
			}
			sel.steps = append(sel.steps, step{index: n, isIdx: true})
			i = j + 1
			continue
		}
		break
	}
	if len(sel.steps) == 0 {
		return nil, 0, errAt(src, start, "a selector starts with '$.' followed by a property name, as in $.level")
	}
	if i < end && !isSpace(src[i]) && !strings.ContainsRune("=!<>)&|}", rune(src[i])) {
		return nil, 0, errAt(src, i, "unexpected character %q in selector (property names use letters, digits, '_' and '-'; write ['%s...'] for other characters)", runeAt(src, i), runeAt(src, i))
	}
	sel.src = src[start:i]
	return sel, i, nil
}

// parseJSON parses "{ expr }" spanning src[start:end].
func parseJSON(src string, start, end int) (jsonNode, int, error) {
	if src[end-1] != '}' {
		// Find a stray '}' for a better message.
		if k := strings.LastIndexByte(src[start:end], '}'); k >= 0 {
			return nil, 0, errAt(src, start+k+1, "unexpected text after the closing '}'")
		}
		return nil, 0, errAt(src, end, "missing closing '}' for the JSON pattern opened at column %d", errAt(src, start, "").Column)
	}
	lx := &lexer{src: src, i: start + 1, end: end - 1}
	p := &jsonParser{lx: lx}
	t, err := lx.peek()
	if err != nil {
		return nil, 0, err
	}
	if t.kind == tEOF {
		return nil, 0, errAt(src, start, "empty JSON pattern {}: write a condition such as { $.level = \"ERROR\" }")
	}
	n, err := p.or(0)
	if err != nil {
		return nil, 0, err
	}
	t, err = lx.next()
	if err != nil {
		return nil, 0, err
	}
	if t.kind != tEOF {
		if t.kind == tRParen {
			return nil, 0, errAt(src, t.off, "unbalanced ')'")
		}
		return nil, 0, errAt(src, t.off, "expected '&&', '||' or the closing '}', found %s", describe(t))
	}
	return n, lx.nRegex, nil
}

type jsonParser struct{ lx *lexer }

const maxDepth = 100

func (p *jsonParser) or(depth int) (jsonNode, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.lx.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tOr {
			return l, nil
		}
		p.lx.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &jsonOr{l, r}
	}
}

func (p *jsonParser) and(depth int) (jsonNode, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.lx.peek()
		if err != nil {
			return nil, err
		}
		if t.kind != tAnd {
			return l, nil
		}
		p.lx.next()
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &jsonAnd{l, r}
	}
}

func (p *jsonParser) unary(depth int) (jsonNode, error) {
	t, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tLParen:
		if depth >= maxDepth {
			return nil, errAt(p.lx.src, t.off, "parentheses nested deeper than %d", maxDepth)
		}
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		c, err := p.lx.next()
		if err != nil {
			return nil, err
		}
		if c.kind != tRParen {
			return nil, errAt(p.lx.src, c.off, "expected ')' to close the '(' at column %d, found %s", errAt(p.lx.src, t.off, "").Column, describe(c))
		}
		return n, nil
	case tSelector:
		return p.cond(t.sel)
	}
	return nil, errAt(p.lx.src, t.off, "expected a selector such as $.level or '(', found %s", describe(t))
}

func (p *jsonParser) cond(sel *selector) (jsonNode, error) {
	src := p.lx.src
	t, err := p.lx.next()
	if err != nil {
		return nil, err
	}
	switch {
	case t.kind == tOp:
		v, err := p.lx.next()
		if err != nil {
			return nil, err
		}
		val, err := operandOf(src, t, v)
		if err != nil {
			return nil, err
		}
		return &jsonCond{sel: sel, op: t.text, val: val}, nil
	case t.kind == tBare && strings.EqualFold(t.text, "IS"):
		v, err := p.lx.next()
		if err != nil {
			return nil, err
		}
		if v.kind == tBare {
			switch strings.ToUpper(v.text) {
			case "NULL":
				return &jsonCond{sel: sel, op: "null"}, nil
			case "TRUE":
				return &jsonCond{sel: sel, op: "true"}, nil
			case "FALSE":
				return &jsonCond{sel: sel, op: "false"}, nil
			}
		}
		return nil, errAt(src, v.off, "expected NULL, TRUE or FALSE after IS, found %s", describe(v))
	case t.kind == tBare && strings.EqualFold(t.text, "NOT"):
		v, err := p.lx.next()
		if err != nil {
			return nil, err
		}
		if v.kind == tBare && strings.EqualFold(v.text, "EXISTS") {
			return &jsonCond{sel: sel, op: "notexists"}, nil
		}
		return nil, errAt(src, v.off, "expected EXISTS after NOT, found %s", describe(v))
	}
	return nil, errAt(src, t.off, "expected an operator (=, !=, <, >, <=, >=), IS NULL, IS TRUE, IS FALSE or NOT EXISTS after %s, found %s", sel.src, describe(t))
}

// operandOf checks the value v that follows operator op.
func operandOf(src string, op, v token) (operand, error) {
	numeric := op.text != "=" && op.text != "!="
	switch v.kind {
	case tString:
		if numeric {
			return operand{}, errAt(src, v.off, "%s compares numbers; %q is a string", op.text, v.text)
		}
		return operand{text: v.text, quoted: true, wildcard: hasWildcard(v.text)}, nil
	case tRegex:
		if numeric {
			return operand{}, errAt(src, v.off, "%s compares numbers; a regular expression needs = or !=", op.text)
		}
		return operand{re: v.re, text: v.text}, nil
	case tBare:
		if f, ok := parseNumber(v.text); ok {
			return operand{text: v.text, num: f, isNum: true}, nil
		}
		if numeric {
			return operand{}, errAt(src, v.off, "%s compares numbers; %q is not a number", op.text, v.text)
		}
		if strings.ContainsRune(v.text, '+') {
			return operand{}, errAt(src, v.off, "%q must be in double quotes ('+' is only allowed in numbers)", v.text)
		}
		return operand{text: v.text, wildcard: hasWildcard(v.text)}, nil
	}
	return operand{}, errAt(src, v.off, "expected a value after %s, found %s", op.text, describe(v))
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the pattern"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tAnd, tOr, tOp:
		return "'" + t.text + "'"
	case tString:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}
