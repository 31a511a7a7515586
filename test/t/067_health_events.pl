# The worker evaluates pgm_health() every pgmanage.health_check_interval
# and sends health_alert / health_ok through the outbox once per change of
# status, with hysteresis, kept across a restart: a sequence running out
# (setval moves it through the bands) and a prepared transaction left behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_' . ('c2VjcmV0LWtleS1mb3ItdGVzdHMtMDY3LTEyMzQ1Njc4');
my $node = pgm_node('events', conf => $webhook_conf . "log_statement = none\nmax_prepared_transactions = 2\n"
	  . "pgmanage.health_check_interval = '1s'\npgmanage.health_hysteresis = 10\n"
	  . "pgmanage.health_prepared_transactions_warning = '2s'\npgmanage.health_prepared_transactions_critical = -1\n");
my $r = start_receiver(secret => $secret);

# (a state row for each check after the first evaluation, no event: all ok)
ok( $node->poll_query_until('postgres', "SELECT count(*) = 12 FROM pgm_alert_state WHERE name LIKE 'health:%'"),
	'each check evaluated, its state kept');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_event WHERE kind LIKE 'health%'"), '0',
	'no endpoint subscribes yet: no event');

$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, event_kinds)
	VALUES ('hook', 'http://127.0.0.1:$r->{port}/', '$secret', '{health_alert,health_ok}');
	CREATE SEQUENCE near_end MAXVALUE 100;
	CREATE TABLE t (x int);});

# evaluations after now: the state row's checked_at moves on
sub wait_evaluations
{
	my ($n) = @_;
	for (1 .. $n)
	{
		my $t = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
		$node->poll_query_until('postgres',
			"SELECT checked_at > '$t' FROM pgm_alert_state WHERE name = 'health:sequences'")
		  or die 'no evaluation';
	}
}
sub events
{
	return $node->safe_psql('postgres', q{
		SELECT string_agg(kind || ':' || (payload->>'label') || ':' || (payload->'data'->>'status'), ',' ORDER BY id)
		FROM pgm_event WHERE kind LIKE 'health%' AND payload->>'label' = 'sequences'});
}

# 1. warning (80 % >= 75), then critical (95 % >= 90): one health_alert each
$node->safe_psql('postgres', "SELECT setval('near_end', 80)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_event WHERE kind = 'health_alert'"),
	'health_alert at 80 %');
is(events(), 'health_alert:sequences:warning', 'a warning');
wait_evaluations(2);
is(events(), 'health_alert:sequences:warning', 'once: not repeated at each evaluation');
$node->safe_psql('postgres', "SELECT setval('near_end', 95)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM pgm_event WHERE kind = 'health_alert'"),
	'health_alert at 95 %');
is(events(), 'health_alert:sequences:warning,health_alert:sequences:critical', 'then critical');
my $data = $node->safe_psql('postgres', q{
	SELECT (payload->'data'->>'value') || ' ' || (payload->'data'->>'warning_at') || ' ' || (payload->'data'->>'critical_at')
	       || ' ' || (payload->'data'->>'detail' LIKE 'sequence public.near_end: last value 95 of 100 (94.95%)%')
	FROM pgm_event WHERE kind = 'health_alert' ORDER BY id DESC LIMIT 1});
is($data, '94.95 75 90 true', 'the event carries the value, thresholds and detail');

# 2. hysteresis: 85 % (under 90 but within 10 % of it) stays critical; 88 -> 70 % (under 75 but
#    within 10 % of it) sends nothing; 60 % sends health_ok
$node->safe_psql('postgres', "SELECT setval('near_end', 85)");
wait_evaluations(2);
is($node->safe_psql('postgres', "SELECT state FROM pgm_alert_state WHERE name = 'health:sequences'"), 'critical',
	'85 %: still critical (band)');
$node->safe_psql('postgres', "SELECT setval('near_end', 80)");
wait_evaluations(2);
is($node->safe_psql('postgres', "SELECT state FROM pgm_alert_state WHERE name = 'health:sequences'"), 'warning',
	'80 %: down to warning, without an event');
$node->safe_psql('postgres', "SELECT setval('near_end', 70)");
wait_evaluations(2);
is(events(), 'health_alert:sequences:warning,health_alert:sequences:critical', '70 %: status ok, but no health_ok yet');
is($node->safe_psql('postgres', "SELECT state FROM pgm_alert_state WHERE name = 'health:sequences'"), 'warning',
	'the state stays warning');

# 3. a restart keeps the state: no repeated alert
$node->restart;
pgm_wait_worker($node);
wait_evaluations(2);
is(events(), 'health_alert:sequences:warning,health_alert:sequences:critical', 'no event after a restart');

$node->safe_psql('postgres', "SELECT setval('near_end', 60)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_event WHERE kind = 'health_ok'"),
	'health_ok at 60 %');
is(events(), 'health_alert:sequences:warning,health_alert:sequences:critical,health_ok:sequences:ok',
	'alert, alert, ok');

# 4. a prepared transaction left behind: alert after 2s, ok once it is committed
$node->safe_psql('postgres', "BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'left_behind'");
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pgm_event WHERE kind = 'health_alert' AND payload->>'label' = 'prepared_transactions'
	   AND payload->'data'->>'detail' LIKE '1 prepared, the oldest left_behind %'}),
	'health_alert for the prepared transaction');
$node->safe_psql('postgres', "COMMIT PREPARED 'left_behind'");
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pgm_event WHERE kind = 'health_ok' AND payload->>'label' = 'prepared_transactions'}),
	'health_ok once it is committed');

# 5. delivered, signed, in order
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgm_delivery WHERE status <> 'delivered'"),
	'all delivered');
my @reqs = grep { $_->{json}{kind} =~ /^health_/ } receiver_requests($r);
is(join(',', map { "$_->{json}{kind}:$_->{json}{label}" } @reqs),
	'health_alert:sequences,health_alert:sequences,health_ok:sequences,health_alert:prepared_transactions,health_ok:prepared_transactions',
	'the receiver got them in order');
ok(!(grep { !$_->{verified} } @reqs), 'signed');

# 6. interval 0: no more evaluations
$node->append_conf('postgresql.conf', "pgmanage.health_check_interval = 0\n");
$node->reload;
$node->poll_query_until('postgres', "SELECT current_setting('pgmanage.health_check_interval') = '0'");
sleep(1);    # (a pass already under way may still evaluate once)
my $t = $node->safe_psql('postgres', 'SELECT max(checked_at) FROM pgm_alert_state WHERE name LIKE \'health:%\'');
# the worker makes a pass at least every second: three passes and no new evaluation
my $passes = $node->safe_psql('postgres', "SELECT clock_timestamp()");
$node->poll_query_until('postgres', "SELECT clock_timestamp() > '$passes'::timestamptz + interval '3 s'");
is($node->safe_psql('postgres', "SELECT max(checked_at) = '$t' FROM pgm_alert_state WHERE name LIKE 'health:%'"), 't',
	'interval 0 turns the evaluation off');

stop_receiver($r);
$node->stop;
done_testing();
