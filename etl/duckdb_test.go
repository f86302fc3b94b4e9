package etl

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// duckdbDir returns the npm directory holding @duckdb/node-api (pinned in
// internal/localaws/emulators/package.json). Locally the test skips when it
// is not installed; under CI=true it fails.
func duckdbDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "internal", "localaws", "emulators"))
	if d := os.Getenv("OPSCTL_EMULATORS_DIR"); d != "" {
		dir = d
	}
	_, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json"))
	_, nodeErr := exec.LookPath("node")
	if err != nil || nodeErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: DuckDB (@duckdb/node-api) and node must be installed (make emulators): %v %v", err, nodeErr)
		}
		t.Skipf("DuckDB not installed (make emulators): %v %v", err, nodeErr)
	}
	return dir
}

func duckdbQuery(t *testing.T, dir, sql string) []map[string]any {
	t.Helper()
	out, err := exec.Command("node", filepath.Join("testdata", "duckdb_query.cjs"), dir, sql).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output %s: %v", out, err)
	}
	return rows
}

// TestDuckDBReadsTheSnapshot opens opsctl's Parquet with DuckDB: the rows,
// types (incl. int64 beyond 2^53, nested struct and list) and partitions
// come back as written.
func TestDuckDBReadsTheSnapshot(t *testing.T) {
	dir := duckdbDir(t)
	src := t.TempDir()
	img := func(pk string, n string, country string) string {
		return `{"pk":{"S":"` + pk + `"},"n":{"N":"` + n + `"},"country":{"S":"` + country + `"},"m":{"M":{"c":{"S":"red"}}},"tags":{"SS":["x","y"]}}`
	}
	writeObjects(t, src, object{key: "2026/11/24/13/a", gzip: true, sep: "", recs: []string{
		ddbEv("1", "INSERT", 1, "a", img("a", "9007199254740993", "DE")),
		ddbEv("2", "INSERT", 2, "b", img("b", "2", "FR")),
		ddbEv("3", "INSERT", 3, "c", img("c", "3", "DE")),
		ddbEv("4", "REMOVE", 4, "c", ""),
	}})
	dest := filepath.Join(t.TempDir(), "orders")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, PartitionBy: "country"})
	glob := filepath.Join(strings.TrimSuffix(res.DataPath, "/"), "**", "*.parquet")
	rows := duckdbQuery(t, dir, "SELECT pk, n::VARCHAR AS n, country, m.c AS color, tags, typeof(n) AS nt FROM read_parquet('"+glob+"', hive_partitioning=true) ORDER BY pk")
	got, _ := json.Marshal(rows)
	want := `[{"color":"red","country":"DE","n":"9007199254740993","nt":"BIGINT","pk":"a","tags":["x","y"]},{"color":"red","country":"FR","n":"2","nt":"BIGINT","pk":"b","tags":["x","y"]}]`
	if string(got) != want {
		t.Fatalf("DuckDB read\n%s\nwant\n%s", got, want)
	}
	// The single-file form too.
	file := filepath.Join(t.TempDir(), "o.parquet")
	rebuild(t, Options{Source: src, Format: "dynamodb", Dest: file})
	rows = duckdbQuery(t, dir, "SELECT count(*)::INTEGER AS n, sum(n)::VARCHAR AS s FROM read_parquet('"+file+"')")
	if got, _ := json.Marshal(rows); string(got) != `[{"n":2,"s":"9007199254740995"}]` {
		t.Fatalf("single file: %s", got)
	}
}
