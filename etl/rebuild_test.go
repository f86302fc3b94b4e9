package etl

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opsctl/opsctl/etl/internal/pqread"
	"github.com/opsctl/opsctl/etl/snapshot"
)

// ---- fixtures ----

// ddbEv renders a Kinesis Data Streams for DynamoDB record.
func ddbEv(id, name string, ms int64, pk, newImage string) string {
	img := ""
	if newImage != "" {
		img = `,"NewImage":` + newImage
	}
	return fmt.Sprintf(`{"awsRegion":"eu-west-1","eventID":"%s","eventName":"%s","userIdentity":null,"recordFormat":"application/json","tableName":"orders","dynamodb":{"ApproximateCreationDateTime":%d,"Keys":{"pk":{"S":"%s"}}%s,"SizeBytes":10,"ApproximateCreationDateTimePrecision":"MILLISECOND"},"eventSource":"aws:dynamodb"}`,
		id, name, ms, pk, img)
}

func ddbImg(pk string, qty int64) string {
	return fmt.Sprintf(`{"pk":{"S":"%s"},"qty":{"N":"%d"}}`, pk, qty)
}

// dbzEv renders a bare Debezium Postgres change event.
func dbzEv(op string, lsn int64, before, after string) string {
	if before == "" {
		before = "null"
	}
	if after == "" {
		after = "null"
	}
	return fmt.Sprintf(`{"before":%s,"after":%s,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":%d,"db":"shop","schema":"public","table":"users","lsn":%d},"op":"%s","ts_ms":%d,"transaction":null}`,
		before, after, 1700000000000+lsn, lsn, op, 1700000000000+lsn)
}

type object struct {
	key  string
	recs []string
	gzip bool
	sep  string // between records: "\n" (NDJSON), "" (back to back)
}

