-- pgmanage 2.0 -> 2.1: changes only (the full definitions are in src/sql/<capability>.sql;
-- the upgrade tests compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1).
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit

-- ==== webhooks: circuit breaker per endpoint (issue 11)
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
CREATE FUNCTION pgmanage.pgm_endpoint_status(
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
COMMENT ON FUNCTION pgmanage.pgm_endpoint_status() IS 'pgmanage: circuit-breaker state and backlog of each endpoint';
REVOKE ALL ON pgmanage.pgm_endpoint_circuit FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_endpoint_circuit TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_endpoint_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_endpoint_status() TO pg_read_all_stats;
