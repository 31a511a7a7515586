-- A fresh install and ALTER EXTENSION ... UPDATE from 1.0 give the same objects.
CREATE TEMP VIEW pgm_objects AS
SELECT pg_describe_object(d.classid, d.objid, 0) AS object,
       CASE d.classid
         WHEN 'pg_proc'::regclass THEN
           (SELECT pg_get_function_identity_arguments(p.oid) || ' -> ' || pg_get_function_result(p.oid)
                   || ' ' || p.provolatile::text || coalesce(array_to_string(p.proconfig, ','), '')
                   || ' acl=' || coalesce(p.proacl::text, '')
            FROM pg_proc p WHERE p.oid = d.objid)
         WHEN 'pg_class'::regclass THEN
           (SELECT c.relkind::text || ' acl=' || coalesce(c.relacl::text, '') || ' cols=' ||
                   coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                               || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                                               ', ' ORDER BY a.attnum)
                             FROM pg_attribute a
                             LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
                   || ' cons=' ||
                   coalesce((SELECT string_agg(conname || ' ' || pg_get_constraintdef(co.oid), ', ' ORDER BY conname)
                             FROM pg_constraint co WHERE co.conrelid = c.oid), '')
                   || ' idx=' ||
                   coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), ', ' ORDER BY 1)
                             FROM pg_index i WHERE i.indrelid = c.oid), '')
                   || ' trg=' ||
                   coalesce((SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY 1)
                             FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '')
            FROM pg_class c WHERE c.oid = d.objid)
         ELSE ''
       END AS definition
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage');

CREATE TEMP TABLE fresh AS SELECT * FROM pgm_objects;
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
DROP EXTENSION pgmanage;
CREATE EXTENSION pgmanage VERSION '1.0';
ALTER EXTENSION pgmanage UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
CREATE TEMP TABLE upgraded AS SELECT * FROM pgm_objects;
SELECT count(*) > 0 AS has_objects FROM fresh;
-- differences either way (none expected)
(SELECT 'only in fresh install' AS where_, * FROM fresh EXCEPT SELECT 'only in fresh install', * FROM upgraded)
UNION ALL
(SELECT 'only after update', * FROM upgraded EXCEPT SELECT 'only after update', * FROM fresh)
ORDER BY 1, 2;
