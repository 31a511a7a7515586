-- pgmanage 2.0 -> 2.1: changes only (the full definitions are in src/sql/<capability>.sql;
-- the upgrade tests compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1).
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit

-- ==== newcomer: what a newcomer trips over (issue 13, section 5)

-- pgm_vacuum_options: a missing schema of this database is 3F000
CREATE OR REPLACE FUNCTION pgmanage.pgm_vacuum_options(
    database name, schema_name text, tables text[], table_pattern text, strategy text,
    window_length interval, with_analyze boolean, cost_limit integer, cost_delay double precision,
    freeze boolean, index_cleanup text, parallel integer, skip_locked boolean,
    lock_timeout interval, reindex_bloated boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    resolved text[];
    t text;
BEGIN
    IF pg_catalog.current_database() OPERATOR(pg_catalog.<>) pg_catalog.current_setting('pgmanage.database') THEN
        RAISE EXCEPTION 'pgmanage jobs live in database "%", not "%"',
            pg_catalog.current_setting('pgmanage.database'), pg_catalog.current_database()
            USING ERRCODE = '55000',
                  HINT = 'Connect to the database named by pgmanage.database; the target database is an argument.';
    END IF;
    IF database IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) database) THEN
        RAISE EXCEPTION 'database "%" does not exist', database
            USING ERRCODE = '3D000', HINT = 'See pg_database for the names.';
    END IF;
    IF (schema_name IS NOT NULL)::int OPERATOR(pg_catalog.+) (tables IS NOT NULL)::int
       OPERATOR(pg_catalog.+) (table_pattern IS NOT NULL)::int OPERATOR(pg_catalog.>) 1 THEN
        RAISE EXCEPTION 'at most one of schema_name, tables and table_pattern may be given'
            USING ERRCODE = '22023', HINT = 'Use a pattern such as ''sales.%'' to combine a schema and names.';
    END IF;
    IF schema_name OPERATOR(pg_catalog.=) '' OR table_pattern OPERATOR(pg_catalog.=) ''
       OR pg_catalog.cardinality(tables) OPERATOR(pg_catalog.=) 0
       OR pg_catalog.array_position(tables, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'schema_name, tables and table_pattern must not be empty'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for every table of the database.';
    END IF;
    IF pg_catalog.octet_length(table_pattern) OPERATOR(pg_catalog.>) 255
       OR pg_catalog.octet_length(schema_name) OPERATOR(pg_catalog.>) 63 THEN
        RAISE EXCEPTION 'schema_name or table_pattern is too long' USING ERRCODE = '22023';
    END IF;
    IF tables IS NOT NULL THEN
        IF database OPERATOR(pg_catalog.=) pg_catalog.current_database() THEN
            -- resolve now, so a typo is an error here and not a silent no-op
            FOREACH t IN ARRAY tables LOOP
                IF pg_catalog.to_regclass(t) IS NULL THEN
                    RAISE EXCEPTION 'table "%" does not exist', t
                        USING ERRCODE = '42P01', HINT = 'Qualify names with their schema: ''sales.orders''.';
                END IF;
                resolved := resolved OPERATOR(pg_catalog.||)
                    (SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                            OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname)
                     FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                     WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(t));
            END LOOP;
            tables := resolved;
        END IF;
        IF pg_catalog.octet_length(pg_catalog.array_to_string(tables, ',')) OPERATOR(pg_catalog.>) 3800 THEN
            RAISE EXCEPTION 'the list of tables is too long'
                USING ERRCODE = '22023', HINT = 'Use schema_name or table_pattern for many tables.';
        END IF;
    END IF;
    IF strategy IS NULL OR NOT (strategy OPERATOR(pg_catalog.=) ANY (ARRAY['need', 'all'])) THEN
        RAISE EXCEPTION 'invalid strategy "%"', strategy
            USING ERRCODE = '22023', HINT = 'Use ''need'' (tables that need it) or ''all'' (every table).';
    END IF;
    IF window_length IS NOT NULL AND window_length OPERATOR(pg_catalog.<=) interval '0' THEN
        RAISE EXCEPTION 'window_length must be positive'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for no window.';
    END IF;
    -- (a window end beyond the representable range would be in the past)
    IF window_length OPERATOR(pg_catalog.>) interval '100 years' THEN
        RAISE EXCEPTION 'window_length must be at most 100 years'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for no window.';
    END IF;
    IF with_analyze IS NULL OR pgm_vacuum_options.freeze IS NULL OR skip_locked IS NULL OR reindex_bloated IS NULL THEN
        RAISE EXCEPTION 'with_analyze, freeze, skip_locked and reindex_bloated must not be NULL'
            USING ERRCODE = '22023';
    END IF;
    IF cost_limit IS NOT NULL
       AND (cost_limit OPERATOR(pg_catalog.<) 1 OR cost_limit OPERATOR(pg_catalog.>) 10000) THEN
        RAISE EXCEPTION 'cost_limit must be between 1 and 10000'
            USING ERRCODE = '22023', HINT = 'It is vacuum_cost_limit for the run; NULL keeps the server''s.';
    END IF;
    IF cost_delay IS NOT NULL
       AND (cost_delay OPERATOR(pg_catalog.<) 0 OR cost_delay OPERATOR(pg_catalog.>) 100) THEN
        RAISE EXCEPTION 'cost_delay must be between 0 and 100 (milliseconds)'
            USING ERRCODE = '22023', HINT = 'It is vacuum_cost_delay for the run; NULL keeps the server''s.';
    END IF;
    IF index_cleanup IS NULL
       OR NOT (pg_catalog.lower(index_cleanup) OPERATOR(pg_catalog.=) ANY (ARRAY['auto', 'on', 'off'])) THEN
        RAISE EXCEPTION 'invalid index_cleanup "%"', index_cleanup
            USING ERRCODE = '22023', HINT = 'Use ''auto'', ''on'' or ''off'', as VACUUM''s INDEX_CLEANUP.';
    END IF;
    IF parallel IS NOT NULL
       AND (parallel OPERATOR(pg_catalog.<) 0 OR parallel OPERATOR(pg_catalog.>) 1024) THEN
        RAISE EXCEPTION 'parallel must be between 0 and 1024'
            USING ERRCODE = '22023', HINT = 'It is VACUUM''s PARALLEL option; NULL lets PostgreSQL choose.';
    END IF;
    IF lock_timeout IS NULL OR lock_timeout OPERATOR(pg_catalog.<) interval '0'
       OR lock_timeout OPERATOR(pg_catalog.>) interval '1 day' THEN
        RAISE EXCEPTION 'lock_timeout must be between 0 and 1 day'
            USING ERRCODE = '22023', HINT = '0 waits for locks without limit; the default is 5 seconds.';
    END IF;
    -- a schema of this database is checked now (3F000), as a table is (42P01);
    -- one of another database is checked when the run starts there
    IF schema_name IS NOT NULL AND database OPERATOR(pg_catalog.=) pg_catalog.current_database()
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                       WHERE n.nspname OPERATOR(pg_catalog.=) schema_name) THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema_name
            USING ERRCODE = '3F000', HINT = 'See pg_namespace (\dn in psql) for the schemas of this database.';
    END IF;
    RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'schema', schema_name, 'tables', pg_catalog.to_jsonb(tables), 'pattern', table_pattern,
        'strategy', strategy, 'window_seconds', extract(epoch FROM window_length)::float8, 'analyze', with_analyze,
        'cost_limit', cost_limit, 'cost_delay', cost_delay, 'freeze', pgm_vacuum_options.freeze,
        'index_cleanup', pg_catalog.lower(index_cleanup), 'parallel', parallel, 'skip_locked', skip_locked,
        'lock_timeout_ms', (extract(epoch FROM lock_timeout) OPERATOR(pg_catalog.*) 1000)::bigint,
        'reindex_bloated', reindex_bloated));
