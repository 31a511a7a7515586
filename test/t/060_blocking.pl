# pgm_blocking(): a migration (ALTER TABLE) queued behind an open
# transaction, and the readers queued behind the migration; a row lock; a
# parallel query whose leader and workers all wait (listed once); and what
# a role without pg_read_all_stats sees.  Needs several sessions, so TAP.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('blocking', preload => 0, conf => "max_prepared_transactions = 2\n");
$node->safe_psql('postgres', q{
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT i, i FROM generate_series(1, 100) i;
CREATE ROLE app LOGIN;
GRANT SELECT, UPDATE ON t TO app;
CREATE ROLE watcher LOGIN IN ROLE pg_monitor;
});
pgm_grant_usage($node, 'app');

my $cols = 'pid, blocked_by, root_blocker, depth, lock_type, lock_mode, relation_name, state,'
  . " role_name, database_name, application_name, rtrim(query, E'; \n')";

# 1. the blocked migration
my $holder = pgm_session($node, 'holder');
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT count(*) FROM t');    # ACCESS SHARE, kept: idle in transaction
my $holder_pid = pgm_pid_of($node, 'holder');

my $migr = pgm_session($node, 'migration');
pgm_run($migr, 'ALTER TABLE t ADD COLUMN w int');
my $migr_pid;
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_blocking()")
  or die "the ALTER TABLE never waited";
$migr_pid = pgm_pid_of($node, 'migration');

my $reader = pgm_session($node, 'reader', user => 'app');
pgm_run($reader, 'SELECT count(*) FROM t');
$node->poll_query_until('postgres', "SELECT count(*) = 2 FROM pgm_blocking()")
  or die "the reader never queued behind the ALTER TABLE";
my $reader_pid = pgm_pid_of($node, 'reader');

my $out = $node->safe_psql('postgres', "SELECT $cols FROM pgm_blocking() ORDER BY depth");
is($out,
	"$migr_pid|{$holder_pid}|$holder_pid|1|relation|AccessExclusiveLock|public.t|active|postgres|postgres|migration|ALTER TABLE t ADD COLUMN w int\n"
	  . "$reader_pid|{$migr_pid}|$holder_pid|2|relation|AccessShareLock|public.t|active|app|postgres|reader|SELECT count(*) FROM t",
	'the ALTER TABLE waits on the open transaction, the reader on the ALTER TABLE; both have the holder as root');

is($node->safe_psql('postgres', q{
	SELECT bool_and(wait_started IS NOT NULL AND wait_started <= clock_timestamp()
	                AND wait_seconds >= 0 AND wait_seconds < 3600)
	FROM pgm_blocking()}), 't', 'wait start and duration are filled in');

is($node->safe_psql('postgres',
	"SELECT $cols FROM pgm_blocking(include_blockers => true) WHERE depth = 0"),
	"$holder_pid|{}|$holder_pid|0||||idle in transaction|postgres|postgres|holder|SELECT count(*) FROM t",
	'include_blockers adds the root, depth 0, with what it is doing');

# 2. what a role without pg_read_all_stats sees: its own query, not others'
$out = $node->safe_psql('postgres', "SELECT pid, application_name, rtrim(query, E'; \\n'), state FROM pgm_blocking(true) ORDER BY depth",
	extra_params => [ '-U', 'app' ]);
is($out,
	"$holder_pid|holder|<insufficient privilege>|\n"
	  . "$migr_pid|migration|<insufficient privilege>|\n"
	  . "$reader_pid|reader|SELECT count(*) FROM t|active",
	'app sees the tree, but only its own query (as pg_stat_activity shows it)');
$out = $node->safe_psql('postgres', "SELECT count(*) FROM pgm_blocking(true) WHERE query = '<insufficient privilege>'",
	extra_params => [ '-U', 'watcher' ]);
is($out, '0', 'a member of pg_monitor sees every query');

$holder->query_safe('COMMIT');
like(pgm_result($migr), qr/sqlstate=00000/, 'the ALTER TABLE went through once the holder committed');
pgm_result($reader);
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_blocking(true)'), '0', 'nothing waits any more');

