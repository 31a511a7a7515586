# The DBA's upgrade path to this tree's version (2.0 and later), in a PostgreSQL installation of the
# test's own (scripts/test.sh prepares it: a copy of the system's, with
# release 1.5 built from git installed; PGM_PGINST):
#
#  1. "dba": 1.5 created from the 1.5 files (its control file puts it in
#     public), data in every table; then the 2.0 files installed over it
#     (make install of this tree), a restart, ALTER EXTENSION pgmanage UPDATE.
#  2. "steps": 1.0 created, updated one version at a time to 1.5 (each
#     version reachable and working), then to 2.0 the same way.
#  3. "fresh": CREATE EXTENSION pgmanage of 2.0.
#
# Both updated databases must hold exactly what the fresh one holds
# (PgmTest::pgm_catalog: members, function definitions, columns, defaults,
# constraints, indexes, triggers, ACLs, config_dump registrations...); the
# DBA's rows and sequence values are all kept, in schema pgmanage, and
# nothing of pgmanage is left in public.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

plan skip_all => $ENV{PGM_PGINST_SKIP} if $ENV{PGM_PGINST_SKIP};
plan skip_all => 'no private PostgreSQL installation with release 1.5 (PGM_PGINST, PGM_SRC): run scripts/test.sh'
  unless $ENV{PGM_PGINST} && -d $ENV{PGM_PGINST} && $ENV{PGM_SRC};

my $pg_config = $ENV{PGM_PG_CONFIG} // 'pg_config';
# the version this tree installs (pgmanage.control)
my ($ver) = slurp_file("$ENV{PGM_SRC}/pgmanage.control") =~ /^default_version = '([^']+)'/m;
my ($bindir, $sharedir) = map { chomp; $_ } (`$pg_config --bindir`, `$pg_config --sharedir`);
my $inst = $ENV{PGM_PGINST} . dirname($bindir);    # .../usr/lib/postgresql/15
my $control = "$ENV{PGM_PGINST}$sharedir/extension/pgmanage.control";
like(slurp_file($control), qr/^default_version = '1\.5'/m, 'the private installation holds release 1.5');

# the worker runs, but changes nothing while the rows are compared
my %o = (install_path => $inst, conf => q{
pgmanage.pgss_snapshot_interval = 0
pgmanage.disk_check_interval = 0
pgmanage.enable_jobs = off
});

# ---- 1. the DBA's 1.5, with data in every table
my $dba = pgm_node('dba', %o);
is($dba->safe_psql('postgres', q{SELECT extversion || ' ' || extnamespace::regnamespace
	FROM pg_extension WHERE extname = 'pgmanage'}), '1.5 public', 'dba: 1.5 in public');
