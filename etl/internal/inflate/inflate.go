// Package inflate decompresses gzip held in memory, faster than a streaming
// reader: CDC increments are a few MB compressed and inflating them was the
// largest single cost of etl rebuild.
//
// The speed comes from knowing the whole input up front (RFC 1951/1952 as
// libdeflate decodes them, rewritten here): a 64-bit bit buffer refilled 8
// bytes at a time with no per-byte reads, one table lookup per symbol
// (10-bit literal/length and 8-bit distance tables with sub-tables for
// longer codes, each entry carrying its code length, base and extra bits),
// matches copied 8 bytes at a time, and a length/distance pair decoded
// without a refill in between. Output goes to a sliding window and is read
// through io.Reader, so memory stays bounded whatever the decompressed size.
package inflate

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/bits"
	"slices"
)

// Errors.
var (
	ErrHeader   = errors.New("gzip: invalid header")
	ErrChecksum = errors.New("gzip: invalid checksum")
	ErrCorrupt  = errors.New("flate: corrupt input")
)

const (
	histSize = 32 << 10
	chunk    = 512 << 10
	margin   = copyMax + 8 // room for one match and the 8-byte over-copy
	winSize  = histSize + chunk + margin
	pad      = PadBytes

	litBits  = 10
	distBits = 8
	maxBits  = 15

	// Table sizes: powers of two at least as large as the largest possible
	// tables, so that masked indexes need no bounds checks in the decode
	// loop. Each primary prefix of a longer code gets a sub-table of
	// 1<<(longest-primary) entries: at most 286 prefixes of 32 entries after
	// 1024 (literal/length), 30 of 128 after 256 (distance).
	litTabLen  = 16384
	distTabLen = 4096
	// copyMax bounds the bytes one match copy may touch past wp (258 and
	// the 8-byte over-copy, as a masked array index).
	copyMax = 520
)

type state uint8

const (
	sMember state = iota
	sBlock
	sHuffman
	sStored
	sTrailer
	sEOF
)

// PadBytes is the spare capacity the reader needs after its input (zeroed
// by Reset), so that refills never check bounds. Inputs without it are
// copied.
const PadBytes = 16

// Reader decompresses a gzip stream (one or more members) from memory.
type Reader struct {
	in     []byte // input followed by pad zero bytes
	n      int    // real input length
	ip     int    // next input byte to load into bb
	bb     uint64 // bit buffer (LSB first)
	nb     uint   // valid bits in bb
	win    []byte
	rp, wp int // window: delivered up to rp, written up to wp
	st     state
	final  bool
	stored int // bytes left in a stored block
	crc    uint32
	size   uint32
	crcAt  int // window position up to which crc covers
	start  int // window position of the member's first byte (may be negative)
	err    error

	lit   []uint32
	dist  []uint32
	fixed bool
}

// NewReader returns a reader of the gzip data in buf. The reader keeps buf;
// buf must have cap(buf) >= len(buf)+16 (see Pad), or it is copied.
func NewReader(buf []byte) (*Reader, error) {
	z := &Reader{}
	if err := z.Reset(buf); err != nil {
		return nil, err
	}
	return z, nil
}

// Pad returns buf with room for the zero padding the reader needs, so that
// NewReader need not copy it.
func Pad(buf []byte) []byte {
	if cap(buf)-len(buf) >= pad {
		return buf
	}
	nb := make([]byte, len(buf), len(buf)+pad)
	copy(nb, buf)
	return nb
}

// Reset starts reading buf, reusing the reader's buffers.
func (z *Reader) Reset(buf []byte) error {
	buf = Pad(buf)
	n := len(buf)
	in := buf[:n+pad]
	clear(in[n:])
	win := z.win
	if win == nil {
		win = make([]byte, winSize)
	}
	lit, dist := z.lit, z.dist
	*z = Reader{in: in, n: n, win: win, lit: lit, dist: dist}
	if n < 10 || buf[0] != 0x1f || buf[1] != 0x8b {
		return ErrHeader
	}
	return nil
}