func writeObjects(t testing.TB, dir string, objs ...object) {
	t.Helper()
	for _, o := range objs {
		var b []byte
		for _, r := range o.recs {
			b = append(b, r...)
			b = append(b, o.sep...)
		}
		if o.gzip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		p := filepath.Join(dir, filepath.FromSlash(o.key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rebuild(t testing.TB, opts Options) Result {
	t.Helper()
	res, err := Rebuild(context.Background(), Deps{}, opts)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	verifyPublished(t, opts, res)
	return res
}

// rowsOf reads the output (a file, or the current version of a directory)
// back with Arrow, keyed by the given column.
func rowsOf(t testing.TB, dest, keyCol string) map[string]map[string]any {
	t.Helper()
	var rows []map[string]any
	if strings.HasSuffix(dest, ".parquet") {
		f, err := pqread.Read(context.Background(), dest)
		if err != nil {
			t.Fatal(err)
		}
		rows = f.Rows
	} else {
		var ptr snapshot.Pointer
		b, err := os.ReadFile(filepath.Join(dest, snapshot.CurrentName))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(b, &ptr)
		rows, _, err = pqread.ReadDir(context.Background(), filepath.Join(dest, filepath.FromSlash(ptr.Data)))
		if err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]map[string]any{}
	var prev string
	for i, r := range rows {
		k := fmt.Sprint(r[keyCol])
		if _, dup := out[k]; dup {
			t.Fatalf("duplicate key %s in output", k)
		}
		if i > 0 && k < prev && !strings.Contains(dest, "partition") {
			t.Fatalf("rows not sorted by key: %s after %s", k, prev)
		}
		prev = k
		out[k] = r
	}
	return out
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ---- tests ----

func TestRebuildDynamoDBEveryTypeAndLayout(t *testing.T) {
	src := t.TempDir()
	all := `{"pk":{"S":"a"},"s":{"S":"x"},"n":{"N":"9007199254740993"},"d":{"N":"12.5"},"b":{"BOOL":true},"z":{"NULL":true},"bin":{"B":"AAE="},` +
		`"m":{"M":{"color":{"S":"red"},"size":{"N":"3"}}},"l":{"L":[{"S":"p"},{"S":"q"}]},"ss":{"SS":["u","v"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AAE="]}}`
	writeObjects(t, src,
		// gzip without a .gz suffix, newline-delimited, in a Firehose hour folder
		object{key: "2026/11/24/13/orders-1-2026-11-24-13-00-00-aaaa", gzip: true, sep: "\n", recs: []string{
			ddbEv("e1", "INSERT", 1000, "a", all),
			ddbEv("e2", "INSERT", 1001, "b", ddbImg("b", 1)),
		}},
		// back to back, no delimiter at all (Firehose's default)
		object{key: "2026/11/24/14/orders-1-2026-11-24-14-00-00-bbbb", sep: "", recs: []string{
			ddbEv("e3", "INSERT", 2000, "c", ddbImg("c", 3)),
			ddbEv("e4", "MODIFY", 2001, "b", ddbImg("b", 2)),
		}},
		// mixed in one file, gzip
		object{key: "year=2026/month=11/day=24/hour=15/orders-mixed", gzip: true, sep: "", recs: []string{
			ddbEv("e5", "INSERT", 3000, "d", ddbImg("d", 4)) + "\n",
			ddbEv("e6", "REMOVE", 3001, "c", ""),
			"\n" + ddbEv("e7", "INSERT", 3002, "e", ddbImg("e", 5)),
		}},
	)
	dest := filepath.Join(t.TempDir(), "orders.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
	if res.Records != 7 || res.LiveKeys != 4 || res.ObjectsRead != 3 || res.BadRecords != 0 || res.DeleteEvents != 1 {
		t.Fatalf("report %+v", res)
	}
	rows := rowsOf(t, dest, "pk")
	if len(rows) != 4 || rows["c"] != nil {
		t.Fatalf("rows %v", rows)
	}
	a := rows["a"]
	want := map[string]string{"s": `"x"`, "n": `9007199254740993`, "d": `12.5`, "b": `true`, "z": `null`, "bin": `"AAE="`,
		"m": `{"color":"red","size":3}`, "l": `["p","q"]`, "ss": `["u","v"]`, "ns": `[1,2]`, "bs": `["AAE="]`}
	for col, w := range want {
		if got := compact(a[col]); got != w {
			t.Errorf("column %s: got %s, want %s", col, got, w)
		}
	}
	if compact(rows["b"]["qty"]) != "2" || rows["b"]["s"] != nil {
		t.Errorf("row b: %v (an attribute absent from the latest image must be null)", rows["b"])
	}
	types := map[string]string{}
	for _, c := range res.Columns {
		types[c.Name] = c.Type
	}
	if types["n"] != "int64" || types["d"] != "decimal(38,1)" || types["m"] != "struct<color:string,size:int64>" || types["bs"] != "list<binary>" || types["z"] != "string" {
		t.Errorf("column types %v", types)
	}
}

func TestRebuildDebeziumBareAndWrapped(t *testing.T) {
	src := t.TempDir()
	schema := `{"type":"struct","fields":[{"type":"struct","optional":true,"field":"before","fields":[{"type":"int32","field":"id"}]},{"type":"struct","optional":true,"field":"after","fields":[{"type":"int32","field":"id"},{"type":"string","field":"name"},{"type":"int32","name":"io.debezium.time.Date","field":"born"},{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"seen"}]}]}`
	wrap := func(ev string) string { return `{"schema":` + schema + `,"payload":` + ev + `}` }
	writeObjects(t, src, object{key: "2026/11/24/13/users-1", sep: "\n", recs: []string{
		dbzEv("r", 10, "", `{"id":1,"name":"ann","born":19000,"seen":1700000000123456}`),
		wrap(dbzEv("r", 10, "", `{"id":2,"name":"bob","born":19001,"seen":1700000000000001}`)),
		dbzEv("c", 20, "", `{"id":3,"name":"cy","born":null,"seen":null}`),
		wrap(dbzEv("u", 30, `{"id":1}`, `{"id":1,"name":"ann2","born":19000,"seen":1700000000999999}`)),
		dbzEv("d", 40, `{"id":2,"name":"bob"}`, ""),
		`{"schema":null,"payload":null}`, // a tombstone: skipped
	}})
	dest := filepath.Join(t.TempDir(), "users.parquet")
	res := rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: dest})
	if res.LiveKeys != 2 || res.Skipped != 1 || res.BadRecords != 0 {
		t.Fatalf("report %+v", res)
	}
	rows := rowsOf(t, dest, "id")
	if rows["1"]["name"] != "ann2" || rows["3"]["name"] != "cy" || rows["2"] != nil {
		t.Fatalf("rows %v", rows)
	}
	types := map[string]string{}
	for _, c := range res.Columns {
		types[c.Name] = c.Type
	}
	if types["born"] != "date" || types["seen"] != "timestamp" || types["id"] != "int64" {
		t.Fatalf("logical types from the schema wrapper: %v", types)
	}
}

func TestRebuildOrdersOutOfOrderAndDuplicateEvents(t *testing.T) {
	src := t.TempDir()
	// Key k: v1 @1000, v2 @2000, v3 @3000 (microsecond precision ties below).
	writeObjects(t, src,
		object{key: "a/1", sep: "\n", recs: []string{ddbEv("e3", "MODIFY", 3000, "k", ddbImg("k", 3)), ddbEv("e1", "INSERT", 1000, "k", ddbImg("k", 1))}},
		object{key: "a/2", sep: "\n", recs: []string{ddbEv("e2", "MODIFY", 2000, "k", ddbImg("k", 2)), ddbEv("e3", "MODIFY", 3000, "k", ddbImg("k", 3))}},
		// microsecond precision: 5000.001 ms is after 5000.000 ms although both round to 5000 ms
		object{key: "a/3", sep: "", recs: []string{
			strings.Replace(strings.Replace(ddbEv("m2", "MODIFY", 5000001, "u", ddbImg("u", 2)), "MILLISECOND", "MICROSECOND", 1), `"ApproximateCreationDateTime":5000001`, `"ApproximateCreationDateTime":1700000005000001`, 1),
			strings.Replace(strings.Replace(ddbEv("m1", "INSERT", 5000000, "u", ddbImg("u", 1)), "MILLISECOND", "MICROSECOND", 1), `"ApproximateCreationDateTime":5000000`, `"ApproximateCreationDateTime":1700000005000000`, 1),
		}},
		// a repeated eventID is applied once: x2 is redelivered after y (same ms);
		// applied at its first delivery, y is last.
		object{key: "b/1", sep: "\n", recs: []string{ddbEv("x2", "MODIFY", 9000, "t", ddbImg("t", 20)), ddbEv("y2", "MODIFY", 9000, "t", ddbImg("t", 30))}},
		object{key: "b/2", sep: "\n", recs: []string{ddbEv("x2", "MODIFY", 9000, "t", ddbImg("t", 20))}},
	)
	dest := filepath.Join(t.TempDir(), "o.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
	rows := rowsOf(t, dest, "pk")
	if compact(rows["k"]["qty"]) != "3" || compact(rows["u"]["qty"]) != "2" || compact(rows["t"]["qty"]) != "30" {
		t.Fatalf("rows %v", rows)
	}
	if res.Duplicates != 2 {
		t.Fatalf("duplicates %d, want 2", res.Duplicates)
	}
}

func TestRebuildDeleteThenReinsertAndTruncate(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "x", sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1000, "k", ddbImg("k", 1)),
		ddbEv("2", "REMOVE", 2000, "k", ""),
		ddbEv("3", "INSERT", 3000, "k", ddbImg("k", 3)),
		ddbEv("4", "INSERT", 1000, "gone", ddbImg("gone", 1)),
		ddbEv("5", "REMOVE", 2000, "gone", ""),
	}})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
	rows := rowsOf(t, dest, "pk")
	if len(rows) != 1 || compact(rows["k"]["qty"]) != "3" {
		t.Fatalf("rows %v", rows)
	}

	src2 := t.TempDir()
	writeObjects(t, src2, object{key: "x", sep: "\n", recs: []string{
		dbzEv("c", 10, "", `{"id":1,"v":"old"}`),
		dbzEv("c", 11, "", `{"id":2,"v":"old"}`),
		dbzEv("t", 20, "", ""),
		dbzEv("c", 30, "", `{"id":3,"v":"new"}`),
		dbzEv("c", 31, "", `{"id":1,"v":"again"}`),
	}})
	dest2 := filepath.Join(t.TempDir(), "u.parquet")
	res := rebuild(t, Options{Source: src2, Format: "debezium", Key: []string{"id"}, Dest: dest2})
	rows = rowsOf(t, dest2, "id")
	if len(rows) != 2 || rows["1"]["v"] != "again" || rows["3"]["v"] != "new" || res.TruncateEvents != 1 {
		t.Fatalf("after truncate: %v", rows)
	}
}

func TestRebuildWidensConflictingTypes(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "x", sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1, "a", `{"pk":{"S":"a"},"num":{"N":"1"},"mix":{"N":"1"},"obj":{"M":{"x":{"N":"1"}}}}`),
		ddbEv("2", "INSERT", 2, "b", `{"pk":{"S":"b"},"num":{"N":"2.5"},"mix":{"S":"two"},"obj":{"S":"plain"}}`),
		ddbEv("3", "INSERT", 3, "c", `{"pk":{"S":"c"},"num":{"N":"3"},"mix":{"BOOL":true}}`),
	}})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
	types := map[string]string{}
	for _, c := range res.Columns {
		types[c.Name] = c.Type
	}
	// int + a fractional N widen to an exact decimal, not double
	if types["num"] != "decimal(38,1)" || types["mix"] != "string" || types["obj"] != "string" {
		t.Fatalf("types %v", types)
	}
	rows := rowsOf(t, dest, "pk")
	if compact(rows["a"]["num"]) != "1.0" || compact(rows["b"]["num"]) != "2.5" || rows["a"]["mix"] != "1" || rows["b"]["mix"] != "two" || rows["c"]["mix"] != "true" ||
		rows["a"]["obj"] != `{"x":1}` || rows["c"]["obj"] != nil {
		t.Fatalf("widened values %v", rows)
	}
}

