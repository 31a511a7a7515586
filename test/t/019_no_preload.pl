# Without pgmanage in shared_preload_libraries: CREATE EXTENSION, LOAD, the
# reports and an INSERT into pgm_timeout_policy work (no FATAL "cannot
# create PGC_POSTMASTER variables after startup"); what needs the preload
# says so (pgm_status: 55000; a policy: a NOTICE that it is not enforced).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('nopreload', preload => 0, extension => 0);

sub run_ok
{
	my ($sql, $name) = @_;
	# on_error_stop off: an ERROR ends the statement, never the session
	my ($ret, $out, $err) = $node->psql('postgres', "$sql; SELECT 'alive'",
		on_error_stop => 0, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($out, qr/alive/, "$name: the session survives") or diag $err;
	unlike($err, qr/FATAL/, "$name: no FATAL");
	return $err;
}

run_ok('CREATE EXTENSION pgmanage', 'CREATE EXTENSION');
run_ok(q{LOAD 'pgmanage'}, 'LOAD');
run_ok('SELECT count(*) >= 0 FROM pgm_size_report()', 'pgm_size_report()');
my $err = run_ok(q{INSERT INTO pgm_timeout_policy (statement_timeout) VALUES ('1 minute')},
	'INSERT INTO pgm_timeout_policy');
like($err, qr/NOTICE:  00000: pgmanage is not loaded through shared_preload_libraries: timeout policies are not enforced/,
	'the INSERT says the policy is not enforced');
$err = run_ok('SELECT * FROM pgm_status()', 'pgm_status()');
like($err, qr/ERROR:  55000: pgmanage is not loaded through shared_preload_libraries/, 'pgm_status() says why not');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_timeout_policy'), '1', 'the policy is stored');
ok(!$node->log_contains(qr/PGC_POSTMASTER/), 'no PGC_POSTMASTER error in the log');

$node->stop;
done_testing();
