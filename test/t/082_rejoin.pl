# Rejoin (issue 11, item 5): after a promotion the old primary comes back
# as a standby of the new one, through pg_rewind (it diverged: it kept
# running and writing after the promotion), and takes standby duties:
# pgm_status() says standby, its launcher enforces a policy that came by
# replication (the kill record waits in its memory), it runs no VACUUM and
# sends no event (with the new primary stopped and deliveries pending, the
# receiver hears nothing from it).  The new primary keeps its duties: it
# runs the job, delivers every event, each under one webhook-id.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $conf = $webhook_conf . q{
wal_log_hints = on
wal_keep_size = '320MB'
autovacuum = off
pgmanage.webhook_circuit_failures = 3
pgmanage.webhook_circuit_probe_interval = '300ms'
};
my $old = pgm_node('old_primary', allows_streaming => 1, conf => $conf);
my $r = start_receiver(secret => $secret);
my $port = $r->{port};
$old->safe_psql('postgres', qq{
	CREATE ROLE app LOGIN;
	CREATE TABLE t (id int);
	INSERT INTO pgm_endpoint (name, url, secret, event_kinds) VALUES ('hook', 'http://127.0.0.1:$port/', '$secret', '{test}');
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('rj_%', '1 s');
	SELECT pgm_schedule_vacuum('yearly', '0 0 1 1 *', tables => ARRAY['t'], strategy => 'all')});
$old->safe_psql('postgres', "SELECT pgm_emit_event('test', jsonb_build_object('n', 'a' || g)) FROM generate_series(1, 5) g");
ok($old->poll_query_until('postgres', "SELECT count(*) = 5 FROM pgm_delivery WHERE status = 'delivered'"),
	'the old primary delivers its events');
my $new = pgm_standby($old, 'new_primary');
$old->wait_for_catchup($new);

# ---- promotion; the old primary goes on writing for a moment (it diverges)
$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'not promoted';
# (its control file names the new timeline: pg_rewind reads it there)
$new->safe_psql('postgres', 'CHECKPOINT');
$old->safe_psql('postgres', 'CREATE TABLE diverged AS SELECT g FROM generate_series(1, 1000) g');
$old->stop;

# ---- pg_rewind the old primary from the new one (its postgresql.conf kept:
# pg_rewind copies the source's, with the source's port)
my $conf_file = $old->data_dir . '/postgresql.conf';
my $keep = PostgreSQL::Test::Utils::tempdir() . '/postgresql.conf';    # (outside: pg_rewind removes what the source lacks)
copy($conf_file, $keep) or die $!;
command_ok([ $old->installed_command('pg_rewind'), '--target-pgdata', $old->data_dir,
		'--source-server', $new->connstr('postgres') ],
	'pg_rewind the old primary');
move($keep, $conf_file) or die $!;
$old->enable_streaming($new);
$old->start;
$new->wait_for_catchup($old);
pgm_wait_worker($old);
is($old->safe_psql('postgres', 'SELECT count(*) FROM pg_class WHERE relname = \'diverged\''), '0',
	'rewound: the diverged table is gone');
is($old->safe_psql('postgres', "SELECT string_agg(DISTINCT server_role, ',') FROM pgm_status()"),
	'standby', 'pgm_status(): the rejoined node is a standby (every row)');
is($old->safe_psql('postgres', "SELECT unclean_stops || '|' || coalesce(last_stop, 'none') FROM pgm_status() WHERE process = 'launcher'"),
	'0|none', 'the stop record rewound from the new primary is not taken for its own');

