// Package source lists CDC increment objects (a local directory or an S3
// prefix, recursively), opens them (gzip detected by magic bytes, not by
// suffix) and frames the JSON records inside: one per line, back-to-back with
// no delimiter (Firehose's default), or both mixed in one object.
package source

import (
	"errors"
	"io"
)

// Record is one framed JSON object, or a stretch of bytes that is not one.
type Record struct {
	// Data is the record's bytes. It is only valid until the next call to
	// Next, unless the caller tracks refills (Scanner.BeforeRefill).
	Data []byte
	// Offset is the byte offset of Data in the (decompressed) object.
	Offset int64
	// Bad is set when Data is not a complete JSON object: garbage between
	// records, or an object cut short (truncated JSON). Reason says why.
	Bad    bool
	Reason string
	// Decoded is set when the scanner's Try hook framed (and decoded) it.
	Decoded bool
	// TooLarge is set (with Bad) for a record longer than the maximum
	// record size: its start only.
	TooLarge bool
}

// Scanner frames JSON objects in a stream. It tracks strings and escapes, so
// braces inside string values do not confuse it, and it needs no delimiter
// between objects. Whitespace between objects is skipped. It does not
// validate the JSON grammar inside an object: decoders do that.
type Scanner struct {
	r      io.Reader
	buf    []byte
	start  int   // first unconsumed byte in buf
	end    int   // end of valid data in buf
	base   int64 // stream offset of buf[0]
	eof    bool
	err    error
	rec    Record
	maxRec int

	// Try, when set, is offered the buffered bytes at the start of each
	// object. If it parses a complete, valid record there it returns the
	// record's length and true, and the scanner emits that record with
	// Decoded set, without scanning it again. Otherwise the scanner frames
	// the record itself. For valid JSON both give the same boundaries; Try
	// only saves the second pass over the bytes.
	Try func(b []byte) (n int, ok bool)

	// BeforeRefill, when set, is called before the scanner moves or
	// overwrites the bytes of records it has returned: until then their
	// Data (and anything decoded that aliases it) stays valid, so a caller
	// may hold on to many records and process them together.
	BeforeRefill func()
}

// DefaultMaxRecord bounds a single record (DynamoDB items are at most 400 KB;
// Debezium rows can be larger, so leave generous room).
const DefaultMaxRecord = 64 << 20

// NewScanner returns a scanner reading r with a buffer of bufSize bytes
// (grown when one record is larger).
func NewScanner(r io.Reader, bufSize int) *Scanner {
	if bufSize <= 0 {
		bufSize = 1 << 20
	}
	return &Scanner{r: r, buf: make([]byte, bufSize), maxRec: DefaultMaxRecord}
}

// Err returns the read error that stopped the scanner, if any (not io.EOF).
func (s *Scanner) Err() error { return s.err }

// SetMaxRecord bounds the record size (the buffer never grows beyond it;
// DefaultMaxRecord by default). A longer record is framed as a bad record
// with TooLarge set.
func (s *Scanner) SetMaxRecord(n int) {
	if n > 0 {
		s.maxRec = n
	}
}

// Pending returns the bytes read but not framed (after Next returned
// false: the start of a record cut short by a read error) and their offset.
func (s *Scanner) Pending() ([]byte, int64) {
	return s.buf[s.start:s.end], s.base + int64(s.start)
}

// Record returns the record found by the last successful Next.
func (s *Scanner) Record() *Record { return &s.rec }

