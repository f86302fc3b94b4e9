package etl

import (
	"path/filepath"
	"testing"
)

// The records Debezium puts on a change stream besides row changes, in the
// shapes of Debezium's reference documentation (Postgres and MySQL
// connectors: "tombstone events", "schema change topic", "transaction
// metadata", heartbeat.interval.ms, "logical decoding message events").
// They are skipped and counted by kind; only malformed data is quarantined.
func TestDebeziumNonChangeRecordsAreSkippedAndCounted(t *testing.T) {
	// A MySQL schema change event (payload of the schema change topic).
	schemaChange := `{"source":{"version":"2.7.3.Final","connector":"mysql","name":"shop","ts_ms":1700000000100,"snapshot":"false","db":"shop","sequence":null,"table":"users","server_id":223344,"gtid":null,"file":"mysql-bin.000003","pos":1201,"row":0,"thread":null,"query":null},` +
		`"ts_ms":1700000000105,"databaseName":"shop","schemaName":null,"ddl":"ALTER TABLE users ADD COLUMN nick VARCHAR(32)",` +
		`"tableChanges":[{"type":"ALTER","id":"\"shop\".\"users\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{"name":"id","jdbcType":4,"typeName":"INT","typeExpression":"INT","charsetName":null,"length":11,"position":1,"optional":false,"autoIncremented":true,"generated":true}]},"comment":null}]}`
	// Transaction metadata: BEGIN and END of transaction 571 (Postgres).
	begin := `{"status":"BEGIN","id":"571","ts_ms":1700000000020,"event_count":null,"data_collections":null}`
	end := `{"status":"END","id":"571","ts_ms":1700000000030,"event_count":2,"data_collections":[{"data_collection":"public.users","event_count":2}]}`
	// A heartbeat, bare and wrapped in its Connect schema.
	heartbeat := `{"ts_ms":1700000000200}`
	heartbeatWrapped := `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat"},"payload":{"ts_ms":1700000000300}}`
	// A Postgres logical decoding message (op "m").
	message := `{"op":"m","ts_ms":1700000000400,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"shop","ts_ms":1700000000400,"snapshot":"false","db":"shop","schema":"","table":"","txId":572,"lsn":46523128,"xmin":null},"message":{"prefix":"audit","content":"aGVsbG8="}}`
	src := t.TempDir()
	writeObjects(t, src, object{key: "2026/11/24/13/users-1", sep: "\n", recs: []string{
		begin,
		dbzEv("c", 10, "", `{"id":1,"name":"ann"}`),
		dbzEv("c", 11, "", `{"id":2,"name":"bob"}`),
		end,
		dbzEv("d", 20, `{"id":2,"name":"bob"}`, ""),
		"null",                           // the tombstone Debezium writes after each delete (bare)
		`{"schema":null,"payload":null}`, // and wrapped
		schemaChange,
		heartbeat,
		heartbeatWrapped,
		message,
	}})
	dest := filepath.Join(t.TempDir(), "users.parquet")
	res := rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: dest})
	if res.BadRecords != 0 || res.LiveKeys != 1 || res.Quarantine != "" {
		t.Fatalf("report %+v", res)
	}
	want := map[string]int64{"tombstone": 2, "schema_change": 1, "heartbeat": 2, "transaction": 2, "message": 1}
	if res.Skipped != 8 || len(res.SkippedByKind) != len(want) {
		t.Fatalf("skipped %d by kind %v, want %v", res.Skipped, res.SkippedByKind, want)
	}
	for k, n := range want {
		if res.SkippedByKind[k] != n {
			t.Fatalf("skipped by kind %v, want %v", res.SkippedByKind, want)
		}
	}
	rows := rowsOf(t, dest, "id")
	if len(rows) != 1 || rows["1"]["name"] != "ann" {
		t.Fatalf("rows %v", rows)
	}
}

// Malformed data next to them is still bad: a record without op that is
// none of the kinds above, and JSON null in a DynamoDB stream.
func TestNonChangeLookalikesAreStillBadRecords(t *testing.T) {
	src := t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{
		dbzEv("c", 10, "", `{"id":1,"name":"ann"}`),
		`{"status":"DONE","id":"1"}`,
		`{"ts_ms":1,"x":2}`,
	}})
	res := rebuild(t, Options{Source: src, Format: "debezium", Key: []string{"id"}, Dest: filepath.Join(t.TempDir(), "u.parquet"), MaxBadRecords: 10})
	if res.BadRecords != 2 || res.Skipped != 0 {
		t.Fatalf("report %+v", res)
	}
	src = t.TempDir()
	writeObjects(t, src, object{key: "a", sep: "\n", recs: []string{ddbEv("1", "INSERT", 1, "a", ddbImg("a", 1)), "null"}})
	res = rebuild(t, Options{Source: src, Format: "dynamodb", Dest: filepath.Join(t.TempDir(), "o.parquet"), MaxBadRecords: 10})
	if res.BadRecords != 1 || res.Skipped != 0 {
		t.Fatalf("dynamodb null: report %+v", res)
	}
}
