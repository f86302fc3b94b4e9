package etl

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func nestedM(depth int) string {
	return strings.Repeat(`{"M":{"x":`, depth) + `{"N":"1"}` + strings.Repeat(`}}`, depth)
}

func nestedJSON(depth int) string {
	return strings.Repeat(`{"x":`, depth) + `1` + strings.Repeat(`}`, depth)
}

// No input may panic. A value nested 255 levels or deeper used to panic
// inside the Parquet writer (definition levels are bytes): from 64 levels
// down it is now stored as JSON text, and the file reads back in DuckDB and
// Arrow. A value nested beyond 10000 levels is a bad record (the decoders
// would otherwise exhaust the stack).
func TestDeeplyNestedValuesNeverPanic(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{
		ddbEv("1", "INSERT", 1, "a", `{"pk":{"S":"a"},"deep":`+nestedM(300)+`}`),
		ddbEv("2", "INSERT", 2, "b", `{"pk":{"S":"b"}}`),
		ddbEv("3", "INSERT", 3, "c", `{"pk":{"S":"c"},"deep":`+nestedM(20000)+`}`),
	}})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 1})
	if res.LiveKeys != 2 || res.BadRecords != 1 {
		t.Fatalf("report %+v", res)
	}
	rows := rowsOf(t, dest, "pk")
	deep, _ := rows["a"]["deep"].(map[string]any)
	for i := 1; i < 64 && deep != nil; i++ {
		deep, _ = deep["x"].(map[string]any)
	}
	if s, ok := deep["x"].(string); !ok || !strings.HasPrefix(s, `{"x":{"x":`) {
		t.Fatalf("level 64 is not JSON text: %v", deep)
	}

	src = t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{
		dbzEv("c", 1, "", `{"id":1,"deep":`+nestedJSON(400)+`}`),
		dbzEv("c", 2, "", `{"id":2,"deep":`+nestedJSON(30000)+`}`),
	}})
	res = rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: filepath.Join(t.TempDir(), "u.parquet"), MaxBadRecords: 1})
	if res.LiveKeys != 1 || res.BadRecords != 1 {
		t.Fatalf("debezium report %+v", res)
	}
}

// Malformed envelopes and numbers are bad records (quarantined, counted),
// never last-one-wins, never a panic: duplicate member names, NaN,
// Infinity, underflowing or out-of-range N, and negative, fractional or
// overflowing ApproximateCreationDateTime.
func TestMalformedEnvelopesAndNumbersAreBadRecords(t *testing.T) {
	good := ddbEv("ok", "INSERT", 1, "ok", ddbImg("ok", 1))
	withN := func(id, n string) string {
		return ddbEv(id, "INSERT", 2, id, `{"pk":{"S":"`+id+`"},"n":{"N":"`+n+`"}}`)
	}
	withTS := func(id, ts string) string {
		return strings.Replace(ddbEv(id, "INSERT", 2, id, ddbImg(id, 1)), `"ApproximateCreationDateTime":2`, `"ApproximateCreationDateTime":`+ts, 1)
	}
	bad := []string{
		strings.Replace(good, `"eventName":"INSERT"`, `"eventName":"REMOVE","eventName":"INSERT"`, 1),
		strings.Replace(good, `"Keys":{"pk":{"S":"ok"}}`, `"Keys":{"pk":{"S":"other"}},"Keys":{"pk":{"S":"ok"}}`, 1),
		strings.Replace(good, `"Keys":{"pk":{"S":"ok"}}`, `"Keys":{"pk":{"S":"ok"},"pk":{"S":"x"}}`, 1),
		strings.Replace(good, `"Keys":{"pk":{"S":"ok"}}`, `"Keys":{"pk":{"S":"ok","N":"1"}}`, 1),
		withN("nan", "NaN"), withN("inf", "Infinity"), withN("ninf", "-Infinity"), withN("under", "1e-400"),
		withN("over", "1E+200"), withN("digits", "1234567890123456789012345678901234567890"),
		withTS("neg", "-1"), withTS("frac", "1700000000000.5"), withTS("exp", "1.7e12"), withTS("huge", "99999999999999999999"),
		withTS("overflow", "9223372036854776"),
	}
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: append([]string{good}, bad...)})
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet"), MaxBadRecords: 100})
	if res.LiveKeys != 1 || res.BadRecords != int64(len(bad)) {
		t.Fatalf("live %d bad %d, want 1 and %d; quarantine %s", res.LiveKeys, res.BadRecords, len(bad), res.Quarantine)
	}

	dgood := dbzEv("c", 1, "", `{"id":1}`)
	dbad := []string{
		strings.Replace(dgood, `"op":"c"`, `"op":"d","op":"c"`, 1),
		strings.Replace(dgood, `"lsn":1`, `"lsn":1,"lsn":9`, 1),
		`{"schema":null,"payload":` + dgood + `,"payload":` + dgood + `}`,
		dbzEv("c", 2, "", `{"id":NaN}`),
	}
	src = t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: append([]string{dgood}, dbad...)})
	res = rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: filepath.Join(t.TempDir(), "u.parquet"), MaxBadRecords: 100})
	if res.LiveKeys != 1 || res.BadRecords != int64(len(dbad)) {
		t.Fatalf("debezium: live %d bad %d, want 1 and %d", res.LiveKeys, res.BadRecords, len(dbad))
	}
}

