package etl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/etl/athena"
	"github.com/opsctl/opsctl/etl/snapshot"
)

// The SQL engine's tests: the SQL that etl/athena generates, run on DuckDB
// over the same fixtures as the local engine, must give the same table.

// ddbRec renders a DynamoDB stream record with any image and precision.
func ddbRec(id, name string, ts int64, micro bool, pk, img string) string {
	r := ddbEv(id, name, ts, pk, img)
	if micro {
		r = strings.Replace(r, `"MILLISECOND"`, `"MICROSECOND"`, 1)
	}
	return r
}

func orderRow(pk string, qty int64, price, country string, paid bool) string {
	return fmt.Sprintf(`{"pk":{"S":"%s"},"qty":{"N":"%d"},"price":{"N":"%s"},"country":{"S":"%s"},"paid":{"BOOL":%t},"note":{"S":"it's \"quoted\""}}`,
		pk, qty, price, country, paid)
}

// dbzMySQL renders a bare Debezium MySQL change event (binlog position).
func dbzMySQL(op, file string, pos, row int64, before, after string) string {
	if before == "" {
		before = "null"
	}
	if after == "" {
		after = "null"
	}
	return fmt.Sprintf(`{"before":%s,"after":%s,"source":{"connector":"mysql","name":"shop","ts_ms":1700000000000,"db":"shop","table":"users","file":"%s","pos":%d,"row":%d},"op":"%s","ts_ms":1700000000000}`,
		before, after, file, pos, row, op)
}

type sqlCase struct {
	name        string
	format      string
	key         []string
	partitionBy string
	batches     [][]object // one local run per batch (incremental)
}

var sqlCases = []sqlCase{
	{name: "dynamodb: order, duplicates, deletes, reinserts, microseconds", format: "dynamodb", key: []string{"pk"}, partitionBy: "country",
		batches: [][]object{{
			{key: "2026/11/24/13/a", sep: "\n", recs: []string{
				ddbRec("e1", "INSERT", 1000, false, "a", orderRow("a", 1, "1.50", "DE", true)),
				ddbRec("e2", "INSERT", 1001, false, "b", orderRow("b", 2, "2", "FR", false)),
				ddbRec("e3", "MODIFY", 3000, false, "a", orderRow("a", 3, "3.25", "DE", false)),
				ddbRec("e4", "INSERT", 1000, false, "c", orderRow("c", 4, "4", "US", true)),
				ddbRec("e5", "REMOVE", 2000, false, "c", ""),
				ddbRec("e6", "INSERT", 1500, false, "d", orderRow("d", 6, "6", "DE", true)),
				`{"not":"a change"}`,
			}},
			{key: "2026/11/24/14/b", sep: "\n", recs: []string{
				// a late, older change: loses against e3
				ddbRec("e7", "MODIFY", 2000, false, "a", orderRow("a", 7, "7", "FR", true)),
				// e2 delivered again: applied once (copies carry the same image;
				// see Deviations for copies that differ)
				ddbRec("e2", "INSERT", 1001, false, "b", orderRow("b", 2, "2", "FR", false)),
				// µs precision: 1500001 µs after 1500 ms → wins over e6
				ddbRec("e8", "MODIFY", 1500001, true, "d", orderRow("d", 8, "8.125", "US", false)),
				ddbRec("e9", "INSERT", 5000, false, "c", orderRow("c", 9, "9", "FR", true)),
			}},
		}}},
	{name: "dynamodb incremental: ties and deletes across runs", format: "dynamodb", key: []string{"pk"},
		batches: [][]object{
			{{key: "2026/11/24/13/a", sep: "\n", recs: []string{
				ddbRec("e1", "INSERT", 1000, false, "a", orderRow("a", 1, "1", "DE", true)),
				ddbRec("e2", "INSERT", 1000, false, "b", orderRow("b", 2, "2", "FR", true)),
				ddbRec("e3", "REMOVE", 2000, false, "b", ""),
			}}},
			{{key: "2026/11/24/14/b", sep: "\n", recs: []string{
				// same position as e1, a later file: wins the tie (file order)
				ddbRec("e4", "MODIFY", 1000, false, "a", orderRow("a", 4, "4", "DE", false)),
				// older than the delete of b: must not resurrect it
				ddbRec("e5", "INSERT", 1500, false, "b", orderRow("b", 5, "5", "US", true)),
				// a copy of e1: applied once
				ddbRec("e1", "INSERT", 1000, false, "a", orderRow("a", 1, "1", "DE", true)),
				ddbRec("e6", "INSERT", 1200, false, "c", orderRow("c", 6, "6", "US", true)),
			}}},
			{{key: "2026/11/24/15/c", sep: "\n", recs: []string{
				ddbRec("e7", "REMOVE", 3000, false, "c", ""),
				ddbRec("e8", "INSERT", 3001, false, "b", orderRow("b", 8, "8", "FR", false)),
			}}},
		}},
	{name: "debezium: postgres lsn, truncate, deletes, schema wrapper", format: "debezium", key: []string{"id"},
		batches: [][]object{
			{{key: "2026/11/24/13/a", sep: "\n", recs: []string{
				dbzEv("c", 10, "", `{"id":1,"v":"old","n":1}`),
				dbzEv("c", 11, "", `{"id":2,"v":"old","n":2}`),
				dbzEv("t", 20, "", ""),
				dbzEv("c", 30, "", `{"id":3,"v":"new","n":3}`),
				"null",
				`{"schema":{"type":"struct"},"payload":` + dbzEv("u", 31, `{"id":1}`, `{"id":1,"v":"again","n":10}`) + `}`,
				dbzEv("c", 32, "", `{"id":4,"v":"x","n":4}`),
			}}},
			{{key: "2026/11/24/14/b", sep: "\n", recs: []string{
				dbzEv("d", 40, `{"id":4,"v":"x","n":4}`, ""),
				dbzEv("u", 25, `{"id":2}`, `{"id":2,"v":"late, before the truncate? no: after it","n":5}`),
				dbzEv("c", 31, "", `{"id":1,"v":"again","n":10}`), // a copy of lsn 31: applied once
			}}},
		}},
	{name: "debezium: mysql binlog positions", format: "debezium", key: []string{"id"},
		batches: [][]object{{
			{key: "2026/11/24/13/a", sep: "\n", recs: []string{
				dbzMySQL("c", "mysql-bin.000009", 500, 0, "", `{"id":1,"v":"b9"}`),
				dbzMySQL("u", "mysql-bin.000010", 4, 0, `{"id":1}`, `{"id":1,"v":"b10"}`),
				dbzMySQL("c", "mysql-bin.000010", 4, 1, "", `{"id":2,"v":"row1"}`),
				dbzMySQL("u", "mysql-bin.000010", 4, 0, `{"id":2}`, `{"id":2,"v":"row0"}`),
			}},
		}}},
}

