package etl

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/etl/athena"
	"github.com/opsctl/opsctl/etl/snapshot"
)

// BenchmarkEnginesOnDataset compares, in one run on one machine, the local
// engine with the Athena engine's SQL run on DuckDB (2 threads), over a
// bench/rebuild.sh dataset:
//
//	OPSCTL_BENCH_DATA=/tmp/bench-work/data/S-ddb go test -run XXX -bench Engines -benchtime 1x ./etl/
//
// The SQL side computes the state (every merge rule) and the table of the
// scalar columns (the SQL engine does not build lists and structs yet); both
// sides write zstd Parquet. Reported: each side's seconds and their ratio.
func BenchmarkEnginesOnDataset(b *testing.B) {
	data := os.Getenv("OPSCTL_BENCH_DATA")
	if data == "" {
		b.Skip("OPSCTL_BENCH_DATA names a bench/rebuild.sh dataset directory")
	}
	dir := duckdbDir(b)
	format := "dynamodb"
	key := []string{"pk"}
	if strings.Contains(filepath.Base(data), "dbz") {
		format, key = "debezium", []string{"id"}
	}
	var files []string
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "t")
		t0 := time.Now()
		res, err := Rebuild(context.Background(), Deps{}, Options{Source: data, Format: format, Key: key, Dest: out})
		if err != nil {
			b.Fatal(err)
		}
		local := time.Since(t0)
		mb, err := os.ReadFile(filepath.Join(out, snapshot.VersionPath(res.Version), snapshot.ManifestName))
		if err != nil {
			b.Fatal(err)
		}
		var m snapshot.Manifest
		json.Unmarshal(mb, &m)
		var cols []athena.Column
		for _, c := range athena.Columns(m.ColumnTypes, "") {
			switch c.Type.Kind {
			case snapshot.List, snapshot.Struct, snapshot.Binary, snapshot.Date, snapshot.Timestamp, snapshot.Time:
				continue
			}
			cols = append(cols, c)
		}
		spec := athena.Spec{Format: format, Key: key, Dialect: athena.DuckDB}
		state, err := spec.State(athena.DuckDBLines(files), "")
		if err != nil {
			b.Fatal(err)
		}
		table, err := spec.Table("st", cols)
		if err != nil {
			b.Fatal(err)
		}
		pq := filepath.Join(b.TempDir(), "sql.parquet")
		sql := "SET threads = 2; CREATE TEMP TABLE st AS " + state + "; COPY (" + table + ") TO '" + pq + "' (FORMAT PARQUET, COMPRESSION ZSTD); " +
			"SELECT count(*)::BIGINT AS n FROM read_parquet('" + pq + "')"
		t1 := time.Now()
		rows := duckdbQuery(b, dir, sql)
		duck := time.Since(t1)
		if fmt.Sprint(rows[0]["n"]) != fmt.Sprint(res.LiveKeys) {
			b.Fatalf("DuckDB SQL: %v rows, local engine %d", rows[0]["n"], res.LiveKeys)
		}
		b.ReportMetric(local.Seconds(), "local-s")
		b.ReportMetric(duck.Seconds(), "duckdb-sql-s")
		b.ReportMetric(duck.Seconds()/local.Seconds(), "sql/local")
		b.ReportMetric(float64(res.LiveKeys), "live-keys")
	}
}
