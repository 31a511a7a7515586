# A run's result is only ever written to the run that produced it.  Run ids
# start again after DROP EXTENSION and CREATE EXTENSION: a VACUUM run still
# going from the dropped extension must not write its progress or outcome
# into the new run that got the same id.  It is cancelled instead, and its
# result is not recorded anywhere.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_identity', conf => $vacuum_conf);
$node->safe_psql('postgres', q{
CREATE TABLE slow (id int, pad text);
INSERT INTO slow SELECT g, repeat('p', 200) FROM generate_series(1, 200000) g;
DELETE FROM slow WHERE id % 2 = 0;
CREATE TABLE clean (id int);
});

# run 1 of the first extension: slow (cost-based delay)
my $old = $node->safe_psql('postgres', q{
	SELECT pgm_vacuum_now(tables => ARRAY['slow'], strategy => 'all', cost_delay => 20, cost_limit => 1)});
$node->poll_query_until('postgres',
	"SELECT status = 'running' AND current_table = 'public.slow' FROM pgm_job_run WHERE id = $old")
  or die 'the slow run did not start';
my $old_pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum'});

# the extension dropped and created again: run ids start again
$node->safe_psql('postgres', 'DROP EXTENSION pgmanage');
$node->safe_psql('postgres', 'CREATE EXTENSION pgmanage');
pgm_wait_worker($node);
my $new = $node->safe_psql('postgres', q{
	SELECT pgm_vacuum_now(tables => ARRAY['clean'], strategy => 'all')});
is($new, $old, 'the new run got the id of the old one');
pgm_wait_run($node, $new, '^(succeeded|failed|cancelled)$');

# the old run is cancelled rather than left to write into the new row
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $old_pid")
  or die 'the old VACUUM worker is still going';
pass('the old run was stopped');
# one more pass of the worker after the old run ended
$node->safe_psql('postgres', q{SELECT pg_sleep(1)});
is($node->safe_psql('postgres', qq{
	SELECT status, tables_considered, coalesce(current_table, '-'),
	       (SELECT string_agg(e->>'relation', ',') FROM jsonb_array_elements(details) e)
	FROM pgm_job_run WHERE id = $new}),
	'succeeded|1|-|public.clean', 'the new run has only its own result');
ok($node->log_contains("cancelling vacuum run $old \\(pid $old_pid\\): it was started by a pgmanage extension that was dropped since"),
	'the log says why the old run was cancelled');

$node->stop;
done_testing();
