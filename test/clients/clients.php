<?php
// pgmanage from PHP with PDO pgsql (Debian: php-cli, php-pgsql), run by
// test/clients/run.sh: the three calls of docs/clients.md, then every column
// of every result checked against the PHP type PDO gives for its declared
// PostgreSQL type (getColumnMeta's native_type).  Connection from the PG*
// environment variables.  Prints "ok - ..." / "not ok - ..." / "skip - ..." lines.

// declared type -> PHP's gettype() of the values PDO pgsql returns: integers
// and booleans are native, everything else is its PostgreSQL text
// (json_decode() for jsonb, new DateTimeImmutable() for timestamptz)
const EXPECT = [
    'int2' => 'integer', 'int4' => 'integer', 'int8' => 'integer', 'oid' => 'integer',
    'bool' => 'boolean',
    'float4' => 'string', 'float8' => 'string', 'numeric' => 'string',
    'text' => 'string', 'name' => 'string', 'varchar' => 'string', 'bpchar' => 'string', 'char' => 'string',
    'timestamptz' => 'string', 'timestamp' => 'string', 'date' => 'string', 'interval' => 'string',
    'json' => 'string', 'jsonb' => 'string', 'inet' => 'string', 'cidr' => 'string',
    '_int4' => 'string', '_int8' => 'string', '_text' => 'string', '_name' => 'string',
];
$failures = 0;
function say(bool $ok, string $msg): void {
    global $failures;
    if (!$ok) $failures++;
    echo ($ok ? 'ok - ' : 'not ok - '), $msg, "\n";
}

$dsn = sprintf('pgsql:host=%s;port=%s;dbname=%s', getenv('PGHOST'), getenv('PGPORT'), getenv('PGDATABASE'));
$db = new PDO($dsn, getenv('PGUSER'), getenv('PGPASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$typtype = [];
foreach ($db->query('SELECT typname, typtype FROM pg_type') as $r) $typtype[$r['typname']] = $r['typtype'];

function check(string $label, PDOStatement $st, array $rows): void {
    global $typtype;
    for ($i = 0; $i < $st->columnCount(); $i++) {
        $m = $st->getColumnMeta($i);
        $name = $m['name'];
        $t = $m['native_type'] ?? '?';
        $want = EXPECT[$t] ?? null;
        if (($typtype[$t] ?? '?') !== 'b' || $want === null) {
            say(false, "$label.$name: $t (typtype " . ($typtype[$t] ?? '?') . ") has no native PHP type");
            continue;
        }
        $values = array_filter(array_column($rows, $name), fn($v) => $v !== null);
        $bad = array_filter($values, fn($v) => gettype($v) !== $want);
        // the texts PHP parses further must parse
        if ($t === 'jsonb' || $t === 'json')
            $bad += array_filter($values, fn($v) => json_decode($v, true, 512, JSON_THROW_ON_ERROR) === null && $v !== 'null');
        if ($t === 'timestamptz')
            $bad += array_filter($values, fn($v) => !(new DateTimeImmutable($v)));
        $first = $bad ? reset($bad) : null;
        say(!$bad, "$label.$name: $t -> $want (" . count($values) . ' of ' . count($rows) . ' non-NULL)'
            . ($bad ? ': got ' . gettype($first) . ' ' . var_export($first, true) : ''));
    }
}

// 1. sizes of tables and indexes
$st = $db->query('SELECT * FROM pgmanage.pgm_size_report(include_indexes => true)');
$rows = $st->fetchAll(PDO::FETCH_ASSOC);
$orders = array_values(array_filter($rows, fn($r) => $r['schema_name'] === 'public' && $r['relation_name'] === 'orders'));
say(count($orders) === 1 && $orders[0]['total_bytes'] > 0,
    'pgm_size_report(): public.orders, ' . ($orders ? $orders[0]['total_pretty'] : 'missing'));
check('pgm_size_report', $st, $rows);

// 2. cancel what runs longer than a bound interval (a named parameter)
$st = $db->prepare('SELECT * FROM pgmanage.pgm_kill_long(CAST(:max_duration AS interval))');
$st->execute([':max_duration' => '1 second']);
$rows = $st->fetchAll(PDO::FETCH_ASSOC);
$mine = array_values(array_filter($rows, fn($r) => $r['application_name'] === 'pgm_clients_sleeper'));
say(count($mine) === 1 && $mine[0]['signalled'] === true && $mine[0]['action_taken'] === 'cancel',
    "pgm_kill_long(:max_duration = '1 second') cancelled the pg_sleep session: "
    . json_encode(array_map(fn($r) => [$r['pid'], $r['action_taken'], $r['signalled']], $mine)));
check('pgm_kill_long', $st, $rows);

// 3. the metrics, if this pgmanage has them
if ($db->query("SELECT to_regprocedure('pgmanage.pgm_metrics()') IS NOT NULL")->fetchColumn()) {
    $st = $db->query('SELECT metric, type, help, labels, value FROM pgmanage.pgm_metrics()');
    $rows = $st->fetchAll(PDO::FETCH_ASSOC);
    say(count($rows) > 0 && !array_filter($rows, fn($r) => !str_starts_with($r['metric'], 'pgmanage_')),
        'pgm_metrics(): ' . count($rows) . ' samples, e.g. ' . ($rows ? $rows[0]['metric'] : 'none'));
    check('pgm_metrics', $st, $rows);
} else {
    echo "skip - pgm_metrics() does not exist in this pgmanage (it comes with the metrics work)\n";
}

// 4. the other reports and every view of schema pgmanage
foreach (['pgm_status()', 'pgm_database_sizes()', 'pgm_disk_usage()', 'pgm_bloat()'] as $q) {
    $st = $db->query("SELECT * FROM pgmanage.$q");
    check(str_replace('()', '', $q), $st, $st->fetchAll(PDO::FETCH_ASSOC));
}
$views = $db->query("SELECT viewname FROM pg_views WHERE schemaname = 'pgmanage' ORDER BY 1")->fetchAll(PDO::FETCH_COLUMN);
foreach ($views as $v) {
    $st = $db->query("SELECT * FROM pgmanage.$v LIMIT 50");
    check($v, $st, $st->fetchAll(PDO::FETCH_ASSOC));
}
exit($failures ? 1 : 0);
