package logpattern

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The JSON event from AWS's "Filter pattern syntax" documentation.
const awsDocEvent = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true
}`

// The compound-condition event from the same page.
const awsDocCompound = `{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
}`

type matchCase struct {
	pattern string
	message string
	want    bool
}

func runMatches(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.pattern, err)
			continue
		}
		if got := p.Match(c.message); got != c.want {
			t.Errorf("Parse(%q).Match(%q) = %v, want %v", c.pattern, c.message, got, c.want)
		}
	}
}

func TestEmptyAndBlankPatternsMatchEverything(t *testing.T) {
	for _, pat := range []string{"", "   ", `" "`, "\t"} {
		p, err := Parse(pat)
		if err != nil {
			t.Fatalf("Parse(%q): %v", pat, err)
		}
		if p.Kind() != KindAll {
			t.Errorf("Parse(%q).Kind() = %v, want match-all", pat, p.Kind())
		}
		for _, m := range []string{"", "anything", `{"a":1}`} {
			if !p.Match(m) {
				t.Errorf("Parse(%q) does not match %q", pat, m)
			}
		}
	}
}

func TestTextTermsMatchCaseSensitiveSubstrings(t *testing.T) {
	runMatches(t, []matchCase{
		// AWS doc example 1: a single term.
		{"ERROR", "[ERROR] A fatal exception has occurred", true},
		{"ERROR", "Exiting with ERRORCODE: -1", true},
		{"ERROR", "error: lower case", false},
		{"error", "ERROR upper case", false},
		// AWS doc example 2: include and exclude.
		{`"ERROR" - "Exiting"`, "Exiting with ERRORCODE: -1", false},
		{`"ERROR" - "Exiting"`, "[ERROR] A fatal exception has occurred", true},
		{"ERROR -Exiting", "Exiting with ERRORCODE: -1", false},
		// AWS doc example 3: several terms, all must appear in any order.
		{"ERROR Exception", "[ERROR] Caught IllegalArgumentException", true},
		{"ERROR Exception", "[ERROR] Unhandled Exception", true},
		{"ERROR Exception", "Exception without the level", false},
		{"Exception ERROR", "[ERROR] Unhandled Exception", true},
		{"Failed to process the request", "[ERROR] Unable to continue: Failed to process the request", true},
		{"Failed to process the request", "the request Failed to process", true},
		// Quoted phrases are exact, ordered, and may hold any character.
		{`"Failed to process"`, "the request Failed to process", true},
		{`"Failed to process"`, "Failed: to process", false},
		{`"Connection timed out"`, "dial tcp: Connection timed out after 5s", true},
		{`"ERROR 401"`, "[ERROR 401] UNAUTHORIZED", true},
		{`"a \"quoted\" word"`, `say a "quoted" word`, true},
		{`"back\\slash"`, `a back\slash`, true},
		{`"Task timed out"`, "2024-01-01 Task timed out after 3.00 seconds", true},
		{`-DEBUG`, "INFO ready", true},
		{`-DEBUG`, "DEBUG noise", false},
		{`-"health check"`, "GET /health ok", true},
		{`-"health check"`, "health check ok", false},
		{`ERROR -"health check" -DEBUG`, "ERROR in health check", false},
		{`ERROR -"health check" -DEBUG`, "ERROR in payment", true},
		{`Task_1`, "run Task_1 now", true},
	})
}

func TestTextAlternativesFollowAWSOrSemantics(t *testing.T) {
	msgs := []string{"ERROR WARN message", "ERROR message", "WARN message", "INFO message"}
	// From the AWS docs: which of the three events each pattern matches.
	cases := []struct {
		pattern string
		want    []bool
	}{
		{"ERROR", []bool{true, true, false, false}},
		{"?ERROR ?WARN", []bool{true, true, true, false}},
		{"ERROR WARN", []bool{true, false, false, false}},
		{"ERROR -WARN", []bool{false, true, false, false}},
		{`?"ERROR" ?"WARN"`, []bool{true, true, true, false}},
		// Plain terms are all required ("all terms must appear") and the
		// '?' terms form one OR group; exclusions always apply.
		{`?ERROR message ?WARN nothing`, []bool{false, false, false, false}},
		{`?ERROR message ?WARN`, []bool{true, true, true, false}},
		{`?ERROR -WARN ?INFO`, []bool{false, true, false, true}},
		{`INFO ?WARN`, []bool{false, false, false, false}},
		{`message ?INFO ?WARN`, []bool{true, false, true, true}},
		{`?ERROR ?WARN -INFO`, []bool{true, true, true, false}},
		{`?ERROR ?INFO -WARN`, []bool{false, true, false, true}},
		{`?-ERROR`, []bool{false, false, true, true}},
	}
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.pattern, err)
		}
		for i, m := range msgs {
			if got := p.Match(m); got != c.want[i] {
				t.Errorf("Parse(%q).Match(%q) = %v, want %v", c.pattern, m, got, c.want[i])
			}
		}
	}
}

func TestJSONSelectorsMatchAWSDocumentedExamples(t *testing.T) {
	runMatches(t, []matchCase{
		{`{ $.eventType = "UpdateTrail" }`, awsDocEvent, true},
		{`{ $.eventType = UpdateTrail }`, awsDocEvent, true},
		{`{$.eventType="UpdateTrail"}`, awsDocEvent, true},
		{`{ $.eventType = "updatetrail" }`, awsDocEvent, false},
		{`{ $.eventType != "UpdateTrail" }`, awsDocEvent, false},
		{`{ $.eventType != "DeleteTrail" }`, awsDocEvent, true},
		{`{ $.sourceIPAddress != 123.123.* }`, awsDocEvent, true},
		{`{ $.sourceIPAddress = 111.111.* }`, awsDocEvent, true},
		{`{ $.sourceIPAddress = "*.111" }`, awsDocEvent, true},
		{`{ $.sourceIPAddress = *111* }`, awsDocEvent, true},
		{`{ $.arrayKey[0] = "value" }`, awsDocEvent, true},
		{`{ $.arrayKey[1] = "another value" }`, awsDocEvent, true},
		{`{ $.arrayKey[2] = "value" }`, awsDocEvent, false},
		{`{ $.eventType[0] = "value" }`, awsDocEvent, false},
		{`{ $.objectList[1].id = 2 }`, awsDocEvent, true},
		{`{ $.objectList[0].id = 2 }`, awsDocEvent, false},
		{`{ $.objectList[1].name = b }`, awsDocEvent, true},
		{`{ $.SomeObject IS NULL }`, awsDocEvent, true},
		{`{ $.eventType IS NULL }`, awsDocEvent, false},
		{`{ $.Missing IS NULL }`, awsDocEvent, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, awsDocEvent, true},
		{`{ $.SomeObject NOT EXISTS }`, awsDocEvent, false},
		{`{ $.ThisFlag IS TRUE }`, awsDocEvent, true},
		{`{ $.ThisFlag IS FALSE }`, awsDocEvent, false},
		{`{ $.ThisFlag is true }`, awsDocEvent, true},
		{`{ $.eventType IS TRUE }`, awsDocEvent, false},
		// Compound conditions from the docs: () > && > ||.
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, awsDocCompound, true},
		{`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, awsDocCompound, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, awsDocCompound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, awsDocCompound, false},
		{`{ $.coordinates[1][2] = 6 }`, awsDocCompound, true},
		{`{ $.foo = bar || $.foo = baz }`, `{"foo": "baz"}`, true},
		{`{ $.foo = bar }`, `{"foo": "baz"}`, false},
		// A selector must point to a value node: arrays and objects never compare.
		{`{ $.users = 1 }`, `{"users": [1, 2, 3]}`, false},
		{`{ $.users != 1 }`, `{"users": [1, 2, 3]}`, false},
		{`{ $.user != "x" }`, awsDocCompound, false},
		// != on a missing field does not match.
		{`{ $.missing != "x" }`, awsDocEvent, false},
		// Hyphens and underscores in property names.
		{`{ $.request-id = abc_1 }`, `{"request-id": "abc_1"}`, true},
		// Non-JSON events never match a JSON pattern.
		{`{ $.level = "ERROR" }`, `level=ERROR`, false},
		{`{ $.level = "ERROR" }`, `ERROR {"level": "ERROR"}`, false},
		{`{ $.level = "ERROR" }`, `{"level": "ERROR"} trailing`, false},
		{`{ $.level = * }`, `not json`, false},
		{`{ $.level NOT EXISTS }`, `not json`, false},
		{`{ $.level = "ERROR" }`, `  {"level": "ERROR"}  `, true},
	})
}

