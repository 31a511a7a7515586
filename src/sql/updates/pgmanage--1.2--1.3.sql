/* pgmanage 1.3: webhooks -- endpoints, the outbox, deliveries, backup triggers and alerts */

\echo Use "ALTER EXTENSION pgmanage UPDATE TO '1.3'" to load this file. \quit

-- A new signing secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes.
CREATE FUNCTION pgm_webhook_secret() RETURNS text
AS 'MODULE_PATHNAME', 'pgm_webhook_secret' LANGUAGE C VOLATILE STRICT;

-- Where events go.  Superusers only: the secret signs every request.
-- Rows are checked by the trigger pgm_endpoint_check (not CHECK
-- constraints, whose error DETAIL would print the row, secret included).
CREATE TABLE pgm_endpoint (
    name text PRIMARY KEY,
    url text NOT NULL,
    secret text NOT NULL DEFAULT pgm_webhook_secret(),
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
COMMENT ON TABLE pgm_endpoint IS 'pgmanage: HTTP(S) endpoints that receive signed events (superusers only)';

CREATE FUNCTION pgm_endpoint_check() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_endpoint_check' LANGUAGE C;
CREATE TRIGGER pgm_endpoint_check
    BEFORE INSERT OR UPDATE ON pgm_endpoint
    FOR EACH ROW EXECUTE FUNCTION pgm_endpoint_check();

-- Wake the sender at COMMIT (an endpoint enabled or fixed may have work).
CREATE FUNCTION pgm_webhook_wake() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_webhook_wake' LANGUAGE C;
CREATE TRIGGER pgm_endpoint_changed
    AFTER INSERT OR UPDATE ON pgm_endpoint
    FOR EACH STATEMENT EXECUTE FUNCTION pgm_webhook_wake();

-- The outbox: one row per event, its JSON body fixed at enqueue time.
CREATE TABLE pgm_event (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pgm_event_created_at ON pgm_event (created_at);
COMMENT ON TABLE pgm_event IS 'pgmanage: events to deliver to endpoints; pruned after pgmanage.webhook_retention once no delivery is pending';

-- One delivery per event and endpoint, created at enqueue time (fan-out).
CREATE TABLE pgm_delivery (
    event_id bigint NOT NULL REFERENCES pgm_event (id) ON DELETE CASCADE,
    endpoint text NOT NULL REFERENCES pgm_endpoint (name) ON DELETE CASCADE ON UPDATE CASCADE,
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
CREATE INDEX pgm_delivery_due ON pgm_delivery (endpoint, next_attempt_at, event_id) WHERE status = 'pending';
COMMENT ON TABLE pgm_delivery IS 'pgmanage: delivery state of each event to each endpoint';

-- Crossing state of the alerts and event-driven backup triggers, so that a
-- restart does not repeat an event.
CREATE TABLE pgm_alert_state (
    name text PRIMARY KEY,
    state text NOT NULL,
    detail jsonb,
    changed_at timestamptz NOT NULL DEFAULT now(),
    checked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgm_alert_state IS 'pgmanage: last state of each disk alert and backup trigger (one event per crossing)';

-- Put a backup event in the outbox; returns its id.
CREATE FUNCTION pgm_trigger_backup(label text DEFAULT NULL, endpoint text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgm_trigger_backup'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

-- Put an event of any kind in the outbox; returns its id.
CREATE FUNCTION pgm_emit_event(kind text, data jsonb DEFAULT NULL, label text DEFAULT NULL,
                               endpoint text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgm_emit_event'
LANGUAGE C VOLATILE;

-- The Standard Webhooks signature of a message (what the sender puts in webhook-signature).
CREATE FUNCTION pgm_webhook_signature(secret text, msg_id text, msg_timestamp bigint, body text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgm_webhook_signature'
LANGUAGE C IMMUTABLE STRICT;

-- Policy kills become timeout_kill events for endpoints that subscribe to them.
CREATE FUNCTION pgm_kill_log_event() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM @extschema@.pgm_endpoint ep
               WHERE ep.enabled AND (ep.event_kinds IS NULL OR 'timeout_kill' = ANY (ep.event_kinds))) THEN
        PERFORM @extschema@.pgm_emit_event('timeout_kill', to_jsonb(NEW) - 'query', NEW.limit_kind, NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pgm_kill_log_event
    AFTER INSERT ON pgm_kill_log
    FOR EACH ROW EXECUTE FUNCTION pgm_kill_log_event();

-- Events with their delivery to each endpoint (NULL endpoint: none matched).
CREATE VIEW pgm_events AS
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
FROM pgm_event e
LEFT JOIN pgm_delivery d ON d.event_id = e.id;

-- Each endpoint without its secret (header names only), with its delivery counts.
CREATE VIEW pgm_endpoint_status AS
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
       (SELECT d.last_error FROM pgm_delivery d
        WHERE d.endpoint = ep.name AND d.last_error IS NOT NULL
        ORDER BY d.last_attempt_at DESC NULLS LAST LIMIT 1) AS last_error
FROM pgm_endpoint ep
LEFT JOIN (
    SELECT d.endpoint,
           count(*) FILTER (WHERE d.status = 'pending') AS pending,
           count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
           count(*) FILTER (WHERE d.status = 'dead') AS dead,
           min(e.created_at) FILTER (WHERE d.status = 'pending') AS oldest_pending_at,
           max(d.delivered_at) AS last_delivered_at
    FROM pgm_delivery d JOIN pgm_event e ON e.id = d.event_id
    GROUP BY d.endpoint
) s ON s.endpoint = ep.name;

-- endpoints are configuration: pg_dump keeps them (secrets included: dump as a superuser)
SELECT pg_catalog.pg_extension_config_dump('pgm_endpoint', '');

REVOKE ALL ON pgm_endpoint, pgm_event, pgm_delivery, pgm_alert_state FROM PUBLIC;
REVOKE ALL ON pgm_events, pgm_endpoint_status FROM PUBLIC;
GRANT SELECT ON pgm_events, pgm_endpoint_status TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgm_webhook_secret() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_endpoint_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_webhook_wake() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_trigger_backup(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_emit_event(text, jsonb, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_webhook_signature(text, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgm_kill_log_event() FROM PUBLIC;
