# The VACUUM worker sees interrupts in every wait, also while the pgmanage
# worker is not draining its results (the run's row of pgm_job_run locked by
# another session, so its ring of 128 entries stays full and the VACUUM
# worker waits for room):
# pgm_cancel_run, pg_terminate_backend and pg_ctl stop -m fast take effect
# within a second (asserted with a 5 s bound: before, each wait lasted 10 s
# per entry); a run ended by pg_terminate_backend records the table it was
# on; a run cancelled by pgm_cancel_run says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_interrupts', conf => $vacuum_conf);
# 1000 small tables: many more entries than the ring holds
$node->safe_psql('postgres', q{
DO $$BEGIN
    FOR i IN 1..1000 LOOP
        EXECUTE format('CREATE TABLE vi_%s (id int)', lpad(i::text, 4, '0'));
    END LOOP;
END$$;
});

# start a run over every table, lock its row (so that the worker cannot
# record its progress) and wait until its VACUUM worker waits for room in
# its ring; returns (run id, pid, the locking session).  On a fast machine
# a run over 1000 empty tables can end before its row is locked: then the
# run is started again (at most 5 times).
sub start_blocked_run
{
	my $locker = pgm_session($node, 'locker');
	for my $try (1 .. 5)
	{
		my $run = $node->safe_psql('postgres',
			q{SELECT pgm_vacuum_now(table_pattern => 'vi\_%', strategy => 'all')});
		$node->poll_query_until('postgres',
			"SELECT status <> 'queued' FROM pgm_job_run WHERE id = $run")
		  or die "run $run did not start";
		$locker->query_safe("BEGIN; SELECT 1 FROM pgm_job_run WHERE id = $run FOR UPDATE");
		# the VACUUM worker waits for room, or the run ended first
		$node->poll_query_until('postgres', qq{
			SELECT (SELECT count(*) = 1 FROM pg_stat_activity
					WHERE backend_type = 'pgmanage vacuum'
					  AND wait_event IN ('Extension', 'PgmanageVacuumResults'))
				OR (SELECT status NOT IN ('queued', 'running') FROM pgm_job_run WHERE id = $run)
				OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum')})
		  or die 'the VACUUM worker never waited for room';
		my $pid = $node->safe_psql('postgres', q{
			SELECT pid FROM pg_stat_activity
			WHERE backend_type = 'pgmanage vacuum'
			  AND wait_event IN ('Extension', 'PgmanageVacuumResults')});
		return ($run, $pid, $locker) if $pid ne '';
		note("run $run ended before its row was locked (try $try); starting another");
		$locker->query_safe('ROLLBACK');
		pgm_wait_run($node, $run, '^(succeeded|failed|cancelled|skipped)$');
	}
	die 'five runs in a row ended before their row was locked';
}

sub unlock
{
	my ($locker) = @_;
	$locker->query_safe('COMMIT');
	$locker->quit;
}

# seconds until process $pid is gone (undef after $limit s)
sub seconds_until_gone
{
	my ($pid, $limit) = @_;
	my $t0 = time;
	while (time - $t0 < $limit)
	{
		return time - $t0 if !kill(0, $pid);
		usleep(50_000);
	}
	return undef;
}

# 1. pgm_cancel_run
my ($run1, $pid1, $locker1) = start_blocked_run();
$node->safe_psql('postgres', "SELECT pgm_cancel_run($run1)");
my $s = seconds_until_gone($pid1, 5);
ok(defined $s, 'pgm_cancel_run ends a VACUUM worker waiting for room at once');
note(sprintf('cancel took %.2f s', $s // -1));
unlock($locker1);

# 2. pg_terminate_backend
my ($run2, $pid2, $locker2) = start_blocked_run();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid2)");
$s = seconds_until_gone($pid2, 5);
ok(defined $s, 'pg_terminate_backend ends a VACUUM worker waiting for room at once');
note(sprintf('terminate took %.2f s', $s // -1));
unlock($locker2);

# the results, once the worker may write them
pgm_wait_run($node, $run1, '^cancelled$');
like(pgm_run_field($node, $run1, 'error'), qr/^cancelled by pgm_cancel_run\(\)/,
	'the cancelled run says what cancelled it');
pgm_wait_run($node, $run2, '^failed$');
like(pgm_run_field($node, $run2, 'error'),
	qr/^the VACUUM worker was terminated while on public\.vi_\d{4} \(/,
	'the terminated run records the table it was on');

# 3. pg_ctl stop -m fast
my ($run3, $pid3, $locker3) = start_blocked_run();
my $t0 = time;
$node->stop('fast');
my $stop = time - $t0;
ok($stop < 5, 'pg_ctl stop -m fast does not wait for the VACUUM worker');
note(sprintf('stop took %.2f s', $stop));
pgm_quit($locker3);
$node->start;
pgm_wait_run($node, $run3, '^failed$');
pass('the run going at the stop is recorded as failed after the restart');

$node->stop;
done_testing();
