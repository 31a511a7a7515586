/* backup: event-driven backup triggers (1.3) and backup schedules, the 'backup' job kind (1.5) */

-- Put a backup event in the outbox; returns its id.
CREATE FUNCTION pgmanage.pgm_trigger_backup(label text DEFAULT NULL, endpoint text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgm_trigger_backup'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- Create or replace a backup job: at each slot, a 'backup' event goes to the
-- endpoint (NULL: every enabled endpoint subscribed to 'backup'); returns
-- the job's next fire time.
CREATE FUNCTION pgmanage.pgm_schedule_backup(
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
    PERFORM pgmanage.pgm_cron_next(schedule);    -- 22023 naming the bad field
    IF endpoint IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pgmanage.pgm_endpoint ep WHERE ep.name = endpoint) THEN
        RAISE EXCEPTION 'webhook endpoint "%" does not exist', endpoint
            USING ERRCODE = '22023',
                  HINT = 'See the rows of pgm_endpoint; pass NULL to send to every endpoint subscribed to backup events.';
    END IF;
    IF octet_length(label) > 1024 THEN
        RAISE EXCEPTION 'label is too long'
            USING ERRCODE = '22023', HINT = 'A label is at most 1024 bytes.';
    END IF;
    INSERT INTO pgmanage.pgm_job AS j (name, kind, schedule, database_name, options)
    VALUES (name, 'backup', schedule, current_database(),
            jsonb_strip_nulls(jsonb_build_object('endpoint', endpoint, 'label', label)))
    ON CONFLICT ON CONSTRAINT pgm_job_pkey DO UPDATE
        SET kind = excluded.kind, schedule = excluded.schedule, database_name = excluded.database_name,
            options = excluded.options, enabled = true,
            next_fire = (SELECT pgmanage.pgm_cron_next(excluded.schedule, now()))
    RETURNING j.next_fire INTO next_at;
    RETURN next_at;
END
$$;

-- An endpoint a backup job sends to cannot be deleted or renamed (2BP01),
-- as a table a view uses cannot be dropped: otherwise every slot of the job
-- would fail and send job_failed.  Unschedule the job, or point it at
-- another endpoint, first.
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

REVOKE ALL ON FUNCTION pgmanage.pgm_trigger_backup(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_schedule_backup(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_endpoint_in_use() FROM PUBLIC;
