/* health: replication, slots, wraparound, the xmin horizon, and pgm_health() (2.1) */

-- Replication, per standby this server sends WAL to (kind 'standby', from
-- pg_stat_replication) and, on a standby, one row for itself (kind 'local':
-- what it received and replayed, from pg_stat_wal_receiver and the recovery
-- functions).
CREATE FUNCTION pgmanage.pgm_replication(
    OUT kind text,
    OUT pid integer,
    OUT application_name text,
    OUT client_addr text,
    OUT state text,
    OUT sync_state text,
    OUT slot_name text,
    OUT sent_lsn text,
    OUT write_lsn text,
    OUT flush_lsn text,
    OUT receive_lsn text,
    OUT replay_lsn text,
    OUT write_lag_seconds double precision,
    OUT flush_lag_seconds double precision,
    OUT replay_lag_seconds double precision,
    OUT replay_lag_bytes bigint,
    OUT last_replayed_at timestamptz,
    OUT replay_paused boolean,
    OUT last_reply_at timestamptz)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH here AS (
        SELECT pg_is_in_recovery() AS standby,
               CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                    ELSE pg_current_wal_lsn() END AS lsn
    )
    SELECT 'standby'::text, r.pid, r.application_name, host(r.client_addr), r.state, r.sync_state,
           (SELECT s.slot_name::text FROM pg_replication_slots s WHERE s.active_pid = r.pid LIMIT 1),
           r.sent_lsn::text, r.write_lsn::text, r.flush_lsn::text, NULL::text, r.replay_lsn::text,
           -- a standby that has replayed all it was sent has no lag (PostgreSQL shows NULL)
           coalesce(extract(epoch FROM r.write_lag)::float8,
                    CASE WHEN r.write_lsn >= r.sent_lsn THEN 0::float8 END),
           coalesce(extract(epoch FROM r.flush_lag)::float8,
                    CASE WHEN r.flush_lsn >= r.sent_lsn THEN 0::float8 END),
           coalesce(extract(epoch FROM r.replay_lag)::float8,
                    CASE WHEN r.replay_lsn >= r.sent_lsn THEN 0::float8 END),
           greatest(pg_wal_lsn_diff(h.lsn, r.replay_lsn), 0)::bigint,
           NULL::timestamptz, NULL::boolean, r.reply_time
    FROM pg_stat_replication r, here h
    UNION ALL
    SELECT 'local', w.pid, current_setting('cluster_name'), w.sender_host, coalesce(w.status, 'not streaming'),
           NULL, w.slot_name,
           NULL, NULL, w.flushed_lsn::text, pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,
           NULL, NULL,
           CASE WHEN pg_last_wal_receive_lsn() IS NOT NULL
                     AND pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0::float8
                ELSE greatest(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, 0) END,
           greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
           pg_last_xact_replay_timestamp(), pg_is_wal_replay_paused(), w.last_msg_receipt_time
    FROM here h LEFT JOIN pg_stat_wal_receiver w ON true
    WHERE h.standby
    ORDER BY 1 DESC, 15 DESC NULLS LAST
$$;

