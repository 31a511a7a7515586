# The launcher does not start its children where they cannot or must not
# run, and says so once: pgmanage.database a template database (a worker
# there would make every plain CREATE DATABASE fail) or a database that
# does not allow connections (a child would FATAL at each try).  And a
# launcher that exits leaves no stale pid in pgm_status().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('waits', conf => "pgmanage.naptime = '100ms'\n");

# let the launcher make at least $n more passes
sub passes
{
	my ($n) = @_;
	my $wake = pgm_status_field($node, 'launcher', 'last_wake');
	for my $i (1 .. $n)
	{
		$node->poll_query_until('postgres',
			"SELECT last_wake > '$wake' FROM pgm_status() WHERE process = 'launcher'") or die;
		$wake = pgm_status_field($node, 'launcher', 'last_wake');
	}
}

# --- a template database
$node->safe_psql('postgres', "ALTER SYSTEM SET pgmanage.database = 'template1'; SELECT pg_reload_conf()");
$node->wait_for_log(qr/database "template1" is a template database; pgmanage's processes do not start there/);
pass('a template database is refused');
passes(10);
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE DATABASE plain1');
is($ret, 0, 'a plain CREATE DATABASE works meanwhile') or diag $err;
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pgmanage %' AND datname = 'template1'"),
	'0', 'nothing of pgmanage runs in template1');
is(pgm_log_count($node, qr/"template1" is a template database/), 1, 'logged once');
like(pgm_status_field($node, 'launcher', 'last_error'), qr/"template1" is a template database/,
	'pgm_status() says so');

# --- a database that does not allow connections
$node->safe_psql('postgres', 'CREATE DATABASE closed');
$node->safe_psql('closed', 'CREATE EXTENSION pgmanage');
$node->safe_psql('postgres', 'ALTER DATABASE closed ALLOW_CONNECTIONS false');
$node->safe_psql('postgres', "ALTER SYSTEM SET pgmanage.database = 'closed'; SELECT pg_reload_conf()");
$node->wait_for_log(qr/database "closed" does not allow connections; pgmanage's processes do not start there/);
pass('a database without connections is waited for');
passes(10);
is(pgm_log_count($node, qr/"closed" does not allow connections/), 1, 'logged once');
is(pgm_log_count($node, qr/FATAL:  database "closed" is not currently accepting connections/), 0,
	'no child tried to connect (no FATAL at each naptime)');
$node->safe_psql('postgres', 'ALTER DATABASE closed ALLOW_CONNECTIONS true');
pgm_wait_worker($node, 'closed');
pass('the worker starts once connections are allowed');

# --- the launcher exits: its pid is cleared until it is back
$node->safe_psql('postgres', "ALTER SYSTEM SET pgmanage.database = 'postgres'; SELECT pg_reload_conf()");
pgm_wait_worker($node);
my $lpid = pgm_status_field($node, 'launcher', 'pid');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($lpid)");
$node->poll_query_until('postgres', "SELECT pid IS NULL FROM pgm_status() WHERE process = 'launcher'")
  or die 'the launcher keeps its pid';
pass('no stale pid while the launcher is gone');
$node->poll_query_until('postgres',
	"SELECT pid IS NOT NULL AND pid <> $lpid FROM pgm_status() WHERE process = 'launcher'")
  or die 'the launcher did not come back';
pass('a new launcher takes the slot');

$node->stop;
done_testing();
