package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type framed struct {
	Data   string
	Offset int64
	Bad    bool
}

func frameAll(t testing.TB, in string, bufSize int, try func([]byte) (int, bool)) []framed {
	s := NewScanner(strings.NewReader(in), bufSize)
	s.Try = try
	var out []framed
	for s.Next() {
		r := s.Record()
		out = append(out, framed{string(r.Data), r.Offset, r.Bad})
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	return out
}

func TestScannerFramesRecords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []framed
	}{
		{"newline delimited", "{\"a\":1}\n{\"b\":2}\n", []framed{{`{"a":1}`, 0, false}, {`{"b":2}`, 8, false}}},
		{"back to back without delimiter", `{"a":1}{"b":2}{"c":{"d":[1,2]}}`, []framed{{`{"a":1}`, 0, false}, {`{"b":2}`, 7, false}, {`{"c":{"d":[1,2]}}`, 14, false}}},
		{"mixed newline and back to back", "{\"a\":1}{\"b\":2}\n{\"c\":3}\r\n  {\"d\":4}", []framed{{`{"a":1}`, 0, false}, {`{"b":2}`, 7, false}, {`{"c":3}`, 15, false}, {`{"d":4}`, 26, false}}},
		{"braces and quotes inside strings", `{"s":"}{\"}"}{"t":"\\"}`, []framed{{`{"s":"}{\"}"}`, 0, false}, {`{"t":"\\"}`, 13, false}}},
		{"truncated record then a good line", "{\"a\":\"tru\n{\"b\":2}\n", []framed{{`{"a":"tru`, 0, true}, {`{"b":2}`, 10, false}}},
		{"truncated outside a string spans lines", "{\"a\":1,\n{\"b\":2}\n", []framed{{`{"a":1,`, 0, true}, {`{"b":2}`, 8, false}}},
		{"truncated at end of object", `{"a":1}{"b":`, []framed{{`{"a":1}`, 0, false}, {`{"b":`, 7, true}}},
		{"garbage between records", "{\"a\":1}\nnot json\n{\"b\":2}", []framed{{`{"a":1}`, 0, false}, {`not json`, 8, true}, {`{"b":2}`, 17, false}}},
		{"garbage right before a record", `xx{"a":1}`, []framed{{`xx`, 0, true}, {`{"a":1}`, 2, false}}},
		{"only whitespace", " \n\t\r\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		for _, size := range []int{3, 16, 1 << 16} {
			got := frameAll(t, tt.in, size, nil)
			if len(got) != len(tt.want) {
				t.Fatalf("%s (buf %d): got %d records %+v, want %+v", tt.name, size, len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%s (buf %d) record %d: got %+v, want %+v", tt.name, size, i, got[i], tt.want[i])
				}
			}
		}
	}
}

// jsonTry frames with encoding/json, standing in for a decoder's fast path.
func jsonTry(b []byte) (int, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	if err := d.Decode(&v); err != nil || len(v) == 0 || v[0] != '{' {
		return 0, false
	}
	n := int(d.InputOffset())
	// InputOffset includes leading whitespace, which the scanner skipped already.
	return n, true
}

func TestScannerTryHookGivesSameBoundaries(t *testing.T) {
	in := "{\"a\":1}{\"b\":\"x}\"}\n{\"c\":\n{\"d\":4}garbage{\"e\":[{}]}"
	want := frameAll(t, in, 1<<16, nil)
	got := frameAll(t, in, 1<<16, jsonTry)
	if len(got) != len(want) {
		t.Fatalf("with Try %+v, without %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("record %d: with Try %+v, without %+v", i, got[i], want[i])
		}
	}
}

