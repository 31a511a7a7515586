/* index_report: pgm_index_report() (2.1; 2.2 made it fast at 10,000 tables),
 * a health report of its own file, written as CREATE OR REPLACE so that an
 * update re-runs this file whole (Makefile WHOLE_IN_2_2) instead of
 * repeating the function's text. */

-- Indexes that are invalid, duplicate, redundant (a prefix of another) or
-- unused since the statistics were reset, each with the statement that
-- fixes it.  Sizes from pgm_size_report: no lock on any table or index.
CREATE OR REPLACE FUNCTION pgmanage.pgm_index_report(
    schema_pattern text DEFAULT NULL,
    include_system boolean DEFAULT false,
    OUT schema_name text,
    OUT table_name text,
    OUT index_name text,
    OUT problem text,
    OUT index_bytes bigint,
    OUT index_pretty text,
    OUT detail text,
    OUT stats_reset timestamptz,
    OUT fix text,
    OUT index_scans bigint,
    OUT indexrelid oid)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
-- a catalog query the planner overestimates: JIT compiled it for 4 s at
-- 10,000 tables, for a query of 1 s
SET jit = off
AS $$
    WITH
    ix AS MATERIALIZED (
        SELECT i.indexrelid, i.indrelid, i.indisunique, i.indisprimary, i.indisvalid, i.indisready,
               i.indnkeyatts, i.indnatts,
               -- the vectors as arrays from 1 (array equality compares the bounds)
               (i.indkey::int2[])[0:] AS cols,
               (i.indkey::int2[])[0:i.indnkeyatts - 1] AS keys,
               (i.indclass::oid[])[0:] AS opclasses,
               (i.indcollation::oid[])[0:] AS collations,
               (i.indoption::int2[])[0:] AS options,
               pg_catalog.pg_get_expr(i.indexprs, i.indrelid) AS exprs,
               pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred,
               ci.relam, ci.relkind, ci.relname AS iname, ct.relname AS tname, n.nspname,
               EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                       WHERE co.conindid = i.indexrelid AND co.contype IN ('p', 'u', 'x')) AS backs_constraint,
               (SELECT co.conname FROM pg_catalog.pg_constraint co
                WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')
                LIMIT 1) AS constraint_name,
               EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid) AS is_partition
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid
        JOIN pg_catalog.pg_class ct ON ct.oid = i.indrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = ct.relnamespace
        WHERE (schema_pattern IS NULL OR n.nspname::text LIKE schema_pattern COLLATE "C")
          AND (coalesce(include_system, false) OR (n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                                  AND n.nspname !~ '^pg_toast_temp_'
                                  -- an extension's own tables are the extension's business
                                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                                  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                                    AND d.objid = i.indrelid AND d.deptype = 'e')))
          AND NOT pg_catalog.pg_is_other_temp_schema(n.oid)
    ),
    -- an index being built now (CREATE INDEX CONCURRENTLY, REINDEX) is not
    -- valid yet either: leave those alone
    building AS (
        SELECT p.index_relid FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid <> 0
    ),
    invalid AS (
        SELECT x.indexrelid, 'invalid'::text AS problem,
               CASE WHEN x.relkind = 'I'
                    THEN 'a partitioned index is not valid until every partition has an index attached '
                         '(ALTER INDEX ... ATTACH PARTITION), or drop it: ' || pg_catalog.pg_get_indexdef(x.indexrelid)
                    ELSE pg_catalog.format('not valid (a failed CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY): '
                                           'queries do not use it%s; to build it again after the drop: %s',
                                           CASE WHEN x.indisready THEN ', writes still maintain it' ELSE '' END,
                                           pg_catalog.pg_get_indexdef(x.indexrelid))
               END AS detail,
               1 AS prio
        FROM ix x
        WHERE NOT x.indisvalid AND x.indexrelid NOT IN (SELECT index_relid FROM building)
          AND NOT x.is_partition
    ),
    valid AS (SELECT * FROM ix x WHERE x.indisvalid AND NOT x.is_partition),
    -- the same definition: the same table, access method, columns (keys and
    -- INCLUDE), expressions, predicate, operator classes, collations and
    -- options; the one kept is the primary key, else one backing a
    -- constraint, else a unique one, else the oldest
    dup_groups AS (
        SELECT v.*,
               first_value(v.indexrelid) OVER g AS keeper,
               first_value(v.iname) OVER g AS keeper_name,
               row_number() OVER g AS rn
        FROM valid v
        WINDOW g AS (PARTITION BY v.indrelid, v.relam, v.cols, v.indnkeyatts, v.exprs, v.pred,
                                  v.opclasses, v.collations, v.options
                     ORDER BY v.indisprimary DESC, v.backs_constraint DESC, v.indisunique DESC, v.indexrelid)
    ),
    duplicate AS (
        SELECT d.indexrelid, 'duplicate'::text AS problem,
               pg_catalog.format('same definition as index %I%s', d.keeper_name,
                                 CASE WHEN d.backs_constraint
                                      THEN pg_catalog.format(', but backs constraint %I (a foreign key may depend on it)',
                                                             d.constraint_name)
                                      WHEN d.indisunique THEN ' (both unique)' ELSE '' END) AS detail,
               2 AS prio
        FROM dup_groups d WHERE d.rn > 1
    ),
    -- a B-tree whose key columns are the first key columns of another valid
    -- B-tree of the same table (same operator classes, collations, options
    -- and predicate); not unique, backing no constraint, no expressions,
    -- and its INCLUDE columns are columns of the other
    redundant AS (
        SELECT DISTINCT ON (a.indexrelid) a.indexrelid, 'redundant'::text AS problem,
               pg_catalog.format('its keys are a prefix of index %I: %s', b.iname,
                                 pg_catalog.pg_get_indexdef(b.indexrelid)) AS detail,
               3 AS prio
        FROM valid a
        JOIN pg_catalog.pg_am am ON am.oid = a.relam AND am.amname = 'btree'
        -- the other indexes of the same table, from the catalog by its index
        -- on indrelid (a join of the CTE with itself was a nested loop over
        -- every pair of indexes: 72 s at 10,000 tables)
        CROSS JOIN LATERAL (
            SELECT bi.indexrelid, bc.relname AS iname, bi.indnkeyatts,
                   (bi.indkey::int2[])[0:] AS cols,
                   (bi.indkey::int2[])[0:bi.indnkeyatts - 1] AS keys,
                   (bi.indclass::oid[])[0:] AS opclasses,
                   (bi.indcollation::oid[])[0:] AS collations,
                   (bi.indoption::int2[])[0:] AS options,
                   pg_catalog.pg_get_expr(bi.indpred, bi.indrelid) AS pred
            FROM pg_catalog.pg_index bi
            JOIN pg_catalog.pg_class bc ON bc.oid = bi.indexrelid
            WHERE bi.indrelid = a.indrelid AND bi.indexrelid <> a.indexrelid
              AND bi.indisvalid AND bc.relam = a.relam AND bi.indnkeyatts > a.indnkeyatts
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = bi.indexrelid)
        ) b
        WHERE NOT a.indisunique AND NOT a.backs_constraint AND a.exprs IS NULL
          AND a.keys = b.keys[1:a.indnkeyatts]
          AND a.opclasses[1:a.indnkeyatts] = b.opclasses[1:a.indnkeyatts]
          AND a.collations[1:a.indnkeyatts] = b.collations[1:a.indnkeyatts]
          AND a.options[1:a.indnkeyatts] = b.options[1:a.indnkeyatts]
          AND a.pred IS NOT DISTINCT FROM b.pred
          AND coalesce(a.cols[a.indnkeyatts + 1:], '{}') <@ b.cols
          AND 0 <> ALL (a.keys)
        ORDER BY a.indexrelid, b.indnkeyatts DESC, b.indexrelid
    ),
    unused AS (
        SELECT v.indexrelid, 'unused'::text AS problem,
               CASE WHEN r.stats_reset IS NULL
                    THEN 'no scan since the statistics began (never reset)'
                    ELSE pg_catalog.format('no scan since the statistics were reset at %s', r.stats_reset)
               END AS detail,
               4 AS prio
        FROM valid v
        JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = v.indexrelid
        LEFT JOIN pg_catalog.pg_stat_database r ON r.datname = pg_catalog.current_database()
        WHERE s.idx_scan = 0 AND NOT v.indisunique AND NOT v.backs_constraint
          AND v.relkind = 'i'
    ),
    found AS (
        SELECT DISTINCT ON (f.indexrelid) f.*
        FROM (SELECT * FROM invalid UNION ALL SELECT * FROM duplicate
              UNION ALL SELECT * FROM redundant UNION ALL SELECT * FROM unused) f
        ORDER BY f.indexrelid, f.prio
    ),
    sizes AS (
        SELECT s.relid, s.total_bytes
        FROM pgmanage.pgm_size_report(schema_pattern, 0, true, include_system) s
        WHERE s.kind = 'index' AND EXISTS (SELECT 1 FROM found)
    )
    SELECT x.nspname::text, x.tname::text, x.iname::text, f.problem,
           coalesce(sz.total_bytes, 0),
           pg_catalog.pg_size_pretty(coalesce(sz.total_bytes, 0)),
           f.detail,
           (SELECT r.stats_reset FROM pg_catalog.pg_stat_database r WHERE r.datname = pg_catalog.current_database()),
           CASE WHEN f.problem = 'duplicate' AND x.backs_constraint
                THEN pg_catalog.format('ALTER TABLE %I.%I DROP CONSTRAINT %I', x.nspname, x.tname, x.constraint_name)
                WHEN x.relkind = 'I'   -- a partitioned index: no CONCURRENTLY
                THEN pg_catalog.format('DROP INDEX %I.%I', x.nspname, x.iname)
                ELSE pg_catalog.format('DROP INDEX CONCURRENTLY %I.%I', x.nspname, x.iname)
           END,
           s.idx_scan,
           x.indexrelid
    FROM found f
    JOIN ix x ON x.indexrelid = f.indexrelid
    LEFT JOIN sizes sz ON sz.relid = f.indexrelid
    LEFT JOIN pg_catalog.pg_stat_all_indexes s ON s.indexrelid = f.indexrelid
    ORDER BY f.prio, coalesce(sz.total_bytes, 0) DESC, x.nspname, x.tname, x.iname
$$;
COMMENT ON FUNCTION pgmanage.pgm_index_report(text, boolean) IS 'pgmanage: invalid, duplicate, redundant and unused indexes, each with the statement that fixes it';
-- pg_read_all_stats (and so pg_monitor), as the other reports; not PUBLIC
REVOKE ALL ON FUNCTION pgmanage.pgm_index_report(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_index_report(text, boolean) TO pg_read_all_stats;