// Read implements io.Reader.
func (z *Reader) Read(p []byte) (int, error) {
	for z.rp == z.wp {
		if z.err != nil {
			return 0, z.err
		}
		z.fill()
	}
	n := copy(p, z.win[z.rp:z.wp])
	z.rp += n
	return n, nil
}

// WriteTo implements io.WriterTo.
func (z *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if z.rp < z.wp {
			n, err := w.Write(z.win[z.rp:z.wp])
			total += int64(n)
			z.rp += n
			if err != nil {
				return total, err
			}
			continue
		}
		if z.err != nil {
			if z.err == io.EOF {
				return total, nil
			}
			return total, z.err
		}
		z.fill()
	}
}

// fill produces more output (or sets z.err).
func (z *Reader) fill() {
	if z.wp >= winSize-margin-chunk/2 {
		// Keep 32 KiB of history at the start of the window.
		z.sum()
		copy(z.win, z.win[z.wp-histSize:z.wp])
		z.start -= z.wp - histSize
		z.rp, z.wp, z.crcAt = histSize, histSize, histSize
	}
	limit := winSize - margin
	for z.wp < limit && z.err == nil {
		switch z.st {
		case sMember:
			z.member()
		case sBlock:
			z.block()
		case sHuffman:
			z.huffman(limit)
		case sStored:
			z.copyStored(limit)
		case sTrailer:
			z.trailer()
		case sEOF:
			z.err = io.EOF
		}
		if z.wp > z.rp {
			break // deliver what we have
		}
	}
	z.sum()
}

// sum adds the new output to the member's checksum.
func (z *Reader) sum() {
	if z.wp > z.crcAt {
		z.crc = crc32.Update(z.crc, crc32.IEEETable, z.win[z.crcAt:z.wp])
		z.size += uint32(z.wp - z.crcAt)
		z.crcAt = z.wp
	}
}

// alignBytes drops the bits of a partial byte and returns whole bytes still
// in the bit buffer to the input.
func (z *Reader) alignBytes() {
	z.bb >>= z.nb & 7
	z.nb -= z.nb & 7
	z.ip -= int(z.nb / 8)
	z.bb, z.nb = 0, 0
}

func (z *Reader) fail(err error) {
	if z.err == nil {
		z.err = err
	}
}

// member parses a gzip member header (RFC 1952), or ends the stream.
func (z *Reader) member() {
	z.alignBytes()
	if z.ip >= z.n {
		z.st = sEOF
		return
	}
	b := z.in[z.ip:z.n]
	// Reserved flag bits are ignored, as compress/gzip and klauspost do:
	// objects too large for this reader stream through klauspost, and
	// both paths must accept the same objects.
	if len(b) < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
		z.fail(ErrHeader)
		return
	}
	flg := b[3]
	i := 10
	if flg&4 != 0 { // FEXTRA
		if len(b) < i+2 {
			z.fail(io.ErrUnexpectedEOF)
			return
		}
		i += 2 + int(binary.LittleEndian.Uint16(b[i:]))
	}
	for _, bit := range []byte{8, 16} { // FNAME, FCOMMENT: zero-terminated
		if flg&bit == 0 {
			continue
		}
		for i < len(b) && b[i] != 0 {
			i++
		}
		i++
	}
	if flg&2 != 0 { // FHCRC
		i += 2
	}
	if i > len(b) {
		z.fail(io.ErrUnexpectedEOF)
		return
	}
	z.ip += i
	z.crc, z.size = 0, 0
	z.crcAt, z.start = z.wp, z.wp
	z.final = false
	z.st = sBlock
}

