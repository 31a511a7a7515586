# pgm_size_report() never waits on a relation lock: a table held ACCESS
# EXCLUSIVE (LOCK TABLE, an uncommitted ALTER TABLE rewrite, an uncommitted
# DROP) is still reported and flagged, and a table dropped before or while
# the report runs is skipped, never an error.  Each report runs in its own
# psql with statement_timeout = 10s (and a psql timeout) so that a hang
# fails a test instead of the suite.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('size_locks', conf => q{
autovacuum = off
max_prepared_transactions = 2
});
$node->safe_psql('postgres', q{
CREATE TABLE t_locked (id int PRIMARY KEY, doc text);
CREATE TABLE t_rewrite (id int PRIMARY KEY, doc text);
CREATE TABLE t_drop (id int PRIMARY KEY, doc text);
CREATE TABLE t_plain (id int PRIMARY KEY, doc text);
CREATE TABLE t_prepared (id int PRIMARY KEY, doc text);
INSERT INTO t_locked SELECT g, repeat('l', 100) FROM generate_series(1, 5000) g;
INSERT INTO t_rewrite SELECT g, repeat('r', 100) FROM generate_series(1, 5000) g;
INSERT INTO t_drop SELECT g, repeat('d', 100) FROM generate_series(1, 100) g;
INSERT INTO t_plain SELECT g, repeat('p', 100) FROM generate_series(1, 100) g;
CREATE ROLE plain LOGIN;
GRANT EXECUTE ON FUNCTION pgm_size_report(text, bigint, boolean, boolean) TO plain;
GRANT SELECT ON t_locked, t_rewrite TO plain;
});
pgm_grant_usage($node, 'plain');
my %before = map { split /\|/ } split /\n/, $node->safe_psql('postgres', q{
	SELECT relname, pg_total_relation_size(oid) FROM pg_class
	WHERE relname IN ('t_locked', 't_rewrite')});

# Run a query in its own psql, bounded by statement_timeout and a psql
# timeout; returns (exit code, stdout, stderr).
sub bounded
{
	my ($sql, %opts) = @_;
	my ($stdout, $stderr);
	my $rc = $node->psql('postgres', "SET statement_timeout = '$opts{timeout}';\n$sql",
		stdout => \$stdout, stderr => \$stderr, timeout => 30,
		$opts{user} ? (extra_params => [ '-U', $opts{user} ]) : ());
	return ($rc, $stdout, $stderr);
}

sub report
{
	my ($sql, %opts) = @_;
	return bounded($sql, timeout => '10s', %opts);
}

my $report_sql = q{
	SELECT relation_name, total_bytes, coalesce(note, '')
	FROM pgm_size_report('public', include_indexes => true)
	ORDER BY relation_name};

# hold ACCESS EXCLUSIVE three ways, in sessions left open
my $s_lock = $node->background_psql('postgres');
my $pid_lock = $s_lock->query_safe('SELECT pg_backend_pid()');
$s_lock->query_safe('BEGIN; LOCK TABLE t_locked IN ACCESS EXCLUSIVE MODE');
my $s_rewrite = $node->background_psql('postgres');
my $pid_rewrite = $s_rewrite->query_safe('SELECT pg_backend_pid()');
$s_rewrite->query_safe('BEGIN; ALTER TABLE t_rewrite ADD COLUMN r float8 DEFAULT random()');
# a prepared transaction holds its lock with no backend (pid 0 in pg_locks)
$node->safe_psql('postgres', q{
	BEGIN; LOCK TABLE t_prepared IN ACCESS EXCLUSIVE MODE; PREPARE TRANSACTION 'held'});
my $s_drop = $node->background_psql('postgres');
my $pid_drop = $s_drop->query_safe('SELECT pg_backend_pid()');
$s_drop->query_safe('BEGIN; DROP TABLE t_drop');

# the locks are real: PostgreSQL's own size function waits for them
my ($rc, $out, $err) = bounded(
	"SELECT pg_total_relation_size('t_locked')", timeout => '1s');
like($err, qr/canceling statement due to statement timeout/,
	'control: pg_total_relation_size waits behind the ACCESS EXCLUSIVE lock');

# the report does not
($rc, $out, $err) = report($report_sql);
is($rc, 0, 'report with three tables locked: no error, no timeout')
  or diag $err;
