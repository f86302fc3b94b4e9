package eventsemu

import (
	"encoding/json"
	"fmt"
	"strings"
)

// An event pattern (EventBridge user guide, "Event patterns" and "Content
// filtering in event patterns"): a JSON object whose leaves are arrays of
// matchers. A matcher is a string, number, boolean or null (exact match), or
// an object with one of prefix, suffix, anything-but, exists, numeric,
// equals-ignore-case or wildcard. An event matches when every field of the
// pattern matches; a field whose event value is an array matches when any
// element does; a leaf array matches when any of its matchers does.
type pattern map[string]any // value: pattern (nested) or []matcher

type matcher struct {
	kind string // "exact", "prefix", "suffix", "anything-but", "exists", "numeric", "equals-ignore-case", "wildcard"
	val  any    // exact: the JSON value; prefix/suffix/equals-ignore-case/wildcard: string; exists: bool
	// anything-but: exact values, or a prefix/suffix
	but       []any
	butPrefix string
	butSuffix string
	// numeric: comparisons
	ops []numOp
}

type numOp struct {
	op  string
	num float64
}

type patternError string

func (e patternError) Error() string { return string(e) }

func bad(format string, args ...any) error { return patternError(fmt.Sprintf(format, args...)) }

// parsePattern parses and validates an event pattern as PutRule does.
func parsePattern(text string) (pattern, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, bad("Filter is not an object")
	}
	if dec.More() {
		return nil, bad("Filter is not an object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, bad("Filter is not an object")
	}
	if len(obj) == 0 {
		return nil, bad("Empty objects are not allowed")
	}
	return parseObject(obj, "")
}

func parseObject(obj map[string]any, at string) (pattern, error) {
	p := pattern{}
	for k, v := range obj {
		field := strings.TrimPrefix(at+"."+k, ".")
		switch val := v.(type) {
		case map[string]any:
			if len(val) == 0 {
				return nil, bad("Empty objects are not allowed")
			}
			sub, err := parseObject(val, field)
			if err != nil {
				return nil, err
			}
			p[k] = sub
		case []any:
			if len(val) == 0 {
				return nil, bad("Empty arrays are not allowed")
			}
			var ms []matcher
			for _, m := range val {
				mm, err := parseMatcher(field, m)
				if err != nil {
					return nil, err
				}
				ms = append(ms, mm)
			}
			p[k] = ms
		default:
			return nil, bad("\"%s\" must be an object or an array", field)
		}
	}
	return p, nil
}

func parseMatcher(field string, m any) (matcher, error) {
	obj, ok := m.(map[string]any)
	if !ok {
		if _, isArr := m.([]any); isArr {
			return matcher{}, bad("Match value must be String, number, true, false, or null")
		}
		return matcher{kind: "exact", val: m}, nil
	}
	if len(obj) != 1 {
		return matcher{}, bad("Only one key allowed in match expression")
	}
	for k, v := range obj {
		switch k {
		case "prefix", "suffix", "equals-ignore-case", "wildcard":
			s, ok := v.(string)
			if !ok {
				return matcher{}, bad("%s match pattern must be a string", k)
			}
			if k == "wildcard" && strings.Contains(s, "**") {
				return matcher{}, bad("Consecutive wildcard characters at pos %d", strings.Index(s, "**")+1)
			}
			return matcher{kind: k, val: s}, nil
		case "exists":
			b, ok := v.(bool)
			if !ok {
				return matcher{}, bad("exists match pattern must be either true or false.")
			}
			return matcher{kind: k, val: b}, nil
		case "anything-but":
			mm := matcher{kind: k}
			switch bv := v.(type) {
			case []any:
				if len(bv) == 0 {
					return matcher{}, bad("Empty arrays are not allowed")
				}
				for _, x := range bv {
					switch x.(type) {
					case string, json.Number:
						mm.but = append(mm.but, x)
					default:
						return matcher{}, bad("Inside anything but list, start|null|boolean is not supported.")
					}
				}
			case string, json.Number:
				mm.but = []any{bv}
			case map[string]any:
				if len(bv) != 1 {
					return matcher{}, bad("Only one key allowed in match expression")
				}
				if s, ok := bv["prefix"].(string); ok {
					mm.butPrefix = s
				} else if s, ok := bv["suffix"].(string); ok {
					mm.butSuffix = s
				} else {
					return matcher{}, bad("Unsupported anything-but pattern: %v", bv)
				}
			default:
				return matcher{}, bad("Value of anything-but must be an array or single string/number value.")
			}
			return mm, nil
		case "numeric":
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 || len(arr)%2 != 0 || len(arr) > 4 {
				return matcher{}, bad("Value of numeric must be an array.")
			}
			mm := matcher{kind: k}
			for i := 0; i < len(arr); i += 2 {
				op, ok := arr[i].(string)
				if !ok || !map[string]bool{"=": true, "<": true, "<=": true, ">": true, ">=": true}[op] {
					return matcher{}, bad("Unrecognized numeric range operator: %v", arr[i])
				}
				n, ok := arr[i+1].(json.Number)
				if !ok {
					return matcher{}, bad("Value of %s must be numeric", op)
				}
				f, err := n.Float64()
				if err != nil || f < -5e9 || f > 5e9 {
					return matcher{}, bad("Value of %s must be numeric between -5.0E9 and 5.0E9", op)
				}
				mm.ops = append(mm.ops, numOp{op, f})
			}
			if len(mm.ops) == 2 && (mm.ops[0].op == "=" || mm.ops[1].op == "=") {
				return matcher{}, bad("Bad numeric range operator: =")
			}
			return mm, nil
		default:
			return matcher{}, bad("Unrecognized match type %s", k)
		}
	}
	return matcher{}, nil
}

