-- Installing pgmanage, and the objects it owns.
CREATE EXTENSION pgmanage;
SELECT extname, extversion, nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'pgmanage';
-- the schema is the extension's own, created by CREATE EXTENSION (not a member)
SELECT nspname, pg_get_userbyid(nspowner) = current_user AS owned_by_installer, nspacl,
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
               AND d.deptype = 'e') AS member
FROM pg_namespace n WHERE nspname = 'pgmanage';
-- The tests use pgmanage as a DBA does, with the schema on the search_path
-- (pg_regress opens a new connection for each file).
ALTER DATABASE contrib_regression SET search_path = "$user", public, pgmanage;
SET search_path = "$user", public, pgmanage;
-- every object of the extension, so a change to the list shows up here
-- (17+ also records a table's row type and its array type as members: they
-- belong to the table and are not listed, so the list is the same on every version)
SELECT pg_describe_object(classid, objid, objsubid) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
  AND NOT (classid = 'pg_type'::regclass AND EXISTS (
      SELECT 1 FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
      JOIN pg_class r ON r.oid = coalesce(nullif(t.typrelid, 0), e.typrelid)
      WHERE t.oid = objid AND r.relkind <> 'c'))
ORDER BY 1;
-- every member is in schema pgmanage, nothing of pgmanage is in public
SELECT count(*) AS members,
       count(*) FILTER (WHERE coalesce(c.relnamespace, p.pronamespace) = 'pgmanage'::regnamespace) AS in_pgmanage
FROM pg_depend d
LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
  AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (
      SELECT 1 FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
      JOIN pg_class r ON r.oid = coalesce(nullif(t.typrelid, 0), e.typrelid)
      WHERE t.oid = d.objid AND r.relkind <> 'c'));
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS relations_in_public,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) AS functions_in_public;
-- What pg_dump keeps (pg_extension_config_dump): the configuration, not the
-- history, logs, outbox or snapshots.
SELECT c.relid::regclass AS config_dump, c.cond AS condition
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(relid, cond)
WHERE e.extname = 'pgmanage'
ORDER BY 1::text;
-- Internal helpers: marked so, and not executable by PUBLIC.
SELECT p.oid::regprocedure AS internal_helper,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p
WHERE p.pronamespace = 'pgmanage'::regnamespace
  AND obj_description(p.oid, 'pg_proc') LIKE 'pgmanage (internal):%'
ORDER BY 1::text;
-- every SQL and PL/pgSQL function fixes its search_path, except the three
-- that resolve table names with the caller's (they qualify every operator)
SELECT p.oid::regprocedure AS caller_search_path
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'pgmanage'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
  AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
ORDER BY 1::text;
