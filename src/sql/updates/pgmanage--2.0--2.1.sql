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

-- ==== src/sql/health_reports.sql (new in 2.1; generated by make)
/* health reports (2.1): blocking tree, index problems, sequences, pg_hba audit, pre-upgrade check.
   SQL and PL/pgSQL over the catalogs and statistics views; pgm_health() (health checks) calls them. */

-- The blocking tree now: one row per backend waiting on a heavyweight lock
-- (parallel workers folded into their leader), with who blocks it, the root
-- of its chain and how deep it is.  SECURITY INVOKER: it shows what
-- pg_stat_activity and pg_locks show the caller, no more.
CREATE FUNCTION pgmanage.pgm_blocking(
    include_blockers boolean DEFAULT false,
    OUT pid integer,
    OUT blocked_by integer[],
    OUT root_blocker integer,
    OUT depth integer,
    OUT wait_started timestamptz,
    OUT wait_seconds double precision,
    OUT lock_type text,
    OUT lock_mode text,
    OUT relation_name text,
    OUT state text,
    OUT role_name text,
    OUT database_name text,
    OUT application_name text,
    OUT query text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL for its plan cache: a poller's session plans this once
    RETURN QUERY
    WITH RECURSIVE
    -- one read of the lock table: the ungranted requests (one per waiting
    -- process), and the tuple locks held (a row-lock waiter's relation)
    locks AS MATERIALIZED (
        SELECT l.pid, l.locktype, l.mode, l.database, l.relation, l.waitstart, l.granted
        FROM pg_catalog.pg_locks l
        WHERE l.pid IS NOT NULL AND (NOT l.granted OR l.locktype = 'tuple')
    ),
    lk AS (SELECT * FROM locks WHERE NOT granted),
    act AS MATERIALIZED (
        SELECT a.pid, a.leader_pid, a.state, a.usename, a.datname, a.application_name, a.query
        FROM pg_catalog.pg_stat_activity a
    ),
    -- each waiting process, folded into its leader (a parallel worker's
    -- blockers are its leader's); pg_blocking_pids() names leaders already
    raw AS (
        SELECT coalesce(a.leader_pid, lk.pid) AS pid, lk.pid AS raw_pid, lk.locktype, lk.mode,
               lk.database, lk.relation, lk.waitstart,
               pg_catalog.pg_blocking_pids(lk.pid) AS blockers
        FROM lk LEFT JOIN act a ON a.pid = lk.pid
    ),
    edges AS (
        SELECT DISTINCT r.pid, b.b AS blocker
        FROM raw r, unnest(r.blockers) AS b(b)
        WHERE b.b <> r.pid
    ),
    waiters AS (
        SELECT e.pid, array_agg(e.blocker ORDER BY e.blocker) AS blocked_by
        FROM edges e GROUP BY e.pid
    ),
    -- the wait shown for a folded group: the leader's own, else its oldest worker's
    wait AS (
        SELECT DISTINCT ON (r.pid) r.*
        FROM raw r JOIN waiters w ON w.pid = r.pid
        ORDER BY r.pid, (r.raw_pid = r.pid) DESC, r.waitstart NULLS LAST, r.raw_pid
    ),
    -- from the roots (blockers that wait for nothing) down; a cycle (a
    -- deadlock not yet detected) reaches no root
    chain(pid, root, depth) AS (
        SELECT e.pid, e.blocker, 1
        FROM edges e WHERE NOT EXISTS (SELECT 1 FROM waiters w WHERE w.pid = e.blocker)
        UNION
        SELECT e.pid, c.root, c.depth + 1
        FROM edges e JOIN chain c ON e.blocker = c.pid
        WHERE c.depth < (SELECT count(*) FROM waiters)
    ),
    best AS (
        SELECT DISTINCT ON (c.pid) c.pid, c.root, c.depth
        FROM chain c ORDER BY c.pid, c.depth, c.root
    ),
    rows AS (
        SELECT w.pid, w.blocked_by, b.root, b.depth,
               x.waitstart, x.locktype, x.mode,
               -- a row lock waits on the holder's transaction id; the
               -- waiter holds the tuple lock, which names the relation
               coalesce(x.database, tl.database) AS database,
               coalesce(x.relation, tl.relation) AS relation
        FROM waiters w JOIN wait x ON x.pid = w.pid
        LEFT JOIN best b ON b.pid = w.pid
        LEFT JOIN LATERAL (
            SELECT t.database, t.relation FROM locks t
            WHERE x.relation IS NULL AND t.pid = x.raw_pid AND t.locktype = 'tuple' AND t.granted
            LIMIT 1) tl ON true
        UNION ALL
        SELECT DISTINCT c.root, '{}'::integer[], c.root, 0, NULL::timestamptz, NULL, NULL, NULL::oid, NULL::oid
        FROM chain c
        WHERE coalesce(include_blockers, false)
    )
    SELECT r.pid,
           r.blocked_by,
           r.root,
           r.depth,
           r.waitstart,
           CASE WHEN r.waitstart IS NOT NULL
                THEN greatest(0, extract(epoch FROM pg_catalog.clock_timestamp() - r.waitstart))::double precision
           END,
           r.locktype,
           r.mode,
           CASE WHEN r.relation IS NOT NULL THEN
               (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = r.relation
                  AND r.database IN (0, (SELECT d.oid FROM pg_catalog.pg_database d
                                         WHERE d.datname = pg_catalog.current_database())))
           END,
           a.state,
           a.usename::text,
           a.datname::text,
           a.application_name,
           a.query
    FROM rows r LEFT JOIN act a ON a.pid = r.pid
    ORDER BY r.root NULLS FIRST, r.depth NULLS FIRST, r.waitstart NULLS LAST, r.pid;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_blocking(boolean) IS 'pgmanage: backends waiting on heavyweight locks, with their blockers, root blocker and depth';

-- Indexes that are invalid, duplicate, redundant (a prefix of another) or
-- unused since the statistics were reset, each with the statement that
-- fixes it.  Sizes from pgm_size_report: no lock on any table or index.
CREATE FUNCTION pgmanage.pgm_index_report(
    schema_pattern text DEFAULT NULL,
    include_system boolean DEFAULT false,
    OUT schema_name text,
    OUT table_name text,
    OUT index_name text,
    OUT problem text,
    OUT index_bytes bigint,
    OUT index_pretty text,
    OUT detail text,
    OUT stats_reset timestamptz,
    OUT fix text,
    OUT index_scans bigint,
    OUT indexrelid oid)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    ix AS MATERIALIZED (
        SELECT i.indexrelid, i.indrelid, i.indisunique, i.indisprimary, i.indisvalid, i.indisready,
               i.indnkeyatts, i.indnatts,
               -- the vectors as arrays from 1 (array equality compares the bounds)
               (i.indkey::int2[])[0:] AS cols,
               (i.indkey::int2[])[0:i.indnkeyatts - 1] AS keys,
               (i.indclass::oid[])[0:] AS opclasses,
               (i.indcollation::oid[])[0:] AS collations,
               (i.indoption::int2[])[0:] AS options,
               pg_catalog.pg_get_expr(i.indexprs, i.indrelid) AS exprs,
               pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred,
               ci.relam, ci.relkind, ci.relname AS iname, ct.relname AS tname, n.nspname,
               EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                       WHERE co.conindid = i.indexrelid AND co.contype IN ('p', 'u', 'x')) AS backs_constraint,
               (SELECT co.conname FROM pg_catalog.pg_constraint co
                WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')
                LIMIT 1) AS constraint_name,
               EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid) AS is_partition
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid
        JOIN pg_catalog.pg_class ct ON ct.oid = i.indrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = ct.relnamespace
        WHERE (schema_pattern IS NULL OR n.nspname::text LIKE schema_pattern COLLATE "C")
          AND (coalesce(include_system, false) OR (n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                                  AND n.nspname !~ '^pg_toast_temp_'
                                  -- an extension's own tables are the extension's business
                                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                                  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                                    AND d.objid = i.indrelid AND d.deptype = 'e')))
          AND NOT pg_catalog.pg_is_other_temp_schema(n.oid)
    ),
    -- an index being built now (CREATE INDEX CONCURRENTLY, REINDEX) is not
    -- valid yet either: leave those alone
    building AS (
        SELECT p.index_relid FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid <> 0
    ),
    invalid AS (
        SELECT x.indexrelid, 'invalid'::text AS problem,
               CASE WHEN x.relkind = 'I'
                    THEN 'a partitioned index is not valid until every partition has an index attached '
                         '(ALTER INDEX ... ATTACH PARTITION), or drop it: ' || pg_catalog.pg_get_indexdef(x.indexrelid)
                    ELSE pg_catalog.format('not valid (a failed CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY): '
                                           'queries do not use it%s; to build it again after the drop: %s',
                                           CASE WHEN x.indisready THEN ', writes still maintain it' ELSE '' END,
                                           pg_catalog.pg_get_indexdef(x.indexrelid))
               END AS detail,
               1 AS prio
        FROM ix x
        WHERE NOT x.indisvalid AND x.indexrelid NOT IN (SELECT index_relid FROM building)
          AND NOT x.is_partition
    ),
    valid AS (SELECT * FROM ix x WHERE x.indisvalid AND NOT x.is_partition),
    -- the same definition: the same table, access method, columns (keys and
    -- INCLUDE), expressions, predicate, operator classes, collations and
    -- options; the one kept is the primary key, else one backing a
    -- constraint, else a unique one, else the oldest
    dup_groups AS (
        SELECT v.*,
               first_value(v.indexrelid) OVER g AS keeper,
               first_value(v.iname) OVER g AS keeper_name,
               row_number() OVER g AS rn
        FROM valid v
        WINDOW g AS (PARTITION BY v.indrelid, v.relam, v.cols, v.indnkeyatts, v.exprs, v.pred,
                                  v.opclasses, v.collations, v.options
                     ORDER BY v.indisprimary DESC, v.backs_constraint DESC, v.indisunique DESC, v.indexrelid)
    ),
    duplicate AS (
        SELECT d.indexrelid, 'duplicate'::text AS problem,
               pg_catalog.format('same definition as index %I%s', d.keeper_name,
                                 CASE WHEN d.backs_constraint
                                      THEN pg_catalog.format(', but backs constraint %I (a foreign key may depend on it)',
                                                             d.constraint_name)
                                      WHEN d.indisunique THEN ' (both unique)' ELSE '' END) AS detail,
               2 AS prio
        FROM dup_groups d WHERE d.rn > 1
    ),
    -- a B-tree whose key columns are the first key columns of another valid
    -- B-tree of the same table (same operator classes, collations, options
    -- and predicate); not unique, backing no constraint, no expressions,
    -- and its INCLUDE columns are columns of the other
    redundant AS (
        SELECT DISTINCT ON (a.indexrelid) a.indexrelid, 'redundant'::text AS problem,
               pg_catalog.format('its keys are a prefix of index %I: %s', b.iname,
                                 pg_catalog.pg_get_indexdef(b.indexrelid)) AS detail,
               3 AS prio
        FROM valid a
        JOIN valid b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid AND b.relam = a.relam
        JOIN pg_catalog.pg_am am ON am.oid = a.relam AND am.amname = 'btree'
        WHERE NOT a.indisunique AND NOT a.backs_constraint AND a.exprs IS NULL
          AND a.indnkeyatts < b.indnkeyatts
          AND a.keys = b.keys[1:a.indnkeyatts]
          AND a.opclasses[1:a.indnkeyatts] = b.opclasses[1:a.indnkeyatts]
          AND a.collations[1:a.indnkeyatts] = b.collations[1:a.indnkeyatts]
          AND a.options[1:a.indnkeyatts] = b.options[1:a.indnkeyatts]
          AND a.pred IS NOT DISTINCT FROM b.pred
          AND coalesce(a.cols[a.indnkeyatts + 1:], '{}') <@ b.cols
          AND 0 <> ALL (a.keys)
        ORDER BY a.indexrelid, b.indnkeyatts DESC, b.indexrelid
    ),
    unused AS (
        SELECT v.indexrelid, 'unused'::text AS problem,
               CASE WHEN r.stats_reset IS NULL
                    THEN 'no scan since the statistics began (never reset)'
                    ELSE pg_catalog.format('no scan since the statistics were reset at %s', r.stats_reset)
               END AS detail,
               4 AS prio
        FROM valid v
        JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = v.indexrelid
        LEFT JOIN pg_catalog.pg_stat_database r ON r.datname = pg_catalog.current_database()
        WHERE s.idx_scan = 0 AND NOT v.indisunique AND NOT v.backs_constraint
          AND v.relkind = 'i'
    ),
    found AS (
        SELECT DISTINCT ON (f.indexrelid) f.*
        FROM (SELECT * FROM invalid UNION ALL SELECT * FROM duplicate
              UNION ALL SELECT * FROM redundant UNION ALL SELECT * FROM unused) f
        ORDER BY f.indexrelid, f.prio
    ),
    sizes AS (
        SELECT s.relid, s.total_bytes
        FROM pgmanage.pgm_size_report(schema_pattern, 0, true, include_system) s
        WHERE s.kind = 'index' AND EXISTS (SELECT 1 FROM found)
    )
    SELECT x.nspname::text, x.tname::text, x.iname::text, f.problem,
           coalesce(sz.total_bytes, 0),
           pg_catalog.pg_size_pretty(coalesce(sz.total_bytes, 0)),
           f.detail,
           (SELECT r.stats_reset FROM pg_catalog.pg_stat_database r WHERE r.datname = pg_catalog.current_database()),
           CASE WHEN f.problem = 'duplicate' AND x.backs_constraint
                THEN pg_catalog.format('ALTER TABLE %I.%I DROP CONSTRAINT %I', x.nspname, x.tname, x.constraint_name)
                WHEN x.relkind = 'I'   -- a partitioned index: no CONCURRENTLY
                THEN pg_catalog.format('DROP INDEX %I.%I', x.nspname, x.iname)
                ELSE pg_catalog.format('DROP INDEX CONCURRENTLY %I.%I', x.nspname, x.iname)
           END,
           s.idx_scan,
           x.indexrelid
    FROM found f
    JOIN ix x ON x.indexrelid = f.indexrelid
    LEFT JOIN sizes sz ON sz.relid = f.indexrelid
    LEFT JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = f.indexrelid
    ORDER BY f.prio, coalesce(sz.total_bytes, 0) DESC, x.nspname, x.tname, x.iname
