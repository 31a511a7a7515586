/* reports: sizes, databases, disk, bloat (1.0) */

-- Sizes of tables, materialized views and (optionally) indexes, from the
-- files: never waits on a relation lock.
CREATE FUNCTION pgmanage.pgm_size_report(
    schema_pattern text DEFAULT NULL,
    min_bytes bigint DEFAULT 0,
    include_indexes boolean DEFAULT false,
    include_system boolean DEFAULT false,
    OUT schema_name text,
    OUT relation_name text,
    OUT kind text,
    OUT table_bytes bigint,
    OUT index_bytes bigint,
    OUT toast_bytes bigint,
    OUT total_bytes bigint,
    OUT total_pretty text,
    OUT estimated_rows bigint,
    OUT share_of_database numeric,
    OUT relid oid,
    OUT note text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_size_report'
LANGUAGE C VOLATILE;

-- Every database: size and the counters of pg_stat_database; connections
-- counts the processes connected to it but pgmanage's own (worker, sender,
-- VACUUM runs).
CREATE FUNCTION pgmanage.pgm_database_sizes(
    OUT database_name text,
    OUT size_bytes bigint,
    OUT size_pretty text,
    OUT share_of_cluster numeric,
    OUT connections integer,
    OUT xact_commit bigint,
    OUT xact_rollback bigint,
    OUT blks_read bigint,
    OUT blks_hit bigint,
    OUT cache_hit_ratio numeric,
    OUT temp_files bigint,
    OUT temp_bytes bigint,
    OUT deadlocks bigint,
    OUT stats_reset timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (
        SELECT db.oid, db.datname, pg_catalog.pg_database_size(db.oid) AS bytes
        FROM pg_catalog.pg_database db
        WHERE db.datallowconn AND db.datconnlimit <> -2
    )
    SELECT d.datname::text,
           d.bytes,
           pg_catalog.pg_size_pretty(d.bytes),
           round(100.0 * d.bytes / nullif(sum(d.bytes) OVER (), 0), 2),
           (SELECT count(*)::integer FROM pg_catalog.pg_stat_activity a
            WHERE a.datid OPERATOR(pg_catalog.=) d.oid
              AND a.backend_type NOT LIKE 'pgmanage %'),
           s.xact_commit,
           s.xact_rollback,
           s.blks_read,
           s.blks_hit,
           round(100.0 * s.blks_hit / nullif(s.blks_hit + s.blks_read, 0), 2),
           s.temp_files,
           s.temp_bytes,
           s.deadlocks,
           s.stats_reset
    FROM d LEFT JOIN pg_catalog.pg_stat_database s ON s.datid = d.oid
    ORDER BY d.bytes DESC
$$;

-- The filesystems of the data directory, pg_wal and tablespaces, with the
-- bytes WAL and temporary files take.
CREATE FUNCTION pgmanage.pgm_disk_usage(
    OUT area text,
    OUT path text,
    OUT fs_total_bytes bigint,
    OUT fs_available_bytes bigint,
    OUT fs_used_bytes bigint,
    OUT fs_used_pct numeric,
    OUT area_bytes bigint,
    OUT area_pretty text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_disk_usage'
LANGUAGE C VOLATILE;

-- Estimated bloat of tables, materialized views and B-tree indexes from
-- the catalogs and the cumulative statistics; exact => true reads the pages.
CREATE FUNCTION pgmanage.pgm_bloat(
    schema_pattern text DEFAULT NULL,
    min_bytes bigint DEFAULT 0,
    exact boolean DEFAULT false,
    relations regclass[] DEFAULT NULL,
    OUT schema_name text,
    OUT relation_name text,
    OUT kind text,
    OUT table_name text,
    OUT actual_bytes bigint,
    OUT expected_bytes bigint,
    OUT bloat_bytes bigint,
    OUT bloat_pct numeric,
    OUT live_tuples bigint,
    OUT dead_tuples bigint,
    OUT dead_tuple_bytes bigint,
    OUT free_bytes bigint,
    OUT last_vacuum timestamptz,
    OUT last_autovacuum timestamptz,
    OUT last_analyze timestamptz,
    OUT last_autoanalyze timestamptz,
    OUT advice text,
    OUT method text,
    OUT relid oid)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_bloat'
LANGUAGE C VOLATILE;

-- Privileges: reports for pg_read_all_stats (and so pg_monitor); nothing
-- for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_size_report(text, bigint, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_database_sizes() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_disk_usage() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_bloat(text, bigint, boolean, regclass[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_size_report(text, bigint, boolean, boolean) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_database_sizes() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_disk_usage() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_bloat(text, bigint, boolean, regclass[]) TO pg_read_all_stats;