// TestAthenaSQLOnDuckDBEqualsTheLocalEngine runs each case's batches through
// the local engine (one incremental run per batch) and through the generated
// SQL on DuckDB (state carried from batch to batch the same way), then
// requires the two tables to hold exactly the same rows.
func TestAthenaSQLOnDuckDBEqualsTheLocalEngine(t *testing.T) {
	dir := duckdbDir(t)
	for _, tc := range sqlCases {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			dest := filepath.Join(t.TempDir(), "table")
			spec := athena.Spec{Format: tc.format, Key: tc.key, Dialect: athena.DuckDB}
			var script []string
			var res Result
			prev := ""
			for i, batch := range tc.batches {
				writeObjects(t, src, batch...)
				res = rebuild(t, Options{Source: src, Format: tc.format, Key: tc.key, Dest: dest, PartitionBy: tc.partitionBy, MaxBadRecords: 10})
				var files []string
				for _, o := range batch {
					files = append(files, filepath.Join(src, filepath.FromSlash(o.key)))
				}
				state, err := spec.State(athena.DuckDBLines(files), prev)
				if err != nil {
					t.Fatal(err)
				}
				cur := fmt.Sprintf("state%d", i)
				script = append(script, "CREATE TEMP TABLE "+cur+" AS "+state)
				prev = cur
			}
			mb, err := os.ReadFile(filepath.Join(dest, snapshot.VersionPath(res.Version), snapshot.ManifestName))
			if err != nil {
				t.Fatal(err)
			}
			var m snapshot.Manifest
			if err := json.Unmarshal(mb, &m); err != nil {
				t.Fatal(err)
			}
			cols := athena.Columns(m.ColumnTypes, tc.partitionBy)
			table, err := spec.Table(prev, cols)
			if err != nil {
				t.Fatal(err)
			}
			// Written as Athena writes it: CTAS of the first partitions, then
			// INSERT batches (here 2 partitions per statement, to exercise it).
			var values []*string
			if tc.partitionBy != "" {
				seen := map[string]bool{}
				for _, f := range res.OutputFiles {
					if v, ok := strings.CutPrefix(strings.Split(strings.TrimPrefix(f.Path, snapshot.DataDir), "/")[0], tc.partitionBy+"="); ok && !seen[v] {
						seen[v] = true
						values = append(values, &v)
					}
				}
				sort.Slice(values, func(i, j int) bool { return *values[i] < *values[j] })
			}
			stmts := athena.Batches(athena.DuckDBCTAS("sqltable"), "sqltable", table, tc.partitionBy, values, 2)
			if tc.partitionBy != "" && len(values) > 2 && len(stmts) < 2 {
				t.Fatalf("no INSERT batches for %d partitions", len(values))
			}
			script = append(script, stmts...)
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = `"` + c.Name + `"`
			}
			sel := strings.Join(names, ", ")
			local := "(SELECT " + sel + " FROM read_parquet('" + strings.TrimSuffix(res.DataPath, "/") + "/**/*.parquet', hive_partitioning = true, hive_types_autocast = false))"
			script = append(script, "SELECT (SELECT count(*) FROM sqltable)::INTEGER AS sql_rows, (SELECT count(*) FROM "+local+" l)::INTEGER AS local_rows, "+
				"(SELECT count(*) FROM (SELECT "+sel+" FROM sqltable EXCEPT SELECT * FROM "+local+" l) x)::INTEGER AS only_sql, "+
				"(SELECT count(*) FROM (SELECT * FROM "+local+" l EXCEPT SELECT "+sel+" FROM sqltable) y)::INTEGER AS only_local")
			got := duckdbQuery(t, dir, strings.Join(script, ";\n"))
			if len(got) != 1 || fmt.Sprint(got[0]["sql_rows"]) != fmt.Sprint(res.LiveKeys) || fmt.Sprint(got[0]["only_sql"]) != "0" || fmt.Sprint(got[0]["only_local"]) != "0" {
				diff := duckdbQuery(t, dir, strings.Join(script[:len(script)-1], ";\n")+";\nSELECT 'sql' AS side, * FROM (SELECT "+sel+" FROM sqltable EXCEPT SELECT * FROM "+local+" l) UNION ALL SELECT 'local', * FROM (SELECT * FROM "+local+" l EXCEPT SELECT "+sel+" FROM sqltable)")
				t.Fatalf("SQL on DuckDB and the local engine differ (local live keys %d): %v\n%v", res.LiveKeys, got, diff)
			}
		})
	}
}
