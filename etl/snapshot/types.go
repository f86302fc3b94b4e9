// Package snapshot infers the table schema of the winning rows (with
// widening), writes them as zstd Parquet (sorted by key, ~128 MiB row groups,
// optional hive partitions) and publishes versioned snapshots atomically
// (version folder + manifest, then a small "current" pointer), with a lock
// and pruning.
package snapshot

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
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
)

// Observe widens t so that it can hold v (RULES.md "Widening") and returns it.
func Observe(t *Type, v any) *Type { return cdc.Observe(t, v) }

// Merge widens a with b (used to widen schemas).
func Merge(a, b *Type) *Type {
	if b == nil || b.Kind == Null {
		return a
	}
	if a == nil || a.Kind == Null {
		return clone(b)
	}
	switch {
	case a.Kind == b.Kind:
	case a.Kind == Int && b.Kind == Double, a.Kind == Double && b.Kind == Int:
		return &Type{Kind: Double}
	default:
		return &Type{Kind: String}
	}
	switch a.Kind {
	case List:
		a.Elem = Merge(a.Elem, b.Elem)
	case Struct:
		for name, ft := range b.Fields {
			a.Fields[name] = Merge(a.Fields[name], ft)
		}
	}
	return a
}

func clone(t *Type) *Type {
	c := &Type{Kind: t.Kind}
	if t.Elem != nil {
		c.Elem = clone(t.Elem)
	}
	if t.Fields != nil {
		c.Fields = map[string]*Type{}
		for k, v := range t.Fields {
			c.Fields[k] = clone(v)
		}
	}
	return c
}

// Finalize replaces what Parquet cannot store: a null-only type becomes
// string, a struct without fields becomes string (JSON text).
func Finalize(t *Type) *Type {
	if t == nil || t.Kind == Null {
		return &Type{Kind: String}
	}
	switch t.Kind {
	case List:
		t.Elem = Finalize(t.Elem)
	case Struct:
		if len(t.Fields) == 0 {
			return &Type{Kind: String}
		}
		for k, f := range t.Fields {
			t.Fields[k] = Finalize(f)
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
		n = parquet.Int(64)
	case Double:
		n = parquet.Leaf(parquet.DoubleType)
	case Binary:
		n = parquet.Leaf(parquet.ByteArrayType)
	case Date:
		n = parquet.Date()
	case Timestamp:
		n = parquet.Timestamp(parquet.Microsecond)
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
		}
	case Int, Bool, Binary:
		return v
	case Date:
		if d, ok := v.(cdc.Date); ok {
			return int32(d)
		}
	case Timestamp:
		if ts, ok := v.(cdc.Timestamp); ok {
			return int64(ts)
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
	case cdc.Date, cdc.Timestamp:
		return ToString(x)
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
