-- The baseline for test/bench: our own rendition of the method of the widely
-- used statistics-based bloat queries (published as "pgsql-bloat-estimation").
-- Method, as we understand it: a tuple is a header (23 bytes, plus a null
-- bitmap when any column has nulls) and the sum of (1 - null_frac) *
-- avg_width from pg_stats, each part rounded up to MAXALIGN; rows come from
-- pg_class.reltuples, the current size from pg_class.relpages; index
-- tuples are 8 bytes of header plus the key widths (expression columns
-- take the index's own pg_stats rows), packed into pages less the page
-- header and B-tree special space at the index fillfactor.  No padding
-- between columns, no deduplication, no upper pages.  TOAST is left out on
-- both sides of our comparison (the published query adds it to the table).
CREATE OR REPLACE VIEW bench_baseline AS
WITH tbl AS (
    SELECT c.oid, n.nspname, c.relname, c.reltuples, c.relpages,
           coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) o
                     WHERE o LIKE 'fillfactor=%'), 100) AS ff,
           23 + CASE WHEN bool_or(s.null_frac > 0) THEN (count(*) + 7) / 8 ELSE 0 END AS hdr,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS width
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                        AND s.attname = a.attname AND NOT s.inherited
    WHERE c.relkind IN ('r', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY c.oid, n.nspname, c.relname, c.reltuples, c.relpages, c.reloptions
), idx AS (
    SELECT c.oid, n.nspname, c.relname, c.reltuples, c.relpages, t.relname AS tblname,
           coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) o
                     WHERE o LIKE 'fillfactor=%'), 90) AS ff,
           8 + CASE WHEN bool_or(s.null_frac > 0) THEN 4 ELSE 0 END AS hdr,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS width
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid AND c.relam = 403
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND NOT s.inherited AND
         ((s.tablename = t.relname AND s.attname = pg_get_indexdef(c.oid, a.attnum, true))
          OR (s.tablename = c.relname AND s.attname = a.attname))
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    GROUP BY c.oid, n.nspname, c.relname, c.reltuples, c.relpages, t.relname, c.reloptions
)
SELECT oid AS relid, nspname, relname, 'table' AS kind,
       relpages::bigint * 8192 AS real_bytes,
       (ceil(greatest(reltuples, 0) / ((8192 - 24) * ff / 100.0 /
             (4 + ceil(hdr / 8.0) * 8 + ceil(width / 8.0) * 8))))::bigint * 8192 AS expected_bytes
FROM tbl
UNION ALL
SELECT oid, nspname, relname, 'index',
       relpages::bigint * 8192,
       (1 + ceil(greatest(reltuples, 0) / floor((8192 - 24 - 16) * ff / 100.0 /
             (4 + ceil(hdr / 8.0) * 8 + ceil(width / 8.0) * 8))))::bigint * 8192
FROM idx;
