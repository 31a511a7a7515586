-- A fresh 2.2 install (this database, init.sql) and the other ways to 2.2
-- give the same extension: every member, each function's whole definition,
-- columns with types and defaults, constraints, indexes, triggers, event
-- triggers, privileges on every object and column, comments, initial
-- privileges and the pg_extension_config_dump registrations.  Each other
-- way runs in a database of its own; pgm_test.describe() (defined here, its
-- definition carried to the other databases in a psql variable) describes
-- the extension there, and the description comes back here in another.
\set VERBOSITY terse
SET client_min_messages = warning;
-- pgm_test.describe(): extension pgmanage as text lines, one fact per line,
-- names schema-qualified (search_path = pg_catalog), every multi-line
-- definition split into numbered lines.
CREATE SCHEMA pgm_test;
CREATE FUNCTION pgm_test.describe() RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
WITH ext AS (
    SELECT e.* FROM pg_extension e WHERE e.extname = 'pgmanage'
), member AS (
    SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS name
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
      -- not the row types of its tables (members on 17+ only): they go with the table
      AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (
          SELECT 1 FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
          JOIN pg_class r ON r.oid = coalesce(nullif(t.typrelid, 0), e.typrelid)
          WHERE t.oid = d.objid AND r.relkind <> 'c'))
), facts(obj, fact) AS (
    -- the extension, its schema and what it depends on
    SELECT 'extension', format('version=%s schema=%s relocatable=%s owner=%s', e.extversion,
                               e.extnamespace::regnamespace, e.extrelocatable, e.extowner::regrole)
    FROM ext e
    UNION ALL
    SELECT 'extension', 'config_dump ' || c.relid::regclass::text || ' condition=' || quote_literal(c.cond)
    FROM ext e, unnest(e.extconfig, e.extcondition) AS c(relid, cond)
    UNION ALL
    SELECT 'extension', format('depends on %s (%s)', pg_describe_object(d.refclassid, d.refobjid, 0), d.deptype)
    FROM pg_depend d, ext e
    WHERE d.classid = 'pg_extension'::regclass AND d.objid = e.oid
    UNION ALL
    SELECT 'schema pgmanage', format('owner=%s acl=%s member=%s comment=%s', n.nspowner::regrole, n.nspacl,
               EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_namespace'::regclass AND m.objid = n.oid),
               obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.nspname = 'pgmanage'
    UNION ALL
    SELECT 'schema pgmanage', format('init_privs=%s (%s)', ip.initprivs, ip.privtype)
    FROM pg_init_privs ip JOIN pg_namespace n ON ip.classoid = 'pg_namespace'::regclass AND ip.objoid = n.oid
    WHERE n.nspname = 'pgmanage'
    UNION ALL
    -- every member, and the initial privileges recorded for it
    SELECT m.name, 'member' FROM member m
    UNION ALL
    SELECT m.name, format('init_privs col=%s %s (%s)', ip.objsubid, ip.initprivs, ip.privtype)
    FROM member m JOIN pg_init_privs ip ON ip.classoid = m.classid AND ip.objoid = m.objid
    UNION ALL
    -- functions: the whole definition, privileges, comment, owner
    SELECT m.name, format('acl=%s owner=%s comment=%s', p.proacl, p.proowner::regrole,
                          obj_description(p.oid, 'pg_proc'))
    FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT m.name, format('def %s: %s', lpad(l.n::text, 4, '0'), l.line)
    FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid,
         LATERAL regexp_split_to_table(pg_get_functiondef(p.oid), E'\n') WITH ORDINALITY AS l(line, n)
    UNION ALL
    -- relations: kind, privileges, comment, columns, constraints, indexes, triggers, view text, sequence
    SELECT m.name, format('kind=%s acl=%s owner=%s comment=%s persistence=%s rowsecurity=%s',
                          c.relkind, c.relacl, c.relowner::regrole, obj_description(c.oid, 'pg_class'),
                          c.relpersistence, c.relrowsecurity)
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT m.name, format('column %s: %s %s%s%s acl=%s comment=%s identity=%s generated=%s', lpad(a.attnum::text, 3, '0'),
                          a.attname, format_type(a.atttypid, a.atttypmod),
                          CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                          coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                          a.attacl, col_description(c.oid, a.attnum), a.attidentity, a.attgenerated)
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT m.name, format('constraint %s: %s deferrable=%s validated=%s', co.conname, pg_get_constraintdef(co.oid),
                          co.condeferrable, co.convalidated)
    FROM member m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
    -- not 18+'s NOT NULL constraints (contype n): the columns say "not null"
    WHERE co.contype <> 'n'
    UNION ALL
    SELECT m.name, format('index %s', pg_get_indexdef(i.indexrelid))
    FROM member m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
    UNION ALL
    SELECT m.name, format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM member m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid AND NOT t.tgisinternal
    UNION ALL
    SELECT m.name, format('view %s: %s', lpad(l.n::text, 4, '0'), l.line)
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind = 'v',
         LATERAL regexp_split_to_table(pg_get_viewdef(c.oid), E'\n') WITH ORDINALITY AS l(line, n)
    UNION ALL
    SELECT m.name, format('sequence %s start=%s increment=%s min=%s max=%s cycle=%s owned_by=%s', s.seqtypid::regtype,
                          s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,
                          (SELECT string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ',')
                           FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                             AND d.deptype IN ('a', 'i')))
    FROM member m JOIN pg_sequence s ON m.classid = 'pg_class'::regclass AND s.seqrelid = m.objid
    UNION ALL
    -- event triggers
    SELECT m.name, format('event trigger on %s tags=%s function=%s enabled=%s', et.evtevent, et.evttags,
                          et.evtfoid::regprocedure, et.evtenabled)
    FROM member m JOIN pg_event_trigger et ON m.classid = 'pg_event_trigger'::regclass AND et.oid = m.objid
)
SELECT obj || ' | ' || coalesce(fact, '(null)') FROM facts
$$;
SELECT pg_get_functiondef('pgm_test.describe()'::regprocedure) AS describe_def \gset
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
-- some rows, kept by the update (COPY, as a restore would: an INSERT into
-- pgm_timeout_policy outside pgmanage.database is refused)
COPY pgmanage.pgm_timeout_policy (role_name, statement_timeout) FROM stdin;
app	30 s
\.
ALTER EXTENSION pgmanage UPDATE TO '2.0';
SELECT extversion, extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '2.1';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
ALTER EXTENSION pgmanage UPDATE TO '2.2';
SELECT extversion FROM pg_extension WHERE extname = 'pgmanage';
SELECT id, role_name, statement_timeout FROM pgmanage.pgm_timeout_policy;
CREATE SCHEMA pgm_test;
:describe_def;
SELECT string_agg(line, E'\n' ORDER BY line) AS chain_description FROM pgm_test.describe() AS line \gset

