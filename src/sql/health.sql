/* health: replication, slots, wraparound, the xmin horizon, the thresholds of pgm_health() (2.1) */

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

-- Privileges: pg_monitor sees what these read (pg_stat_replication,
-- pg_stat_activity's other sessions); pgm_health() (health_summary.sql)
-- calls them.
-- Nothing for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_replication() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_replication_slots() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_wraparound() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_xmin_horizon() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_health_thresholds() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_replication() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_replication_slots() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_wraparound() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_xmin_horizon() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_health_thresholds() TO pg_monitor;
