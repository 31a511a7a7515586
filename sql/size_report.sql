-- pgm_size_report(), pgm_database_sizes(), pgm_disk_usage()
CREATE SCHEMA sr;
CREATE TABLE sr.known (id int PRIMARY KEY, payload text);
INSERT INTO sr.known SELECT g, repeat('x', 100) FROM generate_series(1, 10000) g;
CREATE INDEX known_payload ON sr.known (payload);
CREATE TABLE sr.toasty (id int, doc text);
ALTER TABLE sr.toasty ALTER COLUMN doc SET STORAGE EXTERNAL;
INSERT INTO sr.toasty SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 50) g;
CREATE TABLE sr.empty (id int);
CREATE MATERIALIZED VIEW sr.mv AS SELECT id FROM sr.known;
VACUUM ANALYZE sr.known, sr.toasty, sr.mv;

-- columns and types
SELECT * FROM pgm_size_report() LIMIT 0;

-- sizes agree with PostgreSQL's own functions
SELECT relation_name, kind,
       table_bytes + toast_bytes = pg_table_size(relid) AS table_ok,
       index_bytes = pg_indexes_size(relid) AS index_ok,
       total_bytes = pg_total_relation_size(relid) AS total_ok,
       total_pretty = pg_size_pretty(total_bytes) AS pretty_ok,
       toast_bytes > 0 AS has_toast,
       estimated_rows, note
FROM pgm_size_report('sr')
ORDER BY relation_name;

-- largest first
SELECT bool_and(total_bytes <= prev) AS ordered
FROM (SELECT total_bytes, lag(total_bytes, 1, total_bytes) OVER () AS prev
      FROM pgm_size_report()) s;

-- share of the database: sums to at most 100 %
SELECT sum(share_of_database) BETWEEN 0 AND 100 AS share_ok,
       bool_and(share_of_database BETWEEN 0 AND 100) AS each_ok
FROM pgm_size_report(include_system => true);

-- filters: schema pattern, minimum size, indexes, system catalogs
SELECT count(*) FROM pgm_size_report('s_');
SELECT count(*) FROM pgm_size_report('nosuchschema');
SELECT relation_name FROM pgm_size_report('sr', min_bytes => pg_total_relation_size('sr.known'));
SELECT relation_name, kind, total_bytes = pg_relation_size(relid) AS own_size_ok
FROM pgm_size_report('sr', include_indexes => true)
WHERE kind = 'index' ORDER BY 1;
SELECT count(*) > 0 AS has_catalogs FROM pgm_size_report('pg_catalog', include_system => true);
SELECT count(*) AS catalogs_hidden FROM pgm_size_report('pg_catalog');
-- pgmanage's own tables are left out like the catalogs, with the same opt-in
SELECT count(*) AS pgmanage_hidden FROM pgm_size_report() WHERE schema_name = 'pgmanage';
SELECT count(*) AS pgmanage_hidden FROM pgm_size_report('pgmanage');
SELECT count(*) > 0 AS pgmanage_shown
FROM pgm_size_report(include_system => true) WHERE schema_name = 'pgmanage';

-- bad input
SELECT * FROM pgm_size_report(min_bytes => -1);
\echo :LAST_ERROR_SQLSTATE

-- databases: the current one, measured as pg_database_size does
SELECT size_bytes = pg_database_size(current_database()) AS size_ok,
       connections >= 1 AS connected, size_pretty IS NOT NULL AS pretty
FROM pgm_database_sizes() WHERE database_name = current_database();
-- connections leaves out pgmanage's own processes (worker and sender run in
-- this database, pgmanage.database): this session alone
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT count(*) FROM pg_stat_activity
               WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND backend_type IN ('pgmanage worker', 'pgmanage sender')) = 2;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT connections AS only_this_session,
       (SELECT count(*) FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.backend_type LIKE 'pgmanage %') AS pgmanage_here
FROM pgm_database_sizes() WHERE database_name = current_database();

-- disk: the data directory and pg_wal filesystems, WAL and temp bytes
SELECT area, fs_total_bytes > 0 AS has_total,
       fs_used_pct BETWEEN 0 AND 100 AS pct_ok,
       fs_used_bytes + fs_available_bytes <= fs_total_bytes AS adds_up,
       area_bytes IS NOT NULL AS has_bytes
FROM pgm_disk_usage() ORDER BY area;
SELECT area_bytes >= pg_size_bytes(current_setting('wal_segment_size')) AS wal_ok
FROM pgm_disk_usage() WHERE area = 'pg_wal';
