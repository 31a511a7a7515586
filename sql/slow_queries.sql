-- Slow-query capture settings, pgm_top_queries and the pg_stat_statements history.

-- defaults
SELECT name, setting, unit, context FROM pg_settings
WHERE name IN ('pgmanage.log_min_duration', 'pgmanage.log_plan', 'pgmanage.log_nested_statements',
               'pgmanage.log_utility', 'pgmanage.sample_rate', 'pgmanage.capture_buffer_size',
               'pgmanage.slow_queries_retention', 'pgmanage.pgss_snapshot_interval',
               'pgmanage.pgss_history_retention')
ORDER BY name;

-- good values, with units
SET pgmanage.log_min_duration = '1.5s';
SHOW pgmanage.log_min_duration;
SET pgmanage.log_plan = json;
SET pgmanage.sample_rate = 0.25;
SHOW pgmanage.sample_rate;
RESET ALL;

-- bad values are refused when set
-- settings with a unit: 17+ prints the unit in the range too ("(10 ms .. 60000 ms)"),
-- so the message is shown without the range's units, the same on every version
\set VERBOSITY sqlstate
SET pgmanage.log_min_duration = -2;
\set VERBOSITY default
SELECT regexp_replace(:'LAST_ERROR_MESSAGE', ' [a-zA-Z]+(?= \.\.|\)$)', '', 'g') AS error;
SET pgmanage.log_min_duration = '5 parsecs';
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.log_plan = 'xml';
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.sample_rate = 1.5;
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.sample_rate = 'NaN';
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.log_nested_statements = 'sometimes';
\echo :LAST_ERROR_SQLSTATE
-- fixed at server start, or in postgresql.conf only
SET pgmanage.capture_buffer_size = '8MB';
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.pgss_snapshot_interval = '1min';
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.slow_queries_retention = '1d';
\echo :LAST_ERROR_SQLSTATE
-- and a user who is not a superuser cannot switch capture off (or on)
CREATE ROLE pgm_plain;
SET ROLE pgm_plain;
SET pgmanage.log_min_duration = -1;
\echo :LAST_ERROR_SQLSTATE
SET pgmanage.sample_rate = 0;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE pgm_plain;

-- the capture ring
SELECT captured >= 0 AS ok, buffer_slots, buffer_bytes BETWEEN 4000000 AND 4194304 AS about_4mb,
       query_max_bytes, plan_max_bytes
FROM pgm_slow_query_stats();

