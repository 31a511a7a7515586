-- The privilege table, asserted as a whole (issue 10).
--
-- 1. Generated from the catalogs: every member of extension pgmanage (and
--    its schema), every column of its tables and views, and what PUBLIC,
--    pg_monitor, pg_read_all_stats and pg_signal_backend may do with each
--    (the effective privileges, memberships included).  Any change to a
--    grant, or a new object, changes this output.
-- 2. The same, object by object, against the table in docs/security.md
--    ("## Privilege table"): an object missing from the page, a row of the
--    page naming no object, or a cell that differs is listed with the line
--    to paste into the page.
-- 3. An unprivileged role may do exactly what PUBLIC may; nothing is
--    granted to any role but these four and the owner; every member is
--    owned by the extension's owner.
-- A new object: paste the doc_line that 2. prints into the table of
-- docs/security.md, and add its lines (1., unaligned: one line per object
-- or column, nothing else moves) to expected/privilege_table.out.
CREATE ROLE pgm_priv_nobody;

-- what role r may do with one object (kind, oid, column number): the
-- privileges in a fixed order, or '-'
CREATE FUNCTION pg_temp.privs(kind text, obj oid, att int2, r text) RETURNS text
LANGUAGE sql STABLE AS $$
SELECT coalesce(string_agg(p, ', ' ORDER BY o), '-')
FROM unnest(CASE kind
        WHEN 'schema' THEN ARRAY['USAGE', 'CREATE']
        WHEN 'function' THEN ARRAY['EXECUTE']
        WHEN 'sequence' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']
        WHEN 'column' THEN ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']
        ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']
     END) WITH ORDINALITY AS u(p, o)
WHERE CASE kind
        WHEN 'schema' THEN has_schema_privilege(r, obj, p)
        WHEN 'function' THEN has_function_privilege(r, obj, p)
        WHEN 'sequence' THEN has_sequence_privilege(r, obj, p)
        WHEN 'column' THEN has_column_privilege(r, obj, att, p)
        ELSE has_table_privilege(r, obj, p)
      END
$$;

-- every object: the schema, the members (but the row and array types of
-- tables, which 17+ records as members), and the columns of tables and views
CREATE TEMP VIEW pgm_objects AS
WITH ext AS (SELECT oid, extnamespace, extowner FROM pg_extension WHERE extname = 'pgmanage'),
members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND d.refobjid = ext.oid
      AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (
          SELECT 1 FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
          JOIN pg_class r ON r.oid = coalesce(nullif(t.typrelid, 0), e.typrelid)
          WHERE t.oid = d.objid AND r.relkind <> 'c'))
)
SELECT 'schema' AS kind, n.nspname::text AS name, n.nspname::text AS object, n.oid AS obj,
       0::int2 AS att, n.nspowner AS owner, 0 AS sort, n.nspname::text AS sortname
FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace
UNION ALL
SELECT 'function', p.proname::text, p.oid::regprocedure::text, p.oid, 0::int2, p.proowner, 1, p.proname::text
FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
           ELSE 'relation' END,
       c.relname::text, c.relname::text, c.oid, 0::int2, c.relowner, 2, c.relname::text
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'column', c.relname || '.' || a.attname, c.relname || '.' || a.attname, c.oid, a.attnum,
       c.relowner, 3, c.relname::text
FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
-- any other kind of member (a type, an operator, an event trigger...): listed
-- as such, so that it shows up here and in the check against the page
SELECT 'other', pg_describe_object(m.classid, m.objid, 0), pg_describe_object(m.classid, m.objid, 0),
       m.objid, 0::int2, NULL, 4, pg_describe_object(m.classid, m.objid, 0)
FROM members m
WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass);

CREATE TEMP VIEW pgm_privilege_table AS
SELECT o.*,
       CASE WHEN kind = 'other' THEN '?' ELSE pg_temp.privs(kind, obj, att, 'public') END AS public,
       CASE WHEN kind = 'other' THEN '?' ELSE pg_temp.privs(kind, obj, att, 'pg_monitor') END AS pg_monitor,
       CASE WHEN kind = 'other' THEN '?' ELSE pg_temp.privs(kind, obj, att, 'pg_read_all_stats') END AS pg_read_all_stats,
       CASE WHEN kind = 'other' THEN '?' ELSE pg_temp.privs(kind, obj, att, 'pg_signal_backend') END AS pg_signal_backend,
       CASE WHEN kind = 'other' THEN '?' ELSE pg_temp.privs(kind, obj, att, 'pgm_priv_nobody') END AS nobody
FROM pgm_objects o;

-- 1. the whole table (columns after their relation, in column order),
--    unaligned: a new object adds its lines and changes no other
\pset format unaligned
\pset fieldsep ' | '
SELECT CASE WHEN kind = 'column' THEN '  column ' ELSE kind || ' ' END || object AS object,
       public, pg_monitor, pg_read_all_stats, pg_signal_backend
FROM pgm_privilege_table
ORDER BY sortname, sort = 3, att, object;
\pset format aligned

