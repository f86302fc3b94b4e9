package snapshot

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkWriteParquet converts and writes rows shaped like the benchmark table.
func BenchmarkWriteParquet(b *testing.B) {
	row := func(i int) map[string]any {
		return map[string]any{"pk": fmt.Sprintf("k%09d", i), "customer_id": int64(i % 100000), "name": "Customer", "status": "PAID",
			"qty": int64(i % 1000), "amount": 12.25, "active": i%2 == 0, "tags": []any{"promo", "gift"},
			"attrs": map[string]any{"color": "red", "size": int64(12)}, "note": nil}
	}
	s := NewSchema()
	s.ObserveRow(row(0))
	s.ObserveRow(map[string]any{"note": "x"})
	s.Finalize()
	b.ReportAllocs()
	b.ResetTimer()
	w, err := NewWriter(filepath.Join(b.TempDir(), "b.parquet"), true, "", s)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if err := w.Write(row(i), 300); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
