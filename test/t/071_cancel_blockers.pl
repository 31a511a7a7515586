# cancel_blockers_after: for a role that opts in, once its statement has
# waited on a heavyweight lock that long, the launcher signals the sessions
# it waits for (pg_blocking_pids) instead of the waiter: a blocker running a
# statement is cancelled (57014, the session survives), one idle in a
# transaction is terminated (57P01: only its end releases the lock); each is
# told why and logged with limit_kind blocking.  A superuser's blocker is
# left alone while the policy exempts superusers; a role without the policy
# cancels nobody.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('blockers');
$node->safe_psql('postgres', q{
	CREATE ROLE migrator LOGIN;
	CREATE ROLE app LOGIN;
	CREATE ROLE other LOGIN IN ROLE migrator;
	CREATE TABLE t (i int);
	INSERT INTO t VALUES (1);
	ALTER TABLE t OWNER TO migrator;
	GRANT SELECT ON t TO app;
});
my $pol = $node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (role_name, cancel_blockers_after, comment)
	VALUES ('migrator', '1 s', 'migrations go first') RETURNING id});
pgm_wait_policies($node, 1);

my $mig = pgm_session($node, 'migration', user => 'migrator');
my $mig_pid = $mig->query_safe('SELECT pg_backend_pid()');

# --- a blocker running a long statement: cancelled, the migration goes through
my $b1 = pgm_session($node, 'reporting', user => 'app');
my $b1_pid = $b1->query_safe('SELECT pg_backend_pid()');
pgm_run($b1, 'SELECT pg_sleep(60) FROM t');
pgm_wait_active($node, 'reporting');
pgm_run($mig, 'ALTER TABLE t ADD COLUMN j int');
my ($out, $err) = pgm_result($b1);
like($out, qr/sqlstate=57014/, 'the running blocker is cancelled (57014)');
like($err, qr/57014: canceling statement due to pgmanage timeout policy $pol \(cancel_blockers_after of 1 s\)/,
	'the blocker is told which policy and limit');
like($err, qr/DETAIL:  This session held a lock that process $mig_pid waited for longer than the limit set by row $pol of pgmanage.pgm_timeout_policy/,
	'and which process it blocked');
is($b1->query_safe('SELECT pg_backend_pid()'), $b1_pid, 'the blocker session survives');
like(scalar pgm_result($mig), qr/sqlstate=00000/, 'the migration goes through');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $b1_pid")
  or die 'no kill log row for the blocker';
is($node->safe_psql('postgres', qq{
	SELECT concat_ws('|', role_name, state, limit_kind, action, succeeded, policy_id, detail,
	                 duration >= '1 s', query)
	FROM pgm_kill_log WHERE pid = $b1_pid}),
	"app|active|blocking|cancel|t|$pol|blocked pid $mig_pid|t|SELECT pg_sleep(60) FROM t;",
	'pgm_kill_log: the blocker, limit_kind blocking, the pid it blocked');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid = $mig_pid"), '0',
	'the waiter itself is not signalled');
ok(pgm_log_count($node,
		qr/pgmanage: cancelled the statement of backend $b1_pid of role "app", which blocked backend $mig_pid for \d+\.\d+ s: policy $pol blocking/) == 1,
	'one LOG line');

# --- a blocker idle in a transaction: terminated (a cancel would not release the lock)
my $b2 = pgm_session($node, 'forgotten', user => 'app');
my $b2_pid = $b2->query_safe('SELECT pg_backend_pid()');
$b2->query_safe('BEGIN');
$b2->query_safe('SELECT count(*) FROM t');
pgm_run($mig, 'ALTER TABLE t ADD COLUMN k int');
like(scalar pgm_result($mig), qr/sqlstate=00000/, 'the migration goes through past an idle transaction');
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $b2_pid")
  or die 'the idle blocker is still there';
$b2->{stdin} .= "SELECT 1;\n";    # psql reads the FATAL when it next talks to the server
like(pgm_quit($b2), qr/57P01: terminating connection due to pgmanage timeout policy $pol \(cancel_blockers_after of 1 s\)/,
	'the idle-in-transaction blocker is terminated (57P01), told why');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $b2_pid") or die;
is($node->safe_psql('postgres',
		"SELECT concat_ws('|', state, limit_kind, action, detail) FROM pgm_kill_log WHERE pid = $b2_pid"),
	"idle in transaction|blocking|terminate|blocked pid $mig_pid", 'logged as a terminate');

# --- a superuser's blocker, policy exempting superusers: left alone
my $su = pgm_session($node, 'dba');
my $su_pid = $su->query_safe('SELECT pg_backend_pid()');
$su->query_safe('BEGIN');
$su->query_safe('SELECT count(*) FROM t');
my $offset = -s $node->logfile;
pgm_run($mig, 'ALTER TABLE t ADD COLUMN l int');
$node->wait_for_log(
	qr/pgmanage: backend $mig_pid waits for a lock held by superuser backend $su_pid, left alone: policy $pol exempts superusers/,
	$offset);
pass('the superuser blocker is left alone, and the LOG says so');
is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $su_pid"),
	'idle in transaction', 'the superuser keeps its transaction');
is($node->safe_psql('postgres', "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $mig_pid"),
	'Lock', 'the migration still waits');
$su->query_safe('COMMIT');
like(scalar pgm_result($mig), qr/sqlstate=00000/, 'and goes through when the superuser commits');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid = $su_pid"), '0',
	'the superuser is not in the kill log');

# --- a role without the policy: nobody is cancelled for it
my $oth = pgm_session($node, 'other_migration', user => 'other');
my $oth_pid = $oth->query_safe('SELECT pg_backend_pid()');
my $b3 = pgm_session($node, 'reporting2', user => 'app');
my $b3_pid = $b3->query_safe('SELECT pg_backend_pid()');
$b3->query_safe('BEGIN');
$b3->query_safe('SELECT count(*) FROM t');
pgm_run($oth, 'ALTER TABLE t ADD COLUMN m int');
$node->poll_query_until('postgres', qq{
	SELECT now() - l.waitstart > '2 s' FROM pg_locks l WHERE l.pid = $oth_pid AND NOT l.granted})
  or die 'the other migration does not wait';
is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $b3_pid"),
	'idle in transaction', 'a waiter without the policy cancels nobody');
$b3->query_safe('COMMIT');
like(scalar pgm_result($oth), qr/sqlstate=00000/, 'it goes through when the blocker commits');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid IN ($b3_pid, $oth_pid)"), '0',
	'nothing logged for it');

# --- both limits on one policy: the blockers go first, the waiter stays
$node->safe_psql('postgres', "UPDATE pgm_timeout_policy SET lock_wait_timeout = '30 s' WHERE id = $pol");
$b3->query_safe('BEGIN');
$b3->query_safe('SELECT count(*) FROM t');
pgm_run($mig, 'ALTER TABLE t ADD COLUMN n int');
like(scalar pgm_result($mig), qr/sqlstate=00000/, 'with lock_wait_timeout too, the blockers are cancelled first');
is($node->safe_psql('postgres', "SELECT limit_kind FROM pgm_kill_log WHERE pid = $b3_pid"), 'blocking',
	'the blocker is logged');
pgm_quit($b3);

is($node->safe_psql('postgres',
		"SELECT statements_cancelled >= 1 AND sessions_terminated >= 2 AND signals_failed = 0 FROM pgm_status() WHERE process = 'launcher'"),
	't', 'pgm_status counts the actions');

$mig->quit;
$oth->quit;
$su->quit;
$b1->quit;
$node->stop;
done_testing();
