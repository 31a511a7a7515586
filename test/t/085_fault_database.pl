# pgmanage.database missing, created, dropped while the worker runs, and
# the extension dropped and re-created there (issue 11, item 6).
#
# 1. Missing at start: one log line, the launcher's pgm_status() row says
#    so, no worker; the launcher enforces no policy (the policies live in
#    that database's table: none can be loaded).
# 2. Created (no reload, no restart): the worker starts within a naptime,
#    the launcher's error is cleared, policies are enforced.
# 3. DROP DATABASE while the worker runs: it succeeds, the worker goes
#    (logged once), the launcher says the database is missing (once), no
#    postmaster crash.
# 4. Re-created, then DROP EXTENSION / CREATE EXTENSION there while the
#    worker runs: logged once, policies of the dropped table no longer
#    enforced, the new table's are.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('dbfault', database => 'ops', conf => "pgmanage.naptime = '200ms'\n");
my $pm_pid = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

# the launcher has made passes for 2 s after now
sub launcher_passes
{
	my $t0 = $node->safe_psql('postgres', 'SELECT now()');
	$node->poll_query_until('postgres',
		"SELECT last_wake > '$t0'::timestamptz + interval '2 s' FROM pgm_status() WHERE process = 'launcher'")
	  or die 'the launcher made no passes';
}

# whether a session named $app running pg_sleep(5) is cancelled by a policy (at 1 s)
sub cancelled
{
	my ($app) = @_;
	my $s = pgm_session($node, $app, user => 'app');
	pgm_run($s, "SELECT pg_sleep(5)");
	my $out = pgm_result($s);
	pgm_quit($s);
	return $out =~ /sqlstate=57014/ ? 1 : 0;
}

# ---- 1. missing
ok($node->poll_query_until('postgres',
		"SELECT last_error = 'database \"ops\" does not exist' FROM pgm_status() WHERE process = 'launcher'"),
	'pgm_status(): the launcher says the database does not exist');
launcher_passes();
is(pgm_log_count($node, qr/database "ops" named by pgmanage.database does not exist; waiting for it/), 1,
	'logged once, not at every naptime');
is($node->safe_psql('postgres', "SELECT pid IS NULL, database_name, policies_loaded FROM pgm_status() WHERE process = 'worker'"),
	't|ops|0', 'no worker, no policy loaded');

# ---- 2. created: duties start without a reload or a restart
$node->safe_psql('postgres', 'CREATE DATABASE ops');
$node->safe_psql('ops', q{
	CREATE EXTENSION pgmanage;
	INSERT INTO pgmanage.pgm_timeout_policy (application_name, statement_timeout) VALUES ('first_%', '1 s')});
pgm_wait_worker($node, 'ops');
pgm_wait_policies($node, 1);
is($node->safe_psql('postgres', "SELECT last_error IS NULL FROM pgm_status() WHERE process = 'launcher'"),
	't', 'the launcher no longer shows an error that no longer holds');
is(cancelled('first_1'), 1, 'the policy of the new database is enforced');

# ---- 3. DROP DATABASE while the worker runs
my $worker = pgm_status_field($node, 'worker', 'pid');
my $offset = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE ops');
pass('DROP DATABASE of pgmanage.database succeeds while the worker runs');
ok(!kill(0, $worker) || $node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $worker)"),
	'the worker is gone');
ok($node->poll_query_until('postgres',
		"SELECT last_error = 'database \"ops\" does not exist' FROM pgm_status() WHERE process = 'launcher'"),
	'the launcher says the database is missing again (after its 10 s hold)');
launcher_passes();
my $log = slurp_file($node->logfile, $offset);
my $n = () = $log =~ /stopping its processes in database "ops"/g;
is($n, 1, 'the worker\'s stop is logged once');
$n = () = $log =~ /database "ops" named by pgmanage.database does not exist/g;
is($n, 1, 'the missing database is logged once');
unlike($log, qr/terminating any other active server processes|reinitializing/, 'no crash restart');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $pm_pid, 'the same postmaster');
is($node->safe_psql('postgres', "SELECT pid IS NULL FROM pgm_status() WHERE process = 'worker'"), 't', 'no worker');

# ---- 4. DROP EXTENSION / CREATE EXTENSION while the worker runs
$node->safe_psql('postgres', 'CREATE DATABASE ops');
$node->safe_psql('ops', q{
	CREATE EXTENSION pgmanage;
	INSERT INTO pgmanage.pgm_timeout_policy (application_name, statement_timeout) VALUES ('old_%', '1 s')});
pgm_wait_worker($node, 'ops');
pgm_wait_policies($node, 1);
$offset = -s $node->logfile;
$node->safe_psql('ops', 'DROP EXTENSION pgmanage');
ok($node->poll_query_until('postgres', "SELECT NOT extension_found FROM pgm_status() WHERE process = 'worker'"),
	'the worker notices the extension is gone');
pgm_wait_policies($node, 0);
is(cancelled('old_1'), 0, 'the dropped table\'s policy is no longer enforced (no stale state)');
launcher_passes();
$log = slurp_file($node->logfile, $offset);
$n = () = $log =~ /timeout policies are not enforced until it is/g;
is($n, 1, 'logged once');

$node->safe_psql('ops', q{
	CREATE EXTENSION pgmanage;
	INSERT INTO pgmanage.pgm_timeout_policy (application_name, statement_timeout)
	VALUES ('new_%', '1 s'), ('other_%', '1 s')});
pgm_wait_worker($node, 'ops');
pgm_wait_policies($node, 2);
is(cancelled('new_1'), 1, 'the re-created table\'s policy is enforced');
is(cancelled('old_2'), 0, 'the old one stays gone');
like(slurp_file($node->logfile, $offset), qr/extension found in database "ops", worker active/, 'the worker says it resumed');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $pm_pid, 'still the same postmaster');

$node->stop;
done_testing();
