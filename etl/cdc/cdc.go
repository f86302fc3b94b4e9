// Package cdc decodes change-data-capture records into changes: the key, the
// position that orders changes of one key, the operation, the event id and
// the raw bytes of the new row image. Only what decides the winner is decoded
// for every record; the image is decoded (DecodeImage) for winning rows only.
//
// Formats: "dynamodb" (Kinesis Data Streams for DynamoDB records, as Firehose
// delivers them) and "debezium" (change events with or without the
// {"schema":…,"payload":…} wrapper).
package cdc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Op is what a change does to its key.
type Op uint8

// Operations.
const (
	OpUpsert   Op = 1 // insert, update, snapshot read: the key's row becomes Image
	OpDelete   Op = 2 // the key is removed
	OpTruncate Op = 3 // every key is removed (Debezium op "t"); Key is empty
)

func (o Op) String() string {
	switch o {
	case OpUpsert:
		return "upsert"
	case OpDelete:
		return "delete"
	case OpTruncate:
		return "truncate"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Position orders the changes of one key. Compared element by element.
//
//	dynamodb: {ApproximateCreationDateTime in microseconds, 0, 0, 0}
//	debezium: Postgres {source.lsn, 0, 0, ts_ms}; MySQL {binlog file number,
//	          source.pos, source.row, ts_ms}; otherwise {0, 0, 0, ts_ms}
type Position [4]int64

// Compare returns -1, 0 or +1.
func (p Position) Compare(q Position) int {
	for i := range p {
		if p[i] != q[i] {
			if p[i] < q[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Change is one decoded record.
type Change struct {
	Key        []byte // canonical, byte-order-sortable key encoding (see AppendKey*)
	Pos        Position
	Op         Op
	EventID    [16]byte // dynamodb eventID (UUID bytes, or a hash of other ids)
	HasEventID bool
	Image      []byte // raw JSON of the new row image (upserts only)
	Schema     []byte // debezium: raw JSON schema of the envelope, when wrapped
}

// Errors that classify bad records.
var (
	// ErrMismatch: valid JSON, but not a record of the format being decoded.
	ErrMismatch = errors.New("record does not look like this format")
	// ErrNoKey: the record lacks (part of) its key.
	ErrNoKey = errors.New("record has no key")
	// ErrSkip: a record to ignore (e.g. a Debezium tombstone with a null
	// payload). SkipKindOf says which kind.
	ErrSkip = errors.New("record carries no change")
)

// SkipKind classifies records that carry no row change but belong on a CDC
// stream: they are skipped and counted, never quarantined.
type SkipKind uint8

// Kinds of skipped records.
const (
	SkipOther        SkipKind = iota
	SkipTombstone             // Debezium: the null value after a delete (Kafka log compaction)
	SkipSchemaChange          // Debezium: a schema change event (databaseName/ddl/tableChanges)
	SkipHeartbeat             // Debezium: a heartbeat ({"ts_ms":…}, io.debezium.connector.common.Heartbeat)
	SkipTransaction           // Debezium: transaction metadata (status BEGIN/END)
	SkipMessage               // Debezium Postgres: a logical decoding message (op "m")
	NumSkipKinds
)

var skipKindNames = [...]string{"other", "tombstone", "schema_change", "heartbeat", "transaction", "message"}

func (k SkipKind) String() string {
	if int(k) < len(skipKindNames) {
		return skipKindNames[k]
	}
	return "skip(" + strconv.Itoa(int(k)) + ")"
}

type skipError struct{ kind SkipKind }

func (e *skipError) Error() string        { return "record carries no change: " + e.kind.String() }
func (e *skipError) Is(target error) bool { return target == ErrSkip }

// One error value per kind: skipping allocates nothing.
var skipErrors = func() (t [NumSkipKinds]*skipError) {
	for i := range t {
		t[i] = &skipError{SkipKind(i)}
	}
	return
}()

func errSkip(k SkipKind) error { return skipErrors[k] }

// SkipKindOf returns the kind of a skip error (SkipOther for any other).
func SkipKindOf(err error) SkipKind {
	var se *skipError
	if errors.As(err, &se) {
		return se.kind
	}
	return SkipOther
}

// Decoder decodes records of one format. Implementations are safe for
// concurrent use.
type Decoder interface {
	// Decode fills c from one framed record. c.Image and c.Key may alias rec
	// or c's previous buffers: copy what must outlive the next call.
	Decode(rec []byte, c *Change) error
	// DecodePrefix decodes the object at the start of b (which may hold more
	// records after it) and returns its length. On a syntax error the length
	// is meaningless: frame the record with source.Scanner instead.
	DecodePrefix(b []byte, c *Change) (int, error)
	// DecodeImage fully decodes a row image into top-level columns. Strings
	// in the result may share image's bytes: keep image unchanged while the
	// row is in use.
	DecodeImage(image, schema []byte) (map[string]any, error)
	// DecodeImageInto is DecodeImage into row, which it clears first, so
	// that a caller decoding many rows can reuse one map.
	DecodeImageInto(image, schema []byte, row map[string]any) error
	// InferImage widens cols (top-level column types) with one image, as
	// Observe on DecodeImage's columns would, without building the values.
	// It is not a validator: DecodeImage may still fail on the image.
	InferImage(image, schema []byte, cols map[string]*Type) error
	// Format names the format.
	Format() string
	// KeyColumns returns the key columns and their types from an encoded
	// key (nil when the names are unknown): the columns of a table whose
	// every row was deleted.
	KeyColumns(key []byte) map[string]*Type
}

// keyKinds returns the kind of each part of an encoded key.
func keyKinds(key []byte) ([]Kind, bool) {
	var out []Kind
	for i := 0; i < len(key); {
		switch key[i] {
		case tagInt, tagFloat:
			k := KindInt
			if key[i] == tagFloat {
				k = KindDouble
			}
			out = append(out, k)
			i += 9
		case tagBool:
			out = append(out, KindBool)
			i += 2
		case tagDecimal:
			out = append(out, KindDecimal)
			i += 4
			for i < len(key) && key[i] != 0 && key[i] != 0xff {
				i++
			}
			i++
		case tagString, tagBinary:
			k := KindString
			if key[i] == tagBinary {
				k = KindBinary
			}
			out = append(out, k)
			i++
			for i < len(key) && !(key[i] == 0 && i+1 < len(key) && key[i+1] == 1) {
				if key[i] == 0 {
					i++
				}
				i++
			}
			i += 2
		default:
			return nil, false
		}
	}
	return out, true
}

func keyColumns(names []string, key []byte) map[string]*Type {
	kinds, ok := keyKinds(key)
	if !ok || len(kinds) != len(names) {
		return nil
	}
	cols := make(map[string]*Type, len(names))
	for i, n := range names {
		cols[n] = &Type{Kind: kinds[i]}
	}
	return cols
}

// KeyColumns implements Decoder.
func (d *Debezium) KeyColumns(key []byte) map[string]*Type { return keyColumns(d.KeyCols, key) }

// KeyColumns implements Decoder: the names are the --key attributes, else
// those of the first dynamodb.Keys decoded.
func (d *DynamoDB) KeyColumns(key []byte) map[string]*Type {
	names := d.KeyAttrs
	if len(names) == 0 {
		if p := d.keyNames.Load(); p != nil {
			names = *p
		}
	}
	return keyColumns(names, key)
}

// New returns the decoder for format with the key columns (required for
// debezium; for dynamodb optional: a subset/order of dynamodb.Keys).
func New(format string, key []string) (Decoder, error) {
	switch format {
	case "dynamodb":
		return &DynamoDB{KeyAttrs: key}, nil
	case "debezium":
		if len(key) == 0 {
			return nil, errors.New("debezium needs the key columns (--key)")
		}
		return &Debezium{KeyCols: key}, nil
	}
	return nil, fmt.Errorf("unknown format %q (dynamodb or debezium)", format)
}

// Key encoding: each key part is a type tag then a value encoded so that
// byte order equals value order within a type (memcomparable).
const (
	tagNull    = 0x00
	tagInt     = 0x01
	tagString  = 0x02
	tagFloat   = 0x03
	tagBinary  = 0x04
	tagBool    = 0x05
	tagDecimal = 0x06
)

// AppendKeyString appends a string key part.
func AppendKeyString(dst []byte, s []byte) []byte {
	dst = append(dst, tagString)
	return appendEscaped(dst, s)
}

// AppendKeyBinary appends a binary key part.
func AppendKeyBinary(dst []byte, s []byte) []byte {
	dst = append(dst, tagBinary)
	return appendEscaped(dst, s)
}

func appendEscaped(dst, s []byte) []byte {
	for _, c := range s {
		if c == 0 {
			dst = append(dst, 0, 0xff)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}

// AppendKeyNumber appends a numeric key part from its decimal text, exactly:
// an integer that fits int64 (also written as 1E+3 or 7.0) as an int, any
// other number as an exact decimal (two distinct 30-digit ids stay two
// keys). Text that is not a JSON number (NaN, Infinity) is an error.
func AppendKeyNumber(dst []byte, s string) ([]byte, error) {
	if v, ok := parseInt64([]byte(s)); ok {
		dst = append(dst, tagInt)
		return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63)), nil
	}
	d, err := parseDecimalText(s)
	if err != nil {
		return dst, fmt.Errorf("key number %q: %w", s, err)
	}
	digits := strings.TrimRight(d.digitString(), "0")
	e := d.nDigits - d.scale // the number is 0.digits × 10^e
	if digits == "" {
		dst = append(dst, tagInt)
		return binary.BigEndian.AppendUint64(dst, 1<<63), nil
	}
	if e >= len(digits) && e <= 18 {
		var v int64
		for _, c := range digits {
			v = v*10 + int64(c-'0')
		}
		for k := len(digits); k < e; k++ {
			v *= 10
		}
		if d.neg {
			v = -v
		}
		dst = append(dst, tagInt)
		return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63)), nil
	}
	// Memcomparable decimal: sign, biased exponent, digits, terminator;
	// negative numbers inverted so that larger magnitudes sort first.
	dst = append(dst, tagDecimal)
	start := len(dst) + 1
	if d.neg {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 2)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(e+1<<15))
	dst = append(dst, digits...)
	dst = append(dst, 0)
	if d.neg {
		for i := start; i < len(dst); i++ {
			dst[i] = ^dst[i]
		}
	}
	return dst, nil
}

// AppendKeyBool appends a boolean key part.
func AppendKeyBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, tagBool, 1)
	}
	return append(dst, tagBool, 0)
}

