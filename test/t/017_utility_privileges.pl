# The utility hook stops pgmanage's processes for DROP DATABASE, ALTER
# DATABASE ... RENAME and CREATE DATABASE ... TEMPLATE of pgmanage.database
# only when the command will proceed: a role that may not run it, or a
# transaction block, leaves the worker and the sender running (same pids),
# and the command fails with PostgreSQL's own error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('utilpriv');
$node->safe_psql('postgres', 'CREATE ROLE nobody LOGIN; CREATE ROLE maker LOGIN CREATEDB');
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM pgm_status() WHERE process IN ('worker', 'sender') AND pid IS NOT NULL")
  or die 'worker and sender not running';
my $pids = $node->safe_psql('postgres',
	"SELECT string_agg(process || '=' || pid, ' ' ORDER BY process) FROM pgm_status()"
	  . " WHERE process IN ('worker', 'sender')");

sub try_as
{
	my ($user, $sql, $state, $name) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-U', $user, '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  $state/, "$name: fails with $state");
}

try_as('nobody', 'DROP DATABASE postgres', '42501', 'DROP DATABASE by a role that does not own it');
try_as('nobody', 'ALTER DATABASE postgres RENAME TO elsewhere', '42501', 'RENAME by a non-owner');
try_as('nobody', 'CREATE DATABASE copy1 TEMPLATE postgres', '42501', 'CREATE DATABASE without CREATEDB');
try_as('maker', 'CREATE DATABASE copy2 TEMPLATE postgres', '42501',
	'CREATE DATABASE TEMPLATE of a database the role does not own');
try_as('postgres', "BEGIN; DROP DATABASE postgres", '25001', 'DROP DATABASE in a transaction block');
try_as('postgres', "BEGIN; CREATE DATABASE copy3 TEMPLATE postgres", '25001',
	'CREATE DATABASE in a transaction block');

is($node->safe_psql('postgres',
		"SELECT string_agg(process || '=' || pid, ' ' ORDER BY process) FROM pgm_status()"
		  . " WHERE process IN ('worker', 'sender')"),
	$pids, 'the worker and the sender kept running (same pids)');
ok(!$node->log_contains(qr/stopping its processes in database/),
	'nothing was stopped');

# a command that proceeds still gets the database to itself
$node->safe_psql('postgres', 'CREATE DATABASE other OWNER nobody');
$node->safe_psql('postgres', "ALTER SYSTEM SET pgmanage.database = 'other'; SELECT pg_reload_conf()");
$node->safe_psql('other', 'CREATE EXTENSION pgmanage');
pgm_wait_worker($node, 'other');
my ($ret, $out, $err) = $node->psql('postgres', "SET statement_timeout = '20s'; DROP DATABASE other",
	extra_params => [ '-U', 'nobody' ]);
is($ret, 0, 'its owner drops pgmanage.database while the worker runs there') or diag $err;
ok($node->log_contains(qr/stopping its processes in database "other"/), 'the worker was stopped first');

$node->stop;
done_testing();