END
$$;

-- an endpoint a backup job sends to cannot be deleted, renamed or truncated away
CREATE FUNCTION pgmanage.pgm_endpoint_in_use() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    jobs text;
    ep text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        SELECT string_agg(format('%I', j.name), ', ' ORDER BY j.name), min(j.options->>'endpoint')
        INTO jobs, ep
        FROM pgmanage.pgm_job j
        WHERE j.kind = 'backup' AND j.options ? 'endpoint';
    ELSE
        ep := OLD.name;
        SELECT string_agg(format('%I', j.name), ', ' ORDER BY j.name) INTO jobs
        FROM pgmanage.pgm_job j
        WHERE j.kind = 'backup' AND j.options->>'endpoint' = OLD.name;
    END IF;
    IF jobs IS NOT NULL THEN
        RAISE EXCEPTION 'webhook endpoint "%" is used by backup job %', ep, jobs
            USING ERRCODE = '2BP01',
                  DETAIL = 'Every slot of such a job would fail and send a job_failed event.',
                  HINT = 'Remove the job first with pgm_unschedule(), or point it at another endpoint with pgm_schedule_backup(name, schedule, endpoint => ...).';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_endpoint_in_use() IS 'pgmanage (internal): trigger on pgm_endpoint, refuses to delete or rename an endpoint a backup job sends to';
CREATE TRIGGER pgm_endpoint_in_use
    BEFORE DELETE OR UPDATE OF name ON pgmanage.pgm_endpoint
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_endpoint_in_use();
CREATE TRIGGER pgm_endpoint_in_use_truncate
    BEFORE TRUNCATE ON pgmanage.pgm_endpoint
    FOR EACH STATEMENT EXECUTE FUNCTION pgmanage.pgm_endpoint_in_use();
REVOKE ALL ON FUNCTION pgmanage.pgm_endpoint_in_use() FROM PUBLIC;


-- pgm_timeout_policy: a NOTICE for a role or database that does not exist
CREATE OR REPLACE FUNCTION pgmanage.pgm_policy_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF NEW.enabled AND (TG_OP = 'INSERT' OR NOT OLD.enabled) THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(TG_RELID::pg_catalog.int8);
        SELECT count(*) INTO n FROM pgmanage.pgm_timeout_policy p
        WHERE p.enabled AND p.id OPERATOR(pg_catalog.<>) NEW.id;
        IF n OPERATOR(pg_catalog.>=) 256 THEN
            RAISE EXCEPTION 'too many enabled timeout policies'
                USING ERRCODE = '54000',
                      DETAIL = pg_catalog.format('pgmanage enforces at most 256 enabled policies; %s are enabled.', n),
                      HINT = 'Disable or delete a policy, or let one policy cover more sessions (a role, an application_name pattern, a client_addr network).';
        END IF;
    END IF;
    IF NEW.role_name OPERATOR(pg_catalog.<>) ''
       AND (TG_OP = 'INSERT' OR NEW.role_name IS DISTINCT FROM OLD.role_name)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                       WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role_name) THEN
        RAISE NOTICE 'role "%" does not exist', NEW.role_name
            USING DETAIL = 'The policy is kept; it applies to the role''s sessions once the role exists.',
                  HINT = 'Check the name (see pg_roles), or create the role.';
    END IF;
    IF NEW.database_name OPERATOR(pg_catalog.<>) ''
       AND (TG_OP = 'INSERT' OR NEW.database_name IS DISTINCT FROM OLD.database_name)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d
                       WHERE d.datname OPERATOR(pg_catalog.=) NEW.database_name) THEN
        RAISE NOTICE 'database "%" does not exist', NEW.database_name
            USING DETAIL = 'The policy is kept; it applies to the database''s sessions once the database exists.',
                  HINT = 'Check the name (see pg_database), or create the database.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_policy_check() IS 'pgmanage (internal): trigger on pgm_timeout_policy, refuses a 257th enabled policy, NOTICE for a role or database that does not exist';
DROP TRIGGER pgm_timeout_policy_check ON pgmanage.pgm_timeout_policy;
CREATE TRIGGER pgm_timeout_policy_check
    BEFORE INSERT OR UPDATE OF enabled, role_name, database_name ON pgmanage.pgm_timeout_policy
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_policy_check();

