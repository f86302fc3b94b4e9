package etl

import (
	"path/filepath"
	"testing"

	"github.com/opsctl/opsctl/etl/internal/pqread"
)

// columnsOf reads a published file's columns with Arrow.
func columnsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := pqread.Read(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{}
	for _, fld := range f.Schema.Fields() {
		cols[fld.Name] = fld.Type.String()
	}
	return cols
}

// An emptied table is a table: when every row was deleted (or truncated),
// the run publishes a new version with no rows and the table's columns,
// exits 0, and the next run is up to date — instead of failing every cron
// run while the previous snapshot, still holding the deleted rows, stays
// current.
func TestEmptiedTableIsPublishedWithItsSchema(t *testing.T) {
	tests := []struct {
		name  string
		last  []string
		dbz   bool
		parts string
	}{
		{name: "dynamodb every row deleted", last: []string{ddbEv("3", "REMOVE", 10, "a", ""), ddbEv("4", "REMOVE", 11, "b", "")}},
		{name: "dynamodb every row deleted, partitioned", parts: "qty", last: []string{ddbEv("3", "REMOVE", 10, "a", ""), ddbEv("4", "REMOVE", 11, "b", "")}},
		{name: "debezium truncate", dbz: true, last: []string{`{"before":null,"after":null,"source":{"connector":"postgresql","lsn":100,"ts_ms":1700000000100},"op":"t","ts_ms":1700000000100}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			dest := filepath.Join(t.TempDir(), "t")
			o := Options{Source: src, Format: "dynamodb", Dest: dest, PartitionBy: tt.parts}
			first := []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)), ddbEv("2", "INSERT", 2, "b", ddbImg("b", 2))}
			if tt.dbz {
				o.Format, o.Key = "debezium", []string{"pk"}
				first = []string{dbzEv("c", 1, "", `{"pk":"a","qty":1}`), dbzEv("c", 2, "", `{"pk":"b","qty":2}`)}
			}
			writeObjects(t, src, object{key: "1", sep: "\n", recs: first})
			v1 := rebuild(t, o)
			writeObjects(t, src, object{key: "2", sep: "\n", recs: tt.last})
			res := rebuild(t, o) // fails the test on an error: the run exits 0
			if res.LiveKeys != 0 || res.Version == "" || res.Version == v1.Version || len(res.OutputFiles) != 1 {
				t.Fatalf("report %+v", res)
			}
			if got := currentVersion(t, dest); got != res.Version {
				t.Fatalf("current %s, want the emptied version %s", got, res.Version)
			}
			files := publishedFiles(t, o, res)
			cols := columnsOf(t, files[0])
			if cols["pk"] != "utf8" || (tt.parts == "" && cols["qty"] != "int64") {
				t.Fatalf("columns of the empty table: %v (file %s)", cols, files[0])
			}
			if again := rebuild(t, o); !again.UpToDate {
				t.Fatalf("the run after is not up to date: %+v", again)
			}
		})
	}
}

// A single-file rebuild of a table whose rows were all deleted writes an
// empty file with the columns it can know: the key columns (typed from the
// deleted keys) and, with Debezium's schema wrapper, every declared column.
func TestEmptiedSingleFileKeepsKnownColumns(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "1", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)), ddbEv("2", "REMOVE", 2, "a", "")}})
	file := filepath.Join(t.TempDir(), "o.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: file})
	if cols := columnsOf(t, file); res.LiveKeys != 0 || len(cols) != 1 || cols["pk"] != "utf8" {
		t.Fatalf("report %+v, columns %v", res, cols)
	}

	schema := `{"type":"struct","fields":[{"type":"struct","optional":true,"field":"before","fields":[{"type":"int32","field":"id"},{"type":"string","field":"name"}]},{"type":"struct","optional":true,"field":"after","fields":[{"type":"int32","field":"id"},{"type":"string","field":"name"},{"type":"int32","name":"io.debezium.time.Date","field":"born"}]}]}`
	wrap := func(ev string) string { return `{"schema":` + schema + `,"payload":` + ev + `}` }
	src = t.TempDir()
	writeObjects(t, src, object{key: "1", sep: "\n", recs: []string{
		wrap(dbzEv("c", 10, "", `{"id":1,"name":"ann","born":19000}`)),
		wrap(dbzEv("d", 20, `{"id":1,"name":"ann"}`, "")),
	}})
	file = filepath.Join(t.TempDir(), "u.parquet")
	res = rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: file})
	if cols := columnsOf(t, file); res.LiveKeys != 0 || cols["name"] != "utf8" || cols["born"] != "date32" || cols["id"] == "" {
		t.Fatalf("report %+v, columns %v", res, cols)
	}
}
