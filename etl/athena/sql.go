// Package athena generates the SQL of the Athena rebuild engine: the merge
// rules of etl/merge/RULES.md (ordering, de-duplication, deletes, truncates,
// incremental state) as window functions over the raw CDC increments, then
// the typed table of live rows, written in the subset of SQL that both
// Athena (Trino) and DuckDB accept; every difference between the two is in
// dialect.go. Tests run the generated SQL on DuckDB and compare it with the
// local engine's table.
//
// The SQL works in three relations:
//
//	changes(k0…kn, pos0…pos3, op, event_id, src, ord, image)  one row per decoded record
//	state  (same columns)                                       what the next incremental run starts from
//	table  (the snapshot's columns, partition column last)      the live rows, typed
//
// src is the record's object key (its order is the local engine's file
// rank), ord the record's text, which stands in for the byte offset within an
// object (see Deviations).
package athena

import (
	"fmt"
	"sort"
	"strings"

	"github.com/opsctl/opsctl/etl/cdc"
)

// Deviations are the rules of RULES.md that the SQL cannot express exactly;
// the run report repeats them.
var Deviations = []string{
	"ties between distinct events of one key at the same position in the same object are broken by the record's text, not its byte offset (SQL engines do not expose a line's offset)",
	"records must be newline-delimited (one JSON record per line, as etl archive and Firehose with a newline delimiter write them); back-to-back records without a delimiter are not split",
	"dynamodb keys are compared as the text of their S, N or B value (1 and 1.0 are two keys; the local engine compares numbers exactly)",
	"a string column fed with numbers keeps each number's text as sent (the local engine writes the exact decimal text)",
	"bad records (not JSON, no key, unknown op) are left out, neither quarantined nor counted; records, duplicates and bad records are not counted",
}

// Spec says what the SQL decodes.
type Spec struct {
	Format  string   // dynamodb | debezium
	Key     []string // key attributes / columns, in order
	Dialect Dialect
}

// StateColumns are the columns of changes and state, in order.
func (s Spec) StateColumns() []string {
	var cols []string
	for i := range s.Key {
		cols = append(cols, fmt.Sprintf("k%d", i))
	}
	return append(cols, "pos0", "pos1", "pos2", "pos3", "op", "event_id", "src", "ord", "image")
}

func (s Spec) keyCols() string {
	parts := make([]string, len(s.Key))
	for i := range s.Key {
		parts[i] = fmt.Sprintf("k%d", i)
	}
	return strings.Join(parts, ", ")
}

func (s Spec) check() error {
	if len(s.Key) == 0 {
		return fmt.Errorf("the SQL engine needs the key columns (--key)")
	}
	if s.Format != "dynamodb" && s.Format != "debezium" {
		return fmt.Errorf("format %q: want dynamodb or debezium", s.Format)
	}
	if s.Dialect.scalar == nil {
		return fmt.Errorf("no SQL dialect")
	}
	return nil
}

func (s Spec) scalar(expr string, members ...string) (string, error) {
	p, err := s.Dialect.path(members)
	if err != nil {
		return "", err
	}
	return s.Dialect.scalar(expr, p), nil
}

func (s Spec) text(expr string, members ...string) (string, error) {
	p, err := s.Dialect.path(members)
	if err != nil {
		return "", err
	}
	return s.Dialect.text(expr, p), nil
}

// exprs builds SQL expressions, keeping the first error.
type exprs struct {
	s   Spec
	err error
}

func (e *exprs) scalar(expr string, members ...string) string {
	v, err := e.s.scalar(expr, members...)
	if e.err == nil {
		e.err = err
	}
	return v
}

func (e *exprs) text(expr string, members ...string) string {
	v, err := e.s.text(expr, members...)
	if e.err == nil {
		e.err = err
	}
	return v
}

