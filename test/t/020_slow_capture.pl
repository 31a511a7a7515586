# Slow-query capture: a slow statement reaches pgm_slow_queries (with its
# plan) and the log in PostgreSQL's format, a fast one does not; nested and
# utility statements on and off; a parallel query is captured once; both
# orders of shared_preload_libraries with pg_stat_statements; without
# pg_stat_statements, the literal text and pgm_top_queries' hint.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('slow', conf => q{
pgmanage.pgss_snapshot_interval = 0
max_parallel_workers = 4
});
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE FUNCTION slow_inner(marker text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT pg_sleep(0.25) /* %s-inner */', marker);
END $$;
});

# rows of pgm_slow_queries whose query contains a marker
sub rows_with
{
	my ($marker, $cols) = @_;
	$cols //= 'count(*)';
	return $node->safe_psql('postgres',
		"SELECT $cols FROM pgm_slow_queries WHERE statement LIKE '%$marker%'");
}

sub wait_for_marker
{
	my ($marker) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pgm_slow_queries WHERE statement LIKE '%$marker%'");
}

# 1. a slow statement, with its plan; a fast one before it
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 200;
SET pgmanage.log_plan = text;
SELECT 1 /* fast-marker */;
SELECT pg_sleep(0.3) /* slow-marker */;
});
ok(wait_for_marker('slow-marker'), 'slow statement reaches pgm_slow_queries');
is(rows_with('slow-marker',
		"duration_ms >= 300, queryid IS NOT NULL, query_normalized, plan_format, rows, nesting_level, utility, role_name, database_name, application_name"),
	't|t|t|text|1|0|f|' . getpwuid($<) . '|postgres|020_slow_capture.pl',
	'its row: duration, query id, normalized text, plan format, rows, level, names');
is(rows_with('slow-marker', 'query, statement'),
	'SELECT pg_sleep($1) /* slow-marker */|SELECT pg_sleep(0.3) /* slow-marker */',
	'query is the normalized text of pg_stat_statements, statement the literal one');
# (18 prints actual rows with two decimals: rows=1.00)
like(rows_with('slow-marker', 'plan'), qr/^Result  \(cost=[0-9.]+ rows=1 width=4\) \(actual rows=1(?:\.00)? loops=1\)$/,
	'plan with actual rows and no timing');
# the drain delay (goal: under 2 s) is reported, not asserted: no timing
# assertions in the suite (see docs/benchmarks.md for measured figures)
note('drain delay: ' . rows_with('slow-marker', "stored_at - captured_at"));
is(rows_with('fast-marker'), '0', 'fast statement not captured');

my $log = slurp_file($node->logfile, $log_offset);
like($log, qr/LOG:  duration: \d+\.\d{3} ms  statement: SELECT pg_sleep\(0\.3\) \/\* slow-marker \*\/\n/,
	'log line in the form of log_min_duration_statement');
like($log, qr/LOG:  duration: \d+\.\d{3} ms  plan:\n\s+Result  \(cost=[^\n]*\(actual rows=1(?:\.00)? loops=1\)\n/,
	'plan logged after it, as auto_explain does');
unlike($log, qr/duration: [^\n]*fast-marker/, 'fast statement not logged');
unlike($log, qr/STATEMENT:.*slow-marker/, 'statement not repeated as STATEMENT:');

# 2. nested statements off, then on
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 200;
SELECT slow_inner('nest-off') /* outer-off */;
});
ok(wait_for_marker('outer-off'), 'outer statement captured');
is(rows_with('nest-off-inner'), '0', 'nested statement not captured by default');

$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 200;
SET pgmanage.log_nested_statements = on;
SELECT slow_inner('nest-on') /* outer-on */;
});
ok(wait_for_marker('outer-on'), 'outer statement captured with nesting on');
is(rows_with('nest-on-inner', 'nesting_level'), '1',
	'nested statement captured once, at level 1, with log_nested_statements');

# 3. utility statements: off by default, and their nested statements too
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 200;
DO $$BEGIN PERFORM pg_sleep(0.25); END$$ /* do-off */;
SET pgmanage.log_utility = on;
DO $$BEGIN PERFORM pg_sleep(0.25); END$$ /* do-on */;
});
ok(wait_for_marker('do-on'), 'utility statement captured with log_utility');
is(rows_with('do-on', 'utility'), 't', 'marked as utility');
is(rows_with('do-off'), '0', 'utility statement not captured without log_utility');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pgm_slow_queries WHERE statement = 'SELECT pg_sleep(0.25)'"),
	'0', 'statements inside DO count as nested');

