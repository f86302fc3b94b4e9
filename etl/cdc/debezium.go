package cdc

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Debezium decodes Debezium change events, bare ({"before","after","source",
// "op","ts_ms"}) or wrapped ({"schema":…,"payload":{…}}).
type Debezium struct {
	// KeyCols names the primary-key columns, read from "after" (or "before"
	// for deletes).
	KeyCols []string

	schemas sync.Map // raw schema JSON → map[string]*fieldSchema (parsed once)
	decl    sync.Map // raw schema JSON → *declaredCols
}

// Format implements Decoder.
func (d *Debezium) Format() string { return "debezium" }

// Decode implements Decoder.
func (d *Debezium) Decode(rec []byte, c *Change) error {
	n, err := d.DecodePrefix(rec, c)
	if err != nil {
		return err
	}
	if skipWS(rec, n) != len(rec) {
		return syntaxErr(rec, n, "data after the record")
	}
	return nil
}

// DecodePrefix implements Decoder.
func (d *Debezium) DecodePrefix(rec []byte, c *Change) (int, error) {
	if i := skipWS(rec, 0); i < len(rec) && rec[i] == 'n' {
		// A bare tombstone: the record is JSON null.
		end, err := lit(rec, i, "null")
		if err != nil {
			return 0, err
		}
		return end, errSkip(SkipTombstone)
	}
	var schema, payload []byte
	var env envelope
	hasPayload := false
	var it objIter
	if err := it.open(rec, 0); err != nil {
		return 0, err
	}
	for {
		key, vs, done, err := it.next()
		if err != nil {
			return 0, err
		}
		if done {
			break
		}
		ve, err := env.skipMember(rec, key, vs)
		if err != nil {
			return 0, err
		}
		switch string(key) {
		case "schema":
			if schema != nil {
				return 0, errDuplicate(key)
			}
			schema = rec[vs:ve]
		case "payload":
			if hasPayload {
				return 0, errDuplicate(key)
			}
			hasPayload = true
			payload = rec[vs:ve]
		default:
			env.member(key, rec[vs:ve])
		}
		it.i = ve
	}
	end := it.i
	if env.dup != nil {
		return end, errDuplicate(env.dup)
	}
	if hasPayload {
		if string(payload) == "null" {
			return end, errSkip(SkipTombstone)
		}
		env = envelope{}
		var pit objIter
		if err := pit.open(payload, 0); err != nil {
			return end, err
		}
		for {
			key, vs, done, err := pit.next()
			if err != nil {
				return end, err
			}
			if done {
				break
			}
			ve, err := env.skipMember(payload, key, vs)
			if err != nil {
				return end, err
			}
			env.member(key, payload[vs:ve])
			pit.i = ve
		}
		if env.dup != nil {
			return end, errDuplicate(env.dup)
		}
	}
	if len(env.op) == 0 {
		if k := env.nonChange(schema); k != SkipOther {
			return end, errSkip(k)
		}
		return end, fmt.Errorf("%w: no \"op\" member (is this a Debezium change event?)", ErrMismatch)
	}
	if string(env.op) == `"m"` {
		return end, errSkip(SkipMessage)
	}
	*c = Change{Key: c.Key[:0]}
	if len(schema) > 0 && string(schema) != "null" {
		c.Schema = schema
	}
	switch string(env.op) {
	case `"c"`, `"r"`, `"u"`:
		c.Op = OpUpsert
		if len(env.after) == 0 || env.after[0] != '{' {
			return end, fmt.Errorf("op %s without an \"after\" row", env.op)
		}
		c.Image = env.after
	case `"d"`:
		c.Op = OpDelete
	case `"t"`:
		c.Op = OpTruncate
	default:
		return end, fmt.Errorf("unsupported op %s", env.op)
	}
	var err error
	if c.Pos, err = env.position(); err != nil {
		return end, err
	}
	if c.Op == OpTruncate {
		return end, nil
	}
	row := env.after
	if c.Op == OpDelete {
		row = env.before
	}
	if len(row) == 0 || row[0] != '{' {
		if c.Op == OpDelete {
			return end, fmt.Errorf("%w: delete without a \"before\" row (REPLICA IDENTITY must include the key)", ErrNoKey)
		}
		return end, fmt.Errorf("%w: no row", ErrNoKey)
	}
	c.Key, err = d.encodeKey(c.Key, row)
	return end, err
}

type envelope struct {
	op, before, after, source, tsMs []byte
	// members of the records without "op" that share a change stream
	status, ddl, tableChanges, databaseName []byte
	members                                 int
	dup                                     []byte // a member that appeared twice: a bad record
	// source's members, read while skipping it (srcWalked)
	lsn, file, pos, row, srcTs []byte
	srcWalked                  bool
}

// skipMember returns the end of the member value at b[vs]. A "source" object
// is walked once, collecting what position needs, instead of being skipped
// and then walked again.
func (e *envelope) skipMember(b, key []byte, vs int) (int, error) {
	if string(key) != "source" || vs >= len(b) || b[vs] != '{' {
		return skipValue(b, vs)
	}
	e.lsn, e.file, e.pos, e.row, e.srcTs, e.srcWalked = nil, nil, nil, nil, nil, true
	if end, ok := walkFlat(b, vs, e.sourceMember); ok {
		return end, nil // the usual case: a third of envelope decoding was this walk
	}
	e.lsn, e.file, e.pos, e.row, e.srcTs = nil, nil, nil, nil, nil
	var it objIter
	if err := it.open(b, vs); err != nil {
		return 0, err
	}
	for {
		k, ms, done, err := it.next()
		if err != nil {
			return 0, err
		}
		if done {
			return it.i, nil
		}
		me, err := skipValue(b, ms)
		if err != nil {
			return 0, err
		}
		e.sourceMember(k, b[ms:me])
		it.i = me
	}
}

func (e *envelope) sourceMember(k, v []byte) {
	var dst *[]byte
	switch string(k) {
	case "lsn":
		dst = &e.lsn
	case "file":
		dst = &e.file
	case "pos":
		dst = &e.pos
	case "row":
		dst = &e.row
	case "ts_ms":
		dst = &e.srcTs
	default:
		return
	}
	e.set(dst, k, v)
}

// set stores a member's value, noting a duplicate (never last-one-wins).
func (e *envelope) set(dst *[]byte, k, v []byte) {
	if *dst != nil && e.dup == nil {
		e.dup = k
	}
	*dst = v
}

// nonChange recognises the records Debezium puts on a change stream that
// are not row changes (Debezium reference: "schema change topic",
// "transaction metadata", heartbeat.interval.ms): a schema change event
// (databaseName, ddl, tableChanges), transaction metadata (status BEGIN or
// END with id), a heartbeat (only ts_ms; wrapped, its schema is named
// io.debezium.connector.common.Heartbeat).
func (e *envelope) nonChange(schema []byte) SkipKind {
	switch {
	case (string(e.status) == `"BEGIN"` || string(e.status) == `"END"`):
		return SkipTransaction
	case len(e.ddl) > 0 || len(e.tableChanges) > 0 || len(e.databaseName) > 0:
		return SkipSchemaChange
	case len(e.tsMs) > 0 && e.members == 1, bytes.Contains(schema, []byte(`"io.debezium.connector.common.Heartbeat"`)):
		return SkipHeartbeat
	}
	return SkipOther
}

func (e *envelope) member(key, v []byte) {
	e.members++
	var dst *[]byte
	switch string(key) {
	case "status":
		dst = &e.status
	case "ddl":
		dst = &e.ddl
	case "tableChanges":
		dst = &e.tableChanges
	case "databaseName":
		dst = &e.databaseName
	case "op":
		dst = &e.op
	case "before":
		dst = &e.before
	case "after":
		dst = &e.after
	case "source":
		dst = &e.source
	case "ts_ms":
		dst = &e.tsMs
	default:
		return
	}
	e.set(dst, key, v)
}

// position: Postgres {lsn,0,0,ts_ms}; MySQL {binlog file number, pos, row,
// ts_ms}; otherwise {0,0,0,ts_ms}. ts_ms is the envelope's, else source.ts_ms.
func (e *envelope) position() (Position, error) {
	var p Position
	if !e.srcWalked && len(e.source) > 0 && e.source[0] == '{' {
		if _, err := e.skipMember(e.source, []byte("source"), 0); err != nil {
			return p, err
		}
	}
	lsn, file, pos, row, srcTs := e.lsn, e.file, e.pos, e.row, e.srcTs
	num := func(v []byte, what string) (int64, error) {
		if len(v) == 0 || string(v) == "null" {
			return 0, nil
		}
		if n, ok := parseInt64(v); ok {
			return n, nil
		}
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad %s %s", what, v)
		}
		return n, nil
	}
	var err error
	switch {
	case len(lsn) > 0 && string(lsn) != "null":
		if p[0], err = num(lsn, "source.lsn"); err != nil {
			return p, err
		}
	case len(file) > 0 && string(file) != "null":
		name, err := unquote(file)
		if err != nil {
			return p, err
		}
		// mysql-bin.000042 → 42: binlog files are numbered in order.
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			p[0], _ = strconv.ParseInt(name[i+1:], 10, 64)
		}
		if p[1], err = num(pos, "source.pos"); err != nil {
			return p, err
		}
		if p[2], err = num(row, "source.row"); err != nil {
			return p, err
		}
	}
	ts := e.tsMs
	if len(ts) == 0 || string(ts) == "null" {
		ts = srcTs
	}
	if p[3], err = num(ts, "ts_ms"); err != nil {
		return p, err
	}
	return p, nil
}