# 3. a row lock: the first waiter waits on the holder's transaction id; the
# relation comes from the tuple lock it holds
$holder->query_safe('BEGIN');
$holder->query_safe('UPDATE t SET v = v + 1 WHERE id = 7');
pgm_run($migr, 'UPDATE t SET v = v + 1 WHERE id = 7');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_blocking()") or die "no row-lock wait";
pgm_run($reader, 'UPDATE t SET v = v + 1 WHERE id = 7');
$node->poll_query_until('postgres', "SELECT count(*) = 2 FROM pgm_blocking()") or die "no second row-lock wait";
is($node->safe_psql('postgres', "SELECT pid, blocked_by, root_blocker, depth, lock_type, relation_name FROM pgm_blocking() ORDER BY depth"),
	"$migr_pid|{$holder_pid}|$holder_pid|1|transactionid|public.t\n"
	  . "$reader_pid|{$migr_pid}|$holder_pid|2|tuple|public.t",
	'row locks: the holder, then the first waiter on the tuple');
$holder->query_safe('COMMIT');
pgm_result($migr);
pgm_result($reader);

# 4. parallel workers: a parallel query whose leader and workers all wait
# for the same table (a parallel-safe function reads it per row) is one row
$node->safe_psql('postgres', q{
CREATE TABLE big (i int);
INSERT INTO big SELECT generate_series(1, 200000);
ANALYZE big;
CREATE TABLE side (x int);
CREATE FUNCTION side_count(int) RETURNS bigint LANGUAGE plpgsql PARALLEL SAFE
AS $$ BEGIN RETURN (SELECT count(*) FROM side); END $$;
});
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE side IN ACCESS EXCLUSIVE MODE');
my $par = pgm_session($node, 'par');
$par->query_safe(q{SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0; SET parallel_leader_participation = on});
pgm_run($par, 'SELECT sum(side_count(i)) FROM big');
# until the leader and at least one worker wait on the lock
$node->poll_query_until('postgres', q{
	SELECT count(*) >= 2 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE NOT l.granted AND (a.application_name = 'par' OR a.leader_pid IN
	      (SELECT pid FROM pg_stat_activity WHERE application_name = 'par'))})
  or die "the parallel query's processes did not wait";
my $par_pid = pgm_pid_of($node, 'par');
is($node->safe_psql('postgres', "SELECT pid, blocked_by, root_blocker, depth, application_name FROM pgm_blocking()"),
	"$par_pid|{$holder_pid}|$holder_pid|1|par",
	'the leader is listed once, its waiting workers folded into it');
$holder->query_safe('COMMIT');
like(pgm_result($par), qr/sqlstate=00000/, 'the parallel query finished');

# 5. a cycle (a deadlock the detector has not found yet: deadlock_timeout
# is long here) reaches no root: root_blocker and depth are NULL
$node->safe_psql('postgres', 'CREATE TABLE a1 (x int); CREATE TABLE a2 (x int)');
$holder->query_safe("SET deadlock_timeout = '1h'");
$migr->query_safe("SET deadlock_timeout = '1h'");
$holder->query_safe('BEGIN; LOCK TABLE a1');
$migr->query_safe('BEGIN; LOCK TABLE a2');
pgm_run($holder, 'LOCK TABLE a2');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_blocking()") or die "no first wait";
pgm_run($migr, 'LOCK TABLE a1');
$node->poll_query_until('postgres', "SELECT count(*) = 2 FROM pgm_blocking()") or die "no cycle";
my @cycle = sort { (split /\|/, $a)[0] <=> (split /\|/, $b)[0] }
  ("$holder_pid|{$migr_pid}|t|t", "$migr_pid|{$holder_pid}|t|t");
is($node->safe_psql('postgres',
	"SELECT pid, blocked_by, root_blocker IS NULL, depth IS NULL FROM pgm_blocking() ORDER BY pid"),
	join("\n", @cycle), 'a cycle: each waits for the other, no root, no depth');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgm_blocking(true) WHERE depth = 0'), '0',
	'a cycle has no root to add');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($migr_pid)");
pgm_result($migr);
$migr->query_safe('ROLLBACK');
pgm_result($holder);
$holder->query_safe('ROLLBACK');

# 6. a prepared transaction holds locks without a backend: pid 0
$node->safe_psql('postgres', "BEGIN; LOCK TABLE a1; PREPARE TRANSACTION 'held'");
pgm_run($migr, 'SELECT count(*) FROM a1');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_blocking()") or die "no wait on the prepared transaction";
is($node->safe_psql('postgres', "SELECT pid, blocked_by, root_blocker, depth FROM pgm_blocking(true) ORDER BY depth"),
	"0|{}|0|0\n$migr_pid|{0}|0|1", 'a prepared transaction blocks as pid 0');
$node->safe_psql('postgres', "ROLLBACK PREPARED 'held'");
pgm_result($migr);

pgm_quit($_) for ($holder, $migr, $reader, $par);
$node->stop;
done_testing();