# utility statements with a row count, and sampling
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 0;
SET pgmanage.log_utility = on;
COPY (SELECT generate_series(1, 1000) /* copy-marker */) TO '/dev/null';
VACUUM pg_class /* vacuum-marker */;
SET pgmanage.sample_rate = 0;
SELECT pg_sleep(0.01) /* unsampled-marker */;
RESET pgmanage.sample_rate;
SELECT 1 /* after-sampling */;
});
ok(wait_for_marker('after-sampling'), 'statements after the utility ones drained');
is(rows_with('copy-marker', 'utility, rows'), 't|1000', 'COPY captured with its row count');
is(rows_with('vacuum-marker', 'utility'), 't', 'VACUUM captured');
is(rows_with('unsampled-marker'), '0', 'sample_rate = 0 captures nothing');

# 4. a parallel query is captured once, by its leader
$node->safe_psql('postgres', q{
CREATE TABLE par AS SELECT g AS id FROM generate_series(1, 100000) g;
ANALYZE par;
});
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 0;
SET pgmanage.log_plan = text;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) FROM par /* par-marker */;
SELECT 1 /* after-par */;
});
ok(wait_for_marker('after-par'), 'statements after the parallel query drained');
is(rows_with('par-marker'), '1', 'parallel query captured once');
like(rows_with('par-marker', 'plan'), qr/Gather.*Workers Launched: \d/s,
	'its plan shows the Gather and its workers');

# 4b. secrets are never stored literally, in the table nor in the log
# (passwords "sekrit-N" of CREATE/ALTER ROLE, pgm_endpoint's secrets (valid
# ones: whsec_ and the base64 of "sekrit-N" three times, so c2Vrcml0...), the arguments of
# pgm_webhook_signature, and the constants of plans that touch pgm_endpoint,
# directly or through a view), and other roles' texts are read through
# pgm_slow_queries_visible under pg_stat_activity's rules
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{
CREATE VIEW ep_view AS SELECT * FROM pgmanage.pgm_endpoint;
CREATE ROLE pgm_redact_watcher IN ROLE pg_monitor;
CREATE ROLE pgm_redact_plain;
GRANT USAGE ON SCHEMA pgmanage TO pgm_redact_plain;
});
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 0;
SET pgmanage.log_utility = on;
SET pgmanage.log_nested_statements = on;
SET pgmanage.log_plan = text;
CREATE ROLE pgm_secret_role PASSWORD 'sekrit-1' /* redact-1 */;
ALTER ROLE pgm_secret_role ENCRYPTED PASSWORD 'sekrit-2' /* redact-2 */;
ALTER ROLE pgm_secret_role WITH LOGIN PASSWORD $q$sekrit-3$q$ VALID UNTIL 'infinity' /* redact-3 */;
INSERT INTO pgm_endpoint (name, url, secret, enabled)
    VALUES ('redact-ep', 'http://127.0.0.1:9/', 'whsec_c2Vrcml0LTRzZWtyaXQtNHNla3JpdC00', false) /* redact-4 */;
UPDATE pgm_endpoint SET secret = E'whsec_c2Vrcml0LTVzZWtyaXQtNXNla3JpdC01' WHERE name = 'redact-ep' /* redact-5 */;
SELECT pgm_webhook_signature('whsec_c2Vrcml0LTZzZWtyaXQtNnNla3JpdC02', 'msg', 1, 'body') IS NOT NULL /* redact-6 */;
DO $$BEGIN EXECUTE 'ALTER ROLE pgm_secret_role PASSWORD ''sekrit-7'''; END$$ /* redact-7 */;
SELECT name FROM pgm_endpoint WHERE secret = 'sekrit-8' /* redact-8 */;
SELECT name FROM ep_view WHERE secret = 'sekrit-9' /* redact-9 */;
SET pgmanage.log_plan = json;
SELECT name FROM ep_view WHERE secret = 'sekrit-10' /* redact-10 */;
SELECT 1 /* redact-done */;
});
ok(wait_for_marker('redact-done'), 'statements with secrets drained');
is($node->safe_psql('postgres', q{
	SELECT string_agg(substring(statement from 'redact-[0-9]+'), ',' ORDER BY id)
	FROM pgm_slow_queries WHERE statement ~ 'redact-[0-9]+' AND nesting_level = 0}),
	join(',', map { "redact-$_" } 1 .. 10), 'every statement with a secret was captured');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgm_slow_queries
	WHERE statement || query || coalesce(plan, '') ~ '(sekrit|c2Vrcml0)'}),
	'0', 'no secret in statement, query or plan');
is($node->safe_psql('postgres', q{
	SELECT statement FROM pgm_slow_queries WHERE statement LIKE '%redact-3 %'}),
	q{ALTER ROLE pgm_secret_role WITH LOGIN PASSWORD '<redacted>' VALID UNTIL 'infinity' /* redact-3 */},
	'only the password is replaced in ALTER ROLE');
is($node->safe_psql('postgres', q{
	SELECT statement FROM pgm_slow_queries WHERE statement LIKE '%redact-6 %'}),
	q{SELECT pgm_webhook_signature('<redacted>', '<redacted>', 1, '<redacted>') IS NOT NULL /* redact-6 */},
	'every string constant of a statement naming pgm_webhook_signature');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgm_slow_queries
	WHERE statement LIKE 'ALTER ROLE pgm_secret_role PASSWORD %' AND nesting_level = 1}),
	'1', 'the nested ALTER ROLE of the DO block captured (redacted)');