$$;
COMMENT ON FUNCTION pgmanage.pgm_index_report(text, boolean) IS 'pgmanage: invalid, duplicate, redundant and unused indexes, each with the statement that fixes it';

-- Every sequence with the column it feeds (identity, serial, or a column
-- DEFAULT nextval()), how far it has gone and where it stops: the smaller
-- of the sequence's maximum and the column type's.
CREATE FUNCTION pgmanage.pgm_sequences(
    OUT schema_name text,
    OUT sequence_name text,
    OUT table_name text,
    OUT column_name text,
    OUT column_type text,
    OUT sequence_type text,
    OUT last_value bigint,
    OUT max_value bigint,
    OUT used_pct numeric,
    OUT increment_by bigint,
    OUT cycle boolean,
    OUT owned_by text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    seq AS (
        SELECT s.seqrelid, s.seqtypid, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,
               c.relname, n.nspname,
               pg_catalog.has_sequence_privilege(s.seqrelid, 'SELECT,USAGE') AS readable
        FROM pg_catalog.pg_sequence s
        JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT pg_catalog.pg_is_other_temp_schema(n.oid)
    ),
    -- the columns a sequence feeds: its owner (identity 'i', OWNED BY /
    -- serial 'a') and any column whose DEFAULT calls it
    feeds AS (
        SELECT d.objid AS seqrelid, d.refobjid AS relid, d.refobjsubid AS attnum,
               CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS how
        FROM pg_catalog.pg_depend d
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
        UNION
        SELECT d.refobjid, ad.adrelid, ad.adnum, 'default'
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.deptype = 'n'
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_sequence s WHERE s.seqrelid = d.refobjid)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend o
                          WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = d.refobjid
                            AND o.refobjid = ad.adrelid AND o.refobjsubid = ad.adnum AND o.deptype IN ('a', 'i'))
    ),
    cols AS (
        SELECT f.seqrelid, f.how, tc.relname AS tname, a.attname, a.atttypid, a.atttypmod,
               -- the integer type under a domain
               coalesce(nullif(t.typbasetype, 0), a.atttypid) AS basetype
        FROM feeds f
        JOIN pg_catalog.pg_class tc ON tc.oid = f.relid
        JOIN pg_catalog.pg_attribute a ON a.attrelid = f.relid AND a.attnum = f.attnum AND NOT a.attisdropped
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    ),
    v AS (
        SELECT s.*, c.how, c.tname, c.attname,
               CASE WHEN c.atttypid IS NOT NULL THEN pg_catalog.format_type(c.atttypid, c.atttypmod) END AS coltype,
               CASE WHEN s.readable THEN pg_catalog.pg_sequence_last_value(s.seqrelid) END AS lastval,
               CASE c.basetype WHEN 'pg_catalog.int2'::pg_catalog.regtype THEN 32767
                               WHEN 'pg_catalog.int4'::pg_catalog.regtype THEN 2147483647
                               WHEN 'pg_catalog.int8'::pg_catalog.regtype THEN 9223372036854775807
               END::bigint AS colmax,
               CASE c.basetype WHEN 'pg_catalog.int2'::pg_catalog.regtype THEN -32768
                               WHEN 'pg_catalog.int4'::pg_catalog.regtype THEN -2147483648
                               WHEN 'pg_catalog.int8'::pg_catalog.regtype THEN -9223372036854775808
               END::bigint AS colmin
        FROM seq s LEFT JOIN cols c ON c.seqrelid = s.seqrelid
    ),
    lim AS (
        SELECT v.*,
               CASE WHEN v.seqincrement > 0 THEN least(v.seqmax, coalesce(v.colmax, v.seqmax))
                    ELSE greatest(v.seqmin, coalesce(v.colmin, v.seqmin)) END AS stop,
               CASE WHEN v.seqincrement > 0 THEN v.seqmin ELSE v.seqmax END AS origin
        FROM v
    )
    SELECT l.nspname::text, l.relname::text, l.tname::text, l.attname::text, l.coltype,
           pg_catalog.format_type(l.seqtypid, NULL),
           l.lastval,
           -- the largest value the sequence can give this column
           least(l.seqmax, coalesce(l.colmax, l.seqmax)),
           CASE WHEN NOT l.readable THEN NULL
                WHEN l.lastval IS NULL THEN 0.00
                WHEN l.stop = l.origin THEN 100.00
                ELSE round(least(100, greatest(0, 100.0 * (l.lastval::numeric - l.origin) / (l.stop::numeric - l.origin))), 2)
           END,
           l.seqincrement,
           l.seqcycle,
           l.how
    FROM lim l
    ORDER BY 9 DESC NULLS LAST, 1, 2, 3, 4
