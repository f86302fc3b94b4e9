package etl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/etl/source"
)

// gzipCut writes records as gzip and keeps only the first keep bytes of it.
func gzipCut(t *testing.T, path string, recs []string, keep func(n int) int) {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression) // stored blocks: the cut lands where we say
	for _, r := range recs {
		zw.Write([]byte(r + "\n"))
	}
	zw.Close()
	b := buf.Bytes()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:keep(len(b))], 0o600); err != nil {
		t.Fatal(err)
	}
}

// A truncated gzip object used to fail every later run (neither quarantined
// nor skippable). It is a bad object now: the records before the cut are
// applied, the rest goes to the quarantine, it counts against
// --max-bad-records, and it is consumed (the next run is up to date). In
// memory and streamed alike.
func TestTruncatedGzipIsABadObject(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := "in memory"
		if stream {
			name = "streamed"
		}
		t.Run(name, func(t *testing.T) {
			if stream {
				old := source.MaxInMemory
				source.MaxInMemory = 64
				defer func() { source.MaxInMemory = old }()
			}
			src := t.TempDir()
			writeObjects(t, src, object{key: "2026/11/24/13/good", gzip: true, sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
			recs := []string{ddbEv("2", "INSERT", 2, "b", ddbImg("b", 2)), ddbEv("3", "INSERT", 3, "c", ddbImg("c", 3)), ddbEv("4", "INSERT", 4, "d", ddbImg("d", 4))}
			cut := len(recs[0]) + 1 + len(recs[1])/2 // in the middle of the second record
			gzipCut(t, filepath.Join(src, "2026/11/24/14/cut"), recs, func(n int) int { return 10 + 5 + cut })
			dest := filepath.Join(t.TempDir(), "t")

			_, err := Rebuild(t.Context(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest})
			if !errors.Is(err, ErrTooManyBad) {
				t.Fatalf("err = %v, want too many bad records (the object counts as one)", err)
			}
			res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 1})
			if res.BadRecords != 1 || res.LiveKeys != 2 || res.ObjectsRead != 2 {
				t.Fatalf("report %+v", res)
			}
			rows := rowsOf(t, dest, "pk")
			if rows["a"] == nil || rows["b"] == nil || rows["c"] != nil {
				t.Fatalf("rows %v: want the records before the cut", rows)
			}
			f, err := os.Open(res.Quarantine)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Scan()
			if q := sc.Text(); !strings.Contains(q, "2026/11/24/14/cut") || !strings.Contains(q, "truncated") || !strings.Contains(q, `\"eventID\":\"3\"`) {
				t.Fatalf("quarantine %s", q)
			}
			if again := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest}); !again.UpToDate {
				t.Fatalf("the bad object blocks the next run: %+v", again)
			}
		})
	}
}

// A gzip object whose header is damaged is a bad object too (nothing of
// it is readable), not a failed run.
func TestCorruptGzipHeaderIsABadObject(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
	if err := os.WriteFile(filepath.Join(src, "b"), []byte{0x1f, 0x8b, 0x09, 0xff, 1, 2, 3}, 0o600); err != nil {
		t.Fatal(err)
	}
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet"), MaxBadRecords: 1})
	if res.BadRecords != 1 || res.LiveKeys != 1 {
		t.Fatalf("report %+v", res)
	}
}
