package redrive

import (
	"errors"
	"testing"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
)

func TestFilterSelectsMessages(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	msg := FilterMessage{
		Body:         `{"order":{"id":"o-1","status":"FAILED","total":42.5},"items":[{"sku":"a","qty":3}],"gift":false,"note":null,"tag":"x y"}`,
		Attributes:   map[string]string{"ErrorCode": "200", "Retry Reason": "timeout", "tenant": "t-7"},
		SentAt:       now.Add(-3 * time.Hour),
		ReceiveCount: 4,
		GroupID:      "g1",
		Now:          now,
	}
	plain := FilterMessage{Body: "Task timed out after 3.00 seconds", Now: now, SentAt: now.Add(-10 * time.Minute)}
	tests := map[string]struct {
		expr string
		m    FilterMessage
		want bool
	}{
		"body substring":                {`body contains "timed out"`, plain, true},
		"body substring absent":         {`body contains "OOM"`, plain, false},
		"body regex slashes":            {`body ~ /timed\s+out/`, plain, true},
		"body regex quoted":             {`body matches "^Task"`, plain, true},
		"body equality":                 {`body == "Task timed out after 3.00 seconds"`, plain, true},
		"json string equality":          {`$.order.status == "FAILED"`, msg, true},
		"json string inequality":        {`$.order.status != "FAILED"`, msg, false},
		"json number compare":           {`$.order.total > 40`, msg, true},
		"json array index":              {`$.items[0].qty >= 3`, msg, true},
		"json quoted key":               {`$["order"]["id"] == "o-1"`, msg, true},
		"json bool":                     {`$.gift == false`, msg, true},
		"json null":                     {`$.note == null`, msg, true},
		"json exists":                   {`$.order.id exists`, msg, true},
		"json missing path":             {`$.order.nope exists`, msg, false},
		"json missing path not equal":   {`$.order.nope != "x"`, msg, true},
		"json on non-JSON body":         {`$.a == "b"`, plain, false},
		"json contains":                 {`$.tag contains "x"`, msg, true},
		"attribute equality":            {`attr.ErrorCode == "200"`, msg, true},
		"attribute with spaces":         {`attr["Retry Reason"] == "timeout"`, msg, true},
		"attribute exists":              {`attr.tenant exists`, msg, true},
		"attribute missing":             {`attr.nope exists`, msg, false},
		"attribute regex":               {`attr.tenant ~ /^t-\d+$/`, msg, true},
		"age older than":                {`age > 2h`, msg, true},
		"age younger than":              {`age < 2h`, msg, false},
		"age in days":                   {`age < 1d`, msg, true},
		"age unknown sent time":         {`age > 0`, FilterMessage{Body: "x"}, false},
		"receive count":                 {`receive_count >= 4`, msg, true},
		"group":                         {`group == "g1"`, msg, true},
		"and":                           {`attr.ErrorCode == "200" and age > 1h`, msg, true},
		"or":                            {`body contains "nope" or $.order.status == "FAILED"`, msg, true},
		"not":                           {`not attr.ErrorCode == "500"`, msg, true},
		"not binds tighter than and":    {`not attr.nope exists and group == "g1"`, msg, true},
		"and binds tighter than or":     {`group == "zz" and age > 1h or receive_count == 4`, msg, true},
		"parentheses":                   {`group == "zz" and (age > 1h or receive_count == 4)`, msg, false},
		"single equals":                 {`group = "g1"`, msg, true},
		"single quotes and escapes":     {`body contains 'timed out'`, plain, true},
		"keywords are case-insensitive": {`body CONTAINS "Task" AND NOT body contains "x"`, plain, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFilter(tc.expr)
			if err != nil {
				t.Fatalf("parse %q: %v", tc.expr, err)
			}
			if got := f.Match(tc.m); got != tc.want {
				t.Fatalf("%q (canonical %q) = %v, want %v", tc.expr, f.String(), got, tc.want)
			}
			// The canonical form parses back to the same behaviour.
			g, err := ParseFilter(f.String())
			if err != nil {
				t.Fatalf("canonical %q does not parse: %v", f.String(), err)
			}
			if g.Match(tc.m) != tc.want || g.String() != f.String() {
				t.Fatalf("canonical round trip changed %q -> %q", f.String(), g.String())
			}
		})
	}
}

func TestFilterEmptyMatchesEverything(t *testing.T) {
	f, err := ParseFilter("  ")
	if err != nil || f != nil {
		t.Fatalf("empty filter = %v, %v", f, err)
	}
	if !f.Match(FilterMessage{Body: "x"}) {
		t.Fatal("nil filter must match")
	}
}

func TestFilterRejectsBadExpressionsAsUsageErrors(t *testing.T) {
	for _, expr := range []string{
		`body`,
		`body contains`,
		`body contains 3`,
		`body > "a"`,
		`age > "x"`,
		`age contains "x"`,
		`receive_count == "3"`,
		`body ~ /(/`,
		`body ~ /unterminated`,
		`body == "unterminated`,
		`$.a > "x"`,
		`$..a == 1`,
		`$.a[x] == 1`,
		`colour == "red"`,
		`(body contains "a"`,
		`body contains "a")`,
		`body contains "a" and`,
		`body exists`,
		`attr[nope] == "x"`,
		`body ~= "x"`,
		`body == "a" "b"`,
		`# comment`,
	} {
		t.Run(expr, func(t *testing.T) {
			_, err := ParseFilter(expr)
			var u *opserr.UsageError
			if err == nil || !errors.As(err, &u) {
				t.Fatalf("ParseFilter(%q) = %v, want a usage error", expr, err)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{
		`body contains "timeout"`,
		`body ~ /Time(out)?\//`,
		`$.order.status == "FAILED" and $.items[2].qty >= 3`,
		`attr["Retry Reason"] exists or not attr.x == 'y'`,
		`age > 1d12h and receive_count < 10`,
		`((group == "a"))`,
		`not not not body contains ""`,
		`$["a.b"] == null`,
		`$.x == -1.5e3`,
		`age >= 0`,
	} {
		f.Add(seed)
	}
	msg := FilterMessage{Body: `{"order":{"status":"FAILED"},"items":[1,2,{"qty":3}]}`, Attributes: map[string]string{"x": "y"}, ReceiveCount: 2, SentAt: time.Unix(0, 0), Now: time.Unix(3600, 0)}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := ParseFilter(expr)
		if err != nil {
			var u *opserr.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("non-usage error %v", err)
			}
			return
		}
		got := flt.Match(msg)
		canon := flt.String()
		again, err := ParseFilter(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, expr, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q", canon, again.String())
		}
		if again.Match(msg) != got {
			t.Fatalf("canonical form %q matches differently from %q", canon, expr)
		}
	})
}
