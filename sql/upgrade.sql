-- A fresh 2.0 install (this database, init.sql) and the other ways to 2.0
-- give the same extension: every member, each function's whole definition,
-- columns with types and defaults, constraints, indexes, triggers, event
-- triggers, privileges on every object and column, comments, initial
-- privileges and the pg_extension_config_dump registrations
-- (describe_extension.psql).  Each other way runs in a database of its own;
-- its description comes back here in a psql variable.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE DATABASE pgm_upgrade_chain;
CREATE DATABASE pgm_upgrade_public;

-- 1. 1.0 installed (with this control file: in schema pgmanage) and updated
-- one version at a time; every version is reachable.
\c pgm_upgrade_chain
SET client_min_messages = warning;
CREATE EXTENSION pgmanage VERSION '1.0';
SELECT extversion, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '1.4';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '1.5';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
-- some rows, kept by the update
INSERT INTO pgmanage.pgm_timeout_policy (role_name, statement_timeout) VALUES ('app', '30 s');
ALTER EXTENSION pgmanage UPDATE TO '2.0';
SELECT extversion, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'pgmanage';
SELECT id, role_name, statement_timeout FROM pgmanage.pgm_timeout_policy;
\ir describe_extension.psql
SELECT string_agg(line, E'\n' ORDER BY line) AS chain_description FROM pgm_test.describe() AS line \gset

-- 2. 1.5 with every object in public, as the 1.x control file installed it
-- (the real path, with the 1.5 files, is TAP test material): here 1.5 is
-- moved to public by hand, then updated.
\c pgm_upgrade_public
SET client_min_messages = warning;
CREATE EXTENSION pgmanage VERSION '1.5';
INSERT INTO pgmanage.pgm_timeout_policy (role_name, statement_timeout) VALUES ('app', '30 s'), ('batch', '1 h');
INSERT INTO pgmanage.pgm_endpoint (name, url) VALUES ('ops', 'https://ops.example.com/hook');
SELECT secret AS endpoint_secret FROM pgmanage.pgm_endpoint \gset
INSERT INTO pgmanage.pgm_job (name, kind, schedule, database_name) VALUES ('nightly', 'vacuum', '@daily', 'x');
DO $$
DECLARE
    m record;
BEGIN
    FOR m IN
        SELECT d.classid, d.objid FROM pg_depend d
        LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
        WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage') AND d.deptype = 'e'
          AND (c.oid IS NULL OR c.relkind <> 'S')
    LOOP
        IF m.classid = 'pg_class'::regclass THEN
            EXECUTE format('ALTER %s %s SET SCHEMA public',
                           CASE (SELECT relkind FROM pg_class WHERE oid = m.objid) WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                           m.objid::regclass);
        ELSE
            EXECUTE format('ALTER ROUTINE %s SET SCHEMA public', m.objid::regprocedure);
        END IF;
    END LOOP;
    UPDATE pg_extension SET extnamespace = 'public'::regnamespace WHERE extname = 'pgmanage';
    UPDATE pg_depend SET refobjid = 'public'::regnamespace
    WHERE classid = 'pg_extension'::regclass AND refclassid = 'pg_namespace'::regclass
      AND objid = (SELECT oid FROM pg_extension WHERE extname = 'pgmanage');
END
$$;
DROP SCHEMA pgmanage;
SELECT extversion, extnamespace::regnamespace AS schema,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS relations_in_public
FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE;
SELECT extversion, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'pgmanage';
-- nothing left in public, every row and sequence value kept
SELECT count(*) AS left_in_public FROM pg_class WHERE relnamespace = 'public'::regnamespace;
SELECT count(*) AS left_in_public FROM pg_proc WHERE pronamespace = 'public'::regnamespace;
SELECT id, role_name, statement_timeout FROM pgmanage.pgm_timeout_policy ORDER BY id;
SELECT last_value FROM pgmanage.pgm_timeout_policy_id_seq;
SELECT name, secret = :'endpoint_secret' AS same_secret FROM pgmanage.pgm_endpoint;
SELECT name, kind, schedule FROM pgmanage.pgm_job;
\ir describe_extension.psql
SELECT string_agg(line, E'\n' ORDER BY line) AS public_description FROM pgm_test.describe() AS line \gset

-- 3. Compared with the fresh install
\c contrib_regression
SET client_min_messages = warning;
\ir describe_extension.psql
CREATE TEMP TABLE fresh AS SELECT line FROM pgm_test.describe() AS line;
SELECT count(*) > 500 AS described, count(*) FILTER (WHERE line LIKE '%config_dump%') AS config_dump FROM fresh;
CREATE TEMP TABLE chain AS SELECT regexp_split_to_table(:'chain_description', E'\n') AS line;
CREATE TEMP TABLE from_public AS SELECT regexp_split_to_table(:'public_description', E'\n') AS line;
SELECT md5(string_agg(line, E'\n' ORDER BY line)) = md5(:'chain_description') AS chain_same,
       md5(string_agg(line, E'\n' ORDER BY line)) = md5(:'public_description') AS public_same
FROM fresh;
-- the differing lines, if any
(SELECT 'only in fresh 2.0' AS where_, line FROM fresh EXCEPT SELECT 'only in fresh 2.0', line FROM chain)
UNION ALL
(SELECT 'only after 1.0 -> 2.0', line FROM chain EXCEPT SELECT 'only after 1.0 -> 2.0', line FROM fresh)
ORDER BY 2, 1;
(SELECT 'only in fresh 2.0' AS where_, line FROM fresh EXCEPT SELECT 'only in fresh 2.0', line FROM from_public)
UNION ALL
(SELECT 'only after public 1.5 -> 2.0', line FROM from_public EXCEPT SELECT 'only after public 1.5 -> 2.0', line FROM fresh)
ORDER BY 2, 1;
DROP SCHEMA pgm_test CASCADE;
DROP DATABASE pgm_upgrade_chain;
DROP DATABASE pgm_upgrade_public;