-- 2. against docs/security.md: the page's rows, one per object, between the
--    line "<!-- privilege-table -->" and the next line that is not a table row
CREATE TEMP TABLE doc_lines (n serial, line text);
\copy doc_lines (line) FROM 'docs/security.md' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TEMP VIEW doc_table AS
WITH start AS (SELECT min(n) AS n FROM doc_lines WHERE line = '<!-- privilege-table -->'),
stop AS (SELECT min(l.n) AS n FROM doc_lines l, start
         WHERE l.n > start.n AND coalesce(l.line, '') NOT LIKE '|%'),
cells AS (
    SELECT l.n, string_to_array(btrim(l.line, '| '), '|') AS c
    FROM doc_lines l, start, stop
    WHERE l.n > start.n AND l.n < stop.n
)
SELECT n, btrim(replace(c[1], '`', '')) AS object, btrim(c[2]) AS public, btrim(c[3]) AS pg_monitor,
       btrim(c[4]) AS pg_read_all_stats, btrim(c[5]) AS pg_signal_backend
FROM cells
WHERE btrim(c[1]) NOT IN ('object', '') AND btrim(c[1]) !~ '^-+$';

-- the page's granularity: one row per object by name (overloads of a
-- function share a row: the privileges of all of them are listed, "a / b"
-- when they differ), and a column only where it has grants of its own (a
-- column's privileges are its relation's, plus those)
CREATE TEMP VIEW catalog_table AS
SELECT kind, kind || ' ' || name AS object,
       string_agg(DISTINCT public, ' / ') AS public,
       string_agg(DISTINCT pg_monitor, ' / ') AS pg_monitor,
       string_agg(DISTINCT pg_read_all_stats, ' / ') AS pg_read_all_stats,
       string_agg(DISTINCT pg_signal_backend, ' / ') AS pg_signal_backend
FROM pgm_privilege_table t
WHERE kind <> 'column'
   OR EXISTS (SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = t.obj AND a.attnum = t.att AND a.attacl IS NOT NULL)
GROUP BY kind, name;

-- expected: no row.  "missing from docs/security.md": paste doc_line into
-- the table there; "not in the extension": delete that row of the page;
-- "differs": the page's row, then the catalogs' (doc_line).
SELECT CASE WHEN d.object IS NULL THEN 'missing from docs/security.md'
            WHEN c.object IS NULL THEN 'not in the extension: ' || d.object
            ELSE 'differs: | ' || concat_ws(' | ', d.object, d.public, d.pg_monitor, d.pg_read_all_stats,
                                              d.pg_signal_backend) || ' |'
       END AS problem,
       CASE WHEN c.object IS NOT NULL THEN
           '| ' || c.kind || ' `' || substr(c.object, length(c.kind) + 2) || '` | ' ||
           concat_ws(' | ', c.public, c.pg_monitor, c.pg_read_all_stats, c.pg_signal_backend) || ' |'
       END AS doc_line
FROM doc_table d
FULL JOIN catalog_table c ON c.object = d.object
WHERE d.object IS NULL OR c.object IS NULL
   OR (d.public, d.pg_monitor, d.pg_read_all_stats, d.pg_signal_backend)
      IS DISTINCT FROM (c.public, c.pg_monitor, c.pg_read_all_stats, c.pg_signal_backend)
ORDER BY coalesce(c.object, d.object);
-- the page's table was found, and names every object once
SELECT count(*) > 50 AS doc_rows, count(*) = count(DISTINCT object) AS doc_rows_unique FROM doc_table;

-- 3. an unprivileged role may do exactly what PUBLIC may (expected: no row)
SELECT kind, object, public, nobody FROM pgm_privilege_table
WHERE public IS DISTINCT FROM nobody ORDER BY 1, 2;
-- no grant to any role but PUBLIC, the three built-in roles and the owner
-- (expected: no row)
WITH acls AS (
    SELECT 'schema' AS kind, nspname::text AS object, nspacl AS acl FROM pg_namespace WHERE nspname = 'pgmanage'
    UNION ALL
    SELECT t.kind, t.object, p.proacl FROM pgm_objects t JOIN pg_proc p ON t.kind = 'function' AND p.oid = t.obj
    UNION ALL
    SELECT t.kind, t.object, c.relacl FROM pgm_objects t JOIN pg_class c ON t.sort = 2 AND c.oid = t.obj
    UNION ALL
    SELECT t.kind, t.object, a.attacl FROM pgm_objects t
    JOIN pg_attribute a ON t.kind = 'column' AND a.attrelid = t.obj AND a.attnum = t.att
)
SELECT kind, object, x.grantee::regrole AS grantee, x.privilege_type
FROM acls, aclexplode(acl) x
WHERE x.grantee <> 0 AND x.grantee <> (SELECT extowner FROM pg_extension WHERE extname = 'pgmanage')
  AND x.grantee NOT IN ('pg_monitor'::regrole, 'pg_read_all_stats'::regrole, 'pg_signal_backend'::regrole)
ORDER BY 1, 2, 3, 4;
-- every object is owned by the extension's owner (expected: no row)
SELECT kind, object, owner::regrole FROM pgm_objects
WHERE kind <> 'other' AND owner <> (SELECT extowner FROM pg_extension WHERE extname = 'pgmanage')
ORDER BY 1, 2;

DROP ROLE pgm_priv_nobody;
