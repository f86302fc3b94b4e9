package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsctl/opsctl/etl/cdc"
	"github.com/opsctl/opsctl/etl/internal/pqread"
)

func TestWidening(t *testing.T) {
	tests := []struct {
		name   string
		values []any
		want   string
	}{
		{"int stays int", []any{int64(1), int64(2)}, "int64"},
		{"int and double widen to double", []any{int64(1), 2.5}, "double"},
		{"double then int stays double", []any{2.5, int64(1)}, "double"},
		{"number and string widen to string", []any{int64(1), 2.5, "x"}, "string"},
		{"bool and int widen to string", []any{true, int64(1)}, "string"},
		{"null never changes a type", []any{nil, int64(1), nil}, "int64"},
		{"only null is string", []any{nil, nil}, "string"},
		{"lists widen their elements", []any{[]any{int64(1)}, []any{2.5, nil}}, "list<double>"},
		{"empty list is a list of string", []any{[]any{}}, "list<string>"},
		{"structs take the union of fields", []any{map[string]any{"a": int64(1)}, map[string]any{"b": "x", "a": 1.5}}, "struct<a:double,b:string>"},
		{"struct and scalar widen to string", []any{map[string]any{"a": int64(1)}, int64(2)}, "string"},
		{"empty struct is string", []any{map[string]any{}}, "string"},
		{"binary and string widen to string", []any{[]byte{1}, "x"}, "string"},
		{"instants", []any{cdc.Timestamp(1), nil}, "timestamp with time zone"},
		{"local date-times", []any{cdc.LocalTimestamp(1), nil}, "timestamp"},
		{"local and nanosecond date-times", []any{cdc.LocalTimestamp(1), cdc.LocalTimestampNanos(1)}, "timestamp_ns"},
		{"instant and local date-time widen to string", []any{cdc.Timestamp(1), cdc.LocalTimestamp(1)}, "string"},
		{"times of day", []any{cdc.TimeOfDay(1), cdc.TimeOfDayNanos(2)}, "time_ns"},
		{"decimals take the most integer digits and the largest scale", []any{cdc.Decimal{Unscaled: 12345, Scale: 2}, cdc.Decimal{Unscaled: 1, Scale: 4}}, "decimal(38,4)"},
		{"int and decimal widen to an exact decimal", []any{int64(7), cdc.Decimal{Unscaled: 15, Scale: 1}}, "decimal(38,1)"},
		{"decimal and int widen to an exact decimal", []any{cdc.Decimal{Unscaled: 15, Scale: 1}, int64(7)}, "decimal(38,1)"},
		{"a decimal too wide for 38 digits is string", []any{cdc.Decimal{Unscaled: 1, Scale: 30}, int64(7)}, "string"},
		{"decimal and double widen to double", []any{cdc.Decimal{Unscaled: 15, Scale: 1}, 2.5}, "double"},
	}
	for _, tt := range tests {
		var typ *Type
		for _, v := range tt.values {
			typ = Observe(typ, v)
		}
		if got := Finalize(typ).String(); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestConvertWidenedValues(t *testing.T) {
	str := &Type{Kind: String}
	tests := []struct {
		v    any
		t    *Type
		want any
	}{
		{int64(9007199254740993), str, "9007199254740993"},
		{2.5, str, "2.5"},
		{true, str, "true"},
		{[]byte{0, 1}, str, "AAE="},
		{map[string]any{"a": int64(1), "b": []any{"x", nil}}, str, `{"a":1,"b":["x",null]}`},
		{int64(3), &Type{Kind: Double}, 3.0},
		{cdc.Date(1), str, "1970-01-02"},
	}
	for _, tt := range tests {
		if got := Convert(tt.v, tt.t); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Convert(%#v, %s) = %#v, want %#v", tt.v, tt.t, got, tt.want)
		}
	}
}

func writeRows(t *testing.T, dir string, single bool, part string, rows []map[string]any) []OutFile {
	t.Helper()
	s := NewSchema()
	for _, r := range rows {
		s.ObserveRow(r)
	}
	s.Finalize()
	w, err := NewWriter(dir, single, part, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r, 100); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestWriterOutputReadsBackWithArrow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.parquet")
	rows := []map[string]any{
		{"pk": "a", "n": int64(9007199254740993), "f": int64(1), "b": true, "bin": []byte{1, 2}, "tags": []any{"x", "y"}, "m": map[string]any{"c": "red", "n": int64(3)}, "ts": cdc.Timestamp(1700000000123456), "d": cdc.Date(19000)},
		{"pk": "b", "n": nil, "f": 2.5, "b": false, "tags": []any{}, "m": map[string]any{"c": nil}, "mixed": int64(1)},
		{"pk": "c", "mixed": "text"},
	}
	files := writeRows(t, path, true, "", rows)
	if len(files) != 1 || files[0].Rows != 3 {
		t.Fatalf("files %+v", files)
	}
	f, err := pqread.Read(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Codec != "zstd" {
		t.Errorf("codec %s, want zstd", f.Codec)
	}
	types := map[string]string{}
	for _, fl := range f.Schema.Fields() {
		types[fl.Name] = fl.Type.String()
	}
	wantTypes := map[string]string{"pk": "utf8", "n": "int64", "f": "float64", "b": "bool", "bin": "binary", "mixed": "utf8", "d": "date32",
		"ts": "timestamp[us, tz=UTC]"}
	for k, v := range wantTypes {
		if types[k] != v {
			t.Errorf("column %s: arrow type %s, want %s", k, types[k], v)
		}
	}
	if !strings.HasPrefix(types["tags"], "list<") || !strings.HasPrefix(types["m"], "struct<") {
		t.Errorf("nested types: tags %s, m %s", types["tags"], types["m"])
	}
	got, _ := json.Marshal(f.Rows)
	for _, want := range []string{`"n":9007199254740993`, `"f":2.5`, `"mixed":"1"`, `"mixed":"text"`, `"tags":["x","y"]`, `"c":"red"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("rows %s lack %s", got, want)
		}
	}
}

func TestWriterPartitionsHiveStyle(t *testing.T) {
	dir := t.TempDir()
	rows := []map[string]any{{"pk": "a", "country": "DE"}, {"pk": "b", "country": "FR"}, {"pk": "c", "country": "DE"}, {"pk": "d", "country": nil}, {"pk": "e", "country": "a/b"}}
	files := writeRows(t, dir, false, "country", rows)
	var paths []string
	for _, f := range files {
		paths = append(paths, fmt.Sprintf("%s:%d", f.Path, f.Rows))
	}
	want := "country=DE/part-00000.parquet:2,country=FR/part-00000.parquet:1,country=__HIVE_DEFAULT_PARTITION__/part-00000.parquet:1,country=a%2Fb/part-00000.parquet:1"
	if strings.Join(paths, ",") != want {
		t.Fatalf("files %v, want %s", paths, want)
	}
	got, _, err := pqread.ReadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0]["pk"] != "a" || got[0]["country"] != "DE" || got[1]["pk"] != "c" {
		t.Fatalf("rows %v", got)
	}
}

func TestLocalLock(t *testing.T) {
	ctx := context.Background()
	st := &LocalStore{Dir: t.TempDir()}
	now := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	me := NewLockInfo(now, "test")
	release, err := AcquireLock(ctx, st, me, false, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second run (this process is alive) is refused with who holds it.
	_, err = AcquireLock(ctx, st, me, false, now.Add(time.Minute), nil)
	var le *LockedError
	if !errors.As(err, &le) || le.Info.PID != os.Getpid() || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) || le.Stale {
		t.Fatalf("second lock: %v", err)
	}
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	// A lock left by a dead process on this host (kill -9) is broken.
	dead := me
	dead.PID = 1 << 22 // beyond pid_max: no such process
	b, _ := json.Marshal(dead)
	os.WriteFile(filepath.Join(st.Dir, LockName), b, 0o644)
	var warned string
	if _, err := AcquireLock(ctx, st, me, false, now, func(msg string, args ...any) { warned = msg }); err != nil || warned == "" {
		t.Fatalf("dead owner's lock not broken: %v (warned %q)", err, warned)
	}
	// Another host's lock is reported, stale after StaleAfter, broken only on request.
	st.Delete(ctx, LockName)
	other := LockInfo{Owner: "cron", Host: "elsewhere", PID: 42, Since: now.Add(-7 * time.Hour)}
	b, _ = json.Marshal(other)
	os.WriteFile(filepath.Join(st.Dir, LockName), b, 0o644)
	_, err = AcquireLock(ctx, st, me, false, now, nil)
	if !errors.As(err, &le) || !le.Stale || !strings.Contains(err.Error(), "cron@elsewhere pid 42") || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("stale foreign lock: %v", err)
	}
	if _, err := AcquireLock(ctx, st, me, true, now, nil); err != nil {
		t.Fatalf("--break-lock: %v", err)
	}
}

func TestPruneKeepsTheNewestOfTheChainAndRemovesOrphans(t *testing.T) {
	ctx := context.Background()
	st := &LocalStore{Dir: t.TempDir()}
	ms := map[string]*Manifest{}
	prev := ""
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		m := &Manifest{Version: v, PreviousVersion: prev}
		ms[v] = m
		b, _ := json.Marshal(m)
		st.Put(ctx, VersionPath(v)+ManifestName, b)
		st.Put(ctx, VersionPath(v)+DataDir+"part-00000.parquet", []byte("x"))
		prev = v
	}
	// A version folder of a killed run (named as opsctl names versions)...
	st.Put(ctx, VersionPath("20261124T070000.000Z-abcdef")+DataDir+"part-00000.parquet", []byte("half"))
	// ...and folders opsctl did not make: never deleted.
	st.Put(ctx, VersionPath("mine")+"notes.txt", []byte("the user's"))
	st.Put(ctx, VersionPath("20261124T070000.000Z-xyz")+"x", []byte("the user's"))
	deleted, err := Prune(ctx, st, ms["v4"], 2, func(v string) (*Manifest, error) { return ms[v], nil })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(deleted) != "[20261124T070000.000Z-abcdef v1 v2]" {
		t.Fatalf("deleted %v", deleted)
	}
	left, _ := st.List(ctx, VersionsDir)
	if len(left) != 6 {
		t.Fatalf("left %v", left)
	}
}

// TestNestedLevelsRoundTrip checks the hand-built repetition/definition
// levels on deep nesting against an independent reader (Arrow).
func TestNestedLevelsRoundTrip(t *testing.T) {
	rows := []map[string]any{
		{"pk": "a", "ls": []any{map[string]any{"x": int64(1), "tags": []any{"p", nil, "q"}}, nil, map[string]any{"x": nil, "tags": []any{}}},
			"ll": []any{[]any{int64(1), int64(2)}, []any{}, nil, []any{int64(3)}}, "s": map[string]any{"in": map[string]any{"deep": []any{2.5}}, "n": int64(7)}},
		{"pk": "b", "ls": nil, "ll": []any{}, "s": nil},
		{"pk": "c", "ls": []any{}, "ll": nil, "s": map[string]any{"in": nil, "n": nil}},
	}
	path := filepath.Join(t.TempDir(), "n.parquet")
	writeRows(t, path, true, "", rows)
	f, err := pqread.Read(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(f.Rows)
	want := `[{"ll":[[1,2],[],null,[3]],"ls":[{"tags":["p",null,"q"],"x":1},null,{"tags":[],"x":null}],"pk":"a","s":{"in":{"deep":[2.5]},"n":7}},` +
		`{"ll":[],"ls":null,"pk":"b","s":null},` +
		`{"ll":null,"ls":[],"pk":"c","s":{"in":null,"n":null}}]`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRowGroupsAreCutBySize(t *testing.T) {
	s := NewSchema()
	s.ObserveRow(map[string]any{"pk": "x", "n": int64(1)})
	s.Finalize()
	path := filepath.Join(t.TempDir(), "rg.parquet")
	w, err := NewWriter(path, true, "", s)
	if err != nil {
		t.Fatal(err)
	}
	w.RowGroupBytes = 64 << 10
	for i := 0; i < 20000; i++ {
		if err := w.Write(map[string]any{"pk": fmt.Sprintf("k%08d", i), "n": int64(i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := pqread.Read(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// 20000 rows × (9+4 + 8) bytes ≈ 420 KB → about 7 row groups of 64 KB
	if f.RowGroups < 5 || f.RowGroups > 9 || len(f.Rows) != 20000 {
		t.Fatalf("%d row groups, %d rows", f.RowGroups, len(f.Rows))
	}
}
