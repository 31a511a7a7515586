# Webhooks survive crashes and failover: nothing is sent by a standby,
# what is pending is sent after promotion, and after an immediate shutdown.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $primary = pgm_node('primary', allows_streaming => 1, conf => $webhook_conf);
my $r = start_receiver(secret => $secret);
my $port = $r->{port};
stop_receiver($r);				# down: deliveries fail and stay pending

$primary->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret) VALUES ('hook', 'http://127.0.0.1:$port/', '$secret')});
my $standby = pgm_standby($primary, 'standby');

# 1. events queued on the primary while the receiver is down
$primary->safe_psql('postgres', "SELECT pgm_trigger_backup('failover ' || g) FROM generate_series(1, 20) g");
# (the endpoint's circuit opens after a few failures: the rest wait untried)
ok( $primary->poll_query_until('postgres',
		"SELECT circuit <> 'closed' AND pending = 20 FROM pgm_endpoint_circuits() WHERE endpoint = 'hook'"),
	'the primary tried, found the endpoint down and opened its circuit');
$primary->wait_for_catchup($standby);
$primary->stop('immediate');

# 2. the receiver is back, but a standby sends nothing
$r = start_receiver(secret => $secret, port => $port, dir => $r->{dir});
my $t0 = $standby->safe_psql('postgres', 'SELECT now()');
is($standby->safe_psql('postgres', "SELECT pid > 0, server_role FROM pgm_status() WHERE process = 'sender'"),
	't|standby', 'the sender runs on the standby');
ok( $standby->poll_query_until('postgres',
		"SELECT last_wake > '$t0'::timestamptz + interval '1 s' FROM pgm_status() WHERE process = 'sender'"),
	'the standby sender woke for more than a second');
my @none = receiver_requests($r);
is(scalar(@none), 0, 'a standby sends nothing');
is($standby->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE status = 'pending'"), '20',
	'the standby sees 20 pending deliveries');

# 3. promoted: it sends what is pending
$standby->promote;
ok($standby->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgm_delivery WHERE status = 'pending'"),
	'after promotion, all delivered');
my %ids = map { $_->{json}{id} => 1 } grep { $_->{verified} } receiver_requests($r);
is(scalar(keys %ids), 20, 'the receiver got the 20 events, signed');

# 4. immediate shutdown with 100 events pending, then restart: all delivered
stop_receiver($r);
my $first = $standby->safe_psql('postgres',
	"SELECT min(id) FROM (SELECT pgm_trigger_backup('crash ' || g) AS id FROM generate_series(1, 100) g) s");
ok( $standby->poll_query_until('postgres',
		"SELECT count(*) = 100 FROM pgm_delivery WHERE event_id >= $first AND status = 'pending'"
		  . " AND (SELECT circuit <> 'closed' FROM pgm_endpoint_circuits() WHERE endpoint = 'hook')"),
	'100 pending deliveries, the endpoint\'s circuit open');
$standby->stop('immediate');
$r = start_receiver(secret => $secret, port => $port, dir => $r->{dir});
$standby->start;
ok( $standby->poll_query_until('postgres',
		"SELECT count(*) = 100 FROM pgm_delivery WHERE event_id >= $first AND status = 'delivered'"),
	'after the restart, the 100 were delivered');
my @crash = grep { $_->{json}{id} >= $first && $_->{verified} } receiver_requests($r);
my %crash_ids = map { $_->{json}{id} => 1 } @crash;
is(scalar(keys %crash_ids), 100, 'the receiver got each of the 100');
is(scalar(@crash), 100, 'each once (nothing but a refused probe was in flight at the crash)');

stop_receiver($r);
$standby->stop;
done_testing();