$$;
COMMENT ON FUNCTION pgmanage.pgm_sequences() IS 'pgmanage: every sequence, the column it feeds, and how much of the range the column can hold is used';

-- The rules of pg_hba.conf as the file reads now (pg_hba_file_rules), each
-- with a risk and the reasons for it; then password_encryption and the
-- roles whose stored password is not a SCRAM verifier (names only).
-- SECURITY DEFINER: pg_hba_file_rules and pg_authid are for superusers;
-- EXECUTE goes to pg_monitor only (docs/security.md).
CREATE FUNCTION pgmanage.pgm_hba_audit(
    OUT line_number integer,
    OUT type text,
    OUT database text[],
    OUT user_name text[],
    OUT address text,
    OUT netmask text,
    OUT auth_method text,
    OUT risk text,
    OUT reason text)
RETURNS SETOF record
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    r AS MATERIALIZED (
        SELECT h.line_number, h.type, h.database, h.user_name, h.address, h.netmask, h.auth_method, h.error,
               h.type IN ('host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc') AS network,
               -- the connection itself is encrypted (TLS or GSSAPI)
               h.type IN ('hostssl', 'hostgssenc') AS encrypted
        FROM pg_catalog.pg_hba_file_rules h
    ),
    -- level: 3 high, 2 medium, 1 low
    f(line_number, level, why) AS (
        SELECT r.line_number, 3, 'the line has an error, so the server keeps the rules it loaded last: ' || r.error
        FROM r WHERE r.error IS NOT NULL
        UNION ALL
        SELECT r.line_number, 3, 'trust over the network: whoever reaches the server connects as these roles without a password'
        FROM r WHERE r.auth_method = 'trust' AND r.network
        UNION ALL
        SELECT r.line_number, 2, 'trust on the local socket: every local OS user connects as these roles without a password'
        FROM r WHERE r.auth_method = 'trust' AND r.type = 'local'
        UNION ALL
        SELECT r.line_number, CASE WHEN r.network AND NOT r.encrypted THEN 3 WHEN r.network THEN 2 ELSE 1 END,
               CASE WHEN r.network AND NOT r.encrypted
                    THEN 'password sends the password in clear text over an unencrypted connection: use scram-sha-256'
                    ELSE 'password sends the password in clear text to the server: use scram-sha-256' END
        FROM r WHERE r.auth_method = 'password'
        UNION ALL
        SELECT r.line_number, 2, 'md5: use scram-sha-256 (SCRAM is available; md5 still lets MD5 password hashes in)'
        FROM r WHERE r.auth_method = 'md5'
        UNION ALL
        SELECT r.line_number, 3, 'ident over the network believes what the client host''s ident server says'
        FROM r WHERE r.auth_method = 'ident' AND r.network
        UNION ALL
        SELECT r.line_number, 2, r.auth_method || ' sends the password in clear text: use hostssl'
        FROM r WHERE r.auth_method IN ('ldap', 'radius', 'pam', 'bsd') AND r.network AND NOT r.encrypted
        UNION ALL
        SELECT r.line_number, 2, 'open to every address (' || CASE WHEN r.address = 'all' THEN 'all' ELSE r.address || '/0' END || ')'
        FROM r WHERE r.network AND r.auth_method <> 'reject' AND r.error IS NULL
          AND (r.address = 'all' OR r.netmask IN ('0.0.0.0', '::'))
        UNION ALL
        SELECT r.line_number, 1, 'every database and every role'
        FROM r WHERE r.network AND r.auth_method <> 'reject' AND r.error IS NULL
          AND 'all' = ANY (r.database) AND 'all' = ANY (r.user_name)
    ),
    lines AS (
        SELECT r.line_number, r.type, r.database, r.user_name, r.address, r.netmask, r.auth_method,
               CASE max(f.level) WHEN 3 THEN 'high' WHEN 2 THEN 'medium' WHEN 1 THEN 'low' ELSE 'ok' END AS risk,
               string_agg(f.why, '; ' ORDER BY f.level DESC, f.why) AS reason
        FROM r LEFT JOIN f ON f.line_number = r.line_number
        GROUP BY r.line_number, r.type, r.database, r.user_name, r.address, r.netmask, r.auth_method
    ),
    setting AS (
        SELECT NULL::integer, 'setting'::text, NULL::text[], NULL::text[], NULL::text, NULL::text,
               pg_catalog.current_setting('password_encryption'),
               CASE WHEN pg_catalog.current_setting('password_encryption') = 'scram-sha-256' THEN 'ok' ELSE 'medium' END,
               CASE WHEN pg_catalog.current_setting('password_encryption') = 'scram-sha-256'
                    THEN 'password_encryption: new passwords are stored as SCRAM verifiers'
                    ELSE 'password_encryption: new passwords are stored as MD5 hashes: set it to scram-sha-256' END
    ),
    -- never the hash itself: only whether it is SCRAM
    roles AS (
        SELECT NULL::integer, 'role'::text, NULL::text[], ARRAY[a.rolname::text], NULL::text, NULL::text,
               CASE WHEN a.rolpassword LIKE 'md5%' THEN 'md5' ELSE 'plain' END,
               CASE WHEN a.rolpassword LIKE 'md5%' THEN 'medium' ELSE 'high' END,
               CASE WHEN a.rolpassword LIKE 'md5%'
                    THEN 'the stored password is an MD5 hash: set it again under password_encryption = scram-sha-256'
                    ELSE 'the stored password is not hashed: set it again under password_encryption = scram-sha-256' END
               || CASE WHEN a.rolcanlogin THEN '' ELSE ' (the role has NOLOGIN)' END
        FROM pg_catalog.pg_authid a
        WHERE a.rolpassword IS NOT NULL AND a.rolpassword NOT LIKE 'SCRAM-SHA-256$%'
    )
    SELECT * FROM (
        SELECT * FROM lines
        UNION ALL SELECT * FROM setting
        UNION ALL SELECT * FROM roles
    ) x
    ORDER BY x.line_number NULLS LAST, x.type DESC, x.user_name
