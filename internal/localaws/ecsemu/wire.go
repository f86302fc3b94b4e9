package ecsemu

import (
	"reflect"
	"time"
	"unicode"
	"unicode/utf8"
)

// The emulation keeps its state in the SDK's own ecs/types structs and sends
// them in AWS's JSON shape: member names are the model's lowerCamel names
// (the SDK's exported Go names with the first letter lowered, which
// TestWireNamesMatchModel checks against botocore's service-2.json),
// timestamps are epoch seconds, nil pointers and nil slices are left out.

// wire converts v (an SDK output struct, or any value inside one) to a value
// encoding/json writes in the awsJson1.1 shape.
func wire(v any) any {
	out, _ := toWire(reflect.ValueOf(v))
	return out
}

var timeType = reflect.TypeOf(time.Time{})

func toWire(v reflect.Value) (any, bool) {
	if !v.IsValid() {
		return nil, false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return toWire(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			return float64(t.UnixMilli()) / 1000, true
		}
		m := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			if x, ok := toWire(v.Field(i)); ok {
				m[lowerFirst(f.Name)] = x
			}
		}
		return m, true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			if x, ok := toWire(v.Index(i)); ok {
				out = append(out, x)
			}
		}
		return out, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		out := map[string]any{}
		it := v.MapRange()
		for it.Next() {
			if x, ok := toWire(it.Value()); ok {
				out[it.Key().String()] = x
			}
		}
		return out, true
	case reflect.String:
		if v.Len() == 0 {
			return nil, false // an unset enum
		}
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return nil, false
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