my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
$dba->safe_psql('postgres', qq{
CREATE ROLE app LOGIN;
CREATE ROLE auditor;
GRANT SELECT ON pgm_kill_log TO auditor;
INSERT INTO pgm_timeout_policy (role_name, statement_timeout, comment)
VALUES ('app', '5 min', 'app: five minutes');
INSERT INTO pgm_timeout_policy (application_name, idle_in_transaction_timeout, action, enabled)
VALUES ('batch', '10 min', 'terminate', false);
INSERT INTO pgm_timeout_policy (database_name, client_addr, transaction_timeout, exempt_superusers)
VALUES ('postgres', '10.0.0.0/8', '1 hour', false);
-- stored, never sent: disabled, loopback only
INSERT INTO pgm_endpoint (name, url, secret, event_kinds, headers, enabled, max_attempts, comment)
VALUES ('ops', 'http://127.0.0.1:9/hook', '$secret', '{backup,job_failed}',
        '{"X-Team": "dba"}', false, 5, 'stored only');
INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('generated_secret', 'https://127.0.0.1:9/x', false);
SELECT pgm_schedule_vacuum('nightly vacuum', '0 3 * * *', schema_name => 'public');
SELECT pgm_schedule_backup('weekly backup', '0 1 * * 0', endpoint => 'ops', label => 'full');
UPDATE pgm_job SET enabled = false WHERE name = 'nightly vacuum';
INSERT INTO pgm_job_run (job, kind, database_name, trigger, scheduled_for, started, finished, status,
                         tables_considered, tables_vacuumed, dead_tuples_removed, details)
VALUES ('nightly vacuum', 'vacuum', 'postgres', 'schedule', now() - interval '1 day',
        now() - interval '1 day', now() - interval '1 day' + interval '1 min', 'succeeded', 3, 1, 1000,
        '[{"relation": "public.t", "outcome": "vacuumed"}]'),
       ('weekly backup', 'backup', 'postgres', 'manual', NULL, now() - interval '2 hours',
        now() - interval '2 hours', 'failed', 0, 0, 0, '[]');
UPDATE pgm_job_run SET error = 'no endpoint answered' WHERE status = 'failed';
INSERT INTO pgm_kill_log (logged_at, pid, role_name, database_name, application_name, client_addr, state,
                          duration, query, query_id, policy_id, limit_kind, action, succeeded, detail, source)
VALUES (now() - interval '1 hour', 4242, 'app', 'postgres', 'psql', '10.1.2.3', 'active', '6 min',
        'SELECT pg_sleep(600)', 77, 1, 'statement_timeout', 'cancel', true, NULL, 'policy'),
       (now() - interval '30 min', 4343, 'app', 'postgres', 'batch', NULL, 'idle in transaction', '11 min',
        'BEGIN', NULL, 2, 'idle_in_transaction_timeout', 'terminate', false, 'gone', 'policy');
INSERT INTO pgm_slow_queries (captured_at, duration_ms, queryid, role_name, database_name, application_name,
                              pid, query, query_normalized, statement, plan, plan_format, rows,
                              nesting_level, utility)
VALUES (now() - interval '10 min', 1234.5, 99, 'app', 'postgres', 'psql', 4444, 'SELECT \$1', true,
        'SELECT 1', 'Result', 'text', 1, 0, false);
INSERT INTO pgm_pgss_snapshot (taken_at, prev_taken_at, reset_detected, entries, delta_rows)
VALUES (now() - interval '2 hours', NULL, false, 1, 0), (now() - interval '1 hour', now() - interval '2 hours', false, 1, 1);
INSERT INTO pgm_pgss_query VALUES (99, 'SELECT \$1', now());
INSERT INTO pgm_pgss_history SELECT max(id), 10, 5, 99, true, false, 3, 0, 1.5, 0, 3,
    1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100 FROM pgm_pgss_snapshot;
INSERT INTO pgm_pgss_last SELECT max(id), 10, 5, 99, true, 3, 0, 1.5, 0, 3,
    1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0.1, 0.9 FROM pgm_pgss_snapshot;
INSERT INTO pgm_event (kind, payload) VALUES ('backup', '{"label": "old"}'), ('job_failed', '{"run_id": 2}');
INSERT INTO pgm_delivery (event_id, endpoint, status, attempts, last_http_status, delivered_at)
SELECT id, 'ops', 'delivered', 1, 200, now() FROM pgm_event WHERE kind = 'backup';
INSERT INTO pgm_delivery (event_id, endpoint, status, attempts, last_error)
SELECT id, 'ops', 'pending', 3, 'connection refused' FROM pgm_event WHERE kind = 'job_failed';
INSERT INTO pgm_alert_state (name, state, detail) VALUES ('disk', 'ok', '{"used_pct": 12}');
});

# every member table: its columns, row count and rows; every sequence's value
my @tables = split /\n/, $dba->safe_psql('postgres', q{
	SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
	  AND d.deptype = 'e' AND c.relkind = 'r' ORDER BY 1});
