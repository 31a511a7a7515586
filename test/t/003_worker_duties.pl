# The worker's duties are bounded and seen: its table writes reach
# pg_stat_user_tables within seconds while it runs (pgstat_report_stat
# after each pass), and an ACCESS EXCLUSIVE lock held on
# pgm_timeout_policy delays only the policy duty (lock_timeout): slow
# statements keep being captured into pgm_slow_queries meanwhile, and
# pgm_status() says what failed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgmTest;

my $node = pgm_node('duties', conf => q{
pgmanage.naptime = '200ms'
pgmanage.log_min_duration = '20ms'
pgmanage.pgss_snapshot_interval = 0
});

# until $sql is true, at most $secs seconds; returns whether it became true
sub within
{
	my ($secs, $sql) = @_;
	my $end = time + $secs;
	while (time < $end)
	{
		return 1 if $node->safe_psql('postgres', $sql) eq 't';
		usleep(100_000);
	}
	return 0;
}

# --- statistics: the worker's inserts are visible while it runs
my $wpid = pgm_status_field($node, 'worker', 'pid');
$node->safe_psql('postgres', "SELECT pg_sleep(0.05) /* stats-$_ */") for 1 .. 5;
ok(within(15, "SELECT count(*) >= 5 FROM pgm_slow_queries WHERE statement LIKE '%stats-%'"),
	'the slow statements are captured');
ok(within(10, q{SELECT n_tup_ins >= 5 FROM pg_stat_user_tables
	WHERE schemaname = 'pgmanage' AND relname = 'pgm_slow_queries'}),
	'pg_stat_user_tables counts the worker\'s inserts within 10 s');
is(pgm_status_field($node, 'worker', 'pid'), $wpid, 'by the same worker, still running');

# --- a lock on pgm_timeout_policy delays only the policy duty
my $locker = pgm_session($node, 'locker');
$locker->query('BEGIN; LOCK TABLE pgm_timeout_policy IN ACCESS EXCLUSIVE MODE');
# let the policy duty hit the lock (it reloads at least every naptime)
ok(within(15, q{SELECT last_error LIKE '%timeout policies: canceling statement due to lock timeout%'
	FROM pgm_status() WHERE process = 'worker'}),
	'the policy duty gives up on the lock and pgm_status() says so');
$node->safe_psql('postgres', "SELECT pg_sleep(0.05) /* locked-$_ */") for 1 .. 5;
ok(within(15, "SELECT count(*) >= 5 FROM pgm_slow_queries WHERE statement LIKE '%locked-%'"),
	'slow statements are still captured while the lock is held');
is(pgm_status_field($node, 'worker', 'pid'), $wpid, 'the worker did not restart');
is(pgm_log_count($node, qr/LOG:  pgmanage worker: timeout policies: canceling statement due to lock timeout/), 1,
	'the lock timeout is logged once, not at every pass');
$locker->query('COMMIT');
$locker->quit;

# and the policy duty works again once the lock is gone
$node->safe_psql('postgres',
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('duty_%', '1 h')");
pgm_wait_policies($node, 1);
pass('policies load again after the lock is released');

$node->stop;
done_testing();
