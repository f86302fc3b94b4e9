package archive

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// MaxPartitionKeyBytes is Kinesis' limit on a partition key (256 Unicode
// characters; Debezium's Kinesis sink sends the record key as it is).
const MaxPartitionKeyBytes = 256

// DebeziumConfig renders a Debezium Server application.properties that
// streams one MySQL/Postgres table into the archive's Kinesis stream:
//
//   - every change of the table goes to the one stream (RegexRouter),
//   - the partition key is the row's primary key as compact JSON
//     ({"id":42}), so all changes of one row land on one shard, in order,
//   - values are plain JSON without the schema wrapper (what etl rebuild
//     reads with --format debezium), one event per Kinesis record,
//   - no tombstones (the Kinesis sink cannot send a null record),
//   - Postgres: pgoutput with a filtered publication and a heartbeat, so an
//     idle table does not make the slot retain WAL forever.
//
// Database host, user and password are left for the operator (the password
// from the environment, never in the file).
func DebeziumConfig(o Options, n Names, region string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Debezium Server configuration for `opsctl etl archive %s`", o.Name)
	w("# %s table %s → Kinesis stream %s (%s) → Firehose → s3://%s/%s", o.SourceKind, o.SourceTable, n.Stream, region, o.Bucket, n.DataPrefix)
	w("# Fill in the CHANGE_ME values; export DB_PASSWORD before starting the server.")
	w("")
	w("debezium.sink.type=kinesis")
	w("debezium.sink.kinesis.region=%s", region)
	w("# Uncomment for a VPC endpoint or a local test endpoint:")
	w("# debezium.sink.kinesis.endpoint=https://kinesis.%s.amazonaws.com", region)
	w("# Rows of a table without a primary key all use this partition key (one shard, still in order):")
	w("debezium.sink.kinesis.null.key=%s", o.Name)
	w("")
	switch o.SourceKind {
	case SourceMySQL:
		db, _, _ := strings.Cut(o.SourceTable, ".")
		w("debezium.source.connector.class=io.debezium.connector.mysql.MySqlConnector")
		w("debezium.source.database.hostname=CHANGE_ME")
		w("debezium.source.database.port=3306")
		w("debezium.source.database.user=CHANGE_ME")
		w("debezium.source.database.password=${DB_PASSWORD}")
		w("# A replication client id unique among the server's replicas (stable for this archive):")
		w("debezium.source.database.server.id=%d", serverID(o.Name))
		if strings.Contains(o.SourceTable, ".") {
			w("debezium.source.database.include.list=%s", db)
		}
		w("debezium.source.table.include.list=%s", o.SourceTable)
		w("debezium.source.schema.history.internal=io.debezium.storage.file.history.FileSchemaHistory")
		w("debezium.source.schema.history.internal.file.filename=data/schema-history-%s.dat", o.Name)
		w("# Schema change events (on the topic %s) are not row changes: do not emit them.", o.Name)
		w("debezium.source.include.schema.changes=false")
		w("# The binlog must be ROW format with binlog_row_image=FULL; keep binlogs longer than any Debezium downtime.")
	case SourcePostgres:
		table := o.SourceTable
		if !strings.Contains(table, ".") {
			table = "public." + table
		}
		slot := slotName(o.Name)
		w("debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector")
		w("debezium.source.database.hostname=CHANGE_ME")
		w("debezium.source.database.port=5432")
		w("debezium.source.database.user=CHANGE_ME")
		w("debezium.source.database.password=${DB_PASSWORD}")
		w("debezium.source.database.dbname=CHANGE_ME")
		w("debezium.source.plugin.name=pgoutput")
		w("debezium.source.slot.name=%s", slot)
		w("debezium.source.publication.name=%s", slot)
		w("debezium.source.publication.autocreate.mode=filtered")
		w("debezium.source.table.include.list=%s", table)
		w("# An idle table must still confirm WAL positions, or the slot retains WAL until the disk fills;")
		w("# the heartbeat records themselves are dropped below (they are not row changes).")
		w("debezium.source.heartbeat.interval.ms=60000")
		w("# Deletes carry the whole old row only with REPLICA IDENTITY FULL (ALTER TABLE %s REPLICA IDENTITY FULL);", table)
		w("# the rebuild needs just the key, which the default identity provides.")
	}
	w("debezium.source.topic.prefix=%s", o.Name)
	w("debezium.source.tombstones.on.delete=false")
	w("debezium.source.provide.transaction.metadata=false")
	w("# The table's existing rows: a consistent initial snapshot (op \"r\" events) before streaming.")
	w("debezium.source.snapshot.mode=initial")
	w("debezium.source.offset.storage.file.filename=data/offsets-%s.dat", o.Name)
	w("debezium.source.offset.flush.interval.ms=10000")
	w("")
	w("# Only the table's change events go to the archive's stream: records on any other topic (schema")
	w("# changes on %s, heartbeats on __debezium-heartbeat.%s, transaction metadata on %s.transaction)", o.Name, o.Name, o.Name)
	w("# are dropped, then the table's topic is renamed to the stream (the Kinesis sink writes each record")
	w("# to the stream named like its topic).")
	w("debezium.transforms=onlytable,archive")
	w("debezium.transforms.onlytable.type=org.apache.kafka.connect.transforms.Filter")
	w("debezium.transforms.onlytable.predicate=tabletopic")
	w("debezium.transforms.onlytable.negate=true")
	w("debezium.transforms.archive.type=org.apache.kafka.connect.transforms.RegexRouter")
	w("debezium.transforms.archive.regex=%s", TableTopicPattern(o))
	w("debezium.transforms.archive.replacement=%s", n.Stream)
	w("debezium.predicates=tabletopic")
	w("debezium.predicates.tabletopic.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
	w("debezium.predicates.tabletopic.pattern=%s", TableTopicPattern(o))
	w("")
	w("# Partition key = the row's primary key as compact JSON, e.g. {\"%s\":42}: one row's changes stay on one", o.KeyColumns[0])
	w("# shard, in order. Kinesis rejects partition keys over %d characters; for wide composite keys", MaxPartitionKeyBytes)
	w("# (%s) keep the JSON of one key under that.", strings.Join(o.KeyColumns, ", "))
	w("debezium.format.key=json")
	w("debezium.format.key.schemas.enable=false")
	w("debezium.format.value=json")
	w("debezium.format.value.schemas.enable=false")
	return b.String()
}

// keyJSONOverhead is the length of a compact JSON key without its values:
// {"a":,"b":} for columns a and b.
func keyJSONOverhead(cols []string) int {
	n := 2 // braces
	for i, c := range cols {
		n += len(c) + 3 // quotes and colon
		if i > 0 {
			n++ // comma
		}
	}
	return n
}

// serverID derives a stable MySQL server id in 5400..1005399 from the name.
func serverID(name string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 5400 + h.Sum32()%1000000
}

// slotName makes a Postgres replication slot name: lowercase letters,
// digits and underscores, at most 63 characters.
func slotName(name string) string {
	var b strings.Builder
	b.WriteString("opsctl_")
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// RebuildCommand is the `opsctl etl rebuild` line that turns this archive
// into the table's latest snapshot.
func RebuildCommand(o Options, n Names) string {
	src := fmt.Sprintf("s3://%s/%s", o.Bucket, n.DataPrefix)
	dest := fmt.Sprintf("s3://%s/tables/%s/", o.Bucket, o.Name)
	if o.SourceKind == SourceDynamoDB {
		return fmt.Sprintf("opsctl etl rebuild --source %s --format dynamodb --dest %s", src, dest)
	}
	return fmt.Sprintf("opsctl etl rebuild --source %s --format debezium --key %s --dest %s", src, strings.Join(o.KeyColumns, ","), dest)
}

// TableTopicPattern is the Java regular expression that matches exactly the
// Kafka topic Debezium names the table's change events
// (topic.prefix.databaseName.tableName for MySQL,
// topic.prefix.schemaName.tableName for Postgres; Debezium connector
// reference, "Topic names"); a MySQL table given without its database
// matches in any database. Literal characters are written as character
// classes ([.], [$]) so the pattern needs no backslash, which a
// .properties file would eat.
func TableTopicPattern(o Options) string {
	lit := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch r {
			case '.', '$', '-':
				b.WriteString("[" + string(r) + "]")
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	ns, table, ok := strings.Cut(o.SourceTable, ".")
	if !ok {
		ns, table = "", o.SourceTable
		if o.SourceKind == SourcePostgres {
			ns = "public"
		}
	}
	nsPat := "[^.]+"
	if ns != "" {
		nsPat = lit(ns)
	}
	return lit(o.Name) + "[.]" + nsPat + "[.]" + lit(table)
}