-- 2. 1.5 with every object in public, as the 1.x control file installed it
-- (the real path, with the 1.5 files, is TAP test material): here 1.5 is
-- moved to public by hand, then updated.
\c pgm_upgrade_public
SET client_min_messages = warning;
CREATE EXTENSION pgmanage VERSION '1.5';
-- (COPY, as a restore would: an INSERT into pgm_timeout_policy or
-- pgm_endpoint outside pgmanage.database is refused)
COPY pgmanage.pgm_timeout_policy (role_name, statement_timeout) FROM stdin;
app	30 s
batch	1 h
\.
COPY pgmanage.pgm_endpoint (name, url) FROM stdin;
ops	https://ops.example.com/hook
\.
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
          -- row types (members on 17+) move with their table
          AND d.classid <> 'pg_type'::regclass
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
CREATE SCHEMA pgm_test;
:describe_def;
SELECT string_agg(line, E'\n' ORDER BY line) AS public_description FROM pgm_test.describe() AS line \gset

-- 3. Compared with the fresh install
\c contrib_regression
SET client_min_messages = warning;
CREATE TEMP TABLE fresh AS SELECT line FROM pgm_test.describe() AS line;
-- what the description covers (so that an empty comparison cannot pass)
SELECT count(*) FILTER (WHERE line LIKE '% | member') AS members,
       count(*) FILTER (WHERE line LIKE '% | def 0001: CREATE OR REPLACE FUNCTION %') AS function_defs,
       count(*) FILTER (WHERE line LIKE '% | column %') AS columns,
       count(*) FILTER (WHERE line LIKE '% | constraint %') AS constraints,
       count(*) FILTER (WHERE line LIKE '% | index %') AS indexes,
       count(*) FILTER (WHERE line LIKE '% | trigger %') AS triggers,
       count(*) FILTER (WHERE line LIKE '% | view 0001: %') AS views,
       count(*) FILTER (WHERE line LIKE '% | sequence %') AS sequences,
       count(*) FILTER (WHERE line LIKE '% | init_privs %') AS init_privs,
       count(*) FILTER (WHERE line LIKE 'extension | config_dump %') AS config_dump
