-- Scheduled VACUUM: validation of the functions, the job table and its
-- views, cancelling a queued run, the settings.  Nothing here runs a VACUUM:
-- schedules fire next New Year at the earliest and manual runs are rolled
-- back or cancelled before they commit.
CREATE TABLE vj_a (id int PRIMARY KEY);
CREATE TABLE vj_b (id int);
CREATE SCHEMA vj_s;
CREATE TABLE vj_s.c (id int);

-- a job with every default
SELECT pgm_schedule_vacuum('nightly', '0 0 1 1 *') = (SELECT pgm_cron_next('0 0 1 1 *')) AS next_fire_returned;
SELECT name, kind, schedule, database_name = current_database() AS this_db, enabled, catch_up,
       next_fire = (SELECT pgm_cron_next('0 0 1 1 *')) AS next_fire_ok, last_fire, active_run, last_run, options
FROM pgm_jobs;
-- create or replace: options change, created_at stays
SELECT created_at AS created FROM pgm_job WHERE name = 'nightly' \gset
SELECT pgm_schedule_vacuum('nightly', '0 0 1 1 *', tables => ARRAY['vj_a', 'public.vj_b'], strategy => 'all',
       window_length => '2 hours', with_analyze => false, cost_limit => 500, cost_delay => 2.5, freeze => true,
       index_cleanup => 'OFF', parallel => 2, skip_locked => false, lock_timeout => '250ms',
       reindex_bloated => true, catch_up => 'skip', enabled => false) IS NOT NULL AS replaced;
SELECT name, enabled, catch_up, created_at = :'created' AS created_kept, jsonb_pretty(options)
FROM pgm_jobs;
SELECT pgm_schedule_vacuum('by_schema', 'every 6 hours', schema_name => 'vj_s') IS NOT NULL AS ok;
SELECT pgm_schedule_vacuum('by_pattern', '@monthly', table_pattern => 'vj_%') IS NOT NULL AS ok;
SELECT name, options->>'schema' AS schema, options->>'pattern' AS pattern, options->'tables' AS tables
FROM pgm_job ORDER BY name;

