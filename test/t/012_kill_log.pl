# pgm_kill_log: every column of a policy's row, pgm_kill_long's rows, and
# the retention (pgmanage.kill_log_retention) the worker applies.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('killlog', tcp => 1);
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
my $policy = $node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout)
	VALUES ('audited', '1 s') RETURNING id});
pgm_wait_policies($node, 1);

# --- a policy's row
my $s = pgm_session($node, 'audited', user => 'app', tcp => 1);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
my $before = $node->safe_psql('postgres', 'SELECT now()');
pgm_run($s, 'SELECT pg_sleep(60) /* audit marker */');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'cancelled');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid")
  or die 'no kill log row';
my $row = $node->safe_psql('postgres', qq{
	SELECT logged_at > '$before' AND logged_at <= now(), role_name, database_name,
	       application_name, client_addr, state, duration >= '1 s', duration < '1 min',
	       query, query_id IS NOT NULL AND query_id <> 0, policy_id, limit_kind,
	       action, succeeded, detail IS NULL, source
	FROM pgm_kill_log WHERE pid = $pid});
is($row, join('|', 't', 'app', 'postgres', 'audited', '127.0.0.1', 'active', 't', 't',
		'SELECT pg_sleep(60) /* audit marker */;', 't', $policy, 'statement_timeout',
		'cancel', 't', 't', 'policy'),
	'kill log row: every column');
is($node->safe_psql('postgres',
		"SELECT kill_log_written >= 1 AND kill_log_pending = 0 AND kill_log_dropped = 0 FROM pgm_status() WHERE process = 'worker'"),
	't', 'pgm_status: written, nothing pending or dropped');

# query_id is computed only with compute_query_id: off, it stays NULL
$node->safe_psql('postgres', 'ALTER ROLE app SET compute_query_id = off');
my $s2 = pgm_session($node, 'audited', user => 'app');
my $pid2 = $s2->query_safe('SELECT pg_backend_pid()');
pgm_run($s2, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s2), qr/sqlstate=57014/, 'cancelled (compute_query_id off)');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid2") or die;
is($node->safe_psql('postgres', "SELECT query_id IS NULL, client_addr IS NULL FROM pgm_kill_log WHERE pid = $pid2"),
	't|t', 'query_id NULL without compute_query_id; client_addr NULL on a Unix socket');
$s2->quit;

# --- pgm_kill_long writes to the same table
$node->safe_psql('postgres', 'DELETE FROM pgm_timeout_policy');
pgm_wait_policies($node, 0);
my $k = pgm_session($node, 'long_one', user => 'app');
my $kpid = $k->query_safe('SELECT pg_backend_pid()');
pgm_run($k, 'SELECT pg_sleep(60)');
pgm_wait_active($node, 'long_one');
$node->poll_query_until('postgres',
	"SELECT now() - query_start > '0.5 s' FROM pg_stat_activity WHERE pid = $kpid") or die;
is($node->safe_psql('postgres', "SELECT pid, signalled FROM pgm_kill_long('0.5 s', 'cancel') WHERE pid = $kpid"),
	"$kpid|t", 'pgm_kill_long cancels');
like(scalar pgm_result($k), qr/sqlstate=57014/, 'pgm_kill_long: the statement was cancelled');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $kpid")
  or die 'no kill log row for pgm_kill_long';
is($node->safe_psql('postgres', qq{
	SELECT source, policy_id IS NULL, limit_kind, action, succeeded, detail, role_name,
	       application_name, duration >= '0.5 s', query
	FROM pgm_kill_log WHERE pid = $kpid}),
	'pgm_kill_long|t|pgm_kill_long|cancel|t|by postgres|app|long_one|t|SELECT pg_sleep(60);',
	'pgm_kill_long: its row in pgm_kill_log');
$k->quit;
$s->quit;

# --- retention: rows older than pgmanage.kill_log_retention are pruned
$node->safe_psql('postgres', q{
	INSERT INTO pgm_kill_log (logged_at, pid, limit_kind, action, succeeded, source)
	SELECT now() - interval '2 minutes' - i * interval '1 hour', 1, 'statement_timeout', 'cancel', true, 'test'
	FROM generate_series(1, 3) i});
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE source = 'test'"),
	'3', 'old rows inserted (default retention: 7 days)');
$node->safe_psql('postgres', q{ALTER SYSTEM SET pgmanage.kill_log_retention = '1min'; SELECT pg_reload_conf()});
$node->poll_query_until('postgres', "SELECT setting = '1' FROM pg_settings WHERE name = 'pgmanage.kill_log_retention'")
  or die;
# the worker prunes at its start and then once a minute: restart it rather than wait
my $wpid = pgm_status_field($node, 'worker', 'pid');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($wpid)");
$node->poll_query_until('postgres',
	"SELECT pid IS NOT NULL AND pid <> $wpid FROM pgm_status() WHERE process = 'worker'")
  or die 'the launcher did not restart the worker';
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgm_kill_log WHERE source = 'test'")
  or die 'old rows not pruned';
pass('rows older than the retention pruned');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE source <> 'test'"),
	'3', 'recent rows kept');

$node->stop;
done_testing();
