/* pgmanage 1.5: backup schedules (jobs of kind 'backup'), job_failed events */

\echo Use "ALTER EXTENSION pgmanage UPDATE TO '1.5'" to load this file. \quit

ALTER TABLE pgm_job DROP CONSTRAINT pgm_job_kind_valid;
ALTER TABLE pgm_job ADD CONSTRAINT pgm_job_kind_valid CHECK (kind IN ('vacuum', 'backup'));

-- pgm_job: a schedule is checked, and next_fire computed, when it is set;
-- a job's kind never changes (a name used by a job of another kind is
-- refused, so pgm_schedule_vacuum cannot silently replace a backup job
-- and the reverse: unschedule it first).
CREATE OR REPLACE FUNCTION pgm_job_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule
       OR (NEW.enabled AND NOT OLD.enabled) THEN
        NEW.next_fire := (SELECT @extschema@.pgm_cron_next(NEW.schedule, now()));
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.kind IS DISTINCT FROM OLD.kind THEN
        RAISE EXCEPTION 'job "%" is a % job, not a % job', OLD.name, OLD.kind, NEW.kind
            USING ERRCODE = '42710',
                  HINT = 'Choose another name, or remove the job first with pgm_unschedule().';
    END IF;
    RETURN NEW;
END
$$;

-- Create or replace a backup job: at each slot, a 'backup' event goes to the
-- endpoint (NULL: every enabled endpoint subscribed to 'backup'); returns
-- the job's next fire time.
CREATE FUNCTION pgm_schedule_backup(
    name text,
    schedule text,
    endpoint text DEFAULT NULL,
    label text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    next_at timestamptz;
BEGIN
    IF current_database() <> current_setting('pgmanage.database') THEN
        RAISE EXCEPTION 'pgmanage jobs live in database "%", not "%"',
            current_setting('pgmanage.database'), current_database()
            USING ERRCODE = '55000',
                  HINT = 'Connect to the database named by pgmanage.database.';
    END IF;
    IF name IS NULL OR name !~ '^[[:print:]]{1,63}$' THEN
        RAISE EXCEPTION 'invalid job name "%"', name
            USING ERRCODE = '22023', HINT = 'A job name is 1 to 63 printable characters.';
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL'
            USING ERRCODE = '22023', HINT = 'For example ''0 1 * * *'', ''@daily'' or ''every 6 hours''.';
    END IF;
    PERFORM @extschema@.pgm_cron_next(schedule);    -- 22023 naming the bad field
    IF endpoint IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM @extschema@.pgm_endpoint ep WHERE ep.name = endpoint) THEN
        RAISE EXCEPTION 'webhook endpoint "%" does not exist', endpoint
            USING ERRCODE = '22023',
                  HINT = 'See the rows of pgm_endpoint; pass NULL to send to every endpoint subscribed to backup events.';
    END IF;
    IF octet_length(label) > 1024 THEN
        RAISE EXCEPTION 'label is too long'
            USING ERRCODE = '22023', HINT = 'A label is at most 1024 bytes.';
    END IF;
    INSERT INTO @extschema@.pgm_job AS j (name, kind, schedule, database_name, options)
    VALUES (name, 'backup', schedule, current_database(),
            jsonb_strip_nulls(jsonb_build_object('endpoint', endpoint, 'label', label)))
    ON CONFLICT ON CONSTRAINT pgm_job_pkey DO UPDATE
        SET kind = excluded.kind, schedule = excluded.schedule, database_name = excluded.database_name,
            options = excluded.options, enabled = true,
            next_fire = (SELECT @extschema@.pgm_cron_next(excluded.schedule, now()))
    RETURNING j.next_fire INTO next_at;
    RETURN next_at;
END
$$;

-- A run that fails (any kind) becomes a job_failed event for the endpoints
-- that subscribe to it.
CREATE FUNCTION pgm_job_run_event() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM @extschema@.pgm_endpoint ep
               WHERE ep.enabled AND (ep.event_kinds IS NULL OR 'job_failed' = ANY (ep.event_kinds))) THEN
        PERFORM @extschema@.pgm_emit_event('job_failed',
            jsonb_build_object('run_id', NEW.id, 'job', NEW.job, 'kind', NEW.kind,
                               'database', NEW.database_name, 'trigger', NEW.trigger,
                               'scheduled_for', NEW.scheduled_for,
                               'started', NEW.started, 'finished', NEW.finished, 'error', NEW.error),
            coalesce(NEW.job, NEW.kind), NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pgm_job_run_failed
    AFTER UPDATE OF status ON pgm_job_run
    FOR EACH ROW WHEN (NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed')
    EXECUTE FUNCTION pgm_job_run_event();
CREATE TRIGGER pgm_job_run_failed_insert
    AFTER INSERT ON pgm_job_run
    FOR EACH ROW WHEN (NEW.status = 'failed')
    EXECUTE FUNCTION pgm_job_run_event();

REVOKE ALL ON FUNCTION pgm_schedule_backup(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_job_run_event() FROM PUBLIC;
