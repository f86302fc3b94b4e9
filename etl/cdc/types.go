package cdc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind is a column type.
type Kind uint8

// Kinds. The order is not a widening order: see Merge.
const (
	KindNull Kind = iota
	KindBool
	KindInt // Bits wide (Debezium's declared int8/16/32/64; else 64)
	KindDouble
	KindString
	KindBinary
	KindDate
	KindTimestamp // UTC: an instant (ZonedTimestamp); else local date-time (Timestamp, MicroTimestamp, NanoTimestamp)
	KindList
	KindStruct
	KindDecimal // exact: DECIMAL(Precision(), Scale)
	KindTime    // time of day, not UTC-adjusted
)

var kindNames = [...]string{"null", "boolean", "int64", "double", "string", "binary", "date", "timestamp", "list", "struct", "decimal", "time"}

// MaxDecimalDigits is the largest DECIMAL precision written (what DuckDB,
// Arrow's decimal128, Athena and Spark all read).
const MaxDecimalDigits = 38

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
	// KindInt: 8, 16, 32 or 64 bits (0 means 64).
	Bits uint8 `json:"bits,omitempty"`
	// KindDecimal: Prec is the declared precision (Debezium's
	// connect.decimal.precision), 0 when none was declared: the column is
	// then DECIMAL(38, Scale) and IntDigits, the most integer digits of a
	// value seen, must fit beside the scale.
	Prec      uint8 `json:"precision,omitempty"`
	Scale     uint8 `json:"scale,omitempty"`
	IntDigits uint8 `json:"int_digits,omitempty"`
	// KindTimestamp, KindTime: nanoseconds (else microseconds).
	Nanos bool `json:"nanos,omitempty"`
	// KindTimestamp: an instant (UTC-adjusted); else a local date-time.
	UTC bool `json:"utc,omitempty"`
}

// IntBits returns the width of a KindInt.
func (t *Type) IntBits() int {
	if t.Bits == 0 {
		return 64
	}
	return int(t.Bits)
}

// Precision returns the DECIMAL precision of a KindDecimal.
func (t *Type) Precision() int {
	if t.Prec > 0 {
		return int(t.Prec)
	}
	return MaxDecimalDigits
}

func (t *Type) intDigits() int {
	if t.Prec > 0 {
		return int(t.Prec) - int(t.Scale)
	}
	return int(t.IntDigits)
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
	case KindInt:
		return "int" + strconv.Itoa(t.IntBits())
	case KindDecimal:
		return "decimal(" + strconv.Itoa(t.Precision()) + "," + strconv.Itoa(int(t.Scale)) + ")"
	case KindTimestamp:
		s := "timestamp"
		if t.Nanos {
			s += "_ns"
		}
		if t.UTC {
			s += " with time zone"
		}
		return s
	case KindTime:
		if t.Nanos {
			return "time_ns"
		}
		return "time"
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

// valueType returns the type of one scalar value (nil for containers).
func valueType(v any) *Type {
	switch x := v.(type) {
	case nil:
		return &Type{Kind: KindNull}
	case bool:
		return &Type{Kind: KindBool}
	case int64:
		return &Type{Kind: KindInt}
	case float64:
		return &Type{Kind: KindDouble}
	case string:
		return &Type{Kind: KindString}
	case []byte:
		return &Type{Kind: KindBinary}
	case Date:
		return &Type{Kind: KindDate}
	case Timestamp:
		return &Type{Kind: KindTimestamp, UTC: true}
	case LocalTimestamp:
		return &Type{Kind: KindTimestamp}
	case LocalTimestampNanos:
		return &Type{Kind: KindTimestamp, Nanos: true}
	case TimeOfDay:
		return &Type{Kind: KindTime}
	case TimeOfDayNanos:
		return &Type{Kind: KindTime, Nanos: true}
	case Decimal:
		return decimalType(x.IntDigits(), int(x.Scale))
	case []any, map[string]any:
		return nil
	}
	return &Type{Kind: KindString}
}

// decimalType is the type of an observed (undeclared) decimal value, or
// string when DECIMAL(38) cannot hold it.
func decimalType(intDigits, scale int) *Type {
	if intDigits+scale > MaxDecimalDigits || scale < 0 {
		return &Type{Kind: KindString}
	}
	return &Type{Kind: KindDecimal, Scale: uint8(scale), IntDigits: uint8(intDigits)}
}

// Observe widens t so that it can hold v (RULES.md "Widening") and returns it.
func Observe(t *Type, v any) *Type { return observeDepth(t, v, 0) }

func observeDepth(t *Type, v any, depth int) *Type {
	if vt := valueType(v); vt != nil {
		return Merge(t, vt)
	}
	if depth >= MaxTypeDepth {
		t, _ = ObserveKind(t, KindString)
		return t
	}
	switch x := v.(type) {
	case []any:
		t, descend := ObserveKind(t, KindList)
		if descend {
			for _, e := range x {
				t.Elem = observeDepth(t.Elem, e, depth+1)
			}
		}
		return t
	case map[string]any:
		t, descend := ObserveKind(t, KindStruct)
		if descend {
			for name, fv := range x {
				t.Fields[name] = observeDepth(t.Fields[name], fv, depth+1)
			}
		}
		return t
	}
	return t
}

// ObserveKind widens t for a value of kind k (an int64, not a narrower int,
// nor a decimal, timestamp or time: see Merge). descend reports whether the
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
		return t, k == KindList || k == KindStruct
	}
	switch {
	case t.Kind == k && k == KindInt:
		t.Bits = 0 // an int64 value: the widest
	case t.Kind == k && (k == KindTimestamp || k == KindTime || k == KindDecimal):
		return Merge(t, &Type{Kind: k}), false
	case t.Kind == k:
	case t.Kind == KindInt && k == KindDouble, t.Kind == KindDecimal && k == KindDouble:
		return &Type{Kind: KindDouble}, false
	case t.Kind == KindDouble && k == KindInt:
	case t.Kind == KindDecimal && k == KindInt:
		return Merge(t, &Type{Kind: KindInt}), false
	default:
		return &Type{Kind: KindString}, false
	}
	return t, k == KindList || k == KindStruct
}

