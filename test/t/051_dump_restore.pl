# What a DBA configured (timeout policies, webhook endpoints with their
# secrets, jobs: VACUUM and backup schedules) survives pg_dump of
# pgmanage.database and pg_restore into a new cluster with pgmanage
# preloaded; there the worker enforces a restored policy and schedules a
# restored job.  What is deliberately not dumped (run history, logs, the
# outbox, snapshots, alert state) is empty after the restore.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

# nothing moves on its own while rows are compared: no snapshots, no disk
# checks, schedules far from now
my $conf = q{
pgmanage.naptime = '200ms'
pgmanage.pgss_snapshot_interval = 0
pgmanage.disk_check_interval = 0
};
my $source = pgm_node('source', conf => $conf);
my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
$source->safe_psql('postgres', qq{
INSERT INTO pgm_timeout_policy (application_name, statement_timeout, exempt_superusers, comment)
VALUES ('restored_app', '1 s', false, 'cancels after a second');
INSERT INTO pgm_timeout_policy (role_name, idle_in_transaction_timeout, action, enabled)
VALUES ('nobody', '10 min', 'terminate', false);
DELETE FROM pgm_timeout_policy WHERE role_name = 'nobody';    -- the sequence moves on
INSERT INTO pgm_timeout_policy (database_name, transaction_timeout) VALUES ('postgres', '1 hour');
-- stored, never sent: disabled, loopback only
INSERT INTO pgm_endpoint (name, url, secret, event_kinds, headers, enabled, comment)
VALUES ('ops', 'http://127.0.0.1:9/hook', '$secret', '{backup,job_failed}', '{"X-Team": "dba"}', false, 'stored');
INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('generated_secret', 'https://127.0.0.1:9/', false);
SELECT pgm_schedule_vacuum('restored vacuum', '0 3 1 1 *', schema_name => 'public');
SELECT pgm_schedule_backup('restored backup', '0 1 1 1 *', endpoint => 'ops', label => 'full');
-- what is not dumped: history, logs, the outbox
SELECT pgm_vacuum_now();
INSERT INTO pgm_event (kind, payload) VALUES ('backup', '{"label": "queued"}');
INSERT INTO pgm_delivery (event_id, endpoint) SELECT max(id), 'ops' FROM pgm_event;
INSERT INTO pgm_kill_log (logged_at, pid, limit_kind, action, succeeded, source)
VALUES (now(), 1, 'statement_timeout', 'cancel', true, 'policy');
INSERT INTO pgm_slow_queries (captured_at, duration_ms, pid, query, query_normalized, statement,
                              nesting_level, utility)
VALUES (now(), 1000, 1, 'SELECT 1', false, 'SELECT 1', 0, false);
});
$source->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pgm_job_run WHERE status NOT IN ('queued', 'running')})
  or die 'the manual VACUUM run did not end';

my %dumped = (
	pgm_timeout_policy => 'SELECT t::text FROM pgm_timeout_policy t ORDER BY 1',
	pgm_endpoint => 'SELECT t::text FROM pgm_endpoint t ORDER BY 1',
	pgm_job => 'SELECT t::text FROM pgm_job t ORDER BY 1',
	'pgm_timeout_policy_id_seq' => q{SELECT last_value || ' ' || is_called FROM pgm_timeout_policy_id_seq},
);
my @not_dumped = split /\n/, $source->safe_psql('postgres', q{
	SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
	  AND d.deptype = 'e' AND c.relkind = 'r'
	  AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'pgmanage')::oid[])
	ORDER BY 1});
is(join(' ', sort map { s/^pgmanage\.//r } split /\n/, $source->safe_psql('postgres',
			q{SELECT unnest(extconfig)::regclass FROM pg_extension WHERE extname = 'pgmanage'})),
	'pgm_endpoint pgm_job pgm_timeout_policy pgm_timeout_policy_id_seq',
	'registered with pg_extension_config_dump: policies (and their sequence), endpoints, jobs');
for my $t (qw(pgm_job_run pgm_kill_log pgm_event pgm_delivery pgm_slow_queries))
{
	ok((grep { $_ eq $t } @not_dumped), "$t is not dumped");
	cmp_ok($source->safe_psql('postgres', "SELECT count(*) FROM $t"), '>', 0, "source: $t has rows");
}
my %rows = map { ($_ => $source->safe_psql('postgres', $dumped{$_})) } keys %dumped;

# ---- pg_dump, and pg_restore into a new cluster
my $file = $PostgreSQL::Test::Utils::tmp_check . '/pgmanage.dump';
$source->command_ok([ 'pg_dump', '-Fc', '-f', $file, '-d', 'postgres' ], 'pg_dump of pgmanage.database');
$source->stop;

my $target = pgm_node('target', extension => 0, conf => $conf);
$target->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'postgres', $file ], 'pg_restore');
is($target->safe_psql('postgres', q{SELECT extversion || ' ' || extnamespace::regnamespace
	FROM pg_extension WHERE extname = 'pgmanage'}), '2.2 pgmanage', 'restored: 2.2 in pgmanage');
for my $t (sort keys %dumped)
{
	is($target->safe_psql('postgres', $dumped{$t}), $rows{$t}, "restored: $t, every row as it was");
}
is($target->safe_psql('postgres', "SELECT secret FROM pgm_endpoint WHERE name = 'ops'"), $secret,
	"restored: the endpoint's secret");
for my $t (@not_dumped)
{
	is($target->safe_psql('postgres', "SELECT count(*) FROM $t"), '0', "restored: $t is empty");
}

# ---- the restored cluster's worker: a restored policy is enforced ...
pgm_wait_worker($target);
pgm_wait_policies($target, 2);
my $s = pgm_session($target, 'restored_app');
pgm_run($s, 'SELECT pg_sleep(30)');
like(pgm_result($s), qr/sqlstate=57014/, 'restored: the policy cancels a statement after 1 s');
pgm_quit($s);
is($target->safe_psql('postgres', q{SELECT count(*) FROM pgm_kill_log WHERE application_name = 'restored_app'}),
	'1', 'restored: and the kill is logged');

# ... and a restored job is scheduled (made due now)
$target->safe_psql('postgres',
	q{UPDATE pgm_job SET next_fire = now() - interval '1 second' WHERE name = 'restored vacuum'});
ok( $target->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM pgm_job_run WHERE job = 'restored vacuum' AND status = 'succeeded'}),
	'restored: the scheduler runs the restored VACUUM job');

$target->stop;
done_testing();
