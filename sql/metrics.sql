-- pgm_metrics() and pgm_metrics_text(): Prometheus names, types, labels,
-- the text format, values that follow what happened, privileges, locks.
SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS result,
       p.prosecdef AS security_definer
FROM pg_proc p WHERE p.pronamespace = 'pgmanage'::regnamespace AND p.proname LIKE 'pgm_metrics%'
ORDER BY 1::text;

-- state for the metrics that need some: a disabled endpoint (the sender
-- leaves it alone) with one pending and one delivered delivery, and a
-- scheduled job whose name needs escaping, with two finished VACUUM runs
INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('metrics_ep', 'http://127.0.0.1:9/hook', false);
INSERT INTO pgm_event (id, kind, payload, created_at)
VALUES (900001, 'test', '{}', now() - interval '1 minute'),
       (900002, 'test', '{}', now() - interval '3 seconds');
INSERT INTO pgm_delivery (event_id, endpoint, status, delivered_at)
SELECT e.id, 'metrics_ep', CASE e.id WHEN 900001 THEN 'pending' ELSE 'delivered' END,
       CASE e.id WHEN 900002 THEN e.created_at + interval '2 seconds' END
FROM pgm_event e WHERE e.id IN (900001, 900002);
INSERT INTO pgm_job (name, kind, schedule, database_name, enabled)
VALUES ('metrics "q" \ job', 'vacuum', '@daily', current_database(), false);
SELECT coalesce(sum(value) FILTER (WHERE metric = 'pgmanage_vacuum_reclaimed_bytes'), 0) AS reclaimed_before,
       coalesce(sum(value) FILTER (WHERE metric = 'pgmanage_vacuum_tables' AND labels->>'outcome' = 'vacuumed'), 0) AS vacuumed_before,
       coalesce(sum(value) FILTER (WHERE metric = 'pgmanage_job_runs' AND labels = '{"kind": "vacuum", "status": "succeeded"}'), 0) AS succeeded_before
FROM pgm_metrics() \gset
-- (the second run grew the table: it counts as 0 freed, not -200)
INSERT INTO pgm_job_run (job, kind, database_name, trigger, status, started, finished,
                         tables_vacuumed, bytes_before, bytes_after)
VALUES ('metrics "q" \ job', 'vacuum', current_database(), 'manual', 'succeeded', now(), now(), 3, 1000, 400),
       ('metrics "q" \ job', 'vacuum', current_database(), 'manual', 'succeeded', now(), now(), 1, 100, 300);
SELECT NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS create_pgss \gset
\if :create_pgss
CREATE EXTENSION pg_stat_statements;
\endif
SELECT pgm_pgss_snapshot() IS NOT NULL AS snapshot_taken;

-- Every family and its type (pgmanage_process_last_error_timestamp_seconds
-- appears only once a process recorded an error: left out here)
-- (pgmanage_timeout_actions_total: two samples per kind of limit)
SELECT metric, type,
       CASE WHEN metric = 'pgmanage_timeout_actions_total'
            THEN CASE WHEN count(*) = 2 * (SELECT count(DISTINCT limit_kind) FROM pgm_timeout_actions())
                      THEN '2 per limit' END
            ELSE count(*)::text END AS samples
FROM pgm_metrics()
WHERE metric <> 'pgmanage_process_last_error_timestamp_seconds'
GROUP BY metric, type ORDER BY metric;

-- Prometheus' rules, as queries that list what breaks them (no rows)
-- names: prefix, characters, _total on counters and only on counters,
-- base units (no ms, minutes, kB, percentages)
SELECT DISTINCT metric, type FROM pgm_metrics()
WHERE metric !~ '^pgmanage_[a-z0-9_]*[a-z0-9]$'
   OR type NOT IN ('counter', 'gauge')
   OR (type = 'counter') <> (metric ~ '_total$')
   OR metric ~ '_(ms|msec|milliseconds|minutes|hours|days|kb|mb|gb|kilobytes|megabytes|pct|percent)(_|$)';
-- one type, one help per family; the same label names on every sample of a family
SELECT metric FROM pgm_metrics() GROUP BY metric
HAVING count(DISTINCT type) > 1 OR count(DISTINCT help) > 1 OR min(help) = ''
    OR count(DISTINCT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(labels) k)) > 1;
-- labels: an object of strings, label names as Prometheus allows
SELECT metric, labels FROM pgm_metrics()
WHERE jsonb_typeof(labels) <> 'object'
   OR EXISTS (SELECT 1 FROM jsonb_each(labels) l
              WHERE jsonb_typeof(l.value) <> 'string' OR l.key !~ '^[a-z_][a-z0-9_]*$' OR l.key ~ '^__');
