package cdc

import "math/bits"

// Skipping a container 64 bytes at a time, the way simdjson finds JSON
// structure: classify a block into bitmasks (blockMasks, AVX2), work out
// which quotes are escaped and which bytes are inside strings with integer
// arithmetic, and count brackets only outside strings. A block with no chance
// of closing the container is passed with two popcounts.
//
// skipBlocks never decides anything skipContainer would decide differently:
// on anything unusual (a control byte or a backslash where it should not be,
// the input ending first) it gives up and skipContainer starts over byte by
// byte, which also produces the exact error. FuzzSkipBlocks checks this.

const evenBits = 0x5555555555555555

// skipBlocks returns the index just after the object or array starting at
// b[i] and true, or false to let the byte-by-byte scan decide.
func skipBlocks(b []byte, i int) (int, bool) {
	var (
		depth    int
		inString uint64 // all ones when the previous block ended inside a string
		escNext  uint64 // 1 when the previous block ended with an escaping backslash
		tail     [64]byte
	)
	for i < len(b) {
		p := &tail[0]
		if len(b)-i >= 64 {
			p = &b[i]
		} else {
			// The last partial block, padded with spaces (nothing structural).
			n := copy(tail[:], b[i:])
			for k := n; k < 64; k++ {
				tail[k] = ' '
			}
		}
		quote, bs, open, cls, ctl := blockMasks(p)

		// Escaped bytes: those after an odd run of backslashes.
		bs &^= escNext
		follows := bs<<1 | escNext
		oddStarts := bs &^ evenBits &^ follows
		evenRuns, carry := bits.Add64(oddStarts, bs, 0)
		escaped := (evenBits ^ evenRuns<<1) & follows
		escNext = carry

		// Inside strings: from an unescaped quote up to (not including) the
		// next one.
		inStr := prefixXor(quote&^escaped) ^ inString
		inString = uint64(int64(inStr) >> 63)
		if ctl&inStr != 0 || bs&^inStr != 0 {
			return 0, false // control byte in a string, or a backslash outside one
		}
		open &^= inStr
		cls &^= inStr
		if nc := bits.OnesCount64(cls); depth > nc {
			depth += bits.OnesCount64(open) - nc
		} else {
			for m := open | cls; m != 0; m &= m - 1 {
				t := bits.TrailingZeros64(m)
				if open>>t&1 != 0 {
					depth++
				} else if depth--; depth == 0 {
					if i+t >= len(b) {
						return 0, false
					}
					return i + t + 1, true
				}
			}
		}
		i += 64
	}
	return 0, false
}

// prefixXor sets bit k to the parity of bits 0..k of x.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}