$$;
COMMENT ON FUNCTION pgmanage.pgm_hba_audit() IS 'pgmanage: pg_hba.conf rules with a risk and its reasons, password_encryption and roles whose stored password is not SCRAM';

-- Before a major upgrade: what pg_upgrade (the rules of its check.c) would
-- refuse, and what a DBA must handle by hand, one row per finding.
-- Columns, types and extensions are the current database's: run it in
-- each database.  target_version: the major version to upgrade to (NULL:
-- every check that applies to some later version).
CREATE FUNCTION pgmanage.pgm_upgrade_check(
    target_version integer DEFAULT NULL,
    OUT finding text,
    OUT object text,
    OUT detail text,
    OUT fix text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur integer := pg_catalog.current_setting('server_version_num')::integer / 10000;
    tgt integer := target_version;
    tgt_name text;
BEGIN
    IF tgt IS NOT NULL AND (tgt < 10 OR tgt > 99) THEN
        RAISE EXCEPTION 'target_version must be a major version number, not %', tgt
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the major version only: 17, not 170000 or 17.2.';
    END IF;
    IF tgt IS NOT NULL AND tgt <= cur THEN
        RAISE EXCEPTION 'target_version % is not later than this server''s major version %', tgt, cur
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'pg_upgrade goes to a later major version only.';
    END IF;
    tgt_name := coalesce('PostgreSQL ' || tgt, 'the new version');
    tgt := coalesce(tgt, 99);

    -- pg_upgrade refuses prepared transactions (cluster-wide)
    RETURN QUERY
    SELECT 'prepared_transaction', p.gid,
           pg_catalog.format('prepared at %s by %s in database %s', p.prepared, p.owner, p.database),
           pg_catalog.format('COMMIT PREPARED %L (or ROLLBACK PREPARED %L), in database %I', p.gid, p.gid, p.database)
    FROM pg_catalog.pg_prepared_xacts p
    ORDER BY p.prepared;

    -- stored columns whose type is (or contains, through a domain, array,
    -- composite or range) a type pg_upgrade cannot carry over: tables,
    -- materialized views and indexes, as check.c's data type checks
    RETURN QUERY
    WITH RECURSIVE base(typid, finding, why) AS (
        SELECT t.oid, 'reg_column'::text,
               'type ' || t.typname || ' stores OIDs that pg_upgrade does not preserve (only regclass, regrole and regtype are allowed)'
        FROM pg_catalog.pg_type t
        WHERE t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
          AND t.typname IN ('regcollation', 'regconfig', 'regdictionary', 'regnamespace',
                            'regoper', 'regoperator', 'regproc', 'regprocedure')
        UNION ALL
        SELECT t.oid, 'system_composite_column',
               'system composite type ' || pg_catalog.format_type(t.oid, NULL) || ': its OID is not stable across versions'
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'c' AND (t.oid < 16384 OR n.nspname = 'information_schema')
        UNION ALL
        -- PostgreSQL 16 changed aclitem's on-disk format
        SELECT 'pg_catalog.aclitem'::pg_catalog.regtype, 'aclitem_column',
               'aclitem changed its on-disk format in PostgreSQL 16'
        WHERE cur < 16 AND tgt >= 16
        UNION ALL
        -- pg_upgrade refuses it only from 11 and older (its storage changed
        -- in 12); information_schema types are no stable interface for data
        SELECT 'information_schema.sql_identifier'::pg_catalog.regtype, 'sql_identifier_column',
               'pg_upgrade refused it when its storage changed in PostgreSQL 12, '
               || 'and information_schema''s types are not meant for stored data'
    ),
    types(typid, finding, why) AS (
        SELECT * FROM base
        UNION
        SELECT c.typid, x.finding, x.why
        FROM types x, LATERAL (
            SELECT t.oid AS typid FROM pg_catalog.pg_type t WHERE t.typtype = 'd' AND t.typbasetype = x.typid
            UNION ALL
            SELECT t.oid FROM pg_catalog.pg_type t WHERE t.typtype = 'b' AND t.typelem = x.typid
            UNION ALL
            SELECT t.oid FROM pg_catalog.pg_type t
            JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped AND a.attnum > 0
            WHERE t.typtype = 'c' AND a.atttypid = x.typid
            UNION ALL
            SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngsubtype = x.typid
            UNION ALL
            SELECT r.rngmultitypid FROM pg_catalog.pg_range r WHERE r.rngtypid = x.typid
        ) c
    )
    SELECT DISTINCT ON (c.oid, a.attnum, ty.finding)
           ty.finding,
           pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname),
           CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'm' THEN 'materialized view' ELSE 'index' END
           || ' column of type ' || pg_catalog.format_type(a.atttypid, a.atttypmod) || ': ' || ty.why,
           CASE WHEN c.relkind IN ('r', 'p')
                THEN pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE text USING %I::text',
                                       n.nspname, c.relname, a.attname, a.attname)
                WHEN c.relkind = 'm'
                THEN pg_catalog.format('DROP MATERIALIZED VIEW %I.%I, then create it again without the column', n.nspname, c.relname)
                ELSE pg_catalog.format('DROP INDEX %I.%I, then create it again after the upgrade', n.nspname, c.relname)
           END
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN types ty ON ty.typid = a.atttypid
    WHERE NOT a.attisdropped AND a.attnum > 0
      AND c.relkind IN ('r', 'p', 'm', 'i')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_temp_' AND n.nspname !~ '^pg_toast_temp_'
    ORDER BY c.oid, a.attnum, ty.finding;

    -- before 18 a child could lack its parent's NOT NULL; 18's schema
    -- restore fails on it (pg_upgrade checks it for every older version)
    IF cur < 18 AND tgt >= 18 THEN
        RETURN QUERY
        SELECT 'not_null_inheritance',
               pg_catalog.format('%I.%I.%I', n.nspname, cc.relname, ac.attname),
               pg_catalog.format('the parent %s has this column NOT NULL, the child does not: restoring the schema into %s fails',
                                 i.inhparent::pg_catalog.regclass, tgt_name),
               pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I SET NOT NULL', n.nspname, cc.relname, ac.attname)
        FROM pg_catalog.pg_inherits i
        JOIN pg_catalog.pg_attribute ac ON ac.attrelid = i.inhrelid
        JOIN pg_catalog.pg_attribute ap ON ap.attrelid = i.inhparent AND ap.attname = ac.attname
        JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = cc.relnamespace
        WHERE ap.attnum > 0 AND ap.attnotnull AND NOT ac.attnotnull AND NOT ac.attisdropped
          AND cc.relkind IN ('r', 'p', 'f')
        ORDER BY 2;
    END IF;

    -- databases: all but template0 must allow connections, template0 must not;
    -- a half-dropped database (an interrupted DROP DATABASE) must go
    RETURN QUERY
    SELECT 'database_connections', d.datname::text,
           CASE WHEN d.datname = 'template0' THEN 'template0 allows connections: restoring the global objects fails'
                ELSE 'the database does not allow connections, so pg_upgrade cannot carry it over' END,
           pg_catalog.format('ALTER DATABASE %I ALLOW_CONNECTIONS %s', d.datname,
                             CASE WHEN d.datname = 'template0' THEN 'false' ELSE 'true' END)
    FROM pg_catalog.pg_database d
    WHERE d.datconnlimit <> -2 AND (d.datallowconn = (d.datname = 'template0'))
    UNION ALL
    SELECT 'invalid_database', d.datname::text,
           'an interrupted DROP DATABASE left it invalid: it cannot be connected to or upgraded',
           pg_catalog.format('DROP DATABASE %I', d.datname)
    FROM pg_catalog.pg_database d
    WHERE d.datconnlimit = -2
    ORDER BY 2;

    -- replication slots: physical ones are never carried over; logical ones
    -- only from PostgreSQL 17 on, and only when valid and caught up
    RETURN QUERY
    SELECT CASE s.slot_type WHEN 'physical' THEN 'physical_slot' ELSE 'logical_slot' END,
           s.slot_name::text,
           CASE WHEN s.slot_type = 'physical'
                THEN 'pg_upgrade does not carry physical slots over: standbys must be rebuilt (or resynchronized as pg_upgrade''s documentation says) and the slot made again'
                WHEN cur < 17
                THEN pg_catalog.format('pg_upgrade from PostgreSQL %s does not carry logical slots over (only from 17 on): '
                                       'the slot (plugin %s, database %s) is lost, so its subscriber must be resynchronized',
                                       cur, s.plugin, s.database)
                WHEN s.wal_status = 'lost'
                THEN 'the slot is invalid (its WAL is gone): pg_upgrade refuses it'
                ELSE pg_catalog.format('pg_upgrade carries it over only if it has consumed all WAL when the server stops; '
                                       '%s needs wal_level = logical and max_replication_slots at least the number of logical slots', tgt_name)
           END,
           CASE WHEN s.slot_type = 'physical'
                THEN pg_catalog.format('SELECT pg_create_physical_replication_slot(%L) on the new cluster, then rebuild the standby', s.slot_name)
                WHEN cur < 17 OR s.wal_status = 'lost'
                THEN pg_catalog.format('SELECT pg_drop_replication_slot(%L), and make it again after the upgrade', s.slot_name)
                ELSE 'stop writes and let the consumer catch up before stopping the server'
           END
    FROM pg_catalog.pg_replication_slots s
    WHERE NOT s.temporary
    ORDER BY 1, 2;

    -- extensions: updates to apply first, files missing, and libraries the
    -- new server must have (pg_upgrade checks that each one loads)
    RETURN QUERY
    SELECT 'extension_update', e.extname::text,
           pg_catalog.format('installed %s, available %s: update it before the upgrade (pg_upgrade keeps the installed version)',
                             e.extversion, a.default_version),
           pg_catalog.format('ALTER EXTENSION %I UPDATE', e.extname)
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
    WHERE a.default_version IS DISTINCT FROM e.extversion
      AND EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions v
                  WHERE v.name = e.extname AND v.version = a.default_version)
    UNION ALL
    SELECT 'extension_not_available', e.extname::text,
           pg_catalog.format('installed %s, but this server has no script for that version (the package was changed or removed)',
                             e.extversion),
           'install the extension''s package again, here and on the new server'
    FROM pg_catalog.pg_extension e
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions v
                      WHERE v.name = e.extname AND v.version = e.extversion)
    UNION ALL
    SELECT 'extension_library', e.extname::text,
           pg_catalog.format('version %s; %s must load %s', e.extversion, tgt_name,
                             string_agg(DISTINCT p.probin, ', ' ORDER BY p.probin)),
           pg_catalog.format('install %s built for %s on the new server before running pg_upgrade', e.extname, tgt_name)
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
         AND d.refobjid = e.oid AND d.deptype = 'e' AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    JOIN pg_catalog.pg_proc p ON p.oid = d.objid AND p.probin IS NOT NULL
    WHERE e.extname <> 'plpgsql'
    GROUP BY e.extname, e.extversion
    UNION ALL
    SELECT 'loadable_library', p.oid::pg_catalog.regprocedure::text,
           pg_catalog.format('a C function of no extension: %s must load %s', tgt_name, p.probin),
           pg_catalog.format('install %s built for %s on the new server', p.probin, tgt_name)
    FROM pg_catalog.pg_proc p
    WHERE p.probin IS NOT NULL AND p.oid >= 16384
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')
    ORDER BY 1, 2;

    -- initdb enables data checksums by default from 18 on, and pg_upgrade
    -- needs the same setting on both clusters
    IF cur < 18 AND tgt >= 18 AND pg_catalog.current_setting('data_checksums') = 'off' THEN
        RETURN QUERY
        SELECT 'data_checksums', 'data_checksums',
               pg_catalog.format('this cluster has no data checksums, and initdb of %s enables them unless told not to; pg_upgrade needs both the same', tgt_name),
               'initdb --no-data-checksums for the new cluster (or pg_checksums --enable here, server stopped)';
    END IF;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_upgrade_check(integer) IS 'pgmanage: what pg_upgrade would refuse, or a DBA must handle, before a major upgrade';

