package cdc

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// DynamoDB decodes Kinesis Data Streams for DynamoDB records:
//
//	{"eventID":"…","eventName":"INSERT|MODIFY|REMOVE","dynamodb":{
//	  "ApproximateCreationDateTime":1700000000123,
//	  "ApproximateCreationDateTimePrecision":"MILLISECOND|MICROSECOND",
//	  "Keys":{…},"NewImage":{…},"OldImage":{…}}, …}
type DynamoDB struct {
	// KeyAttrs optionally restricts and orders the key attributes; by
	// default every attribute of dynamodb.Keys, ordered by name.
	KeyAttrs []string

	keyNames atomic.Pointer[[]string] // the names of the first Keys decoded (KeyColumns)
}

// Format implements Decoder.
func (d *DynamoDB) Format() string { return "dynamodb" }

type keyPart struct {
	name []byte
	typ  byte // 'S', 'N', 'B'
	val  []byte
}

// Decode implements Decoder.
func (d *DynamoDB) Decode(rec []byte, c *Change) error {
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
func (d *DynamoDB) DecodePrefix(rec []byte, c *Change) (int, error) {
	var (
		eventID, eventName, keys, image, ts, precision, oldImage []byte
		hasDynamo                                                bool
		top, inner                                               objIter
	)
	if err := top.open(rec, 0); err != nil {
		return 0, err
	}
	for {
		key, vs, done, err := top.next()
		if err != nil {
			return 0, err
		}
		if done {
			break
		}
		var ve int
		switch string(key) {
		case "dynamodb":
			if hasDynamo {
				return 0, errDuplicate(key)
			}
			hasDynamo = true
			if err := inner.open(rec, vs); err != nil {
				return 0, err
			}
			for {
				k2, vs2, done2, err := inner.next()
				if err != nil {
					return 0, err
				}
				if done2 {
					break
				}
				ve2, err := skipValue(rec, vs2)
				if err != nil {
					return 0, err
				}
				var dst *[]byte
				switch string(k2) {
				case "ApproximateCreationDateTime":
					dst = &ts
				case "ApproximateCreationDateTimePrecision":
					dst = &precision
				case "Keys":
					dst = &keys
				case "NewImage":
					dst = &image
				case "OldImage":
					dst = &oldImage
				}
				if dst != nil {
					if *dst != nil {
						return 0, errDuplicate(k2) // never last-one-wins
					}
					*dst = rec[vs2:ve2]
				}
				inner.i = ve2
			}
			ve = inner.i
		default:
			ve, err = skipValue(rec, vs)
			if err != nil {
				return 0, err
			}
			var dst *[]byte
			switch string(key) {
			case "eventID":
				dst = &eventID
			case "eventName":
				dst = &eventName
			}
			if dst != nil {
				if *dst != nil {
					return 0, errDuplicate(key)
				}
				*dst = rec[vs:ve]
			}
		}
		top.i = ve
	}
	end := top.i
	if !hasDynamo {
		return end, fmt.Errorf("%w: no \"dynamodb\" member (is this a DynamoDB stream record?)", ErrMismatch)
	}
	*c = Change{Key: c.Key[:0]}
	switch string(eventName) {
	case `"INSERT"`, `"MODIFY"`:
		c.Op = OpUpsert
		if len(image) == 0 || image[0] != '{' {
			return end, fmt.Errorf("%s record without NewImage (the stream view type must include new images)", eventName)
		}
		c.Image = image
	case `"REMOVE"`:
		c.Op = OpDelete
	case "":
		return end, fmt.Errorf("%w: no eventName", ErrMismatch)
	default:
		return end, fmt.Errorf("unknown eventName %s", eventName)
	}
	if len(eventID) >= 2 && eventID[0] == '"' {
		c.EventID = eventIDBytes(eventID[1 : len(eventID)-1])
		c.HasEventID = true
	}
	if len(ts) == 0 {
		return end, fmt.Errorf("no dynamodb.ApproximateCreationDateTime")
	}
	us, err := creationMicros(ts, precision)
	if err != nil {
		return end, err
	}
	c.Pos = Position{us}
	if len(keys) == 0 || keys[0] != '{' {
		return end, fmt.Errorf("%w: no dynamodb.Keys", ErrNoKey)
	}
	c.Key, err = d.encodeKey(c.Key, keys)
	return end, err
}

// creationMicros converts ApproximateCreationDateTime to epoch microseconds.
// The value is in milliseconds, or in microseconds when the precision says
// MICROSECOND (recognised by magnitude, so a millisecond value labelled
// MICROSECOND is still read right). It must be a non-negative integer whose
// microseconds fit int64: negative, fractional, exponent or overflowing
// values make the record bad.
func creationMicros(ts, precision []byte) (int64, error) {
	v, ok := parseInt64(ts)
	if !ok || v < 0 {
		return 0, fmt.Errorf("bad ApproximateCreationDateTime %s: want a non-negative integer (epoch milliseconds or microseconds)", ts)
	}
	if string(precision) == `"MICROSECOND"` && v > 1e14 {
		return v, nil
	}
	if v > math.MaxInt64/1000 {
		return 0, fmt.Errorf("bad ApproximateCreationDateTime %s: out of range", ts)
	}
	return v * 1000, nil
}

func (d *DynamoDB) encodeKey(dst []byte, keys []byte) ([]byte, error) {
	var partsBuf [4]keyPart
	parts := partsBuf[:0]
	var it, av objIter
	if err := it.open(keys, 0); err != nil {
		return dst, err
	}
	for {
		name, vs, done, err := it.next()
		if err != nil {
			return dst, err
		}
		if done {
			break
		}
		for _, q := range parts {
			if string(q.name) == string(name) {
				return dst, fmt.Errorf("key attribute %s appears twice", name)
			}
		}
		p := keyPart{name: name}
		if err := av.open(keys, vs); err != nil {
			return dst, err
		}
		for {
			t, vs2, done2, err := av.next()
			if err != nil {
				return dst, err
			}
			if done2 {
				break
			}
			ve2, err := skipValue(keys, vs2)
			if err != nil {
				return dst, err
			}
			if p.typ != 0 {
				return dst, fmt.Errorf("key attribute %s has more than one type", name)
			}
			if len(t) != 1 || (t[0] != 'S' && t[0] != 'N' && t[0] != 'B') {
				return dst, fmt.Errorf("key attribute %s: type %s is not S, N or B", name, t)
			}
			p.typ, p.val = t[0], keys[vs2:ve2]
			av.i = ve2
		}
		it.i = av.i
		if p.typ == 0 {
			return dst, fmt.Errorf("%w: key attribute %s has no value", ErrNoKey, name)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return dst, fmt.Errorf("%w: dynamodb.Keys is empty", ErrNoKey)
	}
	if len(d.KeyAttrs) > 0 {
		sel := make([]keyPart, 0, len(d.KeyAttrs))
		for _, k := range d.KeyAttrs {
			found := false
			for _, p := range parts {
				if string(p.name) == k {
					sel = append(sel, p)
					found = true
					break
				}
			}
			if !found {
				return dst, fmt.Errorf("%w: dynamodb.Keys has no attribute %q", ErrNoKey, k)
			}
		}
		parts = sel
	} else {
		// insertion sort by name (hash + range: at most a few parts; no
		// closure, so the parts stay on the stack)
		for i := 1; i < len(parts); i++ {
			for j := i; j > 0 && string(parts[j].name) < string(parts[j-1].name); j-- {
				parts[j], parts[j-1] = parts[j-1], parts[j]
			}
		}
	}
	if len(d.KeyAttrs) == 0 && d.keyNames.Load() == nil {
		names := make([]string, len(parts))
		for i, p := range parts {
			names[i] = string(p.name)
		}
		d.keyNames.Store(&names)
	}
	for _, p := range parts {
		switch p.typ {
		case 'S':
			if raw, ok := plainString(p.val); ok {
				dst = AppendKeyString(dst, raw)
				continue
			}
			s, err := unquote(p.val)
			if err != nil {
				return dst, err
			}
			dst = AppendKeyString(dst, []byte(s))
		case 'N':
			s, err := unquote(p.val)
			if err != nil {
				return dst, err
			}
			if dst, err = AppendKeyNumber(dst, s); err != nil {
				return dst, err
			}
		case 'B':
			s, err := unquote(p.val)
			if err != nil {
				return dst, err
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return dst, fmt.Errorf("key attribute %s: bad base64: %w", p.name, err)
			}
			dst = AppendKeyBinary(dst, b)
		}
	}
	return dst, nil
}

// DecodeImage implements Decoder: DynamoDB attribute values to Go values.
func (d *DynamoDB) DecodeImage(image, schema []byte) (map[string]any, error) {
	return decodeToNewRow(d, image, schema)
}

// decodeToNewRow is DecodeImage in terms of DecodeImageInto.
func decodeToNewRow(d Decoder, image, schema []byte) (map[string]any, error) {
	row := make(map[string]any, 16)
	if err := d.DecodeImageInto(image, schema, row); err != nil {
		return nil, err
	}
	return row, nil
}

// DecodeImageInto implements Decoder.
func (d *DynamoDB) DecodeImageInto(image, _ []byte, row map[string]any) error {
	clear(row)
	_, err := decodeAVMapInto(image, 0, row, 0)
	return err
}

func decodeAVMap(b []byte, size int) (map[string]any, error) {
	m, _, err := decodeAVMapAt(b, 0, size, 0)
	return m, err
}

// decodeAVMapAt decodes the attribute map starting at b[i] into a new map
// and returns the index after it.
func decodeAVMapAt(b []byte, i, size, depth int) (map[string]any, int, error) {
	row := make(map[string]any, size)
	end, err := decodeAVMapInto(b, i, row, depth)
	if err != nil {
		return nil, 0, err
	}
	return row, end, nil
}

// decodeAVMapInto decodes the attribute map starting at b[i] into row and
// returns the index after it. Values are parsed in place, not skipped first
// and parsed again (which cost a fifth of DecodeImage, more with nesting).
func decodeAVMapInto(b []byte, i int, row map[string]any, depth int) (int, error) {
	if depth > MaxValueDepth {
		return 0, errTooDeep
	}
	var it objIter
	if err := it.open(b, i); err != nil {
		return 0, err
	}
	for {
		k, vs, done, err := it.next()
		if err != nil {
			return 0, err
		}
		if done {
			return it.i, nil
		}
		name, err := rowKey(k)
		if err != nil {
			return 0, err
		}
		v, ve, err := decodeAVAt(b, vs, depth)
		if err != nil {
			return 0, fmt.Errorf("attribute %s: %w", name, err)
		}
		n := len(row)
		if row[name] = v; len(row) == n {
			return 0, fmt.Errorf("attribute %s appears twice", name)
		}
		it.i = ve
	}
}

func quoted(k []byte) []byte {
	b := make([]byte, 0, len(k)+2)
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"')
}

// decodeAV decodes one attribute value: S→string, N→int64 (exact) or
// float64, BOOL→bool, NULL→nil, B→[]byte, M→map, L→[]any, SS/NS/BS→[]any.
func decodeAV(av []byte) (any, error) {
	v, _, err := decodeAVAt(av, 0, 0)
	return v, err
}

// decodeAVAt decodes the attribute value object starting at b[i] and returns
// the index after it.
func decodeAVAt(b []byte, i, depth int) (any, int, error) {
	var it objIter
	if err := it.open(b, i); err != nil {
		return nil, 0, err
	}
	t, vs, done, err := it.next()
	if err != nil {
		return nil, 0, err
	}
	if done {
		return nil, 0, fmt.Errorf("empty attribute value")
	}
	var val any
	var ve int
	if string(t) == "M" {
		val, ve, err = decodeAVMapAt(b, vs, 4, depth+1)
	} else if ve, err = skipValue(b, vs); err == nil {
		val, err = avValue(t, b[vs:ve], depth)
	}
	if err != nil {
		return nil, 0, err
	}
	it.i = ve
	if _, _, done, err := it.next(); err != nil {
		return nil, 0, err
	} else if !done {
		return nil, 0, fmt.Errorf("attribute value with more than one type")
	}
	return val, it.i, nil
}

// avValue decodes the value v of an attribute of type t (other than M).
func avValue(t, v []byte, depth int) (any, error) {
	switch string(t) {
	case "S":
		return unquoteAlias(v)
	case "N":
		s, err := unquoteAlias(v)
		if err != nil {
			return nil, err
		}
		n, _, err := parseDynamoNumber(s)
		return n, err
	case "BOOL":
		switch string(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("BOOL %s", v)
	case "NULL":
		return nil, nil
	case "B":
		s, err := unquote(v)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(s)
	case "L":
		if depth >= MaxValueDepth {
			return nil, errTooDeep
		}
		l := []any{}
		err := elements(v, func(e []byte) error {
			x, _, err := decodeAVAt(e, 0, depth+1)
			l = append(l, x)
			return err
		})
		return l, err
	case "SS", "NS", "BS":
		l := []any{}
		err := elements(v, func(e []byte) error {
			s, err := unquote(e)
			if err != nil {
				return err
			}
			switch string(t) {
			case "SS":
				l = append(l, s)
			case "NS":
				n, _, err := parseDynamoNumber(s)
				if err != nil {
					return err
				}
				l = append(l, n)
			default:
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return err
				}
				l = append(l, b)
			}
			return nil
		})
		return l, err
	}
	return nil, fmt.Errorf("unknown attribute type %q", t)
}

func elements(b []byte, fn func([]byte) error) error { return eachElement(b, fn) }

// jsonNumber parses a JSON number of a schemaless Debezium row: int64 when
// it is an integer that fits, an exact Decimal when it is a larger integer
// (a 30-digit id keeps its digits), else float64 (Debezium sends doubles
// as JSON numbers; exact decimals come with the schema wrapper).
func jsonNumber(b []byte) (any, error) {
	if n, ok := parseInt64(b); ok {
		return n, nil
	}
	if isIntegerText(b) {
		if d, err := parseDecimalText(string(b)); err == nil && d.nDigits <= MaxDecimalDigits {
			return d.value(), nil
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return nil, fmt.Errorf("number %q: %w", b, errNumber)
	}
	return f, nil
}

// isIntegerText: -?digits.
func isIntegerText(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseInt64 parses plain decimal digits (optional '-') without allocating.
func parseInt64(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// names interns attribute/column names. Lookups are lock-free (the map is
// replaced, never modified, on insert): every worker decoding rows looks up
// every column name, and a shared read lock made them contend for one
// cache line.
var names struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]string]
}

// maxNames bounds the interned names (beyond it, names are not interned).
const maxNames = 4096

// internName returns the attribute/column name for a raw member name,
// shared across rows (column names repeat in every row).
func internName(k []byte) (string, error) {
	if m := names.m.Load(); m != nil {
		if s, ok := (*m)[string(k)]; ok {
			return s, nil
		}
	}
	s, err := unquote(quoted(k))
	if err != nil {
		return "", err
	}
	names.mu.Lock()
	defer names.mu.Unlock()
	var cur map[string]string
	if p := names.m.Load(); p != nil {
		cur = *p
	}
	if _, ok := cur[string(k)]; !ok && len(cur) < maxNames {
		m := make(map[string]string, 1+len(cur))
		for k, v := range cur {
			m[k] = v
		}
		m[string(k)] = s
		names.m.Store(&m)
	}
	return s, nil
}

// rowKey returns a decoded row's key for a raw member name: the name's own
// bytes when it has no escapes (rows alias their image, see Decoder), else
// the unescaped, interned name.
func rowKey(k []byte) (string, error) {
	if len(k) > 0 && bytes.IndexByte(k, '\\') < 0 {
		if !utf8.Valid(k) {
			return "", errBadUTF8
		}
		return unsafe.String(&k[0], len(k)), nil
	}
	return internName(k)
}

// lookupCol finds the column of raw member name k in cols without
// allocating. name is set when k had to be unescaped; storeCol uses it.
func lookupCol(cols map[string]*Type, k []byte) (cur *Type, ok bool, name string, err error) {
	if bytes.IndexByte(k, '\\') < 0 {
		if cur, ok = cols[string(k)]; !ok && !utf8.Valid(k) {
			return nil, false, "", errBadUTF8 // checked once per new name
		}
		return cur, ok, "", nil
	}
	if name, err = internName(k); err != nil {
		return nil, false, "", err
	}
	cur, ok = cols[name]
	return cur, ok, name, nil
}

// storeCol sets the column type of k (see lookupCol).
func storeCol(cols map[string]*Type, k []byte, name string, t *Type) error {
	if name == "" {
		var err error
		if name, err = internName(k); err != nil {
			return err
		}
	}
	cols[name] = t
	return nil
}

// members walks the object starting at b[i] (after whitespace). fn receives
// each member name and the index of its value and returns the index after the
// value. members returns the index after the object.
func members(b []byte, i int, fn func(key []byte, i int) (int, error)) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, syntaxErr(b, i, "expected object")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, syntaxErr(b, i, "expected member name")
		}
		kend, _, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kend-1]
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, syntaxErr(b, i, "expected ':'")
		}
		vend, err := fn(key, skipWS(b, i+1))
		if err != nil {
			return 0, err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			return 0, syntaxErr(b, i, "unterminated object")
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, syntaxErr(b, i, "expected ',' or '}'")
		}
		i++
	}
}

func errDuplicate(name []byte) error {
	return fmt.Errorf("member %q appears twice in the record", name)
}
