package cdc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A small, allocation-light JSON reader. The hot path (envelope decoding of
// every record) only walks object members and skips the values it does not
// need; full values are built only for winning row images.

var errSyntax = errors.New("invalid JSON")

func syntaxErr(b []byte, i int, what string) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, what, i)
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString expects b[i] == '"' and returns the index after the closing
// quote and whether the string contains escapes. It checks 8 bytes at a time
// for a quote, a backslash or a control character (SWAR).
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	for {
		for i+8 <= len(b) {
			m := special8(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		if i >= len(b) {
			return 0, false, syntaxErr(b, i, "unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			i += 2
		case c < 0x20:
			return 0, false, syntaxErr(b, i, "control character in string")
		default:
			i++
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special8 marks (in the high bit of each byte) the bytes of x that are '"',
// '\\' or below 0x20. Only the lowest mark is exact, which is all we use.
func special8(x uint64) uint64 {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	return (((q - lsb) &^ q) | ((bs - lsb) &^ bs) | ((x - 0x20*lsb) &^ x)) & msb
}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return 0, syntaxErr(b, i, "unexpected end")
	}
	switch c := b[i]; c {
	case '"':
		end, _, err := scanString(b, i)
		return end, err
	case '{', '[':
		return skipContainer(b, i)
	case 't':
		return lit(b, i, "true")
	case 'f':
		return lit(b, i, "false")
	case 'n':
		return lit(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			j := i + 1
			for j < len(b) {
				c := b[j]
				if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
					j++
					continue
				}
				break
			}
			return j, nil
		}
		return 0, syntaxErr(b, i, fmt.Sprintf("unexpected %q", c))
	}
}

// skipContainer returns the index just after the object or array starting at
// b[i]. It is the hot path of envelope decoding (row images are skipped, not
// parsed, for every record): 64 bytes at a time where the CPU can
// (skipBlocks), else byte by byte (skipContainerBytes).
func skipContainer(b []byte, i int) (int, error) {
	if haveBlockMasks {
		if end, ok := skipBlocks(b, i); ok {
			return end, nil
		}
	}
	return skipContainerBytes(b, i)
}

// skipContainerBytes is skipContainer byte by byte: strings are scanned
// inline, 8 bytes at a time, and bytes outside strings go through one table
// lookup.
func skipContainerBytes(b []byte, i int) (int, error) {
	depth := 0
	for i < len(b) {
		switch structural[b[i]] {
		case sQuote:
			i++
			for {
				for i+8 <= len(b) {
					m := special8(binary.LittleEndian.Uint64(b[i:]))
					if m == 0 {
						i += 8
						continue
					}
					i += bits.TrailingZeros64(m) >> 3
					break
				}
				if i >= len(b) {
					return 0, syntaxErr(b, i, "unterminated string")
				}
				c := b[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					i += 2
					continue
				}
				if c < 0x20 {
					return 0, syntaxErr(b, i, "control character in string")
				}
				i++
			}
			continue
		case sOpen:
			depth++
		case sClose:
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, syntaxErr(b, i, "unterminated object or array")
}

const (
	sOther = iota
	sQuote
	sOpen
	sClose
)

var structural = func() (t [256]uint8) {
	t['"'] = sQuote
	t['{'], t['['] = sOpen, sOpen
	t['}'], t[']'] = sClose, sClose
	return
}()

func lit(b []byte, i int, s string) (int, error) {
	if len(b)-i >= len(s) && string(b[i:i+len(s)]) == s {
		return i + len(s), nil
	}
	return 0, syntaxErr(b, i, "invalid literal")
}

// eachMember calls fn for every member of the object b (which must start,
// after whitespace, with '{'). key is the raw key (without quotes; escapes
// left as is), val the raw value bytes.
func eachMember(b []byte, fn func(key, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return syntaxErr(b, i, "expected object")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return syntaxErr(b, i, "expected member name")
		}
		kend, _, err := scanString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : kend-1]
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return syntaxErr(b, i, "expected ':'")
		}
		vstart := skipWS(b, i+1)
		vend, err := skipValue(b, vstart)
		if err != nil {
			return err
		}
		if err := fn(key, b[vstart:vend]); err != nil {
			return err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			return syntaxErr(b, i, "unterminated object")
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] != ',' {
			return syntaxErr(b, i, "expected ',' or '}'")
		}
		i++
	}
}

// eachElement calls fn for every element of the array b.
func eachElement(b []byte, fn func(val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return syntaxErr(b, i, "expected array")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		vstart := skipWS(b, i)
		vend, err := skipValue(b, vstart)
		if err != nil {
			return err
		}
		if err := fn(b[vstart:vend]); err != nil {
			return err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			return syntaxErr(b, i, "unterminated array")
		}
		if b[i] == ']' {
			return nil
		}
		if b[i] != ',' {
			return syntaxErr(b, i, "expected ',' or ']'")
		}
		i++
	}
}

// unquote decodes a raw JSON string value (with quotes).
func unquote(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", syntaxErr(v, 0, "expected string")
	}
	s := v[1 : len(v)-1]
	esc := false
	for _, c := range s {
		if c == '\\' {
			esc = true
			break
		}
	}
	if !esc {
		if !utf8.Valid(s) {
			return "", errBadUTF8
		}
		return string(s), nil
	}
	return unescape(s)
}