-- validation: 22023 unless said otherwise
SELECT pgm_schedule_vacuum('bad', '61 * * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '* * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('', '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum(repeat('x', 64), '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', database => 'no_such_db');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', schema_name => 'vj_s', table_pattern => 'x%');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', tables => ARRAY[]::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', tables => ARRAY['vj_a', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', tables => ARRAY['no_such_table']);
\echo :LAST_ERROR_SQLSTATE
-- a missing schema of this database: 3F000, for a schedule and a manual run
SELECT pgm_schedule_vacuum('bad', '@daily', schema_name => 'no_such_schema');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_vacuum_now(schema_name => 'no_such_schema');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', strategy => 'some');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', window_length => '0');
\echo :LAST_ERROR_SQLSTATE
-- beyond the representable range (its end would be in the past): refused
SELECT pgm_schedule_vacuum('bad', '@daily', window_length => '300000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_vacuum_now(window_length => '100 years 1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', cost_limit => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', cost_delay => 101);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', index_cleanup => 'maybe');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', parallel => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', lock_timeout => '-1s');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', freeze => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('bad', '@daily', catch_up => 'always');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_vacuum_now(strategy => 'none');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_vacuum_now(database => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS no_bad_jobs FROM pgm_job WHERE name = 'bad';

-- the table checks schedules itself (plain INSERT/UPDATE are allowed)
INSERT INTO pgm_job (name, kind, schedule, database_name) VALUES ('direct', 'vacuum', '* * 32 * *', current_database());
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO pgm_job (name, kind, schedule, database_name) VALUES ('direct', 'restore', '@daily', current_database());
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_job (name, kind, schedule, database_name, catch_up) VALUES ('direct', 'vacuum', '@daily', current_database(), 'x');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO pgm_job (name, kind, schedule, database_name) VALUES ('direct', 'vacuum', '0 0 1 1 *', current_database());
SELECT next_fire = (SELECT pgm_cron_next('0 0 1 1 *')) AS next_fire_set FROM pgm_job WHERE name = 'direct';
UPDATE pgm_job SET schedule = '0 0 1 7 *' WHERE name = 'direct';
SELECT next_fire = (SELECT pgm_cron_next('0 0 1 7 *')) AS next_fire_follows FROM pgm_job WHERE name = 'direct';

-- unschedule
SELECT pgm_unschedule('direct');
SELECT pgm_unschedule('direct');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_unschedule('by_schema'), pgm_unschedule('by_pattern');

-- a manual run starts only at COMMIT: rolled back, nothing happens
BEGIN;
SELECT pgm_vacuum_now(tables => ARRAY['vj_a']) > 0 AS queued;
SELECT status, trigger, job, options->'tables' AS tables FROM pgm_job_runs;
ROLLBACK;
SELECT count(*) AS runs_after_rollback FROM pgm_job_run;

-- cancelling a queued run before it starts
BEGIN;
SELECT pgm_vacuum_now() AS run \gset
SELECT pgm_cancel_run(:run);
COMMIT;
SELECT status, error LIKE 'cancelled by %' AS by_whom, finished IS NOT NULL AS finished FROM pgm_job_runs WHERE id = :run;
SELECT pgm_cancel_run(:run);
SELECT pgm_cancel_run(-1);
\echo :LAST_ERROR_SQLSTATE

-- only in pgmanage.database
CREATE DATABASE vj_other;
\c vj_other
CREATE EXTENSION pgmanage;
SET search_path = "$user", public, pgmanage;
SELECT pgm_vacuum_now();
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_schedule_vacuum('elsewhere', '@daily');
\echo :LAST_ERROR_SQLSTATE
\c contrib_regression
DROP DATABASE vj_other;

-- settings: a bad value is refused when it is set
ALTER SYSTEM SET pgmanage.timezone = 'Mars/Olympus_Mons';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.timezone = 'right/UTC';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.timezone = 'Europe/Berlin';
ALTER SYSTEM RESET pgmanage.timezone;
ALTER SYSTEM SET pgmanage.max_vacuum_workers = 0;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.max_vacuum_workers = 17;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.vacuum_dead_fraction = -0.1;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.vacuum_freeze_age_fraction = 1.5;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.vacuum_bloat_pct = 0;
\echo :LAST_ERROR_SQLSTATE
-- settings with a unit: 17+ prints the unit in the range too ("(10 ms .. 60000 ms)"),
-- so the message is shown without the range's units, the same on every version
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.job_run_retention = 0;
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
SET pgmanage.enable_jobs = off;
\echo :LAST_ERROR_SQLSTATE
SELECT name, setting, unit, context FROM pg_settings
WHERE name IN ('pgmanage.timezone', 'pgmanage.enable_jobs', 'pgmanage.job_run_retention',
               'pgmanage.max_vacuum_workers', 'pgmanage.vacuum_dead_fraction',
               'pgmanage.vacuum_min_dead_tuples', 'pgmanage.vacuum_analyze_fraction',
               'pgmanage.vacuum_freeze_age_fraction', 'pgmanage.vacuum_bloat_pct',
               'pgmanage.reindex_bloat_pct')
ORDER BY name;

-- privileges: a role without grants can do nothing
CREATE ROLE vj_nobody;
-- (USAGE on the schema, so that what refuses is each object's own privilege)
GRANT USAGE ON SCHEMA pgmanage TO vj_nobody;
SET ROLE vj_nobody;
SELECT pgm_schedule_vacuum('x', '@daily');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_vacuum_now();
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_unschedule('nightly');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_cancel_run(1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_jobs;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_job_runs;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE USAGE ON SCHEMA pgmanage FROM vj_nobody;
DROP ROLE vj_nobody;

SELECT pgm_unschedule('nightly');
DELETE FROM pgm_job_run;
DROP TABLE vj_a, vj_b, vj_s.c;
DROP SCHEMA vj_s;
