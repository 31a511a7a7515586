# pgm_index_report(): what needs a second session or a statistics flush
# from another backend: an index being built by CREATE INDEX CONCURRENTLY
# is not valid yet but is no "invalid" index; an index another session
# scanned is not "unused"; a statistics reset is shown.  The invalid,
# duplicate and redundant cases are in sql/health_reports.sql.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('index_report', preload => 0);
$node->safe_psql('postgres', q{
CREATE TABLE t (id int, v int);
INSERT INTO t SELECT i, i FROM generate_series(1, 1000) i;
});

# a writer keeps CREATE INDEX CONCURRENTLY waiting after it made the index
my $writer = pgm_session($node, 'writer');
$writer->query_safe('BEGIN');
$writer->query_safe('INSERT INTO t VALUES (0, 0)');
my $cic = pgm_session($node, 'cic');
pgm_run($cic, 'CREATE INDEX CONCURRENTLY t_v ON t (v)');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_index i JOIN pg_stat_progress_create_index p ON p.index_relid = i.indexrelid
	WHERE i.indexrelid = 't_v'::regclass AND NOT i.indisvalid})
  or die "CREATE INDEX CONCURRENTLY did not wait";
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_index_report() WHERE index_name = 't_v'"), '0',
	'an index being built concurrently is not reported as invalid');

$writer->query_safe('COMMIT');
like(pgm_result($cic), qr/sqlstate=00000/, 'the build finished');
is($node->safe_psql('postgres', "SELECT problem, stats_reset IS NULL FROM pgm_index_report() WHERE index_name = 't_v'"),
	'unused|t', 'built and never scanned: unused, statistics never reset');

# a scan in another session, counted once that session has exited
$node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT count(*) FROM t WHERE v = 5');
$node->poll_query_until('postgres', "SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 't_v'")
  or die "the scan was not counted";
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_index_report() WHERE index_name = 't_v'"), '0',
	'a scanned index is not unused');

# after a reset the index is unused again, and the report says since when
$node->safe_psql('postgres', 'SELECT pg_stat_reset()');
is($node->safe_psql('postgres', q{
	SELECT r.problem, r.stats_reset = d.stats_reset, r.detail LIKE 'no scan since the statistics were reset at %'
	FROM pgm_index_report() r, pg_stat_database d
	WHERE r.index_name = 't_v' AND d.datname = current_database()}),
	'unused|t|t', 'after pg_stat_reset(): unused, with the reset time');

pgm_quit($_) for ($writer, $cic);
$node->stop;
done_testing();
