package merge

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"

	"github.com/opsctl/opsctl/etl/cdc"
)

// Run files hold states sorted by key, s2-compressed:
//
//	uvarint(len key) key  uvarint(1+len others)  entry…
//	entry = 4×varint pos, uvarint file, varint off, op, flags, [16]eventID if flag, uvarint schema, uvarint(len image) image
//
// The same encoding is the snapshot's state file (with a header, see state.go).

// RunWriter writes states in key order.
type RunWriter struct {
	zw      *s2.Writer
	bw      *bufio.Writer
	buf     []byte
	lastKey []byte
	n       int64
}

// NewRunWriter writes to w.
func NewRunWriter(w io.Writer) *RunWriter {
	zw := s2.NewWriter(w, s2.WriterConcurrency(1))
	return &RunWriter{zw: zw, bw: bufio.NewWriterSize(zw, 1<<20)}
}

// Write appends one state; keys must be strictly increasing.
func (w *RunWriter) Write(s *State) error {
	if w.n > 0 && compareKeys(s.Key, w.lastKey) <= 0 {
		return fmt.Errorf("run writer: keys out of order")
	}
	w.lastKey = append(w.lastKey[:0], s.Key...)
	w.n++
	b := w.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(s.Key)))
	b = append(b, s.Key...)
	b = binary.AppendUvarint(b, uint64(1+len(s.Others)))
	b = appendEntry(b, &s.Win)
	for i := range s.Others {
		b = appendEntry(b, &s.Others[i])
	}
	w.buf = b
	_, err := w.bw.Write(b)
	return err
}

// Count returns the number of states written.
func (w *RunWriter) Count() int64 { return w.n }

// Close flushes (it does not close the underlying writer).
func (w *RunWriter) Close() error {
	if err := w.bw.Flush(); err != nil {
		return err
	}
	return w.zw.Close()
}

func appendEntry(b []byte, e *Entry) []byte {
	for _, p := range e.Pos {
		b = binary.AppendVarint(b, p)
	}
	b = binary.AppendUvarint(b, uint64(e.File))
	b = binary.AppendVarint(b, e.Off)
	b = append(b, byte(e.Op))
	if e.HasEventID {
		b = append(b, 1)
		b = append(b, e.EventID[:]...)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(e.Schema))
	b = binary.AppendUvarint(b, uint64(len(e.Image)))
	return append(b, e.Image...)
}

// RunReader reads states written by RunWriter.
type RunReader struct {
	br  *bufio.Reader
	cur State
	err error
	// FileMap, when set, translates stored file ranks (the previous run's
	// ranks) into this run's ranks.
	FileMap []uint32
}

// NewRunReader reads from r.
func NewRunReader(r io.Reader) *RunReader {
	return &RunReader{br: bufio.NewReaderSize(s2.NewReader(r), 1<<20)}
}

// Next reads the next state; false at the end or on error (see Err). The
// returned state's buffers are reused by the next call.
func (r *RunReader) Next() bool {
	if r.err != nil {
		return false
	}
	kl, err := binary.ReadUvarint(r.br)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		return false
	}
	if kl > 1<<20 {
		r.err = errors.New("run file: corrupt key length")
		return false
	}
	r.cur.Key = grow(r.cur.Key, int(kl))
	if _, err := io.ReadFull(r.br, r.cur.Key); err != nil {
		r.err = fmt.Errorf("run file: %w", err)
		return false
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil || n == 0 || n > 1<<20 {
		r.err = fmt.Errorf("run file: corrupt entry count")
		return false
	}
	if err := r.readEntry(&r.cur.Win); err != nil {
		r.err = err
		return false
	}
	if cap(r.cur.Others) < int(n-1) {
		r.cur.Others = make([]Entry, n-1)
	}
	r.cur.Others = r.cur.Others[:n-1]
	for i := range r.cur.Others {
		if err := r.readEntry(&r.cur.Others[i]); err != nil {
			r.err = err
			return false
		}
	}
	return true
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func (r *RunReader) readEntry(e *Entry) error {
	var err error
	for i := range e.Pos {
		if e.Pos[i], err = binary.ReadVarint(r.br); err != nil {
			return fmt.Errorf("run file: %w", err)
		}
	}
	f, err := binary.ReadUvarint(r.br)
	if err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	e.File = uint32(f)
	if r.FileMap != nil {
		if int(f) >= len(r.FileMap) {
			return fmt.Errorf("run file: file rank %d out of range", f)
		}
		e.File = r.FileMap[f]
	}
	if e.Off, err = binary.ReadVarint(r.br); err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	e.Op = cdc.Op(hdr[0])
	e.HasEventID = hdr[1] == 1
	e.EventID = [16]byte{}
	if e.HasEventID {
		if _, err := io.ReadFull(r.br, e.EventID[:]); err != nil {
			return fmt.Errorf("run file: %w", err)
		}
	}
	s, err := binary.ReadUvarint(r.br)
	if err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	e.Schema = uint32(s)
	il, err := binary.ReadUvarint(r.br)
	if err != nil || il > 1<<30 {
		return fmt.Errorf("run file: corrupt image length")
	}
	if il == 0 {
		e.Image = e.Image[:0]
		return nil
	}
	e.Image = grow(e.Image, int(il))
	if _, err := io.ReadFull(r.br, e.Image); err != nil {
		return fmt.Errorf("run file: %w", err)
	}
	return nil
}

// State returns the current state.
func (r *RunReader) State() *State { return &r.cur }

// Err returns the read error, if any.
func (r *RunReader) Err() error { return r.err }
