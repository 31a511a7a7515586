# A dead endpoint never holds the slot another endpoint needs: each endpoint
# may hold every concurrent slot but one per other enabled endpoint.  Here
# pgmanage.max_concurrent_deliveries = 4 and an endpoint that accepts
# connections and never answers (timeout 30 s) has 10 events due; an event
# for a healthy endpoint is delivered while the dead one's attempts are all
# still waiting (before, it waited for the first of them to time out).
# No timing is asserted: only the order of what happened.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('isolation', conf => $webhook_conf . "pgmanage.max_concurrent_deliveries = 4\n");
my $dead = start_receiver(secret => $secret, plan => [ map { { status => 200, delay => 120 } } 1 .. 10 ]);
my $ok = start_receiver(secret => $secret);
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout)
	VALUES ('blackhole', 'http://127.0.0.1:$dead->{port}/', '$secret', '30s'),
	       ('healthy', 'http://127.0.0.1:$ok->{port}/', '$secret', '2s')});

$node->safe_psql('postgres',
	"SELECT pgm_emit_event('test', NULL, 'to the black hole', 'blackhole') FROM generate_series(1, 10)");
my @held = wait_for_requests($dead, 3, 'the black hole holds its share');
is(scalar(@held), 3, 'the black-holing endpoint holds 3 of the 4 slots');

my $id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'healthy', 'healthy')");
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $id"),
	'the healthy endpoint gets its event');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE endpoint = 'blackhole' AND attempts > 0"),
	'0', 'delivered while every attempt to the black hole was still waiting');
@held = receiver_requests($dead);
is(scalar(@held), 3, 'the black hole still holds only its share');

stop_receiver($dead);
stop_receiver($ok);
$node->stop;
done_testing();