-- Result column types for GUI grids and drivers (README, "Result column types"):
-- identifiers text, not name; durations double precision; a *_seconds twin of
-- pgm_job_runs.duration.  A result type changes: DROP and CREATE, with the
-- grants and comments again.  pgm_database_sizes().connections also leaves out
-- pgmanage's own processes now, and pgm_job_runs.bytes_freed is never negative.
DROP FUNCTION pgmanage.pgm_database_sizes();
CREATE FUNCTION pgmanage.pgm_database_sizes(
    OUT database_name text,
    OUT size_bytes bigint,
    OUT size_pretty text,
    OUT share_of_cluster numeric,
    OUT connections integer,
    OUT xact_commit bigint,
    OUT xact_rollback bigint,
    OUT blks_read bigint,
    OUT blks_hit bigint,
    OUT cache_hit_ratio numeric,
    OUT temp_files bigint,
    OUT temp_bytes bigint,
    OUT deadlocks bigint,
    OUT stats_reset timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (
        SELECT db.oid, db.datname, pg_catalog.pg_database_size(db.oid) AS bytes
        FROM pg_catalog.pg_database db
        WHERE db.datallowconn AND db.datconnlimit <> -2
    )
    SELECT d.datname::text,
           d.bytes,
           pg_catalog.pg_size_pretty(d.bytes),
           round(100.0 * d.bytes / nullif(sum(d.bytes) OVER (), 0), 2),
           (SELECT count(*)::integer FROM pg_catalog.pg_stat_activity a
            WHERE a.datid OPERATOR(pg_catalog.=) d.oid
              AND a.backend_type NOT LIKE 'pgmanage %'),
           s.xact_commit,
           s.xact_rollback,
           s.blks_read,
           s.blks_hit,
           round(100.0 * s.blks_hit / nullif(s.blks_hit + s.blks_read, 0), 2),
           s.temp_files,
           s.temp_bytes,
           s.deadlocks,
           s.stats_reset
    FROM d LEFT JOIN pg_catalog.pg_stat_database s ON s.datid = d.oid
    ORDER BY d.bytes DESC
$$;
REVOKE ALL ON FUNCTION pgmanage.pgm_database_sizes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_database_sizes() TO pg_read_all_stats;

DROP FUNCTION pgmanage.pgm_slow_query_stats();
CREATE FUNCTION pgmanage.pgm_slow_query_stats(
    OUT captured bigint,
    OUT written bigint,
    OUT pending bigint,
    OUT dropped bigint,
    OUT buffer_slots integer,
    OUT buffer_bytes bigint,
    OUT query_max_bytes bigint,
    OUT plan_max_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgm_slow_query_stats'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION pgmanage.pgm_slow_query_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_slow_query_stats() TO pg_read_all_stats;

DROP FUNCTION pgmanage.pgm_pgss_schema(boolean);
CREATE FUNCTION pgmanage.pgm_pgss_schema(missing_ok boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    preloaded boolean := current_setting('pg_stat_statements.max', true) IS NOT NULL;
    nsp name;
    ver text;
BEGIN
    SELECT n.nspname, e.extversion INTO nsp, ver
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements';
    IF preloaded AND nsp IS NOT NULL
       AND string_to_array(ver, '.')::int[] >= ARRAY[1, 9] THEN
        RETURN nsp;
    END IF;
    IF missing_ok THEN
        RETURN NULL;
    END IF;
    IF NOT preloaded THEN
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = 'pg_stat_statements is not loaded through shared_preload_libraries',
            HINT = 'Add shared_preload_libraries = ''pg_stat_statements'' to postgresql.conf (keeping the libraries already listed) and restart the server'
                   || CASE WHEN nsp IS NULL
                           THEN format(', then run CREATE EXTENSION pg_stat_statements in database "%s".', current_database())
                           ELSE '.' END;
    ELSIF nsp IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = format('extension "pg_stat_statements" is not installed in database "%s"', current_database()),
            HINT = 'Run CREATE EXTENSION pg_stat_statements in this database.';
    ELSE
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = format('pg_stat_statements %s is too old: 1.9 or later is needed', ver),
            HINT = 'Run ALTER EXTENSION pg_stat_statements UPDATE.';
    END IF;
END
$fn$;
COMMENT ON FUNCTION pgmanage.pgm_pgss_schema(boolean) IS 'pgmanage (internal): the schema of pg_stat_statements, or ERROR 55000 saying what is missing';
REVOKE ALL ON FUNCTION pgmanage.pgm_pgss_schema(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_pgss_schema(boolean) TO pg_read_all_stats;

DROP FUNCTION pgmanage.pgm_top_queries(text, integer, name);
CREATE FUNCTION pgmanage.pgm_top_queries(
    order_by text DEFAULT 'total_time',
    n integer DEFAULT 10,
    dbname name DEFAULT NULL,
    OUT rank integer,
    OUT queryid bigint,
    OUT role_name text,
    OUT database_name text,
    OUT toplevel boolean,
    OUT calls bigint,
    OUT total_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT share_of_total_time numeric,
    OUT rows bigint,
    OUT rows_per_call numeric,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT hit_ratio numeric,
    OUT io_blocks bigint,
    OUT blk_read_time double precision,
    OUT blk_write_time double precision,
    OUT temp_blks_written bigint,
    OUT total_plan_time double precision,
    OUT query text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ord text := pgmanage.pgm_top_queries_order(order_by);
    nsp name;
    rd_time text;
    wr_time text;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('n must be at least 1, not %s', coalesce(n::text, 'NULL'));
    END IF;
    nsp := pgmanage.pgm_pgss_schema(false);
    -- blk_read_time/blk_write_time: the installed pg_stat_statements'
    -- columns (its extversion, not the server's: after pg_upgrade an older
    -- one may stay installed); 1.11 (PostgreSQL 17) split them into
    -- shared_blk_*_time and local_blk_*_time: their sum
    IF string_to_array((SELECT e.extversion FROM pg_extension e
                        WHERE e.extname = 'pg_stat_statements'), '.')::int[] >= ARRAY[1, 11] THEN
        rd_time := 's.shared_blk_read_time + s.local_blk_read_time';
        wr_time := 's.shared_blk_write_time + s.local_blk_write_time';
    ELSE
        rd_time := 's.blk_read_time';
        wr_time := 's.blk_write_time';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH s AS (
            SELECT s.userid, s.dbid, s.queryid, s.toplevel, s.calls, s.total_exec_time,
                   s.total_plan_time, s.rows, s.shared_blks_hit, s.shared_blks_read,
                   s.shared_blks_written + s.local_blks_read + s.local_blks_written
                     + s.temp_blks_read + s.temp_blks_written + s.shared_blks_read AS io_blocks,
                   %s AS blk_read_time, %s AS blk_write_time, s.temp_blks_written, s.query
            FROM %I.pg_stat_statements(true) s
            WHERE s.calls > 0
              AND ($1 IS NULL OR s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = $1))
        ), t AS (
            SELECT s.*, sum(s.total_exec_time) OVER () AS all_time FROM s
        )
        SELECT (row_number() OVER (ORDER BY %s DESC, t.queryid))::integer,
               t.queryid, r.rolname::text, d.datname::text, t.toplevel, t.calls,
               round(t.total_exec_time::numeric, 3)::float8,
               round((t.total_exec_time / t.calls)::numeric, 3)::float8,
               round((100 * t.total_exec_time / nullif(t.all_time, 0))::numeric, 2),
               t.rows,
               round(t.rows::numeric / t.calls, 2),
               t.shared_blks_hit, t.shared_blks_read,
               round(100.0 * t.shared_blks_hit / nullif(t.shared_blks_hit + t.shared_blks_read, 0), 2),
               t.io_blocks,
               round(t.blk_read_time::numeric, 3)::float8, round(t.blk_write_time::numeric, 3)::float8,
               t.temp_blks_written,
               round(t.total_plan_time::numeric, 3)::float8,
               t.query
        FROM t
        LEFT JOIN pg_roles r ON r.oid = t.userid
        LEFT JOIN pg_database d ON d.oid = t.dbid
        ORDER BY %s DESC, t.queryid
        LIMIT $2
    $q$, rd_time, wr_time, nsp, ord, ord) USING dbname, n;
END
$fn$;
REVOKE ALL ON FUNCTION pgmanage.pgm_top_queries(text, integer, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_top_queries(text, integer, name) TO pg_read_all_stats;

DROP FUNCTION pgmanage.pgm_top_queries_between(timestamptz, timestamptz, text, integer, name);
CREATE FUNCTION pgmanage.pgm_top_queries_between(
    from_time timestamptz,
    to_time timestamptz,
    order_by text DEFAULT 'total_time',
    n integer DEFAULT 10,
    dbname name DEFAULT NULL,
    OUT rank integer,
    OUT queryid bigint,
    OUT role_name text,
    OUT database_name text,
    OUT toplevel boolean,
    OUT calls bigint,
    OUT total_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT share_of_total_time numeric,
    OUT rows bigint,
    OUT rows_per_call numeric,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT hit_ratio numeric,
    OUT io_blocks bigint,
    OUT blk_read_time double precision,
    OUT blk_write_time double precision,
    OUT temp_blks_written bigint,
    OUT total_plan_time double precision,
    OUT query text,
    OUT period_start timestamptz,
    OUT period_end timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ord text := pgmanage.pgm_top_queries_order(order_by);
BEGIN
    IF from_time IS NULL OR to_time IS NULL OR from_time >= to_time THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'from_time must be earlier than to_time',
            DETAIL = format('from_time is %s, to_time is %s',
                            coalesce(from_time::text, 'NULL'), coalesce(to_time::text, 'NULL'));
    END IF;
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('n must be at least 1, not %s', coalesce(n::text, 'NULL'));
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH snaps AS (
            SELECT s.id, s.taken_at, s.prev_taken_at
            FROM pgmanage.pgm_pgss_snapshot s
            WHERE s.taken_at > $1 AND s.taken_at <= $2
        ), s AS (
            SELECT h.userid, h.dbid, h.queryid, h.toplevel,
                   sum(h.calls)::bigint AS calls, sum(h.total_exec_time) AS total_exec_time,
                   sum(h.total_plan_time) AS total_plan_time, sum(h.rows)::bigint AS rows,
                   sum(h.shared_blks_hit)::bigint AS shared_blks_hit,
                   sum(h.shared_blks_read)::bigint AS shared_blks_read,
                   sum(h.shared_blks_written + h.local_blks_read + h.local_blks_written
                       + h.temp_blks_read + h.temp_blks_written + h.shared_blks_read)::bigint AS io_blocks,
                   sum(h.blk_read_time) AS blk_read_time, sum(h.blk_write_time) AS blk_write_time,
                   sum(h.temp_blks_written)::bigint AS temp_blks_written
            FROM pgmanage.pgm_pgss_history h
            JOIN snaps ON snaps.id = h.snapshot_id
            WHERE $3 IS NULL OR h.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = $3)
            GROUP BY h.userid, h.dbid, h.queryid, h.toplevel
            HAVING sum(h.calls) > 0
        ), t AS (
            SELECT s.*, sum(s.total_exec_time) OVER () AS all_time FROM s
        )
        SELECT (row_number() OVER (ORDER BY %s DESC, t.queryid))::integer,
               t.queryid, r.rolname::text, d.datname::text, t.toplevel, t.calls,
               round(t.total_exec_time::numeric, 3)::float8,
               round((t.total_exec_time / t.calls)::numeric, 3)::float8,
               round((100 * t.total_exec_time / nullif(t.all_time, 0))::numeric, 2),
               t.rows,
               round(t.rows::numeric / t.calls, 2),
               t.shared_blks_hit, t.shared_blks_read,
               round(100.0 * t.shared_blks_hit / nullif(t.shared_blks_hit + t.shared_blks_read, 0), 2),
               t.io_blocks,
               round(t.blk_read_time::numeric, 3)::float8, round(t.blk_write_time::numeric, 3)::float8,
               t.temp_blks_written,
               round(t.total_plan_time::numeric, 3)::float8,
               q.query,
               (SELECT min(coalesce(snaps.prev_taken_at, snaps.taken_at)) FROM snaps),
               (SELECT max(snaps.taken_at) FROM snaps)
        FROM t
        LEFT JOIN pgmanage.pgm_pgss_query q ON q.queryid = t.queryid
        LEFT JOIN pg_roles r ON r.oid = t.userid
        LEFT JOIN pg_database d ON d.oid = t.dbid
        ORDER BY %s DESC, t.queryid
        LIMIT $4
    $q$, ord, ord) USING from_time, to_time, dbname, n;
END
$fn$;
REVOKE ALL ON FUNCTION pgmanage.pgm_top_queries_between(timestamptz, timestamptz, text, integer, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_top_queries_between(timestamptz, timestamptz, text, integer, name) TO pg_read_all_stats;

DROP VIEW pgmanage.pgm_jobs;
CREATE VIEW pgmanage.pgm_jobs AS
SELECT j.name, j.kind, j.schedule, j.database_name::text AS database_name, j.enabled, j.catch_up,
       j.next_fire, j.last_fire, j.options,
       a.id AS active_run, a.status AS active_status,
       l.id AS last_run, l.status AS last_status, l.finished AS last_finished, l.error AS last_error,
       j.created_at, j.created_by::text AS created_by
FROM pgmanage.pgm_job j
LEFT JOIN LATERAL (SELECT r.id, r.status FROM pgmanage.pgm_job_run r
                   WHERE r.job = j.name AND r.status IN ('queued', 'running')
                   ORDER BY r.id LIMIT 1) a ON true
LEFT JOIN LATERAL (SELECT r.id, r.status, r.finished, r.error FROM pgmanage.pgm_job_run r
                   WHERE r.job = j.name AND r.status NOT IN ('queued', 'running')
                   ORDER BY r.id DESC LIMIT 1) l ON true;
COMMENT ON VIEW pgmanage.pgm_jobs IS 'pgmanage: jobs with their next fire time, the run going and the last run';
DROP VIEW pgmanage.pgm_job_runs;
CREATE VIEW pgmanage.pgm_job_runs AS
SELECT r.id, r.job, r.kind, r.database_name::text AS database_name, r.trigger, r.scheduled_for, r.queued_at,
       r.started, r.finished, r.finished - r.started AS duration,
       extract(epoch FROM r.finished - r.started)::float8 AS duration_seconds, r.status, r.pid,
       r.tables_considered, r.tables_vacuumed, r.tables_analyzed, r.tables_skipped, r.tables_failed,
       r.indexes_rebuilt, r.dead_tuples_removed, r.bytes_before, r.bytes_after,
       greatest(r.bytes_before - r.bytes_after, 0) AS bytes_freed, r.current_table, r.error,
       (SELECT coalesce(jsonb_agg(e), '[]') FROM jsonb_array_elements(r.details) e
        WHERE e->>'outcome' = 'skipped') AS skipped,
       r.details, r.options
FROM pgmanage.pgm_job_run r;
COMMENT ON VIEW pgmanage.pgm_job_runs IS 'pgmanage: runs of jobs, what each did per table and why';
REVOKE ALL ON pgmanage.pgm_jobs, pgmanage.pgm_job_runs FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_jobs, pgmanage.pgm_job_runs TO pg_read_all_stats;
-- ==== metrics: pgm_metrics(), pgm_metrics_text(), pgm_timeout_actions() (the same as src/sql/metrics.sql)
/*
 * metrics: pgm_metrics() and pgm_metrics_text(), pgmanage's state as
 * Prometheus metrics (2.1).  Names follow Prometheus' conventions: prefix
 * pgmanage_, base units (seconds, bytes, ratios 0..1), _total on counters
 * only, labels of low cardinality (process, limit, action, kind, status,
 * area, and the names of jobs and endpoints, which are configuration).
 *
 * Reading them is cheap and safe: shared-memory counters (pgm_status,
 * pgm_timeout_actions, pgm_slow_query_stats), sequences, small aggregates
 * over pgmanage's own tables (pruned by retention) and statvfs()
 * (pgm_disk_usage).  No user table, no catalog scan that grows with the
 * number of tables, no pg_stat_statements call (its snapshots are read from
 * pgm_pgss_snapshot).  docs/metrics.md lists every metric.
 */

-- Per kind of limit and action, the signals sent since server start (by
-- policies and by pgm_kill_long): the counters behind
-- pgm_status().statements_cancelled and sessions_terminated.
CREATE FUNCTION pgmanage.pgm_timeout_actions(
    OUT limit_kind text,
    OUT action text,
    OUT signals bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_timeout_actions'
LANGUAGE C VOLATILE;

-- pgm_metrics(names): one row per sample; names: only these metrics (NULL: all), and only the
-- parts that can give them are computed (the exporter's queries file asks
-- for a few at a time).  SECURITY DEFINER: the figures are counts, ages and
-- sizes of pgmanage's own tables (no query text, no secret, no row), so a
-- monitoring role needs no SELECT on pgm_delivery or the sequences.
CREATE FUNCTION pgmanage.pgm_metrics(
    names text[],
    OUT metric text,
    OUT type text,
    OUT help text,
    OUT labels jsonb,
    OUT value double precision)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    preloaded boolean := true;
BEGIN
    -- ---- shared memory: processes, policies, the capture ring (55000 without
    -- preload; the call also loads the library, and so its settings)
    BEGIN
        PERFORM pgmanage.pgm_slow_query_stats();
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        preloaded := false;
    END;
    -- ---- pgmanage itself
    RETURN QUERY SELECT * FROM (
        SELECT 'pgmanage_info', 'gauge',
               'pgmanage''s installed version and the database that holds its state (pgmanage.database); always 1',
               jsonb_build_object('version', e.extversion,
                                  'database', coalesce(current_setting('pgmanage.database', true), '')),
               1::float8
        FROM pg_extension e WHERE e.extname = 'pgmanage'
        UNION ALL
        SELECT 'pgmanage_connected_to_state_database', 'gauge',
               '1 when these metrics are read in pgmanage.database; 0: the table-based metrics are another database''s unused copy',
               '{}'::jsonb,
               coalesce(current_database() = current_setting('pgmanage.database', true), false)::int::float8
    ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);

    RETURN QUERY SELECT * FROM (
        SELECT 'pgmanage_preloaded', 'gauge',
               '1 when pgmanage is loaded through shared_preload_libraries (the process, policy and capture metrics need it)',
               '{}'::jsonb, preloaded::int::float8
    ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);

    IF preloaded THEN
        RETURN QUERY SELECT * FROM (
            WITH s AS (SELECT * FROM pgmanage.pgm_status())
            SELECT 'pgmanage_process_up', 'gauge',
                   '1 when the pgmanage process is running (launcher, worker, sender)',
                   jsonb_build_object('process', s.process), (s.pid IS NOT NULL)::int::float8
            FROM s
            UNION ALL
            SELECT 'pgmanage_process_start_time_seconds', 'gauge',
                   'Start time of the running pgmanage process, seconds since the Unix epoch',
                   jsonb_build_object('process', s.process), extract(epoch FROM s.started_at)::float8
            FROM s WHERE s.pid IS NOT NULL AND s.started_at IS NOT NULL
            UNION ALL
            SELECT 'pgmanage_process_last_error_timestamp_seconds', 'gauge',
                   'When the pgmanage process last recorded an error (pgm_status().last_error), seconds since the Unix epoch',
                   jsonb_build_object('process', s.process), extract(epoch FROM s.last_error_at)::float8
            FROM s WHERE s.last_error_at IS NOT NULL
            UNION ALL
            SELECT 'pgmanage_timeout_policies_loaded', 'gauge',
                   'Enabled timeout policies the launcher enforces',
                   '{}'::jsonb, s.policies_loaded::float8
            FROM s WHERE s.process = 'launcher'
            UNION ALL
            SELECT 'pgmanage_timeout_policies_skipped', 'gauge',
                   'Enabled timeout policies not enforced (a role or database that does not exist, over the cap)',
                   '{}'::jsonb, s.policies_skipped::float8
            FROM s WHERE s.process = 'launcher'
            UNION ALL
            SELECT 'pgmanage_timeout_signals_failed_total', 'counter',
                   'Cancels and terminates whose signal failed (the backend had exited), since server start',
                   '{}'::jsonb, s.signals_failed::float8
            FROM s WHERE s.process = 'launcher'
            UNION ALL
            SELECT 'pgmanage_kill_log_written_total', 'counter',
                   'Kill records written to pgm_kill_log since server start',
                   '{}'::jsonb, s.kill_log_written::float8
            FROM s WHERE s.process = 'worker'
            UNION ALL
            SELECT 'pgmanage_kill_log_pending', 'gauge',
                   'Kill records waiting in shared memory to be written to pgm_kill_log',
                   '{}'::jsonb, s.kill_log_pending::float8
            FROM s WHERE s.process = 'worker'
            UNION ALL
            SELECT 'pgmanage_kill_log_dropped_total', 'counter',
                   'Kill records dropped before they were written (the queue of 256 was full), since server start',
                   '{}'::jsonb, s.kill_log_dropped::float8
            FROM s WHERE s.process = 'worker'
        ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);

        RETURN QUERY SELECT * FROM (
            SELECT 'pgmanage_timeout_actions_total', 'counter',
                   'Statements cancelled and sessions terminated, by the limit that fired (or pgm_kill_long) and the action, since server start',
                   jsonb_build_object('limit', a.limit_kind, 'action', a.action), a.signals::float8
            FROM pgmanage.pgm_timeout_actions() a
        ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);

        RETURN QUERY SELECT * FROM (
            WITH c AS (SELECT * FROM pgmanage.pgm_slow_query_stats())
            SELECT 'pgmanage_slow_statements_captured_total', 'counter',
                   'Slow statements put in the capture ring, since server start',
                   '{}'::jsonb, c.captured::float8 FROM c
            UNION ALL
            SELECT 'pgmanage_slow_statements_written_total', 'counter',
                   'Slow statements written to pgm_slow_queries, since server start',
                   '{}'::jsonb, c.written::float8 FROM c
            UNION ALL
            SELECT 'pgmanage_slow_statements_dropped_total', 'counter',
                   'Slow statements overwritten in the ring before they were written (the ring was full), since server start',
                   '{}'::jsonb, c.dropped::float8 FROM c
            UNION ALL
            SELECT 'pgmanage_slow_statement_ring_entries', 'gauge',
                   'Slow statements in the capture ring waiting to be written',
                   '{}'::jsonb, c.pending::float8 FROM c
            UNION ALL
            SELECT 'pgmanage_slow_statement_ring_slots', 'gauge',
                   'Entries the capture ring holds (pgmanage.capture_buffer_size)',
                   '{}'::jsonb, c.buffer_slots::float8 FROM c
            UNION ALL
            SELECT 'pgmanage_slow_statement_ring_fill_ratio', 'gauge',
                   'Share of the capture ring in use, 0 to 1',
                   '{}'::jsonb, (c.pending::float8 / greatest(c.buffer_slots, 1)) FROM c
        ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);
    END IF;

    -- ---- pg_stat_statements history (the snapshots table, never pg_stat_statements
    -- itself), and the counters that are id sequences
    RETURN QUERY SELECT * FROM (
        SELECT 'pgmanage_job_runs_created_total', 'counter',
               'Job runs created since CREATE EXTENSION, every kind (the id sequence of pgm_job_run)',
               '{}'::jsonb,
               coalesce(pg_sequence_last_value('pgmanage.pgm_job_run_id_seq'::regclass), 0)::float8
        UNION ALL
        SELECT 'pgmanage_webhook_events_total', 'counter',
               'Events put in the outbox since CREATE EXTENSION (the id sequence of pgm_event)',
               '{}'::jsonb,
               coalesce(pg_sequence_last_value('pgmanage.pgm_event_id_seq'::regclass), 0)::float8
        UNION ALL
        SELECT 'pgmanage_pgss_snapshots_total', 'counter',
               'pg_stat_statements snapshots started since CREATE EXTENSION (the id sequence of pgm_pgss_snapshot)',
               '{}'::jsonb,
               coalesce(pg_sequence_last_value('pgmanage.pgm_pgss_snapshot_id_seq'::regclass), 0)::float8
        UNION ALL
        SELECT 'pgmanage_pgss_last_snapshot_age_seconds', 'gauge',
               'Seconds since the latest pg_stat_statements snapshot (absent before the first)',
               '{}'::jsonb, extract(epoch FROM clock_timestamp() - s.taken_at)::float8
        FROM (SELECT p.taken_at FROM pgmanage.pgm_pgss_snapshot p ORDER BY p.id DESC LIMIT 1) s
    ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);

    -- ---- jobs (pgm_job_run keeps runs for pgmanage.job_run_retention); each
    -- aggregate only when one of its metrics is asked for
    IF names IS NULL OR 'pgmanage_job_runs' = ANY (names) THEN
        RETURN QUERY
        WITH runs AS (
            SELECT r.kind, r.status, count(*) AS n
            FROM pgmanage.pgm_job_run r GROUP BY r.kind, r.status
        ), combos AS (
            SELECT k.kind, st.status
            FROM (SELECT unnest(ARRAY['vacuum', 'backup']) UNION SELECT j.kind FROM pgmanage.pgm_job j
                  UNION SELECT runs.kind FROM runs) AS k(kind)
            CROSS JOIN unnest(ARRAY['queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']) AS st(status)
            UNION
            SELECT runs.kind, runs.status FROM runs
        )
        SELECT 'pgmanage_job_runs', 'gauge',
               'Runs in pgm_job_run (kept for pgmanage.job_run_retention) by kind and status',
               jsonb_build_object('kind', c.kind, 'status', c.status), coalesce(runs.n, 0)::float8
        FROM combos c LEFT JOIN runs ON runs.kind = c.kind AND runs.status = c.status;
    END IF;

    IF names IS NULL OR 'pgmanage_job_last_success_timestamp_seconds' = ANY (names) THEN
        RETURN QUERY
        SELECT 'pgmanage_job_last_success_timestamp_seconds', 'gauge',
               'When the scheduled job''s latest successful run finished, seconds since the Unix epoch (absent: none kept)',
               jsonb_build_object('job', j.name, 'kind', j.kind), extract(epoch FROM l.finished)::float8
        FROM pgmanage.pgm_job j
        JOIN (SELECT r.job, max(r.finished) AS finished FROM pgmanage.pgm_job_run r
              WHERE r.status = 'succeeded' AND r.job IS NOT NULL GROUP BY r.job) l ON l.job = j.name
        WHERE l.finished IS NOT NULL;
    END IF;

    IF names IS NULL OR names && ARRAY['pgmanage_vacuum_reclaimed_bytes', 'pgmanage_vacuum_tables'] THEN
        RETURN QUERY SELECT * FROM (
            WITH v AS (
                SELECT coalesce(sum(greatest(r.bytes_before - r.bytes_after, 0)), 0) AS reclaimed,
                       coalesce(sum(r.tables_vacuumed), 0) AS vacuumed,
                       coalesce(sum(r.tables_analyzed), 0) AS analyzed,
                       coalesce(sum(r.tables_skipped), 0) AS skipped,
                       coalesce(sum(r.tables_failed), 0) AS failed
                FROM pgmanage.pgm_job_run r
                WHERE r.kind = 'vacuum' AND r.status IN ('succeeded', 'failed', 'cancelled')
            )
            SELECT 'pgmanage_vacuum_reclaimed_bytes', 'gauge',
                   'Bytes VACUUM runs kept in pgm_job_run freed (bytes_before - bytes_after per finished run, at least 0)',
                   '{}'::jsonb, v.reclaimed::float8 FROM v
            UNION ALL
            SELECT 'pgmanage_vacuum_tables', 'gauge',
                   'Tables of the finished VACUUM runs kept in pgm_job_run, by outcome',
                   jsonb_build_object('outcome', o.outcome), o.n::float8
            FROM v CROSS JOIN LATERAL (VALUES ('vacuumed', v.vacuumed), ('analyzed', v.analyzed),
                                              ('skipped', v.skipped), ('failed', v.failed)) AS o(outcome, n)
        ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);
    END IF;

    -- ---- webhooks (pgm_delivery keeps deliveries for pgmanage.webhook_retention);
    -- event times are read only for pending deliveries and those of the last 5 minutes
    IF names IS NULL OR 'pgmanage_webhook_endpoint_enabled' = ANY (names) THEN
        RETURN QUERY
        SELECT 'pgmanage_webhook_endpoint_enabled', 'gauge',
               '1 when the webhook endpoint is enabled',
               jsonb_build_object('endpoint', ep.name), ep.enabled::int::float8
        FROM pgmanage.pgm_endpoint ep;
    END IF;

    IF names IS NULL OR 'pgmanage_webhook_deliveries' = ANY (names) THEN
        RETURN QUERY
        WITH counts AS (
            SELECT d.endpoint, d.status, count(*) AS n
            FROM pgmanage.pgm_delivery d GROUP BY d.endpoint, d.status
        )
        SELECT 'pgmanage_webhook_deliveries', 'gauge',
               'Deliveries in pgm_delivery by endpoint and status (delivered and dead ones are kept for pgmanage.webhook_retention)',
               jsonb_build_object('endpoint', ep.name, 'status', st.status), coalesce(c.n, 0)::float8
        FROM pgmanage.pgm_endpoint ep
        CROSS JOIN unnest(ARRAY['pending', 'delivered', 'dead']) AS st(status)
        LEFT JOIN counts c ON c.endpoint = ep.name AND c.status = st.status;
    END IF;

    IF names IS NULL OR 'pgmanage_webhook_oldest_pending_age_seconds' = ANY (names) THEN
        RETURN QUERY
        SELECT 'pgmanage_webhook_oldest_pending_age_seconds', 'gauge',
               'Age of the oldest event still pending for the endpoint, 0 when none is',
               jsonb_build_object('endpoint', ep.name),
               coalesce(extract(epoch FROM clock_timestamp() - p.oldest), 0)::float8
        FROM pgmanage.pgm_endpoint ep
        LEFT JOIN (SELECT d.endpoint, min(e.created_at) AS oldest
                   FROM pgmanage.pgm_delivery d JOIN pgmanage.pgm_event e ON e.id = d.event_id
                   WHERE d.status = 'pending' GROUP BY d.endpoint) p ON p.endpoint = ep.name;
    END IF;

    IF names IS NULL OR names && ARRAY['pgmanage_webhook_delivery_latency_seconds',
                                       'pgmanage_webhook_delivery_latency_max_seconds'] THEN
        RETURN QUERY SELECT * FROM (
            WITH recent AS (
                SELECT d.endpoint,
                       avg(extract(epoch FROM d.delivered_at - e.created_at)) AS latency_avg,
                       max(extract(epoch FROM d.delivered_at - e.created_at)) AS latency_max
                FROM pgmanage.pgm_delivery d JOIN pgmanage.pgm_event e ON e.id = d.event_id
                WHERE d.status = 'delivered' AND d.delivered_at > now() - interval '5 minutes'
                GROUP BY d.endpoint
            )
            SELECT 'pgmanage_webhook_delivery_latency_seconds', 'gauge',
                   'Mean time from enqueue to delivery of the deliveries of the last 5 minutes (absent when none)',
                   jsonb_build_object('endpoint', r.endpoint), r.latency_avg::float8
            FROM recent r JOIN pgmanage.pgm_endpoint ep ON ep.name = r.endpoint
            UNION ALL
            SELECT 'pgmanage_webhook_delivery_latency_max_seconds', 'gauge',
                   'Longest time from enqueue to delivery among the deliveries of the last 5 minutes (absent when none)',
                   jsonb_build_object('endpoint', r.endpoint), r.latency_max::float8
            FROM recent r JOIN pgmanage.pgm_endpoint ep ON ep.name = r.endpoint
        ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);
    END IF;

    -- ---- endpoint circuit state: not built yet (another change adds the
    -- circuit breaker).  Add one RETURN QUERY here, e.g.
    --   pgmanage_webhook_circuit_open{endpoint} gauge (1 open, 0 closed)

    IF names IS NULL OR names && ARRAY['pgmanage_disk_used_ratio', 'pgmanage_disk_size_bytes',
                                       'pgmanage_disk_available_bytes', 'pgmanage_disk_area_bytes'] THEN
        -- ---- disk (statvfs of the data directory, pg_wal, temporary files, tablespaces)
        RETURN QUERY SELECT * FROM (
            WITH u AS (SELECT * FROM pgmanage.pgm_disk_usage())
            SELECT 'pgmanage_disk_used_ratio', 'gauge',
                   'Used share of the filesystem holding the area, 0 to 1, as df computes it',
                   jsonb_build_object('area', u.area), (u.fs_used_pct / 100)::float8
            FROM u WHERE u.fs_used_pct IS NOT NULL
            UNION ALL
            SELECT 'pgmanage_disk_size_bytes', 'gauge',
                   'Size of the filesystem holding the area',
                   jsonb_build_object('area', u.area), u.fs_total_bytes::float8
            FROM u WHERE u.fs_total_bytes IS NOT NULL
            UNION ALL
            SELECT 'pgmanage_disk_available_bytes', 'gauge',
                   'Bytes available to unprivileged users on the filesystem holding the area',
                   jsonb_build_object('area', u.area), u.fs_available_bytes::float8
            FROM u WHERE u.fs_available_bytes IS NOT NULL
            UNION ALL
            SELECT 'pgmanage_disk_area_bytes', 'gauge',
                   'Bytes the area itself takes (pg_wal: WAL files; temp_files: temporary files)',
                   jsonb_build_object('area', u.area), u.area_bytes::float8
            FROM u WHERE u.area_bytes IS NOT NULL
        ) q (metric, type, help, labels, value) WHERE names IS NULL OR q.metric = ANY (names);
    END IF;

    -- ---- health checks: not built yet (another change adds them).  Add
    -- one RETURN QUERY here, e.g. pgmanage_health_check_value{check} and
    -- pgmanage_health_check_status{check,status} gauges.
END
$fn$;

-- pgm_metrics(): every sample (what clients and pgm_metrics_text call).
CREATE FUNCTION pgmanage.pgm_metrics(
    OUT metric text,
    OUT type text,
    OUT help text,
    OUT labels jsonb,
    OUT value double precision)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM pgmanage.pgm_metrics(NULL::text[])
$fn$;

-- The same samples in the Prometheus text exposition format (0.0.4): per
-- family (sorted by name, bytewise) one # HELP and one # TYPE line, then its
-- samples sorted by their labels, label values escaped (\\, \", \n); NaN
-- and infinities spelled as Prometheus does.
CREATE FUNCTION pgmanage.pgm_metrics_text()
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 1
AS $fn$
    WITH m AS (
        SELECT m.metric, m.type, m.help, m.labels,
               CASE WHEN m.labels = '{}'::jsonb THEN ''
                    ELSE '{' || (SELECT string_agg(l.key || '="'
                                     || replace(replace(replace(l.value, E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n')
                                     || '"', ',' ORDER BY l.key COLLATE "C")
                                 FROM jsonb_each_text(m.labels) l) || '}'
               END AS label_text,
               CASE WHEN m.value = 'NaN'::float8 THEN 'NaN'
                    WHEN m.value = 'Infinity'::float8 THEN '+Inf'
                    WHEN m.value = '-Infinity'::float8 THEN '-Inf'
                    ELSE m.value::text
               END AS value_text
        FROM pgmanage.pgm_metrics() m
        WHERE m.value IS NOT NULL
    ), f AS (
        SELECT m.metric, min(m.type) AS type, min(m.help) AS help,
               string_agg(m.metric || m.label_text || ' ' || m.value_text || E'\n', ''
                          ORDER BY m.label_text COLLATE "C") AS samples
        FROM m GROUP BY m.metric
    )
    SELECT coalesce(string_agg(
               '# HELP ' || f.metric || ' '
               || replace(replace(f.help, E'\\', E'\\\\'), E'\n', E'\\n') || E'\n'
               || '# TYPE ' || f.metric || ' ' || f.type || E'\n'
               || f.samples, '' ORDER BY f.metric COLLATE "C"), '')
    FROM f
$fn$;

COMMENT ON FUNCTION pgmanage.pgm_timeout_actions() IS 'pgmanage: signals sent by limit and action since server start (pgmanage_timeout_actions_total)';

-- Privileges: for pg_monitor (and pg_read_all_stats, which pgm_status
-- needs anyway); nothing for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_timeout_actions() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_metrics() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_metrics(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_metrics_text() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_timeout_actions() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_metrics() TO pg_monitor, pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_metrics(text[]) TO pg_monitor, pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_metrics_text() TO pg_monitor, pg_read_all_stats;
