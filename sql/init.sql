-- Installing pgmanage, and the objects it owns.
CREATE EXTENSION pgmanage;
SELECT extname, extversion, nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'pgmanage';
-- every object of the extension, so a change to the list shows up here
SELECT pg_describe_object(classid, objid, objsubid) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage')
ORDER BY 1;
