// Package logpattern parses and evaluates CloudWatch Logs filter patterns, the
// syntax shared by metric filters, subscription filters and FilterLogEvents
// (AWS: "Filter pattern syntax for metric filters, subscription filters, and
// filter log events"). opsctl uses it twice: the alarms package validates a
// user's pattern before any API call, and the local endpoint's Logs emulation
// matches events with it, so both agree with each other and with AWS.
//
// A pattern has one of five forms, chosen by its first character:
//
//   - empty (or only blanks, or `" "`): matches every event;
//   - unstructured terms: `ERROR`, `ERROR Exception` (all must appear),
//     `"Connection timed out"` (exact phrase), `-DEBUG` / `-"health check"`
//     (must not appear), `?ERROR ?WARN` (optional terms: at least one must
//     appear). Matching is a case-sensitive substring search. Unquoted terms
//     may contain only letters, digits and '_'; anything else must be in
//     double quotes. Plain terms and exclusions always apply and '?' terms
//     add one OR group: `ERROR ?WARN ?INFO -DEBUG` is
//     ERROR and (WARN or INFO) and not DEBUG;
//   - JSON selectors in braces: `{ $.level = "ERROR" && $.latency > 500 }`
//     with = != < > <= >=, a '*' wildcard at the start and/or end of a value
//     ("*Event", "Event*"; a '*' elsewhere is literal), IS NULL,
//     NOT EXISTS, IS TRUE, IS FALSE, nested `$.a.b`, arrays `$.a[0]`, keys
//     with other characters in brackets (`$.['cluster.name']`), the
//     wildcards `$.*` and `$.a[*]` (any selected value may match), && and ||
//     with parentheses (&& binds tighter). Numbers compare with JSON numbers
//     only and strings with JSON strings only ("123" does not match 123);
//     wildcards compare with a number's text. Events that are not JSON never match;
//   - space-delimited fields in brackets: `[ip, user, ..., status=5*, bytes>1000]`
//     where an event's fields are separated by spaces and "..." or [...]
//     groups one field; without '...' the event must have exactly as many
//     fields as the pattern; `[]` matches every event; conditions joined
//     with && or || must all name the slot's own field (AWS rejects
//     `[..., status = 4* && bytes > 1000]`);
//   - a regular expression in percent signs, `%ERROR [0-9]+%`, restricted to
//     AWS's subset (no parentheses, no multi-byte characters, a fixed set of
//     symbols); regexes may also be values in JSON and space-delimited
//     patterns (at most two per pattern).
package logpattern

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Kind is the form of a pattern.
type Kind int

const (
	// KindAll is the empty pattern: it matches every event.
	KindAll Kind = iota
	// KindText is a pattern of terms, phrases, exclusions and alternatives.
	KindText
	// KindJSON is a { ... } pattern of JSON selectors.
	KindJSON
	// KindDelimited is a [ ... ] space-delimited pattern.
	KindDelimited
	// KindRegex is a standalone %regex% pattern.
	KindRegex
)

