// pgmanage from Node.js with pg (the npm registry; node/package-lock.json),
// run by test/clients/run.sh: the three calls of docs/clients.md, then every
// column of every result checked against the JavaScript type pg gives for
// its declared PostgreSQL type.  Connection from the PG* environment
// variables.  Prints "ok - ..." / "not ok - ..." / "skip - ..." lines.
'use strict';
const { Client, types } = require('pg');

// bigint (int8, OID 20) arrives as a string by default: its values can
// exceed 2^53.  Parse it as a BigInt instead (query ids, byte counts).
types.setTypeParser(20, BigInt);

// declared type -> what pg returns for it (typeof, or a class)
const isInterval = (v) => typeof v === 'object' && v !== null && typeof v.toPostgres === 'function';
const EXPECT = {
  int2: 'number', int4: 'number', oid: 'number', int8: 'bigint',
  float4: 'number', float8: 'number',
  numeric: 'string',          // exact decimal text: Number(v) or a decimal library
  text: 'string', name: 'string', varchar: 'string', bpchar: 'string', char: 'string',
  bool: 'boolean', timestamptz: Date, timestamp: Date, date: Date,
  interval: ['PostgresInterval', isInterval],
  json: 'object', jsonb: 'object',
  inet: 'string', cidr: 'string',
  _int4: Array, _int8: Array, _text: Array, _name: Array,
};
let failures = 0;
function say(ok, msg) {
  if (!ok) failures++;
  console.log((ok ? 'ok - ' : 'not ok - ') + msg);
}
function conforms(v, want) {
  if (typeof want === 'string') return typeof v === want;
  if (Array.isArray(want)) return want[1](v);
  return v instanceof want;
}
const wantName = (w) => (typeof w === 'string' ? w : Array.isArray(w) ? w[0] : w.name);

async function main() {
  const client = new Client();  // PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
  await client.connect();
  const pgTypes = new Map((await client.query('SELECT oid, typname, typtype FROM pg_type')).rows
    .map((r) => [r.oid, r]));

  function check(label, res) {
    for (const f of res.fields) {
      const t = pgTypes.get(f.dataTypeID) || { typname: `oid ${f.dataTypeID}`, typtype: '?' };
      const want = EXPECT[t.typname];
      if (t.typtype !== 'b' || want === undefined) {
        say(false, `${label}.${f.name}: ${t.typname} (typtype ${t.typtype}) has no native JavaScript type`);
        continue;
      }
      const values = res.rows.map((r) => r[f.name]).filter((v) => v !== null);
      const bad = values.filter((v) => !conforms(v, want));
      say(bad.length === 0, `${label}.${f.name}: ${t.typname} -> ${wantName(want)} `
        + `(${values.length} of ${res.rows.length} non-NULL)`
        + (bad.length ? `: got ${typeof bad[0]} ${String(bad[0])}` : ''));
    }
  }

  // 1. sizes of tables and indexes
  let res = await client.query('SELECT * FROM pgmanage.pgm_size_report(include_indexes => true)');
  const orders = res.rows.filter((r) => r.schema_name === 'public' && r.relation_name === 'orders');
  say(orders.length === 1 && orders[0].total_bytes > 0n,
    `pgm_size_report(): public.orders, ${orders.length ? orders[0].total_pretty : 'missing'}`);
  check('pgm_size_report', res);

  // 2. cancel what runs longer than a bound interval ($1: an interval's text)
  res = await client.query('SELECT * FROM pgmanage.pgm_kill_long($1)', ['1 second']);
  const mine = res.rows.filter((r) => r.application_name === 'pgm_clients_sleeper');
  say(mine.length === 1 && mine[0].signalled === true && mine[0].action_taken === 'cancel',
    `pgm_kill_long($1 = '1 second') cancelled the pg_sleep session: ${JSON.stringify(mine.map((r) => [r.pid, r.action_taken, r.signalled]))}`);
  check('pgm_kill_long', res);

  // 3. the metrics, if this pgmanage has them
  res = await client.query("SELECT to_regprocedure('pgmanage.pgm_metrics()') IS NOT NULL AS has");
  if (res.rows[0].has) {
    res = await client.query('SELECT metric, type, help, labels, value FROM pgmanage.pgm_metrics()');
    say(res.rows.length > 0 && res.rows.every((r) => r.metric.startsWith('pgmanage_')),
      `pgm_metrics(): ${res.rows.length} samples, e.g. ${res.rows.length ? res.rows[0].metric : 'none'}`);
    check('pgm_metrics', res);
  } else {
    console.log('skip - pgm_metrics() does not exist in this pgmanage (it comes with the metrics work)');
  }

  // 4. the other reports and every view of schema pgmanage
  for (const q of ['pgm_status()', 'pgm_database_sizes()', 'pgm_disk_usage()', 'pgm_bloat()']) {
    check(q.replace('()', ''), await client.query(`SELECT * FROM pgmanage.${q}`));
  }
  res = await client.query("SELECT viewname FROM pg_views WHERE schemaname = 'pgmanage' ORDER BY 1");
  for (const { viewname } of res.rows) {
    check(viewname, await client.query(`SELECT * FROM pgmanage.${viewname} LIMIT 50`));
  }
  await client.end();
}

main().then(() => process.exit(failures ? 1 : 0), (err) => {
  console.log(`not ok - ${err.stack}`);
  process.exit(1);
});
