# pg_upgrade of a cluster with pgmanage, from an older major version
# (PGM_OLD_INSTALL: 15 in the 17 chroot, set by scripts/test-pg.sh, which
# builds this tree for it too) to the version under test:
#
#  - the old cluster runs pgmanage for real: policies, a cancelled statement
#    in pgm_kill_log, captured slow statements, pg_stat_statements history
#    snapshots, a job run, an endpoint with its secret and an outbox;
#  - pg_upgrade --check, then pg_upgrade (pgmanage preloaded in both: the
#    servers pg_upgrade starts in binary-upgrade mode must not run
#    pgmanage's processes, which would write into tables being restored);
#  - on the new version every row and sequence value is kept, the
#    extension is the same version, the worker finds it, the history tables
#    take a new snapshot (pg_stat_statements starts empty after pg_upgrade:
#    a reset) and pgm_top_queries_between reads across the upgrade.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

plan skip_all => 'no older PostgreSQL with pgmanage installed (PGM_OLD_INSTALL): '
  . 'scripts/test.sh --pg 17 runs this test (15 -> 17)'
  unless $ENV{PGM_OLD_INSTALL} && -x "$ENV{PGM_OLD_INSTALL}/bin/pg_upgrade";

my %conf = (conf => q{
pgmanage.pgss_snapshot_interval = 0
pgmanage.log_min_duration = 200
pgmanage.disk_check_interval = 0
});

# ---- the old cluster, pgmanage at work
my $old = pgm_node('old', install_path => $ENV{PGM_OLD_INSTALL}, %conf);
my $old_version = $old->safe_psql('postgres', 'SHOW server_version_num');
my $ext_version = $old->safe_psql('postgres',
	"SELECT extversion FROM pg_extension WHERE extname = 'pgmanage'");
$old->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE ROLE app LOGIN;
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric);
INSERT INTO accounts SELECT g, g FROM generate_series(1, 1000) g;
INSERT INTO pgm_timeout_policy (application_name, statement_timeout, exempt_superusers, comment)
VALUES ('upgrade_app', '1 s', false, 'cancels after a second');
INSERT INTO pgm_endpoint (name, url, secret, event_kinds, enabled)
VALUES ('ops', 'http://127.0.0.1:9/hook', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '{backup}', false);
SELECT pgm_schedule_vacuum('nightly vacuum', '0 3 * * *', schema_name => 'public');
SELECT pgm_pgss_snapshot();
SELECT count(*) FROM accounts WHERE balance > 10;
SELECT pg_sleep(0.3);
SELECT pgm_pgss_snapshot();
INSERT INTO pgm_event (kind, payload) VALUES ('backup', '{"label": "before pg_upgrade"}');
});
pgm_wait_policies($old, 1);
my $s = pgm_session($old, 'upgrade_app');
pgm_run($s, 'SELECT pg_sleep(30)');
like(pgm_result($s), qr/sqlstate=57014/, 'old: the policy cancels a statement');
pgm_quit($s);
$old->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pgm_kill_log WHERE application_name = 'upgrade_app'})
  or die 'no kill log row';
$old->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pgm_slow_queries WHERE statement LIKE '%pg_sleep(0.3)%'})
  or die 'no captured slow statement';
$old->safe_psql('postgres', q{SELECT pgm_vacuum_now(schema_name => 'public')});
$old->poll_query_until('postgres', q{SELECT status = 'succeeded' FROM pgm_job_run ORDER BY id DESC LIMIT 1})
  or die 'the VACUUM run did not finish';

# every member table's rows and every sequence's value
my $contents_sql = q{
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
  SELECT format('%s count %s', c.relname,
                (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass),
                                                   false, true, '')))[1]::text) AS line
  FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage') AND c.relkind = 'r'
  UNION ALL
  SELECT format('%s value %s', c.relname, s.last_value)
  FROM pg_class c JOIN pg_sequences s ON s.schemaname = 'pgmanage' AND s.sequencename = c.relname
  WHERE c.relnamespace = 'pgmanage'::regnamespace) l};
my $rows_sql = q{
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
  SELECT 'policy ' || (p.*)::text AS line FROM pgm_timeout_policy p
  UNION ALL SELECT 'kill ' || concat_ws(' ', pid, role_name, application_name, limit_kind, action, succeeded) FROM pgm_kill_log
  UNION ALL SELECT 'slow ' || concat_ws(' ', queryid, duration_ms, statement) FROM pgm_slow_queries
  UNION ALL SELECT 'snapshot ' || concat_ws(' ', id, taken_at, reset_detected, entries) FROM pgm_pgss_snapshot
  UNION ALL SELECT 'history ' || concat_ws(' ', snapshot_id, queryid, calls, rows) FROM pgm_pgss_history
  UNION ALL SELECT 'run ' || concat_ws(' ', id, job, kind, status, tables_vacuumed) FROM pgm_job_run
  UNION ALL SELECT 'endpoint ' || concat_ws(' ', name, url, secret) FROM pgm_endpoint
  UNION ALL SELECT 'event ' || concat_ws(' ', id, kind, payload, webhook_id) FROM pgm_event) l};