func (k Kind) String() string {
	switch k {
	case KindAll:
		return "match-all"
	case KindText:
		return "text"
	case KindJSON:
		return "json"
	case KindDelimited:
		return "space-delimited"
	case KindRegex:
		return "regex"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Limits AWS enforces on patterns.
const (
	// MaxLength is the longest filter pattern AWS accepts, in characters.
	MaxLength = 1024
	// MaxRegexPerPattern is how many %regex% values a JSON or space-delimited
	// pattern may hold.
	MaxRegexPerPattern = 2
)

// SyntaxError is a pattern AWS would reject. Column counts characters from 1.
type SyntaxError struct {
	Column int
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid filter pattern at column %d: %s", e.Column, e.Reason)
}

// Pattern is a parsed filter pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	src    string
	kind   Kind
	text   textPattern
	json   jsonNode
	delim  *delimPattern
	re     *regexp.Regexp
	nRegex int
}

// Parse parses a filter pattern. Errors are *SyntaxError and say where and why.
func Parse(pattern string) (*Pattern, error) {
	if n := utf8.RuneCountInString(pattern); n > MaxLength {
		return nil, &SyntaxError{Column: MaxLength + 1, Reason: fmt.Sprintf("the pattern is %d characters long; the limit is %d", n, MaxLength)}
	}
	if !utf8.ValidString(pattern) {
		i := 0
		for i < len(pattern) {
			r, size := utf8.DecodeRuneInString(pattern[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return nil, errAt(pattern, i, "the pattern is not valid UTF-8")
	}
	p := &Pattern{src: pattern}
	start, end := trimBounds(pattern)
	if start == end {
		p.kind = KindAll
		return p, nil
	}
	var err error
	switch pattern[start] {
	case '{':
		p.kind = KindJSON
		p.json, p.nRegex, err = parseJSON(pattern, start, end)
	case '[':
		p.kind = KindDelimited
		p.delim, err = parseDelimited(pattern, start, end)
		if err == nil {
			p.nRegex = p.delim.nRegex
		}
	case '%':
		p.kind = KindRegex
		p.re, err = parseStandaloneRegex(pattern, start, end)
		p.nRegex = 1
	default:
		p.kind = KindText
		p.text, err = parseText(pattern, start, end)
		if err == nil && matchesEverything(p.text) {
			p.kind, p.text = KindAll, textPattern{}
		}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// MustParse is Parse for patterns known to be valid; it panics otherwise.
func MustParse(pattern string) *Pattern {
	p, err := Parse(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Kind returns the pattern's form.
func (p *Pattern) Kind() Kind { return p.kind }

// RegexCount returns how many regular expressions the pattern contains (AWS
// allows at most five regex-bearing filters per log group).
func (p *Pattern) RegexCount() int { return p.nRegex }

// Match reports whether an event's message matches the pattern.
func (p *Pattern) Match(message string) bool {
	switch p.kind {
	case KindAll:
		return true
	case KindText:
		return matchText(p.text, message)
	case KindRegex:
		return p.re.MatchString(message)
	case KindJSON:
		doc, ok := decodeJSON(message)
		return ok && p.json.eval(doc)
	case KindDelimited:
		_, ok := p.delim.bind(message)
		return ok
	}
	return false
}

// ExtractedValues returns what TestMetricFilter reports for a matching event:
// for space-delimited patterns every field of the event, keyed "$name" for
// named fields and "$N" (1-based) for the others; for JSON patterns the value
// of every selector the pattern names that resolves to a string, number or
// boolean, keyed by the selector ("$.latency"); other forms extract nothing.
// ok is false when the message does not match.
func (p *Pattern) ExtractedValues(message string) (values map[string]string, ok bool) {
	switch p.kind {
	case KindJSON:
		doc, isJSON := decodeJSON(message)
		if !isJSON || !p.json.eval(doc) {
			return nil, false
		}
		values = map[string]string{}
		var sels []*selector
		p.json.selectors(&sels)
		for _, s := range sels {
			if s.wildcard {
				continue // selects many values, none of them by this name
			}
			if v, found := s.resolve(doc); found {
				if t, isValue := valueText(v); isValue {
					values[s.src] = t
				}
			}
		}
		return values, true
	case KindDelimited:
		b, matched := p.delim.bind(message)
		if !matched {
			return nil, false
		}
		values = map[string]string{}
		for i, f := range b.fields {
			if name := b.names[i]; name != "" {
				values["$"+name] = f
			} else {
				values[fmt.Sprintf("$%d", i+1)] = f
			}
		}
		return values, true
	}
	if !p.Match(message) {
		return nil, false
	}
	return map[string]string{}, true
}

func trimBounds(s string) (int, int) {
	start, end := 0, len(s)
	for start < end && isSpace(s[start]) {
		start++
	}
	for end > start && isSpace(s[end-1]) {
		end--
	}
	return start, end
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// errAt builds a SyntaxError at byte offset off of src.
func errAt(src string, off int, format string, args ...any) *SyntaxError {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	return &SyntaxError{Column: utf8.RuneCountInString(src[:off]) + 1, Reason: fmt.Sprintf(format, args...)}
}

// quoted reads a double-quoted string starting at src[i] == '"' and ending
// before end. \" and \\ are escapes; any other backslash is literal. It
// returns the unescaped text and the offset after the closing quote.
func quoted(src string, i, end int) (string, int, error) {
	open := i
	i++
	var b strings.Builder
	for i < end {
		c := src[i]
		switch {
		case c == '\\' && i+1 < end && (src[i+1] == '"' || src[i+1] == '\\'):
			b.WriteByte(src[i+1])
			i += 2
		case c == '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, errAt(src, open, "unterminated quoted phrase (a '\"' without its closing '\"')")
}

// wildcardMatch compares s with a value that may start and/or end with the
// '*' wildcard, as AWS documents: "*Event" matches PutEvent, "Event*" matches
// EventId, "*Event*" matches anything containing Event, and a '*' anywhere
// else is literal ("Ev*ent" matches only the string "Ev*ent").
func wildcardMatch(pattern, s string) bool {
	if pattern == "*" || pattern == "**" {
		return true
	}
	lead := strings.HasPrefix(pattern, "*")
	trail := strings.HasSuffix(pattern, "*")
	core := pattern
	if lead {
		core = core[1:]
	}
	if trail {
		core = core[:len(core)-1]
	}
	switch {
	case lead && trail:
		return strings.Contains(s, core)
	case lead:
		return strings.HasSuffix(s, core)
	case trail:
		return strings.HasPrefix(s, core)
	}
	return s == core
}

// hasWildcard reports a value whose first or last character is '*'.
func hasWildcard(v string) bool {
	return strings.HasPrefix(v, "*") || strings.HasSuffix(v, "*")
}