func (d *Debezium) encodeKey(dst []byte, row []byte) ([]byte, error) {
	var valsBuf [4][]byte
	vals := valsBuf[:0]
	if len(d.KeyCols) > len(valsBuf) {
		vals = make([][]byte, 0, len(d.KeyCols))
	}
	vals = vals[:len(d.KeyCols)]
	found := 0
	var it objIter
	if err := it.open(row, 0); err != nil {
		return dst, err
	}
	for {
		k, vs, done, err := it.next()
		if err != nil {
			return dst, err
		}
		if done {
			break
		}
		ve, err := skipValue(row, vs)
		if err != nil {
			return dst, err
		}
		for i, col := range d.KeyCols {
			if vals[i] == nil && string(k) == col {
				vals[i] = row[vs:ve]
				found++
			}
		}
		if found == len(vals) {
			break // key columns usually come first: skip the rest of the row
		}
		it.i = ve
	}
	for i, v := range vals {
		if len(v) == 0 || string(v) == "null" {
			return dst, fmt.Errorf("%w: key column %q is missing or null", ErrNoKey, d.KeyCols[i])
		}
		switch c := v[0]; {
		case c == '"':
			if raw, ok := plainString(v); ok {
				dst = AppendKeyString(dst, raw)
				continue
			}
			s, err := unquote(v)
			if err != nil {
				return dst, err
			}
			dst = AppendKeyString(dst, []byte(s))
		case c == 't' || c == 'f':
			dst = AppendKeyBool(dst, c == 't')
		case c == '-' || (c >= '0' && c <= '9'):
			var err error
			if dst, err = AppendKeyNumber(dst, string(v)); err != nil {
				return dst, err
			}
		default:
			// Composite values as keys: their raw JSON text.
			dst = AppendKeyString(dst, v)
		}
	}
	return dst, nil
}

