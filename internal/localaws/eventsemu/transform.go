package eventsemu

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// transform is what a target receives for an event: Input as given, the
// value at InputPath, the InputTransformer's template filled in, or the
// whole event (EventBridge user guide, "input transformation").
func transform(t target, raw []byte, event map[string]any, r *rule, at time.Time) (string, error) {
	switch {
	case t.Input != nil:
		return *t.Input, nil
	case t.InputPath != nil:
		v, _ := lookup(event, *t.InputPath)
		b, _ := json.Marshal(v)
		return string(b), nil
	case t.InputTransformer != nil:
		vars := map[string]any{
			"aws.events.rule-arn":             r.arn,
			"aws.events.rule-name":            r.name,
			"aws.events.event.ingestion-time": at.UTC().Format(time.RFC3339),
			"aws.events.event.json":           json.RawMessage(raw),
		}
		for k, p := range t.InputTransformer.InputPathsMap {
			if v, ok := lookup(event, p); ok {
				vars[k] = v
			}
		}
		return fill(*t.InputTransformer.InputTemplate, vars), nil
	}
	return string(raw), nil
}

// lookup evaluates the JSON paths EventBridge supports: $.a.b, $.a[0].
func lookup(v any, path string) (any, bool) {
	rest := strings.TrimPrefix(path, "$")
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			key := rest[:end]
			rest = rest[end:]
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = obj[key]; !ok {
				return nil, false
			}
		case strings.HasPrefix(rest, "["):
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			i, err := strconv.Atoi(rest[1:end])
			rest = rest[end+1:]
			arr, ok := v.([]any)
			if err != nil || !ok || i < 0 || i >= len(arr) {
				return nil, false
			}
			v = arr[i]
		default:
			return nil, false
		}
	}
	return v, true
}

var placeholderRe = regexp.MustCompile(`<([A-Za-z0-9_\-.]+)>`)

// fill replaces <name> placeholders. In a JSON template (an object or an
// array) a placeholder inside a string is replaced by the value's text,
// escaped for the string, and one outside a string by the value as JSON. In
// a text template the value's text is inserted as is. Unknown placeholders
// are left alone.
func fill(tpl string, vars map[string]any) string {
	trimmed := strings.TrimSpace(tpl)
	jsonMode := strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")
	var b strings.Builder
	inString := false
	for i := 0; i < len(tpl); {
		c := tpl[i]
		if jsonMode && c == '"' && (i == 0 || tpl[i-1] != '\\') {
			inString = !inString
		}
		if c == '<' {
			if m := placeholderRe.FindStringSubmatchIndex(tpl[i:]); m != nil && m[0] == 0 {
				name := tpl[i+m[2] : i+m[3]]
				if v, ok := vars[name]; ok {
					switch {
					case jsonMode && !inString:
						j, _ := json.Marshal(v)
						b.Write(j)
					case jsonMode:
						j, _ := json.Marshal(text(v))
						b.Write(j[1 : len(j)-1])
					default:
						b.WriteString(text(v))
					}
					i += m[1]
					continue
				}
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// text is a value as text: strings bare, everything else as JSON.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if r, ok := v.(json.RawMessage); ok {
		return string(r)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