my @sequences = split /\n/, $dba->safe_psql('postgres', q{
	SELECT c.relname FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
	WHERE c.relkind = 'S' AND d.deptype IN ('e', 'a')
	  AND (d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
	       OR d.refobjid IN (SELECT objid FROM pg_depend WHERE deptype = 'e'
	                         AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')))
	GROUP BY 1 ORDER BY 1});
cmp_ok(scalar(@tables), '>=', 13, 'dba: ' . scalar(@tables) . ' tables: ' . join(' ', @tables));
my %columns = map {
	my $t = $_;
	($t => $dba->safe_psql('postgres', qq{
		SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = 'public.$t'::regclass AND attnum > 0 AND NOT attisdropped}))
} @tables;

sub contents
{
	my ($node, $schema) = @_;
	my @lines;
	for my $t (@tables)
	{
		push @lines, "$t count " . $node->safe_psql('postgres', "SELECT count(*) FROM $schema.$t");
		push @lines, map { "$t row $_" } split /\n/, $node->safe_psql('postgres',
			"SELECT ($columns{$t})::text FROM $schema.$t ORDER BY 1");
	}
	push @lines, "$_ value " . $node->safe_psql('postgres',
		"SELECT last_value || ' ' || is_called FROM $schema.$_") for @sequences;
	return \@lines;
}
my $before = contents($dba, 'public');
for my $t (@tables)
{
	isnt((grep { $_ eq "$t count 0" } @$before)[0], "$t count 0", "dba: $t has rows");
}

# ---- 2. step by step from 1.0, each version working
my $steps = pgm_node('steps', %o, extension => 0);
my %works = (
	'1.0' => q{SELECT count(*) >= 0 FROM pgm_size_report();
		SELECT count(*) > 0 FROM pgm_database_sizes()},
	'1.1' => q{INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('steps', '1 min');
		SELECT count(*) FROM pgm_status()},
	'1.2' => q{SELECT count(*) FROM pgm_slow_query_stats();
		SELECT count(*) = 0 FROM pgm_slow_queries},
	'1.3' => qq{INSERT INTO pgm_endpoint (name, url, secret, enabled) VALUES ('steps_hook', 'http://127.0.0.1:9/', '$secret', false) ON CONFLICT (name) DO NOTHING;
		SELECT length(pgm_webhook_signature('$secret', 'msg_1', 1, '{}')) > 0},
	'1.4' => q{SELECT pgm_schedule_vacuum('steps vacuum', '0 3 * * *') > now();
		SELECT count(*) FROM pgm_jobs},
	'1.5' => q{SELECT pgm_schedule_backup('steps backup', '0 1 * * 0', endpoint => 'steps_hook') > now();
		SELECT count(*) FROM pgm_jobs WHERE kind = 'backup'},
);
$steps->safe_psql('postgres', "CREATE EXTENSION pgmanage VERSION '1.0'");
for my $v (qw(1.0 1.1 1.2 1.3 1.4 1.5))
{
	$steps->safe_psql('postgres', "ALTER EXTENSION pgmanage UPDATE TO '$v'") unless $v eq '1.0';
	is($steps->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pgmanage'"),
		$v, "steps: version $v reached");
	my ($rc, $out, $err) = $steps->psql('postgres', $works{$v}, on_error_stop => 1);
	ok($rc == 0 && $out !~ /^f$/m, "steps: $v works") or diag("$out\n$err");
}

# ---- the 2.0 files over 1.5 (this tree, already built), then a restart
my $make = `make -s -C '$ENV{PGM_SRC}' install PG_CONFIG='$pg_config' DESTDIR='$ENV{PGM_PGINST}' 2>&1`;
is($?, 0, 'make install of this tree into the private installation') or diag($make);
like(slurp_file($control), qr/^default_version = '\Q$ver\E'/m, "the private installation now holds $ver");
$_->restart for ($dba, $steps);
is($dba->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pgmanage'"), '1.5',
	'dba: still 1.5 after the restart with the 2.0 library');

# ---- the updates
$dba->safe_psql('postgres', 'ALTER EXTENSION pgmanage UPDATE');
$steps->safe_psql('postgres', "ALTER EXTENSION pgmanage UPDATE TO '2.0'");
is($steps->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pgmanage'"), '2.0',
	'steps: version 2.0 reached');
$steps->safe_psql('postgres', "ALTER EXTENSION pgmanage UPDATE TO '$ver'");
for my $n ($dba, $steps)
{
	is($n->safe_psql('postgres', q{SELECT extversion || ' ' || extnamespace::regnamespace
		FROM pg_extension WHERE extname = 'pgmanage'}), "$ver pgmanage", $n->name . ": $ver in pgmanage");
}
$steps->safe_psql('postgres', $works{$_}) for sort keys %works;
pass('steps: what worked in each version still works in 2.0');

# ---- 3. a fresh 2.0, and the comparison
my $fresh = pgm_node('fresh', %o);
pgm_same_lines(pgm_catalog($steps), pgm_catalog($fresh),
	'steps (1.0 updated one version at a time) = fresh 2.0', 'steps', 'fresh');
# the DBA's own grant, given on the fresh install too
$fresh->safe_psql('postgres', 'CREATE ROLE auditor; GRANT SELECT ON pgm_kill_log TO auditor');
pgm_same_lines(pgm_catalog($dba), pgm_catalog($fresh), 'dba (1.5 in public, updated) = fresh 2.0',
	'dba', 'fresh');

# ---- the DBA's rows: all kept, in pgmanage; nothing left in public
pgm_same_lines(contents($dba, 'pgmanage'), $before, 'dba: every row and sequence value kept',
	'after the update', 'before');
is($dba->safe_psql('postgres', "SELECT secret FROM pgmanage.pgm_endpoint WHERE name = 'ops'"),
	$secret, "dba: the endpoint's secret is kept");
is($dba->safe_psql('postgres', q{
	SELECT string_agg(pg_describe_object(classid, objid, 0), ', ')
	FROM pg_depend d, pg_identify_object(d.classid, d.objid, 0) i
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
	  AND i.schema IS DISTINCT FROM 'pgmanage' AND i.type NOT IN ('event trigger')}), '',
	'dba: every member is in schema pgmanage');
is($dba->safe_psql('postgres', q{
	SELECT string_agg(o, ', ') FROM (
	  SELECT 'relation ' || relname AS o FROM pg_class WHERE relnamespace = 'public'::regnamespace
	  UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
	  UNION ALL SELECT 'type ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace) s}),
	'', 'dba: nothing left in public');
is($dba->safe_psql('postgres', q{SELECT has_schema_privilege('auditor', 'pgmanage', 'USAGE')
	|| ' ' || has_table_privilege('auditor', 'pgmanage.pgm_kill_log', 'SELECT')}), 'false true',
	"dba: the DBA's own GRANT on a table is kept");

# ---- and the 2.0 library works with the updated database
$dba->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout, exempt_superusers)
	VALUES ('after_upgrade', '1 s', false)});
pgm_wait_worker($dba);
pgm_wait_policies($dba, 3);    # 'app', 10.0.0.0/8 and this one (enabled)
my $s = pgm_session($dba, 'after_upgrade');
pgm_run($s, 'SELECT pg_sleep(30)');
like(pgm_result($s), qr/sqlstate=57014/, 'dba: a policy created after the update cancels a statement');
pgm_quit($s);

$_->stop for ($dba, $steps, $fresh);
done_testing();
