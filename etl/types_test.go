package etl

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"
)

// Exact numbers: DynamoDB N values that do not fit int64 or have a fraction
// become DECIMAL(38, scale), not DOUBLE: cents and the digits of a 30-digit
// id are kept, and two 30-digit ids that differ in the last digit stay two
// rows. Read back by DuckDB (exact text) and Arrow.
func TestDynamoDBNumbersStayExact(t *testing.T) {
	img := func(id, amount, qty string) string {
		return `{"id":{"N":"` + id + `"},"amount":{"N":"` + amount + `"},"qty":{"N":"` + qty + `"}}`
	}
	ev := func(eid string, ms int64, id, amount, qty string) string {
		return `{"eventID":"` + eid + `","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":` + jsonInt(ms) +
			`,"Keys":{"id":{"N":"` + id + `"}},"NewImage":` + img(id, amount, qty) + `},"eventSource":"aws:dynamodb"}`
	}
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{
		ev("1", 1, "123456789012345678901234567890", "19.99", "1"),
		ev("2", 2, "123456789012345678901234567891", "0.10", "2"),
		ev("3", 3, "7", "1000000000000000000000.5", "99999999999999999999"), // qty beyond int64: decimal, not double
	}})
	dest := filepath.Join(t.TempDir(), "o.parquet")
	res := rebuild(t, Options{Source: src, Format: "dynamodb", Dest: dest})
	types := colTypes(res)
	if res.LiveKeys != 3 || types["id"] != "decimal(38,0)" || types["amount"] != "decimal(38,2)" || types["qty"] != "decimal(38,0)" {
		t.Fatalf("live %d, types %v", res.LiveKeys, types)
	}
	dir, ok := duckdbAvailable()
	if !ok {
		t.Skip("DuckDB not installed")
	}
	got := duckdbQuery(t, dir, "SELECT id::VARCHAR AS id, amount::VARCHAR AS amount, qty::VARCHAR AS qty, typeof(amount) AS t FROM read_parquet('"+dest+"') ORDER BY id::VARCHAR")
	want := `[{"amount":"19.99","id":"123456789012345678901234567890","qty":"1","t":"DECIMAL(38,2)"},` +
		`{"amount":"0.10","id":"123456789012345678901234567891","qty":"2","t":"DECIMAL(38,2)"},` +
		`{"amount":"1000000000000000000000.50","id":"7","qty":"99999999999999999999","t":"DECIMAL(38,2)"}]`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("DuckDB read\n%s\nwant\n%s", b, want)
	}
}

