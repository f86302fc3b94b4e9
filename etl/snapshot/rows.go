package snapshot

import (
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/opsctl/opsctl/etl/cdc"
)

// rowBuilder turns decoded rows into parquet.Rows (Dremel repetition and
// definition levels) for the schema built by Type.Node, without reflection,
// so workers can do it in parallel and the writer only encodes.
//
// Every node is optional; a list is optional group (LIST) → repeated group
// "list" → optional element. Leaves are numbered depth-first in field-name
// order, as parquet.Group orders them.
type rowBuilder struct {
	cols  []colNode // top-level columns, sorted by name
	nLeaf int
}

type colNode struct {
	name string
	t    *Type
}

func newRowBuilder(s *Schema, skip string) *rowBuilder {
	b := &rowBuilder{}
	for _, c := range s.Columns() {
		if c.Name == skip {
			continue
		}
		t := s.Cols[c.Name]
		b.cols = append(b.cols, colNode{c.Name, t})
		b.nLeaf += leaves(t)
	}
	return b
}

func leaves(t *Type) int {
	switch t.Kind {
	case Struct:
		n := 0
		for _, f := range t.Fields {
			n += leaves(f)
		}
		return n
	case List:
		return leaves(t.Elem)
	}
	return 1
}

// build returns the row's values, stored in arena when it is not nil; per
// holds one value slice per leaf column (reused between calls).
func (b *rowBuilder) build(row map[string]any, per [][]parquet.Value, arena *RowArena) parquet.Row {
	for i := range per {
		per[i] = per[i][:0]
	}
	col := 0
	for _, c := range b.cols {
		emit(per, c.t, row[c.name], 0, 0, 0, col)
		col += leaves(c.t)
	}
	n := 0
	for _, p := range per {
		n += len(p)
	}
	var out parquet.Row
	if arena != nil {
		out = arena.alloc(n)
	} else {
		out = make(parquet.Row, n)
	}
	k := 0
	for _, p := range per {
		k += copy(out[k:], p)
	}
	return out
}

// RowArena stores prepared rows' values in large chunks, so that preparing
// a row does not allocate. It belongs to one goroutine; the rows it hands
// out stay valid while they are referenced.
type RowArena struct{ buf []parquet.Value }

func (a *RowArena) alloc(n int) parquet.Row {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]parquet.Value, 0, max(n, 8192))
	}
	i := len(a.buf)
	a.buf = a.buf[:i+n]
	return a.buf[i : i+n : i+n]
}

// emit appends the values of node t holding v. rep is the repetition level
// for the first value, def the definition level of the parent, repDepth the
// number of repeated ancestors, col the node's first leaf column.
func emit(per [][]parquet.Value, t *Type, v any, rep, def, repDepth, col int) {
	if v == nil {
		nullAll(per, t, rep, def, col)
		return
	}
	switch t.Kind {
	case Struct:
		m, ok := v.(map[string]any)
		if !ok {
			nullAll(per, t, rep, def, col)
			return
		}
		c := col
		for _, name := range t.FieldNames() {
			f := t.Fields[name]
			emit(per, f, m[name], rep, def+1, repDepth, c)
			c += leaves(f)
		}
	case List:
		l, ok := v.([]any)
		if !ok {
			nullAll(per, t, rep, def, col)
			return
		}
		if len(l) == 0 {
			nullAll(per, t.Elem, rep, def+1, col)
			return
		}
		for i, e := range l {
			r := rep
			if i > 0 {
				r = repDepth + 1
			}
			emit(per, t.Elem, e, r, def+2, repDepth+1, col)
		}
	default:
		cv := Convert(v, t)
		if cv == nil {
			nullAll(per, t, rep, def, col)
			return
		}
		per[col] = append(per[col], leafValue(t, cv).Level(rep, def+1, col))
	}
}

func nullAll(per [][]parquet.Value, t *Type, rep, def, col int) {
	n := leaves(t)
	for i := 0; i < n; i++ {
		per[col+i] = append(per[col+i], parquet.Value{}.Level(rep, def, col+i))
	}
}

func leafValue(t *Type, v any) parquet.Value {
	switch x := v.(type) {
	case bool:
		return parquet.BooleanValue(x)
	case int64:
		return parquet.Int64Value(x)
	case float64:
		return parquet.DoubleValue(x)
	case int32:
		return parquet.Int32Value(x)
	case string:
		return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(x), len(x)))
	case []byte:
		return parquet.ByteArrayValue(x)
	case cdc.Date:
		return parquet.Int32Value(int32(x))
	case decimalValue:
		switch {
		case x.wide != nil:
			return parquet.FixedLenByteArrayValue(x.wide)
		case t.Precision() <= 9:
			return parquet.Int32Value(int32(x.small))
		}
		return parquet.Int64Value(x.small)
	}
	return parquet.ByteArrayValue([]byte(ToString(v)))
}
