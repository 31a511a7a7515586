# Backup schedules: a job of kind 'backup' fires, its run is recorded
# succeeded with the event id, and the receiver gets a signed 'backup'
# event with the job's label; a run that fails becomes a job_failed event.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('backup_schedule', conf => $webhook_conf);
my $r = start_receiver(secret => $secret);

$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, event_kinds)
	VALUES ('hook', 'http://127.0.0.1:$r->{port}/hook', '$secret', '{backup,job_failed}')});

# 1. a schedule that fires next New Year, made due at once: the scheduler
# takes next_fire as it is (only a new schedule recomputes it)
my $next = $node->safe_psql('postgres',
	"SELECT pgm_schedule_backup('nightly', '0 0 1 1 *', endpoint => 'hook', label => 'scheduled full')");
like($next, qr/^\d{4}-01-01 /, 'pgm_schedule_backup returns the next fire time');
$node->safe_psql('postgres', "UPDATE pgm_job SET next_fire = now() WHERE name = 'nightly'");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgm_job_run WHERE job = 'nightly' AND status NOT IN ('queued', 'running')"),
	'the job ran once');
my ($status, $trigger, $event_id) = split /\|/, $node->safe_psql('postgres',
	"SELECT status, trigger, details->0->>'event_id' FROM pgm_job_runs WHERE job = 'nightly'");
is($status, 'succeeded', 'the run is recorded succeeded');
is($trigger, 'schedule', 'fired by its schedule');
like($event_id, qr/^\d+$/, 'the run records the event id');
is($node->safe_psql('postgres',
		"SELECT next_fire > now() AND last_fire IS NOT NULL FROM pgm_jobs WHERE name = 'nightly'"),
	't', 'next fire time moved past now');

ok( $node->poll_query_until('postgres',
		"SELECT status = 'delivered' FROM pgm_events WHERE id = $event_id AND endpoint = 'hook'"),
	'the event was delivered to the job\'s endpoint');
my @reqs = wait_for_requests($r, 1, 'backup event');
my ($req) = grep { $_->{json} && $_->{json}{id} == $event_id } @reqs;
ok($req, 'the receiver got the event');
ok($req->{verified}, 'signed (the receiver verified the signature)');
is($req->{json}{kind}, 'backup', 'kind backup');
is($req->{json}{label}, 'scheduled full', 'with the job\'s label');
is($req->{json}{data}{job}, 'nightly', 'data names the job');
ok($req->{json}{database_size} > 0, 'a backup payload (database size)');

# 2. a run that fails becomes a signed job_failed event: the job's endpoint
# is gone, so the next run cannot queue its event.  (An endpoint a backup
# job uses cannot be deleted (sql/backup_jobs.sql): the job's options are
# edited by hand to name one that does not exist.)
$node->safe_psql('postgres', qq{
	UPDATE pgm_job SET options = options || '{"endpoint": "gone"}', next_fire = now()
	WHERE name = 'nightly'});
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pgm_job_run WHERE job = 'nightly' AND status NOT IN ('queued', 'running')"),
	'the job ran again');
my ($run_id, $error) = split /\|/, $node->safe_psql('postgres',
	"SELECT id, error FROM pgm_job_runs WHERE job = 'nightly' AND status = 'failed'");
like($error, qr/endpoint "gone" does not exist/, 'the run failed, saying why');
ok( $node->poll_query_until('postgres',
		"SELECT status = 'delivered' FROM pgm_events WHERE kind = 'job_failed' AND endpoint = 'hook'"),
	'the job_failed event was delivered');
@reqs = wait_for_requests($r, 2, 'job_failed event');
($req) = grep { $_->{json} && $_->{json}{kind} eq 'job_failed' } @reqs;
ok($req && $req->{verified}, 'a signed job_failed event was sent');
is($req->{json}{data}{run_id}, $run_id, 'it names the run');
is($req->{json}{data}{kind}, 'backup', 'and its kind');
is($req->{json}{data}{job}, 'nightly', 'and its job');
like($req->{json}{data}{error}, qr/does not exist/, 'with the error');

# 3. pgm_unschedule removes it; no further runs
$node->safe_psql('postgres', "SELECT pgm_unschedule('nightly')");
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_jobs"), '0', 'unscheduled');

stop_receiver($r);
$node->stop;
done_testing();
