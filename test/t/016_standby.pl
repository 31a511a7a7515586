# On a streaming standby: a policy replicated from the primary cancels a
# standby query; pgm_status says standby; the kill record waits in shared
# memory (kill_log_pending) and is written to pgm_kill_log after promotion.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $primary = pgm_node('primary', allows_streaming => 1);
$primary->safe_psql('postgres', 'CREATE ROLE app LOGIN');
my $standby = pgm_standby($primary, 'standby');
$standby->poll_query_until('postgres',
	"SELECT pid IS NOT NULL AND extension_found FROM pgm_status() WHERE process = 'worker'")
  or die 'no worker on the standby';
is(pgm_status_field($standby, 'worker', 'server_role'), 'standby', 'pgm_status: standby');

# the policy comes by replication
my $pol = $primary->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout)
	VALUES ('on_standby', '1 s') RETURNING id});
$primary->wait_for_catchup($standby);
pgm_wait_policies($standby, 1);
pass('the standby loaded the replicated policy');

my $s = pgm_session($standby, 'on_standby', user => 'app');
my $pid = $s->query_safe('SELECT pg_backend_pid()');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'a standby query is cancelled');
$s->quit;
$standby->poll_query_until('postgres',
	"SELECT kill_log_pending = 1 AND kill_log_written = 0 AND kill_log_dropped = 0 FROM pgm_status() WHERE process = 'worker'")
  or die 'no pending record';
pass('the record is pending in memory on the standby');
is(pgm_status_field($standby, 'launcher', 'statements_cancelled'), '1', 'counted');

# the WAL sender on the primary is never touched (the policy matches it not,
# but a catch-all one would: add it and check streaming goes on)
$primary->safe_psql('postgres',
	"INSERT INTO pgm_timeout_policy (statement_timeout, exempt_superusers) VALUES ('1 s', false)");
$primary->wait_for_catchup($standby);
pgm_wait_policies($primary, 2);
my $ws = $primary->safe_psql('postgres', "SELECT pid FROM pg_stat_replication");
$primary->safe_psql('postgres', 'CREATE TABLE after_policy AS SELECT 1 AS x');
$primary->wait_for_catchup($standby);
is($primary->safe_psql('postgres', "SELECT pid FROM pg_stat_replication"), $ws, 'the WAL sender is never touched');
$primary->safe_psql('postgres', "DELETE FROM pgm_timeout_policy WHERE id <> $pol");
$primary->wait_for_catchup($standby);

# promotion: the pending record reaches the table
$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid")
  or die 'the pending record was not written after promotion';
is($standby->safe_psql('postgres', "SELECT policy_id, application_name, action FROM pgm_kill_log WHERE pid = $pid"),
	"$pol|on_standby|cancel", 'written after promotion, not lost');
is($standby->safe_psql('postgres',
		"SELECT server_role, kill_log_pending, kill_log_written FROM pgm_status() WHERE process = 'worker'"),
	'primary|0|1', 'pgm_status after promotion');

$standby->stop;
done_testing();
