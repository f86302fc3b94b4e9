package etl

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/etl/internal/pqread"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// duckdbDir returns the npm directory holding @duckdb/node-api (pinned in
// internal/localaws/emulators/package.json). Locally the test skips when it
// is not installed; under CI=true it fails.
func duckdbDir(t testing.TB) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "internal", "localaws", "emulators"))
	if d := os.Getenv("OPSCTL_EMULATORS_DIR"); d != "" {
		dir = d
	}
	_, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json"))
	_, nodeErr := exec.LookPath("node")
	if err != nil || nodeErr != nil {
		if localawstest.InCI() {
			t.Fatalf("under CI DuckDB (@duckdb/node-api) and node must be installed (make emulators): %v %v", err, nodeErr)
		}
		t.Skipf("DuckDB not installed (make emulators): %v %v", err, nodeErr)
	}
	return dir
}

func duckdbQuery(t testing.TB, dir, sql string) []map[string]any {
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

// publishedFiles returns the paths of the Parquet files a local run
// published (nil for an S3 destination).
func publishedFiles(t testing.TB, opts Options, res Result) []string {
	t.Helper()
	if strings.HasPrefix(opts.Dest, "s3://") || res.DryRun || res.UpToDate {
		return nil
	}
	var out []string
	for _, f := range res.OutputFiles {
		p := f.Path
		if !filepath.IsAbs(p) && !strings.HasSuffix(opts.Dest, ".parquet") {
			p = filepath.Join(opts.Dest, "versions", res.Version, filepath.FromSlash(p))
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatalf("the run published no file: %+v", res)
	}
	return out
}

// verifyPublished reads every published file back with two readers that do
// not share code with the writer (parquet-go): Apache Arrow's Go reader and
// DuckDB. Both must accept every file, and agree on the row count with the
// report.
func verifyPublished(t testing.TB, opts Options, res Result) {
	t.Helper()
	files := publishedFiles(t, opts, res)
	if len(files) == 0 {
		return
	}
	var rows int64
	for _, p := range files {
		f, err := pqread.Read(context.Background(), p)
		if err != nil {
			t.Fatalf("Arrow cannot read published %s: %v", p, err)
		}
		rows += int64(len(f.Rows))
	}
	if rows != res.LiveKeys {
		t.Fatalf("Arrow read %d rows, the report says %d live keys", rows, res.LiveKeys)
	}
	dir, ok := duckdbAvailable()
	if !ok {
		return
	}
	quoted := make([]string, len(files))
	for i, p := range files {
		quoted[i] = "'" + strings.ReplaceAll(p, "'", "''") + "'"
	}
	// Every value of every column, so a value DuckDB rejects fails here.
	got := duckdbQuery(t, dir, "SELECT count(*)::BIGINT AS n, max(length(CAST(COLUMNS(*) AS VARCHAR))) FROM read_parquet(["+strings.Join(quoted, ",")+"], union_by_name=true)")
	if len(got) != 1 || fmt.Sprint(got[0]["n"]) != fmt.Sprint(res.LiveKeys) {
		t.Fatalf("DuckDB read %v, the report says %d live keys", got, res.LiveKeys)
	}
}

// duckdbAvailable is duckdbDir without skipping: verifyPublished runs after
// every rebuild and must not skip the test that called it.
func duckdbAvailable() (string, bool) {
	dir, _ := filepath.Abs(filepath.Join("..", "internal", "localaws", "emulators"))
	if d := os.Getenv("OPSCTL_EMULATORS_DIR"); d != "" {
		dir = d
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		return "", localawstest.InCI() // under CI the query then fails loudly
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", false
	}
	return dir, true
}
