# Webhook secrets stay secret; disk alerts with hysteresis; policy kills
# and WAL volume become events.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_' . ('c2VjcmV0LWtleS1mb3ItdGVzdHMtMDQxLTEyMzQ1Njc4');	# 33 bytes
# log_statement = none: the test's own INSERT would otherwise log the secret
my $node = pgm_node('alerts', conf => $webhook_conf . "log_statement = none\n");
my $r = start_receiver(secret => $secret);

$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, headers)
	VALUES ('hook', 'http://127.0.0.1:$r->{port}/', '$secret', '{"X-Api-Key": "k3y-value"}');
	CREATE ROLE mon LOGIN IN ROLE pg_monitor;
	CREATE ROLE plain LOGIN;});
pgm_grant_usage($node, 'plain');    # so that each object's own privilege is what refuses

# 1. nobody but superusers reads the secret
for my $role ('mon', 'plain')
{
	my ($ret, $out, $err) = $node->psql('postgres', 'SELECT secret FROM pgm_endpoint',
		extra_params => [ '-U', $role ]);
	like($err, qr/permission denied for table pgm_endpoint/, "$role cannot read pgm_endpoint");
	($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM pgm_endpoint_status',
		extra_params => [ '-U', $role ]);
	unlike($out . $err, qr/\Q$secret\E|k3y-value/, "$role: pgm_endpoint_status shows neither secret nor header values");
	($ret, $out, $err) = $node->psql('postgres',
		"SELECT name, setting, reset_val, boot_val FROM pg_settings WHERE name LIKE 'pgmanage.%'",
		extra_params => [ '-U', $role ]);
	unlike($out, qr/whsec_/, "$role: no secret among the settings");
}
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT name FROM pgm_endpoint_status', extra_params => [ '-U', 'mon' ]);
is($out, 'hook', 'a monitor sees the endpoint in pgm_endpoint_status');
# errors do not repeat the secret, to the client or in the server log
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO pgm_endpoint (name, url, secret) VALUES ('x', 'ftp://example.com/', '$secret')");
like($err, qr/invalid url for webhook endpoint "x"/, 'a bad row is refused');
unlike($err, qr/\Q$secret\E/, 'the error does not show the secret');
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO pgm_endpoint (name, url, secret, enabled) VALUES ('x', 'http://example.com/', '$secret', NULL)");
like($err, qr/must not be null/, 'a NULL is refused by the trigger');
unlike($err, qr/\Q$secret\E|Failing row/, 'without printing the row');

# 2. disk alert and recovery: threshold at 1 % (certainly exceeded), then 99 %
$node->append_conf('postgresql.conf', "pgmanage.disk_check_interval = '1s'\npgmanage.disk_alert_threshold = 1\n");
$node->reload;
my @reqs = grep { $_->{json}{kind} eq 'disk_alert' } wait_for_requests($r, 1, 'disk alert');
is(scalar(@reqs), 1, 'one disk_alert');
ok($reqs[0]{verified}, 'signed');
is($reqs[0]{json}{label}, 'data_directory', 'for the data directory');
is($reqs[0]{json}{data}{threshold_pct}, 1, 'with the threshold');
ok($reqs[0]{json}{data}{used_pct} >= 1, 'and the usage');
$node->append_conf('postgresql.conf', "pgmanage.disk_alert_threshold = 99\n");
$node->reload;
ok( $node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_event WHERE kind = 'disk_ok'"),
	'disk_ok once usage is under the threshold again');
# restart: the state is kept, no new alert or ok
$node->restart;
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', "SELECT pgm_emit_event('marker')");
ok($node->poll_query_until('postgres',
	"SELECT status = 'delivered' FROM pgm_events WHERE kind = 'marker'"), 'marker delivered after restart');
ok( $node->poll_query_until('postgres',
		"SELECT checked_at > '$t0' FROM pgm_alert_state WHERE name = 'disk:data_directory'"),
	'the disk was checked again');
is($node->safe_psql('postgres', "SELECT kind, count(*) FROM pgm_event WHERE kind LIKE 'disk%' GROUP BY 1 ORDER BY 1"),
	"disk_alert|1\ndisk_ok|1", 'one event per crossing, across a restart');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pgm_delivery WHERE status <> 'delivered'"), 'all delivered');
@reqs = receiver_requests($r);
is(join(',', map { $_->{json}{kind} } grep { $_->{json}{kind} =~ /^disk/ } @reqs), 'disk_alert,disk_ok',
	'the receiver got disk_alert then disk_ok');

# 3. a policy kill becomes a timeout_kill event
$node->safe_psql('postgres', qq{
	UPDATE pgm_endpoint SET event_kinds = '{timeout_kill,backup}';
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('victim', '200ms');});
$node->poll_query_until('postgres',
	"SELECT policies_loaded = 1 FROM pgm_status() WHERE process = 'launcher'");
# (superusers are exempt by default: run it as a plain role)
$node->psql('postgres', 'SELECT pg_sleep(30)', connstr => $node->connstr('postgres') . ' user=plain application_name=victim');
ok( $node->poll_query_until('postgres', "SELECT status = 'delivered' FROM pgm_events WHERE kind = 'timeout_kill'"),
	'timeout_kill delivered');
my ($kill) = grep { $_->{json}{kind} eq 'timeout_kill' } receiver_requests($r);
is($kill->{json}{data}{application_name}, 'victim', 'with the kill log row');
ok(!exists $kill->{json}{data}{query}, 'but not the query text');

# 4. WAL volume: a backup event once the threshold is passed, once per crossing
$node->append_conf('postgresql.conf', "pgmanage.backup_wal_threshold = '1MB'\n");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_alert_state WHERE name = 'backup_wal'"),
	'WAL baseline recorded');
# (in a table created beforehand: with wal_level = minimal, CREATE TABLE AS skips WAL)
$node->safe_psql('postgres', 'CREATE TABLE filler (g int, t text)');
# about 1.5 MB of WAL: more than the threshold, less than twice it (the worker
# may look while the INSERT runs, and each 1MB crossing is an event: 20,000
# rows, 5 MB, gave a second event on a loaded machine)
$node->safe_psql('postgres', "INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 6000) g");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgm_event WHERE kind = 'backup' AND payload->>'label' = 'wal_threshold'"),
	'a backup event after 1MB of WAL');
my $data = $node->safe_psql('postgres',
	"SELECT (payload->'data'->>'wal_bytes')::bigint > 1048576 FROM pgm_event WHERE payload->>'label' = 'wal_threshold'");
is($data, 't', 'with the WAL written');
# a manual backup trigger moves the baseline
$node->safe_psql('postgres', "SELECT pgm_trigger_backup('manual')");
ok( $node->poll_query_until('postgres',
		"SELECT (detail->>'event_id')::bigint = (SELECT max(id) FROM pgm_event WHERE kind = 'backup') FROM pgm_alert_state WHERE name = 'backup_wal'"),
	'a manual backup event resets the WAL baseline');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_event WHERE payload->>'label' = 'wal_threshold'"), '1',
	'no second wal_threshold event without more WAL');

# 5. nothing in the server log shows the secret or the header value
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgm_delivery WHERE status = 'pending'"),
	'everything delivered');
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$secret\E|c2VjcmV0LWtleS1mb3ItdGVzdHMtMDQxLTEyMzQ1Njc4|k3y-value/, 'the server log never shows the secret');

stop_receiver($r);
$node->stop;
done_testing();
