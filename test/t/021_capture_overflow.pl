# The capture ring when nobody drains it: backends never wait, the oldest
# entries are overwritten and counted as dropped, and once the worker
# drains again every entry is either in pgm_slow_queries or counted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('overflow', extension => 0, conf => q{
pgmanage.capture_buffer_size = '64kB'
pgmanage.pgss_snapshot_interval = 0
max_connections = 30
});

# The worker runs in "postgres", where the extension does not exist yet,
# so nothing drains the ring; the functions live in another database.
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION pgmanage');
my $slots = $node->safe_psql('other', 'SELECT buffer_slots FROM pgm_slow_query_stats()');
cmp_ok($slots, '<', 10, "a 64 kB ring has few slots ($slots)");

# every statement in "postgres" is slow
$node->safe_psql('postgres', 'ALTER DATABASE postgres SET pgmanage.log_min_duration = 0');
$node->pgbench(
	'--no-vacuum --client=8 --jobs=2 --transactions=200',
	0,
	[qr{processed: 1600/1600}],
	[qr{^$}],
	'8 clients run 1,600 statements while the ring is full',
	{ '021_overflow' => "SELECT :client_id AS client /* overflow */;\n" });
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET pgmanage.log_min_duration');

my ($captured, $pending, $dropped, $written) = split /\|/,
  $node->safe_psql('other', 'SELECT captured, pending, dropped, written FROM pgm_slow_query_stats()');
cmp_ok($captured, '>=', 1600, "every statement was captured ($captured)");
is($pending, $slots, 'the ring holds as many entries as it has slots');
is($dropped, $captured - $slots, 'the others are counted as dropped');
is($written, 0, 'nothing was written yet');

# now the worker finds the extension and drains what is left
$node->safe_psql('postgres', 'CREATE EXTENSION pgmanage');
ok( $node->poll_query_until('other',
		'SELECT pending = 0 AND written > 0 FROM pgm_slow_query_stats()'),
	'the worker drains the ring');
($captured, $pending, $dropped, $written) = split /\|/,
  $node->safe_psql('other', 'SELECT captured, pending, dropped, written FROM pgm_slow_query_stats()');
is($written + $dropped, $captured, 'every entry is written or counted as dropped');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_slow_queries WHERE statement LIKE '%overflow%'"),
	$written, 'the written entries are in pgm_slow_queries');
cmp_ok($written, '<=', $slots, 'no more than the ring held');

$node->stop;
done_testing();
