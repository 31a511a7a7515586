# What the sender may reach and what it sends: addresses refused after DNS
# resolution (pgmanage.webhook_deny_addresses / webhook_allow_addresses),
# redirects that would leave the endpoint's host, extra headers checked
# again before use, response bodies read up to a cap and cleaned before they
# reach last_error.  Only loopback addresses are ever connected to.
use strict;
use warnings;
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('hardening', conf => $webhook_conf);
my $r = start_receiver(secret => $secret);

sub settled
{
	my ($id, $name) = @_;
	$node->poll_query_until('postgres',
		"SELECT status <> 'pending' FROM pgm_delivery WHERE event_id = $id AND endpoint = '$name'")
	  or diag("event $id to $name did not settle");
	return $node->safe_psql('postgres',
		"SELECT status, attempts, coalesce(last_http_status, 0), coalesce(last_error, '') FROM pgm_delivery WHERE event_id = $id AND endpoint = '$name'");
}
sub labelled { my ($label) = @_; return grep { $_->{json} && ($_->{json}{label} // '') eq $label } receiver_requests($r); }
sub reload_until
{
	my ($name, $value) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET $name = '$value'; SELECT pg_reload_conf();");
	$node->poll_query_until('postgres', "SELECT current_setting('$name') = '$value'")
	  or diag("$name not reloaded");
}

# 1. connect-time check: a host name that resolves to a denied address
reload_until('pgmanage.webhook_deny_addresses', '127.0.0.0/8, ::1');
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout)
	VALUES ('named', 'http://localhost:$r->{port}/named', '$secret', '2s')});
my $id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('denied', 'named')");
like(settled($id, 'named'), qr/^dead\|1\|0\|refused to connect to (127\.0\.0\.1|::1): an address listed in pgmanage.webhook_deny_addresses/,
	'a name resolving to a denied address: refused at connect time, dead at once');
is(scalar(labelled('denied')), 0, 'nothing reached the receiver');
# ... and the literal address is refused when the row is stored
my ($ret, $out, $err) = $node->psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret) VALUES ('literal', 'http://127.0.0.1:$r->{port}/', '$secret')});
like($err, qr/invalid url for webhook endpoint "literal".*listed in pgmanage.webhook_deny_addresses/s,
	'a denied literal address is refused at INSERT');
reload_until('pgmanage.webhook_deny_addresses', '');
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('allowed again', 'named')");
is(settled($id, 'named'), 'delivered|1|200|', 'loopback is allowed by default');

# 2. metadata addresses: refused at INSERT unless pgmanage.webhook_allow_addresses lists them
# (the endpoint stays disabled: nothing is ever sent to it)
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('meta', 'http://169.254.169.254/latest/meta-data/', false)");
like($err, qr/link-local or cloud-metadata address/, '169.254.169.254 refused by default');
reload_until('pgmanage.webhook_allow_addresses', '169.254.169.254');
$node->safe_psql('postgres',
	"INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('meta', 'http://169.254.169.254/latest/meta-data/', false)");
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_endpoint WHERE name = 'meta'"), '1',
	'accepted once pgmanage.webhook_allow_addresses lists it');
$node->safe_psql('postgres', "DELETE FROM pgm_endpoint WHERE name = 'meta'");
reload_until('pgmanage.webhook_allow_addresses', '');

# 3. a redirect to another host is refused: the custom headers and the signature stay home
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout, headers, follow_redirects)
	VALUES ('hook', 'http://127.0.0.1:$r->{port}/hook', '$secret', '2s', '{"X-Token": "s3cret"}', true)});
set_plan($r, [ { status => 307, headers => { Location => "http://localhost:$r->{port}/elsewhere" } } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('cross host', 'hook')");
like(settled($id, 'hook'), qr{^dead\|1\|\d+\|redirect to http://localhost:$r->{port} refused: only the URL's own host is followed},
	'a redirect to another host is refused (dead at once)');
my @got = labelled('cross host');
is(scalar(@got), 1, 'one request: the redirect was not followed');
is(scalar(grep { $_->{path} eq '/elsewhere' } @got), 0, 'nothing was sent to the other host');
# the same host is still followed
set_plan($r, [ { status => 307, headers => { Location => "http://127.0.0.1:$r->{port}/moved" } } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('same host', 'hook')");
is(settled($id, 'hook'), 'delivered|1|200|', 'a redirect on the same host is followed');
is((labelled('same host'))[-1]{headers}{'x-token'}, 's3cret', 'with the custom header');

# 4. extra headers are checked again before use (a row can bypass the trigger)
$node->safe_psql('postgres', q{
	SET session_replication_role = replica;
	UPDATE pgm_endpoint SET headers = '{"X-A": "a\r\nX-Injected: 1"}' WHERE name = 'hook';
	RESET session_replication_role;});
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('bad header', 'hook')");
ok( $node->poll_query_until('postgres',
		qq{SELECT attempts >= 1 AND last_error LIKE 'header "X-A" of the endpoint has an invalid name or value: not sent%' FROM pgm_delivery WHERE event_id = $id}),
	'a header value with a line break: the delivery fails without being sent');
is(scalar(labelled('bad header')), 0, 'nothing was sent');
is(scalar(grep { exists $_->{headers}{'x-injected'} } receiver_requests($r)), 0, 'no header was injected');
$node->safe_psql('postgres', q{UPDATE pgm_endpoint SET headers = '{}' WHERE name = 'hook'});
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $id"),
	'delivered once the headers are fixed');

# 5. a 32 MB answer is not read whole: the status stands
set_plan($r, [ { status => 200, body => 'x' x 1024, body_repeat => 32768 } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('big answer', 'hook')");
is(settled($id, 'hook'), 'delivered|1|200|', 'a 2xx with a 32 MB body is delivered');
my @replies = grep { $_->{bytes} == 32 * 1024 * 1024 } receiver_replies($r);
is(scalar(@replies), 1, 'one 32 MB answer');
ok(!$replies[0]{complete}, 'the sender stopped reading it (the connection was closed early)');

# 6. what reaches last_error: no control characters, valid UTF-8, bounded
my $hostile = "\e[31mred\e[0m\r\nline2\tcaf\xc3\xa9 \xff\xfe" . ('y' x 300);
set_plan($r, [ { status => 400, body_b64 => encode_base64($hostile, '') } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('hostile answer', 'hook')");
like(settled($id, 'hook'), qr/^dead\|1\|400\|HTTP 400: /, 'a 400 with a hostile body: dead');
# (in a UTF-8 database the é is kept; otherwise it is ?? too)
my $cafe = $node->safe_psql('postgres', 'SELECT getdatabaseencoding()') eq 'UTF8' ? "caf\xc3\xa9" : 'caf??';
is($node->safe_psql('postgres', qq{
	SELECT last_error ~ '[\\x01-\\x1f\\x7f]', last_error LIKE '%red%line2 $cafe ??y%', octet_length(last_error) <= 200
	FROM pgm_delivery WHERE event_id = $id}), 'f|t|t',
	'last_error: control characters replaced, UTF-8 kept, other bytes as ?, at most 200 bytes');

stop_receiver($r);
$node->stop;
done_testing();