# ---- policies: one added on the new primary is enforced on the rejoined standby
$new->safe_psql('postgres',
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('later_%', '1 s')");
$new->wait_for_catchup($old);
pgm_wait_policies($old, 2);
my $s = pgm_session($old, 'later_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the rejoined standby\'s launcher enforces the replicated policy');
pgm_quit($s);
ok($old->poll_query_until('postgres',
		"SELECT kill_log_pending = 1 AND kill_log_written = 0 FROM pgm_status() WHERE process = 'worker'"),
	'its kill record waits in memory: nothing writes tables there');
$s = pgm_session($new, 'rj_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the new primary enforces its policies');
pgm_quit($s);
ok($new->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE application_name = 'rj_1'"),
	'and writes its kill log');

# ---- jobs: a due slot runs on the new primary, never on the rejoined standby
$new->append_conf('postgresql.conf', "pgmanage.enable_jobs = off\n");
$new->reload;
ok($new->poll_query_until('postgres', "SELECT current_setting('pgmanage.enable_jobs') = 'off'"), 'jobs paused on the new primary');
$new->safe_psql('postgres', "UPDATE pgm_job SET next_fire = now() - interval '1 s' WHERE name = 'yearly'");
$new->wait_for_catchup($old);
my $t0 = $old->safe_psql('postgres', 'SELECT now()');
ok($old->poll_query_until('postgres',
		"SELECT last_wake > '$t0'::timestamptz + interval '2 s' FROM pgm_status() WHERE process = 'worker'"),
	'the rejoined standby\'s worker made passes for 2 s with the slot due');
is($old->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum'"),
	'0', 'no VACUUM worker on the rejoined standby');
ok(!$old->log_contains('pgmanage vacuum run'), 'its log shows no run');
$new->append_conf('postgresql.conf', "pgmanage.enable_jobs = on\n");
$new->reload;
ok($new->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pgm_job_run WHERE job = 'yearly' AND status = 'succeeded'"),
	'the new primary runs the due slot');

# ---- events: pending on the new primary, which then stops; the rejoined
# standby sends nothing; the new primary, started again, sends them
stop_receiver($r);
$new->safe_psql('postgres', "SELECT pgm_emit_event('test', jsonb_build_object('n', 'b' || g)) FROM generate_series(1, 5) g");
ok($new->poll_query_until('postgres',
		"SELECT circuit <> 'closed' AND pending = 5 FROM pgm_endpoint_circuits() WHERE endpoint = 'hook'"),
	'the endpoint is down: 5 events pending on the new primary');
$new->wait_for_catchup($old);
$new->stop;
my $before = scalar receiver_requests($r);
$r = start_receiver(secret => $secret, port => $port, dir => $r->{dir});
$t0 = $old->safe_psql('postgres', 'SELECT now()');
is($old->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE status = 'pending'"), '5',
	'the rejoined standby sees the 5 pending deliveries');
ok($old->poll_query_until('postgres',
		"SELECT pid IS NOT NULL AND last_wake > '$t0'::timestamptz + interval '2 s' FROM pgm_status() WHERE process = 'sender'"),
	'its sender runs and woke for 2 s');
is(scalar(receiver_requests($r)) - $before, 0, 'the rejoined standby sends nothing');
$new->start;
ok($new->poll_query_until('postgres', "SELECT count(*) = 0 FROM pgm_delivery WHERE status = 'pending'"),
	'the new primary, back, delivers them');
is($new->safe_psql('postgres', "SELECT count(*) FROM pgm_delivery WHERE status = 'dead'"), '0', 'nothing dead');

# every event reached the receiver, each under one webhook-id
my (%ids_of, %n_of);
for my $q (grep { $_->{verified} && $_->{json} } receiver_requests($r))
{
	my $n = $q->{json}{data}{n};
	$ids_of{$n}{ $q->{headers}{'webhook-id'} } = 1;
	$n_of{ $q->{headers}{'webhook-id'} }{$n} = 1;
}
is(join(',', sort keys %ids_of), 'a1,a2,a3,a4,a5,b1,b2,b3,b4,b5', 'all 10 events delivered');
is(scalar(grep { keys %{ $ids_of{$_} } != 1 } keys %ids_of), 0, 'no event delivered under two ids');
is(scalar(grep { keys %{ $n_of{$_} } != 1 } keys %n_of), 0, 'no id for two events');

stop_receiver($r);
$old->stop;
$new->stop;
done_testing();
