package inflate

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

func gz(t testing.TB, level int, data []byte, hdr func(*gzip.Writer)) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if hdr != nil {
		hdr(w)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// reference decodes with compress/gzip (multistream, as ours).
func reference(in []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func ours(in []byte, readSize int) ([]byte, error) {
	zr, err := NewReader(append([]byte(nil), in...))
	if err != nil {
		return nil, err
	}
	var out []byte
	buf := make([]byte, readSize)
	for {
		n, err := zr.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// jsonish is CDC-like text: long repeats at many distances.
func jsonish(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"eventID":"%08x","dynamodb":{"Keys":{"pk":{"S":"k%09d"}},"NewImage":{"qty":{"N":"%d"},"note":{"S":"note %d"}}}}`,
			rng.Uint32(), rng.IntN(1000000), rng.IntN(1000), rng.IntN(100))
		if i%3 == 0 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()[:n]
}

func TestMatchesCompressGzip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	runs := bytes.Repeat([]byte{'a'}, 100000) // distance-1 matches
	periodic := bytes.Repeat([]byte("abcde"), 60000)
	big := jsonish(rng, 3<<20) // several window slides
	inputs := map[string][]byte{
		"empty":    {},
		"one byte": {'x'},
		"random":   random,
		"runs":     runs,
		"periodic": periodic,
		"jsonish":  big,
	}
	levels := map[string]int{"stored": gzip.NoCompression, "fastest": gzip.BestSpeed, "default": gzip.DefaultCompression, "best": gzip.BestCompression, "huffman only": gzip.HuffmanOnly}
	for in, data := range inputs {
		for lv, level := range levels {
			t.Run(in+"/"+lv, func(t *testing.T) {
				comp := gz(t, level, data, nil)
				for _, rs := range []int{1 << 20, 4096, 7} {
					if rs == 7 && len(data) > 300000 {
						continue
					}
					got, err := ours(comp, rs)
					if err != nil {
						t.Fatalf("read size %d: %v", rs, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("read size %d: output differs (%d bytes, want %d)", rs, len(got), len(data))
					}
				}
			})
		}
	}
}

func TestHeaderFieldsAndMembers(t *testing.T) {
	withFields := gz(t, 6, []byte("hello, "), func(w *gzip.Writer) {
		w.Name, w.Comment, w.Extra = "a.json", "a comment", []byte{1, 2, 3}
	})
	second := gz(t, 1, []byte("world"), nil)
	// FHCRC: set the flag by hand and append a (unchecked) header CRC.
	hcrc := append([]byte(nil), second[:10]...)
	hcrc[3] |= 2
	hcrc = append(hcrc, 0xaa, 0xbb)
	hcrc = append(hcrc, second[10:]...)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"name, comment and extra", withFields, "hello, "},
		{"two members", append(append([]byte(nil), withFields...), second...), "hello, world"},
		{"header crc", hcrc, "world"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ours(c.in, 3)
			if err != nil || string(got) != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestRejectsDamagedStreams(t *testing.T) {
	data := jsonish(rand.New(rand.NewPCG(3, 4)), 100000)
	good := gz(t, 6, data, nil)
	flip := func(i int) []byte { b := append([]byte(nil), good...); b[i] ^= 0x10; return b }
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"truncated in the middle", good[:len(good)/2], io.ErrUnexpectedEOF},
		{"truncated trailer", good[:len(good)-3], io.ErrUnexpectedEOF},
		{"bad crc", flip(len(good) - 6), ErrChecksum},
		{"bad size", flip(len(good) - 2), ErrChecksum},
		{"not gzip", []byte("{\"a\":1}\n{\"b\":2}\n"), ErrHeader},
		{"garbage after a member", append(append([]byte(nil), good...), "junk-junk-junk"...), ErrHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ours(c.in, 1<<16)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if _, rerr := reference(c.in); rerr == nil {
				t.Fatalf("compress/gzip accepts this input; the case is wrong")
			}
		})
	}
}

// FuzzInflate: for any input, ours and compress/gzip agree on success and,
// when both succeed, on the output. Seeds are valid streams of every block
// type, so mutations exercise the decoder, not just the header check.
func FuzzInflate(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, level := range []int{0, 1, 6, 9, -2} {
		f.Add(gz(f, level, jsonish(rng, 2000), nil))
	}
	f.Add(gz(f, 6, bytes.Repeat([]byte("ab"), 5000), nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		want, werr := reference(in)
		got, gerr := ours(in, 1000)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("compress/gzip: %v; ours: %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("outputs differ: %d vs %d bytes", len(got), len(want))
		}
	})
}

func TestFixedHuffmanBlock(t *testing.T) {
	// compress/flate emits a fixed-Huffman block for tiny inputs.
	if got, err := ours(gz(t, 9, []byte("aaaaaaaaaabbbbbbbbbbaaaaaaaaaa"), nil), 5); err != nil || string(got) != "aaaaaaaaaabbbbbbbbbbaaaaaaaaaa" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// BenchmarkInflate compares with compress/gzip on CDC-like data, or on the
// gzip file in $INFLATE_BENCH_FILE.
func BenchmarkInflate(b *testing.B) {
	var comp []byte
	if p := os.Getenv("INFLATE_BENCH_FILE"); p != "" {
		var err error
		if comp, err = os.ReadFile(filepath.Clean(p)); err != nil {
			b.Fatal(err)
		}
	} else {
		comp = gz(b, 6, jsonish(rand.New(rand.NewPCG(7, 8)), 8<<20), nil)
	}
	size, _ := io.Copy(io.Discard, must(gzip.NewReader(bytes.NewReader(comp))))
	buf := make([]byte, 1<<20)
	b.Run("opsctl", func(b *testing.B) {
		b.SetBytes(size)
		z := &Reader{}
		padded := Pad(comp)
		for i := 0; i < b.N; i++ {
			if err := z.Reset(padded); err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{z}, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			zr, _ := kgzip.NewReader(bytes.NewReader(comp))
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{zr}, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compress-gzip", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; i < b.N; i++ {
			zr, _ := gzip.NewReader(bytes.NewReader(comp))
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{zr}, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// completeLens returns code lengths for nsym symbols: long of them with
// length longLen, one with length 15, and the rest of the code space filled
// with the shortest codes that complete it (Kraft equality).
func completeLens(nsym, long int, longLen uint8) []uint8 {
	lens := make([]uint8, nsym)
	space := 1 << 15 // code space in units of 2^-15
	for i := 0; i < long; i++ {
		lens[i] = longLen
		space -= 1 << (15 - longLen)
	}
	lens[long] = 15
	space--
	next := long + 1
	for l := 1; l <= 15 && space > 0; l++ {
		for space >= 1<<(15-l) && next < nsym {
			lens[next] = uint8(l)
			space -= 1 << (15 - l)
			next++
		}
	}
	if space != 0 {
		return nil
	}
	return lens
}

// TestTablesFitTheirBounds: codes with as many long codes as possible (each
// on its own sub-table) still fit the fixed-size tables the decode loop
// indexes with masks, and every symbol decodes through them.
func TestTablesFitTheirBounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		nsym    int
		long    int
		longLen uint8
		primary uint
		size    int
		entry   func(int) uint32
	}{
		{"literal/length, 11-bit codes", 286, 270, 11, litBits, litTabLen, litEntry},
		{"literal/length, 12-bit codes", 286, 280, 12, litBits, litTabLen, litEntry},
		{"distance, 9-bit codes", 30, 26, 9, distBits, distTabLen, distEntry},
		{"distance, 14-bit codes", 30, 28, 14, distBits, distTabLen, distEntry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lens []uint8
			for long := tc.long; lens == nil && long > tc.long/2; long-- {
				lens = completeLens(tc.nsym, long, tc.longLen)
			}
			if lens == nil {
				t.Fatal("no complete code with these lengths")
			}
			tab, ok := buildTable(make([]uint32, 0, tc.size), lens, tc.primary, tc.entry)
			if !ok {
				t.Fatal("buildTable rejected a complete code")
			}
			if cap(tab) != tc.size {
				t.Fatalf("table grew to %d entries (bound %d)", len(tab), tc.size)
			}
			t.Logf("%d entries", len(tab))
			var codes [288]uint16
			canonical(&codes, lens)
			for sym, l := range lens {
				if l == 0 {
					continue
				}
				bb := uint64(reverse(codes[sym], uint(l))) | 0xABCD<<l // junk above the code
				e := tab[bb&(1<<tc.primary-1)]
				if e&kMask == kSub && e&invalid == 0 {
					e = tab[(int(e>>16)+int(bb>>tc.primary&(1<<(e>>10&31)-1)))&(tc.size-1)]
				}
				if want := tc.entry(sym) | uint32(l); e != want {
					t.Fatalf("symbol %d (length %d) decodes as entry %#x, want %#x", sym, l, e, want)
				}
			}
		})
	}
}
