# Replication health: a streaming standby on a physical slot, its lag once
# replay is paused (seen from the primary and from the standby itself),
# standby feedback holding the xmin horizon, then an inactive slot that
# retains WAL, and a slot past max_slot_wal_keep_size (critical).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

# the rows as psql shows them, in the test's log (the docs' examples come from there)
sub show
{
	my ($node, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-P', 'format=aligned', '-P', 'tuples_only=off' ]);
	note("$sql\n$out$err");
}

my $primary = pgm_node('primary', allows_streaming => 1, conf => "autovacuum = off\n");
$primary->safe_psql('postgres', q{
	SELECT pg_create_physical_replication_slot('standby_slot');
	CREATE TABLE filler (g int, t text);});
my $standby = pgm_standby($primary, 'standby',
	conf => "primary_slot_name = 'standby_slot'\nhot_standby_feedback = on\nwal_receiver_status_interval = '1s'\n");
$primary->wait_for_catchup($standby);

# 1. streaming: one row per standby on the primary, one 'local' row on the standby
ok( $primary->poll_query_until('postgres', q{
	SELECT kind = 'standby' AND state = 'streaming' AND slot_name = 'standby_slot'
	       AND replay_lag_bytes = 0 AND replay_lag_seconds IS NOT NULL
	FROM pgm_replication()}), 'the primary shows the streaming standby, caught up');
is($primary->safe_psql('postgres', "SELECT status FROM pgm_health() WHERE check_name = 'replication_lag'"),
	'ok', 'replication_lag is ok');
ok( $standby->poll_query_until('postgres', q{
	SELECT kind || ' ' || state || ' ' || slot_name || ' ' || (replay_lag_bytes = 0) || ' ' || replay_paused
	FROM pgm_replication()}, 'local streaming standby_slot true false'), 'the standby shows itself, streaming');
# hot_standby_feedback through a slot sets the slot's xmin; without a slot, the WAL sender's
ok( $primary->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pgm_xmin_horizon()
	WHERE kind = 'replication_slot' AND holder = 'standby_slot' AND state = 'active' AND xmin_age >= 0}),
	'hot_standby_feedback on a slot: the slot holds the xmin horizon');
my $standby2 = pgm_standby($primary, 'standby2', conf => "hot_standby_feedback = on\nwal_receiver_status_interval = '1s'\n");
ok( $primary->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pgm_xmin_horizon()
	WHERE kind = 'standby_feedback' AND holder = 'standby2' AND xmin_age >= 0 AND pid IS NOT NULL}),
	'hot_standby_feedback without a slot: the standby holds it (standby_feedback)');
is($primary->safe_psql('postgres', "SELECT count(*) FROM pgm_replication() WHERE kind = 'standby'"), '2',
	'two standbys');
$standby2->stop;

# 2. replay paused, WAL keeps coming: lag in bytes on both sides, in seconds on the standby
# (a replayed commit first: the standby's lag in seconds counts from its last replayed transaction)
$primary->safe_psql('postgres', "INSERT INTO filler VALUES (0, 'before the pause')");
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$standby->poll_query_until('postgres', "SELECT pg_get_wal_replay_pause_state() = 'paused'")
  or die 'replay did not pause';
for my $i (1 .. 5)
{
	$primary->safe_psql('postgres', "INSERT INTO filler SELECT g, 'x' FROM generate_series(1, 1000) g");
}
ok( $primary->poll_query_until('postgres', q{
	SELECT replay_lag_bytes > 0 AND flush_lsn::pg_lsn > replay_lsn::pg_lsn FROM pgm_replication()}),
	'the primary sees replay fall behind what was flushed');
show($primary, 'SELECT * FROM pgm_replication()');
show($primary, 'SELECT * FROM pgm_xmin_horizon()');
ok( $standby->poll_query_until('postgres', q{
	SELECT replay_paused AND replay_lag_bytes > 0 AND replay_lag_seconds >= 2 AND last_replayed_at IS NOT NULL
	FROM pgm_replication()}), 'the standby sees its own replay lag, paused, in bytes and seconds');
show($standby, 'SELECT * FROM pgm_replication()');
is($standby->safe_psql('postgres', q{
	SET pgmanage.health_replication_lag_warning = '1s';
	SELECT status || ': ' || (detail LIKE 'this standby: replay % s behind, % bytes received but not replayed (replay paused)%')
	FROM pgm_health() WHERE check_name = 'replication_lag'}), 'warning: true',
	'pgm_health on the standby: replication_lag warning past 1s');
