# Row caps (pgmanage.*_max_rows): each history table the worker keeps ends
# at or under its cap after more rows than the cap were made for real (a
# burst of VACUUM runs, slow statements, cancelled statements, snapshots,
# events), retention alone (days) deleting nothing; work not yet done
# (queued runs, events with a pending delivery) is never deleted, is
# counted, logged once and shown in pgm_status(), and the table comes back
# within its cap once the work is done.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my %cap = (job_run => 20, slow_queries => 25, kill_log => 5, pgss_history => 30, webhook => 20);
my $node = pgm_node('caps', conf => qq{
compute_query_id = on
pgmanage.naptime = '200ms'
pgmanage.log_min_duration = '20ms'
pgmanage.pgss_snapshot_interval = 0
pgmanage.job_run_max_rows = $cap{job_run}
pgmanage.slow_queries_max_rows = $cap{slow_queries}
pgmanage.kill_log_max_rows = $cap{kill_log}
pgmanage.pgss_history_max_rows = $cap{pgss_history}
pgmanage.webhook_max_rows = $cap{webhook}
});
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE ROLE stormer LOGIN;
CREATE TABLE tiny (a int);
INSERT INTO tiny VALUES (1);
});

# every retention setting is its default (days): only the caps delete
is($node->safe_psql('postgres',
		q{SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings
		  WHERE name LIKE 'pgmanage.%_max_rows'}),
	"pgmanage.job_run_max_rows=$cap{job_run},pgmanage.kill_log_max_rows=$cap{kill_log},"
	  . "pgmanage.pgss_history_max_rows=$cap{pgss_history},pgmanage.slow_queries_max_rows=$cap{slow_queries},"
	  . "pgmanage.webhook_max_rows=$cap{webhook}",
	'the five caps are set');

# --- pgm_slow_queries: a capture storm of 60 statements above the threshold
$node->safe_psql('postgres', 'SELECT pg_sleep(0.03) /* storm */;' x 60);
$node->poll_query_until('postgres',
	"SELECT count(*) BETWEEN 1 AND $cap{slow_queries} FROM pgm_slow_queries")
  or die 'pgm_slow_queries is not capped';
is($node->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE query LIKE '%storm%') > 0 FROM pgm_slow_queries}),
	't', "pgm_slow_queries: at most $cap{slow_queries} rows, the newest storm statements among them");
cmp_ok($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%storm%' AND calls >= 60"),
	'==', 1, 'and 60 storm statements were run');

# --- pgm_kill_log: 12 statements cancelled by a 100 ms policy
$node->safe_psql('postgres',
	q{INSERT INTO pgm_timeout_policy (role_name, statement_timeout) VALUES ('stormer', '100ms')});
pgm_wait_policies($node, 1);
my $cancelled = 0;
for (1 .. 12)
{
	my ($ret, $out, $err) = $node->psql('postgres', 'SELECT pg_sleep(20)',
		extra_params => ['-U', 'stormer']);
	$cancelled++ if $err =~ /canceling statement/;
}
is($cancelled, 12, '12 statements cancelled');
$node->poll_query_until('postgres',
	qq{SELECT (SELECT kill_log_written >= 12 FROM pgm_status() WHERE process = 'worker')
	          AND count(*) BETWEEN 1 AND $cap{kill_log} FROM pgm_kill_log})
  or die 'pgm_kill_log is not capped';
pass("pgm_kill_log: 12 written, at most $cap{kill_log} kept");

# --- pgm_pgss_snapshot / pgm_pgss_history / pgm_pgss_query: 8 snapshots of
# 10 statements each, the first 4 on tables old_N, the last 4 on new_N
$node->safe_psql('postgres',
	join('', map { "CREATE TABLE old_$_ (a int); CREATE TABLE new_$_ (a int);" } 1 .. 10));
for my $s (1 .. 8)
{
	my $t = $s <= 4 ? 'old' : 'new';
	$node->safe_psql('postgres', join('', map { "SELECT count(*) FROM ${t}_$_;" } 1 .. 10));
	$node->safe_psql('postgres', 'SELECT pgm_pgss_snapshot()');
}
$node->poll_query_until('postgres', qq{
	SELECT count(*) <= $cap{pgss_history} AND count(*) > 0 FROM pgm_pgss_history})
  or die 'pgm_pgss_history is not capped';
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM pgm_pgss_snapshot) < 8,
	       (SELECT sum(delta_rows) FROM pgm_pgss_snapshot) = (SELECT count(*) FROM pgm_pgss_history),
	       (SELECT max(id) FROM pgm_pgss_snapshot) = (SELECT max(snapshot_id) FROM pgm_pgss_history)}),
	't|t|t', 'pgm_pgss_history: whole oldest snapshots deleted, the newest kept');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pgm_pgss_query q WHERE q.query LIKE '%old_%'})
  or die 'pgm_pgss_query keeps texts no history row needs';
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE q.query LIKE '%new_%') = 10,
	       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM pgm_pgss_history h WHERE h.queryid = q.queryid)) = 0,
	       (SELECT count(*) FROM pgm_pgss_history h
	        WHERE NOT EXISTS (SELECT 1 FROM pgm_pgss_query q2 WHERE q2.queryid = h.queryid)) = 0
	FROM pgm_pgss_query q}),
	't|t|t', 'pgm_pgss_query: only the texts the history needs, and every one it needs');

