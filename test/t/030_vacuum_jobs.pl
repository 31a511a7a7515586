# Scheduled VACUUM jobs: a due job runs and records its history; the next
# fire time moves on; a slot that comes while the previous run is still
# going is recorded as skipped; a run can be cancelled; progress shows in
# pg_stat_progress_vacuum and in the run row; a crash mid-run leaves a
# failed run, not a stuck one; after downtime a job runs once or not at all
# as its catch_up says.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmVacuumTest;

my $node = pgm_node('vacuum_jobs', conf => $vacuum_conf . "restart_after_crash = on\n");
pgm_bloat_table($node, 't1', 20000, 2);
pgm_bloat_table($node, 'slow', 60000, 2);
pgm_bloat_table($node, 'clean', 100, 0);

# ---- a job every minute
my $next = $node->safe_psql('postgres', q{
	SELECT pgm_schedule_vacuum('minutely', '* * * * *', tables => ARRAY['t1', 'clean'])
	       = date_trunc('minute', now()) + interval '1 minute'});
is($next, 't', 'every minute: next fire is the next minute boundary');
is($node->safe_psql('postgres', q{SELECT next_fire > now() FROM pgm_jobs WHERE name = 'minutely'}),
	't', 'pgm_jobs shows the next fire time');

# make the slot due now rather than waiting up to a minute
$node->safe_psql('postgres', q{UPDATE pgm_job SET next_fire = now() WHERE name = 'minutely'});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pgm_job_run WHERE job = 'minutely' AND status = 'succeeded'})
  or die 'the due job did not run';
my $run = $node->safe_psql('postgres', q{SELECT id FROM pgm_job_run WHERE job = 'minutely'});
is(pgm_run_field($node, $run, q{trigger || ' ' || tables_vacuumed || ' ' || (dead_tuples_removed >= 10000)::int}),
	'schedule 1 1', 'the run vacuumed t1 and removed its dead tuples');
like((split /\|/, pgm_run_entry($node, $run, 'public.t1'))[2], qr/10000 dead tuples/,
	'history says why t1 was picked');
is((split /\|/, pgm_run_entry($node, $run, 'public.clean'))[0], 'not needed',
	'history says clean was not needed');
is($node->safe_psql('postgres', q{SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 't1'}),
	'0', 't1 has no dead tuples left');
is($node->safe_psql('postgres', q{
	SELECT last_fire IS NOT NULL AND next_fire > now() AND extract(second FROM next_fire) = 0
	       AND last_status = 'succeeded' AND last_run = } . $run . q{ FROM pgm_jobs WHERE name = 'minutely'}),
	't', 'after the run: last fire recorded, next fire on the next minute');

# ---- bytes: a run adds up the main forks (table, indexes, TOAST) of the
# tables it vacuumed, not of those it only analyzed; the free space map and
# visibility map forks VACUUM creates on a table that had none are not
# bytes taken
$node->safe_psql('postgres', q{
	CREATE TABLE ana (id int PRIMARY KEY, pad text);
	INSERT INTO ana SELECT g, repeat('a', 80) FROM generate_series(1, 5000) g});
$node->safe_psql('postgres', 'ANALYZE ana');
$node->safe_psql('postgres', q{INSERT INTO ana SELECT g, repeat('a', 80) FROM generate_series(5001, 10000) g});
pgm_bloat_table($node, 'fresh', 20000, 2);
is($node->safe_psql('postgres', q{SELECT pg_relation_size('fresh', 'vm')}),
	'0', 'fresh: no visibility map yet (only VACUUM makes one)');
my $bytes_run = $node->safe_psql('postgres', q{SELECT pgm_vacuum_now(tables => ARRAY['ana', 'fresh'])});
pgm_wait_run($node, $bytes_run, '^succeeded$');
is((split /\|/, pgm_run_entry($node, $bytes_run, 'public.ana'))[1], 'analyze', 'ana was only analyzed');
is((split /\|/, pgm_run_entry($node, $bytes_run, 'public.fresh'))[1], 'vacuum', 'fresh was vacuumed');
is(pgm_run_field($node, $bytes_run, q{
	bytes_before = (SELECT (e->>'bytes_before')::bigint FROM jsonb_array_elements(details) e
	                WHERE e->>'relation' = 'public.fresh')}),
	't', 'bytes_before counts the vacuumed table alone');
is(pgm_run_field($node, $bytes_run, q{
	bytes_after = (SELECT pg_relation_size(c.oid) + pg_relation_size(c.reltoastrelid)
	                      + (SELECT sum(pg_relation_size(i.indexrelid)) FROM pg_index i
	                         WHERE i.indrelid IN (c.oid, c.reltoastrelid))
	               FROM pg_class c WHERE c.oid = 'fresh'::regclass)}),
	't', 'bytes_after: the main forks of the table, its index, its TOAST table and index');
is(pgm_run_field($node, $bytes_run, q{
	bytes_freed >= 0 AND pg_relation_size('fresh', 'vm') > 0
	AND pg_total_relation_size('fresh') > bytes_after}),
	't', 'VACUUM made the VM fork; it is not counted, nothing negative');

# ---- a slow run: progress, a slot skipped while it runs, cancel
$node->safe_psql('postgres', q{
	SELECT pgm_schedule_vacuum('minutely', '* * * * *', tables => ARRAY['slow'],
	                           cost_delay => 20, cost_limit => 1)});
