-- pgm_bloat(): estimate and exact mode, before and after deletes and
-- VACUUM, compared with sizes rather than printed; every bad input.
CREATE SCHEMA bl;
CREATE TABLE bl.t (id int PRIMARY KEY, v bigint, s text);
INSERT INTO bl.t SELECT g, g * 7, md5(g::text) FROM generate_series(1, 30000) g;
CREATE INDEX t_s ON bl.t (s);
CREATE INDEX t_hash ON bl.t USING hash (id);
CREATE TABLE bl.never (id int, s text);
INSERT INTO bl.never SELECT g, 'x' FROM generate_series(1, 100) g;
CREATE VIEW bl.v AS SELECT 1 AS one;
-- (flush the INSERT's counts first: flushed after the ANALYZE, they would
-- be counted twice in n_live_tup)
SELECT pg_stat_force_next_flush();
ANALYZE bl.t;
SELECT pg_stat_force_next_flush();

-- columns and types
SELECT * FROM pgm_bloat() LIMIT 0;

-- freshly loaded: the estimate is the size, within 5 %; hash indexes and
-- views are not reported; a table never analyzed gets no number
SELECT relation_name, kind, table_name, method,
       abs(actual_bytes - expected_bytes) <= actual_bytes * 0.05 AS close,
       actual_bytes = pg_relation_size(relid) AS actual_ok,
       bloat_bytes = greatest(actual_bytes - expected_bytes, 0) AS bloat_ok,
       bloat_pct < 5 AS low, advice, live_tuples, dead_tuple_bytes, free_bytes
FROM pgm_bloat('bl') ORDER BY relation_name;

-- after deleting 80 %: bloat follows the live tuples without an ANALYZE
DELETE FROM bl.t WHERE id % 5 <> 0;
SELECT pg_stat_force_next_flush();
SELECT relation_name, bloat_pct BETWEEN 70 AND 90 AS bloated,
       live_tuples, dead_tuples, advice
FROM pgm_bloat(relations => '{bl.t}') ORDER BY relation_name;

-- after VACUUM: the space is reusable, the file is as large as before
VACUUM bl.t;
SELECT pg_stat_force_next_flush();
SELECT relation_name, bloat_pct BETWEEN 70 AND 90 AS bloated, dead_tuples,
       last_vacuum IS NOT NULL AS vacuumed, advice
FROM pgm_bloat(relations => '{bl.t}') ORDER BY relation_name;

-- exact mode: reads the pages; dead and free bytes measured
SELECT relation_name, method, bloat_pct BETWEEN 70 AND 90 AS bloated,
       live_tuples, dead_tuples, dead_tuple_bytes >= 0 AS has_dead_bytes,
       free_bytes > actual_bytes / 2 AS mostly_free
FROM pgm_bloat(exact => true, relations => '{bl.t}') ORDER BY relation_name;

-- after VACUUM FULL: both modes find the relations packed
VACUUM FULL bl.t;
ANALYZE bl.t;
SELECT pg_stat_force_next_flush();
SELECT relation_name, method,
       abs(actual_bytes - expected_bytes) <= actual_bytes * 0.05 AS close, advice
FROM pgm_bloat(relations => '{bl.t}') ORDER BY relation_name;
SELECT relation_name, method, expected_bytes = actual_bytes AS packed, advice
FROM pgm_bloat(exact => true, relations => '{bl.t}') ORDER BY relation_name;

-- filters: a named index alone, schema pattern, minimum size
SELECT relation_name FROM pgm_bloat(relations => '{bl.t_s}');
SELECT count(*) FROM pgm_bloat('nosuchschema');
SELECT relation_name FROM pgm_bloat('b_', min_bytes => pg_relation_size('bl.t'));

-- pgmanage's own tables are left out like the catalogs, unless named (a
-- schema pattern or relations)
SELECT count(*) AS pgmanage_hidden FROM pgm_bloat() WHERE schema_name = 'pgmanage';
SELECT count(*) > 0 AS pgmanage_shown FROM pgm_bloat('pgmanage');
SELECT relation_name FROM pgm_bloat(relations => '{pgmanage.pgm_job}');

-- an empty table that ANALYZE has seen (reltuples 0) and its indexes: a
-- number (an empty heap, a metapage), not "ANALYZE first"; one never
-- analyzed (reltuples -1) has none
CREATE TABLE bl.empty (id int PRIMARY KEY, s text);
CREATE INDEX empty_s ON bl.empty (s);
SELECT relation_name, expected_bytes, advice FROM pgm_bloat(relations => '{bl.empty}') ORDER BY 1;
ANALYZE bl.empty;
SELECT relation_name, expected_bytes, advice, c.reltuples
FROM pgm_bloat(relations => '{bl.empty}') b JOIN pg_class c ON c.oid = b.relid ORDER BY 1;
DROP TABLE bl.empty;

-- bad input
SELECT * FROM pgm_bloat(min_bytes => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_bloat(exact => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_bloat(relations => '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_bloat(relations => ARRAY[NULL]::regclass[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_bloat(relations => '{bl.v}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_bloat(relations => '{bl.t_hash}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_bloat(relations => '{bl.nosuch}');
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE tmp_t (id int);
SELECT * FROM pgm_bloat(relations => '{tmp_t}');
\echo :LAST_ERROR_SQLSTATE

-- exact mode needs SELECT on the table or pg_stat_scan_tables
CREATE ROLE bl_reader IN ROLE pg_read_all_stats;
GRANT USAGE ON SCHEMA bl TO bl_reader;
SET ROLE bl_reader;
SELECT count(*) > 0 AS sees_estimate FROM pgm_bloat(relations => '{bl.t}');
SELECT * FROM pgm_bloat(exact => true, relations => '{bl.t}');
\echo :LAST_ERROR_SQLSTATE
SELECT DISTINCT method FROM pgm_bloat('bl', exact => true);
RESET ROLE;
GRANT pg_stat_scan_tables TO bl_reader;
SET ROLE bl_reader;
SELECT DISTINCT method FROM pgm_bloat(exact => true, relations => '{bl.t}');
RESET ROLE;
DROP SCHEMA bl CASCADE;
DROP ROLE bl_reader;
