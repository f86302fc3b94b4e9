package athena

import (
	"fmt"
	"strings"
)

// Dialect is every place where Athena (Trino) and DuckDB SQL differ. The rest
// of the generated SQL (window functions, CTEs, CASE, CAST, regexp_extract,
// ORDER BY … LIMIT, LEFT JOIN … ON TRUE, quoted identifiers) is written once
// in the subset both engines accept.
//
// The differences, and why each cannot be avoided:
//
//   - JSON scalar extraction: Trino has json_extract_scalar, DuckDB
//     json_extract_string (neither has the other's name).
//   - JSON paths: Trino's JSONPath quotes a member as $["name"], DuckDB's as
//     $."name" (neither accepts the other's form); unquoted $.name breaks on
//     attribute names with spaces, dots or dashes.
//   - A JSON sub-document as text: Trino json_format(json_extract(…)), DuckDB
//     CAST(json_extract(…) AS VARCHAR) (Trino's CAST(json AS VARCHAR) only
//     accepts scalars).
//   - Reading the raw increments: Athena reads an external table (one string
//     column per line, its object key in the hidden "$path" column), DuckDB a
//     read_csv over the files with the file name as a column.
//   - Writing a table to a folder: Athena CTAS WITH (external_location,
//     format, partitioned_by), DuckDB CREATE TABLE … AS plus COPY … TO.
type Dialect struct {
	Name string
	// scalar returns the SQL that extracts the JSON scalar at path from the
	// JSON text expr, as varchar (NULL when absent or not a scalar).
	scalar func(expr, path string) string
	// text returns the JSON sub-document at path as varchar text.
	text func(expr, path string) string
	// path renders a JSONPath of member names.
	path func(members []string) (string, error)
}

// Trino is Athena engine version 3.
var Trino = Dialect{
	Name:   "trino",
	scalar: func(expr, path string) string { return "json_extract_scalar(" + expr + ", " + path + ")" },
	text:   func(expr, path string) string { return "json_format(json_extract(" + expr + ", " + path + "))" },
	path: func(members []string) (string, error) {
		var b strings.Builder
		b.WriteString("$")
		for _, m := range members {
			if strings.ContainsAny(m, "\"\\'") {
				return "", fmt.Errorf("attribute name %q: quotes and backslashes cannot be written in a JSONPath", m)
			}
			b.WriteString(`["` + m + `"]`)
		}
		return quote(b.String()), nil
	},
}

// DuckDB is DuckDB 1.x with its json extension (built in).
var DuckDB = Dialect{
	Name:   "duckdb",
	scalar: func(expr, path string) string { return "json_extract_string(" + expr + ", " + path + ")" },
	text:   func(expr, path string) string { return "CAST(json_extract(" + expr + ", " + path + ") AS VARCHAR)" },
	path: func(members []string) (string, error) {
		var b strings.Builder
		b.WriteString("$")
		for _, m := range members {
			if strings.ContainsAny(m, "\"\\'") {
				return "", fmt.Errorf("attribute name %q: quotes and backslashes cannot be written in a JSONPath", m)
			}
			b.WriteString(`."` + m + `"`)
		}
		return quote(b.String()), nil
	},
}

// quote is a SQL string literal (both engines double the single quote).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident is a quoted identifier (both engines).
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// DuckDBLines is the DuckDB relation of raw increments: one row per line of
// each file, with line and src (the file name, whose order is the object
// key order). Records must be newline-delimited, as etl archive and Firehose
// (with a newline delimiter) write them.
func DuckDBLines(files []string) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = quote(f)
	}
	return "SELECT line, filename AS src FROM read_csv([" + strings.Join(q, ", ") +
		"], columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, filename = true)"
}

// AthenaLines is the Athena relation of raw increments from the external
// table RawTableDDL creates, restricted to the hour partitions from
// fromHour on ("" for all): line and src ("$path", the object's S3 URI).
func AthenaLines(rawTable, fromHour string) string {
	s := `SELECT line, "$path" AS src FROM ` + rawTable
	if fromHour != "" {
		s += " WHERE dt >= " + quote(fromHour)
	}
	return s
}

// RawTableDDL is the Athena external table over the increments under
// location (s3://bucket/prefix/), whose objects sit in Firehose's
// YYYY/MM/DD/HH/ folders: one string column per line (LazySimpleSerDe with a
// field delimiter that JSON text never holds unescaped), and the hour folder
// as the partition column dt, served by partition projection (Athena user
// guide, "Partition projection": type date, format yyyy/MM/dd/HH, interval 1
// HOURS), so new hours need no partition registration.
func RawTableDDL(table, location, firstHour string) string {
	if !strings.HasSuffix(location, "/") {
		location += "/"
	}
	return "CREATE EXTERNAL TABLE IF NOT EXISTS " + table + " (line string)\n" +
		"PARTITIONED BY (dt string)\n" +
		"ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\u0001' LINES TERMINATED BY '\\n'\n" +
		"STORED AS TEXTFILE\n" +
		"LOCATION " + quote(location) + "\n" +
		"TBLPROPERTIES (\n" +
		"  'projection.enabled' = 'true',\n" +
		"  'projection.dt.type' = 'date',\n" +
		"  'projection.dt.format' = 'yyyy/MM/dd/HH',\n" +
		"  'projection.dt.range' = " + quote(firstHour+",NOW") + ",\n" +
		"  'projection.dt.interval' = '1',\n" +
		"  'projection.dt.interval.unit' = 'HOURS',\n" +
		"  'storage.location.template' = " + quote(location+"${dt}/") + "\n)"
}
