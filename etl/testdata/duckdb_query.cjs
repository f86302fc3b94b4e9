// Runs one SQL query with DuckDB (@duckdb/node-api) and prints the rows as JSON.
//   node duckdb_query.cjs MODULES_DIR "SQL"
const path = require('node:path');
const { DuckDBInstance } = require(path.join(process.argv[2], 'node_modules', '@duckdb', 'node-api'));
(async () => {
  const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await inst.connect();
  const r = await con.runAndReadAll(process.argv[3]);
  console.log(JSON.stringify(r.getRowObjectsJson()));
})().catch((e) => { console.error(e.message); process.exit(1); });
