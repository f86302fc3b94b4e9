package cdc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func ddbRec(eventName, keys, extra string) string {
	return `{"awsRegion":"eu-west-1","eventID":"0c3b2f5e-9f1a-4a8e-b1d2-3f4a5b6c7d8e","eventName":"` + eventName +
		`","dynamodb":{"ApproximateCreationDateTime":1700000000123,"Keys":` + keys + extra + `,"SizeBytes":10},"eventSource":"aws:dynamodb"}`
}

func TestDynamoDBDecode(t *testing.T) {
	d := &DynamoDB{}
	tests := []struct {
		name    string
		rec     string
		op      Op
		pos     int64
		image   string
		wantErr error
		errText string
	}{
		{"insert", ddbRec("INSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{"pk":{"S":"a"}}`), OpUpsert, 1700000000123000, `{"pk":{"S":"a"}}`, nil, ""},
		{"modify", ddbRec("MODIFY", `{"pk":{"S":"a"}}`, `,"NewImage":{"pk":{"S":"a"},"n":{"N":"1"}},"OldImage":{"pk":{"S":"a"}}`), OpUpsert, 1700000000123000, `{"pk":{"S":"a"},"n":{"N":"1"}}`, nil, ""},
		{"remove", ddbRec("REMOVE", `{"pk":{"S":"a"}}`, `,"OldImage":{"pk":{"S":"a"}}`), OpDelete, 1700000000123000, "", nil, ""},
		{"microsecond precision", strings.Replace(ddbRec("INSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{},"ApproximateCreationDateTimePrecision":"MICROSECOND"`), "1700000000123", "1700000000123456", 1), OpUpsert, 1700000000123456, "{}", nil, ""},
		{"millisecond value labelled microsecond", ddbRec("INSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{},"ApproximateCreationDateTimePrecision":"MICROSECOND"`), OpUpsert, 1700000000123000, "{}", nil, ""},
		{"no keys", ddbRec("INSERT", `{}`, `,"NewImage":{}`), 0, 0, "", ErrNoKey, ""},
		{"insert without new image", ddbRec("INSERT", `{"pk":{"S":"a"}}`, ``), 0, 0, "", nil, "without NewImage"},
		{"debezium record read as dynamodb", `{"before":null,"after":{"id":1},"source":{"lsn":5},"op":"c","ts_ms":1}`, 0, 0, "", ErrMismatch, ""},
		{"truncated", ddbRec("INSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{}`)[:60], 0, 0, "", errSyntax, ""},
		{"unknown event name", ddbRec("UPSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{}`), 0, 0, "", nil, "unknown eventName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Change
			err := d.Decode([]byte(tt.rec), &c)
			if tt.wantErr != nil || tt.errText != "" {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Op != tt.op || c.Pos[0] != tt.pos || string(c.Image) != tt.image || !c.HasEventID {
				t.Fatalf("got op %v pos %v image %s; want %v %v %s", c.Op, c.Pos, c.Image, tt.op, tt.pos, tt.image)
			}
		})
	}
}

func TestDynamoDBKeyIgnoresAttributeOrderAndSortsNumerically(t *testing.T) {
	d := &DynamoDB{}
	key := func(keys string) []byte {
		var c Change
		if err := d.Decode([]byte(ddbRec("REMOVE", keys, "")), &c); err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(c.Key)
	}
	a := key(`{"pk":{"S":"x"},"sk":{"N":"5"}}`)
	b := key(`{"sk":{"N":"5"},"pk":{"S":"x"}}`)
	if !bytes.Equal(a, b) {
		t.Fatal("hash+range key depends on attribute order")
	}
	if bytes.Compare(key(`{"n":{"N":"9"}}`), key(`{"n":{"N":"10"}}`)) >= 0 {
		t.Fatal("numeric keys do not sort numerically")
	}
	if bytes.Compare(key(`{"n":{"N":"-3"}}`), key(`{"n":{"N":"2"}}`)) >= 0 {
		t.Fatal("negative keys do not sort first")
	}
	if bytes.Equal(key(`{"pk":{"S":"a"},"sk":{"S":"bc"}}`), key(`{"pk":{"S":"ab"},"sk":{"S":"c"}}`)) {
		t.Fatal("composite keys collide")
	}
	sel := &DynamoDB{KeyAttrs: []string{"pk"}}
	var c Change
	if err := sel.Decode([]byte(ddbRec("REMOVE", `{"pk":{"S":"x"},"sk":{"N":"5"}}`, "")), &c); err != nil {
		t.Fatal(err)
	}
	if err := sel.Decode([]byte(ddbRec("REMOVE", `{"sk":{"N":"5"}}`, "")), &c); !errors.Is(err, ErrNoKey) {
		t.Fatalf("--key attribute missing from Keys: err = %v", err)
	}
}

func TestDynamoDBImageTypes(t *testing.T) {
	img := `{"s":{"S":"héllo \"q\""},"big":{"N":"9007199254740993"},"neg":{"N":"-42"},"dec":{"N":"12.50"},"exp":{"N":"1e3"},
	"b":{"BOOL":true},"nul":{"NULL":true},"bin":{"B":"` + base64.StdEncoding.EncodeToString([]byte{0, 1, 2}) + `"},
	"m":{"M":{"x":{"N":"1"},"y":{"L":[{"S":"a"},{"N":"2.5"}]}}},"l":{"L":[{"S":"a"},{"NULL":true}]},
	"ss":{"SS":["a","b"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AAE="]}}`
	row, err := (&DynamoDB{}).DecodeImage([]byte(img), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		// numbers stay exact: 12.50 is 1250 at scale 2, 1e3 is the integer 1000
		"s": `héllo "q"`, "big": int64(9007199254740993), "neg": int64(-42), "dec": Decimal{Unscaled: 1250, Scale: 2}, "exp": int64(1000),
		"b": true, "nul": nil, "bin": []byte{0, 1, 2},
		"m":  map[string]any{"x": int64(1), "y": []any{"a", Decimal{Unscaled: 25, Scale: 1}}},
		"l":  []any{"a", nil},
		"ss": []any{"a", "b"}, "ns": []any{int64(1), Decimal{Unscaled: 25, Scale: 1}}, "bs": []any{[]byte{0, 1}},
	}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("got  %#v\nwant %#v", row, want)
	}
	if _, err := (&DynamoDB{}).DecodeImage([]byte(`{"x":{"Q":"1"}}`), nil); err == nil {
		t.Fatal("unknown attribute type accepted")
	}
}

func dbz(op, before, after, source string) string {
	return `{"before":` + before + `,"after":` + after + `,"source":` + source + `,"op":"` + op + `","ts_ms":1700000000999}`
}

func TestDebeziumDecode(t *testing.T) {
	d := &Debezium{KeyCols: []string{"id"}}
	pg := `{"connector":"postgresql","lsn":123456,"ts_ms":1700000000000}`
	my := `{"connector":"mysql","file":"mysql-bin.000042","pos":1234,"row":2,"ts_ms":1700000000000}`
	tests := []struct {
		name    string
		rec     string
		op      Op
		pos     Position
		image   string
		schema  bool
		wantErr error
	}{
		{"create", dbz("c", "null", `{"id":1,"v":"a"}`, pg), OpUpsert, Position{123456, 0, 0, 1700000000999}, `{"id":1,"v":"a"}`, false, nil},
		{"snapshot read", dbz("r", "null", `{"id":1}`, pg), OpUpsert, Position{123456, 0, 0, 1700000000999}, `{"id":1}`, false, nil},
		{"update", dbz("u", `{"id":1}`, `{"id":1,"v":"b"}`, pg), OpUpsert, Position{123456, 0, 0, 1700000000999}, `{"id":1,"v":"b"}`, false, nil},
		{"delete keyed by before", dbz("d", `{"id":1}`, "null", pg), OpDelete, Position{123456, 0, 0, 1700000000999}, "", false, nil},
		{"truncate", dbz("t", "null", "null", pg), OpTruncate, Position{123456, 0, 0, 1700000000999}, "", false, nil},
		{"mysql position", dbz("c", "null", `{"id":1}`, my), OpUpsert, Position{42, 1234, 2, 1700000000999}, `{"id":1}`, false, nil},
		{"wrapped with schema", `{"schema":{"type":"struct"},"payload":` + dbz("c", "null", `{"id":1}`, pg) + `}`, OpUpsert, Position{123456, 0, 0, 1700000000999}, `{"id":1}`, true, nil},
		{"tombstone", `{"schema":null,"payload":null}`, 0, Position{}, "", false, ErrSkip},
		{"delete without before", dbz("d", "null", "null", pg), 0, Position{}, "", false, ErrNoKey},
		{"missing key column", dbz("c", "null", `{"other":1}`, pg), 0, Position{}, "", false, ErrNoKey},
		{"dynamodb record read as debezium", ddbRec("INSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{}`), 0, Position{}, "", false, ErrMismatch},
		{"garbage", `{"op":"c","after":{"id":1`, 0, Position{}, "", false, errSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Change
			err := d.Decode([]byte(tt.rec), &c)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Op != tt.op || c.Pos != tt.pos || string(c.Image) != tt.image || (len(c.Schema) > 0) != tt.schema || c.HasEventID {
				t.Fatalf("got op %v pos %v image %s schema %s", c.Op, c.Pos, c.Image, c.Schema)
			}
			if c.Op != OpTruncate && len(c.Key) == 0 {
				t.Fatal("no key")
			}
		})
	}
}

func TestDebeziumImageTypesWithoutSchema(t *testing.T) {
	row, err := (&Debezium{KeyCols: []string{"id"}}).DecodeImage([]byte(`{"id":9007199254740993,"f":1.5,"s":"x","b":false,"n":null,"l":[1,"a"],"o":{"k":2}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": int64(9007199254740993), "f": 1.5, "s": "x", "b": false, "n": nil, "l": []any{int64(1), "a"}, "o": map[string]any{"k": int64(1 + 1)}}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("got %#v\nwant %#v", row, want)
	}
}

func TestDebeziumImageLogicalTypes(t *testing.T) {
	schema := `{"type":"struct","fields":[{"type":"struct","optional":true,"field":"before","fields":[]},{"type":"struct","optional":true,"field":"after","fields":[
	{"type":"int32","field":"id"},
	{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"price"},
	{"type":"int32","name":"io.debezium.time.Date","field":"day"},
	{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"at"},
	{"type":"int64","name":"io.debezium.time.Timestamp","field":"at_ms"},
	{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"zoned"},
	{"type":"bytes","field":"raw"},
	{"type":"double","field":"ratio"},
	{"type":"string","name":"io.debezium.data.Json","field":"doc"}]}]}`
	// 12345 (unscaled, scale 2) = 123.45; big-endian two's complement 0x3039
	price := base64.StdEncoding.EncodeToString([]byte{0x30, 0x39})
	neg := base64.StdEncoding.EncodeToString([]byte{0xff, 0x85}) // -123 → -1.23
	img := `{"id":1,"price":"` + price + `","day":19000,"at":1700000000123456,"at_ms":1700000000123,"zoned":"2023-11-14T22:13:20.5Z","raw":"AAE=","ratio":2,"doc":"{\"a\":1}"}`
	row, err := (&Debezium{KeyCols: []string{"id"}}).DecodeImage([]byte(img), []byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	// Timestamp and MicroTimestamp carry no zone (local date-times);
	// ZonedTimestamp is an instant.
	want := map[string]any{"id": int64(1), "price": Decimal{Unscaled: 12345, Scale: 2}, "day": Date(19000), "at": LocalTimestamp(1700000000123456), "at_ms": LocalTimestamp(1700000000123000),
		"zoned": Timestamp(1700000000500000), "raw": []byte{0, 1}, "ratio": 2.0, "doc": `{"a":1}`}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("got  %#v\nwant %#v", row, want)
	}
	row, err = (&Debezium{KeyCols: []string{"id"}}).DecodeImage([]byte(`{"id":2,"price":"`+neg+`"}`), []byte(schema))
	if err != nil || row["price"] != (Decimal{Unscaled: -123, Scale: 2}) {
		t.Fatalf("negative decimal: %v %v", row, err)
	}
}

func TestEventIDBytes(t *testing.T) {
	a := eventIDBytes([]byte("0c3b2f5e-9f1a-4a8e-b1d2-3f4a5b6c7d8e"))
	b := eventIDBytes([]byte("0c3b2f5e-9f1a-4a8e-b1d2-3f4a5b6c7d8f"))
	c := eventIDBytes([]byte("short"))
	d := eventIDBytes([]byte("a-much-longer-event-identifier-than-sixteen"))
	e := eventIDBytes([]byte("a-much-longer-event-identifier-than-sixteeN"))
	if a == b || c == d || d == e || a == c {
		t.Fatal("distinct event ids collide")
	}
	want := [16]byte{0x0c, 0x3b, 0x2f, 0x5e, 0x9f, 0x1a, 0x4a, 0x8e, 0xb1, 0xd2, 0x3f, 0x4a, 0x5b, 0x6c, 0x7d, 0x8e}
	if a != want {
		t.Fatalf("UUID bytes: got %x, want %x", a, want)
	}
	if up := eventIDBytes([]byte("0C3B2F5E-9F1A-4A8E-B1D2-3F4A5B6C7D8E")); up != want {
		t.Fatalf("upper-case UUID: got %x, want %x", up, want)
	}
	// Not hex: hashed like any other long id, so not confused with a UUID.
	notHex := eventIDBytes([]byte("0c3b2f5e-9f1a-4a8e-b1d2-3f4a5b6c7d8g"))
	if notHex == a || notHex == eventIDBytes([]byte("0c3b2f5e-9f1a-4a8e-b1d2-3f4a5b6c7d80")) {
		t.Fatal("an id with a non-hex digit collides with a UUID")
	}
}

func seedsDynamoDB() []string {
	return []string{
		ddbRec("INSERT", `{"pk":{"S":"a"}}`, `,"NewImage":{"pk":{"S":"a"},"n":{"N":"1"}}`),
		ddbRec("REMOVE", `{"pk":{"S":"a"},"sk":{"N":"-1.5"}}`, `,"OldImage":{}`),
		ddbRec("MODIFY", `{"pk":{"B":"AAE="}}`, `,"NewImage":{"m":{"M":{"l":{"L":[{"SS":["x"]}]}}}}`),
		`{"eventName":"INSERT","dynamodb":{}}`, `{}`, `{"a":"\u00e9\ud83d\ude00"}`,
	}
}

func seedsDebezium() []string {
	return []string{
		dbz("c", "null", `{"id":1,"v":[1,{"a":null}]}`, `{"lsn":5}`),
		dbz("d", `{"id":"x"}`, "null", `{"file":"bin.000001","pos":4,"row":0}`),
		dbz("t", "null", "null", `{"lsn":9}`),
		`{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","fields":[{"field":"id","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"1"}}]}]},"payload":` + dbz("c", "null", `{"id":"AQ=="}`, `{"lsn":1}`) + `}`,
		`{"payload":null}`, `{"op":"x"}`,
	}
}

// fuzzDecoder checks that a decoder never panics, that Decode and
// DecodePrefix agree, and that successful decodes are well formed.
func fuzzDecoder(t *testing.T, d Decoder, in []byte) {
	var c1, c2 Change
	err := d.Decode(in, &c1)
	n, perr := d.DecodePrefix(in, &c2)
	if err == nil {
		if perr != nil || skipWS(in, n) != len(in) {
			t.Fatalf("Decode ok but DecodePrefix: n=%d err=%v", n, perr)
		}
		if c1.Op != OpTruncate && len(c1.Key) == 0 {
			t.Fatal("decoded change without key")
		}
		if c1.Op == OpUpsert {
			if len(c1.Image) == 0 || c1.Image[0] != '{' {
				t.Fatal("upsert without object image")
			}
			d.DecodeImage(c1.Image, c1.Schema) // must not panic
		}
		if !bytes.Equal(c1.Key, c2.Key) || c1.Pos != c2.Pos || c1.Op != c2.Op {
			t.Fatal("Decode and DecodePrefix disagree")
		}
	}
}

func FuzzDynamoDB(f *testing.F) {
	for _, s := range seedsDynamoDB() {
		f.Add([]byte(s))
	}
	d := &DynamoDB{}
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecoder(t, d, in) })
}

func FuzzDebezium(f *testing.F) {
	for _, s := range seedsDebezium() {
		f.Add([]byte(s))
	}
	d := &Debezium{KeyCols: []string{"id"}}
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecoder(t, d, in) })
}

func FuzzDecodeImage(f *testing.F) {
	f.Add([]byte(`{"a":{"S":"x"},"b":{"N":"1"},"c":{"M":{"d":{"L":[{"NULL":true}]}}}}`), true)
	f.Add([]byte(`{"a":1,"b":[1.5,"x",{"c":null}]}`), false)
	f.Fuzz(func(t *testing.T, in []byte, ddb bool) {
		if ddb {
			(&DynamoDB{}).DecodeImage(in, nil)
		} else {
			(&Debezium{KeyCols: []string{"a"}}).DecodeImage(in, nil)
		}
	})
}

func naiveScanString(b []byte, i int) (int, bool, bool) {
	esc := false
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			esc = true
			i++
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

func TestScanStringMatchesByteLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\"\\\x01\x1f é{}x0123456789")
	for n := 0; n < 20000; n++ {
		b := make([]byte, 1+r.IntN(40))
		b[0] = '"'
		for i := 1; i < len(b); i++ {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		end, esc, err := scanString(b, 0)
		wend, wesc, ok := naiveScanString(b, 0)
		if (err == nil) != ok || (ok && (end != wend || esc != wesc)) {
			t.Fatalf("%q: got %d %v %v, want %d %v %v", b, end, esc, err, wend, wesc, ok)
		}
	}
}

// inferMatchesDecode: InferImage must give exactly the types Observe gives
// on the decoded image.
func inferMatchesDecode(t *testing.T, d Decoder, img, schema []byte) {
	row, derr := d.DecodeImage(img, schema)
	cols := map[string]*Type{}
	ierr := d.InferImage(img, schema, cols)
	if derr != nil {
		return // InferImage is not a validator
	}
	if ierr != nil {
		t.Fatalf("InferImage failed where DecodeImage succeeded: %v (%s)", ierr, img)
	}
	want := map[string]*Type{}
	for k, v := range row {
		want[k] = Observe(want[k], v)
	}
	if len(want) != len(cols) {
		t.Fatalf("columns: infer %v, decode %v (%s)", cols, want, img)
	}
	for k, w := range want {
		if cols[k].String() != w.String() {
			t.Fatalf("column %s: infer %s, decode %s (%s)", k, cols[k], w, img)
		}
	}
}

func TestInferImageMatchesDecode(t *testing.T) {
	ddb := []string{
		`{"s":{"S":"x"},"n":{"N":"1"},"d":{"N":"1.5"},"big":{"N":"-9223372036854775808"},"huge":{"N":"99999999999999999999"},"b":{"BOOL":true},"z":{"NULL":true},"bin":{"B":"AAE="},` +
			`"m":{"M":{"a":{"N":"1"},"b":{"L":[{"S":"x"},{"N":"2"}]}}},"l":{"L":[{"N":"1"},{"N":"2.5"},{"NULL":true}]},"ss":{"SS":["a"]},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AAE="]},"e":{"L":[]},"em":{"M":{}}}`,
		`{"mix":{"L":[{"S":"x"},{"N":"1"}]},"deep":{"M":{"l":{"L":[{"M":{"q":{"BOOL":false}}}]}}}}`,
	}
	for _, img := range ddb {
		inferMatchesDecode(t, &DynamoDB{}, []byte(img), nil)
	}
	dbz := []string{
		`{"id":1,"f":1.5,"s":"x","b":true,"n":null,"l":[1,2.5,null],"o":{"a":[{"b":1}],"c":"d"},"big":-9223372036854775808,"huge":123456789012345678901,"e":[],"eo":{}}`,
		`{"mix":[1,"a",{"x":1}],"neg":-0,"exp":1e3}`,
	}
	for _, img := range dbz {
		inferMatchesDecode(t, &Debezium{KeyCols: []string{"id"}}, []byte(img), nil)
	}
}

// With the schema wrapper, the column types are the declared ones (an
// int32 stays int32, a Decimal keeps its precision and scale), and a member
// the schema does not declare is typed from its JSON.
func TestInferImageWithSchemaUsesTheDeclaredTypes(t *testing.T) {
	schema := []byte(`{"type":"struct","fields":[{"field":"after","type":"struct","fields":[{"field":"d","type":"int32","name":"io.debezium.time.Date"},` +
		`{"field":"i","type":"int32"},{"field":"s","type":"int16"},{"field":"p","type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2","connect.decimal.precision":"10"}},` +
		`{"field":"v","type":"struct","name":"io.debezium.data.VariableScaleDecimal","fields":[{"field":"scale","type":"int32"},{"field":"value","type":"bytes"}]}]}]}`)
	cols := map[string]*Type{}
	d := &Debezium{KeyCols: []string{"i"}}
	for _, img := range []string{`{"d":19000,"i":1,"s":2,"p":"MDk=","v":{"scale":3,"value":"AeI="},"x":"y"}`, `{"d":1,"i":2,"s":3,"p":"MDk=","v":{"scale":1,"value":"Ag=="}}`} {
		if err := d.InferImage([]byte(img), schema, cols); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	for k, c := range cols {
		got[k] = c.String()
	}
	want := map[string]string{"d": "date", "i": "int32", "s": "int16", "p": "decimal(10,2)", "v": "decimal(38,3)", "x": "string"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func FuzzInferMatchesDecode(f *testing.F) {
	f.Add([]byte(`{"a":{"S":"x"},"b":{"N":"1"},"c":{"M":{"d":{"L":[{"NULL":true},{"N":"2.5"}]}}}}`), true)
	f.Add([]byte(`{"a":1,"b":[1.5,"x",{"c":null}],"d":{"e":[]}}`), false)
	f.Fuzz(func(t *testing.T, img []byte, ddb bool) {
		if ddb {
			inferMatchesDecode(t, &DynamoDB{}, img, nil)
		} else {
			inferMatchesDecode(t, &Debezium{KeyCols: []string{"a"}}, img, nil)
		}
	})
}

// TestDecodeImageIntoReusesTheRow: decoding into a map that held another
// row leaves exactly the new row's columns.
func TestDecodeImageIntoReusesTheRow(t *testing.T) {
	for _, tc := range []struct {
		d    Decoder
		a, b string
	}{
		{&DynamoDB{}, `{"pk":{"S":"a"},"x":{"N":"1"},"gone":{"BOOL":true}}`, `{"pk":{"S":"b"},"x":{"N":"2.5"}}`},
		{&Debezium{KeyCols: []string{"pk"}}, `{"pk":"a","x":1,"gone":true}`, `{"pk":"b","x":2.5}`},
	} {
		t.Run(tc.d.Format(), func(t *testing.T) {
			row := map[string]any{}
			if err := tc.d.DecodeImageInto([]byte(tc.a), nil, row); err != nil {
				t.Fatal(err)
			}
			if err := tc.d.DecodeImageInto([]byte(tc.b), nil, row); err != nil {
				t.Fatal(err)
			}
			want, err := tc.d.DecodeImage([]byte(tc.b), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(row, want) {
				t.Fatalf("reused row %v, want %v", row, want)
			}
		})
	}
}