my %rows = map { my @f = split /\|/, $_, -1; ($f[0] => [ @f[ 1, 2 ] ]) } split /\n/, $out;
ok(exists $rows{t_locked}, 'locked table reported');
is($rows{t_locked}[0], $before{t_locked}, 'locked table: size read from its files');
like($rows{t_locked}[1], qr/^ACCESS EXCLUSIVE lock held by pid $pid_lock\b/,
	'locked table: flagged in note with the holder');
ok(exists $rows{t_rewrite}, 'table being rewritten reported');
is($rows{t_rewrite}[0], $before{t_rewrite},
	'table being rewritten: its committed files are measured');
like($rows{t_rewrite}[1], qr/^ACCESS EXCLUSIVE lock held by pid $pid_rewrite\b/,
	'table being rewritten: flagged in note');
like($rows{t_drop}[1] // '', qr/^ACCESS EXCLUSIVE lock held by pid $pid_drop\b/,
	'table being dropped (uncommitted): still reported, flagged');
like($rows{t_prepared}[1] // '', qr/^ACCESS EXCLUSIVE lock held by a prepared transaction\b/,
	'table locked by a prepared transaction: flagged');
is($rows{t_plain}[1], '', 'an unlocked table has no note');
ok(exists $rows{t_locked_pkey}, 'index of the locked table reported');

# a role without pg_read_all_stats goes through the privilege checks
($rc, $out, $err) = report(q{
	SELECT relation_name, coalesce(note, '') <> '' FROM pgm_size_report()
	ORDER BY 1}, user => 'plain');
is($rc, 0, 'plain role: no error, no timeout') or diag $err;
is($out, "t_locked|t\nt_rewrite|t", 'plain role: sees only its tables, flagged');

# commit the drop and the rewrite: the dropped table is skipped
$s_drop->query_safe('COMMIT');
$s_rewrite->query_safe('COMMIT');
($rc, $out, $err) = report($report_sql);
is($rc, 0, 'report after the drop: no error') or diag $err;
%rows = map { my @f = split /\|/, $_, -1; ($f[0] => [ @f[ 1, 2 ] ]) } split /\n/, $out;
ok(!exists $rows{t_drop} && !exists $rows{t_drop_pkey}, 'dropped table skipped');
ok($rows{t_rewrite}[0] > $before{t_rewrite}, 'rewritten table: the new files are measured');
is($rows{t_rewrite}[1], '', 'rewritten table: no longer flagged');
like($rows{t_locked}[1], qr/^ACCESS EXCLUSIVE/, 'locked table: still flagged');

# tables created and dropped while reports run: never an error, for a
# superuser or for a role whose privileges are checked per table
my $churn = $node->background_psql('postgres', timeout => 60, on_error_stop => 0);
$churn->query_until(qr/churning/, q{
\echo churning
DO $$
BEGIN
  FOR i IN 1..100000 LOOP
    EXECUTE format('CREATE TABLE churn_%s (id int PRIMARY KEY, doc text)', i % 10);
    EXECUTE format('GRANT SELECT ON churn_%s TO plain', i % 10);
    COMMIT;
    EXECUTE format('DROP TABLE churn_%s', i % 10);
    COMMIT;
    EXIT WHEN clock_timestamp() - statement_timestamp() > interval '20 seconds';
  END LOOP;
END $$;
});
my @failures;
my $reports = 0;
for my $i (1 .. 150)
{
	my $user = $i % 2 ? 'plain' : 'postgres';
	($rc, $out, $err) = report('SELECT count(*) FROM pgm_size_report()',
		user => $user);
	$reports++;
	push @failures, "$user: $err" if $rc != 0;
	last if @failures >= 3;
}
is_deeply(\@failures, [], "$reports reports during create/drop churn: no error");
$node->safe_psql('postgres', q{
	SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE query LIKE 'DO $$%churn_%' AND pid <> pg_backend_pid()});
$churn->query('SELECT 1');

$s_lock->query_safe('COMMIT');
$node->safe_psql('postgres', "COMMIT PREPARED 'held'");
$_->quit for ($s_lock, $s_rewrite, $s_drop, $churn);
$node->stop('fast');
done_testing();
