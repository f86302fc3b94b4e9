package logpattern

import (
	"strconv"
	"strings"
)

// delimPattern is a [ ... ] space-delimited pattern.
type delimPattern struct {
	slots    []delimSlot
	ellipsis int // index of the "..." slot, or -1
	nRegex   int
}

// delimSlot is one comma-separated position: a field name (possibly empty)
// and an optional condition over named fields.
type delimSlot struct {
	name string
	cond delimNode // nil: any value
}

type delimNode interface {
	eval(fields map[string]string) bool
}

type delimAnd struct{ l, r delimNode }
type delimOr struct{ l, r delimNode }

func (n *delimAnd) eval(f map[string]string) bool { return n.l.eval(f) && n.r.eval(f) }
func (n *delimOr) eval(f map[string]string) bool  { return n.l.eval(f) || n.r.eval(f) }

type delimCond struct {
	name string
	op   string
	val  operand
}

func (c *delimCond) eval(fields map[string]string) bool {
	v, ok := fields[c.name]
	if !ok {
		return false
	}
	return compareField(v, c.op, c.val)
}

// compareField compares a space-delimited field (always text) with a value.
func compareField(v, op string, val operand) bool {
	switch {
	case val.re != nil:
		return val.re.MatchString(v) == (op == "=")
	case val.isNum:
		f, ok := parseNumber(v)
		if !ok {
			if op == "=" || op == "!=" {
				return (v == val.text) == (op == "=")
			}
			return false
		}
		return numCompare(f, op, val.num)
	case val.wildcard:
		return wildcardMatch(val.text, v) == (op == "=")
	default:
		return (v == val.text) == (op == "=")
	}
}

func parseDelimited(src string, start, end int) (*delimPattern, error) {
	if src[end-1] != ']' {
		if k := strings.LastIndexByte(src[start:end], ']'); k >= 0 {
			return nil, errAt(src, start+k+1, "unexpected text after the closing ']'")
		}
		return nil, errAt(src, end, "missing closing ']' for the space-delimited pattern opened at column %d", errAt(src, start, "").Column)
	}
	d := &delimPattern{ellipsis: -1}
	names := map[string]int{}
	// Split on top-level commas (not inside quotes or regexes).
	i := start + 1
	inner := end - 1
	for {
		j := i
		for j < inner && src[j] != ',' {
			switch src[j] {
			case '"':
				_, next, err := quoted(src, j, inner)
				if err != nil {
					return nil, err
				}
				j = next
				continue
			case '%':
				close, err := regexEnd(src, j, inner)
				if err != nil {
					return nil, err
				}
				j = close + 1
				continue
			}
			j++
		}
		slot, isEllipsis, err := d.parseSlot(src, i, j)
		if err != nil {
			return nil, err
		}
		if isEllipsis {
			if d.ellipsis >= 0 {
				ts, _ := trimBounds(src[i:j])
				return nil, errAt(src, i+ts, "only one '...' is allowed in a space-delimited pattern")
			}
			d.ellipsis = len(d.slots)
		}
		if slot.name != "" {
			if _, dup := names[slot.name]; dup {
				ts, _ := trimBounds(src[i:j])
				return nil, errAt(src, i+ts, "field name %q is used twice", slot.name)
			}
			names[slot.name] = len(d.slots)
		}
		d.slots = append(d.slots, slot)
		if j >= inner {
			break
		}
		i = j + 1
	}
	if len(d.slots) == 1 && d.slots[0].name == "" && d.ellipsis < 0 {
		s, e := trimBounds(src[start+1 : inner])
		if s == e {
			// "[]" names no field and sets no condition: like "[...]"
			// it matches every event, and TestMetricFilter extracts
			// each field as $1, $2, ...
			d.slots = []delimSlot{{}}
			d.ellipsis = 0
		}
	}
	return d, nil
}

