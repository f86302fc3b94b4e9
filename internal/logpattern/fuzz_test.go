package logpattern

import (
	"errors"
	"testing"
)

var fuzzPatterns = []string{
	``, `" "`, `ERROR`, `ERROR -DEBUG`, `?ERROR ?WARN`, `"Connection timed out"`, `-"a \"b\""`,
	`{ $.level = "ERROR" }`, `{ ($.a = 1 || $.b != x*) && $.c[0].d >= -1.5e3 }`, `{ $.x IS NULL }`,
	`{ $.x NOT EXISTS }`, `{ $.x IS TRUE }`, `{ $.x = %ab[0-9]+% }`, `[ip, user, ..., status=5*, bytes>1000]`,
	`[a=1 || a=2 && b!=x, b, %z%]`, `%ERROR\s[0-9]{3}%`, `{ $.a = "unterminated }`, `[a, ...`, `%(x)%`,
	// Wildcard and bracket selectors, regex values, [] and optional terms.
	`{ $.* = %^Update[A-Z]% }`, `{ $.a[*].b[*] != x* }`, `{ $.['cluster.name'] = "c1" }`, `{ $["a.b"][0] IS NULL }`,
	`{ $.['x = 1 }`, `{ $.* NOT EXISTS || $.c[*] > 2 }`, `[]`, `[ ]`, `[a = %^5|^4%, ...]`, `[a = 1 && b = 2]`,
	`REQUEST ?400 ?419 -BAD`, `?-ERROR ?WARN`, `%^[hc]at$|gr[ae]y%`,
}

var fuzzMessages = []string{
	``, `ERROR boom`, `{"level":"ERROR","a":1,"c":[{"d":5}],"x":null}`, `1.2.3.4 - frank [10/Oct/2000] "GET /" 500 2000`,
	`{"x": true}`, `[1,2,3]`, `"unterminated`, `{"a": {"b": [[]]}}`,
	`{"cluster.name": "c1", "a": [{"b": [null, 3]}], "c": [1, 5]}`, `REQUEST 400 BAD`,
}

// FuzzParse: Parse never panics, and every error is a positioned SyntaxError
// whose column lies within the pattern (or just past its end).
func FuzzParse(f *testing.F) {
	for _, p := range fuzzPatterns {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Parse(pattern)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) returned %T, want *SyntaxError", pattern, err)
			}
			if se.Column < 1 || se.Column > len([]rune(pattern))+1 {
				t.Fatalf("Parse(%q): column %d outside the pattern", pattern, se.Column)
			}
			return
		}
		if p.String() != pattern {
			t.Fatalf("String() = %q, want %q", p.String(), pattern)
		}
		// A valid pattern re-parses to the same kind.
		q, err := Parse(p.String())
		if err != nil || q.Kind() != p.Kind() {
			t.Fatalf("re-parse of %q: %v, kind %v vs %v", pattern, err, q.Kind(), p.Kind())
		}
	})
}

// FuzzMatch: matching any valid pattern against any message never panics and
// ExtractedValues agrees with Match.
func FuzzMatch(f *testing.F) {
	for _, p := range fuzzPatterns {
		for _, m := range fuzzMessages {
			f.Add(p, m)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, message string) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		m := p.Match(message)
		_, ok := p.ExtractedValues(message)
		if ok != m {
			t.Fatalf("Parse(%q): Match(%q) = %v but ExtractedValues ok = %v", pattern, message, m, ok)
		}
		p.MetricValue("$.a", message)
		p.MetricValue("$1", message)
		p.Field("$.c[0].d", message)
	})
}
