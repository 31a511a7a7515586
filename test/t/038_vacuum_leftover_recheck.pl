# Invalid leftovers of an interrupted REINDEX CONCURRENTLY (_ccnew, _ccold)
# are dropped only after re-checking, by OID, that they are still invalid
# leftovers of the table: an index that took a leftover's name while an
# earlier DROP INDEX CONCURRENTLY waited is left alone.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_leftovers', conf => $vacuum_conf);
$node->safe_psql('postgres', q{
CREATE TABLE t (id int, v int);
INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 1000) g;
CREATE TABLE t2 (id int);
CREATE INDEX t2_idx ON t2 (id);
});
# two invalid leftovers: a failed CREATE UNIQUE INDEX CONCURRENTLY leaves its index invalid
$node->psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY t_a_ccnew ON t (v)');
$node->psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY t_b_ccnew ON t (v)');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass AND NOT indisvalid}),
	'2', 'two invalid leftovers on t');

# a session whose lock on t makes the first DROP INDEX CONCURRENTLY wait
my $holder = pgm_session($node, 'holder');
$holder->query_safe('BEGIN; SELECT count(*) FROM t');

my $run = $node->safe_psql('postgres', q{
	SELECT pgm_vacuum_now(tables => ARRAY['t'], strategy => 'all', reindex_bloated => true,
	                      lock_timeout => '60s')});
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE backend_type = 'pgmanage vacuum' AND query LIKE 'DROP INDEX CONCURRENTLY%t_a_ccnew'
	  AND wait_event_type = 'Lock'})
  or die 'the first DROP INDEX CONCURRENTLY did not wait';

# meanwhile the second leftover is renamed, and another table's valid index takes its name
$node->safe_psql('postgres', q{
ALTER INDEX t_b_ccnew RENAME TO t_b_moved;
ALTER INDEX t2_idx RENAME TO t_b_ccnew;
});
$holder->query_safe('COMMIT');
$holder->quit;
pgm_wait_run($node, $run, '^(succeeded|failed)$');

is($node->safe_psql('postgres', q{
	SELECT i.indrelid::regclass, i.indisvalid FROM pg_index i
	WHERE i.indexrelid = to_regclass('public.t_b_ccnew')}),
	't2|t', "t2's valid index that took the name was not dropped");
is((split /\|/, pgm_run_entry($node, $run, 'public.t_a_ccnew'))[0], 'done',
	'the first leftover was dropped');
is(pgm_run_entry($node, $run, 'public.t_b_ccnew'),
	'skipped|drop index|invalid leftover of an interrupted REINDEX CONCURRENTLY|no longer an invalid leftover of this table when its turn came: left alone',
	'the second one, renamed since it was listed, was left alone and the run says so');

$node->stop;
done_testing();