func badSource(t *testing.T) string {
	src := t.TempDir()
	good := ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))
	writeObjects(t, src, object{key: "2026/obj-1", sep: "\n", recs: []string{
		good,
		good[:40],      // truncated JSON
		"garbage line", // not JSON
		`{"eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":5,"NewImage":{}}}`, // no key
		ddbEv("2", "INSERT", 2, "b", ddbImg("b", 2)),
	}})
	return src
}

// TestBadRecordLimitStopsReadingEarly: once the run cannot succeed (more
// bad records than --max-bad-records), it stops reading instead of
// decoding and quarantining the rest of the input (a wrong --key would
// otherwise copy every record into the quarantine file).
func TestBadRecordLimitStopsReadingEarly(t *testing.T) {
	src := t.TempDir()
	good := ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))
	noKey := `{"eventID":"x","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":5,"NewImage":{"a":{"S":"x"}}}}`
	var objs []object
	for i := 0; i < 4; i++ {
		recs := []string{good}
		for j := 0; j < 500; j++ {
			recs = append(recs, noKey)
		}
		objs = append(objs, object{key: fmt.Sprintf("2026/obj-%d", i), sep: "\n", recs: recs})
	}
	writeObjects(t, src, objs...)
	dest := filepath.Join(t.TempDir(), "out")
	res, err := Rebuild(context.Background(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 5, Workers: 2})
	if !errors.Is(err, ErrTooManyBad) {
		t.Fatalf("err %v", err)
	}
	// Each worker stops at its first bad record over the limit.
	if res.BadRecords < 6 || res.BadRecords > 7 {
		t.Fatalf("bad records %d, want 6 or 7 (limit 5, two workers)", res.BadRecords)
	}
	b, err := os.ReadFile(res.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); int64(n) != res.BadRecords {
		t.Fatalf("quarantine holds %d records, report says %d", n, res.BadRecords)
	}
	if _, _, ok, _ := snapshot.ReadCurrent(context.Background(), &snapshot.LocalStore{Dir: dest}); ok {
		t.Fatal("a snapshot was published")
	}
}