my $contents = $old->safe_psql('postgres', $contents_sql);
my $rows = $old->safe_psql('postgres', $rows_sql);
unlike($contents, qr/^pgm_(timeout_policy|kill_log|slow_queries|pgss_snapshot|pgss_history|job_run|endpoint|event) count 0$/m,
	'old: the tables the test compares have rows');
my $history_calls = $old->safe_psql('postgres',
	q{SELECT sum(calls) FROM pgm_pgss_history h JOIN pgm_pgss_query q USING (queryid)
	  WHERE q.query LIKE 'SELECT count(*) FROM accounts%'});
cmp_ok($history_calls, '>=', 1, 'old: the history holds the statement');
$old->stop;

# ---- the new cluster, initialized like the old one, pgmanage preloaded
my $new = pgm_node('new', %conf, start => 0);
my $bindir_new = $new->config_data('--bindir');
my $bindir_old = "$ENV{PGM_OLD_INSTALL}/bin";
my @upgrade = ("$bindir_new/pg_upgrade", '--no-sync', '--copy', '--retain',
	'-d', $old->data_dir, '-D', $new->data_dir, '-b', $bindir_old, '-B', $bindir_new,
	'-s', $new->host, '-p', $old->port, '-P', $new->port);
# pg_upgrade writes its logs under the new data directory, and wants a
# writable working directory
chdir $PostgreSQL::Test::Utils::tmp_check;
command_ok([ @upgrade, '--check' ], 'pg_upgrade --check accepts the cluster with pgmanage');
command_ok(\@upgrade, 'pg_upgrade ' . $old_version . ' -> ' . $new->pg_version);
# the logs of the servers pg_upgrade ran (kept by --retain)
my $server_logs = join('', map { slurp_file($_) }
	glob($new->data_dir . '/pg_upgrade_output.d/*/log/pg_upgrade_server*.log'));
like($server_logs, qr/database system is ready to accept connections/, 'the logs of the servers pg_upgrade ran are read');
unlike($server_logs, qr/pgmanage (launcher|worker|sender) started/,
	'pgmanage starts no process in a server of pg_upgrade (binary-upgrade mode)');
like($server_logs, qr/pgmanage: binary-upgrade mode/, '... and says so in its log');
# pg_upgrade writes it in its working directory: pg_stat_statements is
# listed (1.10 of 15 -> 1.11 of 17), pgmanage (the same version) is not
my $update_sql = "$PostgreSQL::Test::Utils::tmp_check/update_extensions.sql";
my $updates = -f $update_sql ? slurp_file($update_sql) : '';
unlike($updates, qr/pgmanage/, 'pg_upgrade does not list pgmanage among the extensions to update');

$new->start;
# what pg_upgrade's update_extensions.sql does (pg_stat_statements of 15 -> 17)
$new->safe_psql('postgres', 'ALTER EXTENSION pg_stat_statements UPDATE');
is($new->safe_psql('postgres', "SELECT extversion || ' ' || extnamespace::regnamespace FROM pg_extension WHERE extname = 'pgmanage'"),
	"$ext_version pgmanage", 'new: the same extension version, in schema pgmanage');
pgm_wait_worker($new);
is($new->safe_psql('postgres', $contents_sql), $contents, 'new: every table has its rows, every sequence its value');
is($new->safe_psql('postgres', $rows_sql), $rows, 'new: the rows are the same (policies, kill log, capture, history, runs, endpoint secret, outbox)');

# the history keeps working: pg_stat_statements is empty after pg_upgrade,
# so the next snapshot sees a reset and counts from zero
$new->safe_psql('postgres', q{
SELECT count(*) FROM accounts WHERE balance > 10;
SELECT count(*) FROM accounts WHERE balance > 10;});
my $snap = $new->safe_psql('postgres', 'SELECT pgm_pgss_snapshot()');
like($snap, qr/^\d+$/, 'new: a pg_stat_statements snapshot is taken');
is($new->safe_psql('postgres', "SELECT reset_detected FROM pgm_pgss_snapshot WHERE id = $snap"), 't',
	'new: the first snapshot after pg_upgrade sees the reset');
is($new->safe_psql('postgres', "SELECT count(*) FROM pgm_pgss_history WHERE snapshot_id = $snap AND calls < 0"), '0',
	'new: no negative delta');
cmp_ok($new->safe_psql('postgres', q{
	SELECT coalesce(sum(calls), 0) FROM pgm_top_queries_between(now() - interval '1 day', now(), n => 100000)
	WHERE query LIKE 'SELECT count(*) FROM accounts%'}), '>', $history_calls,
	'new: pgm_top_queries_between reads the history from before and after the upgrade');
cmp_ok($new->safe_psql('postgres', 'SELECT count(*) FROM pgm_top_queries(n => 5)'), '>=', 1,
	'new: pgm_top_queries reads pg_stat_statements of the new version');

# and the library enforces policies on the new version
$s = pgm_session($new, 'upgrade_app');
pgm_run($s, 'SELECT pg_sleep(30)');
like(pgm_result($s), qr/sqlstate=57014/, 'new: the policy from the old cluster cancels a statement');
pgm_quit($s);

$new->stop;
done_testing();
