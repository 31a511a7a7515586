# Strategy 'need': the bloated tables are vacuumed, most dead space first,
# and the clean ones are not; a table that another session holds
# exclusively is skipped, not waited on, and recorded with the holder; the
# maintenance window stops new tables; pgmanage.max_vacuum_workers keeps a
# second run queued while the first one runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_need', conf => $vacuum_conf . "pgmanage.max_vacuum_workers = 1\n");
pgm_bloat_table($node, 'big', 40000, 2);       # 20000 dead
pgm_bloat_table($node, 'medium', 10000, 2);    # 5000 dead
pgm_bloat_table($node, 'clean1', 5000, 0);
pgm_bloat_table($node, 'clean2', 5000, 0);
pgm_bloat_table($node, 'few', 5000, 1000);     # 5 dead: under the threshold
pgm_bloat_table($node, 'locked', 10000, 2);
$node->safe_psql('postgres', q{
	CREATE TABLE never (id int); INSERT INTO never SELECT generate_series(1, 100);});
my %dead_before = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
	q{SELECT relname, n_dead_tup FROM pg_stat_user_tables});
ok($dead_before{big} == 20000 && $dead_before{locked} == 5000, 'statistics show the dead tuples');

# another session holds "locked" exclusively for the whole run
my $holder = $node->background_psql('postgres');
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder->query_safe('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');

my $run = $node->safe_psql('postgres', q{SELECT pgm_vacuum_now(schema_name => 'public')});
pgm_wait_run($node, $run, '^(succeeded|failed|cancelled)$');
is(pgm_run_field($node, $run, 'status'), 'succeeded', 'the run succeeded');
is($node->safe_psql('postgres',
	qq{SELECT count(*) FROM pg_locks WHERE pid = $holder_pid AND relation = 'locked'::regclass AND granted}),
	'1', 'it finished while the lock was still held: it did not wait');

my ($o, $a, $why, $detail) = split /\|/, pgm_run_entry($node, $run, 'public.big');
is("$o $a", 'done vacuum', 'big: vacuumed');
like($why, qr/^20000 dead tuples > 1000 \+ 0\.1 x 20000 live/, 'big: why it was picked');
($o, $a, $why) = split /\|/, pgm_run_entry($node, $run, 'public.medium');
is("$o $a", 'done vacuum', 'medium: vacuumed');
($o, $a, $why) = split /\|/, pgm_run_entry($node, $run, 'public.never');
is("$o $a $why", 'done analyze never analyzed', 'never analyzed: ANALYZE only');
for my $t (qw(clean1 clean2 few))
{
	($o, $a, $why) = split /\|/, pgm_run_entry($node, $run, "public.$t");
	is("$o $a", 'not needed none', "$t: not vacuumed");
	like($why, qr/under every threshold/, "$t: why not");
}
($o, $a, $why, $detail) = split /\|/, pgm_run_entry($node, $run, 'public.locked');
is($o, 'skipped', 'locked: skipped');
like($detail, qr/^locked by another session \(pid $holder_pid \(AccessExclusiveLock\)\)$/,
	'locked: the holder is recorded');

# order: most dead space first
is($node->safe_psql('postgres', qq{
	SELECT string_agg(e->>'relation', ',' ORDER BY ord) FROM pgm_job_run r,
	jsonb_array_elements(r.details) WITH ORDINALITY x(e, ord)
	WHERE r.id = $run AND e->>'action' = 'vacuum'}),
	'public.big,public.locked,public.medium', 'most dead space first');
# considered: the 7 tables above, and pgmanage's own when they are in public
# (before 2.0; pgm_job_run, never analyzed, then gets an ANALYZE)
my $own_tables = $node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind = 'r'
	  AND c.relnamespace = 'public'::regnamespace
	  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')});
is(pgm_run_field($node, $run, q{tables_vacuumed || ' ' || tables_analyzed || ' ' || tables_skipped || ' ' || tables_considered}),
	'2 ' . ($own_tables ? 2 : 1) . ' 1 ' . (7 + $own_tables), 'counters of the run');
is($node->safe_psql('postgres', q{
	SELECT string_agg(relname || '=' || n_dead_tup, ',' ORDER BY relname) FROM pg_stat_user_tables
	WHERE relname IN ('big', 'medium', 'locked')}),
	'big=0,locked=5000,medium=0', 'dead tuples left: none in the vacuumed tables');
