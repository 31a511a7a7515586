-- pgm_status(): the launcher, the worker and the sender, from shared memory
-- (the sender has no policy or extension columns: NULL).
-- wait (at most 30 s) until the worker has found the extension in this
-- database and every process has woken once (the sender's first wake can
-- come after the worker's)
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT extension_found FROM pgm_status() WHERE process = 'worker')
          AND (SELECT bool_and(last_wake IS NOT NULL) FROM pgm_status());
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT process, pid > 0 AS running, started_at <= now() AS started,
       database_name, server_role, last_wake IS NOT NULL AS woke,
       extension_found, policies_loaded IS NOT NULL AS has_policies,
       policies_skipped IS NOT NULL AS has_skipped
FROM pgm_status() ORDER BY process;
SELECT * FROM pgm_status() LIMIT 0;
-- they show in pg_stat_activity under their own names
SELECT backend_type, application_name FROM pg_stat_activity
WHERE backend_type LIKE 'pgmanage%' ORDER BY 1;
-- the settings, with their units and defaults (the health checks' are in health.sql)
SELECT name, setting, unit, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'pgmanage.%' AND name NOT LIKE 'pgmanage.health\_%' ORDER BY name;
-- bad values are refused when set
SET pgmanage.naptime = 0;
SET pgmanage.database = 'x';
-- settings with a unit: 17+ prints the unit in the range too ("(10 ms .. 60000 ms)"),
-- so the message is shown without the range's units, the same on every version
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.naptime = 5;
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
ALTER SYSTEM SET pgmanage.database = '';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.kill_log_retention = '-1';
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
-- an unknown setting under the reserved prefix: 15 says 42704 "unrecognized",
-- 17+ 42602 "invalid configuration parameter name" (expected/status_1.out:
-- a change to this file changes both expected files)
ALTER SYSTEM SET pgmanage.no_such_setting = 1;
\echo :LAST_ERROR_SQLSTATE
