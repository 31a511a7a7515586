# The worker without the extension (one log line, not one per pass), then
# CREATE EXTENSION, DROP EXTENSION (does not hang, no crash), a change of
# pgmanage.database on SIGHUP, and DROP DATABASE of the worker's database.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('life', extension => 0, conf => "pgmanage.naptime = '200ms'\n");
# pgm_status() is read from another database, where the extension exists
$node->safe_psql('postgres', 'CREATE DATABASE watch; CREATE ROLE app LOGIN');
$node->safe_psql('watch', 'CREATE EXTENSION pgmanage');
$node->poll_query_until('watch',
	"SELECT pid IS NOT NULL AND NOT extension_found AND database_name = 'postgres' FROM pgm_status() WHERE process = 'worker'")
  or die 'worker not running';
my $missing = qr/extension "pgmanage" is not installed in database "postgres"/;
$node->wait_for_log($missing);
# let it make many passes (naptime 200 ms): the message must not repeat
my $wake = pgm_status_field($node, 'worker', 'last_wake', 'watch');
for my $i (1 .. 5)
{
	$node->poll_query_until('watch',
		"SELECT last_wake > '$wake' FROM pgm_status() WHERE process = 'worker'") or die;
	$wake = pgm_status_field($node, 'worker', 'last_wake', 'watch');
}
is(pgm_log_count($node, $missing), 1, 'no extension: logged once, not once per pass');
my $wpid = pgm_status_field($node, 'worker', 'pid', 'watch');

# --- CREATE EXTENSION: the worker picks it up
$node->safe_psql('postgres', 'CREATE EXTENSION pgmanage');
pgm_wait_worker($node);
is(pgm_status_field($node, 'worker', 'pid'), $wpid, 'the same worker found the extension');
ok($node->log_contains(qr/extension found in database "postgres", worker active/), 'logged when found');
$node->safe_psql('postgres',
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('life_%', '1 s')");
pgm_wait_policies($node, 1);
my $s = pgm_session($node, 'life_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'policies enforced once the extension exists');
$s->quit;

# --- DROP EXTENSION: does not hang, the worker goes back to waiting
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '10s'; DROP EXTENSION pgmanage");
is($ret, 0, 'DROP EXTENSION succeeds (under a 10 s statement_timeout)') or diag $err;
pgm_wait_policies($node, 0, 'watch');
$node->poll_query_until('watch', "SELECT NOT extension_found FROM pgm_status() WHERE process = 'worker'")
  or die;
is(pgm_status_field($node, 'worker', 'pid', 'watch'), $wpid, 'the worker survived DROP EXTENSION');
is(pgm_log_count($node, $missing), 2, 'logged once more after DROP EXTENSION');
$s = pgm_session($node, 'life_2', user => 'app');
pgm_run($s, 'SELECT pg_sleep(1.5)');
like(scalar pgm_result($s), qr/sqlstate=00000/, 'no policy enforced once the extension is gone');
$s->quit;

# --- SIGHUP: another pgmanage.database
$node->safe_psql('postgres', 'CREATE DATABASE second');
$node->safe_psql('second', 'CREATE EXTENSION pgmanage');
$node->safe_psql('postgres', "ALTER SYSTEM SET pgmanage.database = 'second'; SELECT pg_reload_conf()");
pgm_wait_worker($node, 'second', 'watch');
isnt(pgm_status_field($node, 'worker', 'pid', 'watch'), $wpid, 'a new worker runs in the new database');
is(pgm_log_count($node, qr/pgmanage\.database changed from "postgres" to "second"/), 1, 'the change is logged once');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgmanage worker' AND datname = 'postgres'"),
	'0', 'no worker left in the old database');

# --- DROP DATABASE of pgmanage.database: the worker steps aside
($ret, $out, $err) = $node->psql('postgres', "SET statement_timeout = '20s'; DROP DATABASE second");
is($ret, 0, 'DROP DATABASE of pgmanage.database succeeds') or diag $err;
$node->wait_for_log(qr/database "second" named by pgmanage.database does not exist; waiting for it/);
pass('the launcher waits for the database');
$node->poll_query_until('watch', "SELECT pid IS NULL FROM pgm_status() WHERE process = 'worker'")
  or die;
pass('no worker while the database is missing');

# and comes back when it exists again
$node->safe_psql('postgres', 'CREATE DATABASE second');
$node->safe_psql('second', 'CREATE EXTENSION pgmanage');
pgm_wait_worker($node, 'second', 'watch');
pass('the worker starts once the database exists again');

ok(!$node->log_contains(qr/terminated by signal|was terminated by exception|server process .* exited with exit code [^01]/),
	'no crash in the whole run');
is(pgm_log_count($node, qr/does not exist; waiting for it/), 1, 'missing database logged once');

$node->stop;
done_testing();