// Timestamp is a UTC instant in microseconds since the epoch.
type Timestamp int64

// Time returns t as a time.Time.
func (t Timestamp) Time() time.Time { return time.UnixMicro(int64(t)).UTC() }

// Date is a calendar date in days since 1970-01-01.
type Date int32

// DecodeImage implements Decoder. Without a schema, JSON types map directly
// (numbers: int64 when integral and in range, else float64). With the
// wrapper's schema, Connect types and Debezium logical types decide.
func (d *Debezium) DecodeImage(image, schema []byte) (map[string]any, error) {
	return decodeToNewRow(d, image, schema)
}

// DecodeImageInto implements Decoder.
func (d *Debezium) DecodeImageInto(image, schema []byte, row map[string]any) error {
	clear(row)
	var fields map[string]*fieldSchema
	if len(schema) > 0 {
		if v, ok := d.schemas.Load(string(schema)); ok {
			fields = v.(map[string]*fieldSchema)
		} else {
			var err error
			if fields, err = afterSchema(schema); err != nil {
				return fmt.Errorf("schema: %w", err)
			}
			d.schemas.Store(string(schema), fields)
		}
	}
	var it objIter
	if err := it.open(image, 0); err != nil {
		return err
	}
	for {
		k, vs, done, err := it.next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		ve, err := skipValue(image, vs)
		if err != nil {
			return err
		}
		name, err := rowKey(k)
		if err != nil {
			return err
		}
		v := image[vs:ve]
		var val any
		switch {
		case fields == nil && len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
			val, err = jsonNumber(v) // the common case, without the generic tree
		case fields == nil && len(v) > 0 && v[0] == '"':
			val, err = unquoteAlias(v)
		default:
			var raw any
			if raw, err = parseAny(v); err == nil {
				val, err = convertJSON(raw, fields[name])
			}
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", name, err)
		}
		n := len(row)
		if row[name] = val; len(row) == n {
			return fmt.Errorf("column %s appears twice", name)
		}
		it.i = ve
	}
}

type fieldSchema struct {
	Type   string
	Name   string
	Params map[string]string
	Fields map[string]*fieldSchema
	Items  *fieldSchema
}

