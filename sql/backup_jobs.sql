-- Backup schedules (jobs of kind 'backup') and job_failed events.  Nothing
-- here fires: schedules fire next New Year at the earliest, and the runs
-- below are rolled back before the worker could see them.
INSERT INTO pgm_endpoint (name, url, event_kinds, enabled)
VALUES ('bk', 'http://127.0.0.1:1/hook', '{backup}', false);

-- a backup job with every default, then with an endpoint and a label
SELECT pgm_schedule_backup('weekly', '0 0 1 1 *') = (SELECT pgm_cron_next('0 0 1 1 *')) AS next_fire_returned;
SELECT pgm_schedule_backup('to_bk', 'every 6 hours', endpoint => 'bk', label => 'nightly full')
       = (SELECT pgm_cron_next('every 6 hours')) AS next_fire_returned;
SELECT name, kind, schedule, database_name = current_database() AS this_db, enabled, catch_up,
       next_fire = (SELECT pgm_cron_next(schedule)) AS next_fire_ok, next_fire > now() AS in_future,
       active_run, last_run, options
FROM pgm_jobs ORDER BY name;
-- create or replace: options change, created_at stays
SELECT created_at AS created FROM pgm_job WHERE name = 'to_bk' \gset
SELECT pgm_schedule_backup('to_bk', '@monthly', label => 'monthly') IS NOT NULL AS replaced;
SELECT name, schedule, options, created_at = :'created' AS created_kept FROM pgm_job WHERE name = 'to_bk';

-- validation: 22023 unless said otherwise
SELECT pgm_schedule_backup('bad', '61 * * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup('bad', '* * * * mon-xyz');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup('bad', 'every 0 minutes');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup('bad', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup(NULL, '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup('', '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup('bad', '@daily', endpoint => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_backup('bad', '@daily', label => repeat('x', 1025));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS no_bad_job FROM pgm_job WHERE name = 'bad';

-- a name belongs to one kind: 42710 both ways, the job unchanged
\set VERBOSITY terse
SELECT pgm_schedule_vacuum('weekly', '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('vac', '0 0 1 1 *') IS NOT NULL AS ok;
SELECT pgm_schedule_backup('vac', '@daily');
\echo :LAST_ERROR_SQLSTATE
UPDATE pgm_job SET kind = 'backup' WHERE name = 'vac';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_job (name, kind, schedule, database_name) VALUES ('k', 'restore', '@daily', 'x');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT name, kind, schedule FROM pgm_job ORDER BY name;

-- an endpoint a backup job sends to cannot be deleted, renamed or truncated
-- away (2BP01); other changes to it are fine; once the job is gone, it can
SELECT pgm_schedule_backup('uses_bk', '0 0 1 1 *', endpoint => 'bk') IS NOT NULL AS ok;
DELETE FROM pgm_endpoint WHERE name = 'bk';
\echo :LAST_ERROR_SQLSTATE
UPDATE pgm_endpoint SET name = 'bk2' WHERE name = 'bk';
\echo :LAST_ERROR_SQLSTATE
TRUNCATE pgm_endpoint CASCADE;
\echo :LAST_ERROR_SQLSTATE
UPDATE pgm_endpoint SET comment = 'still here' WHERE name = 'bk';
SELECT name, comment FROM pgm_endpoint;
BEGIN;
SELECT pgm_unschedule('uses_bk');
DELETE FROM pgm_endpoint WHERE name = 'bk' RETURNING name AS deleted;
ROLLBACK;
SELECT pgm_unschedule('uses_bk');

-- superuser only
CREATE ROLE bj_nobody;
GRANT pg_read_all_stats TO bj_nobody;
SET ROLE bj_nobody;
SELECT pgm_schedule_backup('x', '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_unschedule('weekly');
\echo :LAST_ERROR_SQLSTATE
SELECT name, kind FROM pgm_jobs ORDER BY name;
RESET ROLE;
DROP ROLE bj_nobody;

-- pgm_unschedule removes a backup job
SELECT pgm_unschedule('weekly');
SELECT pgm_unschedule('vac');
SELECT name, kind FROM pgm_jobs ORDER BY name;
SELECT pgm_unschedule('weekly');
\echo :LAST_ERROR_SQLSTATE

-- job_failed: no event without a subscribed, enabled endpoint
BEGIN;
INSERT INTO pgm_job_run (job, kind, database_name, trigger, status, started)
VALUES ('to_bk', 'backup', current_database(), 'schedule', 'running', now()) RETURNING id AS run \gset
UPDATE pgm_job_run SET status = 'failed', finished = now(), error = 'nobody listens' WHERE id = :run;
SELECT count(*) AS events FROM pgm_event;
ROLLBACK;
-- with one: an event when a run reaches 'failed' (by UPDATE or INSERT), once
BEGIN;
UPDATE pgm_endpoint SET enabled = true, event_kinds = '{job_failed}' WHERE name = 'bk';
INSERT INTO pgm_job_run (job, kind, database_name, trigger, status, started)
VALUES ('to_bk', 'backup', current_database(), 'schedule', 'running', now()) RETURNING id AS run \gset
UPDATE pgm_job_run SET current_table = 'x' WHERE id = :run;
SELECT count(*) AS events_before_failing FROM pgm_event;
UPDATE pgm_job_run SET status = 'failed', finished = now(), error = 'disk on fire' WHERE id = :run;
SELECT kind, label, endpoint, status,
       payload->'data'->>'run_id' = :'run' AS run_id_ok,
       (payload->'data') - '{run_id,started,finished}'::text[] AS data,
       payload->'data'->>'started' IS NOT NULL AS has_started,
       payload->'data'->>'finished' IS NOT NULL AS has_finished
FROM pgm_events;
UPDATE pgm_job_run SET error = 'still on fire' WHERE id = :run;
SELECT count(*) AS events_once FROM pgm_event;
INSERT INTO pgm_job_run (job, kind, database_name, trigger, status, error)
VALUES (NULL, 'vacuum', current_database(), 'manual', 'failed', 'failed at once');
SELECT kind, label, payload->'data'->>'job' AS job, payload->'data'->>'error' AS error
FROM pgm_events ORDER BY id;
-- cancelled is not failed
UPDATE pgm_job_run SET status = 'cancelled' WHERE id = :run;
SELECT count(*) AS events FROM pgm_event;
ROLLBACK;

SELECT pgm_unschedule('to_bk');
DELETE FROM pgm_endpoint;
SELECT count(*) AS jobs, (SELECT count(*) FROM pgm_event) AS events FROM pgm_job;
