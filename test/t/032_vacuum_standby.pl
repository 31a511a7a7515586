# Jobs never run on a standby: with due jobs and queued runs replicated to
# it (the primary's scheduler is paused), the standby's worker starts no
# VACUUM worker; once the primary resumes, the runs happen there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $primary = pgm_node('vac_primary', allows_streaming => 1,
	conf => $vacuum_conf . "pgmanage.enable_jobs = off\n");
pgm_bloat_table($primary, 'big', 20000, 2);
$primary->safe_psql('postgres', q{
	SELECT pgm_schedule_vacuum('due', '* * * * *');
	UPDATE pgm_job SET next_fire = now() - interval '5 seconds';
	SELECT pgm_vacuum_now();});

my $standby = pgm_standby($primary, 'vac_standby', conf => "pgmanage.enable_jobs = on\n");
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', q{SELECT pg_is_in_recovery()}), 't', 'standby is in recovery');
is($standby->safe_psql('postgres',
	q{SELECT count(*) FROM pgm_job WHERE next_fire < now()} ), '1', 'the standby sees a due job');
is($standby->safe_psql('postgres',
	q{SELECT count(*) FROM pgm_job_run WHERE status = 'queued'}), '1', 'and a queued run');
# let the standby's worker make several passes
my $wake = $standby->safe_psql('postgres', q{SELECT last_wake FROM pgm_status() WHERE process = 'worker'});
$standby->poll_query_until('postgres', qq{
	SELECT extension_found AND last_wake > '$wake'::timestamptz + interval '1 second'
	FROM pgm_status() WHERE process = 'worker'})
  or die 'standby worker not running';
is($standby->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum'}), '0',
	'no VACUUM worker on the standby');
ok(!$standby->log_contains('pgmanage vacuum run'), 'the standby log shows no run');
ok(!$standby->log_contains('pgmanage worker: jobs'), 'and no scheduler error');

# the primary resumes: the runs happen there
$primary->append_conf('postgresql.conf', "pgmanage.enable_jobs = on\n");
$primary->reload;
$primary->poll_query_until('postgres',
	q{SELECT count(*) = 2 FROM pgm_job_run WHERE status = 'succeeded'})
  or die 'runs did not happen on the primary';
pass('after enable_jobs = on the primary ran the due job and the queued run');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pgm_job_run WHERE status = 'succeeded'}), '2',
	'the standby sees the history');
ok(!$standby->log_contains('pgmanage vacuum run'), 'still no run on the standby');

$standby->stop;
$primary->stop;
done_testing();
