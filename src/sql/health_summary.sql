/* health_summary: pgm_health(), every health check in one call, built on the
 * reports (health_reports.sql) and the health functions (health.sql).
 * Written as CREATE OR REPLACE so that an update re-runs this file whole
 * (Makefile WHOLE_IN_2_2) instead of repeating the function's text. */

-- One row per check: its status ('ok', 'warning', 'critical'), the value
-- measured, the thresholds it was compared with, and what it saw.  A check
-- whose source the caller may not read (pg_hba_file_rules, the archive
-- status directory) says so in detail, with a NULL value.
CREATE OR REPLACE FUNCTION pgmanage.pgm_health(
    OUT check_name text,
    OUT status text,
    OUT value numeric,
    OUT warning_at numeric,
    OUT critical_at numeric,
    OUT detail text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := '{}';
    r record;
    forced jsonb := '{}';
BEGIN
    -- disk: the fullest filesystem pgmanage.pgm_disk_usage() sees
    SELECT u.fs_used_pct AS val,
           format('%s: %s%% used, %s available (%s)', u.area, u.fs_used_pct,
                  pg_size_pretty(u.fs_available_bytes), u.path) AS txt
      INTO r
      FROM pgmanage.pgm_disk_usage() u WHERE u.fs_used_pct IS NOT NULL
     ORDER BY u.fs_used_pct DESC, u.area LIMIT 1;
    v := v || jsonb_build_object('disk', jsonb_build_array(r.val, coalesce(r.txt, 'no filesystem could be measured')));

    -- wraparound: the database nearest to a forced anti-wraparound VACUUM
    SELECT greatest(w.xid_pct, w.mxid_pct) AS val,
           format('database %s: xid age %s (%s%% of autovacuum_freeze_max_age), multixact age %s (%s%% of autovacuum_multixact_freeze_max_age), %s%% of the way to wraparound',
                  w.database_name, w.xid_age, w.xid_pct, w.mxid_age, w.mxid_pct, w.wraparound_pct) AS txt
      INTO r FROM pgmanage.pgm_wraparound() w LIMIT 1;
    v := v || jsonb_build_object('wraparound', jsonb_build_array(r.val, r.txt));

    -- replication_lag: the slowest standby, or this standby's own replay
    SELECT p.replay_lag_seconds AS val,
           CASE WHEN p.kind = 'local'
                THEN format('this standby: replay %s s behind, %s bytes received but not replayed%s, last replayed transaction at %s',
                            round(p.replay_lag_seconds::numeric, 2), p.replay_lag_bytes,
                            CASE WHEN p.replay_paused THEN ' (replay paused)' ELSE '' END,
                            coalesce(p.last_replayed_at::text, 'never'))
                ELSE format('standby %s (%s, %s): replay %s s behind, %s bytes', p.application_name,
                            coalesce(p.client_addr, 'local socket'), p.state,
                            round(p.replay_lag_seconds::numeric, 2), p.replay_lag_bytes) END AS txt
      INTO r FROM pgmanage.pgm_replication() p
     ORDER BY p.replay_lag_seconds DESC NULLS LAST LIMIT 1;
    v := v || jsonb_build_object('replication_lag', jsonb_build_array(r.val, coalesce(r.txt, 'no standby connected')));

    -- slot_retention: the slot that keeps most WAL; a slot that lost WAL is critical
    SELECT s.wal_retained_bytes AS val, s.wal_status,
           format('slot %s (%s, %s): retains %s, wal_status %s%s', s.slot_name, s.slot_type,
                  CASE WHEN s.active THEN 'active' ELSE 'inactive' END,
                  coalesce(s.wal_retained_pretty, 'no WAL'), coalesce(s.wal_status, 'none'),
                  CASE WHEN s.safe_wal_bytes IS NOT NULL
                       THEN format(', %s before max_slot_wal_keep_size', pg_size_pretty(s.safe_wal_bytes)) ELSE '' END) AS txt
      INTO r FROM pgmanage.pgm_replication_slots() s LIMIT 1;
    v := v || jsonb_build_object('slot_retention', jsonb_build_array(coalesce(r.val, 0), coalesce(r.txt, 'no replication slot')));
    IF EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.wal_status IN ('unreserved', 'lost')) THEN
        forced := forced || jsonb_build_object('slot_retention', 'critical');
        v := jsonb_set(v, '{slot_retention,1}', to_jsonb(
             (SELECT 'slots past max_slot_wal_keep_size: ' || string_agg(format('%s (%s)', s.slot_name, s.wal_status), ', ' ORDER BY s.slot_name)
              FROM pg_replication_slots s WHERE s.wal_status IN ('unreserved', 'lost')) || '; ' || (v #>> '{slot_retention,1}')));
    END IF;

    -- connections: client backends against what non-superusers may use
    SELECT round(100.0 * c.n / nullif(c.usable, 0), 2) AS val,
           format('%s client connections of %s usable (max_connections %s, %s reserved)',
                  c.n, c.usable, c.maxc, c.maxc - c.usable) AS txt
      INTO r
      FROM (SELECT (SELECT count(*) FROM pg_stat_activity a WHERE a.backend_type = 'client backend') AS n,
                   current_setting('max_connections')::int AS maxc,
                   current_setting('max_connections')::int
                   - current_setting('superuser_reserved_connections')::int
                   - coalesce(current_setting('reserved_connections', true)::int, 0) AS usable) c;
    v := v || jsonb_build_object('connections', jsonb_build_array(r.val, r.txt));

    -- invalid_indexes: in this database, system catalogs included, not
    -- counting builds in progress nor partitions' indexes (their parent
    -- is the one reported): the rows pgm_index_report() calls 'invalid'.
    -- Not pgm_index_report() itself: it also finds duplicate, redundant
    -- and unused indexes and their sizes, 2.4 s against 20 ms for this
    -- query at 10,000 tables (docs/benchmarks.md, Health checks), and the
    -- worker runs this every pgmanage.health_check_interval.
    SELECT count(*) AS val,
           CASE WHEN count(*) = 0 THEN format('no invalid index in database %s', current_database())
                ELSE format('%s invalid in database %s: %s', count(*), current_database(),
                            string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY n.nspname, c.relname)) END AS txt
      INTO r
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT i.indisvalid
       AND NOT pg_is_other_temp_schema(n.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid);
    v := v || jsonb_build_object('invalid_indexes', jsonb_build_array(r.val, r.txt));

    -- sequences: the one nearest to its end, or to the end of the integer
    -- column it feeds (pgm_sequences' used_pct); never used: not counted
    SELECT q.used_pct AS val,
           format('sequence %I.%I: last value %s of %s (%s%%)%s in database %s', q.schema_name, q.sequence_name,
                  q.last_value, q.max_value, q.used_pct,
                  -- an owned or identity sequence is in its table's schema
                  CASE WHEN q.column_name IS NULL THEN ''
                       WHEN q.owned_by IN ('owned', 'identity')
                       THEN format(', feeds %s column %I.%I.%I', q.column_type, q.schema_name, q.table_name, q.column_name)
                       ELSE format(', feeds %s column %I.%I (its DEFAULT)', q.column_type, q.table_name, q.column_name) END,
                  current_database()) AS txt
      INTO r
      FROM pgmanage.pgm_sequences() q
     WHERE q.last_value IS NOT NULL AND q.used_pct IS NOT NULL
     ORDER BY q.used_pct DESC LIMIT 1;
    v := v || jsonb_build_object('sequences', jsonb_build_array(coalesce(r.val, 0),
              coalesce(r.txt, format('no sequence used yet in database %s', current_database()))));

    -- long_transactions: the oldest open transaction of a client backend
    SELECT round(extract(epoch FROM now() - a.xact_start)::numeric, 2) AS val,
           format('pid %s (%s, %s, %s): transaction open for %s s', a.pid, a.usename, a.datname, a.state,
                  round(extract(epoch FROM now() - a.xact_start)::numeric, 2)) AS txt
      INTO r FROM pg_stat_activity a
     WHERE a.backend_type = 'client backend' AND a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid()
     ORDER BY a.xact_start LIMIT 1;
    v := v || jsonb_build_object('long_transactions', jsonb_build_array(coalesce(r.val, 0),
              coalesce(r.txt, 'no other open transaction')));

    -- xmin_horizon: the oldest holder of any kind
    SELECT x.xmin_age AS val,
           format('%s %s%s holds the xmin horizon %s transactions back%s', x.kind, x.holder,
                  CASE WHEN x.database_name IS NOT NULL THEN format(' (database %s)', x.database_name) ELSE '' END,
                  x.xmin_age,
                  CASE WHEN x.since IS NOT NULL THEN format(', since %s', x.since) ELSE '' END) AS txt
      INTO r FROM pgmanage.pgm_xmin_horizon() x WHERE x.is_horizon;
    v := v || jsonb_build_object('xmin_horizon', jsonb_build_array(coalesce(r.val, 0),
              coalesce(r.txt, 'nothing holds the xmin horizon back')));

    -- prepared_transactions: the oldest one
    SELECT round(extract(epoch FROM now() - min(p.prepared))::numeric, 2) AS val,
           CASE WHEN count(*) = 0 THEN 'no prepared transaction'
                ELSE format('%s prepared, the oldest %s (database %s, owner %s) since %s', count(*),
                            (array_agg(p.gid ORDER BY p.prepared))[1], (array_agg(p.database ORDER BY p.prepared))[1],
                            (array_agg(p.owner ORDER BY p.prepared))[1], min(p.prepared)) END AS txt
      INTO r FROM pg_prepared_xacts p;
    v := v || jsonb_build_object('prepared_transactions', jsonb_build_array(coalesce(r.val, 0), r.txt));

    -- pg_hba: the lines of pg_hba.conf (as it is on disk) that pgm_hba_audit()
    -- rates high-risk; for whoever may run it (pg_monitor, superusers)
    IF has_function_privilege('pgmanage.pgm_hba_audit()', 'EXECUTE') THEN
        SELECT count(*) AS val,
               CASE WHEN count(*) = 0 THEN 'no high-risk line'
                    ELSE format('%s high-risk (pgm_hba_audit() says why): %s', count(*),
                                string_agg(format('line %s (%s %s, %s)', h.line_number, h.type, h.auth_method,
                                                  coalesce(h.address || coalesce('/' || h.netmask, ''), 'any address')),
                                           '; ' ORDER BY h.line_number)) END AS txt
          INTO r
          FROM pgmanage.pgm_hba_audit() h
         WHERE h.line_number IS NOT NULL AND h.risk = 'high';
        v := v || jsonb_build_object('pg_hba', jsonb_build_array(r.val, r.txt));
    ELSE
        v := v || jsonb_build_object('pg_hba', jsonb_build_array(NULL, 'pgmanage.pgm_hba_audit() is not executable by ' || current_user));
    END IF;

    -- archive: the oldest WAL file waiting to be archived
    IF current_setting('archive_mode') = 'off' THEN
        v := v || jsonb_build_object('archive', jsonb_build_array(NULL, 'archive_mode is off'));
    ELSIF has_function_privilege('pg_catalog.pg_ls_archive_statusdir()', 'EXECUTE') THEN
        SELECT coalesce(round(extract(epoch FROM now() - min(f.modification))::numeric, 2), 0) AS val,
               format('%s WAL files waiting%s; last archived %s at %s; %s failures%s', count(f.name),
                      CASE WHEN count(f.name) > 0 THEN format(', the oldest %s since %s',
                           (array_agg(f.name ORDER BY f.modification))[1], min(f.modification)) ELSE '' END,
                      coalesce(a.last_archived_wal, 'nothing'), coalesce(a.last_archived_time::text, 'never'),
                      a.failed_count,
                      CASE WHEN a.last_failed_wal IS NOT NULL THEN format(', the last for %s at %s', a.last_failed_wal, a.last_failed_time) ELSE '' END) AS txt
          INTO r
          FROM pg_stat_archiver a LEFT JOIN pg_ls_archive_statusdir() f ON f.name LIKE '%.ready'
         GROUP BY a.last_archived_wal, a.last_archived_time, a.failed_count, a.last_failed_wal, a.last_failed_time;
        v := v || jsonb_build_object('archive', jsonb_build_array(r.val, r.txt));
    ELSE
        v := v || jsonb_build_object('archive', jsonb_build_array(NULL, 'pg_ls_archive_statusdir() is not executable by ' || current_user));
    END IF;

    RETURN QUERY
    SELECT t.check_name,
           CASE WHEN forced ? t.check_name THEN forced ->> t.check_name
                WHEN x.val IS NULL THEN 'ok'
                WHEN t.critical_at IS NOT NULL AND x.val >= t.critical_at THEN 'critical'
                WHEN t.warning_at IS NOT NULL AND x.val >= t.warning_at THEN 'warning'
                ELSE 'ok' END,
           x.val, t.warning_at::numeric, t.critical_at::numeric, x.txt
    FROM pgmanage.pgm_health_thresholds() t
    CROSS JOIN LATERAL (SELECT (v -> t.check_name ->> 0)::numeric AS val, v -> t.check_name ->> 1 AS txt) x
    ORDER BY t."position";
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_health() IS 'pgmanage: every health check with its status, value, thresholds and detail';
-- pg_monitor: it reads pg_stat_replication, pg_stat_activity's other
-- sessions, pg_ls_archive_statusdir and pgm_disk_usage() (pg_read_all_stats,
-- which pg_monitor has), and may run pgm_hba_audit().  Nothing for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_health() TO pg_monitor;