ok(pgm_run_field($node, $run, 'dead_tuples_removed') == 25000, 'dead tuples removed: 25000');

# without skip_locked, lock_timeout bounds the wait
my $run2 = $node->safe_psql('postgres',
	q{SELECT pgm_vacuum_now(tables => ARRAY['locked'], skip_locked => false, lock_timeout => '300ms')});
pgm_wait_run($node, $run2, '^(succeeded|failed)$');
($o, $a, $why, $detail) = split /\|/, pgm_run_entry($node, $run2, 'public.locked');
is($o, 'skipped', 'skip_locked off: skipped after lock_timeout');
like($detail, qr/^lock not available within lock_timeout \(300 ms\)/, 'the reason says so');
$holder->query_safe('COMMIT');
$holder->quit;

# ---- the window stops new tables
pgm_bloat_table($node, "w$_", 8000, 2) for 1 .. 3;
my $win = $node->safe_psql('postgres', q{
	SELECT pgm_vacuum_now(table_pattern => 'w_', window_length => '1 second',
	                      cost_delay => 10, cost_limit => 1)});
$node->poll_query_until('postgres', "SELECT status = 'running' FROM pgm_job_run WHERE id = $win")
  or die 'window run did not start';
# one worker at most: a second run waits
my $queued = $node->safe_psql('postgres', q{SELECT pgm_vacuum_now(tables => ARRAY['clean1'])});
is($node->safe_psql('postgres', "SELECT status FROM pgm_job_run WHERE id = $queued"), 'queued',
	'max_vacuum_workers = 1: the second run waits');
pgm_wait_run($node, $win, '^(succeeded|failed)$');
is(pgm_run_field($node, $win, q{tables_vacuumed || ' ' || tables_skipped}), '1 2',
	'window of 1 s: the first table finished, no other started');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM pgm_job_run r, jsonb_array_elements(r.details) e
	WHERE r.id = $win AND e->>'outcome' = 'skipped' AND e->>'detail' LIKE 'maintenance window ended at %'}),
	'2', 'the other two are recorded as skipped by the window');
ok(pgm_run_field($node, $win, q{extract(epoch FROM duration)}) > 1, 'the first table ran past the window end');
pgm_wait_run($node, $queued, '^succeeded$');
pass('the queued run ran after the first one');
ok($node->safe_psql('postgres', qq{SELECT (SELECT started FROM pgm_job_run WHERE id = $queued)
	>= (SELECT finished FROM pgm_job_run WHERE id = $win)}) eq 't', 'never two at once');

# ---- reindex_bloated: a bloated B-tree is rebuilt concurrently, the
# invalid leftover of a failed concurrent build is dropped
pgm_bloat_table($node, 'rb', 100000, 0);
$node->safe_psql('postgres', 'DELETE FROM rb WHERE id % 10 <> 0');
$node->psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY rb_pad_ccnew ON rb (pad)');
is($node->safe_psql('postgres', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'rb_pad_ccnew'::regclass}),
	'f', 'an invalid _ccnew leftover exists');
my $before = $node->safe_psql('postgres', q{SELECT pg_relation_size('rb_pkey')});
my $rx = $node->safe_psql('postgres', q{SELECT pgm_vacuum_now(tables => ARRAY['rb'], reindex_bloated => true)});
pgm_wait_run($node, $rx, '^(succeeded|failed)$');
is(pgm_run_field($node, $rx, 'status'), 'succeeded', 'reindex run succeeded');
like((split /\|/, pgm_run_entry($node, $rx, 'public.rb'))[2], qr/dead tuples/, 'rb vacuumed');
($o, $a, $why) = split /\|/, pgm_run_entry($node, $rx, 'public.rb_pad_ccnew');
is("$o $a", 'done drop index', 'the leftover was dropped');
($o, $a, $why) = split /\|/, pgm_run_entry($node, $rx, 'public.rb_pkey');
is("$o $a", 'done reindex', 'the bloated primary key was rebuilt');
like($why, qr/^estimated bloat \d+% >= pgmanage.reindex_bloat_pct/, 'and why');
is(pgm_run_field($node, $rx, 'indexes_rebuilt'), '1', 'counted');
ok($node->safe_psql('postgres', q{SELECT pg_relation_size('rb_pkey')}) < $before / 3, 'the index shrank');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'rb%cc%'}), '0',
	'no leftover remains');

$node->stop;
done_testing();