// Changes is the SELECT that decodes each line of lines (a relation of
// line, src) into a change (RULES.md "Inputs"). Lines that are not a change
// (bad records, Debezium tombstones and heartbeats) decode to a NULL op or
// position and are left out.
func (s Spec) Changes(lines string) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	e := &exprs{s: s}
	var cols []string
	var where []string
	switch s.Format {
	case "dynamodb":
		for i, k := range s.Key {
			// A key attribute's value, whatever its type (S, N or B).
			cols = append(cols, fmt.Sprintf("COALESCE(%s, %s, %s) AS k%d",
				e.scalar("line", "dynamodb", "Keys", k, "S"), e.scalar("line", "dynamodb", "Keys", k, "N"), e.scalar("line", "dynamodb", "Keys", k, "B"), i))
			where = append(where, fmt.Sprintf("k%d IS NOT NULL", i))
		}
		ts := "TRY_CAST(" + e.scalar("line", "dynamodb", "ApproximateCreationDateTime") + " AS BIGINT)"
		// Microseconds: ms × 1000, or the value itself when the precision
		// is MICROSECOND and the value really is µs (> 10^14).
		cols = append(cols,
			fmt.Sprintf("CASE WHEN %s = 'MICROSECOND' AND %s > 100000000000000 THEN %s ELSE %s * 1000 END AS pos0",
				e.scalar("line", "dynamodb", "ApproximateCreationDateTimePrecision"), ts, ts, ts),
			"CAST(0 AS BIGINT) AS pos1", "CAST(0 AS BIGINT) AS pos2", "CAST(0 AS BIGINT) AS pos3",
			fmt.Sprintf("CASE %s WHEN 'INSERT' THEN 'upsert' WHEN 'MODIFY' THEN 'upsert' WHEN 'REMOVE' THEN 'delete' END AS op", e.scalar("line", "eventName")),
			e.scalar("line", "eventID")+" AS event_id",
			"src", "line AS ord",
			e.text("line", "dynamodb", "NewImage")+" AS image")
		where = append(where, "pos0 IS NOT NULL", "op IS NOT NULL", "event_id IS NOT NULL")
	case "debezium":
		// The envelope: the payload of a schema-wrapped record, else the
		// record itself.
		env := "COALESCE(" + e.text("line", "payload") + ", line)"
		op := e.scalar(env, "op")
		for i, k := range s.Key {
			cols = append(cols, fmt.Sprintf("CASE WHEN %s = 't' THEN NULL ELSE COALESCE(%s, %s) END AS k%d", op, e.scalar(env, "after", k), e.scalar(env, "before", k), i))
			where = append(where, fmt.Sprintf("(k%d IS NOT NULL OR op = 'truncate')", i))
		}
		lsn := "TRY_CAST(" + e.scalar(env, "source", "lsn") + " AS BIGINT)"
		file := e.scalar(env, "source", "file")
		num := func(members ...string) string {
			return "COALESCE(TRY_CAST(" + e.scalar(env, members...) + " AS BIGINT), 0)"
		}
		// Postgres (lsn, 0, 0, ts_ms); MySQL (binlog file number, pos,
		// row, ts_ms); otherwise (0, 0, 0, ts_ms).
		cols = append(cols,
			fmt.Sprintf("CASE WHEN %s IS NOT NULL THEN %s WHEN %s IS NOT NULL THEN COALESCE(TRY_CAST(regexp_extract(%s, '[0-9]+$') AS BIGINT), 0) ELSE 0 END AS pos0", lsn, lsn, file, file),
			fmt.Sprintf("CASE WHEN %s IS NULL AND %s IS NOT NULL THEN %s ELSE 0 END AS pos1", lsn, file, num("source", "pos")),
			fmt.Sprintf("CASE WHEN %s IS NULL AND %s IS NOT NULL THEN %s ELSE 0 END AS pos2", lsn, file, num("source", "row")),
			fmt.Sprintf("COALESCE(TRY_CAST(%s AS BIGINT), TRY_CAST(%s AS BIGINT)) AS pos3", e.scalar(env, "ts_ms"), e.scalar(env, "source", "ts_ms")),
			fmt.Sprintf("CASE %s WHEN 'c' THEN 'upsert' WHEN 'r' THEN 'upsert' WHEN 'u' THEN 'upsert' WHEN 'd' THEN 'delete' WHEN 't' THEN 'truncate' END AS op", op),
			"CAST(NULL AS VARCHAR) AS event_id",
			"src", "line AS ord",
			e.text(env, "after")+" AS image")
		where = append(where, "pos3 IS NOT NULL", "op IS NOT NULL")
	}
	if e.err != nil {
		return "", e.err
	}
	return "SELECT " + strings.Join(s.StateColumns(), ", ") + " FROM (SELECT " + strings.Join(cols, ",\n  ") +
		"\nFROM (" + lines + ") raw) decoded\nWHERE " + strings.Join(where, " AND "), nil
}