-- no sample twice, no value missing
SELECT metric, labels, count(*) FROM pgm_metrics() GROUP BY metric, labels HAVING count(*) > 1;
SELECT metric, labels FROM pgm_metrics() WHERE value IS NULL;
-- no gauge named like a counter's family (x beside x_total)
SELECT DISTINCT g.metric FROM pgm_metrics() g JOIN pgm_metrics() c
  ON c.type = 'counter' AND c.metric = g.metric || '_total';

-- names: only those metrics (and the same samples as without it)
SELECT metric, count(*) AS samples
FROM pgm_metrics(ARRAY['pgmanage_job_runs', 'pgmanage_disk_used_ratio', 'pgmanage_preloaded', 'no_such_metric'])
GROUP BY metric ORDER BY metric;
-- every family alone gives the samples it gives among all (no family is
-- left out of the part that computes it)
SELECT f.metric FROM (SELECT DISTINCT metric FROM pgm_metrics()) f
WHERE (SELECT count(*) FROM pgm_metrics(ARRAY[f.metric]))
      <> (SELECT count(*) FROM pgm_metrics() m WHERE m.metric = f.metric);

-- Values follow what happened
-- the endpoint: one pending (a minute old), one delivered 2 s after it was queued
SELECT metric, labels->>'status' AS status,
       CASE WHEN metric LIKE '%age_seconds' THEN value BETWEEN 59 AND 3600
            WHEN metric LIKE '%latency%' THEN abs(value - 2) < 0.001
            ELSE NULL END AS plausible,
       CASE WHEN metric IN ('pgmanage_webhook_deliveries', 'pgmanage_webhook_endpoint_enabled') THEN value END AS value
FROM pgm_metrics() WHERE labels->>'endpoint' = 'metrics_ep'
ORDER BY 1, 2;
-- two runs more, 600 bytes more freed (the run that grew counts 0), 4 tables more vacuumed
SELECT sum(value) FILTER (WHERE metric = 'pgmanage_vacuum_reclaimed_bytes') - :reclaimed_before AS reclaimed,
       sum(value) FILTER (WHERE metric = 'pgmanage_vacuum_tables' AND labels->>'outcome' = 'vacuumed') - :vacuumed_before AS vacuumed,
       sum(value) FILTER (WHERE metric = 'pgmanage_job_runs' AND labels = '{"kind": "vacuum", "status": "succeeded"}') - :succeeded_before AS runs,
       count(*) FILTER (WHERE metric = 'pgmanage_job_last_success_timestamp_seconds'
                          AND labels = '{"job": "metrics \"q\" \\ job", "kind": "vacuum"}'
                          AND abs(value - extract(epoch FROM now())::float8) < 1) AS last_success
FROM pgm_metrics();
-- counters agree with the functions they come from
SELECT (SELECT value FROM pgm_metrics() WHERE metric = 'pgmanage_job_runs_created_total')
         = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgm_job_run_id_seq) AS runs_created,
       (SELECT value FROM pgm_metrics() WHERE metric = 'pgmanage_pgss_snapshots_total')
         = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgm_pgss_snapshot_id_seq) AS snapshots,
       (SELECT value FROM pgm_metrics() WHERE metric = 'pgmanage_pgss_last_snapshot_age_seconds') < 60 AS snapshot_recent,
       (SELECT value FROM pgm_metrics() WHERE metric = 'pgmanage_webhook_events_total')
         = (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgm_event_id_seq) AS events,
       (SELECT sum(value) FROM pgm_metrics() WHERE metric = 'pgmanage_timeout_actions_total' AND labels->>'action' = 'cancel')
         = (SELECT statements_cancelled FROM pgm_status() WHERE process = 'launcher') AS cancels,
       (SELECT sum(value) FROM pgm_metrics() WHERE metric = 'pgmanage_timeout_actions_total' AND labels->>'action' = 'terminate')
         = (SELECT sessions_terminated FROM pgm_status() WHERE process = 'launcher') AS terminates,
       (SELECT value FROM pgm_metrics() WHERE metric = 'pgmanage_slow_statement_ring_slots')
         = (SELECT buffer_slots FROM pgm_slow_query_stats()) AS ring_slots,
       (SELECT count(*) FROM pgm_metrics() WHERE metric = 'pgmanage_disk_used_ratio'
          AND labels->>'area' = 'data_directory' AND value > 0 AND value <= 1) AS disk_ratio;