// trailer checks CRC-32 and ISIZE.
func (z *Reader) trailer() {
	z.sum()
	z.alignBytes()
	if z.ip+8 > z.n {
		z.fail(io.ErrUnexpectedEOF)
		return
	}
	crc := binary.LittleEndian.Uint32(z.in[z.ip:])
	size := binary.LittleEndian.Uint32(z.in[z.ip+4:])
	z.ip += 8
	if crc != z.crc || size != z.size {
		z.fail(ErrChecksum)
		return
	}
	z.st = sMember
}

// refill tops the bit buffer up to at least 56 bits.
func (z *Reader) refill() bool {
	var ok bool
	if z.bb, z.nb, z.ip, ok = loadBits(z.in, z.ip, z.n, z.bb, z.nb); !ok {
		z.fail(io.ErrUnexpectedEOF)
	}
	return ok
}

// loadBits adds whole input bytes to the bit buffer (bb, nb) until it holds
// at least 56 bits, 8 bytes in one load; in holds n real bytes and the zero
// padding. ok is false when bits beyond the input would be needed. It is
// small enough to inline into the decode loop, which keeps bb and nb in
// locals.
func loadBits(in []byte, ip, n int, bb uint64, nb uint) (uint64, uint, int, bool) {
	if ip+8 > len(in) {
		return bb, nb, ip, false
	}
	bb |= binary.LittleEndian.Uint64(in[ip:]) << nb
	ip += int((63 - nb) >> 3)
	nb |= 56
	// Bits from the padding were needed: the input ended early.
	return bb, nb, ip, ip <= n || ip*8-int(nb) <= n*8
}

func (z *Reader) bits(n uint) uint32 {
	v := uint32(z.bb & (1<<n - 1))
	z.bb >>= n
	z.nb -= n
	return v
}

// block reads a block header and prepares its tables.
func (z *Reader) block() {
	if z.final {
		z.st = sTrailer
		return
	}
	if z.nb < 17 && !z.refill() {
		return
	}
	z.final = z.bits(1) == 1
	switch z.bits(2) {
	case 0:
		z.alignBytes()
		if z.ip+4 > z.n {
			z.fail(io.ErrUnexpectedEOF)
			return
		}
		ln := binary.LittleEndian.Uint16(z.in[z.ip:])
		nln := binary.LittleEndian.Uint16(z.in[z.ip+2:])
		if ln != ^nln {
			z.fail(ErrCorrupt)
			return
		}
		z.ip += 4
		z.stored = int(ln)
		z.st = sStored
	case 1:
		if !z.fixed {
			var lens [288 + 32]uint8
			for i := range 288 {
				switch {
				case i < 144:
					lens[i] = 8
				case i < 256:
					lens[i] = 9
				case i < 280:
					lens[i] = 7
				default:
					lens[i] = 8
				}
			}
			for i := range 32 {
				lens[288+i] = 5
			}
			if !z.tables(lens[:288], lens[288:]) {
				return
			}
			z.fixed = true
		}
		z.st = sHuffman
	case 2:
		z.fixed = false
		z.dynamic()
	default:
		z.fail(ErrCorrupt)
	}
}

