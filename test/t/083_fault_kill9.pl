# kill -9 of the pgmanage worker and of a VACUUM worker during a run
# (issue 11, items 3 and 6): the postmaster crash-restarts everything.
#
# 1. The worker is paused (SIGSTOP) while a slow statement is captured and
#    a kill record is queued, then killed: after the crash restart
#    pgm_status() says the previous stop was a crash and counts exactly
#    what shared memory held (1 slow statement, 1 kill record), and the
#    server log says it once.
# 2. A scheduled VACUUM run waits on a table lock; its VACUUM worker is
#    killed: after the restart the run is failed ("server restarted"), not
#    left running, logged once; its slot is not run again; the next slot
#    runs; policies are enforced again.
# 3. pg_ctl stop -m immediate, then a clean restart: pgm_status() says
#    "immediate" then "clean", counting the unclean stops.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('kill9', conf => $vacuum_conf . q{
restart_after_crash = on
pgmanage.log_min_duration = '100ms'
pgmanage.pgss_snapshot_interval = 0
});
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('k9_%', '1 s');
	CREATE TABLE held (id int);
	INSERT INTO held SELECT generate_series(1, 100)});
pgm_wait_policies($node, 1);

is($node->safe_psql('postgres',
		"SELECT coalesce(last_stop, 'none') || '|' || unclean_stops FROM pgm_status() WHERE process = 'launcher'"),
	'none|0', 'a new data directory: no previous stop known, none unclean');

# wait until the processes are back after a crash restart (new pids)
sub wait_back
{
	my ($old) = @_;
	$node->poll_query_until('postgres', qq{
		SELECT count(*) = 2 FROM pgm_status() WHERE process IN ('launcher', 'worker')
		AND pid IS NOT NULL AND pid NOT IN ($old)})
	  or die 'launcher and worker did not come back';
	pgm_wait_worker($node);
	pgm_wait_policies($node, 1);
}

# ---- 1. kill -9 of the worker with a slow statement and a kill record in memory
my $worker = pgm_status_field($node, 'worker', 'pid');
my $launcher = pgm_status_field($node, 'launcher', 'pid');
ok($node->poll_query_until('postgres',
		"SELECT state IS DISTINCT FROM 'active' FROM pg_stat_activity WHERE pid = $worker"),
	'the worker is between passes');
kill 'STOP', $worker;
$node->safe_psql('postgres', "SELECT pg_sleep(0.3) /* lost-at-crash */");
my $victim = pgm_session($node, 'victim');
pgm_run($victim, 'SELECT pg_sleep(60)');
pgm_wait_active($node, 'victim');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_long('1 ms') WHERE application_name = 'victim'"),
	'1', 'a kill record queued');
pgm_result($victim);
pgm_quit($victim);
is($node->safe_psql('postgres', "SELECT kill_log_pending FROM pgm_status() WHERE process = 'worker'"),
	'1', 'the kill record is only in shared memory');

my $offset = -s $node->logfile;
kill 'KILL', $worker;
ok($node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset), 'crash restart');
wait_back("$worker, $launcher");

is($node->safe_psql('postgres',
		"SELECT last_stop, unclean_stops, lost_slow_queries, lost_kill_records, last_stop_at > now() - interval '5 min'"
		  . " FROM pgm_status() WHERE process = 'launcher'"),
	'crash|1|1|1|t', 'pgm_status(): the previous stop was a crash that lost 1 slow statement and 1 kill record');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pgm_status() WHERE process <> 'launcher' AND (last_stop IS NOT NULL OR unclean_stops IS NOT NULL)"),
	'0', 'the stop columns are on the launcher row only');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_slow_queries WHERE statement LIKE '%lost-at-crash%'"),
	'0', 'the slow statement was indeed lost');
my $log = slurp_file($node->logfile, $offset);
my $n = () = $log =~ /previous stop of the server was not clean \(crash\): 1 slow statements and 1 kill records held in shared memory were lost/g;
is($n, 1, 'one log line says what the crash lost');