func TestBadRecordsAreQuarantinedWithObjectAndOffset(t *testing.T) {
	src := badSource(t)
	dest := filepath.Join(t.TempDir(), "tables", "o")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 3})
	if res.BadRecords != 3 || res.LiveKeys != 2 || res.Quarantine == "" {
		t.Fatalf("report %+v", res)
	}
	b, err := os.ReadFile(res.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("quarantine:\n%s", b)
	}
	good := ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))
	var q struct {
		Object string `json:"object"`
		Offset int64  `json:"offset"`
		Reason string `json:"reason"`
	}
	json.Unmarshal([]byte(lines[0]), &q)
	if q.Object != "2026/obj-1" || q.Offset != int64(len(good)+1) || !strings.Contains(q.Reason, "truncated") {
		t.Fatalf("first quarantined record %+v", q)
	}
	if !strings.HasPrefix(res.Quarantine, dest) {
		t.Fatalf("quarantine %s is not next to the output %s", res.Quarantine, dest)
	}
}

func TestBadRecordsOverTheLimitPublishNothing(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "o")
	// A good first snapshot...
	src := t.TempDir()
	writeObjects(t, src, object{key: "1", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
	first := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
	// ...then an increment with 3 bad records and a limit of 2.
	bad := badSource(t)
	os.Rename(filepath.Join(bad, "2026"), filepath.Join(src, "2026"))
	res, err := Rebuild(context.Background(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 2})
	if !errors.Is(err, ErrTooManyBad) || res.BadRecords != 3 {
		t.Fatalf("err %v, report %+v", err, res)
	}
	ptr, m, ok, err := snapshot.ReadCurrent(context.Background(), &snapshot.LocalStore{Dir: dest})
	if err != nil || !ok || ptr.Version != first.Version || m.RowCount != 1 {
		t.Fatalf("current changed: %+v %v", ptr, err)
	}
	if _, err := os.Stat(filepath.Join(dest, snapshot.LockName)); !os.IsNotExist(err) {
		t.Fatal("lock left behind")
	}
}

func TestEmptySourceAndFormatMismatchFail(t *testing.T) {
	empty := t.TempDir()
	_, err := Rebuild(context.Background(), Deps{}, Options{Source: empty, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet")})
	if !errors.Is(err, ErrEmptySource) || !strings.Contains(err.Error(), "no objects") {
		t.Fatalf("empty dir: %v", err)
	}
	blank := t.TempDir()
	writeObjects(t, blank, object{key: "x", recs: []string{"\n\n"}})
	_, err = Rebuild(context.Background(), Deps{}, Options{Source: blank, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet")})
	if !errors.Is(err, ErrEmptySource) {
		t.Fatalf("objects without records: %v", err)
	}
	dbzSrc := t.TempDir()
	writeObjects(t, dbzSrc, object{key: "x", sep: "\n", recs: []string{dbzEv("c", 1, "", `{"id":1}`), dbzEv("c", 2, "", `{"id":2}`)}})
	_, err = Rebuild(context.Background(), Deps{}, Options{Source: dbzSrc, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet"), MaxBadRecords: 100})
	if !errors.Is(err, ErrFormatMismatch) || !strings.Contains(err.Error(), "--format") {
		t.Fatalf("debezium read as dynamodb: %v", err)
	}
	ddbSrc := t.TempDir()
	writeObjects(t, ddbSrc, object{key: "x", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}})
	_, err = Rebuild(context.Background(), Deps{}, Options{Source: ddbSrc, Format: "debezium", Key: []string{"pk"}, Dest: filepath.Join(t.TempDir(), "o.parquet")})
	if !errors.Is(err, ErrFormatMismatch) {
		t.Fatalf("dynamodb read as debezium: %v", err)
	}
}

// genIncrements writes nFiles objects of random changes (out of order,
// duplicated, deletes, re-inserts, attribute types that change) and returns
// their keys in write order.
func genIncrements(t testing.TB, pad int, seed uint64, nFiles, perFile, keys int) []object {
	r := rand.New(rand.NewPCG(seed, 99))
	var objs []object
	var pendingLate []string
	for f := 0; f < nFiles; f++ {
		o := object{key: fmt.Sprintf("2026/11/24/%02d/part-%03d", f/4, f), gzip: f%2 == 0, sep: []string{"\n", ""}[f%3%2]}
		o.recs = append(o.recs, pendingLate...)
		pendingLate = nil
		for i := 0; i < perFile; i++ {
			ms := int64(1_000_000 + f*perFile + i) // never negative, even out of order
			if r.IntN(20) == 0 {
				ms -= int64(r.IntN(perFile)) // out of order
			}
			k := fmt.Sprintf("k%04d", r.IntN(keys))
			id := fmt.Sprintf("%d-%d", f, i)
			var rec string
			switch n := r.IntN(10); {
			case n == 0:
				rec = ddbEv(id, "REMOVE", ms, k, "")
			case n == 1:
				rec = ddbEv(id, "MODIFY", ms, k, fmt.Sprintf(`{"pk":{"S":"%s"},"qty":{"N":"%d.5"},"extra":{"S":"e%d"}}`, k, i, f))
			default:
				rec = ddbEv(id, "MODIFY", ms, k, fmt.Sprintf(`{"pk":{"S":"%s"},"qty":{"N":"%d"},"pad":{"S":"%s"}}`, k, i, strings.Repeat("p", pad)))
			}
			o.recs = append(o.recs, rec)
			if r.IntN(25) == 0 { // redelivered later, possibly in the next file
				if r.IntN(2) == 0 {
					o.recs = append(o.recs, rec)
				} else {
					pendingLate = append(pendingLate, rec)
				}
			}
		}
		objs = append(objs, o)
	}
	return objs
}

func TestIncrementalRunsEqualAFullRebuild(t *testing.T) {
	objs := genIncrements(t, 10, 7, 12, 150, 200)
	src := t.TempDir()
	inc := filepath.Join(t.TempDir(), "inc")
	var versions []string
	// Files arrive a few at a time; each run consumes only the new ones.
	for i := 0; i < len(objs); i += 3 {
		writeObjects(t, src, objs[i:i+3]...)
		res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: inc, Keep: 2, MemoryLimit: 16 << 20})
		if res.ObjectsRead != 3 || res.ObjectsSkipped != i || res.UpToDate {
			t.Fatalf("run %d read %d, skipped %d", i/3, res.ObjectsRead, res.ObjectsSkipped)
		}
		versions = append(versions, res.Version)
	}
	// Nothing new: no new version.
	again := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: inc})
	if !again.UpToDate || again.Version != versions[len(versions)-1] {
		t.Fatalf("re-run: %+v", again)
	}
	// Only 2 versions are kept.
	left, _ := os.ReadDir(filepath.Join(inc, "versions"))
	if len(left) != 2 {
		t.Fatalf("versions kept: %d", len(left))
	}
	full := filepath.Join(t.TempDir(), "full.parquet")
	rebuild(t, Options{Source: src, Format: "dynamodb", Dest: full})
	spilled := filepath.Join(t.TempDir(), "spilled")
	sres := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: spilled, Full: true, MemoryLimit: 16 << 20, Workers: 1})
	a, b, c := rowsOf(t, inc, "pk"), rowsOf(t, full, "pk"), rowsOf(t, spilled, "pk")
	if compact(a) != compact(b) || compact(c) != compact(b) {
		t.Fatalf("incremental (%d rows) / spilled (%d) differ from full (%d)", len(a), len(c), len(b))
	}
	_ = sres
	// --full on an existing destination also gives the same answer.
	fres := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: inc, Full: true})
	if !fres.Full || fres.ObjectsRead != len(objs) || compact(rowsOf(t, inc, "pk")) != compact(b) {
		t.Fatalf("--full: %+v", fres)
	}
}

