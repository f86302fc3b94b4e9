package logpattern

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ValidateFieldRef checks a reference to an event field as metric filters
// use them in metricValue and dimension values: "$.path" needs a JSON
// pattern, "$name" a space-delimited pattern with a field of that name, and
// "$N" (1-based position) a space-delimited pattern.
func (p *Pattern) ValidateFieldRef(ref string) error {
	if !strings.HasPrefix(ref, "$") {
		return fmt.Errorf("%q is not a field reference: write $.field for JSON patterns or $name for space-delimited ones", ref)
	}
	if strings.HasPrefix(ref, "$.") || strings.HasPrefix(ref, "$[") {
		if p.kind != KindJSON {
			return fmt.Errorf("%q selects a JSON field, but the filter pattern is not a JSON pattern ({ ... })", ref)
		}
		sel, next, err := parseSelector(ref, 0, len(ref))
		if err != nil || next != len(ref) {
			return fmt.Errorf("%q is not a valid JSON selector", ref)
		}
		if sel.wildcard {
			return fmt.Errorf("%q selects many values (* or [*]); a field reference must name one field", ref)
		}
		return nil
	}
	name := ref[1:]
	if p.kind != KindDelimited {
		return fmt.Errorf("%q names a space-delimited field, but the filter pattern is not a space-delimited pattern ([ ... ])", ref)
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 {
			return fmt.Errorf("%q: field positions start at $1", ref)
		}
		return nil
	}
	for _, s := range p.delim.slots {
		if s.name == name {
			return nil
		}
	}
	return fmt.Errorf("%q names no field of the pattern %s", ref, p.src)
}

// ValidateMetricValue checks a metric transformation's metricValue: a number
// or a field reference (see ValidateFieldRef).
func (p *Pattern) ValidateMetricValue(v string) error {
	if _, ok := parseNumber(v); ok {
		return nil
	}
	if err := p.ValidateFieldRef(v); err != nil {
		return fmt.Errorf("metric value must be a number or a field reference: %w", err)
	}
	return nil
}

// Field returns the text of the field ref names in a matching event.
func (p *Pattern) Field(ref, message string) (string, bool) {
	if !strings.HasPrefix(ref, "$") {
		return "", false
	}
	switch p.kind {
	case KindJSON:
		sel, next, err := parseSelector(ref, 0, len(ref))
		if err != nil || next != len(ref) {
			return "", false
		}
		doc, ok := decodeJSON(message)
		if !ok || !p.json.eval(doc) {
			return "", false
		}
		v, found := sel.resolve(doc)
		if !found {
			return "", false
		}
		return valueText(v)
	case KindDelimited:
		b, ok := p.delim.bind(message)
		if !ok {
			return "", false
		}
		return b.field(ref[1:])
	}
	return "", false
}

// MetricValue returns the value a metric filter with this pattern and
// metricValue publishes for a matching event: the literal number, or the
// referenced field parsed as a number. ok is false when the event does not
// match or the field is missing or not numeric (AWS publishes nothing then).
func (p *Pattern) MetricValue(metricValue, message string) (float64, bool) {
	if f, ok := parseNumber(metricValue); ok {
		if !p.Match(message) {
			return 0, false
		}
		return f, true
	}
	s, ok := p.Field(metricValue, message)
	if !ok {
		return 0, false
	}
	if f, ok := parseNumber(s); ok {
		return f, true
	}
	// JSON numbers the decoder kept verbatim (e.g. 1E3) parse here too.
	f, err := json.Number(s).Float64()
	return f, err == nil
}