$node->safe_psql('postgres', q{UPDATE pgm_job SET next_fire = now() WHERE name = 'minutely'});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pgm_job_run WHERE job = 'minutely' AND status = 'running'
	  AND current_table = 'public.slow'})
  or die 'slow run did not start';
my $slow = $node->safe_psql('postgres',
	q{SELECT id FROM pgm_job_run WHERE job = 'minutely' AND status = 'running'});
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_progress_vacuum WHERE relid = 'slow'::regclass})
  or die 'no progress row';
pass('the VACUUM shows in pg_stat_progress_vacuum');
is($node->safe_psql('postgres', qq{
	SELECT a.backend_type FROM pg_stat_activity a JOIN pgm_job_run r ON r.pid = a.pid WHERE r.id = $slow}),
	'pgmanage vacuum', 'it runs in a pgmanage vacuum background worker');

$node->safe_psql('postgres', q{UPDATE pgm_job SET next_fire = now() WHERE name = 'minutely'});
$node->poll_query_until('postgres',
	q{SELECT count(*) >= 1 FROM pgm_job_run WHERE job = 'minutely' AND status = 'skipped'})
  or die 'no skipped run';
# (a minute boundary may add a second skipped slot: both say the same)
like($node->safe_psql('postgres',
	q{SELECT error FROM pgm_job_run WHERE job = 'minutely' AND status = 'skipped' ORDER BY id LIMIT 1}),
	qr/previous run $slow is still going/, 'a slot that comes during a run is recorded as skipped');
is($node->safe_psql('postgres', qq{SELECT status FROM pgm_job_run WHERE id = $slow}), 'running',
	'the running run was not disturbed');

is($node->safe_psql('postgres', "SELECT pgm_cancel_run($slow)"), 't', 'pgm_cancel_run of a running run');
pgm_wait_run($node, $slow, '^cancelled$');
is((split /\|/, pgm_run_entry($node, $slow, 'public.slow'))[3], 'run cancelled by pgm_cancel_run()',
	'the table being vacuumed is recorded as cancelled');
is($node->safe_psql('postgres', qq{SELECT finished IS NOT NULL AND current_table IS NULL FROM pgm_job_run WHERE id = $slow}),
	't', 'cancelled run is finished');
$node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pgmanage vacuum'})
  or die 'vacuum worker still there';
$node->safe_psql('postgres', q{SELECT pgm_unschedule('minutely')});

# ---- a crash mid-run
my $crash = $node->safe_psql('postgres',
	q{SELECT pgm_vacuum_now(tables => ARRAY['slow'], cost_delay => 20, cost_limit => 1)});
$node->poll_query_until('postgres', "SELECT status = 'running' AND pid IS NOT NULL FROM pgm_job_run WHERE id = $crash")
  or die 'crash run did not start';
my $pid = $node->safe_psql('postgres', "SELECT pid FROM pgm_job_run WHERE id = $crash");
kill 'KILL', $pid;
$node->poll_query_until('postgres', "SELECT status = 'failed' FROM pgm_job_run WHERE id = $crash")
  or die 'run stuck after the crash';
is(pgm_run_field($node, $crash, 'error'), 'server restarted while the run was going',
	'a crash mid-run leaves a failed run with the reason');
ok($node->log_contains('all server processes terminated; reinitializing'), 'there was a crash restart');

# ---- downtime: catch_up once runs once, skip records a skipped run
$node->safe_psql('postgres', q{
	SELECT pgm_schedule_vacuum('catch_once', '*/2 * * * *', tables => ARRAY['clean'], catch_up => 'once',
	                           enabled => false);
	SELECT pgm_schedule_vacuum('catch_skip', '*/2 * * * *', tables => ARRAY['clean'], catch_up => 'skip',
	                           enabled => false);});
$node->append_conf('postgresql.conf', 'pgmanage.enable_jobs = off');
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('pgmanage.enable_jobs') = 'off'});
# five slots missed while "down"
$node->safe_psql('postgres', q{UPDATE pgm_job SET enabled = true WHERE name LIKE 'catch%'});
# the restart must not land on a */2 slot: that slot would be due, not
# missed, and run as well (seen when the restart came at hh:29:59.98)
my $to_slot = 120 - time() % 120;
sleep($to_slot + 1) if $to_slot < 15;
$node->safe_psql('postgres', q{UPDATE pgm_job SET next_fire = now() - interval '11 minutes' WHERE name LIKE 'catch%'});
$node->stop;
$node->append_conf('postgresql.conf', 'pgmanage.enable_jobs = on');
$node->start;
$node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM pgm_job_run
	WHERE job IN ('catch_once', 'catch_skip') AND status IN ('succeeded', 'skipped')})
  or die 'no catch-up runs';
is($node->safe_psql('postgres', q{
	SELECT string_agg(job || ':' || trigger || ':' || status, ',' ORDER BY job) FROM pgm_job_run
	WHERE job IN ('catch_once', 'catch_skip')}),
	'catch_once:catch_up:succeeded,catch_skip:catch_up:skipped',
	'after downtime: one run for catch_up once (not one per missed slot), a skipped one for skip');
like($node->safe_psql('postgres', q{SELECT error FROM pgm_job_run WHERE job = 'catch_skip'}),
	qr/missed while the scheduler was not running \(catch_up = skip\)/, 'the skip says why');
is($node->safe_psql('postgres', q{SELECT bool_and(next_fire > now()) FROM pgm_job WHERE name LIKE 'catch%'}),
	't', 'next fire times moved past the downtime');

$node->stop;
done_testing();
