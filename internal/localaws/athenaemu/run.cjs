// Runs one Athena query for the local endpoint's Athena emulation with DuckDB
// (@duckdb/node-api).
//   node run.cjs MODULES_DIR JOB.json
// JOB: {"setup": [sql…], "query": sql, "csv": path}. The query's rows are
// written to csv (header, every field quoted, as Athena writes results); the
// columns, their DuckDB types and the rows as text are printed as JSON on
// stdout. A failure
// prints the error on stderr and exits 1.
const path = require('node:path');
const fs = require('node:fs');
const { DuckDBInstance } = require(path.join(process.argv[2], 'node_modules', '@duckdb', 'node-api'));
(async () => {
  const job = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await inst.connect();
  for (const s of job.setup) await con.run(s);
  const d = await con.runAndReadAll('DESCRIBE ' + job.query);
  const cols = d.getRowObjectsJson().map((r) => ({ name: r.column_name, type: r.column_type }));
  if (job.parquet) {
    // CREATE TABLE AS / INSERT INTO: the rows as zstd Parquet (hive folders
    // with a partition column); prints the columns and the row count.
    const opts = job.partition ? ", PARTITION_BY (\"" + job.partition + "\"), FILENAME_PATTERN 'part-{i}'" : '';
    const target = job.partition ? job.parquet : job.parquet + '/part-0.parquet';
    const n = await con.runAndReadAll('SELECT count(*)::VARCHAR AS n FROM (' + job.query + ')');
    await con.run('COPY (' + job.query + ") TO '" + target.replace(/'/g, "''") + "' (FORMAT PARQUET, COMPRESSION ZSTD" + opts + ')');
    console.log(JSON.stringify({ Columns: cols.map((c) => ({ Name: c.name, Type: c.type })), Rows: n.getRows() }));
    return;
  }
  const lit = "'" + job.csv.replace(/'/g, "''") + "'";
  await con.run('COPY (' + job.query + ') TO ' + lit + ' (FORMAT CSV, HEADER, FORCE_QUOTE *)');
  // Every value as text (NULL stays null), as GetQueryResults serves it.
  const r = await con.runAndReadAll('SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (' + job.query + ')');
  console.log(JSON.stringify({ Columns: cols.map((c) => ({ Name: c.name, Type: c.type })), Rows: r.getRows() }));
})().catch((e) => { console.error(e.message); process.exit(1); });