like($node->safe_psql('postgres', q{
	SELECT plan FROM pgm_slow_queries WHERE statement LIKE '%redact-9 %'}),
	qr/Filter: \(secret = '<redacted>'::text\)/,
	'constants of a plan reading pgm_endpoint through a view redacted');
is($node->safe_psql('postgres', q{
	SELECT (plan::jsonb) IS NOT NULL FROM pgm_slow_queries WHERE statement LIKE '%redact-10 %'}),
	't', 'a redacted JSON plan is still JSON');
# pgmanage's lines of the log: "duration: ... statement:" and "plan:" with the
# plan's lines and the CONTEXT after them (the TAP cluster's log_statement =
# all logs the statements literally too: that is PostgreSQL's own logging)
my ($pgm_lines, $in) = ('', 0);
for my $line (split /\n/, slurp_file($node->logfile, $log_offset))
{
	if ($line =~ /duration: [\d.]+ ms  (statement|plan):/) { $in = 1; }
	elsif ($line =~ /^\d{4}-\d\d-\d\d / && $line !~ / CONTEXT:  /) { $in = 0; }	# the next log entry
	$pgm_lines .= "$line\n" if $in;
}
like($pgm_lines, qr/statement: ALTER ROLE pgm_secret_role ENCRYPTED PASSWORD '<redacted>' \/\* redact-2 \*\//,
	'the log line is redacted too');
like($pgm_lines, qr/Filter: \(secret = '<redacted>'::text\)/, 'and the logged plan');
unlike($pgm_lines, qr/sekrit|c2Vrcml0/, 'no secret in the lines pgmanage logs');

# as a pg_monitor member: no access to the table, every text (redacted)
# through the view; as a plain role: others' texts hidden
my ($r_ret, $r_out, $r_err) = $node->psql('postgres',
	'SET ROLE pgm_redact_watcher; SELECT count(*) FROM pgm_slow_queries');
like($r_err, qr/permission denied for table pgm_slow_queries/, 'pg_monitor cannot read the table');
is($node->safe_psql('postgres', q{
	SET ROLE pgm_redact_watcher;
	SELECT statement FROM pgmanage.pgm_slow_queries_visible WHERE statement LIKE '%redact-2 %'}),
	q{ALTER ROLE pgm_secret_role ENCRYPTED PASSWORD '<redacted>' /* redact-2 */},
	'pg_monitor reads other roles\' statements through the view, redacted');
is($node->safe_psql('postgres', q{
	SET ROLE pgm_redact_plain;
	SELECT count(*) FILTER (WHERE statement = '<insufficient privilege>' AND plan IS NULL
	                        AND query = '<insufficient privilege>'),
	       count(*) FILTER (WHERE statement <> '<insufficient privilege>')
	FROM pgmanage.pgm_slow_queries_visible}),
	$node->safe_psql('postgres', 'SELECT count(*) FROM pgm_slow_queries') . '|0',
	'a plain role sees none of the other roles\' texts');
$node->safe_psql('postgres', q{
DELETE FROM pgm_endpoint WHERE name = 'redact-ep';
DROP VIEW ep_view;
DROP ROLE pgm_secret_role;
});

# 5. the other order of shared_preload_libraries
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pgmanage, pg_stat_statements'");
$node->restart;
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 200;
SELECT 2 AS order2_marker, pg_sleep(0.25);
});
ok(wait_for_marker('order2_marker'), 'captured with pgmanage loaded first');
is(rows_with('order2_marker', 'query'), 'SELECT $1 AS order2_marker, pg_sleep($2)',
	'normalized text found');
is($node->safe_psql('postgres',
		"SELECT calls FROM pg_stat_statements WHERE query LIKE '%order2_marker%'"),
	'1', 'pg_stat_statements still counts the statement once');

# 6. without pg_stat_statements: literal text, and the hint of pgm_top_queries
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgmanage'");
$node->restart;
$node->safe_psql('postgres', q{
SET pgmanage.log_min_duration = 200;
SELECT pg_sleep(0.25) /* nopgss-marker */;
});
ok(wait_for_marker('nopgss-marker'), 'captured without pg_stat_statements');
is(rows_with('nopgss-marker', 'query, query_normalized, queryid IS NULL'),
	'SELECT pg_sleep(0.25) /* nopgss-marker */|f|t', 'literal text, no query id');
my ($ret, $out, $err) = $node->psql('postgres',
	'\set VERBOSITY verbose' . "\nSELECT * FROM pgm_top_queries()");
like($err, qr/ERROR:  55000: pg_stat_statements is not loaded through shared_preload_libraries/,
	'pgm_top_queries: 55000 when pg_stat_statements is not preloaded');
like($err, qr/HINT:  Add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf/,
	'the hint names the setting to add');

$node->stop;
done_testing();
