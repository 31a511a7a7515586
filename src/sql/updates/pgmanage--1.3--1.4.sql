/* pgmanage 1.4: scheduled jobs (VACUUM ANALYZE where needed), cron schedules, run history */

\echo Use "ALTER EXTENSION pgmanage UPDATE TO '1.4'" to load this file. \quit

-- The next fire times of a cron schedule (in pgmanage.timezone unless time_zone is given).
CREATE FUNCTION pgm_cron_next(
    schedule text,
    after timestamptz DEFAULT now(),
    n integer DEFAULT 1,
    time_zone text DEFAULT NULL)
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'pgm_cron_next'
LANGUAGE C STABLE;

-- Jobs: what runs when.  Kinds other than 'vacuum' (e.g. 'backup') are added
-- by the features that execute them.
CREATE TABLE pgm_job (
    name text PRIMARY KEY
        CONSTRAINT pgm_job_name_valid CHECK (name ~ '^[[:print:]]{1,63}$'),
    kind text NOT NULL
        CONSTRAINT pgm_job_kind_valid CHECK (kind IN ('vacuum')),
    schedule text NOT NULL,
    database_name name NOT NULL,
    options jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT pgm_job_options_object CHECK (jsonb_typeof(options) = 'object'),
    enabled boolean NOT NULL DEFAULT true,
    catch_up text NOT NULL DEFAULT 'once'
        CONSTRAINT pgm_job_catch_up_valid CHECK (catch_up IN ('once', 'skip')),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user,
    last_fire timestamptz,
    next_fire timestamptz
);
COMMENT ON TABLE pgm_job IS 'pgmanage: scheduled jobs (kind, cron schedule, options); see pgm_jobs';

-- Runs: one row per run, queued, going or finished (also skipped slots).
CREATE TABLE pgm_job_run (
    id bigserial PRIMARY KEY,
    job text,
    kind text NOT NULL,
    database_name name NOT NULL,
    options jsonb NOT NULL DEFAULT '{}',
    trigger text NOT NULL
        CONSTRAINT pgm_job_run_trigger_valid CHECK (trigger IN ('schedule', 'catch_up', 'manual')),
    scheduled_for timestamptz,
    queued_at timestamptz NOT NULL DEFAULT now(),
    started timestamptz,
    finished timestamptz,
    status text NOT NULL
        CONSTRAINT pgm_job_run_status_valid
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    pid integer,
    tables_considered integer NOT NULL DEFAULT 0,
    tables_vacuumed integer NOT NULL DEFAULT 0,
    tables_analyzed integer NOT NULL DEFAULT 0,
    tables_skipped integer NOT NULL DEFAULT 0,
    tables_failed integer NOT NULL DEFAULT 0,
    indexes_rebuilt integer NOT NULL DEFAULT 0,
    dead_tuples_removed bigint NOT NULL DEFAULT 0,
    bytes_before bigint NOT NULL DEFAULT 0,
    bytes_after bigint NOT NULL DEFAULT 0,
    current_table text,
    details jsonb NOT NULL DEFAULT '[]',
    error text
);
CREATE INDEX pgm_job_run_job ON pgm_job_run (job, id);
CREATE INDEX pgm_job_run_finished ON pgm_job_run (finished);
CREATE INDEX pgm_job_run_active ON pgm_job_run (status) WHERE status IN ('queued', 'running');
COMMENT ON TABLE pgm_job_run IS 'pgmanage: runs of jobs; pruned after pgmanage.job_run_retention; see pgm_job_runs';

-- pgm_job: a schedule is checked, and next_fire computed, when it is set.
CREATE FUNCTION pgm_job_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule
       OR (NEW.enabled AND NOT OLD.enabled) THEN
        NEW.next_fire := (SELECT @extschema@.pgm_cron_next(NEW.schedule, now()));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pgm_job_check BEFORE INSERT OR UPDATE ON pgm_job
    FOR EACH ROW EXECUTE FUNCTION pgm_job_check();

-- Wake the worker at COMMIT so a new job or run is seen at once.
CREATE FUNCTION pgm_jobs_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_jobs_changed' LANGUAGE C;
CREATE TRIGGER pgm_job_changed AFTER INSERT OR UPDATE ON pgm_job
    FOR EACH STATEMENT EXECUTE FUNCTION pgm_jobs_changed();