// posAfter is "position (pos0…pos3) > truncate position (t0…t3)",
// lexicographically, without ROW comparison (which the two engines order
// differently around NULLs).
const posAfter = "(pos0 > t0 OR (pos0 = t0 AND (pos1 > t1 OR (pos1 = t1 AND (pos2 > t2 OR (pos2 = t2 AND pos3 > t3))))))"

const posDesc = "pos0 DESC, pos1 DESC, pos2 DESC, pos3 DESC"

// State is the SELECT of the new state: the changes decoded from lines plus
// the previous state (prevState, a relation with StateColumns, or "" for a
// full rebuild), reduced by rules 1, 2, 4 and 6 of RULES.md: one row per
// event (its first delivery), per key every event at the key's greatest
// position (the winner and its ties, deletes included as tombstones), keys
// whose latest change is at or before the greatest truncate dropped, and
// that truncate kept as one row.
func (s Spec) State(lines, prevState string) (string, error) {
	changes, err := s.Changes(lines)
	if err != nil {
		return "", err
	}
	cols := strings.Join(s.StateColumns(), ", ")
	if prevState != "" {
		changes += "\nUNION ALL\nSELECT " + cols + " FROM " + prevState
	}
	event := "event_id" // rule 1: the same event id (dynamodb) …
	if s.Format == "debezium" {
		event = "pos0, pos1, pos2, pos3" // … or, without ids, the same position
	}
	return "WITH changes AS (\n" + changes + "\n),\n" +
		// rule 4: the greatest truncate position
		"trunc AS (SELECT pos0 AS t0, pos1 AS t1, pos2 AS t2, pos3 AS t3 FROM changes WHERE op = 'truncate' ORDER BY " + posDesc + " LIMIT 1),\n" +
		// rule 1: one row per event, at its first delivery (smallest src, then ord)
		"firsts AS (SELECT " + cols + " FROM (SELECT " + cols + ", row_number() OVER (PARTITION BY " + s.keyCols() + ", " + event +
		" ORDER BY src, ord) AS copy_no FROM changes WHERE op <> 'truncate') c WHERE copy_no = 1),\n" +
		// rules 2 and 6: every event at the key's greatest position
		"ranked AS (SELECT " + cols + ", rank() OVER (PARTITION BY " + s.keyCols() + " ORDER BY " + posDesc + ") AS pos_rank FROM firsts)\n" +
		"SELECT " + cols + " FROM ranked LEFT JOIN trunc ON TRUE WHERE pos_rank = 1 AND (t0 IS NULL OR " + posAfter + ")\n" +
		"UNION ALL\n" +
		"SELECT " + cols + " FROM (SELECT " + cols + " FROM changes WHERE op = 'truncate' ORDER BY " + posDesc + ", src, ord LIMIT 1) last_trunc", nil
}

// Column is one output column and its type (the snapshot's).
type Column struct {
	Name string
	Type *cdc.Type
}

