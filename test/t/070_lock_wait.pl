# lock_wait_timeout: a migration that queues ACCESS EXCLUSIVE behind an open
# transaction is cancelled by the launcher once it has waited on the lock
# longer than its policy allows (57014, the client is told which policy;
# pgm_kill_log says lock_wait), whatever the session set for lock_timeout;
# the transaction it waited for is not touched; a role without the policy
# keeps waiting; a wait on a row lock counts too; a statement that runs
# (without waiting) past the limit is not affected.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('lockwait');
$node->safe_psql('postgres', q{
	CREATE ROLE migrator LOGIN;
	CREATE ROLE app LOGIN;
	CREATE ROLE other LOGIN IN ROLE migrator;   -- may ALTER migrator's tables, no policy of its own
	CREATE TABLE t (i int PRIMARY KEY);
	INSERT INTO t VALUES (1), (2);
	ALTER TABLE t OWNER TO migrator;
	GRANT SELECT, UPDATE ON t TO app;
});
my $pol = $node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (role_name, lock_wait_timeout, comment)
	VALUES ('migrator', '2 s', 'migrations fail fast') RETURNING id});
pgm_wait_policies($node, 1);

# --- the blocker: an open transaction that read t (ACCESS SHARE held)
my $blocker = pgm_session($node, 'blocker', user => 'app');
my $blocker_pid = $blocker->query_safe('SELECT pg_backend_pid()');
$blocker->query_safe('BEGIN');
$blocker->query_safe('SELECT count(*) FROM t');

# --- the migration: its own lock_timeout switched off, it queues behind the blocker
my $mig = pgm_session($node, 'migration', user => 'migrator');
my $mig_pid = $mig->query_safe('SELECT pg_backend_pid()');
$mig->query_safe('SET lock_timeout = 0');
# a role without the policy, queued behind the same blocker
my $oth = pgm_session($node, 'other_migration', user => 'other');
my $oth_pid = $oth->query_safe('SELECT pg_backend_pid()');
pgm_run($mig, 'ALTER TABLE t ADD COLUMN j int');
$node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $mig_pid")
  or die 'the migration did not wait on the lock';
pass('the migration waits on the lock (pg_stat_activity: wait_event_type Lock)');
pgm_run($oth, 'ALTER TABLE t ADD COLUMN k int');
$node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $oth_pid")
  or die 'the other migration did not wait on the lock';

my ($out, $err) = pgm_result($mig);
like($out, qr/sqlstate=57014/, 'the waiting migration is cancelled (57014) despite SET lock_timeout = 0');
like($err, qr/57014: canceling statement due to pgmanage timeout policy $pol \(lock_wait_timeout of 2 s\)/,
	'the client is told which policy and limit');
like($err, qr/DETAIL:  The limit is set by row $pol of pgmanage.pgm_timeout_policy/, 'and where to look');
is($mig->query_safe('SELECT pg_backend_pid()'), $mig_pid, 'the migration session survives');
is($mig->query_safe('SHOW lock_timeout'), '0', 'its lock_timeout is untouched');

$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $mig_pid")
  or die 'no kill log row for the migration';
is($node->safe_psql('postgres', qq{
	SELECT concat_ws('|', role_name, state, limit_kind, action, succeeded, policy_id, source,
	                 duration >= '2 s', query)
	FROM pgm_kill_log WHERE pid = $mig_pid}),
	"migrator|active|lock_wait|cancel|t|$pol|policy|t|ALTER TABLE t ADD COLUMN j int;",
	'pgm_kill_log: limit_kind lock_wait, the waiting statement, at least the limit');
ok(pgm_log_count($node,
		qr/pgmanage: cancelled the statement of backend $mig_pid of role "migrator" after \d+\.\d+ s: policy $pol lock_wait/) == 1,
	'one LOG line');

# --- the blocker is not touched; the role without the policy keeps waiting
$node->poll_query_until('postgres', qq{
	SELECT now() - l.waitstart > '3 s' FROM pg_locks l
	WHERE l.pid = $oth_pid AND NOT l.granted})
  or die 'the other migration does not wait';
is($node->safe_psql('postgres', "SELECT wait_event_type || '|' || state FROM pg_stat_activity WHERE pid = $oth_pid"),
	'Lock|active', 'a role without the policy keeps waiting past the limit');
is($node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $blocker_pid"),
	'idle in transaction', 'the blocker keeps its transaction');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid IN ($blocker_pid, $oth_pid)"),
	'0', 'neither is in the kill log');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'j'"),
	'0', 'the cancelled ALTER TABLE changed nothing');
$blocker->query_safe('COMMIT');
like(scalar pgm_result($oth), qr/sqlstate=00000/, 'the unlimited migration goes through once the blocker commits');

# --- a row lock is a heavyweight lock too (transactionid)
$blocker->query_safe('BEGIN');
$blocker->query_safe('UPDATE t SET i = i WHERE i = 1');
pgm_run($mig, 'UPDATE t SET i = i WHERE i = 1');
($out, $err) = pgm_result($mig);
like($out, qr/sqlstate=57014/, 'a wait for a row lock is cancelled too');
$node->poll_query_until('postgres', "SELECT count(*) = 2 FROM pgm_kill_log WHERE pid = $mig_pid")
  or die 'no second kill log row';
is($node->safe_psql('postgres',
		"SELECT limit_kind || '|' || query FROM pgm_kill_log WHERE pid = $mig_pid ORDER BY id DESC LIMIT 1"),
	'lock_wait|UPDATE t SET i = i WHERE i = 1;', 'logged as lock_wait');
$blocker->query_safe('COMMIT');

$mig->quit;

# --- a statement that runs past the limit without waiting on a lock: untouched
# (a new session: psql's LAST_ERROR_SQLSTATE keeps the last error's code)
my $mig2 = pgm_session($node, 'migration2', user => 'migrator');
my $mig2_pid = $mig2->query_safe('SELECT pg_backend_pid()');
pgm_run($mig2, 'SELECT pg_sleep(3)');
like(scalar pgm_result($mig2), qr/sqlstate=00000/, 'a long statement that never waits on a lock runs to its end');
# and a short wait ends on its own: the lock is granted before the limit
$blocker->query_safe('BEGIN');
$blocker->query_safe('SELECT count(*) FROM t');
pgm_run($mig2, 'ALTER TABLE t ADD COLUMN j int');
$node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $mig2_pid")
  or die 'the migration did not wait on the lock';
$blocker->query_safe('COMMIT');
like(scalar pgm_result($mig2), qr/sqlstate=00000/, 'a wait shorter than the limit goes through');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_kill_log WHERE pid = $mig2_pid"), '0',
	'nothing in the kill log for it');
$mig2->quit;
$oth->quit;
$blocker->quit;
$node->stop;
done_testing();
