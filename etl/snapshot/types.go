// Package snapshot infers the table schema of the winning rows (with
// widening), writes them as zstd Parquet (sorted by key, ~128 MiB row groups,
// optional hive partitions) and publishes versioned snapshots atomically
// (version folder + manifest, then a small "current" pointer), with a lock
// and pruning.
package snapshot

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/opsctl/opsctl/etl/cdc"
)

// Kind, Type and Observe live in etl/cdc (the decoders infer types from raw
// images without decoding them); they are re-exported here.
type (
	Kind = cdc.Kind
	Type = cdc.Type
)

// Kinds.
const (
	Null      = cdc.KindNull
	Bool      = cdc.KindBool
	Int       = cdc.KindInt
	Double    = cdc.KindDouble
	String    = cdc.KindString
	Binary    = cdc.KindBinary
	Date      = cdc.KindDate
	Timestamp = cdc.KindTimestamp
	List      = cdc.KindList
	Struct    = cdc.KindStruct
	Decimal   = cdc.KindDecimal
	Time      = cdc.KindTime
)

// Observe widens t so that it can hold v (RULES.md "Widening") and returns it.
func Observe(t *Type, v any) *Type { return cdc.Observe(t, v) }

// Merge widens a with b (used to widen schemas): cdc.Merge.
func Merge(a, b *Type) *Type { return cdc.Merge(a, b) }

// Finalize replaces what Parquet cannot store: a null-only type becomes
// string, a struct without fields becomes string (JSON text), and so does
// anything nested deeper than cdc.MaxTypeDepth.
func Finalize(t *Type) *Type { return finalize(t, 0) }

func finalize(t *Type, depth int) *Type {
	if t == nil || t.Kind == Null {
		return &Type{Kind: String}
	}
	switch t.Kind {
	case List:
		if depth >= cdc.MaxTypeDepth {
			return &Type{Kind: String}
		}
		t.Elem = finalize(t.Elem, depth+1)
	case Struct:
		if len(t.Fields) == 0 || depth >= cdc.MaxTypeDepth {
			return &Type{Kind: String}
		}
		for k, f := range t.Fields {
			t.Fields[k] = finalize(f, depth+1)
		}
	}
	return t
}

// Node returns the Parquet node for t (always optional).
func Node(t *Type) parquet.Node {
	var n parquet.Node
	switch t.Kind {
	case Bool:
		n = parquet.Leaf(parquet.BooleanType)
	case Int:
		n = parquet.Int(t.IntBits())
	case Double:
		n = parquet.Leaf(parquet.DoubleType)
	case Binary:
		n = parquet.Leaf(parquet.ByteArrayType)
	case Date:
		n = parquet.Date()
	case Timestamp:
		unit := parquet.TimeUnit(parquet.Microsecond)
		if t.Nanos {
			unit = parquet.Nanosecond
		}
		n = parquet.TimestampAdjusted(unit, t.UTC) // local date-times are not UTC-adjusted
	case Time:
		unit := parquet.TimeUnit(parquet.Microsecond)
		if t.Nanos {
			unit = parquet.Nanosecond
		}
		n = parquet.TimeAdjusted(unit, false)
	case Decimal:
		n = parquet.Decimal(int(t.Scale), t.Precision(), decimalPhysical(t.Precision()))
	case List:
		n = parquet.List(Node(t.Elem))
	case Struct:
		g := parquet.Group{}
		for name, f := range t.Fields {
			g[name] = Node(f)
		}
		n = g
	default:
		n = parquet.String()
	}
	return parquet.Optional(n)
}

// decimalPhysical: INT32 up to 9 digits, INT64 up to 18, else 16 bytes.
func decimalPhysical(prec int) parquet.Type {
	switch {
	case prec <= 9:
		return parquet.Int32Type
	case prec <= 18:
		return parquet.Int64Type
	}
	return parquet.FixedLenByteArrayType(16)
}

// decimalValue is a decimal converted for a column: its unscaled value at
// the column's scale, as INT32/INT64 or 16 big-endian two's complement
// bytes.
type decimalValue struct {
	small int64
	wide  []byte // set for precision > 18
}

var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return
}()

