# A full restart during a retry storm (issue 11, item 6): 30 deliveries in
# retry against an endpoint that answers 503, its circuit open; the server
# is restarted with pg_ctl restart -m fast, then stopped -m immediate and
# started.  After each restart the circuit is still open (the breaker's
# state is a table), no delivery's attempts went back (nothing made due at
# once by the restart: the receiver gets only the circuit's probes, one per
# failure counted), nothing is dead.  Once the endpoint recovers every
# event is delivered at least once, always under the webhook-id stored with
# it.  No timing is asserted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('storm', conf => $webhook_conf . q{
pgmanage.max_concurrent_deliveries = 8
pgmanage.webhook_circuit_failures = 3
pgmanage.webhook_circuit_probe_interval = '300ms'
});
# 503 for every request until the plan is emptied
my $r = start_receiver(secret => $secret, plan => [ map { { status => 503 } } 1 .. 3000 ]);
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout, max_attempts)
	VALUES ('flaky', 'http://127.0.0.1:$r->{port}/', '$secret', '2s', 5)});
$node->safe_psql('postgres',
	"SELECT pgm_emit_event('test', jsonb_build_object('n', g), 'storm', 'flaky') FROM generate_series(1, 30) g");

ok($node->poll_query_until('postgres',
		"SELECT circuit <> 'closed' AND pending = 30 FROM pgm_endpoint_circuits() WHERE endpoint = 'flaky'"),
	'the endpoint answers 503: its circuit opens, 30 deliveries pending');
ok($node->poll_query_until('postgres',
		"SELECT last_failure_at > opened_at + interval '1 s' FROM pgm_endpoint_circuit WHERE endpoint = 'flaky'"),
	'probes go on');

# attempts of each delivery, as "event_id:attempts"
sub attempts
{
	my %a = map { split /:/ } split /\n/, $node->safe_psql('postgres',
		"SELECT event_id || ':' || attempts FROM pgm_delivery WHERE endpoint = 'flaky'");
	return \%a;
}

sub requests_since
{
	my ($t) = @_;
	return scalar grep { $_->{t} > $t } receiver_requests($r);
}

# one restart of the kind given by $restart; then the checks
sub restart_during_storm
{
	my ($what, $restart) = @_;
	my $before = attempts();
	my $f0 = $node->safe_psql('postgres', "SELECT consecutive_failures FROM pgm_endpoint_circuit WHERE endpoint = 'flaky'");
	my $t0 = time;
	$restart->();
	pgm_wait_worker($node);

	is($node->safe_psql('postgres', "SELECT circuit <> 'closed' FROM pgm_endpoint_circuits() WHERE endpoint = 'flaky'"),
		't', "$what: the circuit is still open after the restart");
	my $after = attempts();
	is(scalar(grep { !defined $after->{$_} || $after->{$_} < $before->{$_} } keys %$before), 0,
		"$what: no delivery's attempts were reset");
	is($node->safe_psql('postgres', "SELECT count(*) FILTER (WHERE status = 'pending') || '|' || count(*) FILTER (WHERE status = 'dead') FROM pgm_delivery"),
		'30|0', "$what: all 30 still pending, none dead");

	# the new sender probes: each request to the endpoint is one failure counted
	ok($node->poll_query_until('postgres',
			"SELECT consecutive_failures >= $f0 + 3 FROM pgm_endpoint_circuit WHERE endpoint = 'flaky'"),
		"$what: the new sender probes the open circuit");
	my $f1 = $node->safe_psql('postgres', "SELECT consecutive_failures FROM pgm_endpoint_circuit WHERE endpoint = 'flaky'");
	my $n = requests_since($t0);
	ok($n <= $f1 - $f0 + 2,
		"$what: no storm: $n requests since the restart for " . ($f1 - $f0) . " failed probes");
	is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE status = 'dead'"), '0',
		"$what: failed probes make nothing dead (max_attempts is 5)");
}

restart_during_storm('restart -m fast', sub { $node->restart; });
restart_during_storm('stop -m immediate', sub { $node->stop('immediate'); $node->start; });
is($node->safe_psql('postgres', "SELECT last_stop FROM pgm_status() WHERE process = 'launcher'"),
	'immediate', 'pgm_status() says the last stop was immediate');

# the endpoint recovers: everything goes out
set_plan($r, []);
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 30 FROM pgm_delivery WHERE endpoint = 'flaky' AND status = 'delivered'"),
	'once the endpoint answers, all 30 are delivered');
my @reqs = grep { $_->{verified} && $_->{json} } receiver_requests($r);
my (%ids, %ok);
for my $q (@reqs)
{
	$ids{ $q->{json}{id} }{ $q->{headers}{'webhook-id'} } = 1;
	$ok{ $q->{json}{id} } = 1 if $q->{status} == 200;
}
is(scalar(keys %ok), 30, 'each of the 30 events got a 200 at least once');
is(scalar(grep { keys %{ $ids{$_} } != 1 } keys %ids), 0, 'each event always under one webhook-id (503s, restarts and all)');
my %distinct = map { (keys %{ $ids{$_} })[0] => 1 } keys %ids;
is(scalar(keys %distinct), 30, 'no two events share a webhook-id');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE status = 'dead'"), '0', 'nothing dead');
ok(pgm_log_count($node, qr/endpoint "flaky" failed \d+ times in a row: circuit open/) <= 3,
	'at most one "circuit open" line per server run');
is(pgm_log_count($node, qr/endpoint "flaky" answers again: circuit closed/), 1, 'one line when it closed');

stop_receiver($r);
$node->stop;
done_testing();
