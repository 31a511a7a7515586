# DROP DATABASE of a database that a scheduled VACUUM is working in does
# not fail because of pgmanage: the run is cancelled (and recorded so),
# its worker leaves, and the DROP goes through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacdrop', conf => $vacuum_conf);
$node->safe_psql('postgres', 'CREATE DATABASE victim');
$node->safe_psql('victim', q{
CREATE TABLE slow (id int, pad text);
INSERT INTO slow SELECT g, repeat('p', 200) FROM generate_series(1, 200000) g;
DELETE FROM slow WHERE id % 2 = 0;
});

# a slow run in database victim (cost-based delay makes it last)
my $run = $node->safe_psql('postgres', q{
	SELECT pgm_vacuum_now(database => 'victim', tables => ARRAY['slow'], strategy => 'all',
	                      cost_delay => 20, cost_limit => 1)});
$node->poll_query_until('postgres',
	"SELECT status = 'running' AND pid IS NOT NULL FROM pgm_job_run WHERE id = $run")
  or die 'run did not start';
is($node->safe_psql('victim', q{SELECT count(*) FROM pg_stat_activity
	WHERE datname = 'victim' AND backend_type = 'pgmanage vacuum'}), '1',
	'a VACUUM worker is connected to the database');

# the DROP succeeds (a 30 s timeout turns a hang into a failure)
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE victim',
	timeout => 30, extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
is($ret, 0, 'DROP DATABASE succeeds while the run was going') or diag($stderr);
pgm_wait_run($node, $run, '^cancelled$');
pass('the run is recorded as cancelled');
like(pgm_run_field($node, $run, 'error'),
	qr/^cancelled: DROP DATABASE, ALTER DATABASE \.\.\. RENAME or CREATE DATABASE \.\.\. TEMPLATE needed database "victim" to itself/,
	'its error says what cancelled it (not pgm_cancel_run)');
like((split /\|/, pgm_run_entry($node, $run, 'public.slow'))[3], qr/^run cancelled: DROP DATABASE/,
	"and so does the table's entry");

$node->stop;
done_testing();