CREATE TRIGGER pgm_job_run_changed AFTER INSERT ON pgm_job_run
    FOR EACH STATEMENT EXECUTE FUNCTION pgm_jobs_changed();

-- Ask a running run to stop (internal: used by pgm_cancel_run).
CREATE FUNCTION pgm_signal_run(run_id bigint, kind text) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgm_signal_run' LANGUAGE C STRICT VOLATILE;

CREATE VIEW pgm_jobs AS
SELECT j.name, j.kind, j.schedule, j.database_name, j.enabled, j.catch_up,
       j.next_fire, j.last_fire, j.options,
       a.id AS active_run, a.status AS active_status,
       l.id AS last_run, l.status AS last_status, l.finished AS last_finished, l.error AS last_error,
       j.created_at, j.created_by
FROM pgm_job j
LEFT JOIN LATERAL (SELECT r.id, r.status FROM pgm_job_run r
                   WHERE r.job = j.name AND r.status IN ('queued', 'running')
                   ORDER BY r.id LIMIT 1) a ON true
LEFT JOIN LATERAL (SELECT r.id, r.status, r.finished, r.error FROM pgm_job_run r
                   WHERE r.job = j.name AND r.status NOT IN ('queued', 'running')
                   ORDER BY r.id DESC LIMIT 1) l ON true;
COMMENT ON VIEW pgm_jobs IS 'pgmanage: jobs with their next fire time, the run going and the last run';

CREATE VIEW pgm_job_runs AS
SELECT r.id, r.job, r.kind, r.database_name, r.trigger, r.scheduled_for, r.queued_at,
       r.started, r.finished, r.finished - r.started AS duration, r.status, r.pid,
       r.tables_considered, r.tables_vacuumed, r.tables_analyzed, r.tables_skipped, r.tables_failed,
       r.indexes_rebuilt, r.dead_tuples_removed, r.bytes_before, r.bytes_after,
       r.bytes_before - r.bytes_after AS bytes_freed, r.current_table, r.error,
       (SELECT coalesce(jsonb_agg(e), '[]') FROM jsonb_array_elements(r.details) e
        WHERE e->>'outcome' = 'skipped') AS skipped,
       r.details, r.options
FROM pgm_job_run r;
COMMENT ON VIEW pgm_job_runs IS 'pgmanage: runs of jobs, what each did per table and why';

