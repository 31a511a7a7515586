# Failover (issue 11, item 5): a standby is promoted after the primary
# stopped with events pending for an endpoint that was down (its circuit
# open).  The new primary delivers every pending event, each under the
# webhook-id stored with it (a redelivery keeps its id, no two events share
# one), probes the endpoint at once (the circuit state replicated), and its
# scheduler resumes from the replicated job tables: a slot the old primary
# ran is not run again, the next one runs once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $conf = $webhook_conf . q{
pgmanage.webhook_circuit_failures = 3
pgmanage.webhook_circuit_probe_interval = '300ms'
};
my $primary = pgm_node('primary', allows_streaming => 1, conf => $conf);
my $r = start_receiver(secret => $secret);
my $port = $r->{port};
$primary->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, event_kinds)
	VALUES ('hook', 'http://127.0.0.1:$port/', '$secret', '{backup,test}')});

# 1. on the primary: events delivered, a scheduled slot run
$primary->safe_psql('postgres', "SELECT pgm_emit_event('test', jsonb_build_object('n', g)) FROM generate_series(1, 10) g");
ok($primary->poll_query_until('postgres', "SELECT count(*) = 10 FROM pgm_delivery WHERE status = 'delivered'"),
	'10 events delivered by the primary');
$primary->safe_psql('postgres', "SELECT pgm_schedule_backup('yearly', '0 0 1 1 *', endpoint => 'hook')");
$primary->safe_psql('postgres', "UPDATE pgm_job SET next_fire = now() WHERE name = 'yearly'");
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgm_job_run WHERE job = 'yearly' AND status = 'succeeded'"),
	'the primary ran the due slot');

# 2. the endpoint goes down; 20 more events; its circuit opens
stop_receiver($r);
$primary->safe_psql('postgres', "SELECT pgm_emit_event('test', jsonb_build_object('n', g)) FROM generate_series(11, 30) g");
ok($primary->poll_query_until('postgres',
		"SELECT circuit <> 'closed' AND pending >= 20 FROM pgm_endpoint_circuits() WHERE endpoint = 'hook'"),
	'the primary found the endpoint down and opened its circuit');
my $standby = pgm_standby($primary, 'standby');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', "SELECT circuit <> 'closed' FROM pgm_endpoint_circuits() WHERE endpoint = 'hook'"),
	't', 'the standby sees the open circuit (replicated)');
my $pending_ids = $standby->safe_psql('postgres',
	"SELECT string_agg(e.webhook_id, ',' ORDER BY e.id) FROM pgm_delivery d JOIN pgm_event e ON e.id = d.event_id WHERE d.status = 'pending'");
my $runs_before = $standby->safe_psql('postgres', "SELECT count(*) FROM pgm_job_run WHERE job = 'yearly'");
is($runs_before, '1', 'the standby has the run of the slot');

# 3. the primary is gone; the standby is promoted; the endpoint comes back
$primary->stop('immediate');
$r = start_receiver(secret => $secret, port => $port, dir => $r->{dir});
my $logstart = -s $standby->logfile;
$standby->promote;
ok($standby->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgm_delivery WHERE status = 'pending'"),
	'the new primary delivered everything pending');
ok($standby->wait_for_log(qr/endpoint "hook" answers again: circuit closed/, $logstart),
	'the new primary probed the open endpoint and closed its circuit');
is($standby->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE status = 'dead'"), '0', 'nothing dead');

# every event reached the receiver; each under its own stored webhook-id
my @reqs = grep { $_->{verified} } receiver_requests($r);
my %by_event;
for my $q (@reqs)
{
	next unless $q->{json} && $q->{json}{kind} eq 'test';
	$by_event{ $q->{json}{id} }{ $q->{headers}{'webhook-id'} } = 1;
}
is(scalar(keys %by_event), 30, 'all 30 test events reached the receiver (10 before, 20 after the failover)');
is(scalar(grep { keys %{ $by_event{$_} } != 1 } keys %by_event), 0, 'each event always under one webhook-id');
my %ids_seen = map { (keys %{ $by_event{$_} })[0] => 1 } keys %by_event;
is(scalar(keys %ids_seen), 30, 'no two events share a webhook-id');
my @after = map { $_->{headers}{'webhook-id'} } grep { $_->{json} && $_->{json}{kind} eq 'test' && $_->{json}{data}{n} > 10 } @reqs;
my %after = map { $_ => 1 } @after;
is(join(',', sort keys %after), join(',', sort split(/,/, $pending_ids)),
	'the events pending at the failover went out under the ids stored with them');

# 4. the scheduler on the new primary: the slot already run is not run again;
# the next one (made due now) runs once
my $t0 = $standby->safe_psql('postgres', 'SELECT now()');
ok($standby->poll_query_until('postgres',
		"SELECT last_wake > '$t0'::timestamptz + interval '2 s' FROM pgm_status() WHERE process = 'worker'"),
	'the worker made passes for 2 s as a primary');
is($standby->safe_psql('postgres', "SELECT count(*) FROM pgm_job_run WHERE job = 'yearly'"), '1',
	'the slot the old primary ran is not run again');
$standby->safe_psql('postgres', "UPDATE pgm_job SET next_fire = now() WHERE name = 'yearly'");
ok($standby->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pgm_job_run WHERE job = 'yearly' AND status = 'succeeded'"),
	'the next slot runs on the new primary');
is($standby->safe_psql('postgres',
		"SELECT count(DISTINCT scheduled_for) FROM pgm_job_run WHERE job = 'yearly'"),
	'2', 'two runs, two slots: none run twice');

stop_receiver($r);
$standby->stop;
done_testing();