// match reports whether the event (decoded JSON with json.Number numbers)
// matches the pattern.
func (p pattern) match(event map[string]any) bool {
	for k, v := range p {
		val, present := event[k]
		switch sub := v.(type) {
		case pattern:
			obj, ok := val.(map[string]any)
			if !ok {
				// Only exists:false leaves can match an absent object.
				if !sub.matchAbsent() {
					return false
				}
				continue
			}
			if !sub.match(obj) {
				return false
			}
		case []matcher:
			if !matchLeaf(sub, val, present) {
				return false
			}
		}
	}
	return true
}

func (p pattern) matchAbsent() bool {
	for _, v := range p {
		switch sub := v.(type) {
		case pattern:
			if !sub.matchAbsent() {
				return false
			}
		case []matcher:
			if !matchLeaf(sub, nil, false) {
				return false
			}
		}
	}
	return true
}

func matchLeaf(ms []matcher, val any, present bool) bool {
	values := []any{val}
	if arr, ok := val.([]any); ok {
		values = arr
	}
	for _, m := range ms {
		if m.kind == "exists" {
			if m.val.(bool) == (present && val != nil) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, v := range values {
			if m.matches(v) {
				return true
			}
		}
	}
	return false
}

func (m matcher) matches(v any) bool {
	s, isStr := v.(string)
	switch m.kind {
	case "exact":
		return sameJSON(m.val, v)
	case "prefix":
		return isStr && strings.HasPrefix(s, m.val.(string))
	case "suffix":
		return isStr && strings.HasSuffix(s, m.val.(string))
	case "equals-ignore-case":
		return isStr && strings.EqualFold(s, m.val.(string))
	case "wildcard":
		return isStr && wildcard(m.val.(string), s)
	case "anything-but":
		if m.butPrefix != "" {
			return isStr && !strings.HasPrefix(s, m.butPrefix)
		}
		if m.butSuffix != "" {
			return isStr && !strings.HasSuffix(s, m.butSuffix)
		}
		for _, b := range m.but {
			if sameJSON(b, v) {
				return false
			}
		}
		return true
	case "numeric":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		if err != nil {
			return false
		}
		for _, o := range m.ops {
			switch o.op {
			case "=":
				ok = f == o.num
			case "<":
				ok = f < o.num
			case "<=":
				ok = f <= o.num
			case ">":
				ok = f > o.num
			case ">=":
				ok = f >= o.num
			}
			if !ok {
				return false
			}
		}
		return true
	}
	return false
}

func sameJSON(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		nb, ok := b.(json.Number)
		if !ok {
			return false
		}
		fa, e1 := na.Float64()
		fb, e2 := nb.Float64()
		return e1 == nil && e2 == nil && fa == fb
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// wildcard matches s against a pattern where '*' is any run of characters.
func wildcard(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
