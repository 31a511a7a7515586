# HTTPS endpoints: certificates and host names are verified; a self-signed
# certificate is refused until the endpoint names it in ca_file.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $dir = PostgreSQL::Test::Utils::tempdir();
system_or_bail('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
	'-keyout', "$dir/key.pem", '-out', "$dir/cert.pem", '-subj', '/CN=127.0.0.1',
	'-addext', 'subjectAltName=IP:127.0.0.1');

my $node = pgm_node('tls', conf => $webhook_conf);
my $r = start_receiver(secret => $secret, tls => [ "$dir/cert.pem", "$dir/key.pem" ]);
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret)
	VALUES ('tls', 'https://127.0.0.1:$r->{port}/', '$secret')});

# 1. refused by default: the certificate is signed by no known CA
my $id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('tls')");
ok( $node->poll_query_until('postgres',
		"SELECT status = 'pending' AND attempts >= 1 AND last_error ILIKE '%certificate%' FROM pgm_delivery WHERE event_id = $id"),
	'a self-signed certificate is refused (and the delivery retried)');
my @none = receiver_requests($r);
is(scalar(@none), 0, 'nothing reached the receiver');

# 2. accepted with its CA configured
$node->safe_psql('postgres', "UPDATE pgm_endpoint SET ca_file = '$dir/cert.pem' WHERE name = 'tls'");
ok($node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $id"),
	'delivered once ca_file names the certificate');
my @reqs = wait_for_requests($r, 1, 'over TLS');
ok($reqs[0]{verified} && $reqs[0]{json}{id} == $id, 'signed, over HTTPS');

# 3. the host name is checked too: the certificate is for 127.0.0.1, not localhost
$node->safe_psql('postgres', "UPDATE pgm_endpoint SET url = 'https://localhost:$r->{port}/' WHERE name = 'tls'");
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('wrong host')");
ok( $node->poll_query_until('postgres',
		"SELECT attempts >= 1 AND status = 'pending' AND last_error ~* 'certificate|host name|subject' FROM pgm_delivery WHERE event_id = $id"),
	'a certificate for another host name is refused');

# 4. a redirect from https never goes to http (even on the same host).
# The event of 3 would otherwise still be pending (and, with the failures
# of 1 and 3, the endpoint's circuit may be open): only this one may take
# the redirect.
$node->safe_psql('postgres', "UPDATE pgm_delivery SET status = 'dead' WHERE event_id = $id AND status = 'pending'");
my $plain = start_receiver(secret => $secret);
$node->safe_psql('postgres', "UPDATE pgm_endpoint SET url = 'https://127.0.0.1:$r->{port}/', follow_redirects = true WHERE name = 'tls'");
set_plan($r, [ { status => 307, headers => { Location => "http://127.0.0.1:$plain->{port}/downgraded" } } ]);
$id = $node->safe_psql('postgres', "SELECT pgm_trigger_backup('downgrade')");
ok( $node->poll_query_until('postgres',
		"SELECT status = 'dead' AND last_error LIKE 'redirect refused: an https URL is never followed to another protocol%' FROM pgm_delivery WHERE event_id = $id"),
	'a redirect from https to http is refused (dead at once)')
  or diag($node->safe_psql('postgres', "SELECT status, last_error FROM pgm_delivery WHERE event_id = $id"));
my @plain = receiver_requests($plain);
is(scalar(@plain), 0, 'nothing reached the http receiver');
stop_receiver($plain);

stop_receiver($r);
$node->stop;
done_testing();