-- Replication slots: the WAL each keeps, its distance to
-- max_slot_wal_keep_size, and the xmin horizons it holds back.
CREATE FUNCTION pgmanage.pgm_replication_slots(
    OUT slot_name text,
    OUT slot_type text,
    OUT plugin text,
    OUT database_name text,
    OUT temporary boolean,
    OUT active boolean,
    OUT active_pid integer,
    OUT wal_status text,
    OUT wal_retained_bytes bigint,
    OUT wal_retained_pretty text,
    OUT safe_wal_bytes bigint,
    OUT max_slot_wal_keep_bytes bigint,
    OUT xmin_age bigint,
    OUT catalog_xmin_age bigint,
    OUT restart_lsn text,
    OUT confirmed_flush_lsn text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH here AS (
        SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                    ELSE pg_current_wal_lsn() END AS lsn,
               (SELECT nullif(setting::bigint, -1) * 1024 * 1024 FROM pg_settings
                WHERE name = 'max_slot_wal_keep_size') AS keep
    )
    SELECT s.slot_name::text, s.slot_type, s.plugin::text, s.database::text, s.temporary, s.active, s.active_pid,
           s.wal_status, r.bytes, pg_size_pretty(r.bytes), s.safe_wal_size, h.keep,
           age(s.xmin)::bigint, age(s.catalog_xmin)::bigint, s.restart_lsn::text, s.confirmed_flush_lsn::text
    FROM pg_replication_slots s CROSS JOIN here h
    CROSS JOIN LATERAL (SELECT greatest(pg_wal_lsn_diff(h.lsn, s.restart_lsn), 0)::bigint AS bytes) r
    ORDER BY r.bytes DESC NULLS LAST, 1
$$;

-- Wraparound, per database: the age of datfrozenxid and datminmxid against
-- autovacuum_freeze_max_age and autovacuum_multixact_freeze_max_age (at
-- 100 % autovacuum forces an anti-wraparound VACUUM), and how far the
-- older of the two is towards wraparound itself (2^31).
CREATE FUNCTION pgmanage.pgm_wraparound(
    OUT database_name text,
    OUT allow_connections boolean,
    OUT xid_age bigint,
    OUT xid_freeze_max_age bigint,
    OUT xid_pct numeric,
    OUT mxid_age bigint,
    OUT mxid_freeze_max_age bigint,
    OUT mxid_pct numeric,
    OUT wraparound_pct numeric)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH f AS (
        SELECT current_setting('autovacuum_freeze_max_age')::bigint AS xmax,
               current_setting('autovacuum_multixact_freeze_max_age')::bigint AS mmax
    ), d AS (
        SELECT d.datname::text AS datname, d.datallowconn, age(d.datfrozenxid)::bigint AS xage,
               mxid_age(d.datminmxid)::bigint AS mage
        FROM pg_database d
    )
    SELECT d.datname, d.datallowconn, d.xage, f.xmax, round(100.0 * d.xage / f.xmax, 2),
           d.mage, f.mmax, round(100.0 * d.mage / f.mmax, 2),
           round(100.0 * greatest(d.xage, d.mage) / 2147483648, 2)
    FROM d, f
    ORDER BY greatest(d.xage::numeric / f.xmax, d.mage::numeric / f.mmax) DESC, 1
$$;

-- What holds the xmin horizon back (VACUUM cannot remove rows deleted after
-- it): the oldest of each kind, oldest first; is_horizon marks the oldest
-- of all.
CREATE FUNCTION pgmanage.pgm_xmin_horizon(
    OUT kind text,
    OUT holder text,
    OUT pid integer,
    OUT database_name text,
    OUT role_name text,
    OUT application_name text,
    OUT state text,
    OUT xmin_age bigint,
    OUT since timestamptz,
    OUT duration_seconds double precision,
    OUT is_horizon boolean,
    OUT query text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH h AS (
        -- a backend's transaction or snapshot (not this one; walsenders are standby feedback)
        SELECT 'backend'::text AS kind, a.pid::text AS holder, a.pid, a.datname::text AS db,
               a.usename::text AS role, a.application_name AS app, a.state,
               greatest(age(a.backend_xid), age(a.backend_xmin))::bigint AS xage,
               coalesce(a.xact_start, a.query_start) AS since, a.query
        FROM pg_stat_activity a
        WHERE (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)
          AND a.pid <> pg_backend_pid() AND a.backend_type <> 'walsender'
        UNION ALL
        SELECT 'prepared_transaction', p.gid, NULL, p.database::text, p.owner::text, NULL, 'prepared',
               age(p.transaction)::bigint, p.prepared, NULL
        FROM pg_prepared_xacts p
        UNION ALL
        SELECT 'replication_slot', s.slot_name::text, s.active_pid, s.database::text, NULL, NULL,
               CASE WHEN s.active THEN 'active' ELSE 'inactive' END, age(s.xmin)::bigint, NULL, NULL
        FROM pg_replication_slots s WHERE s.xmin IS NOT NULL
        UNION ALL
        SELECT 'replication_slot_catalog', s.slot_name::text, s.active_pid, s.database::text, NULL, NULL,
               CASE WHEN s.active THEN 'active' ELSE 'inactive' END, age(s.catalog_xmin)::bigint, NULL, NULL
        FROM pg_replication_slots s WHERE s.catalog_xmin IS NOT NULL
        UNION ALL
        SELECT 'standby_feedback', coalesce(r.application_name, r.pid::text), r.pid, NULL, r.usename::text,
               r.application_name, r.state, age(r.backend_xmin)::bigint, NULL, NULL
        FROM pg_stat_replication r WHERE r.backend_xmin IS NOT NULL
    ), oldest AS (
        SELECT DISTINCT ON (h.kind) h.* FROM h ORDER BY h.kind, h.xage DESC, h.since
    )
    SELECT o.kind, o.holder, o.pid, o.db, o.role, o.app, o.state, o.xage, o.since,
           extract(epoch FROM now() - o.since)::float8,
           row_number() OVER (ORDER BY o.xage DESC, o.kind) = 1,
           o.query
    FROM oldest o
    ORDER BY o.xage DESC, o.kind
$$;

-- Each check's thresholds, from the pgmanage.health_<check>_warning and
-- _critical settings, in the unit of pgm_health()'s value.
CREATE FUNCTION pgmanage.pgm_health_thresholds(
    OUT "position" integer,
    OUT check_name text,
    OUT warning_at bigint,
    OUT critical_at bigint,
    OUT unit text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_health_thresholds'
LANGUAGE C STABLE;
COMMENT ON FUNCTION pgmanage.pgm_health_thresholds() IS 'pgmanage (internal): the thresholds of pgm_health(), from the pgmanage.health_* settings';

-- One row per check: its status ('ok', 'warning', 'critical'), the value
-- measured, the thresholds it was compared with, and what it saw.  A check
-- whose source the caller may not read (pg_hba_file_rules, the archive
-- status directory) says so in detail, with a NULL value.
CREATE FUNCTION pgmanage.pgm_health(
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

    -- invalid_indexes: in this database, not counting builds in progress
    SELECT count(*) AS val,
           CASE WHEN count(*) = 0 THEN format('no invalid index in database %s', current_database())
                ELSE format('%s invalid in database %s: %s', count(*), current_database(),
                            string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY n.nspname, c.relname)) END AS txt
      INTO r
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT i.indisvalid
       AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid);
    v := v || jsonb_build_object('invalid_indexes', jsonb_build_array(r.val, r.txt));

    -- sequences: the one nearest to its end, or to the end of the integer column it feeds
    SELECT q.pct AS val,
           format('sequence %I.%I: last value %s of %s (%s%%)%s in database %s', q.nspname, q.relname,
                  q.last_value, q.lim, q.pct,
                  CASE WHEN q.col IS NOT NULL THEN format(', feeds %s column %s', q.coltype, q.col) ELSE '' END,
                  current_database()) AS txt
      INTO r
      FROM (SELECT n.nspname, c.relname, t.last_value, t.lim, t.coltype, col.col,
                   round(100.0 * t.last_value / nullif(t.lim, 0), 2) AS pct
              FROM pg_sequence s
              JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL (
                  SELECT CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
                              THEN pg_sequence_last_value(c.oid) END AS last_value,
                         f.coltype, f.col
                    FROM (SELECT NULL) z LEFT JOIN LATERAL (
                          SELECT a.atttypid::regtype::text AS coltype,
                                 format('%s.%I', d.refobjid::regclass, a.attname) AS col
                            FROM pg_depend d
                            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                             AND d.deptype IN ('a', 'i') LIMIT 1) f ON true) col
              CROSS JOIN LATERAL (
                  SELECT col.last_value, col.coltype,
                         CASE WHEN s.seqincrement > 0
                              THEN least(s.seqmax, CASE col.coltype WHEN 'smallint' THEN 32767
                                                       WHEN 'integer' THEN 2147483647 ELSE s.seqmax END)
                              ELSE greatest(s.seqmin, CASE col.coltype WHEN 'smallint' THEN -32768
                                                       WHEN 'integer' THEN -2147483648 ELSE s.seqmin END)
                         END AS lim) t
             WHERE t.last_value IS NOT NULL
             ORDER BY round(100.0 * t.last_value / nullif(t.lim, 0), 2) DESC NULLS LAST LIMIT 1) q;
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

    -- pg_hba: high-risk lines of pg_hba.conf as it is on disk (superusers, or a role granted it)
    IF has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT')
       AND has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') THEN
        SELECT count(*) AS val,
               CASE WHEN count(*) = 0 THEN 'no high-risk line'
                    ELSE format('%s high-risk: %s', count(*), string_agg(format('line %s %s', h.line_number, h.why), '; ' ORDER BY h.line_number)) END AS txt
          INTO r
          FROM (SELECT f.line_number,
                       CASE WHEN f.error IS NOT NULL THEN format('has an error (%s)', f.error)
                            WHEN f.auth_method = 'trust' THEN format('trusts %s connections from %s', f.type, coalesce(f.address, 'any address'))
                            ELSE format('accepts clear-text passwords over %s from %s', f.type, coalesce(f.address, 'any address')) END AS why
                  FROM pg_hba_file_rules f
                 WHERE f.error IS NOT NULL
                    OR (f.type <> 'local' AND f.auth_method = 'trust')
                    OR (f.type IN ('host', 'hostnossl') AND f.auth_method = 'password')) h;
        v := v || jsonb_build_object('pg_hba', jsonb_build_array(r.val, r.txt));
    ELSE
        v := v || jsonb_build_object('pg_hba', jsonb_build_array(NULL, 'pg_hba_file_rules is not readable by ' || current_user));
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

-- Privileges: pg_monitor sees what these read (pg_stat_replication,
-- pg_stat_activity's other sessions, pg_ls_archive_statusdir); pgm_health()
-- also reads pgm_disk_usage() (pg_read_all_stats, which pg_monitor has).
-- Nothing for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_replication() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_replication_slots() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_wraparound() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_xmin_horizon() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_health_thresholds() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_replication() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_replication_slots() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_wraparound() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_xmin_horizon() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_health_thresholds() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_health() TO pg_monitor;