-- Options of a VACUUM run, checked; raises 22023 with a hint on a bad value.
-- No SET search_path here and in its callers: names in "tables" resolve with
-- the caller's search_path (and are stored schema-qualified); every object
-- this code uses is qualified.
CREATE FUNCTION pgm_vacuum_options(
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
    IF current_database() <> current_setting('pgmanage.database') THEN
        RAISE EXCEPTION 'pgmanage jobs live in database "%", not "%"',
            current_setting('pgmanage.database'), current_database()
            USING ERRCODE = '55000',
                  HINT = 'Connect to the database named by pgmanage.database; the target database is an argument.';
    END IF;
    IF database IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d WHERE d.datname = database) THEN
        RAISE EXCEPTION 'database "%" does not exist', database
            USING ERRCODE = '3D000', HINT = 'See pg_database for the names.';
    END IF;
    IF (schema_name IS NOT NULL)::int + (tables IS NOT NULL)::int + (table_pattern IS NOT NULL)::int > 1 THEN
        RAISE EXCEPTION 'at most one of schema_name, tables and table_pattern may be given'
            USING ERRCODE = '22023', HINT = 'Use a pattern such as ''sales.%'' to combine a schema and names.';
    END IF;
    IF schema_name = '' OR table_pattern = '' OR cardinality(tables) = 0 OR array_position(tables, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'schema_name, tables and table_pattern must not be empty'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for every table of the database.';
    END IF;
    IF octet_length(table_pattern) > 255 OR octet_length(schema_name) > 63 THEN
        RAISE EXCEPTION 'schema_name or table_pattern is too long' USING ERRCODE = '22023';
    END IF;
    IF tables IS NOT NULL THEN
        IF database = current_database() THEN
            -- resolve now, so a typo is an error here and not a silent no-op
            FOREACH t IN ARRAY tables LOOP
                IF pg_catalog.to_regclass(t) IS NULL THEN
                    RAISE EXCEPTION 'table "%" does not exist', t
                        USING ERRCODE = '42P01', HINT = 'Qualify names with their schema: ''sales.orders''.';
                END IF;
                resolved := resolved || (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                                         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                         WHERE c.oid = pg_catalog.to_regclass(t));
            END LOOP;
            tables := resolved;
        END IF;
        IF octet_length(array_to_string(tables, ',')) > 3800 THEN
            RAISE EXCEPTION 'the list of tables is too long'
                USING ERRCODE = '22023', HINT = 'Use schema_name or table_pattern for many tables.';
        END IF;
    END IF;
    IF strategy IS NULL OR strategy NOT IN ('need', 'all') THEN
        RAISE EXCEPTION 'invalid strategy "%"', strategy
            USING ERRCODE = '22023', HINT = 'Use ''need'' (tables that need it) or ''all'' (every table).';
    END IF;
    IF window_length IS NOT NULL AND window_length <= interval '0' THEN
        RAISE EXCEPTION 'window_length must be positive'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for no window.';
    END IF;
    IF with_analyze IS NULL OR pgm_vacuum_options.freeze IS NULL OR skip_locked IS NULL OR reindex_bloated IS NULL THEN
        RAISE EXCEPTION 'with_analyze, freeze, skip_locked and reindex_bloated must not be NULL'
            USING ERRCODE = '22023';
    END IF;
    IF cost_limit IS NOT NULL AND (cost_limit < 1 OR cost_limit > 10000) THEN
        RAISE EXCEPTION 'cost_limit must be between 1 and 10000'
            USING ERRCODE = '22023', HINT = 'It is vacuum_cost_limit for the run; NULL keeps the server''s.';
    END IF;
    IF cost_delay IS NOT NULL AND (cost_delay < 0 OR cost_delay > 100) THEN
        RAISE EXCEPTION 'cost_delay must be between 0 and 100 (milliseconds)'
            USING ERRCODE = '22023', HINT = 'It is vacuum_cost_delay for the run; NULL keeps the server''s.';
    END IF;
    IF index_cleanup IS NULL OR lower(index_cleanup) NOT IN ('auto', 'on', 'off') THEN
        RAISE EXCEPTION 'invalid index_cleanup "%"', index_cleanup
            USING ERRCODE = '22023', HINT = 'Use ''auto'', ''on'' or ''off'', as VACUUM''s INDEX_CLEANUP.';
    END IF;
    IF parallel IS NOT NULL AND (parallel < 0 OR parallel > 1024) THEN
        RAISE EXCEPTION 'parallel must be between 0 and 1024'
            USING ERRCODE = '22023', HINT = 'It is VACUUM''s PARALLEL option; NULL lets PostgreSQL choose.';
    END IF;
    IF lock_timeout IS NULL OR lock_timeout < interval '0' OR lock_timeout > interval '1 day' THEN
        RAISE EXCEPTION 'lock_timeout must be between 0 and 1 day'
            USING ERRCODE = '22023', HINT = '0 waits for locks without limit; the default is 5 seconds.';
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'schema', schema_name, 'tables', to_jsonb(tables), 'pattern', table_pattern,
        'strategy', strategy, 'window_seconds', extract(epoch FROM window_length)::float8, 'analyze', with_analyze,
        'cost_limit', cost_limit, 'cost_delay', cost_delay, 'freeze', pgm_vacuum_options.freeze,
        'index_cleanup', lower(index_cleanup), 'parallel', parallel, 'skip_locked', skip_locked,
        'lock_timeout_ms', (extract(epoch FROM lock_timeout) * 1000)::bigint, 'reindex_bloated', reindex_bloated));
END
$$;

