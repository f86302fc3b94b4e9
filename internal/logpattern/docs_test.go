package logpattern

import (
	"errors"
	"strings"
	"testing"
)

// Sections of AWS's "Filter pattern syntax for metric filters, subscription
// filters, filter log events, and Live Tail" (FilterAndPatternSyntax.html and
// its sub-pages), and of the archived awsdocs/amazon-cloudwatch-logs-user-guide
// doc_source/FilterAndPatternSyntax.md for the older sections.
const (
	secRegex        = "Supported regular expressions (regex) syntax"
	secUnstructured = "Using filter patterns to match terms in unstructured log events"
	secJSON         = "Using filter patterns to match terms in JSON log events"
	secJSONRegex    = "Using regex in JSON filter patterns"
	secDelimited    = "Using filter patterns to match terms in space-delimited log events"
	secOr           = "OR Pattern Matching (archived user guide)"
)

// The example events of the unstructured section.
var docUnstructured = []string{
	"[ERROR 400] BAD REQUEST",
	"[ERROR 401] UNAUTHORIZED REQUEST",
	"[ERROR 419] MISSING ARGUMENTS",
	"[ERROR 420] INVALID ARGUMENTS",
}

// The JSON section's example event, on one line as the page asks for
// testing; it now includes a key with a dot in its name.
const docJSONEvent = `{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111", "arrayKey": ["value", "another value"], ` +
	`"objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": null, "cluster.name": "c1", "ThisFlag": true}`

// The space-delimited section's Apache access-log events.
var docApache = []string{
	`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`,
	`127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324`,
	`127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355`,
}

type docCase struct {
	section string
	pattern string
	err     string   // non-empty: AWS rejects the pattern; the reason contains this
	events  []string // events to match
	want    []bool   // whether each event matches
}