// Columns orders a schema as the table is written: by name, with the
// partition column last (Athena's CTAS wants partition columns last).
func Columns(types map[string]*cdc.Type, partitionBy string) []Column {
	var out []Column
	for n, t := range types {
		if n != partitionBy {
			out = append(out, Column{n, t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if partitionBy != "" {
		out = append(out, Column{partitionBy, types[partitionBy]})
	}
	return out
}

// sqlType is the SQL type of a scalar snapshot type ("" when the SQL engine
// cannot produce it).
func sqlType(t *cdc.Type) string {
	switch t.Kind {
	case cdc.KindBool:
		return "BOOLEAN"
	case cdc.KindInt:
		return map[int]string{8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[t.IntBits()]
	case cdc.KindDouble:
		return "DOUBLE"
	case cdc.KindDecimal:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Precision(), t.Scale)
	case cdc.KindString:
		return "VARCHAR"
	}
	return ""
}

// value is the typed SQL value of column c in the image (JSON text).
func (s Spec) value(e *exprs, c Column) (string, error) {
	typ := sqlType(c.Type)
	if typ == "" {
		return "", fmt.Errorf("column %s: type %s is not supported by the SQL engine yet (scalars only: boolean, integers, double, decimal, string)", c.Name, c.Type)
	}
	if s.Format == "debezium" {
		v := e.scalar("image", c.Name)
		if typ == "VARCHAR" {
			return v, nil
		}
		return "CAST(" + v + " AS " + typ + ")", nil
	}
	switch c.Type.Kind {
	case cdc.KindString:
		// A string column, or one widened to string: the S text, else the
		// number's text, else the boolean's.
		return fmt.Sprintf("COALESCE(%s, %s, %s)", e.scalar("image", c.Name, "S"), e.scalar("image", c.Name, "N"), e.scalar("image", c.Name, "BOOL")), nil
	case cdc.KindBool:
		return "CAST(" + e.scalar("image", c.Name, "BOOL") + " AS BOOLEAN)", nil
	}
	return "CAST(" + e.scalar("image", c.Name, "N") + " AS " + typ + ")", nil
}

// Table is the SELECT of the live rows from state (a relation with
// StateColumns): per key the last change (rule 2: position, then the first
// delivery's src and ord), kept when it is an upsert (rule 3), as the typed
// columns cols.
func (s Spec) Table(state string, cols []Column) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	e := &exprs{s: s}
	out := make([]string, len(cols))
	for i, c := range cols {
		v, err := s.value(e, c)
		if err != nil {
			return "", err
		}
		out[i] = v + " AS " + ident(c.Name)
	}
	if e.err != nil {
		return "", e.err
	}
	return "SELECT " + strings.Join(out, ",\n  ") + "\nFROM (SELECT " + strings.Join(s.StateColumns(), ", ") +
		", row_number() OVER (PARTITION BY " + s.keyCols() + " ORDER BY " + posDesc + ", src DESC, ord DESC) AS rn FROM " + state +
		" WHERE op <> 'truncate') latest\nWHERE rn = 1 AND op = 'upsert'", nil
}

// MaxPartitionsPerStatement is Athena's limit on the partitions one CTAS or
// INSERT INTO writes (Athena user guide, "Using CTAS and INSERT INTO to work
// around the 100 partition limit").
const MaxPartitionsPerStatement = 100

// Batches splits a partitioned write into statements that each write at
// most max partitions: the CREATE TABLE … AS for the first values, then one
// INSERT INTO per further batch. ctas renders the CREATE statement for a
// SELECT (dialect-specific: Athena's WITH (external_location, …)); values
// are the partition values (nil stands for the NULL partition).
func Batches(ctas func(selectSQL string) string, table, selectSQL, partitionBy string, values []*string, max int) []string {
	if partitionBy == "" || len(values) <= max {
		return []string{ctas(selectSQL)}
	}
	var out []string
	for i := 0; i < len(values); i += max {
		batch := values[i:min(i+max, len(values))]
		var in []string
		null := false
		for _, v := range batch {
			if v == nil {
				null = true
				continue
			}
			in = append(in, quote(*v))
		}
		var cond []string
		if len(in) > 0 {
			cond = append(cond, ident(partitionBy)+" IN ("+strings.Join(in, ", ")+")")
		}
		if null {
			cond = append(cond, ident(partitionBy)+" IS NULL")
		}
		sel := "SELECT * FROM (" + selectSQL + ") t WHERE " + strings.Join(cond, " OR ")
		if i == 0 {
			out = append(out, ctas(sel))
		} else {
			out = append(out, "INSERT INTO "+table+" "+sel)
		}
	}
	return out
}

// AthenaCTAS renders Athena's CREATE TABLE AS writing zstd Parquet to
// location (a new version's data folder), partitioned like the snapshot.
func AthenaCTAS(table, location, partitionBy string) func(string) string {
	return func(sel string) string {
		with := "format = 'PARQUET', write_compression = 'ZSTD', external_location = " + quote(location)
		if partitionBy != "" {
			with += ", partitioned_by = ARRAY[" + quote(partitionBy) + "]"
		}
		return "CREATE TABLE " + table + " WITH (" + with + ") AS\n" + sel
	}
}

// DuckDBCTAS renders DuckDB's CREATE TABLE AS (the tests then COPY it).
func DuckDBCTAS(table string) func(string) string {
	return func(sel string) string { return "CREATE TABLE " + table + " AS\n" + sel }
}
