package awsproto

import (
	"fmt"
	"sort"
	"strings"
)

// Tag is the {Key, Value} pair of the APIs that send tags as a list
// (Firehose, IAM, Auto Scaling, ELBv2, ECR, CodeBuild...). Services with other
// member names (ECS: key/value) declare their own wire type and convert
// through a map.
type Tag struct {
	Key   string `json:"Key" xml:"Key" query:"Key"`
	Value string `json:"Value" xml:"Value" query:"Value"`
}

// TagMap turns a tag list into a map (a later duplicate key wins).
func TagMap(list []Tag) map[string]string {
	m := make(map[string]string, len(list))
	for _, t := range list {
		m[t.Key] = t.Value
	}
	return m
}

// TagList turns a map into a tag list sorted by key.
func TagList(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for _, k := range sortedTagKeys(m) {
		out = append(out, Tag{Key: k, Value: m[k]})
	}
	return out
}

func sortedTagKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TagRules are a service's tag constraints. The defaults are what nearly
// every model says: TagKey length 1–128, TagValue length 0–256, at most 50
// tags per resource, and keys starting "aws:" reserved.
type TagRules struct {
	// Validator words violations of the model's constraints.
	Validator Validator
	// Member is the request member holding the tags ("tags", "Tags").
	Member string
	// MaxTags per resource (default 50); MaxKey and MaxValue in characters
	// (defaults 128 and 256).
	MaxTags, MaxKey, MaxValue int
	// TooMany is the error when a TagResource would leave more than MaxTags
	// (default: a violation of Member's length).
	TooMany func(max int) error
	// Reserved is the error for a key starting "aws:" (default: a Validator
	// Invalid error saying the prefix is reserved).
	Reserved func(key string) error
	// AllowReserved accepts "aws:" keys.
	AllowReserved bool
}

func (r TagRules) member() string {
	if r.Member == "" {
		return "tags"
	}
	return r.Member
}

func (r TagRules) maxTags() int {
	if r.MaxTags == 0 {
		return 50
	}
	return r.MaxTags
}

// Check validates the tags of a request (a create or TagResource call), keys
// in sorted order so the first reported violation is stable.
func (r TagRules) Check(tags map[string]string) error {
	v, m := r.Validator, r.member()
	if err := v.Size(m, fmt.Sprintf("map of %d tags", len(tags)), len(tags), 0, r.maxTags()); err != nil {
		return err
	}
	maxKey, maxValue := r.MaxKey, r.MaxValue
	if maxKey == 0 {
		maxKey = 128
	}
	if maxValue == 0 {
		maxValue = 256
	}
	for _, k := range sortedTagKeys(tags) {
		if err := v.Length(m+".key", k, 1, maxKey); err != nil {
			return err
		}
		if !r.AllowReserved && strings.HasPrefix(strings.ToLower(k), "aws:") {
			if r.Reserved != nil {
				return r.Reserved(k)
			}
			return v.Invalid("Tag keys starting with 'aws:' are reserved for AWS use.")
		}
		if err := v.Length(m+".value", tags[k], 0, maxValue); err != nil {
			return err
		}
	}
	return nil
}

// Apply is TagResource on a resource's tags cur (non-nil): it checks add,
// then merges it (a new value replaces an old one), unless the resource would
// end with more than MaxTags, which changes nothing.
func (r TagRules) Apply(cur, add map[string]string) error {
	if err := r.Check(add); err != nil {
		return err
	}
	n := len(cur)
	for k := range add {
		if _, ok := cur[k]; !ok {
			n++
		}
	}
	if n > r.maxTags() {
		if r.TooMany != nil {
			return r.TooMany(r.maxTags())
		}
		return r.Validator.Violation(fmt.Sprintf("map of %d tags", n), r.member(), fmt.Sprintf("Member must have length less than or equal to %d", r.maxTags()))
	}
	for k, v := range add {
		cur[k] = v
	}
	return nil
}

// Untag is UntagResource: it removes keys from cur (absent keys are not an
// error, as in AWS).
func Untag(cur map[string]string, keys []string) {
	for _, k := range keys {
		delete(cur, k)
	}
}

// CopyTags returns a copy of m for an output (never nil, so a resource
// without tags lists {}).
func CopyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
