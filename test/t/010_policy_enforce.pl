# Timeout policies enforced by the launcher: cancel (57014, the session
# survives), terminate, SET statement_timeout = 0 does not escape, nor does
# SET application_name (policies match the name the client connected with),
# the client is told which policy and limit, idle in transaction, a policy
# inserted while a statement runs, superuser exemption.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgmTest;

my $node = pgm_node('enforce');
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

# --- a cancel policy: the statement gets 57014, the session goes on
$node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout, action, comment)
	VALUES ('cancel_me', '1 s', 'cancel', 'test: cancel');
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout, action, comment)
	VALUES ('end_me', '1 s', 'terminate', 'test: terminate');
	INSERT INTO pgm_timeout_policy (application_name, idle_in_transaction_timeout, comment)
	VALUES ('idle_me', '1 s', 'test: idle in transaction')});
pgm_wait_policies($node, 3);

my $s = pgm_session($node, 'cancel_me', user => 'app');
my $pid = $s->query_safe('SELECT pg_backend_pid()');
# the client switches its own timeout off: the policy still holds
$s->query_safe('SET statement_timeout = 0');
pgm_run($s, 'SELECT pg_sleep(60)');
my ($out, $err) = pgm_result($s);
like($out, qr/sqlstate=57014/, 'cancel policy: statement cancelled with 57014 despite statement_timeout = 0');
my $cancel_id = $node->safe_psql('postgres', "SELECT id FROM pgm_timeout_policy WHERE application_name = 'cancel_me'");
like($err, qr/57014: canceling statement due to pgmanage timeout policy $cancel_id \(statement_timeout of 1 s\)/,
	'cancel policy: the client is told it was pgmanage\'s policy, which limit and which id');
like($err, qr/DETAIL:  The limit is set by row $cancel_id of pgmanage.pgm_timeout_policy/, 'and where to look');
is($s->query_safe('SELECT pg_backend_pid()'), $pid, 'cancel policy: the session survives (same backend)');
is($s->query_safe('SHOW statement_timeout'), '0', 'the client setting is untouched');
$s->quit;

# --- the name the client connected with holds: renaming the session does not escape
$s = pgm_session($node, 'cancel_me', user => 'app');
$s->query_safe("SET application_name = 'escaped'");
pgm_run($s, 'SELECT pg_sleep(10)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'SET application_name does not escape an application policy');
$s->query_safe("SELECT set_config('application_name', 'escaped_too', false)");
pgm_run($s, 'SELECT pg_sleep(10)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'nor does set_config()');
$s->quit;
# and a session does not fall under a policy by renaming itself later
$s = pgm_session($node, 'bystander', user => 'app');
$s->query_safe("SET application_name = 'cancel_me'");
pgm_run($s, 'SELECT pg_sleep(1.5)');
like(scalar pgm_result($s), qr/sqlstate=00000/, 'a session renamed later is matched on the name it connected with');
$s->quit;

# --- a terminate policy: the session ends
$s = pgm_session($node, 'end_me', user => 'app');
$pid = $s->query_safe('SELECT pg_backend_pid()');
pgm_run($s, 'SELECT pg_sleep(60)');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
  or die 'terminated backend still there';
my $end_id = $node->safe_psql('postgres', "SELECT id FROM pgm_timeout_policy WHERE application_name = 'end_me'");
like(pgm_quit($s), qr/57P01: terminating connection due to pgmanage timeout policy $end_id \(statement_timeout of 1 s\)/,
	'terminate policy: the session is terminated (57P01), told why');
is($node->safe_psql('postgres',
		"SELECT action || ' ' || limit_kind || ' ' || succeeded FROM pgm_kill_log WHERE pid = $pid"),
	'terminate statement_timeout true', 'terminate policy: logged');

# --- idle in transaction: terminated
$s = pgm_session($node, 'idle_me', user => 'app');
$pid = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe('BEGIN');
$s->query_safe('SELECT 1');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
  or die 'idle-in-transaction backend still there';
$s->{stdin} .= "SELECT 1;\n";
like(pgm_quit($s), qr/57P01: terminating connection due to pgmanage timeout policy \d+ \(idle_in_transaction_timeout of 1 s\)/,
	'idle in transaction: terminated, told why');
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid")
  or die 'no log row for the idle session';
is($node->safe_psql('postgres',
		"SELECT state || '|' || action || '|' || limit_kind || '|' || (duration >= '1 s') FROM pgm_kill_log WHERE pid = $pid"),
	'idle in transaction|terminate|idle_in_transaction_timeout|true',
	'idle in transaction: logged as such');

# --- a policy inserted while a statement runs applies to it
$s = pgm_session($node, 'late_policy', user => 'app');
$pid = $s->query_safe('SELECT pg_backend_pid()');
pgm_run($s, 'SELECT pg_sleep(120)');
pgm_wait_active($node, 'late_policy');
# let it run past the limit the policy will set
$node->poll_query_until('postgres',
	"SELECT now() - query_start > '1.5 s' FROM pg_stat_activity WHERE pid = $pid")
  or die 'statement did not run';
my $t0 = time;
$node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout)
	VALUES ('late_policy', '1 s')});
