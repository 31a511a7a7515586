-- pgmanage 2.0 -> 2.1: changes only (the full definitions are in src/sql/<capability>.sql;
-- the upgrade tests compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1).
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit

-- ==== newcomer: what a newcomer trips over (issue 13, section 5)
-- pgm_database_sizes().connections leaves out pgmanage's own processes
CREATE OR REPLACE FUNCTION pgmanage.pgm_database_sizes(
    OUT database_name name,
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
    SELECT d.datname,
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

-- pgm_job_runs.bytes_freed is never negative
CREATE OR REPLACE VIEW pgmanage.pgm_job_runs AS
SELECT r.id, r.job, r.kind, r.database_name, r.trigger, r.scheduled_for, r.queued_at,
       r.started, r.finished, r.finished - r.started AS duration, r.status, r.pid,
       r.tables_considered, r.tables_vacuumed, r.tables_analyzed, r.tables_skipped, r.tables_failed,
       r.indexes_rebuilt, r.dead_tuples_removed, r.bytes_before, r.bytes_after,
       greatest(r.bytes_before - r.bytes_after, 0) AS bytes_freed, r.current_table, r.error,
       (SELECT coalesce(jsonb_agg(e), '[]') FROM jsonb_array_elements(r.details) e
        WHERE e->>'outcome' = 'skipped') AS skipped,
       r.details, r.options
FROM pgmanage.pgm_job_run r;

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
    IF NEW.role_name IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.role_name IS DISTINCT FROM OLD.role_name)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                       WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role_name) THEN
        RAISE NOTICE 'role "%" does not exist', NEW.role_name
            USING DETAIL = 'The policy is kept; it applies to the role''s sessions once the role exists.',
                  HINT = 'Check the name (see pg_roles), or create the role.';
    END IF;
    IF NEW.database_name IS NOT NULL
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