func (d *delimPattern) parseSlot(src string, start, end int) (delimSlot, bool, error) {
	s, e := trimBounds(src[start:end])
	s, e = start+s, start+e
	if s == e {
		return delimSlot{}, false, nil
	}
	if src[s:e] == "..." {
		return delimSlot{}, true, nil
	}
	lx := &lexer{src: src, i: s, end: e, inDelim: true, nRegex: d.nRegex}
	first := true
	var slot delimSlot
	var parseCond func() (delimNode, error)
	parseCond = func() (delimNode, error) {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tBare || !isName(t.text) {
			return nil, errAt(src, t.off, "expected a field name (letters, digits, '_' and '-'), found %s", describe(t))
		}
		name := t.text
		if first {
			slot.name = name
			first = false
		} else if name != slot.name {
			// AWS rejects conditions joined with && or || that name
			// different fields ("[..., status_code = 4* && bytes > 1000]"
			// is "Invalid filter pattern": awsdocs/amazon-cloudwatch-logs-
			// user-guide issue #21); each field carries its own conditions.
			return nil, errAt(src, t.off, "condition on field %q inside the slot of field %q: conditions joined with && or || must all name the same field; put the condition on %q in its own position", name, slot.name, name)
		}
		op, err := lx.peek()
		if err != nil {
			return nil, err
		}
		if op.kind != tOp {
			if name == slot.name && op.kind == tEOF {
				return nil, nil
			}
			return nil, errAt(src, op.off, "expected an operator (=, !=, <, >, <=, >=) after field %q, found %s", name, describe(op))
		}
		lx.next()
		v, err := lx.next()
		if err != nil {
			return nil, err
		}
		val, err := operandOf(src, op, v)
		if err != nil {
			return nil, err
		}
		return &delimCond{name: name, op: op.text, val: val}, nil
	}
	parseAnd := func() (delimNode, error) {
		l, err := parseCond()
		if err != nil || l == nil {
			return l, err
		}
		for {
			t, err := lx.peek()
			if err != nil {
				return nil, err
			}
			if t.kind != tAnd {
				return l, nil
			}
			lx.next()
			r, err := parseCond()
			if err != nil {
				return nil, err
			}
			if r == nil {
				return nil, errAt(src, t.off, "'&&' must be followed by a condition such as status=200")
			}
			l = &delimAnd{l, r}
		}
	}
	l, err := parseAnd()
	if err != nil {
		return delimSlot{}, false, err
	}
	for l != nil {
		t, err := lx.peek()
		if err != nil {
			return delimSlot{}, false, err
		}
		if t.kind != tOr {
			break
		}
		lx.next()
		r, err := parseAnd()
		if err != nil {
			return delimSlot{}, false, err
		}
		if r == nil {
			return delimSlot{}, false, errAt(src, t.off, "'||' must be followed by a condition such as status=200")
		}
		l = &delimOr{l, r}
	}
	t, err := lx.next()
	if err != nil {
		return delimSlot{}, false, err
	}
	if t.kind != tEOF {
		return delimSlot{}, false, errAt(src, t.off, "expected ',' or ']' after field %q, found %s", slot.name, describe(t))
	}
	d.nRegex = lx.nRegex
	slot.cond = l
	return slot, false, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

// splitFields splits an event into space-delimited fields; "..." and [...]
// enclose one field (the delimiters are dropped).
func splitFields(msg string) []string {
	var out []string
	i := 0
	for {
		for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t') {
			i++
		}
		if i >= len(msg) {
			return out
		}
		var closer byte
		switch msg[i] {
		case '"':
			closer = '"'
		case '[':
			closer = ']'
		}
		if closer != 0 {
			if k := strings.IndexByte(msg[i+1:], closer); k >= 0 {
				out = append(out, msg[i+1:i+1+k])
				i = i + 1 + k + 1
				continue
			}
		}
		j := i
		for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' {
			j++
		}
		out = append(out, msg[i:j])
		i = j
	}
}

// binding is an event's fields with the pattern's name for each ("" if unnamed).
type binding struct {
	fields []string
	names  []string
}

func (d *delimPattern) bind(msg string) (binding, bool) {
	fields := splitFields(msg)
	n := len(d.slots)
	names := make([]string, len(fields))
	slotOf := make([]int, len(fields))
	for i := range slotOf {
		slotOf[i] = -1
	}
	if d.ellipsis < 0 {
		if len(fields) != n {
			return binding{}, false
		}
		for i := range fields {
			slotOf[i] = i
		}
	} else {
		fixed := n - 1
		if len(fields) < fixed {
			return binding{}, false
		}
		for i := 0; i < d.ellipsis; i++ {
			slotOf[i] = i
		}
		after := n - d.ellipsis - 1
		for k := 0; k < after; k++ {
			slotOf[len(fields)-after+k] = d.ellipsis + 1 + k
		}
	}
	byName := map[string]string{}
	for i, s := range slotOf {
		if s >= 0 && d.slots[s].name != "" {
			names[i] = d.slots[s].name
			byName[d.slots[s].name] = fields[i]
		}
	}
	for _, s := range d.slots {
		if s.cond != nil && !s.cond.eval(byName) {
			return binding{}, false
		}
	}
	return binding{fields: fields, names: names}, true
}

// field returns the value of "$name" or "$N" in a bound event.
func (b binding) field(ref string) (string, bool) {
	if n, err := strconv.Atoi(ref); err == nil {
		if n >= 1 && n <= len(b.fields) {
			return b.fields[n-1], true
		}
		return "", false
	}
	for i, name := range b.names {
		if name == ref {
			return b.fields[i], true
		}
	}
	return "", false
}
