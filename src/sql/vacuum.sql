/* vacuum: the 'vacuum' job kind -- scheduled and manual VACUUM ANALYZE where needed (1.4) */

-- Options of a VACUUM run, checked; raises 22023 with a hint on a bad value.
-- No SET search_path here and in its callers: names in "tables" resolve with
-- the caller's search_path (and are stored schema-qualified).  So every
-- function and operator this code uses is schema-qualified
-- (OPERATOR(pg_catalog.=)): an object planted in a schema of the caller's
-- path cannot capture a call.
CREATE FUNCTION pgmanage.pgm_vacuum_options(
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
COMMENT ON FUNCTION pgmanage.pgm_vacuum_options(name, text, text[], text, text, interval, boolean, integer,
    double precision, boolean, text, integer, boolean, interval, boolean)
    IS 'pgmanage (internal): checks the options of pgm_schedule_vacuum and pgm_vacuum_now, returns them as jsonb';

-- Create or replace a VACUUM job; returns its next fire time.
CREATE FUNCTION pgmanage.pgm_schedule_vacuum(
    name text,
    schedule text,
    database name DEFAULT current_database(),
    schema_name text DEFAULT NULL,
    tables text[] DEFAULT NULL,
    table_pattern text DEFAULT NULL,
    strategy text DEFAULT 'need',
    window_length interval DEFAULT NULL,
    with_analyze boolean DEFAULT true,
    cost_limit integer DEFAULT NULL,
    cost_delay double precision DEFAULT NULL,
    freeze boolean DEFAULT false,
    index_cleanup text DEFAULT 'auto',
    parallel integer DEFAULT NULL,
    skip_locked boolean DEFAULT true,
    lock_timeout interval DEFAULT '5s',
    reindex_bloated boolean DEFAULT false,
    catch_up text DEFAULT 'once',
    enabled boolean DEFAULT true)
RETURNS timestamptz
LANGUAGE plpgsql
AS $$
DECLARE
    opts jsonb;
    next_at timestamptz;
BEGIN
    IF name IS NULL OR name OPERATOR(pg_catalog.!~) '^[[:print:]]{1,63}$' THEN
        RAISE EXCEPTION 'invalid job name "%"', name
            USING ERRCODE = '22023', HINT = 'A job name is 1 to 63 printable characters.';
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL'
            USING ERRCODE = '22023', HINT = 'For example ''30 2 * * *'', ''@daily'' or ''every 6 hours''.';
    END IF;
    IF catch_up IS NULL OR NOT (catch_up OPERATOR(pg_catalog.=) ANY (ARRAY['once', 'skip'])) THEN
        RAISE EXCEPTION 'invalid catch_up "%"', catch_up
            USING ERRCODE = '22023', HINT = 'Use ''once'' (run once after downtime) or ''skip''.';
    END IF;
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'enabled must not be NULL' USING ERRCODE = '22023';
    END IF;
    PERFORM pgmanage.pgm_cron_next(schedule);    -- 22023 naming the bad field
    opts := pgmanage.pgm_vacuum_options(database, schema_name, tables, table_pattern, strategy,
                window_length, with_analyze, cost_limit, cost_delay, pgm_schedule_vacuum.freeze, index_cleanup,
                parallel, skip_locked, lock_timeout, reindex_bloated);
    INSERT INTO pgmanage.pgm_job AS j (name, kind, schedule, database_name, options, enabled, catch_up)
    VALUES (name, 'vacuum', schedule, database, opts, enabled, catch_up)
    ON CONFLICT ON CONSTRAINT pgm_job_pkey DO UPDATE
        SET kind = excluded.kind, schedule = excluded.schedule, database_name = excluded.database_name,
            options = excluded.options, enabled = excluded.enabled, catch_up = excluded.catch_up,
            next_fire = (SELECT pgmanage.pgm_cron_next(excluded.schedule, pg_catalog.now()))
    RETURNING j.next_fire INTO next_at;
    RETURN next_at;
END
$$;

-- Run a VACUUM now, with the same options; returns the run id (it starts at COMMIT).
CREATE FUNCTION pgmanage.pgm_vacuum_now(
    database name DEFAULT current_database(),
    schema_name text DEFAULT NULL,
    tables text[] DEFAULT NULL,
    table_pattern text DEFAULT NULL,
    strategy text DEFAULT 'need',
    window_length interval DEFAULT NULL,
    with_analyze boolean DEFAULT true,
    cost_limit integer DEFAULT NULL,
    cost_delay double precision DEFAULT NULL,
    freeze boolean DEFAULT false,
    index_cleanup text DEFAULT 'auto',
    parallel integer DEFAULT NULL,
    skip_locked boolean DEFAULT true,
    lock_timeout interval DEFAULT '5s',
    reindex_bloated boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    opts jsonb;
    run bigint;
BEGIN
    opts := pgmanage.pgm_vacuum_options(database, schema_name, tables, table_pattern, strategy,
                window_length, with_analyze, cost_limit, cost_delay, pgm_vacuum_now.freeze, index_cleanup,
                parallel, skip_locked, lock_timeout, reindex_bloated);
    INSERT INTO pgmanage.pgm_job_run (job, kind, database_name, options, trigger, status)
    VALUES (NULL, 'vacuum', database, opts, 'manual', 'queued')
    RETURNING id INTO run;
    RETURN run;
END
$$;

-- Superusers only.
REVOKE ALL ON FUNCTION pgmanage.pgm_vacuum_options(name, text, text[], text, text, interval, boolean, integer,
    double precision, boolean, text, integer, boolean, interval, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_schedule_vacuum(text, text, name, text, text[], text, text, interval, boolean,
    integer, double precision, boolean, text, integer, boolean, interval, boolean, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_vacuum_now(name, text, text[], text, text, interval, boolean, integer,
    double precision, boolean, text, integer, boolean, interval, boolean) FROM PUBLIC;
