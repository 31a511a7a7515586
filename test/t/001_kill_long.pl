# pgm_kill_long(): what it signals, what it leaves alone, and who may
# signal whom.  Every check here needs a second session, so it lives in TAP
# rather than in sql/kill_long.sql.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('kill_long', conf => q{
compute_query_id = on
autovacuum_naptime = 1s
});
$node->safe_psql('postgres', q{
CREATE ROLE signaller LOGIN;
GRANT pg_signal_backend TO signaller;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
GRANT EXECUTE ON FUNCTION pgm_kill_long(interval, text, boolean, boolean) TO alice;
});
pgm_grant_usage($node, 'alice', 'bob');

# A background psql session (errors do not end it) that reports SQLSTATEs.
sub session
{
	my (%opts) = @_;
	my @extra = $opts{user} ? ('-U', $opts{user}) : ();
	my $s = $node->background_psql('postgres', on_error_stop => 0,
		extra_params => \@extra);
	$s->query_safe('\set VERBOSITY verbose');
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	return ($s, $pid);
}

# Start a long pg_sleep in a session and wait until it has been running
# for more than a second.
sub start_sleep
{
	my ($s, $pid, $prefix) = @_;
	$prefix //= '';
	$s->{stderr} = '';
	$s->query_until(qr/sleeping/, "\\echo sleeping\n${prefix}SELECT pg_sleep(300);\n");
	$node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_stat_activity
		WHERE pid = $pid AND state = 'active' AND query LIKE '%pg_sleep(300)%'
		  AND clock_timestamp() - query_start > interval '1 second'})
	  or die "session $pid did not start sleeping";
}

# The next statement in a session runs once the sleep has ended: return
# its output and what the session wrote to stderr.
sub after_sleep
{
	my ($s) = @_;
	my $out = $s->query("SELECT 'alive'");
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return ($out, $err);
}

sub gone
{
	my ($pid) = @_;
	return $node->poll_query_until('postgres',
		"SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid)");
}

sub still_sleeping
{
	my ($pid) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT state FROM pg_stat_activity
		WHERE pid = $pid AND query LIKE '%pg_sleep(300)%'});
}

# Run pgm_kill_long and return the rows for one pid as "a|b|c" lines.
sub kill_long
{
	my ($args, $pid, %opts) = @_;
	my @extra = $opts{user} ? (extra_params => [ '-U', $opts{user} ]) : ();
	return $node->safe_psql('postgres', qq{
		SELECT action_taken, signalled, coalesce(reason, '')
		FROM pgm_kill_long($args) WHERE pid = $pid}, @extra);
}

# --- cancel: the statement ends with 57014, the session survives, LOG line
my ($s1, $pid1) = session();
start_sleep($s1, $pid1);
my $log_offset = -s $node->logfile;
my $row = $node->safe_psql('postgres', qq{
	SELECT action_taken, signalled, coalesce(reason, ''), state,
	       duration > interval '1 second', query, query_id
	FROM pgm_kill_long('1 second') WHERE pid = $pid1});
like($row, qr/^cancel\|t\|\|active\|t\|SELECT pg_sleep\(300\);\|-?\d+$/,
	'cancel: a long statement is reported and signalled');
my $qid = (split /\|/, $row)[-1] // 'none';
my ($out, $err) = after_sleep($s1);
like($err, qr/ERROR:  57014: canceling statement due to user request/,
	'cancel: the statement failed with SQLSTATE 57014');
is($out, 'alive', 'cancel: the session survives');
$node->wait_for_log(
	qr/LOG:  pgmanage: pgm_kill_long sent cancel to backend $pid1 of role "\w+" after \d+\.\d{3} s \(query id \Q$qid\E\)/,
	$log_offset);
pass('cancel: logged at LOG with pid, role, duration and query id');

# --- terminate: the session is gone
start_sleep($s1, $pid1);
$log_offset = -s $node->logfile;
is(kill_long("'1 second', 'terminate'", $pid1), 'terminate|t|',
	'terminate: reported and signalled');
ok(gone($pid1), 'terminate: the session is gone');
$node->wait_for_log(qr/FATAL:  terminating connection due to administrator command/,
	$log_offset);
pass('terminate: the backend logged its termination');
$node->wait_for_log(qr/pgm_kill_long sent terminate to backend $pid1 /, $log_offset);
pass('terminate: logged at LOG');
$s1->{run}->finish;

# --- self-exclusion: its own backend is over the limit and left alone
# (no other session is running now: the 1 microsecond limit would end it)
is( $node->safe_psql('postgres', q{
		SELECT action_taken, signalled, reason
		FROM pgm_kill_long('1 microsecond', 'terminate', true)
		WHERE pid = pg_backend_pid()}),
	'terminate|f|own backend',
	'self: its own backend is reported, not signalled');

# --- dry run: nothing is signalled
my ($s2, $pid2) = session();
start_sleep($s2, $pid2);
$log_offset = -s $node->logfile;
is(kill_long("'1 second', 'terminate', dry_run => true", $pid2),
	'terminate|f|dry run', 'dry run: reported as a dry run');
is(still_sleeping($pid2), 'active', 'dry run: the statement still runs');
ok(slurp_file($node->logfile, $log_offset) !~ /pgm_kill_long sent/,
	'dry run: nothing logged');

