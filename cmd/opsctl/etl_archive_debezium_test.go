package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// dbzRecord is one record Debezium produces: its kind, the topic Debezium
// names for it (Debezium connector references, "Topic names": data
// PREFIX.NS.TABLE, schema changes PREFIX, transaction metadata
// PREFIX.transaction, heartbeats __debezium-heartbeat.PREFIX), key and value.
type dbzRecord struct{ kind, topic, key, value string }

// debeziumServer plays the printed application.properties the way Debezium
// Server would: what the connector emits under its settings
// (tombstones.on.delete, include.schema.changes,
// provide.transaction.metadata, heartbeat.interval.ms), then the Kafka
// Connect transforms in order (Filter with a TopicNameMatches predicate and
// negate; RegexRouter, whose regex must match the whole topic), then the
// Kinesis sink, which writes each record to the stream named like its final
// topic. It returns the records per destination stream.
func debeziumServer(t *testing.T, config string, recs []dbzRecord) map[string][][2]string {
	t.Helper()
	props := map[string]string{}
	for _, line := range strings.Split(config, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not a property: %q", line)
		}
		props[k] = v
	}
	emits := func(kind string) bool {
		switch kind {
		case "tombstone": // Debezium default true
			return props["debezium.source.tombstones.on.delete"] != "false"
		case "schema_change": // MySQL default true
			return strings.Contains(props["debezium.source.connector.class"], "MySql") && props["debezium.source.include.schema.changes"] != "false"
		case "transaction": // default false
			return props["debezium.source.provide.transaction.metadata"] == "true"
		case "heartbeat": // default 0: off
			v := props["debezium.source.heartbeat.interval.ms"]
			return v != "" && v != "0"
		}
		return true
	}
	full := func(pattern string) *regexp.Regexp { return regexp.MustCompile("^(?:" + pattern + ")$") }
	out := map[string][][2]string{}
	for _, r := range recs {
		if !emits(r.kind) {
			continue
		}
		topic, dropped := r.topic, false
		for _, name := range strings.Split(props["debezium.transforms"], ",") {
			pre := "debezium.transforms." + name + "."
			applies := true
			if p := props[pre+"predicate"]; p != "" {
				pp := "debezium.predicates." + p + "."
				if props[pp+"type"] != "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" {
					t.Fatalf("predicate %s: type %q not played", p, props[pp+"type"])
				}
				applies = full(props[pp+"pattern"]).MatchString(topic) != (props[pre+"negate"] == "true")
			}
			if !applies {
				continue
			}
			switch props[pre+"type"] {
			case "org.apache.kafka.connect.transforms.Filter":
				dropped = true
			case "org.apache.kafka.connect.transforms.RegexRouter":
				if re := full(props[pre+"regex"]); re.MatchString(topic) {
					topic = re.ReplaceAllString(topic, props[pre+"replacement"])
				}
			default:
				t.Fatalf("transform %s: type %q not played", name, props[pre+"type"])
			}
			if dropped {
				break
			}
		}
		if !dropped {
			out[topic] = append(out[topic], [2]string{r.key, r.value})
		}
	}
	return out
}

