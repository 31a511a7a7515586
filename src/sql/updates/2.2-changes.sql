-- pgmanage 2.1 -> 2.2: the changes to the objects of 2.1, by topic.
-- make appends the files run whole (WHOLE_IN_2_2 in the Makefile)
-- and writes src/sql/pgmanage--2.1--2.2.sql; edit this file, not that one.
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.2'" to load this file. \quit

-- ==== row caps of the history tables (pgmanage.*_max_rows, core/retention.c)
-- retention and the row cap prune pgm_pgss_query by last_seen (was a sequential scan)
CREATE INDEX pgm_pgss_query_last_seen ON pgmanage.pgm_pgss_query (last_seen);

-- ==== faults: pgm_status() says how the previous stop ended (issue 11, item 3)
-- five columns appended for the launcher's row (core/stop_state.c)
DROP FUNCTION pgmanage.pgm_status();
-- The processes of pgmanage (launcher, worker, sender) and their counters;
-- on the launcher's row, how the server's previous stop ended and what it lost.
CREATE FUNCTION pgmanage.pgm_status(
    OUT process text,
    OUT pid integer,
    OUT started_at timestamptz,
    OUT database_name text,
    OUT server_role text,
    OUT last_wake timestamptz,
    OUT next_deadline timestamptz,
    OUT policies_loaded integer,
    OUT policies_skipped integer,
    OUT extension_found boolean,
    OUT statements_cancelled bigint,
    OUT sessions_terminated bigint,
    OUT signals_failed bigint,
    OUT kill_log_written bigint,
    OUT kill_log_pending bigint,
    OUT kill_log_dropped bigint,
    OUT last_error text,
    OUT last_error_at timestamptz,
    OUT unclean_stops bigint,
    OUT last_stop text,
    OUT last_stop_at timestamptz,
    OUT lost_slow_queries bigint,
    OUT lost_kill_records bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_status'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION pgmanage.pgm_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_status() TO pg_read_all_stats;
