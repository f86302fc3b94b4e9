// Verify a rebuilt snapshot against cdcgen's expected.json with DuckDB.
//
//   node bench/verify.mjs --out 'PATH/**/*.parquet' --expected expected.json [--modules DIR]
//
// Unlike the reference verify (../shared/bench/duckdb/rebuild.mjs), it casts
// amount to DECIMAL: opsctl infers types from the data, and Debezium with
// decimal.handling.mode=string sends amounts as text.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const here = path.dirname(new URL(import.meta.url).pathname);
const candidates = [a.modules, path.join(here, '../internal/localaws/emulators'), path.join(here, '../../shared/bench/duckdb')].filter(Boolean);
let duckdb;
for (const dir of candidates) {
  try { duckdb = createRequire(path.join(dir, 'package.json'))('@duckdb/node-api'); break; } catch {}
}
if (!duckdb) { console.error('verify: @duckdb/node-api not found (npm ci in internal/localaws/emulators)'); process.exit(2); }
const exp = JSON.parse(fs.readFileSync(a.expected, 'utf8'));
const inst = await duckdb.DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
const r = await con.runAndReadAll(`
  SELECT count(*)::BIGINT AS live_keys, count(DISTINCT pk)::BIGINT AS distinct_pk,
         sum(qty)::BIGINT AS sum_qty, sum((CAST(amount AS DECIMAL(18,2))*100)::BIGINT)::BIGINT AS sum_amount_cents,
         sum(version)::BIGINT AS sum_version, count_if(active)::BIGINT AS count_active,
         count_if(note IS NULL)::BIGINT AS count_note_null
  FROM read_parquet('${a.out}')`);
const got = r.getRowObjectsJson()[0];
let ok = true;
for (const k of ['live_keys', 'sum_qty', 'sum_amount_cents', 'sum_version', 'count_active', 'count_note_null']) {
  if (BigInt(got[k]) !== BigInt(exp[k])) { ok = false; console.log(`MISMATCH ${k}: got ${got[k]} expected ${exp[k]}`); }
}
if (BigInt(got.distinct_pk) !== BigInt(got.live_keys)) { ok = false; console.log('MISMATCH: duplicate pk in output'); }
console.log(JSON.stringify({ verify: ok ? 'OK' : 'FAIL', ...got }));
process.exit(ok ? 0 : 1);