func buildFieldSchema(m map[string]any) *fieldSchema {
	f := &fieldSchema{}
	f.Type, _ = m["type"].(string)
	f.Name, _ = m["name"].(string)
	if p, ok := m["parameters"].(map[string]any); ok {
		f.Params = map[string]string{}
		for k, v := range p {
			if s, ok := v.(string); ok {
				f.Params[k] = s
			}
		}
	}
	if fs, ok := m["fields"].([]any); ok {
		f.Fields = map[string]*fieldSchema{}
		for _, x := range fs {
			if fm, ok := x.(map[string]any); ok {
				name, _ := fm["field"].(string)
				f.Fields[name] = buildFieldSchema(fm)
			}
		}
	}
	if it, ok := m["items"].(map[string]any); ok {
		f.Items = buildFieldSchema(it)
	}
	return f
}

// afterSchema returns the column schemas of the envelope's "after" struct.
func afterSchema(schema []byte) (map[string]*fieldSchema, error) {
	v, err := parseAny(schema)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	top := buildFieldSchema(m)
	for _, name := range []string{"after", "before"} {
		if f := top.Fields[name]; f != nil && f.Fields != nil {
			return f.Fields, nil
		}
	}
	return nil, nil
}

func convertJSON(v any, f *fieldSchema) (any, error) {
	if v == nil {
		return nil, nil
	}
	if f == nil {
		switch x := v.(type) {
		case Number:
			return NumberValue(string(x)), nil
		case []any:
			for i := range x {
				x[i], _ = convertJSON(x[i], nil)
			}
			return x, nil
		case map[string]any:
			for k := range x {
				x[k], _ = convertJSON(x[k], nil)
			}
			return x, nil
		}
		return v, nil
	}
	switch f.Name {
	case "org.apache.kafka.connect.data.Decimal":
		// bytes (decimal.handling.mode=precise): the unscaled value
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("Decimal: want base64 bytes, got %T", v)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("Decimal: %w", err)
		}
		scale, _ := strconv.Atoi(f.Params["scale"])
		return decimalFromBytes(raw, scale), nil
	case "io.debezium.data.VariableScaleDecimal":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("VariableScaleDecimal: want {scale, value}, got %T", v)
		}
		sc, _ := m["scale"].(Number)
		scale, err := strconv.Atoi(string(sc))
		if err != nil || scale < 0 || scale > MaxDecimalDigits {
			return nil, fmt.Errorf("VariableScaleDecimal: bad scale %q", sc)
		}
		s, _ := m["value"].(string)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("VariableScaleDecimal: %w", err)
		}
		return decimalFromBytes(raw, scale), nil
	}
	if conv := timeConverters[f.Name]; conv != nil {
		return conv(v)
	}
	switch x := v.(type) {
	case Number:
		switch f.Type {
		case "float32", "float64", "double", "float":
			fv, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				return nil, err
			}
			return fv, nil
		}
		return NumberValue(string(x)), nil
	case string:
		if f.Type == "bytes" {
			if b, err := base64.StdEncoding.DecodeString(x); err == nil {
				return b, nil
			}
		}
		return x, nil
	case []any:
		for i := range x {
			x[i], _ = convertJSON(x[i], f.Items)
		}
		return x, nil
	case map[string]any:
		for k := range x {
			x[k], _ = convertJSON(x[k], f.Fields[k])
		}
		return x, nil
	}
	return v, nil
}

// decimalFromBytes converts a Connect Decimal (big-endian two's complement
// unscaled value) to an exact Decimal.
func decimalFromBytes(raw []byte, scale int) Decimal {
	if len(raw) <= 8 {
		var u int64
		for _, b := range raw {
			u = u<<8 | int64(b)
		}
		if len(raw) > 0 && len(raw) < 8 && raw[0]&0x80 != 0 {
			u -= 1 << (8 * len(raw))
		}
		return Decimal{Unscaled: u, Scale: int32(scale)}
	}
	n := new(big.Int).SetBytes(raw)
	if raw[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(raw))))
	}
	if n.IsInt64() {
		return Decimal{Unscaled: n.Int64(), Scale: int32(scale)}
	}
	return Decimal{Big: n, Scale: int32(scale)}
}