-- Privileges.  pgm_blocking shows only what pg_stat_activity and pg_locks
-- show the caller, so any role with USAGE on the schema may call it; the
-- reports go to pg_read_all_stats (and so pg_monitor); pgm_hba_audit reads
-- superuser-only catalogs as its owner, so only pg_monitor gets it.
REVOKE ALL ON FUNCTION pgmanage.pgm_index_report(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_sequences() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_hba_audit() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_upgrade_check(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_index_report(text, boolean) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_sequences() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_hba_audit() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_upgrade_check(integer) TO pg_read_all_stats;

-- ==== src/sql/health.sql (new in 2.1; generated by make)
/* health: replication, slots, wraparound, the xmin horizon, and pgm_health() (2.1) */

-- Replication, per standby this server sends WAL to (kind 'standby', from
-- pg_stat_replication) and, on a standby, one row for itself (kind 'local':
-- what it received and replayed, from pg_stat_wal_receiver and the recovery
-- functions).
CREATE FUNCTION pgmanage.pgm_replication(
    OUT kind text,
    OUT pid integer,
    OUT application_name text,
    OUT client_addr text,
    OUT state text,
    OUT sync_state text,
    OUT slot_name text,
    OUT sent_lsn text,
    OUT write_lsn text,
    OUT flush_lsn text,
    OUT receive_lsn text,
    OUT replay_lsn text,
    OUT write_lag_seconds double precision,
    OUT flush_lag_seconds double precision,
    OUT replay_lag_seconds double precision,
    OUT replay_lag_bytes bigint,
    OUT last_replayed_at timestamptz,
    OUT replay_paused boolean,
    OUT last_reply_at timestamptz)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH here AS (
        SELECT pg_is_in_recovery() AS standby,
               CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                    ELSE pg_current_wal_lsn() END AS lsn
    )
    SELECT 'standby'::text, r.pid, r.application_name, host(r.client_addr), r.state, r.sync_state,
           (SELECT s.slot_name::text FROM pg_replication_slots s WHERE s.active_pid = r.pid LIMIT 1),
           r.sent_lsn::text, r.write_lsn::text, r.flush_lsn::text, NULL::text, r.replay_lsn::text,
           -- a standby that has replayed all it was sent has no lag (PostgreSQL shows NULL)
           coalesce(extract(epoch FROM r.write_lag)::float8,
                    CASE WHEN r.write_lsn >= r.sent_lsn THEN 0::float8 END),
           coalesce(extract(epoch FROM r.flush_lag)::float8,
                    CASE WHEN r.flush_lsn >= r.sent_lsn THEN 0::float8 END),
           coalesce(extract(epoch FROM r.replay_lag)::float8,
                    CASE WHEN r.replay_lsn >= r.sent_lsn THEN 0::float8 END),
           greatest(pg_wal_lsn_diff(h.lsn, r.replay_lsn), 0)::bigint,
           NULL::timestamptz, NULL::boolean, r.reply_time
    FROM pg_stat_replication r, here h
    UNION ALL
    SELECT 'local', w.pid, current_setting('cluster_name'), w.sender_host, coalesce(w.status, 'not streaming'),
           NULL, w.slot_name,
           NULL, NULL, w.flushed_lsn::text, pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,
           NULL, NULL,
           CASE WHEN pg_last_wal_receive_lsn() IS NOT NULL
                     AND pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0::float8
                ELSE greatest(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, 0) END,
           greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
           pg_last_xact_replay_timestamp(), pg_is_wal_replay_paused(), w.last_msg_receipt_time
    FROM here h LEFT JOIN pg_stat_wal_receiver w ON true
    WHERE h.standby
    ORDER BY 1 DESC, 15 DESC NULLS LAST
$$;

-- Replication slots: the WAL each keeps, its distance to
-- max_slot_wal_keep_size, and the xmin horizons it holds back.
CREATE FUNCTION pgmanage.pgm_replication_slots(
    OUT slot_name text,
    OUT slot_type text,
    OUT plugin text,
    OUT database_name text,
    OUT temporary boolean,
    OUT active boolean,
    OUT active_pid integer,
    OUT wal_status text,
    OUT wal_retained_bytes bigint,
    OUT wal_retained_pretty text,
    OUT safe_wal_bytes bigint,
    OUT max_slot_wal_keep_bytes bigint,
    OUT xmin_age bigint,
    OUT catalog_xmin_age bigint,
    OUT restart_lsn text,
    OUT confirmed_flush_lsn text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH here AS (
        SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                    ELSE pg_current_wal_lsn() END AS lsn,
               (SELECT nullif(setting::bigint, -1) * 1024 * 1024 FROM pg_settings
                WHERE name = 'max_slot_wal_keep_size') AS keep
    )
    SELECT s.slot_name::text, s.slot_type, s.plugin::text, s.database::text, s.temporary, s.active, s.active_pid,
           s.wal_status, r.bytes, pg_size_pretty(r.bytes), s.safe_wal_size, h.keep,
           age(s.xmin)::bigint, age(s.catalog_xmin)::bigint, s.restart_lsn::text, s.confirmed_flush_lsn::text
    FROM pg_replication_slots s CROSS JOIN here h
    CROSS JOIN LATERAL (SELECT greatest(pg_wal_lsn_diff(h.lsn, s.restart_lsn), 0)::bigint AS bytes) r
    ORDER BY r.bytes DESC NULLS LAST, 1
$$;

-- Wraparound, per database: the age of datfrozenxid and datminmxid against
-- autovacuum_freeze_max_age and autovacuum_multixact_freeze_max_age (at
-- 100 % autovacuum forces an anti-wraparound VACUUM), and how far the
-- older of the two is towards wraparound itself (2^31).
CREATE FUNCTION pgmanage.pgm_wraparound(
    OUT database_name text,
    OUT allow_connections boolean,
    OUT xid_age bigint,
    OUT xid_freeze_max_age bigint,
    OUT xid_pct numeric,
    OUT mxid_age bigint,
    OUT mxid_freeze_max_age bigint,
    OUT mxid_pct numeric,
    OUT wraparound_pct numeric)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH f AS (
        SELECT current_setting('autovacuum_freeze_max_age')::bigint AS xmax,
               current_setting('autovacuum_multixact_freeze_max_age')::bigint AS mmax
    ), d AS (
        SELECT d.datname::text AS datname, d.datallowconn, age(d.datfrozenxid)::bigint AS xage,
               mxid_age(d.datminmxid)::bigint AS mage
        FROM pg_database d
    )
    SELECT d.datname, d.datallowconn, d.xage, f.xmax, round(100.0 * d.xage / f.xmax, 2),
           d.mage, f.mmax, round(100.0 * d.mage / f.mmax, 2),
           round(100.0 * greatest(d.xage, d.mage) / 2147483648, 2)
    FROM d, f
    ORDER BY greatest(d.xage::numeric / f.xmax, d.mage::numeric / f.mmax) DESC, 1
$$;

-- What holds the xmin horizon back (VACUUM cannot remove rows deleted after
-- it): the oldest of each kind, oldest first; is_horizon marks the oldest
-- of all.
CREATE FUNCTION pgmanage.pgm_xmin_horizon(
    OUT kind text,
    OUT holder text,
    OUT pid integer,
    OUT database_name text,
    OUT role_name text,
    OUT application_name text,
    OUT state text,
    OUT xmin_age bigint,
    OUT since timestamptz,
    OUT duration_seconds double precision,
    OUT is_horizon boolean,
    OUT query text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH h AS (
        -- a backend's transaction or snapshot (not this one; walsenders are standby feedback)
        SELECT 'backend'::text AS kind, a.pid::text AS holder, a.pid, a.datname::text AS db,
               a.usename::text AS role, a.application_name AS app, a.state,
               greatest(age(a.backend_xid), age(a.backend_xmin))::bigint AS xage,
               coalesce(a.xact_start, a.query_start) AS since, a.query
        FROM pg_stat_activity a
        WHERE (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)
          AND a.pid <> pg_backend_pid() AND a.backend_type <> 'walsender'
        UNION ALL
        SELECT 'prepared_transaction', p.gid, NULL, p.database::text, p.owner::text, NULL, 'prepared',
               age(p.transaction)::bigint, p.prepared, NULL
        FROM pg_prepared_xacts p
        UNION ALL
        SELECT 'replication_slot', s.slot_name::text, s.active_pid, s.database::text, NULL, NULL,
               CASE WHEN s.active THEN 'active' ELSE 'inactive' END, age(s.xmin)::bigint, NULL, NULL
        FROM pg_replication_slots s WHERE s.xmin IS NOT NULL
        UNION ALL
        SELECT 'replication_slot_catalog', s.slot_name::text, s.active_pid, s.database::text, NULL, NULL,
               CASE WHEN s.active THEN 'active' ELSE 'inactive' END, age(s.catalog_xmin)::bigint, NULL, NULL
        FROM pg_replication_slots s WHERE s.catalog_xmin IS NOT NULL
        UNION ALL
        SELECT 'standby_feedback', coalesce(r.application_name, r.pid::text), r.pid, NULL, r.usename::text,
               r.application_name, r.state, age(r.backend_xmin)::bigint, NULL, NULL
        FROM pg_stat_replication r WHERE r.backend_xmin IS NOT NULL
    ), oldest AS (
        SELECT DISTINCT ON (h.kind) h.* FROM h ORDER BY h.kind, h.xage DESC, h.since
    )
    SELECT o.kind, o.holder, o.pid, o.db, o.role, o.app, o.state, o.xage, o.since,
           extract(epoch FROM now() - o.since)::float8,
           row_number() OVER (ORDER BY o.xage DESC, o.kind) = 1,
           o.query
    FROM oldest o
    ORDER BY o.xage DESC, o.kind
$$;

-- Each check's thresholds, from the pgmanage.health_<check>_warning and
-- _critical settings, in the unit of pgm_health()'s value.
CREATE FUNCTION pgmanage.pgm_health_thresholds(
    OUT "position" integer,
    OUT check_name text,
    OUT warning_at bigint,
    OUT critical_at bigint,
    OUT unit text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_health_thresholds'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pgmanage.pgm_health_thresholds() IS 'pgmanage (internal): the thresholds of pgm_health(), from the pgmanage.health_* settings';

-- One row per check: its status ('ok', 'warning', 'critical'), the value
-- measured, the thresholds it was compared with, and what it saw.  A check
-- whose source the caller may not read (pg_hba_file_rules, the archive
-- status directory) says so in detail, with a NULL value.
CREATE FUNCTION pgmanage.pgm_health(
    OUT check_name text,
    OUT status text,
    OUT value numeric,
    OUT warning_at numeric,
    OUT critical_at numeric,
    OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := '{}';
    r record;
    forced jsonb := '{}';
BEGIN
    -- disk: the fullest filesystem pgmanage.pgm_disk_usage() sees
    SELECT u.fs_used_pct AS val,
           format('%s: %s%% used, %s available (%s)', u.area, u.fs_used_pct,
                  pg_size_pretty(u.fs_available_bytes), u.path) AS txt
      INTO r
      FROM pgmanage.pgm_disk_usage() u WHERE u.fs_used_pct IS NOT NULL
     ORDER BY u.fs_used_pct DESC, u.area LIMIT 1;
    v := v || jsonb_build_object('disk', jsonb_build_array(r.val, coalesce(r.txt, 'no filesystem could be measured')));

    -- wraparound: the database nearest to a forced anti-wraparound VACUUM
    SELECT greatest(w.xid_pct, w.mxid_pct) AS val,
           format('database %s: xid age %s (%s%% of autovacuum_freeze_max_age), multixact age %s (%s%% of autovacuum_multixact_freeze_max_age), %s%% of the way to wraparound',
                  w.database_name, w.xid_age, w.xid_pct, w.mxid_age, w.mxid_pct, w.wraparound_pct) AS txt
      INTO r FROM pgmanage.pgm_wraparound() w LIMIT 1;
    v := v || jsonb_build_object('wraparound', jsonb_build_array(r.val, r.txt));

    -- replication_lag: the slowest standby, or this standby's own replay
    SELECT p.replay_lag_seconds AS val,
           CASE WHEN p.kind = 'local'
                THEN format('this standby: replay %s s behind, %s bytes received but not replayed%s, last replayed transaction at %s',
                            round(p.replay_lag_seconds::numeric, 2), p.replay_lag_bytes,
                            CASE WHEN p.replay_paused THEN ' (replay paused)' ELSE '' END,
                            coalesce(p.last_replayed_at::text, 'never'))
                ELSE format('standby %s (%s, %s): replay %s s behind, %s bytes', p.application_name,
                            coalesce(p.client_addr, 'local socket'), p.state,
                            round(p.replay_lag_seconds::numeric, 2), p.replay_lag_bytes) END AS txt
      INTO r FROM pgmanage.pgm_replication() p
     ORDER BY p.replay_lag_seconds DESC NULLS LAST LIMIT 1;
    v := v || jsonb_build_object('replication_lag', jsonb_build_array(r.val, coalesce(r.txt, 'no standby connected')));

    -- slot_retention: the slot that keeps most WAL; a slot that lost WAL is critical
    SELECT s.wal_retained_bytes AS val, s.wal_status,
           format('slot %s (%s, %s): retains %s, wal_status %s%s', s.slot_name, s.slot_type,
                  CASE WHEN s.active THEN 'active' ELSE 'inactive' END,
                  coalesce(s.wal_retained_pretty, 'no WAL'), coalesce(s.wal_status, 'none'),
                  CASE WHEN s.safe_wal_bytes IS NOT NULL
                       THEN format(', %s before max_slot_wal_keep_size', pg_size_pretty(s.safe_wal_bytes)) ELSE '' END) AS txt
      INTO r FROM pgmanage.pgm_replication_slots() s LIMIT 1;
    v := v || jsonb_build_object('slot_retention', jsonb_build_array(coalesce(r.val, 0), coalesce(r.txt, 'no replication slot')));
    IF EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.wal_status IN ('unreserved', 'lost')) THEN
        forced := forced || jsonb_build_object('slot_retention', 'critical');
        v := jsonb_set(v, '{slot_retention,1}', to_jsonb(
             (SELECT 'slots past max_slot_wal_keep_size: ' || string_agg(format('%s (%s)', s.slot_name, s.wal_status), ', ' ORDER BY s.slot_name)
              FROM pg_replication_slots s WHERE s.wal_status IN ('unreserved', 'lost')) || '; ' || (v #>> '{slot_retention,1}')));
    END IF;

    -- connections: client backends against what non-superusers may use
    SELECT round(100.0 * c.n / nullif(c.usable, 0), 2) AS val,
           format('%s client connections of %s usable (max_connections %s, %s reserved)',
                  c.n, c.usable, c.maxc, c.maxc - c.usable) AS txt
      INTO r
      FROM (SELECT (SELECT count(*) FROM pg_stat_activity a WHERE a.backend_type = 'client backend') AS n,
                   current_setting('max_connections')::int AS maxc,
                   current_setting('max_connections')::int
                   - current_setting('superuser_reserved_connections')::int
                   - coalesce(current_setting('reserved_connections', true)::int, 0) AS usable) c;
    v := v || jsonb_build_object('connections', jsonb_build_array(r.val, r.txt));

    -- invalid_indexes: in this database, not counting builds in progress
    SELECT count(*) AS val,
           CASE WHEN count(*) = 0 THEN format('no invalid index in database %s', current_database())
                ELSE format('%s invalid in database %s: %s', count(*), current_database(),
                            string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY n.nspname, c.relname)) END AS txt
      INTO r
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT i.indisvalid
       AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid);
    v := v || jsonb_build_object('invalid_indexes', jsonb_build_array(r.val, r.txt));

    -- sequences: the one nearest to its end, or to the end of the integer column it feeds
    SELECT q.pct AS val,
           format('sequence %I.%I: last value %s of %s (%s%%)%s in database %s', q.nspname, q.relname,
                  q.last_value, q.lim, q.pct,
                  CASE WHEN q.col IS NOT NULL THEN format(', feeds %s column %s', q.coltype, q.col) ELSE '' END,
                  current_database()) AS txt
      INTO r
      FROM (SELECT n.nspname, c.relname, t.last_value, t.lim, t.coltype, col.col,
                   round(100.0 * t.last_value / nullif(t.lim, 0), 2) AS pct
              FROM pg_sequence s
              JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
                              THEN pg_sequence_last_value(c.oid) END AS last_value,
                         f.coltype, f.col
                    FROM (SELECT NULL) z LEFT JOIN LATERAL (
                          SELECT a.atttypid::regtype::text AS coltype,
                                 format('%s.%I', d.refobjid::regclass, a.attname) AS col
                            FROM pg_depend d
                            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                             AND d.deptype IN ('a', 'i') LIMIT 1) f ON true) col
              CROSS JOIN LATERAL (
                  SELECT col.last_value, col.coltype,
                         CASE WHEN s.seqincrement > 0
                              THEN least(s.seqmax, CASE col.coltype WHEN 'smallint' THEN 32767
                                                       WHEN 'integer' THEN 2147483647 ELSE s.seqmax END)
                              ELSE greatest(s.seqmin, CASE col.coltype WHEN 'smallint' THEN -32768
                                                       WHEN 'integer' THEN -2147483648 ELSE s.seqmin END)
                         END AS lim) t
             WHERE t.last_value IS NOT NULL
             ORDER BY round(100.0 * t.last_value / nullif(t.lim, 0), 2) DESC NULLS LAST LIMIT 1) q;
    v := v || jsonb_build_object('sequences', jsonb_build_array(coalesce(r.val, 0),
              coalesce(r.txt, format('no sequence used yet in database %s', current_database()))));

    -- long_transactions: the oldest open transaction of a client backend
    SELECT round(extract(epoch FROM now() - a.xact_start)::numeric, 2) AS val,
           format('pid %s (%s, %s, %s): transaction open for %s s', a.pid, a.usename, a.datname, a.state,
                  round(extract(epoch FROM now() - a.xact_start)::numeric, 2)) AS txt
      INTO r FROM pg_stat_activity a
     WHERE a.backend_type = 'client backend' AND a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid()
     ORDER BY a.xact_start LIMIT 1;
    v := v || jsonb_build_object('long_transactions', jsonb_build_array(coalesce(r.val, 0),
              coalesce(r.txt, 'no other open transaction')));

    -- xmin_horizon: the oldest holder of any kind
    SELECT x.xmin_age AS val,
           format('%s %s%s holds the xmin horizon %s transactions back%s', x.kind, x.holder,
                  CASE WHEN x.database_name IS NOT NULL THEN format(' (database %s)', x.database_name) ELSE '' END,
                  x.xmin_age,
                  CASE WHEN x.since IS NOT NULL THEN format(', since %s', x.since) ELSE '' END) AS txt
      INTO r FROM pgmanage.pgm_xmin_horizon() x WHERE x.is_horizon;
    v := v || jsonb_build_object('xmin_horizon', jsonb_build_array(coalesce(r.val, 0),
              coalesce(r.txt, 'nothing holds the xmin horizon back')));

    -- prepared_transactions: the oldest one
    SELECT round(extract(epoch FROM now() - min(p.prepared))::numeric, 2) AS val,
           CASE WHEN count(*) = 0 THEN 'no prepared transaction'
                ELSE format('%s prepared, the oldest %s (database %s, owner %s) since %s', count(*),
                            (array_agg(p.gid ORDER BY p.prepared))[1], (array_agg(p.database ORDER BY p.prepared))[1],
                            (array_agg(p.owner ORDER BY p.prepared))[1], min(p.prepared)) END AS txt
      INTO r FROM pg_prepared_xacts p;
    v := v || jsonb_build_object('prepared_transactions', jsonb_build_array(coalesce(r.val, 0), r.txt));

    -- pg_hba: high-risk lines of pg_hba.conf as it is on disk (superusers, or a role granted it)
    IF has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT')
       AND has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') THEN
        SELECT count(*) AS val,
               CASE WHEN count(*) = 0 THEN 'no high-risk line'
                    ELSE format('%s high-risk: %s', count(*), string_agg(format('line %s %s', h.line_number, h.why), '; ' ORDER BY h.line_number)) END AS txt
          INTO r
          FROM (SELECT f.line_number,
                       CASE WHEN f.error IS NOT NULL THEN format('has an error (%s)', f.error)
                            WHEN f.auth_method = 'trust' THEN format('trusts %s connections from %s', f.type, coalesce(f.address, 'any address'))
                            ELSE format('accepts clear-text passwords over %s from %s', f.type, coalesce(f.address, 'any address')) END AS why
                  FROM pg_hba_file_rules f
                 WHERE f.error IS NOT NULL
                    OR (f.type <> 'local' AND f.auth_method = 'trust')
                    OR (f.type IN ('host', 'hostnossl') AND f.auth_method = 'password')) h;
        v := v || jsonb_build_object('pg_hba', jsonb_build_array(r.val, r.txt));
    ELSE
        v := v || jsonb_build_object('pg_hba', jsonb_build_array(NULL, 'pg_hba_file_rules is not readable by ' || current_user));
    END IF;

    -- archive: the oldest WAL file waiting to be archived
    IF current_setting('archive_mode') = 'off' THEN
        v := v || jsonb_build_object('archive', jsonb_build_array(NULL, 'archive_mode is off'));
    ELSIF has_function_privilege('pg_catalog.pg_ls_archive_statusdir()', 'EXECUTE') THEN
        SELECT coalesce(round(extract(epoch FROM now() - min(f.modification))::numeric, 2), 0) AS val,
               format('%s WAL files waiting%s; last archived %s at %s; %s failures%s', count(f.name),
                      CASE WHEN count(f.name) > 0 THEN format(', the oldest %s since %s',
                           (array_agg(f.name ORDER BY f.modification))[1], min(f.modification)) ELSE '' END,
                      coalesce(a.last_archived_wal, 'nothing'), coalesce(a.last_archived_time::text, 'never'),
                      a.failed_count,
                      CASE WHEN a.last_failed_wal IS NOT NULL THEN format(', the last for %s at %s', a.last_failed_wal, a.last_failed_time) ELSE '' END) AS txt
          INTO r
          FROM pg_stat_archiver a LEFT JOIN pg_ls_archive_statusdir() f ON f.name LIKE '%.ready'
         GROUP BY a.last_archived_wal, a.last_archived_time, a.failed_count, a.last_failed_wal, a.last_failed_time;
        v := v || jsonb_build_object('archive', jsonb_build_array(r.val, r.txt));
    ELSE
        v := v || jsonb_build_object('archive', jsonb_build_array(NULL, 'pg_ls_archive_statusdir() is not executable by ' || current_user));
    END IF;

    RETURN QUERY
    SELECT t.check_name,
           CASE WHEN forced ? t.check_name THEN forced ->> t.check_name
                WHEN x.val IS NULL THEN 'ok'
                WHEN t.critical_at IS NOT NULL AND x.val >= t.critical_at THEN 'critical'
                WHEN t.warning_at IS NOT NULL AND x.val >= t.warning_at THEN 'warning'
                ELSE 'ok' END,
           x.val, t.warning_at::numeric, t.critical_at::numeric, x.txt
    FROM pgmanage.pgm_health_thresholds() t
    CROSS JOIN LATERAL (SELECT (v -> t.check_name ->> 0)::numeric AS val, v -> t.check_name ->> 1 AS txt) x
    ORDER BY t."position";
END
$$;

-- Privileges: pg_monitor sees what these read (pg_stat_replication,
-- pg_stat_activity's other sessions, pg_ls_archive_statusdir); pgm_health()
-- also reads pgm_disk_usage() (pg_read_all_stats, which pg_monitor has).
-- Nothing for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_replication() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_replication_slots() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_wraparound() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_xmin_horizon() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_health_thresholds() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_replication() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_replication_slots() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_wraparound() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_xmin_horizon() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_health_thresholds() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_health() TO pg_monitor;

-- ==== src/sql/metrics.sql (new in 2.1; generated by make)
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

    IF names IS NULL OR 'pgmanage_webhook_circuit_open' = ANY (names) THEN
        -- ---- each endpoint's circuit breaker (pgm_endpoint_circuit, kept by the sender)
        RETURN QUERY
        SELECT 'pgmanage_webhook_circuit_open', 'gauge',
               '1 while the endpoint''s circuit breaker is open or half-open (deliveries wait for a probe), 0 when closed',
               jsonb_build_object('endpoint', ep.name),
               (coalesce(c.circuit, 'closed') <> 'closed')::int::float8
        FROM pgmanage.pgm_endpoint ep
        LEFT JOIN pgmanage.pgm_endpoint_circuit c ON c.endpoint = ep.name;
    END IF;

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