-- Create or replace a VACUUM job; returns its next fire time.
CREATE FUNCTION pgm_schedule_vacuum(
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
    IF name IS NULL OR name !~ '^[[:print:]]{1,63}$' THEN
        RAISE EXCEPTION 'invalid job name "%"', name
            USING ERRCODE = '22023', HINT = 'A job name is 1 to 63 printable characters.';
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL'
            USING ERRCODE = '22023', HINT = 'For example ''30 2 * * *'', ''@daily'' or ''every 6 hours''.';
    END IF;
    IF catch_up IS NULL OR catch_up NOT IN ('once', 'skip') THEN
        RAISE EXCEPTION 'invalid catch_up "%"', catch_up
            USING ERRCODE = '22023', HINT = 'Use ''once'' (run once after downtime) or ''skip''.';
    END IF;
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'enabled must not be NULL' USING ERRCODE = '22023';
    END IF;
    PERFORM @extschema@.pgm_cron_next(schedule);    -- 22023 naming the bad field
    opts := @extschema@.pgm_vacuum_options(database, schema_name, tables, table_pattern, strategy,
                window_length, with_analyze, cost_limit, cost_delay, pgm_schedule_vacuum.freeze, index_cleanup,
                parallel, skip_locked, lock_timeout, reindex_bloated);
    INSERT INTO @extschema@.pgm_job AS j (name, kind, schedule, database_name, options, enabled, catch_up)
    VALUES (name, 'vacuum', schedule, database, opts, enabled, catch_up)
    ON CONFLICT ON CONSTRAINT pgm_job_pkey DO UPDATE
        SET kind = excluded.kind, schedule = excluded.schedule, database_name = excluded.database_name,
            options = excluded.options, enabled = excluded.enabled, catch_up = excluded.catch_up,
            next_fire = (SELECT @extschema@.pgm_cron_next(excluded.schedule, now()))
    RETURNING j.next_fire INTO next_at;
    RETURN next_at;
END
$$;

-- Run a VACUUM now, with the same options; returns the run id (it starts at COMMIT).
CREATE FUNCTION pgm_vacuum_now(
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
    opts := @extschema@.pgm_vacuum_options(database, schema_name, tables, table_pattern, strategy,
                window_length, with_analyze, cost_limit, cost_delay, pgm_vacuum_now.freeze, index_cleanup,
                parallel, skip_locked, lock_timeout, reindex_bloated);
    INSERT INTO @extschema@.pgm_job_run (job, kind, database_name, options, trigger, status)
    VALUES (NULL, 'vacuum', database, opts, 'manual', 'queued')
    RETURNING id INTO run;
    RETURN run;
END
$$;

-- Remove a job (any kind); its history stays until pruned, a run going continues.
CREATE FUNCTION pgm_unschedule(name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.pgm_job j WHERE j.name = pgm_unschedule.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job "%" does not exist', name
            USING ERRCODE = '42704', HINT = 'See pgm_jobs for the jobs.';
    END IF;
    RETURN true;
END
$$;

-- Cancel a queued or running run; false if it had already finished.
CREATE FUNCTION pgm_cancel_run(run_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT id, kind, status INTO r FROM @extschema@.pgm_job_run WHERE id = run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', run_id
            USING ERRCODE = '22023', HINT = 'See pgm_job_runs for the runs.';
    END IF;
    IF r.status = 'queued' THEN
        UPDATE @extschema@.pgm_job_run
        SET status = 'cancelled', finished = now(), error = 'cancelled by ' || current_user || ' before it started'
        WHERE id = run_id AND status = 'queued';
        IF FOUND THEN
            RETURN true;
        END IF;
        SELECT status INTO r.status FROM @extschema@.pgm_job_run WHERE id = run_id;
    END IF;
    IF r.status = 'running' THEN
        IF @extschema@.pgm_signal_run(run_id, r.kind) THEN
            RETURN true;
        END IF;
        RAISE EXCEPTION 'run % is not running in this server', run_id
            USING ERRCODE = '55000', HINT = 'The worker marks it failed at its next pass if its process is gone.';
    END IF;
    RAISE NOTICE 'run % already finished (%)', run_id, r.status;
    RETURN false;
END
$$;

-- jobs are configuration: pg_dump keeps them; runs are history
SELECT pg_catalog.pg_extension_config_dump('pgm_job', '');

REVOKE ALL ON pgm_job, pgm_job_run, pgm_jobs, pgm_job_runs FROM PUBLIC;
GRANT SELECT ON pgm_job, pgm_job_run, pgm_jobs, pgm_job_runs TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgm_cron_next(text, timestamptz, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgm_cron_next(text, timestamptz, integer, text) TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgm_job_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_jobs_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_signal_run(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_vacuum_options(name, text, text[], text, text, interval, boolean, integer,
    double precision, boolean, text, integer, boolean, interval, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_schedule_vacuum(text, text, name, text, text[], text, text, interval, boolean,
    integer, double precision, boolean, text, integer, boolean, interval, boolean, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_vacuum_now(name, text, text[], text, text, interval, boolean, integer,
    double precision, boolean, text, integer, boolean, interval, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_unschedule(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_cancel_run(bigint) FROM PUBLIC;