func TestSpillUnderATinyMemoryLimit(t *testing.T) {
	objs := genIncrements(t, 3000, 3, 6, 2000, 5000)
	src := t.TempDir()
	writeObjects(t, src, objs...)
	full := filepath.Join(t.TempDir(), "full.parquet")
	rebuild(t, Options{Source: src, Format: "dynamodb", Dest: full})
	spill := filepath.Join(t.TempDir(), "spill.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: spill, MemoryLimit: 16 << 20, TempDir: t.TempDir()})
	if res.SpilledRuns < 2 {
		t.Fatalf("no spill: %d runs", res.SpilledRuns)
	}
	if compact(rowsOf(t, spill, "pk")) != compact(rowsOf(t, full, "pk")) {
		t.Fatal("spilled rebuild differs")
	}
}

func TestDryRunListsPendingAndWritesNothing(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "b", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}},
		object{key: "a", sep: "\n", recs: []string{ddbEv("2", "INSERT", 2, "b", ddbImg("b", 1))}})
	dest := filepath.Join(t.TempDir(), "o")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, DryRun: true})
	if compact(res.PendingObjects) != `["a","b"]` {
		t.Fatalf("pending %v", res.PendingObjects)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("dry run wrote the destination")
	}
}

func TestPartitionByWritesHiveFolders(t *testing.T) {
	src := t.TempDir()
	img := func(pk, c string) string { return fmt.Sprintf(`{"pk":{"S":"%s"},"country":{"S":"%s"}}`, pk, c) }
	writeObjects(t, src, object{key: "x", sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1, "a", img("a", "DE")), ddbEv("2", "INSERT", 2, "b", img("b", "FR")), ddbEv("3", "INSERT", 3, "c", img("c", "DE")),
	}})
	dest := filepath.Join(t.TempDir(), "partitioned")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, PartitionBy: "country"})
	var paths []string
	for _, f := range res.OutputFiles {
		paths = append(paths, f.Path)
	}
	sort.Strings(paths)
	if compact(paths) != `["data/country=DE/part-00000.parquet","data/country=FR/part-00000.parquet"]` {
		t.Fatalf("files %v", paths)
	}
	rows := rowsOf(t, dest, "pk")
	if rows["a"]["country"] != "DE" || rows["b"]["country"] != "FR" {
		t.Fatalf("rows %v", rows)
	}
}