# --- a limit longer than the statement: not even reported
is(kill_long("'1 hour'", $pid2), '', 'a statement under the limit is not reported');

# --- superuser protection: a pg_signal_backend member may not signal a
# superuser's backend (s2 runs as the bootstrap superuser) ...
like(kill_long("'1 second'", $pid2, user => 'signaller'),
	qr/^cancel\|f\|target is a superuser's backend/,
	'pg_signal_backend member: superuser backend refused with a reason');
is(still_sleeping($pid2), 'active', 'the superuser backend was not signalled');
# ... but may signal another role's
my ($sb, $pidb) = session(user => 'bob');
start_sleep($sb, $pidb);
is(kill_long("'1 second'", $pidb, user => 'signaller'), 'cancel|t|',
	'pg_signal_backend member: another role\'s backend is signalled');
($out, $err) = after_sleep($sb);
like($err, qr/57014/, 'bob\'s statement was cancelled');
# ... and a superuser may signal a superuser's
is(kill_long("'1 second'", $pid2), 'cancel|t|', 'superuser: superuser backend signalled');
($out, $err) = after_sleep($s2);
like($err, qr/57014/, 'the superuser\'s statement was cancelled');

# --- same role: alice (EXECUTE granted, no pg_signal_backend) may signal
# her own other session but not bob's
my ($sa, $pida) = session(user => 'alice');
start_sleep($sa, $pida);
start_sleep($sb, $pidb);
my $rows = $node->safe_psql('postgres', qq{
	SELECT pid = $pida, role_name, signalled, coalesce(reason, ''), query
	FROM pgm_kill_long('1 second') WHERE pid IN ($pida, $pidb)
	ORDER BY pid = $pida}, extra_params => [ '-U', 'alice' ]);
is( $rows,
	"f|bob|f|permission denied: caller is neither a member of the target's role nor of pg_signal_backend|<insufficient privilege>\n"
	  . "t|alice|t||SELECT pg_sleep(300);",
	'plain role: own role signalled, another role refused');
($out, $err) = after_sleep($sa);
like($err, qr/57014/, 'alice\'s other session was cancelled');
is(still_sleeping($pidb), 'active', 'bob\'s session was not signalled');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pidb)");
after_sleep($sb);

# --- idle in transaction: terminated only when asked
my ($s3, $pid3) = session();
$s3->query_safe('BEGIN; SELECT 1');
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE pid = $pid3 AND state = 'idle in transaction'
	  AND clock_timestamp() - state_change > interval '1 second'})
  or die 'session did not become idle in transaction';
is(kill_long("'1 second', 'terminate'", $pid3), '',
	'idle in transaction: not considered by default');
is( $node->safe_psql('postgres', "SELECT state FROM pg_stat_activity WHERE pid = $pid3"),
	'idle in transaction', 'idle in transaction: left alone by default');
is(kill_long("'1 second', 'cancel', include_idle_in_transaction => true", $pid3),
	'terminate|t|', 'idle in transaction: terminated when asked, even with cancel');
ok(gone($pid3), 'idle in transaction: the session is gone');
$s3->{run}->finish;

# --- parallel workers: the leader is the target, never the worker
my ($s4, $pid4) = session();
# force_parallel_mode is called debug_parallel_query since PostgreSQL 16
$s4->query_safe($node->safe_psql('postgres', 'SHOW server_version_num') >= 160000
	? 'SET debug_parallel_query = on' : 'SET force_parallel_mode = on');
start_sleep($s4, $pid4);
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE leader_pid = $pid4 AND backend_type = 'parallel worker' AND state = 'active'})
  or die 'no parallel worker';
$rows = $node->safe_psql('postgres', qq{
	SELECT a.backend_type
	FROM pgm_kill_long('1 second', dry_run => true) k
	JOIN pg_stat_activity a USING (pid)
	WHERE a.pid = $pid4 OR a.leader_pid = $pid4});
is($rows, 'client backend', 'parallel query: only the leader is reported');
is(kill_long("'1 second'", $pid4), 'cancel|t|', 'parallel query: the leader is cancelled');
($out, $err) = after_sleep($s4);
like($err, qr/57014/, 'parallel query: the statement was cancelled');

# --- autovacuum and other background processes are never in the result.
# A throttled autovacuum of a table full of dead rows stays active.
$node->safe_psql('postgres', q{
	CREATE TABLE slow_vac (id int, pad text)
	  WITH (autovacuum_vacuum_cost_limit = 1, autovacuum_vacuum_cost_delay = 100);
	INSERT INTO slow_vac SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
	DELETE FROM slow_vac;
});
$node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity
	WHERE backend_type = 'autovacuum worker' AND state = 'active'
	  AND query LIKE '%slow_vac%'
	  AND clock_timestamp() - query_start > interval '1 second'})
  or die 'autovacuum did not start on slow_vac';
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity a
		JOIN pgm_kill_long('1 second', dry_run => true) k USING (pid)
		WHERE a.backend_type <> 'client backend'}),
	'0', 'no background process is in the result');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM pgm_kill_long('1 microsecond', 'terminate', true, true) k
		WHERE k.pid NOT IN (SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend')}),
	'0', 'not even with a tiny limit');

$_->quit for ($s2, $sa, $sb, $s4);
$node->stop('fast');
done_testing();