// Invalid UTF-8 (raw bytes, or an escaped lone surrogate) in a value or a
// column name is never published: such a string makes DuckDB refuse the
// whole file. The decision is to quarantine the record, not to repair it:
// the rest of the table is published and readable, and the quarantine keeps
// the exact bytes (record_base64).
func TestInvalidUTF8IsQuarantinedNotPublished(t *testing.T) {
	bad := []string{
		ddbEv("1", "INSERT", 1, "a", `{"pk":{"S":"a"},"name":{"S":"caf`+"\xe9"+`"}}`),
		ddbEv("2", "INSERT", 2, "b", `{"pk":{"S":"b"},"name":{"S":"x\ud800y"}}`),
		ddbEv("3", "INSERT", 3, "c", `{"pk":{"S":"c"},"n`+"\xff"+`me":{"S":"x"}}`),
		ddbEv("4", "INSERT", 4, "d", `{"pk":{"S":"d"},"\udc00":{"S":"x"}}`),
		ddbEv("5", "INSERT", 5, "e", `{"pk":{"S":"e"},"tags":{"SS":["ok","`+"\xc3\x28"+`"]}}`),
	}
	good := ddbEv("9", "INSERT", 9, "z", `{"pk":{"S":"z"},"name":{"S":"caf\u00e9 \ud83d\ude00"}}`)
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: append(bad, good)})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest, MaxBadRecords: 10}) // read back by DuckDB and Arrow
	if res.LiveKeys != 1 || res.BadRecords != int64(len(bad)) {
		t.Fatalf("report %+v", res)
	}
	if got := rowsOf(t, dest, "pk")["z"]["name"]; got != "café 😀" {
		t.Fatalf("valid text changed: %q", got)
	}
	f, err := os.Open(res.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		var q struct {
			Reason       string `json:"reason"`
			Record       string `json:"record"`
			RecordBase64 []byte `json:"record_base64"`
		}
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatalf("quarantine line %d: %v", n, err)
		}
		if !strings.Contains(q.Reason, "UTF-8") {
			t.Errorf("reason %q", q.Reason)
		}
		// the row image, byte for byte (invalid UTF-8 kept in record_base64)
		orig, found := string(q.RecordBase64)+q.Record, false
		for _, b := range bad {
			found = found || (len(orig) > 10 && strings.Contains(b, orig))
		}
		if !found {
			t.Errorf("quarantined record %d is not the original bytes: %q", n, orig)
		}
	}
	if n != len(bad) {
		t.Fatalf("%d quarantined, want %d", n, len(bad))
	}
}
