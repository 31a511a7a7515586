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