func TestJSONNumericComparisons(t *testing.T) {
	ev := `{"latency": 750, "numbers": [0.005, 11000], "errorCode": 400, "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}], "code": "400", "f": 12.34}`
	runMatches(t, []matchCase{
		{`{ $.latency >= 500 }`, ev, true},
		{`{ $.latency >= 750 }`, ev, true},
		{`{ $.latency > 750 }`, ev, false},
		{`{ $.latency < 1000 }`, ev, true},
		{`{ $.latency <= 749.9 }`, ev, false},
		{`{ $.numbers[0] < 10e-3 }`, ev, true},
		{`{ $.numbers[1] < 10e3 }`, ev, false},
		{`{ $.processes[4].averageRuntime <= 55.5 }`, ev, true},
		{`{ $.errorCode = 400 }`, ev, true},
		{`{ $.errorCode = 400.0 }`, ev, true},
		{`{ $.errorCode != 500 }`, ev, true},
		{`{ $.errorCode != 400 }`, ev, false},
		{`{ $.latency > +100 }`, ev, true},
		{`{ $.latency > -1 }`, ev, true},
		// Numbers compare with numbers only, strings with strings only.
		{`{ $.code = 400 }`, ev, false},
		{`{ $.errorCode = "400" }`, ev, false},
		{`{ $.errorCode != "400" }`, ev, false},
		{`{ $.code > 100 }`, ev, false},
		// Wildcards compare with a number's text.
		{`{ $.errorCode = 4* }`, ev, true},
		{`{ $.errorCode = *00 }`, ev, true},
		{`{ $.errorCode != 5* }`, ev, true},
		{`{ $.f = 12.3* }`, ev, true},
		{`{ $.f = *.34 }`, ev, true},
		{`{ $.latency = * }`, ev, true},
		{`{ $.nothing = * }`, ev, false},
	})
}

