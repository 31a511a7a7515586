# The xmin horizon and wraparound, for real: a prepared transaction, a
# long-open repeatable-read transaction, and transaction IDs consumed until
# the wraparound thresholds (set low) are crossed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

# autovacuum_freeze_max_age at its minimum (100000): 1000 transactions are 1 %
# the rows as psql shows them, in the test's log (the docs' examples come from there)
sub show
{
	my ($node, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-P', 'format=aligned', '-P', 'tuples_only=off' ]);
	note("$sql\n$out$err");
}

my $node = pgm_node('horizon', conf => "max_prepared_transactions = 5\nautovacuum = off\n"
	  . "autovacuum_freeze_max_age = 100000\nautovacuum_multixact_freeze_max_age = 100000\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t (x int);
	CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$
	BEGIN
	    FOR i IN 1 .. n LOOP
	        PERFORM pg_current_xact_id();
	        COMMIT;
	    END LOOP;
	END $$;});

# 1. nothing holds the horizon back
ok( $node->poll_query_until('postgres',
		"SELECT status || ' ' || value || ' ' || detail FROM pgm_health() WHERE check_name = 'xmin_horizon'",
		'ok 0 nothing holds the xmin horizon back'), 'xmin_horizon: nothing');

# 2. a prepared transaction
$node->safe_psql('postgres', "BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'pgm_gid'");
$node->safe_psql('postgres', 'CALL burn(50)');
is($node->safe_psql('postgres', q{
	SELECT holder || ' ' || database_name || ' ' || state || ' ' || (xmin_age >= 50) || ' ' || is_horizon
	       || ' ' || (since IS NOT NULL) || ' ' || (duration_seconds >= 0)
	FROM pgm_xmin_horizon() WHERE kind = 'prepared_transaction'}), 'pgm_gid postgres prepared true true true true',
	'pgm_xmin_horizon: the prepared transaction holds the horizon');
like($node->safe_psql('postgres', "SELECT status || ': ' || detail FROM pgm_health() WHERE check_name = 'prepared_transactions'"),
	qr/^ok: 1 prepared, the oldest pgm_gid \(database postgres, owner \w+\) since /, 'prepared_transactions: ok at first');
{
	# (poll_query_until prints what SET says: thresholds for its sessions through PGOPTIONS)
	local $ENV{PGOPTIONS} = '-c pgmanage.health_prepared_transactions_warning=1s';
	ok( $node->poll_query_until('postgres', q{
		SELECT status = 'warning' AND value >= 1 AND warning_at = 1 FROM pgm_health() WHERE check_name = 'prepared_transactions'}),
		'prepared_transactions: warning past 1s');
}
is($node->safe_psql('postgres', q{
	SET pgmanage.health_xmin_horizon_warning = 10;
	SELECT status || ' ' || (detail LIKE 'prepared_transaction pgm_gid (database postgres) holds the xmin horizon % transactions back, since %')
	FROM pgm_health() WHERE check_name = 'xmin_horizon'}), 'warning true', 'xmin_horizon: warning past 10 transactions');

# 3. a long transaction with a snapshot: the oldest backend holder, and long_transactions
my $s = pgm_session($node, 'holder');
$s->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$s->query_safe('SELECT count(*) FROM t');
my $pid = $s->query_safe('SELECT pg_backend_pid()');
$node->safe_psql('postgres', "COMMIT PREPARED 'pgm_gid'");
$node->safe_psql('postgres', 'CALL burn(30)');
is($node->safe_psql('postgres', q{
	SELECT kind || ' ' || application_name || ' ' || state || ' ' || (xmin_age >= 30) || ' ' || is_horizon || ' ' || (query LIKE 'SELECT pg_backend_pid()%')
	FROM pgm_xmin_horizon() ORDER BY xmin_age DESC LIMIT 1}),
	"backend holder idle in transaction true true true", 'pgm_xmin_horizon: the idle-in-transaction session holds it now');
is($node->safe_psql('postgres', "SELECT pid FROM pgm_xmin_horizon() WHERE is_horizon"), $pid, 'with its pid');
show($node, 'SELECT * FROM pgm_xmin_horizon()');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgm_xmin_horizon() WHERE kind = 'prepared_transaction'"), '0',
	'the committed prepared transaction is gone');
{
	local $ENV{PGOPTIONS} = '-c pgmanage.health_long_transactions_warning=1s -c pgmanage.health_long_transactions_critical=2s';
	ok( $node->poll_query_until('postgres', q{
		SELECT status = 'critical' AND detail LIKE 'pid % idle in transaction): transaction open for % s'
		FROM pgm_health() WHERE check_name = 'long_transactions'}), 'long_transactions: critical past 2s');
}
$s->query_safe('COMMIT');
$s->quit;
is($node->safe_psql('postgres', "SELECT status || ' ' || value FROM pgm_health() WHERE check_name = 'long_transactions'"),
	'ok 0', 'long_transactions: ok once it ends');

# 4. wraparound: burn transaction IDs past 1 % then 2 % of autovacuum_freeze_max_age
my $pct = $node->safe_psql('postgres', "SELECT max(xid_pct) FROM pgm_wraparound()");
cmp_ok($pct, '<', 1, "wraparound: under 1 % at first ($pct)");
is($node->safe_psql('postgres', q{
	SET pgmanage.health_wraparound_warning = 1;
	SET pgmanage.health_wraparound_critical = 2;
	SELECT status FROM pgm_health() WHERE check_name = 'wraparound'}), 'ok', 'wraparound ok');
$node->safe_psql('postgres', 'CALL burn(1100)');
is($node->safe_psql('postgres', q{
	SET pgmanage.health_wraparound_warning = 1;
	SET pgmanage.health_wraparound_critical = 2;
	SELECT status || ' ' || (value >= 1) || ' ' || (detail LIKE 'database % (% of autovacuum_freeze_max_age)%')
	FROM pgm_health() WHERE check_name = 'wraparound'}), 'warning true true', 'wraparound warning past 1 %');
$node->safe_psql('postgres', 'CALL burn(1100)');
is($node->safe_psql('postgres', q{
	SET pgmanage.health_wraparound_warning = 1;
	SET pgmanage.health_wraparound_critical = 2;
	SELECT status FROM pgm_health() WHERE check_name = 'wraparound'}), 'critical', 'critical past 2 %');
is($node->safe_psql('postgres', q{
	SELECT (xid_age >= 2200) || ' ' || xid_freeze_max_age || ' ' || (xid_pct >= 2.2) || ' ' || mxid_freeze_max_age
	FROM pgm_wraparound() WHERE database_name = 'postgres'}), 'true 100000 true 100000', 'pgm_wraparound: the ages and limits');
show($node, 'SELECT * FROM pgm_wraparound()');
# VACUUM FREEZE of every database brings it back
$node->safe_psql($_, 'VACUUM FREEZE') for ('template1', 'postgres');
$node->safe_psql('postgres', "ALTER DATABASE template0 ALLOW_CONNECTIONS true");
$node->safe_psql('template0', 'VACUUM FREEZE');
is($node->safe_psql('postgres', q{
	SET pgmanage.health_wraparound_warning = 1;
	SELECT status FROM pgm_health() WHERE check_name = 'wraparound'}), 'ok', 'ok after VACUUM FREEZE');

$node->stop;
done_testing();