func toDecimal(v any, t *Type) (decimalValue, bool) {
	var d cdc.Decimal
	switch x := v.(type) {
	case cdc.Decimal:
		d = x
	case int64:
		d = cdc.Decimal{Unscaled: x}
	default:
		return decimalValue{}, false
	}
	k := int(t.Scale) - int(d.Scale)
	if k < 0 {
		return decimalValue{}, false // cannot happen: the column's scale is the largest seen
	}
	prec := t.Precision()
	if d.Big == nil && k < len(pow10) {
		u, m := d.Unscaled, pow10[k]
		if hi, lo := bits.Mul64(uint64(abs64(u)), uint64(m)); hi == 0 && lo < 1<<63 {
			u *= m
			if prec <= 18 {
				return decimalValue{small: u}, true
			}
			var b [16]byte
			binary.BigEndian.PutUint64(b[8:], uint64(u))
			if u < 0 {
				binary.BigEndian.PutUint64(b[:8], ^uint64(0))
			}
			return decimalValue{wide: b[:]}, true
		}
	}
	n := d.Rescale(int(t.Scale))
	if prec <= 18 {
		if !n.IsInt64() {
			return decimalValue{}, false
		}
		return decimalValue{small: n.Int64()}, true
	}
	return decimalValue{wide: twosComplement16(n)}, true
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func twosComplement16(n *big.Int) []byte {
	b := make([]byte, 16)
	if n.Sign() >= 0 {
		n.FillBytes(b)
		return b
	}
	m := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 128), n)
	m.FillBytes(b)
	return b
}

// Convert turns a decoded value into what the Parquet writer expects for t,
// applying the widening conversions (int→double, anything→string).
func Convert(v any, t *Type) any {
	if v == nil {
		return nil
	}
	switch t.Kind {
	case String:
		return ToString(v)
	case Double:
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		case cdc.Decimal:
			return x.Float64()
		}
	case Int:
		if x, ok := v.(int64); ok {
			if t.IntBits() <= 32 {
				return int32(x)
			}
			return x
		}
	case Decimal:
		if d, ok := toDecimal(v, t); ok {
			return d
		}
	case Bool, Binary:
		return v
	case Date:
		if d, ok := v.(cdc.Date); ok {
			return int32(d)
		}
	case Timestamp:
		switch x := v.(type) {
		case cdc.Timestamp:
			if t.UTC {
				return scaleTime(int64(x), t.Nanos)
			}
		case cdc.LocalTimestamp:
			if !t.UTC {
				return scaleTime(int64(x), t.Nanos)
			}
		case cdc.LocalTimestampNanos:
			if !t.UTC {
				return int64(x)
			}
		}
	case Time:
		switch x := v.(type) {
		case cdc.TimeOfDay:
			return scaleTime(int64(x), t.Nanos)
		case cdc.TimeOfDayNanos:
			return int64(x)
		}
	case List:
		if l, ok := v.([]any); ok {
			out := make([]any, len(l))
			for i, e := range l {
				out[i] = Convert(e, t.Elem)
			}
			return out
		}
	case Struct:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(t.Fields))
			for name, ft := range t.Fields {
				out[name] = Convert(m[name], ft)
			}
			return out
		}
	}
	return nil
}

// scaleTime converts microseconds to the column's unit.
func scaleTime(us int64, nanos bool) int64 {
	if nanos {
		return us * 1000
	}
	return us
}

// ToString renders a value as text (the widening fallback).
func ToString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Sprint(x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case cdc.Date:
		return time.Unix(int64(x)*86400, 0).UTC().Format("2006-01-02")
	case cdc.Timestamp:
		return x.Time().Format(time.RFC3339Nano)
	case cdc.LocalTimestamp:
		return x.Time().Format("2006-01-02T15:04:05.999999")
	case cdc.LocalTimestampNanos:
		return time.Unix(0, int64(x)).UTC().Format("2006-01-02T15:04:05.999999999")
	case cdc.TimeOfDay:
		return time.UnixMicro(int64(x)).UTC().Format("15:04:05.999999")
	case cdc.TimeOfDayNanos:
		return time.Unix(0, int64(x)).UTC().Format("15:04:05.999999999")
	case cdc.Decimal:
		return x.String()
	case []any, map[string]any:
		b, err := json.Marshal(jsonable(v))
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}

func jsonable(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = jsonable(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k := range x {
			out[k] = jsonable(x[k])
		}
		return out
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return ToString(x)
		}
		return x
	case cdc.Date, cdc.Timestamp, cdc.LocalTimestamp, cdc.LocalTimestampNanos, cdc.TimeOfDay, cdc.TimeOfDayNanos:
		return ToString(x)
	case cdc.Decimal:
		return json.Number(x.String())
	}
	return v
}

// Column is one top-level column in a manifest.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Schema is the set of top-level columns.
type Schema struct {
	Cols map[string]*Type
}

// NewSchema returns an empty schema.
func NewSchema() *Schema { return &Schema{Cols: map[string]*Type{}} }

// ObserveRow widens the schema with one row.
func (s *Schema) ObserveRow(row map[string]any) {
	for k, v := range row {
		s.Cols[k] = Observe(s.Cols[k], v)
	}
}

// Finalize finalizes every column.
func (s *Schema) Finalize() {
	for k, t := range s.Cols {
		s.Cols[k] = Finalize(t)
	}
}

// Columns lists the columns sorted by name.
func (s *Schema) Columns() []Column {
	names := make([]string, 0, len(s.Cols))
	for k := range s.Cols {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]Column, len(names))
	for i, n := range names {
		out[i] = Column{Name: n, Type: s.Cols[n].String()}
	}
	return out
}