var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads the code lengths of a dynamic Huffman block.
func (z *Reader) dynamic() {
	if z.nb < 14 && !z.refill() {
		return
	}
	hlit := int(z.bits(5)) + 257
	hdist := int(z.bits(5)) + 1
	hclen := int(z.bits(4)) + 4
	if hlit > 286 || hdist > 30 {
		z.fail(ErrCorrupt)
		return
	}
	var cl [19]uint8
	for i := range hclen {
		if z.nb < 3 && !z.refill() {
			return
		}
		cl[clOrder[i]] = uint8(z.bits(3))
	}
	var clTab [1 << 7]uint32
	var codes [288]uint16
	if !build(clTab[:], &codes, cl[:], 7, nil) {
		z.fail(ErrCorrupt)
		return
	}
	var lens [286 + 30]uint8
	n := hlit + hdist
	for i := 0; i < n; {
		if z.nb < 16 && !z.refill() {
			return
		}
		e := clTab[z.bb&(1<<7-1)]
		if e == 0 {
			z.fail(ErrCorrupt)
			return
		}
		sym, ln := e>>16, uint(e&0xff)
		z.bb >>= ln
		z.nb -= ln
		var rep int
		var val uint8
		switch {
		case sym < 16:
			lens[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				z.fail(ErrCorrupt)
				return
			}
			val, rep = lens[i-1], 3+int(z.bits(2))
		case sym == 17:
			rep = 3 + int(z.bits(3))
		default:
			rep = 11 + int(z.bits(7))
		}
		if i+rep > n {
			z.fail(ErrCorrupt)
			return
		}
		for ; rep > 0; rep-- {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		z.fail(ErrCorrupt) // no end-of-block code
		return
	}
	if !z.tables(lens[:hlit], lens[hlit:n]) {
		return
	}
	z.st = sHuffman
}

// Literal/length table entries (uint32):
//
//	bits 0-7   code length to consume
//	bits 8-9   kind: literal, length, end of block, sub-table
//	bits 10-14 extra bits (length) or sub-table index bits; for a
//	           literal, bit 10 (kPair) marks two literals in one entry
//	bit 15     invalid code
//	bits 16-31 literal byte (a pair: first in 16-23, second in 24-31),
//	           length base, or sub-table offset
//
// Distance entries use the same layout with kind 1 (distance) or 3.
const (
	kLiteral = 0 << 8
	kLength  = 1 << 8
	kEOB     = 2 << 8
	kSub     = 3 << 8
	kMask    = 3 << 8
	invalid  = 1 << 15
	kPair    = 1 << 10
)

var lenBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

func litEntry(sym int) uint32 {
	switch {
	case sym < 256:
		return kLiteral | uint32(sym)<<16
	case sym == 256:
		return kEOB
	case sym < 286:
		return kLength | uint32(lenExtra[sym-257])<<10 | uint32(lenBase[sym-257])<<16
	}
	return invalid | kEOB
}

func distEntry(sym int) uint32 {
	if sym < 30 {
		return kLength | uint32(distExtra[sym])<<10 | uint32(distBase[sym])<<16
	}
	return invalid | kEOB
}

func (z *Reader) tables(lit, dist []uint8) bool {
	if z.lit == nil {
		z.lit = make([]uint32, 0, litTabLen)
		z.dist = make([]uint32, 0, distTabLen)
	}
	var ok bool
	if z.lit, ok = buildTable(z.lit[:0], lit, litBits, litEntry); !ok {
		z.fail(ErrCorrupt)
		return false
	}
	pairLiterals((*[1 << litBits]uint32)(z.lit))
	if z.dist, ok = buildTable(z.dist[:0], dist, distBits, distEntry); !ok {
		z.fail(ErrCorrupt)
		return false
	}
	if cap(z.lit) != litTabLen || cap(z.dist) != distTabLen {
		panic("inflate: decode table outgrew its bound") // see litTabLen
	}
	return true
}

// buildTable returns the decode table for canonical Huffman code lengths:
// a primary table indexed by the next primary bits, followed by sub-tables
// for longer codes.
func buildTable(tab []uint32, lens []uint8, primary uint, entry func(int) uint32) ([]uint32, bool) {
	size := 1 << primary
	tab = tab[:size]
	fill := invalid | kEOB | uint32(primary)
	for i := range tab {
		tab[i] = fill
	}
	var codes [288]uint16
	if !build(tab, &codes, lens, primary, entry) {
		return tab, false
	}
	// Sub-tables: codes longer than primary, grouped by their primary prefix.
	var count [maxBits + 1]int
	for _, l := range lens {
		count[l]++
	}
	maxLen := 0
	for l := maxBits; l > int(primary); l-- {
		if count[l] > 0 {
			maxLen = l
			break
		}
	}
	if maxLen == 0 {
		return tab, true
	}
	subBits := uint(maxLen) - primary
	for sym, l := range lens {
		if uint(l) <= primary {
			continue
		}
		rc := reverse(codes[sym], uint(l))
		p := rc & (1<<primary - 1)
		if tab[p]&kMask != kSub || tab[p]&invalid != 0 {
			off := len(tab)
			tab = slices.Grow(tab, 1<<subBits)[:off+1<<subBits]
			for i := off; i < len(tab); i++ {
				tab[i] = invalid | kEOB | uint32(maxLen)
			}
			tab[p] = kSub | uint32(subBits)<<10 | uint32(off)<<16 | uint32(primary)
		}
		off := int(tab[p] >> 16)
		e := entry(sym) | uint32(l)
		rest := rc >> primary
		for k := rest; k < 1<<subBits; k += 1 << (uint(l) - primary) {
			tab[off+int(k)] = e
		}
	}
	return tab, true
}

// build fills the primary table for codes no longer than primary. With a nil
// entry func (the code-length code), entries hold the symbol itself. It
// rejects over-subscribed and incomplete codes (see below).
func build(tab []uint32, codes *[288]uint16, lens []uint8, primary uint, entry func(int) uint32) bool {
	var count [maxBits + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left, used := 1, 0
	for l := 1; l <= maxBits; l++ {
		left <<= 1
		left -= count[l]
		used += count[l]
		if left < 0 {
			return false // over-subscribed
		}
	}
	// Incomplete codes are rejected, as zlib and compress/flate do, except
	// an empty code and a single code of one bit.
	if left > 0 && used > 0 && !(used == 1 && count[1] == 1) {
		return false
	}
	canonical(codes, lens)
	for sym, l := range lens {
		if l == 0 || uint(l) > primary {
			continue
		}
		var e uint32
		if entry == nil {
			e = uint32(sym)<<16 | uint32(l)
		} else {
			e = entry(sym) | uint32(l)
		}
		for k := reverse(codes[sym], uint(l)); k < 1<<primary; k += 1 << l {
			tab[k] = e
		}
	}
	return true
}

// pairLiterals turns primary entries whose bits hold two whole literal codes
// into one entry for both, so a run of literals decodes two at a time (the
// decode loop's one serial dependency is the table lookup).
func pairLiterals(tab *[1 << litBits]uint32) {
	single := *tab
	for k, e := range single {
		l1 := e & 0xff
		if e&(kMask|invalid) != kLiteral || l1 >= litBits {
			continue
		}
		// The second code's bits are the top litBits-l1 bits of k; its
		// entry is right when its code is no longer than that.
		e2 := single[k>>l1]
		l2 := e2 & 0xff
		if e2&(kMask|invalid) != kLiteral || l1+l2 > litBits {
			continue
		}
		tab[k] = kLiteral | kPair | (e2>>16&0xff)<<24 | (e>>16&0xff)<<16 | (l1 + l2)
	}
}

// canonical assigns the codes of RFC 1951 section 3.2.2 to codes[:len(lens)].
func canonical(codes *[288]uint16, lens []uint8) {
	var count [maxBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxBits + 2]uint16
	code := uint16(0)
	for l := 1; l <= maxBits; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for sym, l := range lens {
		if l != 0 {
			codes[sym] = next[l]
			next[l]++
		}
	}
}

// reverse returns the n-bit code with its bits in stream (LSB-first) order.
func reverse(code uint16, n uint) uint32 {
	return uint32(bits.Reverse16(code) >> (16 - n))
}

// copyStored copies a stored block's bytes.
func (z *Reader) copyStored(limit int) {
	n := min(z.stored, limit-z.wp)
	if z.ip+n > z.n {
		z.fail(io.ErrUnexpectedEOF)
		return
	}
	copy(z.win[z.wp:], z.in[z.ip:z.ip+n])
	z.ip += n
	z.wp += n
	z.stored -= n
	if z.stored == 0 {
		z.st = sBlock
	}
}

// huffman decodes symbols of a Huffman block until its end or until the
// window reaches limit.
func (z *Reader) huffman(limit int) {
	bb, nb := z.bb, z.nb
	win := z.win[:winSize]
	lit := (*[litTabLen]uint32)(z.lit[:litTabLen])
	dist := (*[distTabLen]uint32)(z.dist[:distTabLen])
	wp := z.wp
	defer func() { z.bb, z.nb, z.wp = bb, nb, wp }()
	// e is always the entry for the next symbol, looked up as soon as its
	// bits are at the bottom of bb, so the lookup overlaps the work before
	// it (a match copy). A refill recomputes it: it may have been looked up
	// with too few bits.
	e := lit[bb&(1<<litBits-1)]
	for wp < limit {
		if nb < 48 {
			var ok bool
			if bb, nb, z.ip, ok = loadBits(z.in, z.ip, z.n, bb, nb); !ok {
				z.fail(io.ErrUnexpectedEOF)
				return
			}
			e = lit[bb&(1<<litBits-1)]
		}
		if e&(kMask|invalid) == kLiteral {
			// The common case first: one or two literals from the primary
			// table (the second byte is written either way; a single
			// literal's is overwritten next).
			bb >>= e & 0xff
			nb -= uint(e & 0xff)
			win[wp] = byte(e >> 16)
			win[wp+1] = byte(e >> 24)
			wp += 1 + int(e>>10&1)
			e = lit[bb&(1<<litBits-1)]
			continue
		}
		if e&(kMask|invalid) == kSub {
			e = lit[(int(e>>16)+int(bb>>litBits&(1<<(e>>10&31)-1)))&(litTabLen-1)]
		}
		n := uint(e & 0xff)
		bb >>= n
		nb -= n
		switch e & (kMask | invalid) {
		case kLiteral:
			win[wp] = byte(e >> 16)
			wp++
			e = lit[bb&(1<<litBits-1)]
			continue
		case kEOB:
			z.st = sBlock
			return
		case kLength:
		default:
			z.fail(ErrCorrupt)
			return
		}
		x := uint(e >> 10 & 31)
		length := int(e>>16) + int(bb&(1<<x-1))
		bb >>= x
		nb -= x
		d := dist[bb&(1<<distBits-1)]
		if d&(kMask|invalid) == kSub {
			d = dist[(int(d>>16)+int(bb>>distBits&(1<<(d>>10&31)-1)))&(distTabLen-1)]
		}
		if d&invalid != 0 {
			z.fail(ErrCorrupt)
			return
		}
		n = uint(d & 0xff)
		bb >>= n
		nb -= n
		x = uint(d >> 10 & 31)
		off := int(d>>16) + int(bb&(1<<x-1))
		bb >>= x
		nb -= x
		src := wp - off
		if src < z.start {
			z.fail(ErrCorrupt) // a distance before the start of the member
			return
		}
		e = lit[bb&(1<<litBits-1)]
		// length <= 258, so i&511 == i and i+8 <= copyMax: the masks only
		// tell the compiler so.
		dw := (*[copyMax]byte)(win[wp:])
		sw := (*[copyMax]byte)(win[src:])
		switch {
		case off >= 8:
			// Non-overlapping 8-byte steps (the source trails by ≥ 8);
			// may write up to 7 bytes past the match, inside the margin.
			for i := 0; i < length; i += 8 {
				j := i & 511
				binary.LittleEndian.PutUint64(dw[j:j+8], binary.LittleEndian.Uint64(sw[j:j+8]))
			}
		case off == 1:
			c := sw[0]
			for i := 0; i < length; i++ {
				dw[i&511] = c
			}
		default:
			for i := 0; i < length; i++ {
				dw[i&511] = sw[i&511]
			}
		}
		wp += length
	}
}
