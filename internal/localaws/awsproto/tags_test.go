package awsproto

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestTagListAndMapRoundTripSortedByKey(t *testing.T) {
	m := map[string]string{"team": "data", "env": "prod", "cost": ""}
	list := TagList(m)
	want := []Tag{{"cost", ""}, {"env", "prod"}, {"team", "data"}}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("TagList = %v, want %v", list, want)
	}
	if back := TagMap(list); !reflect.DeepEqual(back, m) {
		t.Fatalf("TagMap = %v, want %v", back, m)
	}
}

func TestTagRulesCheckTheModelsDefaults(t *testing.T) {
	r := TagRules{Validator: Validator{Code: "InvalidParameterException"}}
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	cases := []struct {
		name string
		tags map[string]string
		msg  string
	}{
		// Most models: TagKey 1-128, TagValue 0-256, 50 tags per resource.
		{"empty key", map[string]string{"": "v"}, "at 'tags.key' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long key", map[string]string{strings.Repeat("k", 129): "v"}, "Member must have length less than or equal to 128"},
		{"long value", map[string]string{"k": strings.Repeat("v", 257)}, "at 'tags.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"reserved prefix", map[string]string{"AWS:x": "v"}, "Tag keys starting with 'aws:' are reserved for AWS use."},
		{"too many in one request", many, "Member must have length less than or equal to 50"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Check(tc.tags)
			e, ok := err.(*Error)
			if !ok || e.Code != "InvalidParameterException" || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %v, want InvalidParameterException containing %q", err, tc.msg)
			}
		})
	}
	if err := r.Check(map[string]string{"k": strings.Repeat("v", 256), strings.Repeat("k", 128): ""}); err != nil {
		t.Fatalf("tags at the limits: %v", err)
	}
}

func TestTagRulesApplyMergesOrChangesNothing(t *testing.T) {
	tooMany := func(max int) error {
		return Errf("TooManyTagsException", "A resource can have no more than %d tags.", max)
	}
	r := TagRules{MaxTags: 3, TooMany: tooMany}
	cur := map[string]string{"a": "1", "b": "2"}
	if err := r.Apply(cur, map[string]string{"b": "two", "c": "3"}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": "1", "b": "two", "c": "3"}; !reflect.DeepEqual(cur, want) {
		t.Fatalf("after apply %v, want %v", cur, want)
	}
	err := r.Apply(cur, map[string]string{"d": "4", "a": "one"})
	if e, ok := err.(*Error); !ok || e.Code != "TooManyTagsException" || e.Message != "A resource can have no more than 3 tags." {
		t.Fatalf("over the quota: %v", err)
	}
	if cur["a"] != "1" || len(cur) != 3 {
		t.Fatalf("a refused apply changed the tags: %v", cur)
	}
	Untag(cur, []string{"a", "missing"})
	if want := map[string]string{"b": "two", "c": "3"}; !reflect.DeepEqual(cur, want) {
		t.Fatalf("after untag %v, want %v", cur, want)
	}
	if c := CopyTags(nil); c == nil || len(c) != 0 {
		t.Fatalf("CopyTags(nil) = %#v, want an empty map", c)
	}
}
