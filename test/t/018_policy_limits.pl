# Policies that cannot switch enforcement off: an unrepresentable limit is
# refused at INSERT; a row that slipped in anyway (here: the CHECK dropped
# by a superuser, as a 1.x row could) is skipped, counted in
# pgm_status().policies_skipped and logged once, and every other policy
# is still enforced.  More than 256 enabled policies: the 257th is refused
# at INSERT (54000); past the trigger, the excess is logged once, not at
# every reload.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('limits', conf => "pgmanage.naptime = '100ms'\n");
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

# --- refused at INSERT
my ($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO pgm_timeout_policy (statement_timeout) VALUES ('300000 years')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  23514: .*pgm_timeout_policy_statement_timeout_max_100_years/,
	'300000 years is refused (23514, the constraint says the bound)');

# --- a bad row in the table does not disable the others
$node->safe_psql('postgres', q{
	ALTER TABLE pgm_timeout_policy DROP CONSTRAINT pgm_timeout_policy_statement_timeout_max_100_years;
	INSERT INTO pgm_timeout_policy (statement_timeout, comment) VALUES ('300000 years', 'bad');
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('lim_%', '1 s');
});
my $bad = $node->safe_psql('postgres', "SELECT id FROM pgm_timeout_policy WHERE comment = 'bad'");
pgm_wait_policies($node, 1);
is(pgm_status_field($node, 'launcher', 'policies_skipped'), '1', 'the bad row is counted as skipped');
like(pgm_status_field($node, 'worker', 'last_error'), qr/limit out of range in policy $bad\b/,
	'pgm_status() names it');
my $s = pgm_session($node, 'lim_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(30)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the other policy is enforced');
$s->quit;
# many reloads (naptime 100 ms, and a change that wakes the worker)
$node->safe_psql('postgres', "UPDATE pgm_timeout_policy SET comment = 'x' WHERE comment IS NULL");
my $wake = pgm_status_field($node, 'worker', 'last_wake');
for my $i (1 .. 5)
{
	$node->poll_query_until('postgres',
		"SELECT last_wake > '$wake' FROM pgm_status() WHERE process = 'worker'") or die;
	$wake = pgm_status_field($node, 'worker', 'last_wake');
}
is(pgm_log_count($node, qr/limit out of range in policy $bad\b/), 1, 'logged once, not at every reload');
$node->safe_psql('postgres', qq{
	DELETE FROM pgm_timeout_policy WHERE id = $bad;
	ALTER TABLE pgm_timeout_policy ADD CONSTRAINT pgm_timeout_policy_statement_timeout_max_100_years
		CHECK (statement_timeout <= interval '100 years')});
$node->poll_query_until('postgres', "SELECT policies_skipped = 0 FROM pgm_status() WHERE process = 'launcher'")
  or die;
pass('nothing skipped once it is gone');

# --- 256 enabled policies at most: the 257th is refused at INSERT
$node->safe_psql('postgres', q{
	DELETE FROM pgm_timeout_policy;
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout)
	SELECT 'many_' || i, '1 hour' FROM generate_series(1, 255) i;
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('last_%', '1 s');
});
pgm_wait_policies($node, 256);
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('one_more', '1 s')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  54000: too many enabled timeout policies/, 'the 257th enabled policy is refused (54000)');
($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout, enabled) VALUES ('off', '1 s', false)");
is($ret, 0, 'a disabled one is accepted') or diag $err;
($ret, $out, $err) = $node->psql('postgres',
	"UPDATE pgm_timeout_policy SET enabled = true WHERE application_name = 'off'",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  54000/, 'and cannot be enabled');
$s = pgm_session($node, 'last_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(30)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the 256th policy (highest id) is enforced');
$s->quit;

# --- past the trigger (disabled by a superuser): the excess is said once
$node->safe_psql('postgres', q{
	ALTER TABLE pgm_timeout_policy DISABLE TRIGGER pgm_timeout_policy_check;
	UPDATE pgm_timeout_policy SET enabled = true WHERE application_name = 'off';
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('x1', '1 h'), ('x2', '1 h');
	ALTER TABLE pgm_timeout_policy ENABLE TRIGGER pgm_timeout_policy_check;
});
$node->poll_query_until('postgres', "SELECT policies_skipped = 3 FROM pgm_status() WHERE process = 'launcher'")
  or die 'policies_skipped never reached 3';
pass('policies beyond 256 are counted as skipped');
$wake = pgm_status_field($node, 'worker', 'last_wake');
for my $i (1 .. 5)
{
	$node->poll_query_until('postgres',
		"SELECT last_wake > '$wake' FROM pgm_status() WHERE process = 'worker'") or die;
	$wake = pgm_status_field($node, 'worker', 'last_wake');
}
is(pgm_log_count($node, qr/3 enabled beyond the first 256/), 1, 'the excess is logged once');
like(pgm_status_field($node, 'worker', 'last_error'), qr/3 enabled beyond the first 256/,
	'and shown in pgm_status()');

$node->stop;
done_testing();