func docCases() []docCase {
	var cs []docCase
	add := func(section, pattern string, events []string, want ...bool) {
		cs = append(cs, docCase{section: section, pattern: pattern, events: events, want: want})
	}
	reject := func(section, pattern, reason string) {
		cs = append(cs, docCase{section: section, pattern: pattern, err: reason})
	}
	two := func(a, b string) []string { return []string{a, b} }

	// Regex syntax: operators, allowed characters and quotas.
	add(secRegex, `%AUTHORIZED%`, two("[ERROR 401] UNAUTHORIZED REQUEST", "[SUCCESS 200] AUTHORIZED REQUEST"), true, true)
	add(secRegex, `%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%`, two("from 10.0.12.255 port 22", "from localhost"), true, false)
	add(secRegex, `%[Ee]rror|[Ff]ail%`, []string{"Error: x", "error: x", "Fail", "fail", "FAIL"}, true, true, true, true, false)
	add(secRegex, `%^[hc]at%`, []string{"hat trick", "cat nap", "that"}, true, true, false)
	add(secRegex, `%[hc]at$%`, []string{"a hat", "a cat", "hats"}, true, true, false)
	add(secRegex, `%colou?r%`, two("color", "colour"), true, true)
	add(secRegex, `%[abc]%`, two("b", "xyz"), true, false)
	add(secRegex, `%[a-z]%`, two("ABCd", "ABC"), true, false)
	add(secRegex, `%[abcx-z]%`, []string{"y", "c", "d"}, true, true, false)
	add(secRegex, `%a{3,5}%`, two("aaa", "aa"), true, false)
	add(secRegex, `%gray|grey%`, []string{"gray", "grey", "green"}, true, true, false)
	add(secRegex, `%^ERROR|^WARN%`, []string{"ERROR x", "WARN x", "x WARN"}, true, true, false)
	add(secRegex, `%10\.10\.0\.1%`, two("from 10.10.0.1", "from 10a10b0c1"), true, false)
	add(secRegex, `%ab*c%`, []string{"ac", "abbbc", "adc"}, true, true, false)
	add(secRegex, `%ab+c%`, two("abc", "ac"), true, false)
	add(secRegex, `%h.t%`, []string{"hat", "hot", "ht"}, true, true, false)
	add(secRegex, `%user@example\.com%`, []string{"mail user@example.com"}, true)
	add(secRegex, `%a:b_c#d=e/f;g,h-i%`, []string{"a:b_c#d=e/f;g,h-i"}, true)
	reject(secRegex, `%something!%`, `character '!' is not allowed`)
	reject(secRegex, `%(ERROR|WARN)%`, "no parentheses")
	reject(secRegex, `%héllo%`, "multi-byte character")
	reject(secRegex, `{ $.a = %x% || $.b = %y% || $.c = %z% }`, "at most 2 regular expressions")
	reject(secRegex, `[a = %x%, b = %y%, c = %z%]`, "at most 2 regular expressions")

	// Unstructured events.
	add(secUnstructured, `ERROR`, docUnstructured, true, true, true, true)
	add(secUnstructured, `ERROR ARGUMENTS`, docUnstructured, false, false, true, true)
	add(secUnstructured, `?ERROR ?ARGUMENTS`, append(docUnstructured, "ARGUMENTS IS THE ONLY KEYWORD IN LOG", "INFO"), true, true, true, true, true, false)
	add(secUnstructured, `"INTERNAL SERVER ERROR"`, two("[ERROR 500] INTERNAL SERVER ERROR", "[ERROR 500] INTERNAL SERVER"), true, false)
	add(secUnstructured, `ERROR -ARGUMENTS`, docUnstructured, true, true, false, false)
	add(secUnstructured, `" "`, append(docUnstructured, " "), true, true, true, true, true)
	// Plain terms are all required; optional terms add one OR group.
	add(secUnstructured, `REQUEST ?400 ?419`, docUnstructured, true, false, false, false)
	add(secUnstructured, `?400 ?419 -BAD`, docUnstructured, false, false, true, false)
	add(secUnstructured, `?UNAUTHORIZED ?MISSING ERROR -400`, docUnstructured, false, true, true, false)
	reject(secUnstructured, `ERROR:`, "must be in double quotes")

	// JSON selectors.
	ev := []string{docJSONEvent}
	add(secJSON, `{ $.eventType = "UpdateTrail" }`, ev, true)
	add(secJSON, `{ $.sourceIPAddress != 123.123.* }`, ev, true)
	add(secJSON, `{ $.arrayKey[0] = "value" }`, ev, true)
	add(secJSON, `{ $.objectList[1].id = 2 }`, ev, true)
	add(secJSON, `{ $.SomeObject IS NULL }`, ev, true)
	add(secJSON, `{ $.SomeOtherObject NOT EXISTS }`, ev, true)
	add(secJSON, `{ $.ThisFlag IS TRUE }`, ev, true)
	// Keys that contain dots use bracket notation.
	add(secJSON, `{ $.['cluster.name'] = "c1" }`, ev, true)
	add(secJSON, `{ $['cluster.name'] = "c1" }`, ev, true)
	add(secJSON, `{ $.["cluster.name"] = c1 }`, ev, true)
	add(secJSON, `{ $.cluster.name = "c1" }`, ev, false)
	add(secJSON, `{ $.['cluster.name'] = "c2" }`, ev, false)
	// Wildcard selectors: any selected value may satisfy the condition.
	add(secJSON, `{ $.* = "UpdateTrail" }`, ev, true)
	add(secJSON, `{ $.* = "nothing" }`, ev, false)
	add(secJSON, `{ $.arrayKey[*] = "another value" }`, ev, true)
	add(secJSON, `{ $.arrayKey[*] = "missing" }`, ev, false)
	add(secJSON, `{ $.objectList[*].name = "b" }`, ev, true)
	add(secJSON, `{ $.objectList[*].id > 1 }`, ev, true)
	add(secJSON, `{ $.objectList[*].id > 2 }`, ev, false)
	add(secJSON, `{ $.objectList[*].missing NOT EXISTS }`, ev, true)
	add(secJSON, `{ $.* IS TRUE }`, ev, true)
	reject(secJSON, `{ $.['cluster.name = "c1" }`, "unterminated key")
	reject(secJSON, `{ $.[cluster] = "c1" }`, "expected a quoted key")
	reject(secJSON, `{ $[*] = 1 }`, "must follow a property")
	reject(secJSON, `{ $.a[x] = 1 }`, "expected an array index")

	// Regex as the value of a JSON selector, with wildcard selectors too.
	add(secJSONRegex, `{ $.eventType = %Trail$% }`, ev, true)
	add(secJSONRegex, `{ $.eventType = %^Update% }`, ev, true)
	add(secJSONRegex, `{ $.eventType = %^Trail% }`, ev, false)
	add(secJSONRegex, `{ $.eventType = %Delete|Update% }`, ev, true)
	add(secJSONRegex, `{ $.eventType != %Trail% }`, ev, false)
	add(secJSONRegex, `{ $.sourceIPAddress = %^111\.111\.% }`, ev, true)
	add(secJSONRegex, `{ $.* = %^Update[A-Z]% }`, ev, true)
	add(secJSONRegex, `{ $.arrayKey[*] = %^another% }`, ev, true)
	add(secJSONRegex, `{ $.objectList[*].name = %^[ab]$% }`, ev, true)
	add(secJSONRegex, `{ $.['cluster.name'] = %^c[0-9]$% }`, ev, true)
	reject(secJSONRegex, `{ $.eventType > %Trail% }`, "needs = or !=")

	// Space-delimited events.
	add(secDelimited, `[ip, user, username, timestamp, request, status_code, bytes]`, docApache, true, true, true)
	add(secDelimited, `[..., status_code, bytes]`, docApache, true, true, true)
	add(secDelimited, `[ip, user, ..., status_code, bytes]`, docApache, true, true, true)
	add(secDelimited, `[ip, user, ...]`, docApache, true, true, true)
	add(secDelimited, `[ip, user, username, timestamp, request, status_code, bytes > 1000]`, docApache, true, true, true)
	add(secDelimited, `[ip, user, username, timestamp, request, status_code = 200, bytes]`, docApache, true, false, false)
	add(secDelimited, `[ip, user, username, timestamp, request, status_code = 4*, bytes]`, docApache, false, false, true)
	add(secDelimited, `[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, docApache, false, false, true)
	add(secDelimited, `[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, docApache, false, false, true)
	add(secDelimited, `[..., request=*.html*, status_code=4*,]`, docApache, false, false, true)
	add(secDelimited, `[..., status_code = %^5[0-9]{2}$%, bytes]`, docApache, false, true, false)
	add(secDelimited, `[ip, user, username, timestamp, request = %index|apache%, ...]`, docApache, true, true, true)
	add(secDelimited, `[]`, append(docApache, "x"), true, true, true, true)
	// Conditions joined with && on different fields are rejected by AWS
	// (awsdocs/amazon-cloudwatch-logs-user-guide issue #21).
	reject(secDelimited, `[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]`, `condition on field "bytes"`)
	reject(secDelimited, `[a, b = 1 || a = 2]`, `condition on field "a"`)

	// OR in text, space-delimited and JSON patterns.
	or := []string{"ERROR WARN message", "ERROR message", "WARN message"}
	add(secOr, `ERROR`, or, true, true, false)
	add(secOr, `?ERROR ?WARN`, or, true, true, true)
	add(secOr, `ERROR WARN`, or, true, false, false)
	add(secOr, `ERROR -WARN`, or, false, true, false)
	add(secOr, `[w1=ERROR, w2]`, or, false, true, false)
	add(secOr, `[w1=ERROR || w1=WARN, w2]`, or, false, true, true)
	foo := two(`{"foo": "bar"}`, `{"foo": "baz"}`)
	add(secOr, `{$.foo = bar}`, foo, true, false)
	add(secOr, `{$.foo = baz }`, foo, false, true)
	add(secOr, `{$.foo = bar || $.foo = baz }`, foo, true, true)
	return cs
}

func TestAWSDocumentedFilterPatterns(t *testing.T) {
	for _, c := range docCases() {
		t.Run(c.section+"/"+c.pattern, func(t *testing.T) {
			p, err := Parse(c.pattern)
			if c.err != "" {
				var se *SyntaxError
				if !errors.As(err, &se) || !strings.Contains(se.Reason, c.err) {
					t.Fatalf("Parse(%q) = %v, want a SyntaxError containing %q", c.pattern, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.pattern, err)
			}
			if len(c.events) != len(c.want) {
				t.Fatalf("bad case: %d events, %d expectations", len(c.events), len(c.want))
			}
			for i, e := range c.events {
				if got := p.Match(e); got != c.want[i] {
					t.Errorf("Match(%q) = %v, want %v", e, got, c.want[i])
				}
				if _, ok := p.ExtractedValues(e); ok != c.want[i] {
					t.Errorf("ExtractedValues(%q) ok = %v, want %v", e, ok, c.want[i])
				}
			}
		})
	}
}

func TestSelectorsInFieldReferencesAndExtractedValues(t *testing.T) {
	p := MustParse(`{ $.['cluster.name'] = "c1" && $.objectList[*].id > 1 }`)
	if err := p.ValidateMetricValue(`$.['cluster.name']`); err != nil {
		t.Errorf("bracketed key as metric value: %v", err)
	}
	for _, ref := range []string{`$.*`, `$.objectList[*].id`} {
		if err := p.ValidateMetricValue(ref); err == nil || !strings.Contains(err.Error(), "selects many values") {
			t.Errorf("ValidateMetricValue(%q) = %v, want a many-values error", ref, err)
		}
	}
	got, ok := p.ExtractedValues(docJSONEvent)
	if !ok || len(got) != 1 || got[`$.['cluster.name']`] != "c1" {
		t.Errorf("ExtractedValues = %v, %v; want only the bracketed key (a wildcard selector names no single field)", got, ok)
	}
	if v, ok := MustParse(`{ $.['cluster.name'] = * }`).Field(`$['cluster.name']`, docJSONEvent); !ok || v != "c1" {
		t.Errorf("Field of a bracketed key = %q, %v", v, ok)
	}
	if f, ok := MustParse(`{ $.* = * }`).MetricValue(`$.objectList[1].id`, docJSONEvent); !ok || f != 2 {
		t.Errorf("MetricValue = %v, %v; want 2", f, ok)
	}
}