is($standby->safe_psql('postgres', q{
	SET pgmanage.health_replication_lag_warning = '1s';
	SET pgmanage.health_replication_lag_critical = '2s';
	SELECT status FROM pgm_health() WHERE check_name = 'replication_lag'}), 'critical',
	'and critical past 2s');
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$primary->wait_for_catchup($standby);
ok( $standby->poll_query_until('postgres',
	"SELECT replay_lag_seconds = 0 AND NOT replay_paused FROM pgm_replication()"),
	'resumed: no lag on the standby');

# 3. the standby stops: its slot is inactive and retains WAL
$standby->stop;
ok( $primary->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pgm_replication()'),
	'no standby connected');
for my $i (1 .. 3)
{
	$primary->safe_psql('postgres', "INSERT INTO filler SELECT g, 'x' FROM generate_series(1, 1000) g; SELECT pg_switch_wal()");
}
my $slot = $primary->safe_psql('postgres', q{
	SELECT slot_type, active, wal_status, wal_retained_bytes > 3 * 1024 * 1024,
	       wal_retained_pretty IS NOT NULL, safe_wal_bytes IS NULL, max_slot_wal_keep_bytes IS NULL,
	       xmin_age > 0
	FROM pgm_replication_slots() WHERE slot_name = 'standby_slot'});
show($primary, 'SELECT * FROM pgm_replication_slots()');
is($slot, 'physical|f|reserved|t|t|t|t|t', 'pgm_replication_slots: inactive, retaining WAL, xmin kept');
is($primary->safe_psql('postgres', q{
	SELECT holder || ' ' || state FROM pgm_xmin_horizon() WHERE kind = 'replication_slot'}),
	'standby_slot inactive', 'the inactive slot holds the xmin horizon');
is($primary->safe_psql('postgres', q{
	SELECT status || ' ' || (detail LIKE 'slot standby_slot (physical, inactive): retains %')
	FROM pgm_health() WHERE check_name = 'slot_retention'}), 'ok true', 'slot_retention ok under 1 GB');
is($primary->safe_psql('postgres', q{
	SET pgmanage.health_slot_retention_warning = '1MB';
	SELECT status || ' ' || (value > 3 * 1024 * 1024) || ' ' || warning_at
	FROM pgm_health() WHERE check_name = 'slot_retention'}), 'warning true 1048576',
	'slot_retention warning past 1MB');
is($primary->safe_psql('postgres', q{
	SET pgmanage.health_replication_lag_warning = '1s';
	SELECT status || ' ' || detail FROM pgm_health() WHERE check_name = 'replication_lag'}),
	'ok no standby connected', 'replication_lag says no standby is connected');

# 4. past max_slot_wal_keep_size the slot loses its WAL: critical whatever the thresholds
$primary->safe_psql('postgres', "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
$primary->reload;
$primary->poll_query_until('postgres', "SELECT current_setting('max_slot_wal_keep_size') = '1MB'")
  or die 'max_slot_wal_keep_size not reloaded';
is($primary->safe_psql('postgres', q{
	SELECT max_slot_wal_keep_bytes FROM pgm_replication_slots() WHERE slot_name = 'standby_slot'}),
	'1048576', 'max_slot_wal_keep_bytes from the setting');
for my $i (1 .. 3)
{
	$primary->safe_psql('postgres', "INSERT INTO filler SELECT g, 'x' FROM generate_series(1, 1000) g; SELECT pg_switch_wal()");
}
$primary->safe_psql('postgres', 'CHECKPOINT');
ok( $primary->poll_query_until('postgres', q{
	SELECT wal_status IN ('unreserved', 'lost') FROM pgm_replication_slots() WHERE slot_name = 'standby_slot'}),
	'the slot is past max_slot_wal_keep_size');
like($primary->safe_psql('postgres', q{
	SELECT status || ': ' || detail FROM pgm_health() WHERE check_name = 'slot_retention'}),
	qr/^critical: slots past max_slot_wal_keep_size: standby_slot \((unreserved|lost)\); /,
	'slot_retention is critical');

# a pg_monitor member sees the same rows
$primary->safe_psql('postgres', 'CREATE ROLE mon LOGIN IN ROLE pg_monitor');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM pgm_replication_slots()', extra_params => [ '-U', 'mon' ]),
	'1', 'a monitor role reads pgm_replication_slots');

$primary->stop;
done_testing();
