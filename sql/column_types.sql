-- The result columns of every function and view of pgmanage, read from the
-- catalogs (pg_proc.proallargtypes/proargmodes, pg_attribute of the views),
-- checked against the conventions GUI grids and drivers rely on (README,
-- "Result column types"): a new object that breaks one fails here.
-- Every row below is a column that breaks a rule; the empty result is the
-- goal.  Known today: three interval columns without a *_seconds twin
-- (pgm_endpoint_status.timeout and .oldest_pending_age, webhooks;
-- pgm_kill_long.duration, timeouts: a C change).  Fixing one removes its row.
CREATE TEMP VIEW pgm_result_columns AS
WITH members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
), cols AS (
    -- functions with OUT, INOUT or TABLE arguments: those are the columns
    SELECT p.proname::text AS object, a.name AS column_name, a.typ, a.ord
    FROM pg_proc p
    JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    CROSS JOIN LATERAL unnest(p.proallargtypes, p.proargmodes::text[], p.proargnames)
        WITH ORDINALITY AS a(typ, mode, name, ord)
    WHERE a.mode IN ('o', 'b', 't')
    UNION ALL
    -- functions returning one value (or a set of one column); triggers and
    -- void return nothing a client reads
    SELECT p.proname::text, p.proname::text, p.prorettype, 1
    FROM pg_proc p
    JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    WHERE NOT coalesce(p.proargmodes::text[] && ARRAY['o', 'b', 't'], false)
      AND p.prorettype NOT IN ('trigger'::regtype, 'void'::regtype)
    UNION ALL
    SELECT c.relname::text, a.attname::text, a.atttypid, a.attnum
    FROM pg_class c
    JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('v', 'm')
)
SELECT c.object, c.column_name, c.typ::regtype::text AS type,
       lag(c.column_name) OVER (PARTITION BY c.object ORDER BY c.ord) AS previous_column,
       array_agg(c.column_name) OVER (PARTITION BY c.object) AS all_columns
FROM cols c;

-- something is checked (the catalogs were read)
SELECT count(DISTINCT object) > 30 AS objects_seen, count(*) > 200 AS columns_seen
FROM pgm_result_columns;

SELECT object, column_name, type, rule
FROM (
    SELECT object, column_name, type,
           CASE
           WHEN type NOT IN ('text', 'boolean', 'smallint', 'integer', 'bigint', 'double precision',
                             'numeric', 'timestamp with time zone', 'jsonb', 'inet', 'cidr', 'oid',
                             'interval', 'text[]', 'integer[]', 'bigint[]')
               THEN 'type not allowed (identifiers are text; no name, composite, domain or enum)'
           WHEN column_name ~ '_bytes$' AND type <> 'bigint'
               THEN '*_bytes is bigint'
           WHEN column_name ~ '_pretty$'
                AND (type <> 'text' OR previous_column IS DISTINCT FROM regexp_replace(column_name, '_pretty$', '_bytes'))
               THEN '*_pretty is text, right after its *_bytes column (sort by that one)'
           WHEN column_name ~ '(_seconds|_ms|_time)$' AND column_name !~ '^share_of_' AND type <> 'double precision'
               THEN 'a duration is double precision, its unit in the name'
           WHEN type = 'interval'
                AND NOT (regexp_replace(column_name, '_age$', '') || '_seconds' = ANY (all_columns))
               THEN 'an interval column has a *_seconds (double precision) twin'
           WHEN column_name ~ '_pct$' AND type <> 'numeric'
               THEN '*_pct is numeric'
           WHEN column_name = 'pid' AND type <> 'integer'
               THEN 'a pid is integer'
           END AS rule
    FROM pgm_result_columns
) v
WHERE rule IS NOT NULL
ORDER BY object, column_name;
