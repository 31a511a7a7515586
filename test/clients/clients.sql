-- pgmanage from psql, run by test/clients/run.sh (connection from the PG*
-- environment variables).  The three calls of docs/clients.md, then the
-- catalog check that holds for every driver: every column of every function,
-- view and table of schema pgmanage has a base type (or an array of one), no
-- composite, domain or enum that a driver would show as a string.
-- Prints "ok - ..." / "not ok - ..." / "skip - ..." lines.
\set QUIET on
\pset format unaligned
\pset tuples_only on

-- 1. sizes of tables and indexes
SELECT schema_name, relation_name, kind, total_bytes, total_pretty
FROM pgmanage.pgm_size_report(include_indexes => true)
WHERE schema_name = 'public'
ORDER BY total_bytes DESC \g /dev/null
SELECT CASE WHEN count(*) = 1 THEN 'ok' ELSE 'not ok' END
       || ' - pgm_size_report(): public.orders ' || coalesce(max(total_pretty), 'missing')
FROM pgmanage.pgm_size_report() WHERE schema_name = 'public' AND relation_name = 'orders';

-- 2. cancel what runs longer than a bound interval: a psql variable, and a
--    prepared statement's parameter
\set max_duration '1 second'
PREPARE kill_long(interval) AS
    SELECT pid, role_name, application_name, duration, action_taken, signalled
    FROM pgmanage.pgm_kill_long($1);
CREATE TEMP TABLE killed AS EXECUTE kill_long(:'max_duration');
SELECT CASE WHEN count(*) = 1 AND bool_and(signalled) AND min(action_taken) = 'cancel' THEN 'ok' ELSE 'not ok' END
       || ' - pgm_kill_long(' || :'max_duration' || ') cancelled the pg_sleep session (pid '
       || coalesce(string_agg(pid::text, ','), 'none') || ')'
FROM killed WHERE application_name = 'pgm_clients_sleeper';

-- 3. the metrics, if this pgmanage has them
SELECT to_regprocedure('pgmanage.pgm_metrics()') IS NOT NULL AS has_metrics \gset
\if :has_metrics
SELECT CASE WHEN count(*) > 0 AND bool_and(metric LIKE 'pgmanage\_%') THEN 'ok' ELSE 'not ok' END
       || ' - pgm_metrics(): ' || count(*) || ' samples'
FROM pgmanage.pgm_metrics();
\else
\echo 'skip - pgm_metrics() does not exist in this pgmanage (it comes with the metrics work)'
\endif

-- 4. every column of every function, view and table: a base type
WITH cols AS (
    SELECT 'function ' || p.proname AS obj, a.name AS col, a.typ
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'pgmanage'
    CROSS JOIN LATERAL (
        -- OUT/INOUT/TABLE arguments, or the plain return type
        SELECT coalesce(p.proargnames[i], '?') AS name, p.proallargtypes[i] AS typ
        FROM generate_subscripts(p.proallargtypes, 1) i
        WHERE p.proargmodes[i] IN ('o', 'b', 't')
        UNION ALL
        SELECT 'result', p.prorettype WHERE p.proallargtypes IS NULL
    ) a
    WHERE p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view ' ELSE 'table ' END || c.relname, a.attname, a.atttypid
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'pgmanage'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'v', 'p')
), typed AS (
    SELECT obj, col, t.typname, t.typtype, e.typtype AS elemtype
    FROM cols JOIN pg_type t ON t.oid = cols.typ
    LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
)
SELECT CASE WHEN count(*) FILTER (WHERE NOT ok) = 0 THEN 'ok' ELSE 'not ok' END
       || ' - ' || count(*) || ' columns of ' || count(DISTINCT obj)
       || ' functions, views and tables of schema pgmanage have base types'
       || coalesce(': ' || string_agg(obj || '.' || col || ' is ' || typname, ', ') FILTER (WHERE NOT ok), '')
FROM (SELECT *, typtype = 'b' AND coalesce(elemtype, 'b') = 'b'
                OR typname IN ('void', 'bool') AS ok FROM typed) s;