func TestValidateRejectsBadOptionsBeforeIO(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no source", Options{Format: "dynamodb", Dest: "x.parquet"}, "--source"},
		{"no dest", Options{Source: "s3://b/p/", Format: "dynamodb"}, "--dest"},
		{"bad format", Options{Source: "s3://b/p/", Format: "avro", Dest: "o"}, "--format"},
		{"debezium without key", Options{Source: "s3://b/p/", Format: "debezium", Dest: "o"}, "--key"},
		{"s3 parquet object", Options{Source: "s3://b/p/", Format: "dynamodb", Dest: "s3://b/t.parquet"}, "prefix"},
		{"partition single file", Options{Source: "s3://b/p/", Format: "dynamodb", Dest: "o.parquet", PartitionBy: "c"}, "--partition-by"},
		{"dest inside source", Options{Source: "/data/cdc", Format: "dynamodb", Dest: "/data/cdc/out"}, "inside"},
		{"negative limit", Options{Source: "s3://b/p/", Format: "dynamodb", Dest: "o", MaxBadRecords: -1}, "--max-bad-records"},
		{"tiny memory", Options{Source: "s3://b/p/", Format: "dynamodb", Dest: "o", MemoryLimit: 1000}, "--memory-limit"},
		{"gs", Options{Source: "gs://b/p/", Format: "dynamodb", Dest: "o"}, "--source"},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "512MiB": 512 << 20, "2GB": 2e9, "1g": 1 << 30, "100": 100, "64M": 64 << 20} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1GiB", "1PB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestProgressIsReported(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1))}},
		object{key: "b", sep: "\n", recs: []string{ddbEv("2", "INSERT", 2, "b", ddbImg("b", 1))}})
	var last Progress
	phases := map[string]bool{}
	opts := Options{Source: src, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o"), Progress: func(p Progress) {
		last = p
		phases[p.Phase] = true
	}}
	rebuild(t, opts)
	if !phases["read"] || !phases["merge"] || !phases["write"] || !phases["publish"] {
		t.Fatalf("phases %v", phases)
	}
	if last.ObjectsDone != 2 || last.ObjectsTotal != 2 || last.Records != 2 || last.BytesDone != last.BytesTotal {
		t.Fatalf("last progress %+v", last)
	}
}

func TestUndecodableWinningImageIsQuarantined(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "x", sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)),
		ddbEv("2", "INSERT", 2, "b", `{"pk":{"S":"b"},"bin":{"B":"not base64!"}}`),
	}})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	if _, err := Rebuild(context.Background(), Deps{}, Options{Source: src, Format: "dynamodb", Dest: dest}); !errors.Is(err, ErrTooManyBad) {
		t.Fatalf("err %v", err)
	}
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 1})
	if res.BadRecords != 1 || res.LiveKeys != 1 || len(rowsOf(t, dest, "pk")) != 1 {
		t.Fatalf("report %+v", res)
	}
}
