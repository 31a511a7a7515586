# Processes a policy never touches: parallel workers (the leader is the
# target, and the log names it), autovacuum workers, pgmanage's own.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('untouched', conf => q{
autovacuum_naptime = 1
autovacuum_vacuum_cost_delay = 100ms
autovacuum_vacuum_cost_limit = 1
});
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 20000) g;
	GRANT SELECT ON t TO app;
	ANALYZE t});
# a policy that matches every session, superusers included, with a limit
# shorter than anything below
my $pol = $node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (statement_timeout, exempt_superusers)
	VALUES ('2 s', false) RETURNING id});
pgm_wait_policies($node, 1);

# --- a parallel query: the leader is cancelled, the workers are not targeted
my $s = pgm_session($node, 'par', user => 'app');
my $leader = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe(q{SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
	SET parallel_leader_participation = off});
pgm_run($s, 'SELECT count(*) FROM t WHERE pg_sleep(0.01) IS NOT NULL');
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE leader_pid = $leader AND backend_type = 'parallel worker'")
  or die 'no parallel worker';
my $workers = $node->safe_psql('postgres',
	"SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE leader_pid = $leader AND pid <> $leader");
note "leader $leader, parallel workers $workers";
my ($out, $err) = pgm_result($s);
like($out, qr/sqlstate=57014/, 'parallel query: cancelled through its leader');
$node->poll_query_until('postgres', "SELECT count(*) > 0 FROM pgm_kill_log WHERE application_name = 'par'") or die;
is($node->safe_psql('postgres', "SELECT string_agg(pid::text, ',') FROM pgm_kill_log WHERE application_name = 'par'"),
	$leader, 'the log row names the leader, and only the leader');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid IN ($workers)"),
	'0', 'no parallel worker in the log');
$s->quit;

# --- autovacuum: slowed down (cost limit 1, delay 100 ms), it runs for long
$node->safe_psql('postgres', 'CREATE TABLE churn AS SELECT g AS id, repeat(\'x\', 100) AS pad FROM generate_series(1, 50000) g');
$node->safe_psql('postgres', 'DELETE FROM churn WHERE id % 2 = 0');
$node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity
	WHERE backend_type = 'autovacuum worker' AND now() - query_start > '4 s'})
  or die 'no long autovacuum';
my $av = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND now() - query_start > '4 s' LIMIT 1");
pass("an autovacuum worker ran past the 2 s limit (pid $av)");
# one more enforcement pass for certain: a session cancelled after it
$s = pgm_session($node, 'after_av', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the launcher kept enforcing meanwhile');
$s->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $av"),
	'1', 'the autovacuum worker is still there');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid = $av"),
	'0', 'and was never signalled');

# --- pgmanage's own processes, and the superuser's connections used above
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgm_kill_log l JOIN pgm_status() s USING (pid)}),
	'0', 'pgmanage never signals its own processes');
ok(!$node->log_contains(qr/canceling autovacuum task|terminating autovacuum process/),
	'no autovacuum task was cancelled');

$node->stop;
done_testing();
