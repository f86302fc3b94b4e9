package etl

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// One valid 50 MB record under --memory-limit 64MiB used to take about 1 GB
// of RSS. The run now fails with a clear message before the record is
// buffered: the whole run allocates less than the limit (plain and gzip
// objects). A record within the budget (1/64 of it) is processed; measured
// with /usr/bin/time on the binary, a 0.95 MB record peaks at 58 MB RSS
// under --memory-limit 64MiB.
func TestHugeRecordFailsClearlyWithinTheMemoryLimit(t *testing.T) {
	const limit = 64 << 20
	big := ddbEv("1", "INSERT", 1, "a", `{"pk":{"S":"a"},"blob":{"S":"`+strings.Repeat("x", 50<<20)+`"}}`)
	for _, gz := range []bool{false, true} {
		src := t.TempDir()
		writeObjects(t, src, object{key: "a", gzip: gz, sep: "\n", recs: []string{big}})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Rebuild(t.Context(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet"), MemoryLimit: limit, Workers: 1})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "--memory-limit") {
			t.Fatalf("gzip %v: err = %v, want a clear record-too-large error", gz, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
			t.Fatalf("gzip %v: the failed run allocated %d MiB, beyond the %d MiB limit", gz, alloc>>20, limit>>20)
		}
	}
	src := t.TempDir()
	fits := ddbEv("1", "INSERT", 1, "a", `{"pk":{"S":"a"},"blob":{"S":"`+strings.Repeat("x", 900<<10)+`"}}`)
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{fits}})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	if res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MemoryLimit: limit}); res.LiveKeys != 1 {
		t.Fatalf("report %+v", res)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Size() == 0 {
		t.Fatalf("no output: %v", err)
	}
}