// Debezium's logical types (Debezium reference, Postgres and MySQL
// connectors, "Data type mappings"): Decimal keeps its declared precision
// and scale, VariableScaleDecimal becomes DECIMAL(38, largest scale), int16
// stays SMALLINT, Timestamp/MicroTimestamp/NanoTimestamp are local
// date-times (never shifted to UTC), ZonedTimestamp is an instant, Date is
// DATE, Time/MicroTime/NanoTime are TIME.
func TestDebeziumLogicalTypesKeepTheirMeaning(t *testing.T) {
	f := func(typ, name, field, params string) string {
		s := `{"type":"` + typ + `","optional":true,"field":"` + field + `"`
		if name != "" {
			s += `,"name":"` + name + `"`
		}
		if params != "" {
			s += `,"parameters":` + params
		}
		return s + "}"
	}
	fields := f("int32", "", "id", "") + "," + f("int16", "", "small", "") + "," +
		f("bytes", "org.apache.kafka.connect.data.Decimal", "price", `{"scale":"2","connect.decimal.precision":"10"}`) + "," +
		`{"type":"struct","optional":true,"name":"io.debezium.data.VariableScaleDecimal","field":"ratio","fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]},` +
		f("int32", "io.debezium.time.Date", "day", "") + "," +
		f("int64", "io.debezium.time.Timestamp", "ts_ms", "") + "," +
		f("int64", "io.debezium.time.MicroTimestamp", "ts_us", "") + "," +
		f("int64", "io.debezium.time.NanoTimestamp", "ts_ns", "") + "," +
		f("string", "io.debezium.time.ZonedTimestamp", "zoned", "") + "," +
		f("int32", "io.debezium.time.Time", "t_ms", "") + "," +
		f("int64", "io.debezium.time.MicroTime", "t_us", "") + "," +
		f("int64", "io.debezium.time.NanoTime", "t_ns", "")
	schema := `{"type":"struct","fields":[{"type":"struct","optional":true,"field":"before","fields":[` + fields + `]},{"type":"struct","optional":true,"field":"after","fields":[` + fields + `]}],"name":"shop.public.items.Envelope"}`
	b64 := func(b ...byte) string { return base64.StdEncoding.EncodeToString(b) }
	// 2023-11-14 22:13:20.123456 on the source's wall clock; 01:02:03.5 of a day.
	row := `{"id":1,"small":-2,"price":"` + b64(0x30, 0x39) + `","ratio":{"scale":3,"value":"` + b64(0xfe, 0x1e) + `"},"day":19000,` +
		`"ts_ms":1700000000123,"ts_us":1700000000123456,"ts_ns":1700000000123456789,"zoned":"2023-11-14T22:13:20.5Z",` +
		`"t_ms":3723500,"t_us":3723500000,"t_ns":3723500000001}`
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{`{"schema":` + schema + `,"payload":` + dbzEv("c", 10, "", row) + `}`}})
	dest := filepath.Join(t.TempDir(), "items.parquet")
	res := rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: dest})
	want := map[string]string{"id": "int32", "small": "int16", "price": "decimal(10,2)", "ratio": "decimal(38,3)", "day": "date",
		"ts_ms": "timestamp", "ts_us": "timestamp", "ts_ns": "timestamp_ns", "zoned": "timestamp with time zone",
		"t_ms": "time", "t_us": "time", "t_ns": "time_ns"}
	types := colTypes(res)
	for k, w := range want {
		if types[k] != w {
			t.Fatalf("column %s: %s, want %s (all: %v)", k, types[k], w, types)
		}
	}
	dir, ok := duckdbAvailable()
	if !ok {
		t.Skip("DuckDB not installed")
	}
	got := duckdbQuery(t, dir, `SELECT typeof(small) AS small_t, price::VARCHAR AS price, typeof(price) AS price_t, ratio::VARCHAR AS ratio, day::VARCHAR AS day,
		strftime(ts_ms, '%Y-%m-%d %H:%M:%S.%f') AS ts_ms, typeof(ts_ms) AS ts_t, strftime(ts_us, '%Y-%m-%d %H:%M:%S.%f') AS ts_us,
		ts_ns::VARCHAR AS ts_ns, epoch_ms(zoned) AS zoned_ms, typeof(zoned) AS zoned_t, t_ms::VARCHAR AS t_ms, t_us::VARCHAR AS t_us, typeof(t_us) AS t_t
		FROM read_parquet('`+dest+`')`)
	b, _ := json.Marshal(got)
	wantJSON := `[{"day":"2022-01-08","price":"123.45","price_t":"DECIMAL(10,2)","ratio":"-0.482","small_t":"SMALLINT","t_ms":"01:02:03.5","t_t":"TIME","t_us":"01:02:03.5",` +
		`"ts_ms":"2023-11-14 22:13:20.123000","ts_ns":"2023-11-14 22:13:20.123456789","ts_t":"TIMESTAMP","ts_us":"2023-11-14 22:13:20.123456","zoned_ms":"1700000000500","zoned_t":"TIMESTAMP WITH TIME ZONE"}]`
	if string(b) != wantJSON {
		t.Fatalf("DuckDB read\n%s\nwant\n%s", b, wantJSON)
	}
}

func colTypes(res Result) map[string]string {
	types := map[string]string{}
	for _, c := range res.Columns {
		types[c.Name] = c.Type
	}
	return types
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