# --- pgm_event: 15 events pending for a disabled endpoint, then 40 without delivery
$node->safe_psql('postgres', q{
INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('parked', 'https://example.invalid/', false);
SELECT pgm_emit_event('keep', endpoint => 'parked') FROM generate_series(1, 15);
SELECT pgm_emit_event('noise') FROM generate_series(1, 40);
});
$node->poll_query_until('postgres',
	"SELECT count(*) FILTER (WHERE kind = 'noise') = $cap{webhook} FROM pgm_event")
  or die 'pgm_event is not capped';
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE kind = 'keep'),
	       (SELECT count(*) FROM pgm_delivery WHERE status = 'pending')
	FROM pgm_event}),
	'15|15', 'the 15 events with a pending delivery are all kept, with their deliveries');
$node->poll_query_until('postgres', q{SELECT last_error LIKE
	'%pgm_event holds 15 rows beyond pgmanage.webhook_max_rows that are work not yet done%'
	FROM pgm_status() WHERE process = 'worker'})
  or die 'pgm_status does not say why pgm_event is over its cap';
pass('pgm_status() says pgm_event holds 15 rows of pending work beyond its cap');
# the work done (the endpoint removed): the table comes within its cap
$node->safe_psql('postgres', q{DELETE FROM pgm_endpoint WHERE name = 'parked'});
$node->poll_query_until('postgres', "SELECT count(*) <= $cap{webhook} FROM pgm_event")
  or die 'pgm_event stays over its cap once nothing is pending';
pass('pgm_event within its cap once nothing is pending');

# --- pgm_job_run: 40 VACUUM runs, one after the other as fast as they go
for (1 .. 40)
{
	$node->safe_psql('postgres', q{SELECT pgm_vacuum_now(tables => ARRAY['tiny'])});
}
$node->poll_query_until('postgres', qq{
	SELECT count(*) FILTER (WHERE status IN ('queued', 'running')) = 0
	   AND count(*) <= $cap{job_run} FROM pgm_job_run})
  or die 'pgm_job_run is not capped';
is($node->safe_psql('postgres', q{SELECT max(id) >= 40 FROM pgm_job_run}), 't',
	"pgm_job_run: 40 runs made, at most $cap{job_run} kept");

# queued runs beyond the cap are kept and counted
$node->append_conf('postgresql.conf', 'pgmanage.enable_jobs = off');
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('pgmanage.enable_jobs') = 'off'});
$node->safe_psql('postgres',
	q{SELECT pgm_vacuum_now(tables => ARRAY['tiny']) FROM generate_series(1, 25)});
my $over = $cap{job_run} + 5;
$node->poll_query_until('postgres', q{
	SELECT count(*) FILTER (WHERE status <> 'queued') = 0 FROM pgm_job_run})
  or die 'the finished runs beyond the cap are not deleted';
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgm_job_run WHERE status = 'queued'}),
	'25', 'the 25 queued runs are all kept, the finished ones deleted');
$node->poll_query_until('postgres', q{SELECT last_error LIKE
	'%pgm_job_run holds 5 rows beyond pgmanage.job_run_max_rows%' FROM pgm_status() WHERE process = 'worker'})
  or die 'pgm_status does not say why pgm_job_run is over its cap';
pass('pgm_status() says pgm_job_run holds 5 queued runs beyond its cap');

$node->append_conf('postgresql.conf', 'pgmanage.enable_jobs = on');
$node->reload;
$node->poll_query_until('postgres', qq{
	SELECT count(*) FILTER (WHERE status IN ('queued', 'running')) = 0
	   AND count(*) <= $cap{job_run} FROM pgm_job_run})
  or die 'pgm_job_run stays over its cap once the runs are done';
pass('pgm_job_run within its cap once the queued runs ran');

# each condition logged once, and once more when it no longer holds
is(pgm_log_count($node, qr/LOG:  pgmanage: pgmanage\.pgm_event holds \d+ rows beyond pgmanage\.webhook_max_rows/), 1,
	'pgm_event over its cap: logged once');
is(pgm_log_count($node, qr/LOG:  pgmanage: pgmanage\.pgm_job_run holds \d+ rows beyond pgmanage\.job_run_max_rows/), 1,
	'pgm_job_run over its cap: logged once');
is(pgm_log_count($node, qr/LOG:  pgmanage: pgmanage\.pgm_job_run is within pgmanage\.job_run_max_rows = 20 again/), 1,
	'and within it again: logged once');

# 0: no cap
$node->append_conf('postgresql.conf', 'pgmanage.webhook_max_rows = 0');
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('pgmanage.webhook_max_rows') = '0'});
$node->safe_psql('postgres', q{SELECT pgm_emit_event('noise') FROM generate_series(1, 30)});
sleep 12;	# more than a cap interval (10 s): nothing may be deleted
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_event'), $cap{webhook} + 30,
	'pgmanage.webhook_max_rows = 0: no cap');

$node->stop;
done_testing();