// ObserveDecimal widens t for an undeclared decimal value with intDigits
// integer digits and scale fraction digits (a DynamoDB N that is not an
// int64, a VariableScaleDecimal).
func ObserveDecimal(t *Type, intDigits, scale int) *Type {
	if t != nil && t.Kind == KindDecimal && t.Prec == 0 && intDigits <= int(t.IntDigits) && scale <= int(t.Scale) {
		return t // the usual case: nothing to widen, nothing allocated
	}
	return Merge(t, decimalType(intDigits, scale))
}

// intDigitsOf is how many decimal digits an int of the given width needs.
func intDigitsOf(bits int) int {
	switch bits {
	case 8:
		return 3
	case 16:
		return 5
	case 32:
		return 10
	}
	return 19
}

// Merge widens a so that it also holds b's values and returns it (a is
// modified; b is not). The rules (RULES.md "Widening"): null changes
// nothing; ints keep the widest width; an int and a decimal, or two
// decimals, make a decimal with the most integer digits and the largest
// scale, while DECIMAL(38) holds them; int or decimal with double make
// double; timestamps of one kind (local or instant) keep the finer unit;
// structs merge field by field, lists element by element; anything else
// (and a decimal beyond 38 digits) is string.
func Merge(a, b *Type) *Type {
	if b == nil || b.Kind == KindNull {
		return a
	}
	if a == nil || a.Kind == KindNull {
		return clone(b)
	}
	if a.Kind == KindInt && b.Kind == KindDecimal {
		a, b = b, a // merged below as decimal + int (a is replaced anyway)
		a = clone(a)
	}
	switch {
	case a.Kind == b.Kind:
	case a.Kind == KindDecimal && b.Kind == KindInt:
		d := intDigitsOf(b.IntBits())
		if a.intDigits() >= d {
			return a
		}
		return mergeDecimal(a, &Type{Kind: KindDecimal, IntDigits: uint8(d)})
	case a.Kind == KindInt && b.Kind == KindDouble, a.Kind == KindDouble && b.Kind == KindInt,
		a.Kind == KindDecimal && b.Kind == KindDouble, a.Kind == KindDouble && b.Kind == KindDecimal:
		return &Type{Kind: KindDouble}
	default:
		return &Type{Kind: KindString}
	}
	switch a.Kind {
	case KindInt:
		if a.Bits != 0 && (b.Bits == 0 || b.Bits > a.Bits) {
			a.Bits = b.Bits
		}
	case KindDecimal:
		return mergeDecimal(a, b)
	case KindTimestamp:
		if a.UTC != b.UTC {
			return &Type{Kind: KindString}
		}
		a.Nanos = a.Nanos || b.Nanos
	case KindTime:
		a.Nanos = a.Nanos || b.Nanos
	case KindList:
		a.Elem = Merge(a.Elem, b.Elem)
	case KindStruct:
		for name, ft := range b.Fields {
			a.Fields[name] = Merge(a.Fields[name], ft)
		}
	}
	return a
}

func mergeDecimal(a, b *Type) *Type {
	if a.Prec == b.Prec && a.Scale == b.Scale && (a.Prec > 0 || a.IntDigits >= b.IntDigits) {
		return a
	}
	scale := max(int(a.Scale), int(b.Scale))
	id := max(a.intDigits(), b.intDigits())
	if id+scale > MaxDecimalDigits {
		return &Type{Kind: KindString}
	}
	if a.Prec > 0 && b.Prec > 0 {
		return &Type{Kind: KindDecimal, Prec: uint8(id + scale), Scale: uint8(scale)}
	}
	return &Type{Kind: KindDecimal, Scale: uint8(scale), IntDigits: uint8(id)}
}

func clone(t *Type) *Type {
	c := *t
	if t.Elem != nil {
		c.Elem = clone(t.Elem)
	}
	if t.Fields != nil {
		c.Fields = make(map[string]*Type, len(t.Fields))
		for k, v := range t.Fields {
			c.Fields[k] = clone(v)
		}
	}
	return &c
}