// errBadUTF8: a string that is not valid UTF-8 (raw bytes, or a \u escape
// of a lone surrogate). Parquet strings must be UTF-8, and readers (DuckDB)
// reject a file that holds one, so the record is bad (quarantined), never
// repaired: repairing would change the data without anyone knowing.
var errBadUTF8 = errors.New("string is not valid UTF-8 (invalid bytes or a lone surrogate escape)")

func unescape(s []byte) (string, error) {
	if !utf8.Valid(s) {
		return "", errBadUTF8
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errors.New("bad escape")
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+4 >= len(s) {
				return "", errors.New("bad \\u escape")
			}
			r, err := strconv.ParseUint(string(s[i+1:i+5]), 16, 32)
			if err != nil {
				return "", errors.New("bad \\u escape")
			}
			i += 4
			ru := rune(r)
			if utf16.IsSurrogate(ru) {
				d := utf8.RuneError
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, err := strconv.ParseUint(string(s[i+3:i+7]), 16, 32); err == nil {
						d = utf16.DecodeRune(ru, rune(r2))
					}
				}
				if d == utf8.RuneError {
					return "", errBadUTF8 // a lone surrogate has no UTF-8 form
				}
				ru = d
				i += 6
			}
			out = utf8.AppendRune(out, ru)
		default:
			return "", errors.New("bad escape")
		}
	}
	return string(out), nil
}

// keyIs compares a raw member name with s.
func keyIs(key []byte, s string) bool { return string(key) == s }

// Number is a JSON number kept as its text, so integers beyond 2^53 stay exact.
type Number string

// parseAny builds a generic value: nil, bool, string, Number, []any,
// map[string]any.
func parseAny(b []byte) (any, error) { return parseAnyDepth(b, 0) }

// MaxValueDepth bounds the nesting of a decoded value: deeper records are
// bad records (the decoders recurse; encoding/json has the same limit).
const MaxValueDepth = 10000

var errTooDeep = fmt.Errorf("value nested deeper than %d levels", MaxValueDepth)

func parseAnyDepth(b []byte, depth int) (any, error) {
	if depth > MaxValueDepth {
		return nil, errTooDeep
	}
	i := skipWS(b, 0)
	if i >= len(b) {
		return nil, syntaxErr(b, i, "empty value")
	}
	switch c := b[i]; {
	case c == '{':
		m := make(map[string]any, 8)
		var it objIter
		if err := it.open(b, i); err != nil {
			return nil, err
		}
		for {
			k, vs, done, err := it.next()
			if err != nil {
				return nil, err
			}
			if done {
				return m, nil
			}
			ve, err := skipValue(b, vs)
			if err != nil {
				return nil, err
			}
			key, err := internName(k)
			if err != nil {
				return nil, err
			}
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("member %s appears twice", key)
			}
			val, err := parseAnyDepth(b[vs:ve], depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = val
			it.i = ve
		}
	case c == '[':
		l := []any{}
		err := eachElement(b[i:], func(v []byte) error {
			val, err := parseAnyDepth(v, depth+1)
			if err != nil {
				return err
			}
			l = append(l, val)
			return nil
		})
		return l, err
	case c == '"':
		return unquote(trimWS(b[i:]))
	case c == 't' || c == 'f' || c == 'n':
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		switch string(b[i:end]) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, nil
	default:
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		s := string(b[i:end])
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return nil, syntaxErr(b, i, "invalid number")
			}
		}
		return Number(s), nil
	}
}

