/* webhooks: endpoints, the outbox, deliveries, alert state, timeout_kill (1.3) and job_failed (1.5) events */

-- A new signing secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes.
CREATE FUNCTION pgmanage.pgm_webhook_secret() RETURNS text
AS 'MODULE_PATHNAME', 'pgm_webhook_secret' LANGUAGE C VOLATILE STRICT;

-- Where events go.  Superusers only: the secret signs every request.
-- Rows are checked by the trigger pgm_endpoint_check (not CHECK
-- constraints, whose error DETAIL would print the row, secret included).
CREATE TABLE pgmanage.pgm_endpoint (
    name text PRIMARY KEY,
    url text NOT NULL,
    secret text NOT NULL DEFAULT pgmanage.pgm_webhook_secret(),
    event_kinds text[],
    timeout interval NOT NULL DEFAULT '10 s',
    max_attempts integer NOT NULL DEFAULT 20,
    headers jsonb NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    follow_redirects boolean NOT NULL DEFAULT false,
    ca_file text,
    comment text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgmanage.pgm_endpoint IS 'pgmanage: HTTP(S) endpoints that receive signed events (superusers only)';

CREATE FUNCTION pgmanage.pgm_endpoint_check() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_endpoint_check' LANGUAGE C;
COMMENT ON FUNCTION pgmanage.pgm_endpoint_check() IS 'pgmanage (internal): trigger on pgm_endpoint, checks a row without printing its secret';
CREATE TRIGGER pgm_endpoint_check
    BEFORE INSERT OR UPDATE ON pgmanage.pgm_endpoint
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_endpoint_check();

-- Wake the sender at COMMIT (an endpoint enabled or fixed may have work).
CREATE FUNCTION pgmanage.pgm_webhook_wake() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_webhook_wake' LANGUAGE C;
COMMENT ON FUNCTION pgmanage.pgm_webhook_wake() IS 'pgmanage (internal): trigger on pgm_endpoint, wakes the sender at COMMIT';
CREATE TRIGGER pgm_endpoint_changed
    AFTER INSERT OR UPDATE ON pgmanage.pgm_endpoint
    FOR EACH STATEMENT EXECUTE FUNCTION pgmanage.pgm_webhook_wake();

-- The outbox: one row per event, its JSON body fixed at enqueue time.
-- webhook_id: the webhook-id header of every attempt, a random UUID (128 bits, 122 random), so
-- that no two events ever share one, across DROP/CREATE EXTENSION, restores
-- and failovers (the id sequence starts again there; this does not).
CREATE TABLE pgmanage.pgm_event (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    webhook_id text NOT NULL DEFAULT ('pgm_' || replace(gen_random_uuid()::text, '-', ''))
        CONSTRAINT pgm_event_webhook_id_key UNIQUE
);
CREATE INDEX pgm_event_created_at ON pgmanage.pgm_event (created_at);
COMMENT ON TABLE pgmanage.pgm_event IS 'pgmanage: events to deliver to endpoints; pruned after pgmanage.webhook_retention once no delivery is pending';

-- One delivery per event and endpoint, created at enqueue time (fan-out).
CREATE TABLE pgmanage.pgm_delivery (
    event_id bigint NOT NULL REFERENCES pgmanage.pgm_event (id) ON DELETE CASCADE,
    endpoint text NOT NULL REFERENCES pgmanage.pgm_endpoint (name) ON DELETE CASCADE ON UPDATE CASCADE,
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT pgm_delivery_status_valid CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_http_status integer,
    last_error text,
    delivered_at timestamptz,
    PRIMARY KEY (event_id, endpoint)
);
-- the sender reads each endpoint's due deliveries in order from here
CREATE INDEX pgm_delivery_due ON pgmanage.pgm_delivery (endpoint, next_attempt_at, event_id) WHERE status = 'pending';
COMMENT ON TABLE pgmanage.pgm_delivery IS 'pgmanage: delivery state of each event to each endpoint';

-- Crossing state of the alerts and event-driven backup triggers, so that a
-- restart does not repeat an event.
CREATE TABLE pgmanage.pgm_alert_state (
    name text PRIMARY KEY,
    state text NOT NULL,
    detail jsonb,
    changed_at timestamptz NOT NULL DEFAULT now(),
    checked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgmanage.pgm_alert_state IS 'pgmanage: last state of each disk alert and backup trigger (one event per crossing)';

-- Put an event of any kind in the outbox; returns its id.
CREATE FUNCTION pgmanage.pgm_emit_event(kind text, data jsonb DEFAULT NULL, label text DEFAULT NULL,
                               endpoint text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgm_emit_event'
LANGUAGE C VOLATILE;

-- The Standard Webhooks signature of a message (what the sender puts in webhook-signature).
CREATE FUNCTION pgmanage.pgm_webhook_signature(secret text, msg_id text, msg_timestamp bigint, body text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgm_webhook_signature'
LANGUAGE C IMMUTABLE STRICT;

-- Policy kills become timeout_kill events for endpoints that subscribe to them.
CREATE FUNCTION pgmanage.pgm_kill_log_event() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (only pgmanage.database sends events; elsewhere the row is kept, no event)
    IF current_database() = current_setting('pgmanage.database', true)
       AND EXISTS (SELECT 1 FROM pgmanage.pgm_endpoint ep
               WHERE ep.enabled AND (ep.event_kinds IS NULL OR 'timeout_kill' = ANY (ep.event_kinds))) THEN
        PERFORM pgmanage.pgm_emit_event('timeout_kill', to_jsonb(NEW) - 'query', NEW.limit_kind, NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_kill_log_event() IS 'pgmanage (internal): trigger on pgm_kill_log, emits timeout_kill events';
CREATE TRIGGER pgm_kill_log_event
    AFTER INSERT ON pgmanage.pgm_kill_log
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_kill_log_event();

-- A run that fails (any kind) becomes a job_failed event for the endpoints
-- that subscribe to it.
CREATE FUNCTION pgmanage.pgm_job_run_event() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (only pgmanage.database sends events; elsewhere the run fails, no event)
    IF current_database() = current_setting('pgmanage.database', true)
       AND EXISTS (SELECT 1 FROM pgmanage.pgm_endpoint ep
               WHERE ep.enabled AND (ep.event_kinds IS NULL OR 'job_failed' = ANY (ep.event_kinds))) THEN
        PERFORM pgmanage.pgm_emit_event('job_failed',
            jsonb_build_object('run_id', NEW.id, 'job', NEW.job, 'kind', NEW.kind,
                               'database', NEW.database_name, 'trigger', NEW.trigger,
                               'scheduled_for', NEW.scheduled_for,
                               'started', NEW.started, 'finished', NEW.finished, 'error', NEW.error),
            coalesce(NEW.job, NEW.kind), NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_job_run_event() IS 'pgmanage (internal): trigger on pgm_job_run, emits job_failed events';
CREATE TRIGGER pgm_job_run_failed
    AFTER UPDATE OF status ON pgmanage.pgm_job_run
    FOR EACH ROW WHEN (NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed')
    EXECUTE FUNCTION pgmanage.pgm_job_run_event();
CREATE TRIGGER pgm_job_run_failed_insert
    AFTER INSERT ON pgmanage.pgm_job_run
    FOR EACH ROW WHEN (NEW.status = 'failed')
    EXECUTE FUNCTION pgmanage.pgm_job_run_event();

-- Events with their delivery to each endpoint (NULL endpoint: none matched).
CREATE VIEW pgmanage.pgm_events AS
SELECT e.id,
       e.kind,
       e.payload ->> 'label' AS label,
       e.created_at,
       d.endpoint,
       d.status,
       d.attempts,
       d.last_attempt_at,
       d.next_attempt_at,
       d.last_http_status,
       d.last_error,
       d.delivered_at,
       e.payload
FROM pgmanage.pgm_event e
LEFT JOIN pgmanage.pgm_delivery d ON d.event_id = e.id;

-- Each endpoint without its secret (header names only), with its delivery counts.
CREATE VIEW pgmanage.pgm_endpoint_status AS
SELECT ep.name,
       ep.url,
       ep.event_kinds,
       ep.enabled,
       ep.timeout,
       ep.max_attempts,
       ep.follow_redirects,
       ep.ca_file,
       ARRAY(SELECT pg_catalog.jsonb_object_keys(ep.headers) ORDER BY 1) AS header_names,
       coalesce(s.pending, 0) AS pending,
       coalesce(s.delivered, 0) AS delivered,
       coalesce(s.dead, 0) AS dead,
       s.oldest_pending_at,
       now() - s.oldest_pending_at AS oldest_pending_age,
       s.last_delivered_at,
       (SELECT d.last_error FROM pgmanage.pgm_delivery d
        WHERE d.endpoint = ep.name AND d.last_error IS NOT NULL
        ORDER BY d.last_attempt_at DESC NULLS LAST LIMIT 1) AS last_error
FROM pgmanage.pgm_endpoint ep
LEFT JOIN (
    SELECT d.endpoint,
           count(*) FILTER (WHERE d.status = 'pending') AS pending,
           count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
           count(*) FILTER (WHERE d.status = 'dead') AS dead,
           min(e.created_at) FILTER (WHERE d.status = 'pending') AS oldest_pending_at,
           max(d.delivered_at) AS last_delivered_at
    FROM pgmanage.pgm_delivery d JOIN pgmanage.pgm_event e ON e.id = d.event_id
    GROUP BY d.endpoint
) s ON s.endpoint = ep.name;

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

-- endpoints are configuration: pg_dump keeps them (secrets included: dump as a
-- superuser); the outbox, deliveries and alert state are not dumped
SELECT pg_catalog.pg_extension_config_dump('pgmanage.pgm_endpoint', '');

REVOKE ALL ON pgmanage.pgm_endpoint, pgmanage.pgm_event, pgmanage.pgm_delivery, pgmanage.pgm_alert_state FROM PUBLIC;
REVOKE ALL ON pgmanage.pgm_endpoint_circuit FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_endpoint_circuit TO pg_read_all_stats;
REVOKE ALL ON pgmanage.pgm_events, pgmanage.pgm_endpoint_status FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_events, pgmanage.pgm_endpoint_status TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_webhook_secret() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_endpoint_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_webhook_wake() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_emit_event(text, jsonb, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_webhook_signature(text, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_kill_log_event() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_job_run_event() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_endpoint_circuits() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_endpoint_circuits() TO pg_read_all_stats;
