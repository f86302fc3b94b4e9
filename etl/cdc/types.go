package cdc

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is a column type.
type Kind uint8

// Kinds. The order is not a widening order: see Observe.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindDouble
	KindString
	KindBinary
	KindDate
	KindTimestamp
	KindList
	KindStruct
)

var kindNames = [...]string{"null", "boolean", "int64", "double", "string", "binary", "date", "timestamp", "list", "struct"}

// MarshalJSON writes the kind's name (manifests store column types).
func (k Kind) MarshalJSON() ([]byte, error) {
	if int(k) >= len(kindNames) {
		return nil, fmt.Errorf("unknown kind %d", k)
	}
	return []byte(`"` + kindNames[k] + `"`), nil
}

// UnmarshalJSON reads a kind's name.
func (k *Kind) UnmarshalJSON(b []byte) error {
	for i, n := range kindNames {
		if string(b) == `"`+n+`"` {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown column kind %s", b)
}

// MaxTypeDepth bounds the nesting of a column type (struct and list levels).
// Parquet stores a value's nesting in its definition level, at most 255 in
// every reader; values nested deeper than this are stored, from this level
// down, as JSON text (KindString).
const MaxTypeDepth = 64

// Type is an inferred column type.
type Type struct {
	Kind   Kind             `json:"kind"`
	Elem   *Type            `json:"elem,omitempty"`   // KindList
	Fields map[string]*Type `json:"fields,omitempty"` // KindStruct
}

// String renders the type, e.g. "struct<a:int64,b:list<string>>".
func (t *Type) String() string {
	if t == nil {
		return "null"
	}
	switch t.Kind {
	case KindList:
		return "list<" + t.Elem.String() + ">"
	case KindStruct:
		var b strings.Builder
		b.WriteString("struct<")
		for i, name := range t.FieldNames() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(name + ":" + t.Fields[name].String())
		}
		b.WriteByte('>')
		return b.String()
	}
	return kindNames[t.Kind]
}

// FieldNames returns the struct's field names, sorted.
func (t *Type) FieldNames() []string {
	names := make([]string, 0, len(t.Fields))
	for k := range t.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func kindOf(v any) Kind {
	switch v.(type) {
	case nil:
		return KindNull
	case bool:
		return KindBool
	case int64:
		return KindInt
	case float64:
		return KindDouble
	case string:
		return KindString
	case []byte:
		return KindBinary
	case Date:
		return KindDate
	case Timestamp:
		return KindTimestamp
	case []any:
		return KindList
	case map[string]any:
		return KindStruct
	}
	return KindString
}

// Observe widens t so that it can hold v (RULES.md "Widening") and returns it.
func Observe(t *Type, v any) *Type {
	t, descend := ObserveKind(t, kindOf(v))
	if !descend {
		return t
	}
	switch t.Kind {
	case KindList:
		for _, e := range v.([]any) {
			t.Elem = Observe(t.Elem, e)
		}
	case KindStruct:
		for name, fv := range v.(map[string]any) {
			t.Fields[name] = Observe(t.Fields[name], fv)
		}
	}
	return t
}

// ObserveKind widens t for a value of kind k. descend reports whether the
// value's elements or fields must be observed next (into t.Elem/t.Fields).
func ObserveKind(t *Type, k Kind) (_ *Type, descend bool) {
	if k == KindNull {
		if t == nil {
			return &Type{Kind: KindNull}, false
		}
		return t, false
	}
	if t == nil || t.Kind == KindNull {
		t = &Type{Kind: k}
		switch k {
		case KindList:
			t.Elem = &Type{Kind: KindNull}
		case KindStruct:
			t.Fields = map[string]*Type{}
		}
	}
	switch {
	case t.Kind == k:
	case t.Kind == KindInt && k == KindDouble:
		t.Kind = KindDouble
	case t.Kind == KindDouble && k == KindInt:
	default:
		return &Type{Kind: KindString}, false
	}
	return t, k == KindList || k == KindStruct
}