func TestScannerGrowsForLargeRecords(t *testing.T) {
	big := `{"s":"` + strings.Repeat("x", 100000) + `"}`
	got := frameAll(t, big+big, 64, nil)
	if len(got) != 2 || got[0].Data != big || got[1].Offset != int64(len(big)) {
		t.Fatalf("large records not framed: %d records", len(got))
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestOpenDetectsGzipByMagicNotSuffix(t *testing.T) {
	dir := t.TempDir()
	payload := []byte("{\"a\":1}\n")
	files := map[string][]byte{
		"2026/11/24/13/stream-1-2026-11-24-13-00-00-abc":    gz(t, payload),                            // gzip, no suffix
		"2026/11/24/13/stream-1-2026-11-24-13-05-00-def.gz": payload,                                   // plain, .gz suffix
		"year=2026/month=11/two-members":                    append(gz(t, payload), gz(t, payload)...), // concatenated members
		"_SUCCESS":                                          {},
		".hidden":                                           payload,
		"x/.tmp/foo":                                        payload,
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := &Source{Loc: Location{Prefix: dir}}
	objs, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	want := "2026/11/24/13/stream-1-2026-11-24-13-00-00-abc,2026/11/24/13/stream-1-2026-11-24-13-05-00-def.gz,year=2026/month=11/two-members"
	if strings.Join(keys, ",") != want {
		t.Fatalf("listed %v, want %s", keys, want)
	}
	for _, o := range objs {
		rc, err := src.Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantB := string(payload)
		if strings.HasSuffix(o.Key, "two-members") {
			wantB += wantB
		}
		if string(b) != wantB {
			t.Errorf("%s: read %q, want %q", o.Key, b, wantB)
		}
	}
}

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in      string
		want    Location
		wantErr bool
	}{
		{"s3://bucket/cdc/orders/", Location{Bucket: "bucket", Prefix: "cdc/orders/"}, false},
		{"s3://bucket", Location{Bucket: "bucket"}, false},
		{"./data/", Location{Prefix: "data"}, false},
		{"s3:///x", Location{}, true},
		{"gs://bucket/x", Location{}, true},
		{"", Location{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLocation(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v (err %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzScanner checks the framing invariants on arbitrary input: records come
// in order, cover every non-whitespace byte exactly once, good records are
// brace-delimited, and the buffer size never changes the result.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1}\n{\"b\":2}\n", `{"a":1}{"b":2}`, `{"s":"}{\"}"}`, "{\"a\":\"x\n{}", "garbage{\"a\":1}", "{{{{", "}}}}", `"\"`, "{\"a\":[1,{\"b\":\"\\\\\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a := frameAll(t, string(in), 1<<16, nil)
		b := frameAll(t, string(in), 7, nil)
		if len(a) != len(b) {
			t.Fatalf("buffer size changed framing: %d vs %d records", len(a), len(b))
		}
		pos := int64(0)
		for i, r := range a {
			if r != b[i] {
				t.Fatalf("record %d differs by buffer size: %+v vs %+v", i, r, b[i])
			}
			if r.Offset < pos {
				t.Fatalf("record %d at %d overlaps previous end %d", i, r.Offset, pos)
			}
			for _, c := range in[pos:r.Offset] {
				if !isSpace(c) {
					t.Fatalf("non-space byte %q skipped before record %d", c, i)
				}
			}
			if string(in[r.Offset:r.Offset+int64(len(r.Data))]) != r.Data {
				t.Fatalf("record %d data does not match input at its offset", i)
			}
			if len(r.Data) == 0 {
				t.Fatalf("empty record %d", i)
			}
			if !r.Bad && (r.Data[0] != '{' || r.Data[len(r.Data)-1] != '}') {
				t.Fatalf("good record %d is not brace-delimited: %q", i, r.Data)
			}
			pos = r.Offset + int64(len(r.Data))
		}
		for _, c := range in[pos:] {
			if !isSpace(c) {
				t.Fatalf("trailing non-space byte %q not framed", c)
			}
		}
	})
}

func TestDecompressReadsLargeObjectsAsAStream(t *testing.T) {
	var plain bytes.Buffer
	for i := 0; plain.Len() < 1<<20; i++ {
		fmt.Fprintf(&plain, "{\"i\":%d,\"pad\":\"%x\"}\n", i, i*7919)
	}
	comp := append(gz(t, plain.Bytes()), gz(t, []byte("{\"last\":true}\n"))...)
	want := plain.String() + "{\"last\":true}\n"
	for _, limit := range []int{64 << 20, 1000} { // whole in memory; streamed past the limit
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			old := MaxInMemory
			MaxInMemory = limit
			defer func() { MaxInMemory = old }()
			rc, err := Decompress(io.NopCloser(bytes.NewReader(comp)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(got) != want {
				t.Fatalf("read %d bytes, %v; want %d bytes", len(got), err, len(want))
			}
		})
	}
}

// TestRecordsStayValidUntilBeforeRefill: a caller holding records until the
// BeforeRefill hook sees their bytes intact when the hook runs.
func TestRecordsStayValidUntilBeforeRefill(t *testing.T) {
	var in []byte
	for i := 0; i < 500; i++ {
		in = fmt.Appendf(in, `{"id":%d,"pad":"%s"}`, i, strings.Repeat("x", i%37))
		if i%3 == 0 {
			in = append(in, '\n')
		}
	}
	s := NewScanner(bytesReader(in), 64)
	type held struct{ data, want []byte }
	var hold []held
	checked, hooks := 0, 0
	check := func() {
		for _, h := range hold {
			if !bytes.Equal(h.data, h.want) {
				t.Fatalf("record changed before the refill hook: %q, want %q", h.data, h.want)
			}
		}
		checked += len(hold)
		hold = hold[:0]
	}
	s.BeforeRefill = func() { hooks++; check() }
	n := 0
	for s.Next() {
		r := s.Record()
		if r.Bad {
			t.Fatalf("bad record %q: %s", r.Data, r.Reason)
		}
		hold = append(hold, held{r.Data, append([]byte(nil), r.Data...)})
		n++
	}
	check()
	if n != 500 || checked != 500 || hooks < 10 {
		t.Fatalf("records %d, checked %d, hooks %d", n, checked, hooks)
	}
}

type failingReader struct {
	b   []byte
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, f.err
	}
	n := copy(p, f.b[:min(len(f.b), 7)])
	f.b = f.b[n:]
	return n, nil
}

func (f *failingReader) Close() error { return nil }

// A read error of the object itself (network, permissions) stays an error
// of the run; only damage in the compressed data is ErrCorrupt.
func TestReadErrorsAreNotCorruption(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat([]byte(`{"a":1}`+"\n"), 1000))
	zw.Close()
	old := MaxInMemory
	MaxInMemory = 16 // streamed
	defer func() { MaxInMemory = old }()
	reset := errors.New("connection reset by peer")
	rc, err := Decompress(&failingReader{b: buf.Bytes()[:buf.Len()/2], err: reset})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	if !errors.Is(err, reset) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want the read error, not ErrCorrupt", err)
	}
	rc, _ = Decompress(&failingReader{b: buf.Bytes()[:buf.Len()/2], err: io.EOF})
	if _, err = io.ReadAll(rc); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: err = %v, want ErrCorrupt", err)
	}
}