func trimWS(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// NumberValue converts a numeric text as jsonNumber does (int64, exact
// Decimal for larger integers, float64), or keeps the text when it is not a
// number at all.
func NumberValue(s string) any {
	if v, err := jsonNumber([]byte(s)); err == nil {
		return v
	}
	return s
}

// objIter walks the members of one object without closures (the hot path).
type objIter struct {
	b     []byte
	i     int
	first bool
}

// open positions the iterator inside the object starting at b[i].
func (it *objIter) open(b []byte, i int) error {
	i = skipWS(b, i)
	if i >= len(b) || b[i] != '{' {
		return syntaxErr(b, i, "expected object")
	}
	it.b, it.i, it.first = b, i+1, true
	return nil
}

// next returns the next member's raw name and the index of its value; done
// is set after the closing brace (it.i is then just past it). The caller
// must set it.i to the end of the value before calling next again.
func (it *objIter) next() (key []byte, val int, done bool, err error) {
	b := it.b
	i := skipWS(b, it.i)
	if i >= len(b) {
		return nil, 0, false, syntaxErr(b, i, "unterminated object")
	}
	if it.first {
		it.first = false
		if b[i] == '}' {
			it.i = i + 1
			return nil, 0, true, nil
		}
	} else {
		switch b[i] {
		case '}':
			it.i = i + 1
			return nil, 0, true, nil
		case ',':
			i = skipWS(b, i+1)
		default:
			return nil, 0, false, syntaxErr(b, i, "expected ',' or '}'")
		}
	}
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false, syntaxErr(b, i, "expected member name")
	}
	// Member names are short and plain: find the closing quote inline and
	// leave escapes and control characters to scanString.
	kend := -1
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		if c == '"' {
			kend = j + 1
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	if kend < 0 {
		if kend, _, err = scanString(b, i); err != nil {
			return nil, 0, false, err
		}
	}
	key = b[i+1 : kend-1]
	i = skipWS(b, kend)
	if i >= len(b) || b[i] != ':' {
		return nil, 0, false, syntaxErr(b, i, "expected ':'")
	}
	return key, skipWS(b, i+1), false, nil
}

// unquoteAlias is unquote without a copy for strings without escapes: the
// result shares v's bytes (DecodeImage's rows alias the image, see Decoder).
func unquoteAlias(v []byte) (string, error) {
	if raw, ok := plainString(v); ok {
		if len(raw) == 0 {
			return "", nil
		}
		if !utf8.Valid(raw) {
			return "", errBadUTF8
		}
		return unsafe.String(&raw[0], len(raw)), nil
	}
	return unquote(v)
}

// plainString returns the content of a JSON string without escapes.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	for _, c := range s {
		if c == '\\' {
			return nil, false
		}
	}
	return s, true
}

// walkFlat walks the object starting at b[i] ('{') when it is compact and
// flat, as Debezium's source block is: no whitespace, names and string
// values without escapes, values that are strings, numbers, true, false or
// null. It calls fn for each member and returns the index after the object
// and true. On anything else it returns false, having maybe called fn for
// some members: the caller then starts over with objIter, which accepts
// what it accepts with the same members and values.
func walkFlat(b []byte, i int, fn func(key, val []byte)) (int, bool) {
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		ke := plainStringEnd(b, i)
		if ke < 0 || ke >= len(b) || b[ke] != ':' {
			return 0, false
		}
		vs := ke + 1
		if vs >= len(b) {
			return 0, false
		}
		var ve int
		switch b[vs] {
		case '"':
			if ve = plainStringEnd(b, vs); ve < 0 {
				return 0, false
			}
		case '{', '[', ' ', '\n', '\r', '\t':
			return 0, false
		default: // numbers and literals, exactly as objIter's caller skips them
			var err error
			if ve, err = skipValue(b, vs); err != nil {
				return 0, false
			}
		}
		if ve >= len(b) {
			return 0, false
		}
		fn(b[i+1:ke-1], b[vs:ve])
		switch b[ve] {
		case ',':
			i = ve + 1
		case '}':
			return ve + 1, true
		default:
			return 0, false
		}
	}
}

// plainStringEnd returns the index after the string starting at b[i] ('"'),
// or -1 if it holds an escape or a control byte or is not terminated.
func plainStringEnd(b []byte, i int) int {
	end, escaped, err := scanString(b, i)
	if err != nil || escaped {
		return -1
	}
	return end
}