// timeConverters turn Debezium's temporal values into typed values (see
// README, "Debezium types"; Debezium reference, Postgres and MySQL
// connectors, "Temporal types").
var timeConverters = map[string]func(v any) (any, error){
	"io.debezium.time.Date":                   intConv(func(n int64) any { return Date(n) }),
	"org.apache.kafka.connect.data.Date":      intConv(func(n int64) any { return Date(n) }),
	"io.debezium.time.Timestamp":              intConv(func(n int64) any { return LocalTimestamp(n * 1000) }),
	"org.apache.kafka.connect.data.Timestamp": intConv(func(n int64) any { return LocalTimestamp(n * 1000) }),
	"io.debezium.time.MicroTimestamp":         intConv(func(n int64) any { return LocalTimestamp(n) }),
	"io.debezium.time.NanoTimestamp":          intConv(func(n int64) any { return LocalTimestampNanos(n) }),
	"io.debezium.time.Time":                   intConv(func(n int64) any { return TimeOfDay(n * 1000) }),
	"org.apache.kafka.connect.data.Time":      intConv(func(n int64) any { return TimeOfDay(n * 1000) }),
	"io.debezium.time.MicroTime":              intConv(func(n int64) any { return TimeOfDay(n) }),
	"io.debezium.time.NanoTime":               intConv(func(n int64) any { return TimeOfDayNanos(n) }),
	"io.debezium.time.ZonedTimestamp": func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("ZonedTimestamp: want a string, got %T", v)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("ZonedTimestamp: %w", err)
		}
		return Timestamp(t.UnixMicro()), nil
	},
}

func intConv(f func(int64) any) func(v any) (any, error) {
	return func(v any) (any, error) {
		n, ok := v.(Number)
		if !ok {
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer: %w", err)
		}
		return f(i), nil
	}
}

// SchemaColumns returns the column types the schema wrapper of an envelope
// declares for its "after" (or "before") row, without any row: an emptied
// table is still published with its columns.
func (d *Debezium) SchemaColumns(schema []byte) (map[string]*Type, error) {
	decl, err := d.declared(schema)
	if err != nil {
		return nil, err
	}
	cols := make(map[string]*Type, len(decl.cols))
	for k, t := range decl.cols {
		cols[k] = clone(t)
	}
	return cols, nil
}

// declaredType maps a Connect schema (type and logical name) to a column
// type; see the mapping table in README ("Debezium types").
func declaredType(f *fieldSchema, depth int) *Type {
	if f == nil {
		return &Type{Kind: KindNull}
	}
	switch f.Name {
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date":
		return &Type{Kind: KindDate}
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp", "io.debezium.time.MicroTimestamp":
		return &Type{Kind: KindTimestamp}
	case "io.debezium.time.NanoTimestamp":
		return &Type{Kind: KindTimestamp, Nanos: true}
	case "io.debezium.time.ZonedTimestamp":
		return &Type{Kind: KindTimestamp, UTC: true}
	case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time", "io.debezium.time.MicroTime":
		return &Type{Kind: KindTime}
	case "io.debezium.time.NanoTime":
		return &Type{Kind: KindTime, Nanos: true}
	case "org.apache.kafka.connect.data.Decimal":
		scale, err := strconv.Atoi(f.Params["scale"])
		if err != nil || scale < 0 || scale > MaxDecimalDigits {
			return &Type{Kind: KindString}
		}
		prec, _ := strconv.Atoi(f.Params["connect.decimal.precision"])
		if prec > MaxDecimalDigits || (prec > 0 && prec < scale) {
			return &Type{Kind: KindString}
		}
		if prec <= 0 { // no declared precision: DECIMAL(38, scale) while values fit
			return &Type{Kind: KindDecimal, Scale: uint8(scale)}
		}
		return &Type{Kind: KindDecimal, Prec: uint8(prec), Scale: uint8(scale)}
	case "io.debezium.data.VariableScaleDecimal":
		if depth > 0 {
			return &Type{Kind: KindString} // nested: observed per value only at the top level
		}
		return &Type{Kind: KindDecimal} // widened by each value's scale (InferImage)
	}
	if depth >= MaxTypeDepth {
		return &Type{Kind: KindString}
	}
	switch f.Type {
	case "int8":
		return &Type{Kind: KindInt, Bits: 8}
	case "int16":
		return &Type{Kind: KindInt, Bits: 16}
	case "int32":
		return &Type{Kind: KindInt, Bits: 32}
	case "int64":
		return &Type{Kind: KindInt}
	case "float32", "float64", "float", "double":
		return &Type{Kind: KindDouble}
	case "boolean":
		return &Type{Kind: KindBool}
	case "bytes":
		return &Type{Kind: KindBinary}
	case "array":
		return &Type{Kind: KindList, Elem: declaredType(f.Items, depth+1)}
	case "struct":
		t := &Type{Kind: KindStruct, Fields: map[string]*Type{}}
		for name, ff := range f.Fields {
			t.Fields[name] = declaredType(ff, depth+1)
		}
		if len(t.Fields) == 0 {
			return &Type{Kind: KindString}
		}
		return t
	}
	return &Type{Kind: KindString}
}