// The printed Debezium configurations work as printed: under each setting
// they print, the records Debezium produces besides row changes (schema
// changes, heartbeats, tombstones, transaction metadata — in the shapes of
// Debezium's reference documentation) never reach the archive's stream, and
// the printed rebuild command reads only row changes (issue 16 item 2).
func TestBinaryEtlArchiveDebeziumConfigsKeepNonChangeRecordsOutOfTheStream(t *testing.T) {
	srv, env := archiveEnv(t)
	ts := `"ts_ms":1764000000000`
	pgSrc := func(lsn string) string {
		return `"source":{"version":"2.7.3.Final","connector":"postgresql","name":"users","ts_ms":1764000000000,"snapshot":"false","db":"app","schema":"public","table":"users","txId":571,"lsn":` + lsn + `}`
	}
	mySrc := func(pos string) string {
		return `"source":{"version":"2.7.3.Final","connector":"mysql","name":"invoices","ts_ms":1764000000000,"snapshot":"false","db":"shop","table":"invoices","server_id":223344,"file":"mysql-bin.000003","pos":` + pos + `,"row":0}`
	}
	begin := `{"status":"BEGIN","id":"571","ts_ms":1764000000000,"event_count":null,"data_collections":null}`
	end := `{"status":"END","id":"571","ts_ms":1764000000001,"event_count":2,"data_collections":[{"data_collection":"public.users","event_count":2}]}`
	cases := []struct {
		name   string
		create []string
		recs   []dbzRecord
		want   int // row changes
	}{
		{"users", []string{"--source-kind", "postgres", "--source-table", "public.users", "--key", "id"}, []dbzRecord{
			{"transaction", "users.transaction", `{"id":"571"}`, begin},
			{"change", "users.public.users", `{"id":1}`, `{"before":null,"after":{"id":1,"name":"ann"},` + pgSrc("100") + `,"op":"r",` + ts + `}`},
			{"change", "users.public.users", `{"id":2}`, `{"before":null,"after":{"id":2,"name":"bob"},` + pgSrc("110") + `,"op":"c",` + ts + `}`},
			{"transaction", "users.transaction", `{"id":"571"}`, end},
			{"heartbeat", "__debezium-heartbeat.users", `{"serverName":"users"}`, `{"ts_ms":1764000060000}`},
			{"change", "users.public.users", `{"id":2}`, `{"before":{"id":2,"name":null},"after":null,` + pgSrc("130") + `,"op":"d",` + ts + `}`},
			{"tombstone", "users.public.users", `{"id":2}`, "null"},
			{"heartbeat", "__debezium-heartbeat.users", `{"serverName":"users"}`, `{"ts_ms":1764000120000}`},
		}, 3},
		{"invoices", []string{"--source-kind", "mysql", "--source-table", "shop.invoices", "--key", "id"}, []dbzRecord{
			{"schema_change", "invoices", `{"databaseName":"shop"}`, `{` + mySrc("1201") + `,"ts_ms":1764000000105,"databaseName":"shop","schemaName":null,"ddl":"ALTER TABLE invoices ADD COLUMN note VARCHAR(32)","tableChanges":[{"type":"ALTER","id":"\"shop\".\"invoices\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{"name":"id","jdbcType":4,"typeName":"INT","typeExpression":"INT","charsetName":null,"length":11,"position":1,"optional":false,"autoIncremented":true,"generated":true}]},"comment":null}]}`},
			{"change", "invoices.shop.invoices", `{"id":7}`, `{"before":null,"after":{"id":7,"amount":100},` + mySrc("400") + `,"op":"c",` + ts + `}`},
			{"change", "invoices.shop.invoices", `{"id":8}`, `{"before":null,"after":{"id":8,"amount":50},` + mySrc("500") + `,"op":"c",` + ts + `}`},
			{"change", "invoices.shop.invoices", `{"id":8}`, `{"before":{"id":8,"amount":50},"after":null,` + mySrc("600") + `,"op":"d",` + ts + `}`},
			{"tombstone", "invoices.shop.invoices", `{"id":8}`, "null"},
			{"transaction", "invoices.transaction", `{"id":"file=mysql-bin.000003,pos=400"}`, `{"status":"BEGIN","id":"file=mysql-bin.000003,pos=400","ts_ms":1764000000000,"event_count":null,"data_collections":null}`},
		}, 3},
	}
	kc := kinesis.NewFromConfig(localawstest.Config(srv, 0))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"etl", "archive", "create", tc.name, "--bucket", "acme-cdc", "--buffer-interval", "60s", "-o", "json"}, tc.create...)
			var res archive.CreateResult
			if err := json.Unmarshal([]byte(runOK(t, env, args...).Stdout), &res); err != nil {
				t.Fatal(err)
			}
			streams := debeziumServer(t, res.DebeziumConfig, tc.recs)
			for stream, recs := range streams {
				if stream != res.Stream {
					t.Errorf("the printed config sends %d record(s) to a Kinesis stream %q (the sink writes to the stream named like the topic; only %q exists)", len(recs), stream, res.Stream)
				}
			}
			if len(streams[res.Stream]) != tc.want {
				t.Fatalf("%d records reach the stream, want the %d row changes: %v", len(streams[res.Stream]), tc.want, streams[res.Stream])
			}
			for _, r := range streams[res.Stream] {
				if _, err := kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(res.Stream), PartitionKey: aws.String(r[0]), Data: []byte(r[1])}); err != nil {
					t.Fatal(err)
				}
			}
			localawstest.WaitObjects(t, srv, "acme-cdc", res.DataPrefix, 1)
			var rebuilt struct {
				Records  int64            `json:"records"`
				Skipped  int64            `json:"skipped_records"`
				ByKind   map[string]int64 `json:"skipped_by_kind"`
				Bad      int64            `json:"bad_records"`
				LiveKeys int64            `json:"live_keys"`
			}
			runPrintedRebuild(t, env, res.RebuildCommand, filepath.Join(t.TempDir(), tc.name+".parquet"), int64(tc.want), &rebuilt, &rebuilt.Records)
			if rebuilt.Records != int64(tc.want) || rebuilt.Skipped != 0 || rebuilt.Bad != 0 || rebuilt.LiveKeys != 1 {
				t.Fatalf("rebuild read %d records (want %d), skipped %d %v, bad %d, live keys %d (want 1)", rebuilt.Records, tc.want, rebuilt.Skipped, rebuilt.ByKind, rebuilt.Bad, rebuilt.LiveKeys)
			}
		})
	}
}
