# Faults around the sender (issue 11, item 6), each created for real:
# a host name that does not resolve, a redirect loop, 1 MB error bodies, and
# kill -9 of the sender with a delivery in flight.  After each: nothing
# lost, one clear log line per condition (no flood), the state readable.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('faults', conf => $webhook_conf . q{
pgmanage.webhook_circuit_failures = 2
pgmanage.webhook_circuit_probe_interval = '100ms'
restart_after_crash = on
});
my $r = start_receiver(secret => $secret);

# 1. a host name that does not resolve: retried, its circuit opens, probes
# go on without making the delivery dead, one log line
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, max_attempts)
	VALUES ('nxdomain', 'http://pgmanage-no-such-host.invalid/', '$secret', 3)});
my $id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'nowhere', 'nxdomain')");
$node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'nowhere', 'nxdomain') FROM generate_series(1, 3)");
ok($node->poll_query_until('postgres',
		"SELECT circuit <> 'closed' AND last_error ~* 'resolve' FROM pgm_endpoint_circuits() WHERE endpoint = 'nxdomain'"),
	'an unresolvable host: the circuit opens, the error says why');
ok($node->poll_query_until('postgres',
		"SELECT consecutive_failures >= 14 FROM pgm_endpoint_circuits() WHERE endpoint = 'nxdomain'"),
	'probes go on');
is($node->safe_psql('postgres', "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead') FROM pgm_delivery WHERE endpoint = 'nxdomain'"),
	'4|0', 'nothing dead while the host does not resolve (max_attempts 3)');
is(pgm_log_count($node, qr/endpoint "nxdomain" failed \d+ times in a row: circuit open/), 1,
	'one log line for it, however many probes failed');
$node->safe_psql('postgres', "UPDATE pgm_endpoint SET enabled = false WHERE name = 'nxdomain'");

# 2. a redirect loop (followed): dead at once, with libcurl's reason
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, follow_redirects)
	VALUES ('loop', 'http://127.0.0.1:$r->{port}/loop', '$secret', true)});
set_plan($r, [ map { { status => 302, headers => { Location => "/loop$_" } } } 1 .. 10 ]);
$id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'loop', 'loop')");
ok($node->poll_query_until('postgres', "SELECT status = 'dead' FROM pgm_delivery WHERE event_id = $id"),
	'a redirect loop ends the delivery');
like($node->safe_psql('postgres', "SELECT last_error FROM pgm_delivery WHERE event_id = $id"),
	qr/redirect/i, 'with the reason');
is($node->safe_psql('postgres', "SELECT circuit FROM pgm_endpoint_circuits() WHERE endpoint = 'loop'"),
	'closed', 'the endpoint answered: its circuit stays closed');
$node->safe_psql('postgres', "UPDATE pgm_endpoint SET enabled = false WHERE name = 'loop'");
set_plan($r, []);

# 3. 1 MB error bodies: retried, the error kept short, then delivered
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret)
	VALUES ('big', 'http://127.0.0.1:$r->{port}/big', '$secret')});
set_plan($r, [ { status => 503, body => 'x', body_repeat => 1048576 } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'big', 'big')");
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $id"),
	'after a 1 MB 503 answer, delivered at the retry');
is($node->safe_psql('postgres', "SELECT attempts FROM pgm_delivery WHERE event_id = $id"), '2', 'two attempts');

# 4. kill -9 of the sender with a delivery in flight: the server restarts,
# the delivery is sent again under the same webhook-id and delivered
set_plan($r, [ { status => 200, delay => 60 } ]);
my $before = scalar(receiver_requests($r));
$id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'in flight', 'big')");
my @reqs = wait_for_requests($r, $before + 1, 'the delivery in flight');
my $sender = pgm_status_field($node, 'sender', 'pid');
like($sender, qr/^\d+$/, 'the sender runs');
kill 'KILL', $sender;
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $id"),
	'after the crash restart, delivered');
my $wid = $node->safe_psql('postgres', "SELECT webhook_id FROM pgm_event WHERE id = $id");
my @for_id = grep { $_->{json} && $_->{json}{id} == $id } receiver_requests($r);
is(scalar(@for_id), 2, 'sent twice (the first answer never came)');
is(scalar(grep { $_->{headers}{'webhook-id'} eq $wid } @for_id), 2, 'both under the webhook-id stored with the event');
isnt(pgm_status_field($node, 'sender', 'pid'), $sender, 'a new sender');

stop_receiver($r);
$node->stop;
done_testing();
