/* jobs: cron schedules, the job table, run history, and what every kind shares (1.4; kinds: 'vacuum' 1.4, 'backup' 1.5) */

-- The next fire times of a cron schedule (in pgmanage.timezone unless time_zone is given).
CREATE FUNCTION pgmanage.pgm_cron_next(
    schedule text,
    after timestamptz DEFAULT now(),
    n integer DEFAULT 1,
    time_zone text DEFAULT NULL)
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'pgm_cron_next'
LANGUAGE C STABLE;

-- Jobs: what runs when.  The kinds are 'vacuum' (vacuum.sql) and 'backup'
-- (backup.sql); a new kind adds its name to pgm_job_kind_valid.
CREATE TABLE pgmanage.pgm_job (
    name text PRIMARY KEY
        CONSTRAINT pgm_job_name_valid CHECK (name ~ '^[[:print:]]{1,63}$'),
    kind text NOT NULL
        CONSTRAINT pgm_job_kind_valid CHECK (kind IN ('vacuum', 'backup')),
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
COMMENT ON TABLE pgmanage.pgm_job IS 'pgmanage: scheduled jobs (kind, cron schedule, options); see pgm_jobs';

-- Runs: one row per run, queued, going or finished (also skipped slots).
CREATE TABLE pgmanage.pgm_job_run (
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
CREATE INDEX pgm_job_run_job ON pgmanage.pgm_job_run (job, id);
CREATE INDEX pgm_job_run_finished ON pgmanage.pgm_job_run (finished);
CREATE INDEX pgm_job_run_active ON pgmanage.pgm_job_run (status) WHERE status IN ('queued', 'running');
COMMENT ON TABLE pgmanage.pgm_job_run IS 'pgmanage: runs of jobs; pruned after pgmanage.job_run_retention; see pgm_job_runs';

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

-- pgm_job: a schedule is checked, and next_fire computed, when it is set;
-- a job's kind never changes (a name used by a job of another kind is
-- refused, so pgm_schedule_vacuum cannot silently replace a backup job
-- and the reverse: unschedule it first).
CREATE FUNCTION pgmanage.pgm_job_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule
       OR (NEW.enabled AND NOT OLD.enabled) THEN
        NEW.next_fire := (SELECT pgmanage.pgm_cron_next(NEW.schedule, now()));
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.kind IS DISTINCT FROM OLD.kind THEN
        RAISE EXCEPTION 'job "%" is a % job, not a % job', OLD.name, OLD.kind, NEW.kind
            USING ERRCODE = '42710',
                  HINT = 'Choose another name, or remove the job first with pgm_unschedule().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_job_check() IS 'pgmanage (internal): trigger on pgm_job, checks the schedule and computes next_fire';
CREATE TRIGGER pgm_job_check BEFORE INSERT OR UPDATE ON pgmanage.pgm_job
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_job_check();

-- Wake the worker at COMMIT so a new job or run is seen at once.
CREATE FUNCTION pgmanage.pgm_jobs_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_jobs_changed' LANGUAGE C;
COMMENT ON FUNCTION pgmanage.pgm_jobs_changed() IS 'pgmanage (internal): trigger on pgm_job and pgm_job_run, wakes the worker at COMMIT';
CREATE TRIGGER pgm_job_changed AFTER INSERT OR UPDATE ON pgmanage.pgm_job
    FOR EACH STATEMENT EXECUTE FUNCTION pgmanage.pgm_jobs_changed();
CREATE TRIGGER pgm_job_run_changed AFTER INSERT ON pgmanage.pgm_job_run
    FOR EACH STATEMENT EXECUTE FUNCTION pgmanage.pgm_jobs_changed();

-- Ask a running run to stop (internal: used by pgm_cancel_run).
CREATE FUNCTION pgmanage.pgm_signal_run(run_id bigint, kind text) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgm_signal_run' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION pgmanage.pgm_signal_run(bigint, text) IS 'pgmanage (internal): asks a running run to stop; used by pgm_cancel_run';

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

-- Remove a job (any kind); its history stays until pruned, a run going continues.
CREATE FUNCTION pgmanage.pgm_unschedule(name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM pgmanage.pgm_job j WHERE j.name = pgm_unschedule.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job "%" does not exist', name
            USING ERRCODE = '42704', HINT = 'See pgm_jobs for the jobs.';
    END IF;
    RETURN true;
END
$$;

-- Cancel a queued or running run; false if it had already finished.
CREATE FUNCTION pgmanage.pgm_cancel_run(run_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT id, kind, status INTO r FROM pgmanage.pgm_job_run WHERE id = run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', run_id
            USING ERRCODE = '22023', HINT = 'See pgm_job_runs for the runs.';
    END IF;
    IF r.status = 'queued' THEN
        UPDATE pgmanage.pgm_job_run
        SET status = 'cancelled', finished = now(), error = 'cancelled by ' || current_user || ' before it started'
        WHERE id = run_id AND status = 'queued';
        IF FOUND THEN
            RETURN true;
        END IF;
        SELECT status INTO r.status FROM pgmanage.pgm_job_run WHERE id = run_id;
    END IF;
    IF r.status = 'running' THEN
        IF pgmanage.pgm_signal_run(run_id, r.kind) THEN
            RETURN true;
        END IF;
        RAISE EXCEPTION 'run % is not running in this server', run_id
            USING ERRCODE = '55000', HINT = 'The worker marks it failed at its next pass if its process is gone.';
    END IF;
    RAISE NOTICE 'run % already finished (%)', run_id, r.status;
    RETURN false;
END
$$;

-- jobs (VACUUM and backup schedules) are configuration: pg_dump keeps them;
-- runs are history: not dumped
SELECT pg_catalog.pg_extension_config_dump('pgmanage.pgm_job', '');

REVOKE ALL ON pgmanage.pgm_job, pgmanage.pgm_job_run, pgmanage.pgm_jobs, pgmanage.pgm_job_runs FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_job, pgmanage.pgm_job_run, pgmanage.pgm_jobs, pgmanage.pgm_job_runs TO pg_read_all_stats;
REVOKE ALL ON pgmanage.pgm_job_run_detail FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_job_run_detail TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_job_run_fold_details() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_cron_next(text, timestamptz, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_cron_next(text, timestamptz, integer, text) TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_job_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_jobs_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_signal_run(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_unschedule(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_cancel_run(bigint) FROM PUBLIC;