-- The text format: one # HELP and one # TYPE per family, then its samples
SELECT pgm_metrics_text() AS t \gset
WITH n AS (
    SELECT (SELECT count(DISTINCT metric) FROM pgm_metrics()) AS families,
           (SELECT count(*) FROM regexp_split_to_table(:'t', E'\n') l WHERE l LIKE '# TYPE %') AS type_lines,
           (SELECT count(DISTINCT l) FROM regexp_split_to_table(:'t', E'\n') l WHERE l LIKE '# TYPE %') AS distinct_type_lines,
           (SELECT count(*) FROM regexp_split_to_table(:'t', E'\n') l WHERE l LIKE '# HELP %') AS help_lines,
           (SELECT count(*) FROM pgm_metrics()) AS samples,
           (SELECT count(*) FROM regexp_split_to_table(:'t', E'\n') l WHERE l <> '' AND l NOT LIKE '#%') AS sample_lines
)
SELECT families >= 35 AS families, type_lines = families AS one_type_line_each,
       distinct_type_lines = families AS no_type_line_twice, help_lines = families AS one_help_line_each,
       sample_lines = samples AS every_sample, right(:'t', 1) = E'\n' AS ends_with_newline
FROM n;
-- every sample line: name, optional {labels}, a float
SELECT l FROM regexp_split_to_table(:'t', E'\n') l
WHERE l <> '' AND l NOT LIKE '# HELP pgmanage_% %' AND l !~ '^# TYPE pgmanage_[a-z0-9_]+ (counter|gauge)$'
  AND l !~ '^pgmanage_[a-z0-9_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? (-?[0-9.]+(e[-+][0-9]+)?|NaN|[-+]Inf)$';
-- label values escaped: " as \" and \ as \\
SELECT l FROM regexp_split_to_table(:'t', E'\n') l WHERE l LIKE 'pgmanage_job_last_success%metrics%'
  AND l ~ ' [0-9.e+]+$' IS TRUE \gset
SELECT regexp_replace(:'l', ' [0-9.e+]+$', ' <time>') AS escaped_sample;
-- a family's lines: HELP, TYPE, samples sorted by labels (values as N)
SELECT regexp_replace(l, '} [0-9]+$', '} N') AS l
FROM regexp_split_to_table(:'t', E'\n') l WHERE l ~ '^(# [A-Z]+ )?pgmanage_timeout_actions_total'
  AND l !~ 'limit="(idle_in|transaction|lock|block)';

-- Privileges: pg_monitor's members, not PUBLIC
CREATE ROLE pgm_metrics_watcher IN ROLE pg_monitor;
CREATE ROLE pgm_metrics_nobody;
CREATE ROLE pgm_metrics_signaller IN ROLE pg_signal_backend;  -- USAGE on the schema, not pg_monitor
SET ROLE pgm_metrics_watcher;
SELECT count(*) > 40 AS rows, count(DISTINCT metric) > 30 AS families FROM pgm_metrics();
SELECT pgm_metrics_text() LIKE '# HELP pgmanage_%' AS text_ok;
RESET ROLE;
SET ROLE pgm_metrics_nobody;
SELECT count(*) FROM pgmanage.pgm_metrics();
\echo :LAST_ERROR_SQLSTATE
SELECT pgmanage.pgm_metrics_text();
\echo :LAST_ERROR_SQLSTATE
SET ROLE pgm_metrics_signaller;
SELECT count(*) FROM pgmanage.pgm_metrics();
\echo :LAST_ERROR_SQLSTATE
SELECT pgmanage.pgm_metrics_text();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE pgm_metrics_watcher;
DROP ROLE pgm_metrics_nobody;
DROP ROLE pgm_metrics_signaller;

-- Locks: only pgmanage's own relations and the catalogs (no user table)
CREATE TABLE metrics_user_table (id int);
BEGIN;
SELECT count(*) > 0 AS read FROM pgm_metrics();
SELECT DISTINCT n.nspname
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' ORDER BY 1;
COMMIT;
DROP TABLE metrics_user_table;

-- clean up
DELETE FROM pgm_job_run WHERE job = 'metrics "q" \ job';
DELETE FROM pgm_job WHERE name = 'metrics "q" \ job';
DELETE FROM pgm_endpoint WHERE name = 'metrics_ep';
DELETE FROM pgm_event WHERE id IN (900001, 900002);
DELETE FROM pgm_pgss_snapshot;
\if :create_pgss
DROP EXTENSION pg_stat_statements;
\endif