$node->poll_query_until('postgres',
	"SELECT state <> 'active' FROM pg_stat_activity WHERE pid = $pid")
  or die 'the late policy was not applied';
note sprintf('late policy applied %.3f s after its INSERT committed', time - $t0);
$out = pgm_result($s);
like($out, qr/sqlstate=57014/, 'a policy inserted while a statement runs cancels it');
$s->quit;

# --- superuser exemption
$node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout, exempt_superusers)
	VALUES ('su_%', '1 s', true)});
pgm_wait_policies($node, 5);
my $su = pgm_session($node, 'su_exempt');    # the bootstrap superuser
my $ap = pgm_session($node, 'su_app', user => 'app');
pgm_run($su, 'SELECT pg_sleep(3)');
pgm_run($ap, 'SELECT pg_sleep(60)');
like(scalar pgm_result($ap), qr/sqlstate=57014/, 'exempt_superusers: an ordinary role is cancelled');
like(scalar pgm_result($su), qr/sqlstate=00000/, 'exempt_superusers: the superuser statement ran to its end');
$node->safe_psql('postgres',
	"UPDATE pgm_timeout_policy SET exempt_superusers = false WHERE application_name = 'su_%'");
# (the reload is asynchronous, but a statement past its deadline is acted
# on whenever the new policy arrives, so there is no race here)
pgm_run($su, 'SELECT pg_sleep(60)');
like(scalar pgm_result($su), qr/sqlstate=57014/, 'exempt_superusers false: the superuser is cancelled');
$su->quit;
$ap->quit;

# --- transaction_timeout: no statement is over 2 s, the transaction is
$node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, transaction_timeout)
	VALUES ('xact_me', '2 s')});
pgm_wait_policies($node, 6);
$s = pgm_session($node, 'xact_me', user => 'app');
$pid = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe('BEGIN');
pgm_run($s, 'SELECT pg_sleep(1.5)');
pgm_run($s, 'SELECT pg_sleep(1.5)');
pgm_run($s, 'SELECT pg_sleep(1.5)');
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid")
  or die 'transaction limit not enforced';
like(pgm_quit($s), qr/57P01/, 'transaction_timeout: the session is terminated');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid") or die;
is($node->safe_psql('postgres', "SELECT limit_kind || '|' || action || '|' || (duration >= '2 s') FROM pgm_kill_log WHERE pid = $pid"),
	'transaction_timeout|terminate|true', 'transaction_timeout: logged');

# counters in pgm_status
is($node->safe_psql('postgres',
		"SELECT statements_cancelled >= 4 AND sessions_terminated >= 3 AND signals_failed = 0 FROM pgm_status() WHERE process = 'launcher'"),
	't', 'pgm_status counts the actions');
# every action has its LOG line
ok(pgm_log_count($node, qr/pgmanage: cancelled the statement of backend \d+ of role "app" after \d+\.\d+ s: policy \d+ statement_timeout/) >= 3,
	'LOG lines for cancellations');

$node->stop;
done_testing();
