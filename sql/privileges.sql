-- Who may execute what: nothing that reveals queries or kills is PUBLIC.
CREATE ROLE pgm_nobody;
SELECT p.oid::regprocedure AS function,
       has_function_privilege('pgm_nobody', p.oid, 'EXECUTE') AS public,
       has_function_privilege('pg_monitor', p.oid, 'EXECUTE') AS monitor,
       has_function_privilege('pg_read_all_stats', p.oid, 'EXECUTE') AS read_all_stats,
       has_function_privilege('pg_signal_backend', p.oid, 'EXECUTE') AS signal_backend
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
ORDER BY p.oid::regprocedure::text;
-- Schema pgmanage: USAGE for the roles the functions are granted to, not PUBLIC
SELECT r.rolname, has_schema_privilege(r.rolname, 'pgmanage', 'USAGE') AS usage,
       has_schema_privilege(r.rolname, 'pgmanage', 'CREATE') AS create
FROM (VALUES ('pgm_nobody'), ('pg_monitor'), ('pg_read_all_stats'), ('pg_signal_backend')) AS r(rolname)
ORDER BY 1;
-- and a role without grants is refused with 42501
SET ROLE pgm_nobody;
SELECT * FROM pgmanage.pgm_size_report();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmanage.pgm_kill_long('1 hour');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a member of pg_monitor reaches the reports through its search_path
CREATE ROLE pgm_watcher IN ROLE pg_monitor;
SET ROLE pgm_watcher;
SELECT count(*) > 0 AS sees_databases FROM pgm_database_sizes();
SELECT * FROM pgm_kill_long('1 hour');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE pgm_watcher;
DROP ROLE pgm_nobody;