func TestSpaceDelimitedPatterns(t *testing.T) {
	apache := []string{
		`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`,
		`127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324`,
		`127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355`,
	}
	cases := []struct {
		pattern string
		want    []bool
	}{
		{`[ip, user, username, timestamp, request, status_code, bytes]`, []bool{true, true, true}},
		{`[ip, user, username, timestamp, request, status_code]`, []bool{false, false, false}},
		{`[..., status_code, bytes]`, []bool{true, true, true}},
		{`[ip, user, ..., status_code, bytes]`, []bool{true, true, true}},
		{`[ip, user, ...]`, []bool{true, true, true}},
		{`[ip, user, username, timestamp, request, status_code, bytes > 1000]`, []bool{true, true, true}},
		{`[ip, user, username, timestamp, request, status_code, bytes > 5000]`, []bool{false, true, false}},
		{`[ip, user, username, timestamp, request, status_code = 200, bytes]`, []bool{true, false, false}},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, []bool{false, false, true}},
		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, []bool{false, false, true}},
		{`[ip, user, username, timestamp, request, status_code = 5* || status_code = 4*, bytes]`, []bool{false, true, true}},
		{`[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, []bool{false, false, true}},
		{`[ip, user, username, timestamp, request, status_code != 200, bytes >= 4355]`, []bool{false, true, true}},
		{`[ip, user="-", ...]`, []bool{true, true, true}},
		{`[ip, user, username = frank, ...]`, []bool{true, true, true}},
		{`[ip, user, username = "fr*", ...]`, []bool{true, true, true}},
		{`[..., request = %index\.html%, status_code, bytes]`, []bool{false, false, true}},
		{`[..., request=*.html*, status_code=4*,]`, []bool{false, false, true}},
	}
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.pattern, err)
		}
		for i, m := range apache {
			if got := p.Match(m); got != c.want[i] {
				t.Errorf("Parse(%q).Match(event %d) = %v, want %v", c.pattern, i, got, c.want[i])
			}
		}
	}
	// AWS docs: OR in space-delimited filters.
	msgs := []string{"ERROR WARN message", "ERROR message", "WARN message"}
	for _, c := range []struct {
		pattern string
		want    []bool
	}{
		{`[w1=ERROR, w2]`, []bool{false, true, false}},
		{`[w1=ERROR || w1=WARN, w2]`, []bool{false, true, true}},
		{`[w1=!ERROR&&w1=!WARN, w2, w3]`, []bool{false, false, false}},
		{`[w1!=ERROR && w1!=WARN, ...]`, []bool{false, false, false}},
		{`[w1, w2=WARN, ...]`, []bool{true, false, false}},
	} {
		p := MustParse(c.pattern)
		for i, m := range msgs {
			if got := p.Match(m); got != c.want[i] {
				t.Errorf("Parse(%q).Match(%q) = %v, want %v", c.pattern, m, got, c.want[i])
			}
		}
	}
}

func TestRegexPatterns(t *testing.T) {
	runMatches(t, []matchCase{
		{`%ERROR%`, "an ERROR here", true},
		{`%ERROR%`, "an error here", false},
		{`%colou?r%`, "the color red", true},
		{`%colou?r%`, "the colour red", true},
		{`%gray|grey%`, "grey cat", true},
		{`%10\.10\.0\.1%`, "from 10.10.0.1:80", true},
		{`%10\.10\.0\.1%`, "from 10a10b0c1", false},
		{`%^ERROR%`, "ERROR first", true},
		{`%^ERROR%`, "not ERROR first", false},
		{`%[0-9]{3}$%`, "status 503", true},
		{`%[a-z]+@example\.com%`, "mail bob@example.com", true},
		{`%ERROR\s+[0-9]+%`, "ERROR   42", true},
		{`{ $.msg = %time[a-z]+% }`, `{"msg": "timeout"}`, true},
		{`{ $.msg != %time[a-z]+% }`, `{"msg": "timeout"}`, false},
		{`{ $.msg = %^x% || $.code = %^5% }`, `{"msg": "timeout", "code": 503}`, true},
	})
}

func TestParseRejectsInvalidPatternsWithPosition(t *testing.T) {
	cases := []struct {
		pattern string
		column  int
		reason  string
	}{
		{`"Connection timed out`, 1, "unterminated quoted phrase"},
		{`ERROR "unterminated`, 7, "unterminated quoted phrase"},
		{`ERROR:`, 6, `character ":" in term "ERROR:"`},
		{`status=500`, 7, "must be in double quotes"},
		{`ERROR foo.bar`, 10, `term "foo.bar"`},
		{`?`, 1, "'?' must be followed"},
		{`? ERROR`, 1, "'?' must be followed"},
		{`ERROR -`, 8, "'-' must be followed"},
		{`-?ERROR`, 2, "'?' must come before '-'"},
		{`"a"b`, 4, "expected a space after the quoted phrase"},
		{`{ $.level = "ERROR"`, 20, "missing closing '}'"},
		{`{ $.level = "ERROR" } extra`, 22, "unexpected text after the closing '}'"},
		{`{ }`, 1, "empty JSON pattern"},
		{`{ level = "ERROR" }`, 3, "expected a selector"},
		{`{ $ = 1 }`, 3, "a selector starts with '$.'"},
		{`{ $. = 1 }`, 5, "expected a property name"},
		{`{ $.a[x] = 1 }`, 6, "expected an array index"},
		{`{ $.level == "ERROR" }`, 11, "'==' is not an operator"},
		{`{ $.level = 'ERROR' }`, 13, "double quotes"},
		{`{ $.level = ERROR: }`, 18, "unexpected character"},
		{`{ $.level = }`, 13, "expected a value after ="},
		{`{ $.level }`, 11, "expected an operator"},
		{`{ $.level IS }`, 14, "expected NULL, TRUE or FALSE"},
		{`{ $.level IS MAYBE }`, 14, "expected NULL, TRUE or FALSE"},
		{`{ $.level NOT THERE }`, 15, "expected EXISTS"},
		{`{ $.eventType > "UpdateTrail" }`, 17, "compares numbers"},
		{`{ $.eventType >= UpdateTrail }`, 18, "is not a number"},
		{`{ $.someInt >= "123" }`, 16, "compares numbers"},
		{`{ $.a = 1 & $.b = 2 }`, 11, "use \"&&\""},
		{`{ $.a = 1 | $.b = 2 }`, 11, "use \"||\""},
		{`{ ($.a = 1 }`, 12, "expected ')'"},
		{`{ $.a = 1) }`, 10, "unbalanced ')'"},
		{`{ $.a = 1 $.b = 2 }`, 11, "expected '&&', '||'"},
		{`{ $.a ! 1 }`, 7, "'!' must be followed by '='"},
		{`{ $.a = %(a)% }`, 10, "not supported in a regular expression"},
		{`{ $.a = %x% || $.b = %y% || $.c = %z% }`, 35, "at most 2 regular expressions"},
		{`[ip, user`, 10, "missing closing ']'"},
		{`[status = 5* && bytes > 1000]`, 17, `condition on field "bytes"`},
		{`[w1 = ERROR || w2 = WARN, w2]`, 16, `condition on field "w2"`},
		{`[..., x, ...]`, 10, "only one '...'"},
		{`[a, a]`, 5, "used twice"},
		{`[a b]`, 4, "expected an operator"},
		{`[a =]`, 5, "expected a value after ="},
		{`[a > x]`, 6, "is not a number"},
		{`[a = 1 &&]`, 10, "expected a field name"},
		{`[a = x:y]`, 7, "unexpected character"},
		{`[a="x]`, 4, "unterminated quoted phrase"},
		{`%ERROR`, 1, "unterminated regular expression"},
		{`%%`, 1, "empty regular expression"},
		{`%(ERROR|WARN)%`, 2, "no parentheses"},
		{`%something!%`, 11, `character '!' is not allowed`},
		{`%a b%`, 3, `character ' ' is not allowed`},
		{`%héllo%`, 3, "multi-byte character"},
		{`%ERROR% WARN`, 8, "must stand alone"},
		{`%[a-%`, 2, "bad regular expression"},
		{strings.Repeat("a", 1025), 1025, "limit is 1024"},
	}
	for _, c := range cases {
		p, err := Parse(c.pattern)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", c.pattern, p.Kind())
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T is not a *SyntaxError", c.pattern, err)
			continue
		}
		if se.Column != c.column || !strings.Contains(se.Reason, c.reason) {
			t.Errorf("Parse(%q) = %q (column %d), want column %d and a reason containing %q", c.pattern, err, se.Column, c.column, c.reason)
		}
		if !strings.HasPrefix(err.Error(), "invalid filter pattern at column ") {
			t.Errorf("Parse(%q) error %q lacks the position prefix", c.pattern, err)
		}
	}
}

