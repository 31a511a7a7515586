-- pgmanage 2.0 -> 2.1: the changes to what 2.0 had (the full definitions are in
-- src/sql/<capability>.sql).  make appends the capability files new in 2.1
-- (NEW_IN_2_1 in the Makefile) to make pgmanage--2.0--2.1.sql; the upgrade tests
-- compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1.
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit

-- ==== reports, jobs, VACUUM, backups: result column types, schema pgmanage left out of reports, 3F000, endpoints in use

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
-- ==== timeout policies: lock_wait_timeout and cancel_blockers_after
-- A statement waiting on a heavyweight lock longer than lock_wait_timeout is
-- cancelled by the launcher; after cancel_blockers_after, the sessions it
-- waits for are (for policies that opt in).  Added at the end of the table,
-- in the same order as src/sql/timeouts.sql.
ALTER TABLE pgmanage.pgm_timeout_policy
    ADD COLUMN lock_wait_timeout interval
        CONSTRAINT pgm_timeout_policy_lock_wait_timeout_positive CHECK (lock_wait_timeout > interval '0')
        CONSTRAINT pgm_timeout_policy_lock_wait_timeout_max_100_years CHECK (lock_wait_timeout <= interval '100 years'),
    ADD COLUMN cancel_blockers_after interval
        CONSTRAINT pgm_timeout_policy_cancel_blockers_after_positive CHECK (cancel_blockers_after > interval '0')
        CONSTRAINT pgm_timeout_policy_cancel_blockers_after_max_100_years CHECK (cancel_blockers_after <= interval '100 years'),
    ADD CONSTRAINT pgm_timeout_policy_cancel_blockers_before_lock_wait
        CHECK (cancel_blockers_after < lock_wait_timeout),
    DROP CONSTRAINT pgm_timeout_policy_has_a_limit,
    ADD CONSTRAINT pgm_timeout_policy_has_a_limit
        CHECK (statement_timeout IS NOT NULL OR idle_in_transaction_timeout IS NOT NULL
               OR transaction_timeout IS NOT NULL OR lock_wait_timeout IS NOT NULL
               OR cancel_blockers_after IS NOT NULL);
COMMENT ON TABLE pgmanage.pgm_timeout_policy IS 'pgmanage: statement, idle-in-transaction, transaction and lock-wait limits enforced by the launcher';
-- ==== VACUUM runs: per-table details appended in pgm_job_run_detail, folded into details at the end
-- A run's per-table results while it goes: each drain of a VACUUM worker's
-- results appends one row (seq 1, 2, ...) holding that batch's entries, so
-- a pass writes only its own entries' WAL, not the whole details array
-- again.  When the run ends (any path that sets its final status) the
-- trigger below sets pgm_job_run.details once, from these rows in order,
-- and deletes them.  Deleted with their run (retention, DROP).
CREATE TABLE pgmanage.pgm_job_run_detail (
    run_id bigint NOT NULL REFERENCES pgmanage.pgm_job_run (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    entries jsonb NOT NULL,
    PRIMARY KEY (run_id, seq)
);
COMMENT ON TABLE pgmanage.pgm_job_run_detail IS 'pgmanage: per-table results of runs going, in batches; folded into pgm_job_run.details when the run ends';

CREATE FUNCTION pgmanage.pgm_job_run_fold_details() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.details := NEW.details || coalesce(
        (SELECT jsonb_agg(e.entry ORDER BY d.seq, e.n)
         FROM pgmanage.pgm_job_run_detail d,
              jsonb_array_elements(d.entries) WITH ORDINALITY AS e(entry, n)
         WHERE d.run_id = NEW.id), '[]');
    DELETE FROM pgmanage.pgm_job_run_detail d WHERE d.run_id = NEW.id;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_job_run_fold_details() IS 'pgmanage (internal): trigger on pgm_job_run, sets details from pgm_job_run_detail when a run ends';
CREATE TRIGGER pgm_job_run_fold_details BEFORE UPDATE OF status ON pgmanage.pgm_job_run
    FOR EACH ROW
    WHEN (OLD.status IN ('queued', 'running') AND NEW.status NOT IN ('queued', 'running'))
    EXECUTE FUNCTION pgmanage.pgm_job_run_fold_details();
REVOKE ALL ON pgmanage.pgm_job_run_detail FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_job_run_detail TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_job_run_fold_details() FROM PUBLIC;
-- ==== webhooks: circuit breaker per endpoint
-- The circuit breaker of each endpoint, kept by the sender (src/webhooks/sender.c):
-- 'closed' (deliveries go), 'open' (after pgmanage.webhook_circuit_failures failures in a
-- row: nothing goes until next_probe_at), 'half_open' (one probe in flight; its success
-- closes the circuit and releases the backlog at once).  No row: closed.  Written only by
-- the sender (on the primary); replicated, so a standby shows the primary's state.
CREATE TABLE pgmanage.pgm_endpoint_circuit (
    endpoint text PRIMARY KEY REFERENCES pgmanage.pgm_endpoint (name) ON DELETE CASCADE ON UPDATE CASCADE,
    circuit text NOT NULL DEFAULT 'closed'
        CONSTRAINT pgm_endpoint_circuit_valid CHECK (circuit IN ('closed', 'open', 'half_open')),
    consecutive_failures integer NOT NULL DEFAULT 0,
    opened_at timestamptz,
    next_probe_at timestamptz,
    last_failure_at timestamptz,
    last_error text,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgmanage.pgm_endpoint_circuit IS 'pgmanage: circuit-breaker state of each endpoint, kept by the sender';

-- One row per endpoint: its circuit and its backlog (the metrics exporter reads this).
-- SECURITY DEFINER so that pg_read_all_stats sees the state without pgm_endpoint's
-- secrets (no secret, URL or header is returned); pending rows come from the partial index.
CREATE FUNCTION pgmanage.pgm_endpoint_circuits(
    OUT endpoint text, OUT enabled boolean, OUT circuit text, OUT consecutive_failures integer,
    OUT opened_at timestamptz, OUT next_probe_at timestamptz, OUT last_failure_at timestamptz,
    OUT last_error text, OUT pending bigint, OUT oldest_pending_seconds double precision)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ep.name, ep.enabled,
       coalesce(c.circuit, 'closed'),
       coalesce(c.consecutive_failures, 0),
       c.opened_at, c.next_probe_at, c.last_failure_at, c.last_error,
       coalesce(p.pending, 0),
       pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) p.oldest)
FROM pgmanage.pgm_endpoint ep
LEFT JOIN pgmanage.pgm_endpoint_circuit c ON c.endpoint OPERATOR(pg_catalog.=) ep.name
LEFT JOIN LATERAL (
    SELECT count(*) AS pending, min(e.created_at) AS oldest
    FROM pgmanage.pgm_delivery d JOIN pgmanage.pgm_event e ON e.id OPERATOR(pg_catalog.=) d.event_id
    WHERE d.endpoint OPERATOR(pg_catalog.=) ep.name AND d.status OPERATOR(pg_catalog.=) 'pending'
) p ON true
ORDER BY ep.name
$$;
COMMENT ON FUNCTION pgmanage.pgm_endpoint_circuits() IS 'pgmanage: circuit-breaker state and backlog of each endpoint';
REVOKE ALL ON pgmanage.pgm_endpoint_circuit FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_endpoint_circuit TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_endpoint_circuits() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_endpoint_circuits() TO pg_read_all_stats;