FROM fresh;
CREATE TEMP TABLE chain AS SELECT regexp_split_to_table(:'chain_description', E'\n') AS line;
CREATE TEMP TABLE from_public AS SELECT regexp_split_to_table(:'public_description', E'\n') AS line;
SELECT md5(string_agg(line, E'\n' ORDER BY line)) = md5(:'chain_description') AS chain_same,
       md5(string_agg(line, E'\n' ORDER BY line)) = md5(:'public_description') AS public_same
FROM fresh;
-- the differing lines, if any
(SELECT 'only in fresh 2.2' AS where_, line FROM fresh EXCEPT SELECT 'only in fresh 2.2', line FROM chain)
UNION ALL
(SELECT 'only after 1.0 -> 2.2', line FROM chain EXCEPT SELECT 'only after 1.0 -> 2.2', line FROM fresh)
ORDER BY 2, 1;
(SELECT 'only in fresh 2.2' AS where_, line FROM fresh EXCEPT SELECT 'only in fresh 2.2', line FROM from_public)
UNION ALL
(SELECT 'only after public 1.5 -> 2.2', line FROM from_public EXCEPT SELECT 'only after public 1.5 -> 2.2', line FROM fresh)
ORDER BY 2, 1;

-- 4. pg_dump keeps the configuration (policies, endpoints with their
-- secrets, jobs including backup schedules, the policy id sequence) and
-- nothing else; the restore goes through pgmanage's triggers, which accept
-- the rows (pgm_job_check computes next_fire again).
\c pgm_upgrade_public
SET client_min_messages = warning;
INSERT INTO pgmanage.pgm_job (name, kind, schedule, database_name, options)
VALUES ('nightly_backup', 'backup', '0 1 * * *', current_database(), '{"endpoint": "ops", "label": "nightly"}');
INSERT INTO pgmanage.pgm_job_run (job, kind, database_name, trigger, status) VALUES ('nightly', 'vacuum', 'x', 'manual', 'queued');
INSERT INTO pgmanage.pgm_kill_log (logged_at, pid, limit_kind, action, succeeded, source)
VALUES (now(), 1, 'statement', 'cancel', true, 'test');
INSERT INTO pgmanage.pgm_alert_state (name, state) VALUES ('disk', 'ok');
-- (an event, as a row: pgm_emit_event works only in pgmanage.database)
INSERT INTO pgmanage.pgm_event (kind, payload) VALUES ('test', '{}');
CREATE DATABASE pgm_restored;
-- (its COPY warns that pgm_restored is not pgmanage.database)
\! pg_dump -d pgm_upgrade_public | psql -X -q -v ON_ERROR_STOP=1 -d pgm_restored > /dev/null && echo restored
\c pgm_restored
SET client_min_messages = warning;
SELECT id, role_name, statement_timeout FROM pgmanage.pgm_timeout_policy ORDER BY id;
SELECT last_value FROM pgmanage.pgm_timeout_policy_id_seq;
SELECT name, url, secret = :'endpoint_secret' AS same_secret FROM pgmanage.pgm_endpoint;
SELECT name, kind, schedule, options, enabled, next_fire IS NOT NULL AS next_fire_set
FROM pgmanage.pgm_job ORDER BY name;
-- not dumped: run history, the kill log, the outbox, alert state
SELECT (SELECT count(*) FROM pgmanage.pgm_job_run) AS job_runs,
       (SELECT count(*) FROM pgmanage.pgm_kill_log) AS kill_log,
       (SELECT count(*) FROM pgmanage.pgm_event) AS events,
       (SELECT count(*) FROM pgmanage.pgm_delivery) AS deliveries,
       (SELECT count(*) FROM pgmanage.pgm_alert_state) AS alert_state;
-- and the restored extension is a fresh 2.2 one
SELECT string_agg(line, E'\n' ORDER BY line) AS restored_description FROM pgm_test.describe() AS line \gset
\c contrib_regression
SET client_min_messages = warning;
SELECT md5(string_agg(line, E'\n' ORDER BY line)) = md5(:'restored_description') AS restored_same FROM pgm_test.describe() AS line;
(SELECT 'only in fresh 2.2' AS where_, line FROM pgm_test.describe() AS line
 EXCEPT SELECT 'only in fresh 2.2', regexp_split_to_table(:'restored_description', E'\n'))
UNION ALL
(SELECT 'only after restore', regexp_split_to_table(:'restored_description', E'\n')
 EXCEPT SELECT 'only after restore', line FROM pgm_test.describe() AS line)
ORDER BY 2, 1;

DROP SCHEMA pgm_test CASCADE;
DROP DATABASE pgm_upgrade_chain;
DROP DATABASE pgm_upgrade_public;
DROP DATABASE pgm_restored;
