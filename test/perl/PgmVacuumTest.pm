# Fixtures for the scheduled-VACUUM TAP tests (test/t/03*.pl); nodes come
# from PgmTest's pgm_node, with these settings:
#
#   my $node = pgm_node('vac', conf => $vacuum_conf . "more = lines\n");
package PgmVacuumTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw($vacuum_conf pgm_bloat_table pgm_wait_run pgm_run_entry pgm_run_field);

# autovacuum off so that only pgmanage vacuums; a short naptime
our $vacuum_conf = q{
pgmanage.naptime = '200ms'
autovacuum = off
};

# A table of $rows rows, analyzed, then every $every-th row deleted (0: none).
sub pgm_bloat_table
{
	my ($node, $table, $rows, $every) = @_;
	$node->safe_psql('postgres', qq{
CREATE TABLE $table (id int PRIMARY KEY, pad text);
INSERT INTO $table SELECT g, repeat('p', 80) FROM generate_series(1, $rows) g;
});
	# in a session of its own: the INSERT's counts reach the statistics when
	# its session ends, and must not land after the ANALYZE
	$node->safe_psql('postgres', "ANALYZE $table");
	$node->safe_psql('postgres', "DELETE FROM $table WHERE id % $every = 0") if $every;
	return;
}

# Wait until run $id's status matches the regex $re.
sub pgm_wait_run
{
	my ($node, $id, $re) = @_;
	$node->poll_query_until('postgres',
		"SELECT status ~ '$re' FROM pgm_job_run WHERE id = $id")
	  or die "timed out waiting for run $id to reach /$re/: "
	  . $node->safe_psql('postgres', "SELECT status, error FROM pgm_job_run WHERE id = $id");
	return;
}

# One column of a run (of the view pgm_job_runs)
sub pgm_run_field
{
	my ($node, $id, $col) = @_;
	return $node->safe_psql('postgres', "SELECT $col FROM pgm_job_runs WHERE id = $id");
}

# The details entry of a relation in a run: "outcome|action|reason|detail"
sub pgm_run_entry
{
	my ($node, $id, $rel) = @_;
	return $node->safe_psql('postgres', qq{
SELECT e->>'outcome', e->>'action', e->>'reason', coalesce(e->>'detail', '')
FROM pgm_job_run r, jsonb_array_elements(r.details) e
WHERE r.id = $id AND e->>'relation' = '$rel'});
}

1;