// fill reads more data, keeping buf[start:end]. It reports whether any byte
// was added.
func (s *Scanner) fill() bool {
	if s.eof || s.err != nil {
		return false
	}
	if s.BeforeRefill != nil {
		s.BeforeRefill()
	}
	if s.start > 0 {
		n := copy(s.buf, s.buf[s.start:s.end])
		s.base += int64(s.start)
		s.end = n
		s.start = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.maxRec {
			return false
		}
		nb := make([]byte, min(2*len(s.buf), s.maxRec))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.eof = true
			} else {
				s.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// Next advances to the next record and reports whether there is one. At the
// end of the stream (or on a read error, see Err) it returns false.
func (s *Scanner) Next() bool {
	for {
		// skip whitespace
		for s.start < s.end && isSpace(s.buf[s.start]) {
			s.start++
		}
		if s.start < s.end {
			break
		}
		if !s.fill() {
			return false
		}
	}
	if s.buf[s.start] != '{' {
		return s.garbage()
	}
	if s.Try != nil {
		if n, ok := s.Try(s.buf[s.start:s.end]); ok && n > 0 && n <= s.end-s.start {
			s.emit(n, false, "")
			s.rec.Decoded = true
			return true
		}
	}
	scanned := 0 // bytes of the current object already scanned (relative to start)
	st := objState{}
	for {
		n, res := st.scan(s.buf[s.start+scanned : s.end])
		scanned += n
		switch res {
		case scanDone:
			if s.buf[s.start+scanned-1] != '}' {
				s.emit(scanned, true, "unbalanced brackets")
				return true
			}
			s.emit(scanned, false, "")
			return true
		case scanBrokenString:
			// A raw newline inside a string: the object was cut short and a
			// new line began. The bad record ends before the newline.
			s.emit(scanned, true, "truncated JSON object (line ends inside a string)")
			return true
		}
		// need more data
		if !s.fill() {
			if s.err != nil {
				return false
			}
			// EOF (or record too large) inside an object.
			return s.truncatedAtEOF(scanned)
		}
	}
}

// truncatedAtEOF reports an unterminated object. When the object spans lines
// (NDJSON with a record cut short), only its first line is bad and scanning
// resumes on the next line, so one truncated record does not swallow the rest.
func (s *Scanner) truncatedAtEOF(scanned int) bool {
	b := s.buf[s.start : s.start+scanned]
	for i, c := range b {
		if c == '\n' {
			s.emit(i, true, "truncated JSON object")
			return true
		}
	}
	reason := "truncated JSON object at end of object"
	if len(s.buf) >= s.maxRec && !s.eof {
		reason = "record larger than the maximum record size"
	}
	s.emit(scanned, true, reason)
	s.rec.TooLarge = reason != "truncated JSON object at end of object"
	if reason != "truncated JSON object at end of object" {
		// Skip the rest of the stream: we cannot find a boundary we trust.
		s.start, s.end = 0, 0
		s.eof = true
	}
	return true
}

// garbage frames bytes that do not start an object: up to the next line
// break or '{', whichever is first.
func (s *Scanner) garbage() bool {
	i := s.start
	for {
		for ; i < s.end; i++ {
			c := s.buf[i]
			if c == '\n' || c == '{' {
				s.emit(i-s.start, true, "not a JSON object")
				return true
			}
		}
		off := i - s.start
		if !s.fill() {
			s.emit(s.end-s.start, true, "not a JSON object")
			return true
		}
		i = s.start + off
	}
}

func (s *Scanner) emit(n int, bad bool, reason string) {
	s.rec = Record{Data: s.buf[s.start : s.start+n], Offset: s.base + int64(s.start), Bad: bad, Reason: reason}
	s.start += n
}

type scanResult int

const (
	scanMore scanResult = iota
	scanDone
	scanBrokenString
)

// objState is the resumable state of the brace matcher.
type objState struct {
	depth    int
	inString bool
	escape   bool
}

// class marks the bytes the structural scan stops at.
var class = func() (t [256]bool) {
	for _, c := range []byte(`{}[]"`) {
		t[c] = true
	}
	return
}()

// scan consumes b and returns how many bytes belong to the object so far and
// whether the object is complete.
func (st *objState) scan(b []byte) (int, scanResult) {
	i := 0
	n := len(b)
	for i < n {
		if st.inString {
			for ; i < n; i++ {
				c := b[i]
				if st.escape {
					st.escape = false
					continue
				}
				if c == '\\' {
					st.escape = true
					continue
				}
				if c == '"' {
					st.inString = false
					i++
					break
				}
				if c == '\n' {
					return i, scanBrokenString
				}
			}
			continue
		}
		for ; i < n; i++ {
			c := b[i]
			if !class[c] {
				continue
			}
			switch c {
			case '"':
				st.inString = true
			case '{', '[':
				st.depth++
			case '}', ']':
				st.depth--
				if st.depth == 0 {
					return i + 1, scanDone
				}
			}
			if st.inString {
				i++
				break
			}
		}
	}
	return n, scanMore
}

// SplitAll frames every record in b (a convenience for tests and fuzzing).
func SplitAll(b []byte) []Record {
	s := NewScanner(bytesReader(b), 64)
	var out []Record
	for s.Next() {
		r := *s.Record()
		r.Data = append([]byte(nil), r.Data...)
		out = append(out, r)
	}
	return out
}

type byteReader struct{ b []byte }

func bytesReader(b []byte) *byteReader { return &byteReader{b} }
func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
