-- pgm_status(): the launcher and the worker, from shared memory.
-- wait (at most 30 s) until the worker has found the extension in this database
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT extension_found FROM pgm_status() WHERE process = 'worker');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT process, pid > 0 AS running, started_at <= now() AS started,
       database_name, server_role, last_wake IS NOT NULL AS woke,
       extension_found
FROM pgm_status() ORDER BY process;
SELECT * FROM pgm_status() LIMIT 0;
-- they show in pg_stat_activity under their own names
SELECT backend_type, application_name FROM pg_stat_activity
WHERE backend_type LIKE 'pgmanage%' ORDER BY 1;
-- the settings, with their units and defaults
SELECT name, setting, unit, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'pgmanage.%' ORDER BY name;
-- bad values are refused when set
SET pgmanage.naptime = 0;
SET pgmanage.database = 'x';
ALTER SYSTEM SET pgmanage.naptime = 5;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.database = '';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.kill_log_retention = '-1';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET pgmanage.no_such_setting = 1;
\echo :LAST_ERROR_SQLSTATE