-- pgm_top_queries: arguments are checked first (22023) ...
SELECT * FROM pgm_top_queries('slowest');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_top_queries(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_top_queries('calls', 0);
\echo :LAST_ERROR_SQLSTATE
-- ... then pg_stat_statements, preloaded here but not installed in this database (55000)
SELECT * FROM pgm_top_queries();
\echo :LAST_ERROR_SQLSTATE
-- the history needs no pg_stat_statements, but checks its arguments
SELECT * FROM pgm_top_queries_between('2024-01-02', '2024-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_top_queries_between(NULL, '2024-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_top_queries_between(now() - interval '1 hour', now(), 'io', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgm_top_queries_between('2000-01-01', '2000-01-02');
-- without pg_stat_statements a snapshot is a no-op
SELECT pgm_pgss_snapshot() IS NULL AS skipped;

-- with pg_stat_statements in a schema that is not on the search path
CREATE SCHEMA pgss_elsewhere;
CREATE EXTENSION pg_stat_statements SCHEMA pgss_elsewhere;
SET search_path = pg_catalog;
SELECT pgss_elsewhere.pg_stat_statements_reset() IS NOT NULL AS reset;
SELECT 1 AS one;
SELECT 1 AS one;
SELECT 1 AS one;
SELECT count(*) > 0 AS has_rows FROM pgmanage.pgm_top_queries('calls', 5);
-- each order ranks by its measure
SELECT bool_and(ok) AS ordered FROM (
    SELECT calls <= lag(calls) OVER (ORDER BY rank) OR rank = 1 AS ok
    FROM pgmanage.pgm_top_queries('calls', 20)) s;
SELECT bool_and(ok) AS ordered FROM (
    SELECT mean_exec_time <= lag(mean_exec_time) OVER (ORDER BY rank) OR rank = 1 AS ok
    FROM pgmanage.pgm_top_queries('mean_time', 20)) s;
SELECT bool_and(ok) AS ordered FROM (
    SELECT io_blocks <= lag(io_blocks) OVER (ORDER BY rank) OR rank = 1 AS ok
    FROM pgmanage.pgm_top_queries('IO', 20)) s;
SELECT count(*) <= 2 AS limited FROM pgmanage.pgm_top_queries('rows', 2);
SELECT calls, query FROM pgmanage.pgm_top_queries('calls', 50) WHERE query = 'SELECT $1 AS one';
SELECT sum(share_of_total_time) BETWEEN 99 AND 101 AS shares_add_up FROM pgmanage.pgm_top_queries('total_time', 10000);
-- snapshots: the first is the baseline, the next has the deltas
SELECT pgmanage.pgm_pgss_snapshot() IS NOT NULL AS taken;
SELECT 1 AS one;
SELECT 1 AS one;
SELECT pgmanage.pgm_pgss_snapshot() IS NOT NULL AS taken;
SELECT h.calls, h.restarted, q.query
FROM pgmanage.pgm_pgss_history h JOIN pgmanage.pgm_pgss_query q USING (queryid)
WHERE h.snapshot_id = (SELECT max(id) FROM pgmanage.pgm_pgss_snapshot) AND q.query = 'SELECT $1 AS one';
SELECT calls, query FROM pgmanage.pgm_top_queries_between(now() - interval '1 hour', now() + interval '1 hour', 'calls', 50)
WHERE query = 'SELECT $1 AS one';
RESET search_path;
DROP EXTENSION pg_stat_statements;
-- pg_stat_statements 1.10 (15's) installed on a newer server, as after
-- pg_upgrade until ALTER EXTENSION pg_stat_statements UPDATE: the columns
-- read follow its extversion, not the server's version
SET client_min_messages = warning;
CREATE EXTENSION pg_stat_statements VERSION '1.10' SCHEMA pgss_elsewhere;
SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements';
SELECT count(*) > 0 AS has_rows, bool_and(blk_read_time >= 0 AND blk_write_time >= 0) AS times
FROM pgmanage.pgm_top_queries('calls', 50);
SELECT pgmanage.pgm_pgss_snapshot() IS NOT NULL AS taken;
ALTER EXTENSION pg_stat_statements UPDATE;
SELECT count(*) > 0 AS has_rows, bool_and(blk_read_time >= 0 AND blk_write_time >= 0) AS times
FROM pgmanage.pgm_top_queries('calls', 50);
SELECT pgmanage.pgm_pgss_snapshot() IS NOT NULL AS taken;
RESET client_min_messages;
DROP EXTENSION pg_stat_statements;
DROP SCHEMA pgss_elsewhere;
DELETE FROM pgm_pgss_snapshot;

-- who may read what: the table (literal texts of every role) only superusers;
-- its view everyone, with others' texts under pg_stat_activity's rules;
-- the history pg_read_all_stats (and so pg_monitor), never PUBLIC
CREATE ROLE pgm_nobody_slow;
SELECT c.relname,
       has_table_privilege('pgm_nobody_slow', c.oid, 'SELECT') AS public,
       has_table_privilege('pg_monitor', c.oid, 'SELECT') AS monitor,
       has_table_privilege('pg_read_all_stats', c.oid, 'SELECT') AS read_all_stats
FROM pg_class c
WHERE c.relname IN ('pgm_slow_queries', 'pgm_slow_queries_visible', 'pgm_pgss_snapshot',
                    'pgm_pgss_history', 'pgm_pgss_query', 'pgm_pgss_last')
ORDER BY 1;
-- (USAGE on the schema, so that what refuses is each object's own privilege)
GRANT USAGE ON SCHEMA pgmanage TO pgm_nobody_slow;
SET ROLE pgm_nobody_slow;
SELECT count(*) FROM pgm_slow_queries;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_top_queries();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_slow_query_stats();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- pgm_slow_queries_visible: a plain role sees its own statements (and those
-- of roles it has the privileges of) literally, others' not; a pg_monitor
-- member (pg_read_all_stats) sees every one, but not the table
CREATE ROLE pgm_watcher_slow IN ROLE pg_monitor;
CREATE ROLE pgm_app_slow;
GRANT pgm_app_slow TO pgm_nobody_slow;
CREATE ROLE pgm_other_slow;
INSERT INTO pgm_slow_queries (captured_at, duration_ms, queryid, role_name, database_name,
    application_name, client_addr, pid, query, query_normalized, statement, plan, plan_format,
    rows, nesting_level, utility)
VALUES
    (now(), 1, 11, 'pgm_nobody_slow', 'db', 'app', '10.0.0.1', 1, 'own $1', true, 'own 1', 'Result', 'text', 1, 0, false),
    (now(), 2, 12, 'pgm_app_slow', 'db', 'app', '10.0.0.2', 2, 'member $1', true, 'member 2', 'Result', 'text', 1, 0, false),
    (now(), 3, 13, 'pgm_other_slow', 'db', 'app', '10.0.0.3', 3, 'other $1', true, 'other 3', 'Result', 'text', 1, 0, false),
    (now(), 4, 14, 'pgm_dropped_slow', 'db', 'app', '10.0.0.4', 4, 'dropped $1', true, 'dropped 4', NULL, NULL, 1, 0, false);
SET ROLE pgm_nobody_slow;
SELECT role_name, duration_ms, queryid, client_addr, query, statement, plan, plan_format
FROM pgm_slow_queries_visible ORDER BY duration_ms;
-- a leaky function in the WHERE clause sees only what the view shows
CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$BEGIN RAISE NOTICE 'leak: %', $1; RETURN true; END$$;
SELECT count(*) FROM pgm_slow_queries_visible WHERE pg_temp.leak(statement);
DROP FUNCTION pg_temp.leak(text);
RESET ROLE;
SET ROLE pgm_watcher_slow;
SELECT count(*) FROM pgm_slow_queries;
\echo :LAST_ERROR_SQLSTATE
SELECT role_name, queryid, client_addr, query, statement, plan
FROM pgm_slow_queries_visible ORDER BY duration_ms;
RESET ROLE;
DELETE FROM pgm_slow_queries;
REVOKE USAGE ON SCHEMA pgmanage FROM pgm_nobody_slow;
DROP ROLE pgm_nobody_slow, pgm_watcher_slow, pgm_app_slow, pgm_other_slow;
