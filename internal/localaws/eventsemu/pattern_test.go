package eventsemu

import (
	"encoding/json"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The cases follow the EventBridge user guide's "Content filtering in event
// patterns" examples.
func TestPatternsMatchAsTheUserGuideSays(t *testing.T) {
	event := `{"source":"aws.codepipeline","detail-type":"CodePipeline Pipeline Execution State Change","resources":["arn:aws:codepipeline:us-east-1:123456789012:shop"],
		"detail":{"pipeline":"shop","state":"FAILED","version":3,"execution-id":"e-1","tags":["a","b"],"empty":null}}`
	cases := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"state":["FAILED"],"pipeline":["shop"]}}`, true},
		{`{"detail":{"state":["SUCCEEDED"]}}`, false},
		{`{"detail":{"state":["SUCCEEDED","FAILED"]}}`, true},
		{`{"resources":["arn:aws:codepipeline:us-east-1:123456789012:shop"]}`, true},
		{`{"detail":{"tags":["b"]}}`, true},
		{`{"detail":{"pipeline":[{"prefix":"sh"}]}}`, true},
		{`{"detail":{"pipeline":[{"suffix":"op"}]}}`, true},
		{`{"detail":{"pipeline":[{"equals-ignore-case":"SHOP"}]}}`, true},
		{`{"detail":{"pipeline":[{"wildcard":"s*p"}]}}`, true},
		{`{"detail":{"state":[{"anything-but":["SUCCEEDED","STARTED"]}]}}`, true},
		{`{"detail":{"state":[{"anything-but":"FAILED"}]}}`, false},
		{`{"detail":{"state":[{"anything-but":{"prefix":"FAIL"}}]}}`, false},
		{`{"detail":{"version":[{"numeric":[">",2,"<=",3]}]}}`, true},
		{`{"detail":{"version":[{"numeric":["<",3]}]}}`, false},
		{`{"detail":{"version":[3.0]}}`, true},
		{`{"detail":{"stage":[{"exists":false}]}}`, true},
		{`{"detail":{"stage":[{"exists":true}]}}`, false},
		{`{"detail":{"pipeline":[{"exists":true}]}}`, true},
		{`{"detail":{"empty":[null]}}`, true},
		{`{"detail":{"missing":["x"]}}`, false},
		{`{"nested":{"deeper":[{"exists":false}]}}`, true},
	}
	ev := decode(t, event)
	for _, c := range cases {
		p, err := parsePattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if got := p.match(ev); got != c.want {
			t.Errorf("%s matched %v, want %v", c.pattern, got, c.want)
		}
	}
}

func TestInvalidPatternsAreRefused(t *testing.T) {
	for _, p := range []string{
		`[]`, `"x"`, `{}`, `{"source":"aws.s3"}`, `{"source":[]}`, `{"detail":{}}`,
		`{"source":[{"prefix":1}]}`, `{"source":[{"unknown":"x"}]}`, `{"source":[{"prefix":"a","suffix":"b"}]}`,
		`{"n":[{"numeric":[">"]}]}`, `{"n":[{"numeric":["~",1]}]}`, `{"n":[{"numeric":[">","x"]}]}`,
		`{"n":[{"exists":"yes"}]}`, `{"n":[{"anything-but":[]}]}`, `{"n":[{"anything-but":[true]}]}`,
		`{"n":[{"wildcard":"a**b"}]}`, `{"n":[[1]]}`, `{"a":["x"]} trailing`,
	} {
		if _, err := parsePattern(p); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
}

func TestInputTemplatesFillTextAndJSON(t *testing.T) {
	vars := map[string]any{"pipeline": "shop", "n": json.Number("3"), "q": `say "hi"`}
	cases := map[string]string{
		`Pipeline <pipeline> failed (<n>) <unknown>`:  `Pipeline shop failed (3) <unknown>`,
		`{"p": <pipeline>, "m": "<pipeline> is <q>"}`: `{"p": "shop", "m": "shop is say \"hi\""}`,
	}
	for tpl, want := range cases {
		if got := fill(tpl, vars); got != want {
			t.Errorf("fill(%q) = %q, want %q", tpl, got, want)
		}
	}
	ev := decode(t, `{"detail":{"a":[{"b":"x"}]}}`)
	if v, ok := lookup(ev, "$.detail.a[0].b"); !ok || v != "x" {
		t.Fatalf("lookup = %v %v", v, ok)
	}
}