// eventIDBytes turns an event id into 16 bytes: a UUID's own bytes, a short
// id as is, or two independent 64-bit hashes of longer ids.
func eventIDBytes(s []byte) (id [16]byte) {
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		_ = s[35]
		var bad byte
		for k := range id {
			hi, lo := hexVal[s[uuidDigits[2*k]]], hexVal[s[uuidDigits[2*k+1]]]
			bad |= hi | lo
			id[k] = hi<<4 | lo
		}
		if bad < 16 {
			return id
		}
		id = [16]byte{}
	}
	if len(s) < 16 {
		copy(id[:], s)
		id[15] = byte(len(s)) | 0x80
		return id
	}
	binary.LittleEndian.PutUint64(id[:8], fnv64(s, 14695981039346656037))
	binary.LittleEndian.PutUint64(id[8:], fnv64(s, 0x84222325cbf29ce4))
	return id
}

// uuidDigits are the positions of the hex digits in a UUID's text.
var uuidDigits = func() (p [32]uint8) {
	j := 0
	for i := 0; i < 36; i++ {
		if i != 8 && i != 13 && i != 18 && i != 23 {
			p[j] = uint8(i)
			j++
		}
	}
	return
}()

// hexVal maps a hex digit to its value and anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		if v := unhex(byte(i)); v >= 0 {
			t[i] = byte(v)
		} else {
			t[i] = 0xff
		}
	}
	return
}()

func fnv64(s []byte, h uint64) uint64 {
	for _, c := range s {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
