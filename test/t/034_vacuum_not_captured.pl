# pgmanage's own statements are never captured as slow queries: with
# capture of every statement on (utility and nested included), a VACUUM run
# leaves no row in pgm_slow_queries and no "duration:" line in the log from
# its process (neither its candidate query nor its VACUUM statements), while
# pg_stat_statements still counts its VACUUM statement as before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_not_captured', conf => $vacuum_conf . q{
pgmanage.log_min_duration = 0
pgmanage.log_utility = on
pgmanage.log_nested_statements = on
pgmanage.pgss_snapshot_interval = 0
pg_stat_statements.track_utility = on
});
$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');
pgm_bloat_table($node, 'nc1', 20000, 2);

my $log_offset = -s $node->logfile;
my $run = $node->safe_psql('postgres',
	q{SELECT pgm_vacuum_now(tables => ARRAY['nc1'], strategy => 'need')});
pgm_wait_run($node, $run, '^succeeded$');
my $pid = $node->safe_psql('postgres', "SELECT pid FROM pgm_job_run WHERE id = $run");
ok($pid > 0, 'the run recorded its process');
is(pgm_run_field($node, $run, 'tables_vacuumed'), '1', 'the run vacuumed nc1');

# a statement of this session after the run, to know the ring was drained
$node->safe_psql('postgres', 'SELECT 1 /* after-run-marker */');
$node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pgm_slow_queries WHERE statement LIKE '%after-run-marker%'})
  or die 'capture did not drain';
ok($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_slow_queries') > 0,
	'capture is on: client statements are captured');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_slow_queries WHERE pid = $pid"),
	'0', 'nothing of the VACUUM worker captured');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgm_slow_queries
	WHERE statement LIKE 'VACUUM (%' OR statement LIKE 'SELECT c.oid, n.nspname::text, c.relname::text,%'}),
	'0', 'neither its VACUUM statement nor its candidate query');
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/\[$pid\][^\n]*duration: /, 'no duration line from its process')
  if $log =~ /\[\d+\]/;
unlike($log, qr/duration: [\d.]+ ms  statement: VACUUM \(/, 'no duration line for its VACUUM');
is($node->safe_psql('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_statements WHERE query LIKE 'VACUUM (%' AND query LIKE '%nc1'}),
	't', 'pg_stat_statements still counts its VACUUM statement');

$node->stop;
done_testing();
