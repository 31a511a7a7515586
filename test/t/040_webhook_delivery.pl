# Webhook delivery: payload and signature, commit-only sending, retries
# (500, timeout, receiver down, Retry-After), dead at once (400, redirects).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('webhook', conf => $webhook_conf);
my $r = start_receiver(secret => $secret);

$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout)
	VALUES ('hook', 'http://127.0.0.1:$r->{port}/hook', '$secret', '1s')});

# wait for the delivery of an event to end (delivered or dead)
sub wait_settled
{
	my ($id) = @_;
	ok( $node->poll_query_until('postgres',
			"SELECT status <> 'pending' FROM pgm_delivery WHERE event_id = $id"),
		"event $id settled");
	return $node->safe_psql('postgres',
		"SELECT status, attempts, last_http_status, coalesce(last_error, '') FROM pgm_delivery WHERE event_id = $id");
}
sub for_id { my ($id, @reqs) = @_; return grep { $_->{json} && $_->{json}{id} == $id } @reqs; }

# 1. a backup trigger: delivered, signed, with the payload the issue asks for
my $id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('nightly')");
like($id, qr/^\d+$/, 'pgm_trigger_backup returns an id');
is(wait_settled($id), 'delivered|1|200|', 'delivered at the first attempt');
my ($req) = for_id($id, wait_for_requests($r, 1, 'first event'));
ok($req, 'the receiver got the event');
ok($req->{verified}, 'the signature verifies (independent HMAC in the receiver)');
my $sysid = $node->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()');
is($req->{headers}{'webhook-id'}, $node->safe_psql('postgres', "SELECT webhook_id FROM pgm_event WHERE id = $id"),
	'webhook-id is the id stored with the event');
is($req->{headers}{'content-type'}, 'application/json', 'content type');
like($req->{headers}{'user-agent'}, qr{^pgmanage/\d}, 'user agent names pgmanage and its version');
is($req->{path}, '/hook', 'POSTed to the URL path');
my $p = $req->{json};
is($p->{kind}, 'backup', 'kind');
is($p->{label}, 'nightly', 'label');
is($p->{requested_by}, $node->safe_psql('postgres', 'SELECT current_user'), 'who asked');
is($p->{cluster}{system_identifier}, $sysid, 'system identifier');
is($p->{cluster}{port}, $node->port, 'port');
ok($p->{cluster}{host} ne '', 'host name');
my $major = $node->safe_psql('postgres', "SELECT current_setting('server_version_num')::int / 10000");
like($p->{cluster}{server_version}, qr/^\Q$major\E[.\s]/, 'server version');
is($p->{database}, 'postgres', 'database');
like($p->{wal_lsn}, qr{^[0-9A-F]+/[0-9A-F]+$}, 'WAL LSN');
ok($p->{database_size} > 0, 'database size');
like($p->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/, 'time in UTC');

# 2. a rollback sends nothing
$node->safe_psql('postgres', "BEGIN; SELECT pgm_trigger_backup('rolled back'); ROLLBACK;");
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('after rollback')");
wait_settled($id);
my @reqs = wait_for_requests($r, 2, 'after rollback');
is(scalar(grep { $_->{json}{label} eq 'rolled back' } @reqs), 0, 'the rolled back event was not sent');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_event WHERE payload->>'label' = 'rolled back'"),
	'0', 'nor kept');

# 3. 500 then 200: retried, same id and body, signed afresh
set_plan($r, [ { status => 500, body => 'try later' } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('retry 500')");
is(wait_settled($id), 'delivered|2|200|', '500 then 200: delivered at the second attempt');
my @tries = for_id($id, receiver_requests($r));
is(scalar(@tries), 2, 'two requests');
is($tries[0]{status}, 500, 'the first was answered 500');
is($tries[0]{headers}{'webhook-id'}, $tries[1]{headers}{'webhook-id'}, 'same webhook-id on the retry');
is($tries[0]{body}, $tries[1]{body}, 'same body on the retry');
ok($tries[0]{verified} && $tries[1]{verified}, 'both signed');

# 4. 400: dead at once, no retry
set_plan($r, [ { status => 400, body => 'bad payload' } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('bad')");
is(wait_settled($id), 'dead|1|400|HTTP 400: bad payload', '400: dead after one attempt, with the answer');
my $later = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('later')");
wait_settled($later);
my @dead = for_id($id, receiver_requests($r));
is(scalar(@dead), 1, 'the dead event was not sent again');

# 5. Retry-After is honoured, even beyond pgmanage.webhook_retry_max (2 s here)
set_plan($r, [ { status => 429, retry_after => 3 } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('throttled')");
is(wait_settled($id), 'delivered|2|200|', '429 then 200');
@tries = for_id($id, receiver_requests($r));
ok($tries[1]{t} - $tries[0]{t} >= 3.0,
	sprintf('second attempt waited for Retry-After (%.2f s)', $tries[1]{t} - $tries[0]{t}));

# 6. a receiver that does not answer: the attempt times out (endpoint timeout 1 s) and is retried
set_plan($r, [ { status => 200, delay => 4 } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('slow')");
is(wait_settled($id), 'delivered|2|200|', 'the first attempt timed out, the retry was delivered');
@tries = for_id($id, receiver_requests($r));
is(scalar(@tries), 2, 'two requests');
ok($tries[1]{t} - $tries[0]{t} >= 1.0,
	sprintf('the first was abandoned after the 1 s timeout (%.2f s)', $tries[1]{t} - $tries[0]{t}));

# 7. the receiver down, then up again on the same port
stop_receiver($r);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('while down')");
ok( $node->poll_query_until('postgres',
		"SELECT attempts >= 2 AND status = 'pending' AND last_error ILIKE '%connect%' FROM pgm_delivery WHERE event_id = $id"),
	'receiver down: attempts fail with a connection error and stay pending');
$r = start_receiver(secret => $secret, port => $r->{port}, dir => $r->{dir});
like(wait_settled($id), qr/^delivered\|\d+\|200\|$/, 'delivered once the receiver is back');

# 8. redirects: not followed by default; never to another protocol
set_plan($r, [ { status => 302, headers => { Location => "http://127.0.0.1:$r->{port}/moved" } } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('redirected')");
like(wait_settled($id), qr/^dead\|1\|302\|.*redirect not followed/, 'a redirect is not followed by default');
$node->safe_psql('postgres', "UPDATE pgm_endpoint SET follow_redirects = true WHERE name = 'hook'");
set_plan($r, [ { status => 307, headers => { Location => "http://127.0.0.1:$r->{port}/moved" } } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('followed')");
is(wait_settled($id), 'delivered|1|200|', 'followed when the endpoint says so');
is((for_id($id, receiver_requests($r)))[-1]{path}, '/moved', 'to the new location');
set_plan($r, [ { status => 302, headers => { Location => 'file:///etc/passwd' } } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('to file')");
like(wait_settled($id), qr/^dead\|1\|302\|.*(Protocol|protocol)/, 'a redirect to file: is refused by libcurl');

# 9. the views
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_events WHERE status = 'dead'"), '3', 'pgm_events: dead ones');
is($node->safe_psql('postgres', "SELECT pending, dead FROM pgm_endpoint_status WHERE name = 'hook'"),
	'0|3', 'pgm_endpoint_status: counts');
is($node->safe_psql('postgres', "SELECT process, pid > 0 FROM pgm_status() WHERE process = 'sender'"),
	'sender|t', 'pgm_status shows the sender');

stop_receiver($r);
$node->stop;
done_testing();