# ---- 2. kill -9 of a VACUUM worker during a scheduled run
my $locker = pgm_session($node, 'locker');
$locker->query_safe('BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE');
$node->safe_psql('postgres', q{
	SELECT pgm_schedule_vacuum('yearly', '0 0 1 1 *', tables => ARRAY['held'], strategy => 'all',
	                           skip_locked => false, lock_timeout => '1 h')});
$node->safe_psql('postgres', "UPDATE pgm_job SET next_fire = now() WHERE name = 'yearly'");
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum' AND wait_event_type = 'Lock'}),
	'the scheduled run waits for the lock on its table');
my $run = $node->safe_psql('postgres', "SELECT id FROM pgm_job_run WHERE job = 'yearly'");
my $slot = $node->safe_psql('postgres', "SELECT scheduled_for FROM pgm_job_run WHERE id = $run");
is($node->safe_psql('postgres', "SELECT status FROM pgm_job_run WHERE id = $run"), 'running', 'the run is running');
my $vpid = $node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum'");
$worker = pgm_status_field($node, 'worker', 'pid');
$launcher = pgm_status_field($node, 'launcher', 'pid');

$offset = -s $node->logfile;
kill 'KILL', $vpid;
ok($node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset), 'crash restart');
pgm_quit($locker);
wait_back("$worker, $launcher");

pgm_wait_run($node, $run, '^failed$');
is($node->safe_psql('postgres', "SELECT error FROM pgm_job_run WHERE id = $run"),
	'server restarted while the run was going', 'the killed run is recorded as failed, saying why');
is($node->safe_psql('postgres', "SELECT last_stop, unclean_stops FROM pgm_status() WHERE process = 'launcher'"),
	'crash|2', 'pgm_status(): a second crash');

# several passes later: the slot is not run again
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
ok($node->poll_query_until('postgres',
		"SELECT last_wake > '$t0'::timestamptz + interval '2 s' FROM pgm_status() WHERE process = 'worker'"),
	'the worker made passes for 2 s after the restart');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_job_run WHERE job = 'yearly'"), '1',
	'the slot of the killed run is not run again');
$log = slurp_file($node->logfile, $offset);
$n = () = $log =~ /run $run marked failed/g;
is($n, 1, 'one log line for the failed run');
$n = () = $log =~ /\(PID $vpid\) was terminated by signal 9/g;
is($n, 1, 'one log line for the killed VACUUM worker');

# the schedule continues: the next slot runs once
$node->safe_psql('postgres', "UPDATE pgm_job SET next_fire = now() WHERE name = 'yearly'");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgm_job_run WHERE job = 'yearly' AND status = 'succeeded'"),
	'the next slot runs after the restart');
is($node->safe_psql('postgres',
		"SELECT count(*) || '|' || count(DISTINCT scheduled_for) FROM pgm_job_run WHERE job = 'yearly'"),
	'2|2', 'two runs, two slots: none run twice');

# policies are enforced again
my $s = pgm_session($node, 'k9_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the policy holds after the crashes');
pgm_quit($s);

# ---- 3. immediate shutdown, then a clean one
$node->stop('immediate');
$node->start;
pgm_wait_worker($node);
is($node->safe_psql('postgres',
		"SELECT last_stop, unclean_stops, lost_slow_queries IS NOT NULL FROM pgm_status() WHERE process = 'launcher'"),
	'immediate|3|t', 'pgm_status(): an immediate shutdown, counted');
$node->restart;
pgm_wait_worker($node);
is($node->safe_psql('postgres',
		"SELECT last_stop, unclean_stops, lost_slow_queries, lost_kill_records FROM pgm_status() WHERE process = 'launcher'"),
	'clean|3|0|0', 'pgm_status(): a clean stop that lost nothing; the count of unclean stops kept');
$n = pgm_log_count($node, qr/previous stop of the server was not clean/);
is($n, 3, 'one log line per unclean stop, none for the clean one');

$node->stop;
done_testing();