func TestParseAcceptsEveryAWSDocumentedForm(t *testing.T) {
	for _, pat := range []string{
		`ERROR`, `"ERROR" "Exception"`, `ERROR -ARGUMENTS`, `?ERROR ?WARN`, `"INTERNAL SERVER ERROR"`,
		`{ $.eventType = "UpdateTrail" }`, `{ $.sourceIPAddress != 123.123.* }`, `{ $.arrayKey[0] = "value" }`,
		`{ $.objectList[1].id = 2 }`, `{ $.SomeObject IS NULL }`, `{ $.SomeOtherObject NOT EXISTS }`,
		`{ $.ThisFlag IS TRUE }`, `{ $.latency >= 500 }`, `{ $.numbers[0] < 10e3 }`, `{ $.numbers[0] < 10e-3 }`,
		`{ $.processes[4].averageRuntime <= 55.5 }`, `{ $.errorCode = 400 }`, `{ $.errorCode != 500 }`,
		`{ $.latency > +1000 }`, `{ $.latency = * }`,
		`[ip, user, username, timestamp, request, status_code, bytes]`, `[..., status_code, bytes]`,
		`[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, `[]`,
		`[w1=ERROR || w1=WARN, w2]`, `%ERROR%`, `%colou?r%`, `%10\.10\.0\.1%`,
	} {
		if _, err := Parse(pat); err != nil {
			t.Errorf("Parse(%q): %v", pat, err)
		}
	}
}

func TestExtractedValues(t *testing.T) {
	cases := []struct {
		pattern, message string
		want             map[string]string
	}{
		{
			// The AWS documentation's example.
			`[..., request=*.html*, status_code=4*,]`,
			`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`,
			map[string]string{"$status_code": "404", "$request": "GET /index.html HTTP/1.0", "$7": "1534",
				"$4": "10/Oct/2000:13:25:15 -0700", "$3": "frank", "$2": "-", "$1": "127.0.0.1"},
		},
		{`[level, msg]`, "ERROR boom", map[string]string{"$level": "ERROR", "$msg": "boom"}},
		{
			`{ $.level = "ERROR" && $.latency > 10 }`,
			`{"level": "ERROR", "latency": 12.5, "other": 1}`,
			map[string]string{"$.level": "ERROR", "$.latency": "12.5"},
		},
		{`{ $.a NOT EXISTS || $.b IS TRUE }`, `{"b": true}`, map[string]string{"$.b": "true"}},
		{`ERROR`, `ERROR boom`, map[string]string{}},
		{``, `anything`, map[string]string{}},
	}
	for _, c := range cases {
		got, ok := MustParse(c.pattern).ExtractedValues(c.message)
		if !ok {
			t.Errorf("%q does not match %q", c.pattern, c.message)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ExtractedValues(%q, %q) = %v, want %v", c.pattern, c.message, got, c.want)
		}
	}
	if _, ok := MustParse(`{ $.a = 1 }`).ExtractedValues(`{"a": 2}`); ok {
		t.Error("ExtractedValues reported a match for a non-matching event")
	}
}

func TestMetricValues(t *testing.T) {
	cases := []struct {
		pattern, value, message string
		want                    float64
		ok                      bool
	}{
		{`ERROR`, "1", "ERROR x", 1, true},
		{`ERROR`, "1", "INFO x", 0, false},
		{`ERROR`, "2.5", "ERROR x", 2.5, true},
		{`{ $.latency = * }`, "$.latency", `{"latency": 250}`, 250, true},
		{`{ $.latency = * }`, "$.latency", `{"latency": "slow"}`, 0, false},
		{`{ $.level = ERROR }`, "$.ms", `{"level": "ERROR", "ms": 1E3}`, 1000, true},
		{`[ip, user, status, bytes]`, "$bytes", "1.2.3.4 - 200 512", 512, true},
		{`[ip, user, status, bytes]`, "$4", "1.2.3.4 - 200 512", 512, true},
		{`[ip, user, status, bytes]`, "$user", "1.2.3.4 - 200 512", 0, false},
	}
	for _, c := range cases {
		p := MustParse(c.pattern)
		if err := p.ValidateMetricValue(c.value); err != nil {
			t.Errorf("ValidateMetricValue(%q) for %q: %v", c.value, c.pattern, err)
		}
		got, ok := p.MetricValue(c.value, c.message)
		if ok != c.ok || got != c.want {
			t.Errorf("MetricValue(%q, %q) for %q = %v, %v; want %v, %v", c.value, c.message, c.pattern, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct{ pattern, value string }{
		{`ERROR`, "$.latency"},
		{`ERROR`, "$bytes"},
		{`{ $.a = 1 }`, "$bytes"},
		{`[a, b]`, "$c"},
		{`[a, b]`, "$.a"},
		{`[a, b]`, "$0"},
		{`{ $.a = 1 }`, "$.a..b"},
		{`ERROR`, "one"},
	} {
		if err := MustParse(c.pattern).ValidateMetricValue(c.value); err == nil {
			t.Errorf("ValidateMetricValue(%q) for %q: want an error", c.value, c.pattern)
		}
	}
}

func TestWildcardsOnlyAtTheEnds(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"*Event", "PutEvent", true}, {"*Event", "EventId", false},
		{"Event*", "EventId", true}, {"Event*", "PutEvent", false}, {"*Event*", "PutEventId", true},
		// AWS: "Ev*ent will only match the actual string Ev*ent".
		{"Ev*ent", "Ev*ent", true}, {"Ev*ent", "Evxxent", false}, {"*a*b*", "xa*by", true}, {"*a*b*", "xaby", false},
		{"abc", "abc", true}, {"abc", "abcd", false}, {"**", "x", true},
	} {
		if got := wildcardMatch(c.pat, c.s); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", c.pat, c.s, got, c.want)
		}
	}
	runMatches(t, []matchCase{
		{`{ $.e = Ev*ent }`, `{"e": "Evxxent"}`, false},
		{`{ $.e = "Ev*ent" }`, `{"e": "Ev*ent"}`, true},
		{`{ $.e = "*Event" }`, `{"e": "GetEvent"}`, true},
		{`[a = 4*5]`, `405`, false},
		{`[a = "4*5"]`, `4*5`, true},
	})
}
