# pg_stat_statements history: deltas between snapshots, across a full
# reset, the removal of one entry and its eviction, are never negative and
# never larger than what happened; pgm_top_queries_between answers from
# them; the worker takes snapshots on its interval.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('history', conf => q{
pgmanage.pgss_snapshot_interval = 0
pg_stat_statements.max = 100
log_statement = none
});
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE TABLE hist_t (a int);
SELECT count(*) FROM hist_t;
});
my $qid = $node->safe_psql('postgres',
	"SELECT queryid FROM pg_stat_statements WHERE query = 'SELECT count(*) FROM hist_t'");
isnt($qid, '', 'the statement is in pg_stat_statements');

sub run_x
{
	my ($times) = @_;
	$node->safe_psql('postgres', 'SELECT count(*) FROM hist_t;' x $times);
}

sub snap
{
	return $node->safe_psql('postgres', 'SELECT pgm_pgss_snapshot()');
}

# calls, restarted of the statement in one snapshot
sub delta
{
	my ($sid, $id) = @_;
	$id //= $qid;
	return $node->safe_psql('postgres',
		"SELECT calls, restarted FROM pgm_pgss_history WHERE snapshot_id = $sid AND queryid = $id");
}

my $s0 = snap();
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_pgss_history WHERE snapshot_id = $s0"),
	'0', 'the first snapshot is a baseline without deltas');

run_x(5);
my $s1 = snap();
is(delta($s1), '5|f', 'plain delta: 5 calls');

# a full reset between snapshots: 3 calls before it, 2 after
run_x(3);
$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
run_x(2);
my $s2 = snap();
is(delta($s2), '2|t', 'after pg_stat_statements_reset(): the 2 calls since the reset');
is($node->safe_psql('postgres', "SELECT reset_detected FROM pgm_pgss_snapshot WHERE id = $s2"),
	't', 'the reset is detected');

run_x(4);
my $s3 = snap();
is(delta($s3), '4|f', 'and plain deltas again after it');

# the entry alone is removed (as an eviction does) and re-added
run_x(1);
$node->safe_psql('postgres', "SELECT pg_stat_statements_reset(0, 0, $qid)");
run_x(2);
my $s4 = snap();
is(delta($s4), '2|t', 'entry removed and re-added: the 2 calls since, not 2 - 7');

# a real eviction (pg_stat_statements.max = 100, 400 other statements) of
# a statement run once, re-added with one call: same counters as before
$node->safe_psql('postgres', 'SELECT count(*) FROM hist_t WHERE a > 0');
my $yid = $node->safe_psql('postgres',
	"SELECT queryid FROM pg_stat_statements WHERE query = 'SELECT count(*) FROM hist_t WHERE a > \$1'");
isnt($yid, '', 'a second statement, run once');
my $s5 = snap();
my $dealloc = $node->safe_psql('postgres', 'SELECT dealloc FROM pg_stat_statements_info');
$node->safe_psql('postgres', join('', map { 'SELECT ' . join(',', (1) x $_) . ";\n" } 1 .. 400));
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_statements WHERE queryid = $yid"),
	'0', 'the statement was evicted');
cmp_ok($node->safe_psql('postgres', 'SELECT dealloc FROM pg_stat_statements_info'), '>', $dealloc,
	'pg_stat_statements counted deallocations');
$node->safe_psql('postgres', 'SELECT count(*) FROM hist_t WHERE a > 0');
my $s6 = snap();
is(delta($s6, $yid), '1|t', 'evicted and re-added with as many calls: detected, 1 call, not 0');

# evicted again and re-added with more calls than before: the delta may
# miss the calls made before the eviction, but is never more than the truth
$node->safe_psql('postgres', join('', map { 'SELECT 2,' . join(',', (1) x $_) . ";\n" } 1 .. 400));
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_statements WHERE queryid = $yid"),
	'0', 'evicted again');
$node->safe_psql('postgres', 'SELECT count(*) FROM hist_t WHERE a > 0;' x 2);
my $s7 = snap();
my ($calls) = split /\|/, delta($s7, $yid);
ok($calls >= 1 && $calls <= 2, "re-added with more calls: delta $calls is within 1..2");

is($node->safe_psql('postgres', q{
SELECT count(*) FROM pgm_pgss_history
WHERE calls < 0 OR plans < 0 OR total_exec_time < 0 OR rows < 0 OR shared_blks_hit < 0
   OR shared_blks_read < 0 OR wal_bytes < 0}),
	'0', 'no negative delta anywhere');

# pgm_top_queries_between sums the snapshots in (from, to]
my $between = sub {
	my ($from, $to) = @_;
	return $node->safe_psql('postgres', qq{
SELECT calls FROM pgm_top_queries_between(
    (SELECT taken_at FROM pgm_pgss_snapshot WHERE id = $from),
    (SELECT taken_at FROM pgm_pgss_snapshot WHERE id = $to), 'calls', 1000)
WHERE queryid = $qid});
};
is($between->($s0, $s2), '7', 'between the baseline and the reset: 5 + 2 calls');
is($between->($s2, $s4), '6', 'across the removal: 4 + 2 calls');
is($node->safe_psql('postgres', qq{
SELECT query FROM pgm_top_queries_between(now() - interval '1 day', now(), 'calls', 1000)
WHERE queryid = $qid}), 'SELECT count(*) FROM hist_t', 'with the query text');

# the worker takes snapshots on its interval
my $count = $node->safe_psql('postgres', 'SELECT count(*) FROM pgm_pgss_snapshot');
$node->safe_psql('postgres', "ALTER SYSTEM SET pgmanage.pgss_snapshot_interval = '1s'");
$node->reload;
ok( $node->poll_query_until('postgres',
		"SELECT count(*) >= $count + 2 FROM pgm_pgss_snapshot"),
	'the worker takes snapshots every pgmanage.pgss_snapshot_interval');

$node->stop;
done_testing();
