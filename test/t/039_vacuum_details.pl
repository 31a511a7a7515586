# A run's per-table details over more tables than the VACUUM worker's ring
# holds (128): while the run goes they are appended to pgm_job_run_detail
# batch by batch (pgm_job_run.details stays as it was); when it ends,
# details holds one entry per table, in the order handled, none lost or
# duplicated, and the run's detail rows are gone; the same when the run
# ends another way (its VACUUM worker terminated).  And the VACUUM worker's
# own writes reach the statistics while it runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $ntables = 300;
my $node = pgm_node('vacuum_details', conf => $vacuum_conf);

# $ntables tables with dead tuples in schema s, and s.zlast, clean, which
# strategy 'all' handles last (no dead space, nothing to analyze)
$node->safe_psql('postgres', qq{
CREATE SCHEMA s;
DO \$\$
BEGIN
    FOR i IN 1..$ntables LOOP
        EXECUTE format('CREATE TABLE s.t%s (id int PRIMARY KEY, pad text)', lpad(i::text, 3, '0'));
        EXECUTE format('INSERT INTO s.t%s SELECT g, repeat(''p'', 50) FROM generate_series(1, 40) g',
                       lpad(i::text, 3, '0'));
    END LOOP;
END
\$\$;
CREATE TABLE s.zlast (id int PRIMARY KEY, pad text);
INSERT INTO s.zlast SELECT g, 'x' FROM generate_series(1, 100) g;
});
$node->safe_psql('postgres', 'ANALYZE');
$node->safe_psql('postgres', qq{
DO \$\$
BEGIN
    FOR i IN 1..$ntables LOOP
        EXECUTE format('DELETE FROM s.t%s WHERE id %% 4 = 0', lpad(i::text, 3, '0'));
    END LOOP;
END
\$\$;
});

# s.zlast held exclusively: the run waits on it once every other table is done
sub start_blocked_run
{
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN; LOCK TABLE s.zlast IN ACCESS EXCLUSIVE MODE');
	my $run = $node->safe_psql('postgres', q{
		SELECT pgm_vacuum_now(schema_name => 's', strategy => 'all',
		                      skip_locked => false, lock_timeout => '300s')});
	$node->poll_query_until('postgres', qq{
		SELECT r.current_table = 's.zlast'
		       AND (SELECT sum(jsonb_array_length(d.entries)) FROM pgm_job_run_detail d
		            WHERE d.run_id = r.id) = $ntables
		FROM pgm_job_run r WHERE r.id = $run})
	  or die 'the run did not reach s.zlast with its results drained: '
	  . $node->safe_psql('postgres', "SELECT status, current_table, error FROM pgm_job_run WHERE id = $run");
	return ($holder, $run);
}

# what the VACUUM worker writes (here pg_statistic, by VACUUM (ANALYZE)) is
# in the statistics while it runs, as a backend's is when it goes idle
my $stat_writes = q{SELECT n_tup_ins + n_tup_upd FROM pg_stat_sys_tables WHERE relid = 'pg_statistic'::regclass};
my $writes_before = $node->safe_psql('postgres', $stat_writes);
my ($holder, $run) = start_blocked_run();
ok($node->poll_query_until('postgres', "SELECT ($stat_writes) > $writes_before"),
	'the VACUUM worker reports its statistics while it runs');
is($node->safe_psql('postgres', "SELECT status || ' ' || details::text FROM pgm_job_run WHERE id = $run"),
	'running []', 'while the run goes, details is not rewritten');
my $batches = $node->safe_psql('postgres', "SELECT count(*) FROM pgm_job_run_detail WHERE run_id = $run");
ok($batches >= 3, "the results came in batches ($batches rows of pgm_job_run_detail)");
my $during = $node->safe_psql('postgres', qq{
	SELECT string_agg(e->>'relation', ',' ORDER BY d.seq, x.n)
	FROM pgm_job_run_detail d, jsonb_array_elements(d.entries) WITH ORDINALITY x(e, n)
	WHERE d.run_id = $run});
is($node->safe_psql('postgres',
	"SELECT min(seq) = 1 AND max(seq) = count(*) FROM pgm_job_run_detail WHERE run_id = $run"),
	't', 'batches numbered 1, 2, ... without gaps');

$holder->query_safe('COMMIT');
$holder->quit;
pgm_wait_run($node, $run, '^(succeeded|failed|cancelled)$');
is(pgm_run_field($node, $run, 'status'), 'succeeded', 'the run succeeded');

my $expected = join(',', (map { sprintf('s.t%03d', $_) } 1 .. $ntables), 's.zlast');
is($node->safe_psql('postgres', qq{
	SELECT string_agg(e->>'relation', ',' ORDER BY e->>'relation')
	FROM pgm_job_run r, jsonb_array_elements(r.details) e WHERE r.id = $run}),
	$expected, 'one details entry per table: none lost, none duplicated');
is($node->safe_psql('postgres', qq{
	SELECT string_agg(e->>'relation', ',' ORDER BY n) FILTER (WHERE n <= $ntables)
	       || ' ' || (array_agg(e->>'relation' ORDER BY n DESC))[1]
	FROM pgm_job_run r, jsonb_array_elements(r.details) WITH ORDINALITY x(e, n) WHERE r.id = $run}),
	"$during s.zlast", 'details in the order the tables were handled, s.zlast last');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE (e->>'started')::timestamptz < prev)
	FROM (SELECT e, lag((e->>'finished')::timestamptz) OVER (ORDER BY n) AS prev
	      FROM pgm_job_run r, jsonb_array_elements(r.details) WITH ORDINALITY x(e, n)
	      WHERE r.id = $run) s}),
	'0', 'each entry started after the one before it finished');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE e->>'outcome' = 'done' AND e->>'action' = 'vacuum')
	FROM pgm_job_run r, jsonb_array_elements(r.details) e WHERE r.id = $run}),
	$ntables + 1, 'every entry is a VACUUM done');
is(pgm_run_field($node, $run, 'tables_vacuumed'), $ntables + 1, 'the counters agree');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_job_run_detail WHERE run_id = $run"),
	'0', 'the run\'s detail rows are gone');

# a run that ends another way: its VACUUM worker terminated while waiting
# on s.zlast; the run is marked failed and still gets what it had done
my $run2;
($holder, $run2) = start_blocked_run();
my $pid = pgm_run_field($node, $run2, 'pid');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
pgm_wait_run($node, $run2, '^(succeeded|failed|cancelled)$');
$holder->query_safe('COMMIT');
$holder->quit;
is(pgm_run_field($node, $run2, 'status'), 'failed', 'the terminated run failed');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE e->>'outcome' = 'done') || ' ' || count(DISTINCT e->>'relation')
	       || ' ' || string_agg(e->>'relation' || ' ' || (e->>'outcome'), ',') FILTER (WHERE e->>'outcome' <> 'done')
	FROM pgm_job_run r, jsonb_array_elements(r.details) e WHERE r.id = $run2}),
	"$ntables " . ($ntables + 1) . " s.zlast failed",
	'its details hold the tables it had done, once each, and the one it was on');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_job_run_detail'),
	'0', 'no detail rows left');

# retention: deleting a run deletes its detail rows (ON DELETE CASCADE)
$node->safe_psql('postgres', qq{INSERT INTO pgm_job_run_detail VALUES ($run, 1, '[]')});
$node->safe_psql('postgres', "DELETE FROM pgm_job_run WHERE id = $run");
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_job_run_detail'),
	'0', 'a deleted run takes its detail rows with it');

$node->stop;
done_testing();
