# kill -9 of the worker: the postmaster restarts the cluster, the launcher
# and the worker come back, and the policies still hold.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('crash', conf => "restart_after_crash = on\n");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('crash_%', '1 s')});
pgm_wait_policies($node, 1);
my $wpid = pgm_status_field($node, 'worker', 'pid');
my $lpid = pgm_status_field($node, 'launcher', 'pid');
like($wpid, qr/^\d+$/, 'worker running');

my $offset = -s $node->logfile;
kill 'KILL', $wpid;
$node->wait_for_log(qr/background worker "pgmanage worker" \(PID $wpid\) was terminated by signal 9/, $offset);
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
pass('the postmaster restarts the cluster');

# both come back, new processes, policies reloaded from the table
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 2 FROM pgm_status() WHERE process IN ('launcher', 'worker') AND
	pid IS NOT NULL AND pid NOT IN ($wpid, $lpid)})
  or die 'launcher and worker did not come back';
pass('launcher and worker are back');
pgm_wait_worker($node);
pgm_wait_policies($node, 1);

my $s = pgm_session($node, 'crash_1', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the policy still holds after the crash');
$s->quit;
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE application_name = 'crash_1'"),
	'1', 'and is logged');

# the same for the launcher
$lpid = pgm_status_field($node, 'launcher', 'pid');
$offset = -s $node->logfile;
kill 'KILL', $lpid;
$node->wait_for_log(qr/background worker "pgmanage launcher" \(PID $lpid\) was terminated by signal 9/, $offset);
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 2 FROM pgm_status() WHERE process IN ('launcher', 'worker') AND pid IS NOT NULL AND pid <> $lpid})
  or die 'not back after the launcher crash';
pgm_wait_policies($node, 1);
$s = pgm_session($node, 'crash_2', user => 'app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the policy holds after a crash of the launcher');
$s->quit;

$node->stop;
done_testing();
