# The circuit breaker of an endpoint that is down (connection refused):
# after pgmanage.webhook_circuit_failures failures in a row its circuit
# opens, probes go one at a time and do not count as attempts (so a small
# max_attempts never makes a delivery dead while the endpoint is down), and
# the first probe that gets an answer closes the circuit and makes the
# whole backlog due at once, however far its retries had been pushed.
# pgm_endpoint_circuits() shows each step; one log line per transition.
# No timing is asserted: only the order of what happened.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
# retries 30 s to 10 min apart: without the release at closing, the backlog
# would wait for them
my $node = pgm_node('circuit', conf => $webhook_conf . q{
pgmanage.max_concurrent_deliveries = 4
pgmanage.webhook_circuit_failures = 3
pgmanage.webhook_circuit_probe_interval = '200ms'
pgmanage.webhook_retry_min = '1min'
pgmanage.webhook_retry_max = '10min'
});

# a port with nothing listening (a receiver started, then stopped)
my $gone = start_receiver(secret => $secret);
my $port = $gone->{port};
stop_receiver($gone);
my $ok = start_receiver(secret => $secret);
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout, max_attempts)
	VALUES ('down', 'http://127.0.0.1:$port/', '$secret', '2s', 3),
	       ('healthy', 'http://127.0.0.1:$ok->{port}/', '$secret', '2s', 3)});

is($node->safe_psql('postgres', "SELECT circuit, consecutive_failures, pending FROM pgm_endpoint_circuits() WHERE endpoint = 'down'"),
	'closed|0|0', 'a new endpoint: circuit closed, nothing pending');

$node->safe_psql('postgres',
	"SELECT pgm_emit_event('test', jsonb_build_object('n', i), 'to the endpoint that is down', 'down') FROM generate_series(1, 8) i");
ok($node->poll_query_until('postgres', "SELECT circuit IN ('open', 'half_open') FROM pgm_endpoint_circuits() WHERE endpoint = 'down'"),
	'the circuit opens after failures in a row');
my $st = $node->safe_psql('postgres',
	"SELECT consecutive_failures >= 3, opened_at IS NOT NULL, last_error LIKE '%onnect%', pending FROM pgm_endpoint_circuits() WHERE endpoint = 'down'");
is($st, 't|t|t|8', 'open: failures counted, opened_at set, last error kept, all 8 pending');

# probes keep going (one every 200 ms) for more than 5 s: each of the 8
# deliveries is probed several times, beyond its max_attempts of 3
ok($node->poll_query_until('postgres',
		"SELECT last_failure_at > opened_at + interval '5 s' FROM pgm_endpoint_circuit WHERE endpoint = 'down'"),
	'probes go on while the endpoint is down');
is($node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead'), max(attempts) < 3"
		  . " FROM pgm_delivery WHERE endpoint = 'down'"),
	'8|0|t', 'nothing dead: failed probes do not count as attempts (max_attempts is 3)');
ok($node->safe_psql('postgres', "SELECT consecutive_failures FROM pgm_endpoint_circuits() WHERE endpoint = 'down'") > 10,
	'every failed probe counts in consecutive_failures');

# the other endpoint is not held up
my $id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'healthy', 'healthy')");
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $id"),
	'an event for the healthy endpoint is delivered meanwhile');

# every retry of the backlog has been pushed 30 s or more ahead
ok($node->poll_query_until('postgres',
		"SELECT bool_and(next_attempt_at > now() + interval '20 s') FROM pgm_delivery WHERE endpoint = 'down'"),
	'the backlog\'s retries are all far ahead');
my $first_due = $node->safe_psql('postgres',
	"SELECT min(next_attempt_at) FROM pgm_delivery WHERE endpoint = 'down'");

# the endpoint comes back on the same port
my $back = start_receiver(secret => $secret, port => $port);
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 8 FROM pgm_delivery WHERE endpoint = 'down' AND status = 'delivered'"),
	'the whole backlog is delivered once the endpoint is back');
is($node->safe_psql('postgres',
		"SELECT max(delivered_at) < '$first_due' FROM pgm_delivery WHERE endpoint = 'down'"),
	't', 'released at once: delivered before the earliest of its retries was due');
is($node->safe_psql('postgres',
		"SELECT circuit, consecutive_failures, opened_at IS NULL, next_probe_at IS NULL, pending FROM pgm_endpoint_circuits() WHERE endpoint = 'down'"),
	'closed|0|t|t|0', 'the circuit is closed again');
my @reqs = receiver_requests($back);
my %ids = map { $_->{headers}{'webhook-id'} => 1 } @reqs;
is(scalar(@reqs), 8, 'the receiver got 8 requests');
is(scalar(keys %ids), 8, 'with 8 distinct webhook ids');

is(pgm_log_count($node, qr/endpoint "down" failed \d+ times in a row: circuit open/), 1,
	'one log line when the circuit opened');
is(pgm_log_count($node, qr/endpoint "down" answers again: circuit closed/), 1,
	'one log line when it closed');

# pg_read_all_stats sees the state (not the secrets); PUBLIC does not
$node->safe_psql('postgres', q{
	CREATE ROLE watcher LOGIN IN ROLE pg_read_all_stats;
	CREATE ROLE nobody LOGIN;});
pgm_grant_usage($node, 'watcher', 'nobody');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_endpoint_circuits()", extra_params => [ '-U', 'watcher' ]),
	'2', 'pg_read_all_stats may call pgm_endpoint_circuits()');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT * FROM pgm_endpoint_circuits()", extra_params => [ '-U', 'nobody' ]);
like($err, qr/permission denied/, 'PUBLIC may not');

# the breaker turned off: circuits close, failures are plain retries
$node->append_conf('postgresql.conf', "pgmanage.webhook_circuit_failures = 0\n");
$node->reload;
stop_receiver($back);
$node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'no breaker', 'down') FROM generate_series(1, 4)");
ok($node->poll_query_until('postgres',
		"SELECT consecutive_failures >= 3 FROM pgm_endpoint_circuits() WHERE endpoint = 'down'"),
	'failures are still counted with the breaker off');
is($node->safe_psql('postgres', "SELECT circuit FROM pgm_endpoint_circuits() WHERE endpoint = 'down'"),
	'closed', 'but the circuit never opens');

stop_receiver($ok);
$node->stop;
done_testing();
