/*
 * core: what every capability shares.  The schema pgmanage itself is
 * created by CREATE EXTENSION (schema = pgmanage in the control file) and is
 * not a member of the extension.  USAGE on it goes to the roles the
 * functions are granted to (pg_read_all_stats, pg_signal_backend): nothing
 * in it is for PUBLIC, and a superuser grants more where needed.
 */
GRANT USAGE ON SCHEMA pgmanage TO pg_read_all_stats, pg_signal_backend;

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
