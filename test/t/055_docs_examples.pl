# Every SQL example of README.md and docs/ runs as the docs show it: each
# ```sql block (and each psql transcript, "=# ..."), statement by statement,
# against a cluster with pgmanage and pg_stat_statements preloaded; a
# statement the docs show with an ERROR must fail, every other must succeed.
# The extraction rules and the markers (skip, fails) are in
# test/perl/PgmDocs.pm.  Skipped blocks are counted and listed, never
# silent.  The fixture below creates what the examples name (roles,
# database shop, a few tables); after each page the settings are reset
# (ALTER SYSTEM RESET ALL) and the page's jobs, endpoints and policies
# deleted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmDocs;

my $root = $ENV{PGM_SRC} // '.';
my $node = pgm_node('docs', conf => qq{
compute_query_id = on
autovacuum = off
pgmanage.naptime = '200ms'
});

# what the examples name
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_stat_statements;
CREATE ROLE app LOGIN;
CREATE ROLE reporting LOGIN;
CREATE ROLE report LOGIN;
CREATE DATABASE shop;
CREATE SCHEMA sales;
CREATE TABLE sales.orders (id bigint PRIMARY KEY, placed_at timestamptz, note text);
CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer int, placed_at timestamptz, note text);
INSERT INTO public.orders (customer, placed_at, note)
SELECT g % 100, now() - g * interval '1 minute', repeat('n', 50) FROM generate_series(1, 5000) g;
CREATE TABLE t1_a (id int PRIMARY KEY);
CREATE TABLE t1_b (id int PRIMARY KEY);
ANALYZE;
});
$node->safe_psql('shop', 'CREATE EXTENSION pgmanage');

my ($problems, $count, $skipped) = PgmDocs::run(
	$root,
	sub {
		my ($script) = @_;
		my ($out, $err) = ('', '');
		$node->psql('postgres', $script, stdout => \$out, stderr => \$err, on_error_stop => 0);
		return $out;
	},
	sub {
		# each page starts afresh: no setting, job, endpoint or policy of
		# the page before
		$node->safe_psql('postgres', q{
			ALTER SYSTEM RESET ALL;
			DELETE FROM pgm_job;
			DELETE FROM pgm_endpoint;
			DELETE FROM pgm_timeout_policy});
		$node->reload;
	});

diag(sprintf('docs examples: %d files, %d blocks run, %d statements (%d shown failing), '
	  . '%d blocks skipped, %d blocks without a statement (signatures, output)',
	$count->{files}, $count->{blocks}, $count->{statements}, $count->{must_fail},
	$count->{skipped}, $count->{no_statement}));
diag("skipped: $_") for @$skipped;
ok($count->{statements} > 100, 'the examples were found');
is(scalar(@$problems), 0, 'every example does what the docs show')
  or diag(join("\n", @$problems));

$node->stop;
done_testing();
