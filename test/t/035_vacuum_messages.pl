# Error text stored in pgm_job_run stays valid text: a message longer than
# what a run keeps (200 bytes) is cut on a character boundary, in the run's
# error and in the table's entry of its details.  The message comes from a
# function of an expression index, which ANALYZE evaluates in the VACUUM
# worker (its application_name is empty) and nowhere else.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_messages', conf => $vacuum_conf,
	init => { extra => [ '--encoding=UTF8', '--locale=C' ] });
$node->safe_psql('postgres', q{
CREATE TABLE vm (id int);
INSERT INTO vm SELECT generate_series(1, 100);
CREATE FUNCTION vm_fail(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('application_name') = '' THEN
        RAISE EXCEPTION '%', repeat('é', 150);   -- 300 bytes, 150 characters
    END IF;
    RETURN $1;
END $$;
CREATE INDEX vm_expr ON vm (vm_fail(id));
});

my $run = $node->safe_psql('postgres',
	q{SELECT pgm_vacuum_now(tables => ARRAY['vm'], strategy => 'all')});
pgm_wait_run($node, $run, '^(succeeded|failed)$');
is(pgm_run_field($node, $run, 'status || tables_failed'), 'failed1', 'the table failed, the run too');

# convert_from() checks the bytes: it fails on invalid UTF-8
my ($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT convert_from(convert_to(error, 'UTF8'), 'UTF8') = error,
	       octet_length(error) BETWEEN 100 AND 199, error ~ '^(é)+\$'
	FROM pgm_job_run WHERE id = $run});
is($out, 't|t|t', "the run's error is valid UTF-8, cut on a character boundary")
  or diag($err);
($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT convert_from(convert_to(e->>'detail', 'UTF8'), 'UTF8') = e->>'detail',
	       octet_length(e->>'detail') BETWEEN 100 AND 199
	FROM pgm_job_run r, jsonb_array_elements(r.details) e
	WHERE r.id = $run AND e->>'relation' = 'public.vm'});
is($out, 't|t', "the table's entry is valid UTF-8 too") or diag($err);

$node->stop;
done_testing();
