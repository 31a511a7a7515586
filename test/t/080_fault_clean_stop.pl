# A clean stop loses nothing that shared memory holds: on SIGTERM the worker
# drains the slow-query ring and the queued kill records into their tables
# before it exits (issue 11, item 3).
#
# To hold entries in shared memory at the moment of the stop, the worker is
# paused (SIGSTOP) while a slow statement is captured and a kill record is
# queued; "pg_ctl stop -m fast" then sends it SIGTERM, and it is resumed
# (SIGCONT) only once the postmaster is shutting down: what it does first is
# handle that SIGTERM.  After the restart both rows are in their tables.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use PgmTest;

my $node = pgm_node('drain', conf => q{
pgmanage.log_min_duration = '100ms'
pgmanage.pgss_snapshot_interval = 0
});

my $worker = pgm_status_field($node, 'worker', 'pid');
like($worker, qr/^\d+$/, 'the worker runs');

# wait until the worker sleeps between passes (not inside a duty)
ok($node->poll_query_until('postgres',
		"SELECT state IS DISTINCT FROM 'active' FROM pg_stat_activity WHERE pid = $worker"),
	'the worker is between passes');
kill 'STOP', $worker;

# a slow statement: the backend puts it in the ring; nobody drains it
$node->safe_psql('postgres', "SELECT pg_sleep(0.3) /* drained-at-shutdown */");
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_slow_queries WHERE statement LIKE '%drained-at-shutdown%'"),
	'0', 'the slow statement is only in shared memory');

# a kill record: pgm_kill_long queues it for the worker
my $victim = pgm_session($node, 'victim');
pgm_run($victim, 'SELECT pg_sleep(60)');
pgm_wait_active($node, 'victim');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_long('1 ms') WHERE application_name = 'victim'"),
	'1', 'pgm_kill_long cancelled the sleeping session');
pgm_result($victim);
pgm_quit($victim);
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE application_name = 'victim'"),
	'0', 'the kill record is only in shared memory');

# stop fast while the worker is paused; resume it once the postmaster is stopping
my $logstart = -s $node->logfile;
my ($out, $err) = ('', '');
my $stop = IPC::Run::start(
	[ $node->installed_command('pg_ctl'), '-D', $node->data_dir, '-m', 'fast', '-w', 'stop' ],
	'>', \$out, '2>', \$err);
ok($node->wait_for_log(qr/received fast shutdown request/, $logstart), 'the postmaster is shutting down');
usleep(200_000);    # its SIGTERM reaches the paused worker
kill 'CONT', $worker;
$stop->finish;
is($stop->result(0), 0, 'pg_ctl stop -m fast succeeded');
# (the TAP framework's view of the node: stopped)
$node->_update_pid(0);

$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_slow_queries WHERE statement LIKE '%drained-at-shutdown%'"),
	'1', 'the slow statement was written at the stop');
is($node->safe_psql('postgres', "SELECT action, source FROM pgm_kill_log WHERE application_name = 'victim'"),
	'cancel|pgm_kill_long', 'the kill record was written at the stop');

$node->stop;
done_testing();
