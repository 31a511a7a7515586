-- Health reports: indexes, sequences, pg_hba, the pre-upgrade check, and
-- the blocking tree's privileges (blocking itself needs several sessions:
-- test/t/060_blocking.pl).
CREATE SCHEMA hr;
CREATE TABLE hr.orders (id serial PRIMARY KEY, customer int, placed date, code text, note text);
INSERT INTO hr.orders (customer, placed, code)
SELECT i % 50, date '2026-01-01' + i % 30, 'c' || i FROM generate_series(1, 2000) i;
INSERT INTO hr.orders (customer, placed, code) VALUES (1, date '2026-01-01', 'c1');  -- a duplicate code
-- a failed CREATE INDEX CONCURRENTLY (unique violation) leaves an invalid index
CREATE UNIQUE INDEX CONCURRENTLY orders_code_key ON hr.orders (code);
-- two identical indexes, and one identical to a unique constraint's
CREATE INDEX orders_customer_a ON hr.orders (customer);
CREATE INDEX orders_customer_b ON hr.orders (customer);
ALTER TABLE hr.orders ADD CONSTRAINT orders_id_placed UNIQUE (id, placed);
CREATE INDEX orders_id_placed_copy ON hr.orders (id, placed);
-- a prefix of another B-tree
CREATE INDEX orders_customer_placed ON hr.orders (customer, placed);
CREATE INDEX orders_placed ON hr.orders (placed);
CREATE INDEX orders_placed_code ON hr.orders (placed, code);
-- not a prefix: another predicate, another operator class
CREATE INDEX orders_code_recent ON hr.orders (code) WHERE placed > date '2026-01-15';
CREATE INDEX orders_code_pattern ON hr.orders (code text_pattern_ops);
CREATE INDEX orders_code_pattern_note ON hr.orders (code, note);
-- used: a scan, counted once the statistics are flushed
CREATE INDEX orders_note ON hr.orders (note);
SET enable_seqscan = off;
SELECT count(*) FROM hr.orders WHERE note = 'x';
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
-- (an unused index's detail says since when: not printed, it varies)
SELECT index_name, problem, CASE WHEN problem = 'unused' THEN left(detail, 13) ELSE detail END AS detail,
       fix, CASE WHEN problem = 'invalid' THEN index_bytes >= 0 ELSE index_bytes > 0 END AS has_size, index_pretty IS NOT NULL AS pretty,
       stats_reset IS NOT DISTINCT FROM (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS reset_shown
FROM pgm_index_report('hr')
ORDER BY problem, index_name;
-- every index reported once; constraint-backing indexes are never "unused"
SELECT count(*) AS rows, count(DISTINCT indexrelid) AS indexes FROM pgm_index_report('hr');
-- the fixes run: afterwards only what they leave is reported
DO $$
DECLARE f text;
BEGIN
    FOR f IN SELECT r.fix FROM pgm_index_report('hr') r WHERE r.problem IN ('duplicate', 'redundant') LOOP
        EXECUTE replace(f, 'CONCURRENTLY ', '');  -- not in a DO block
    END LOOP;
END $$;
SELECT index_name, problem FROM pgm_index_report('hr') ORDER BY 2, 1;
DROP INDEX CONCURRENTLY hr.orders_code_key;
SELECT count(*) AS invalid FROM pgm_index_report('hr') WHERE problem = 'invalid';
-- quoted identifiers in the fix
CREATE TABLE hr."Odd Table" ("My Col" int);
CREATE INDEX "odd ""idx""" ON hr."Odd Table" ("My Col");
SELECT table_name, index_name, problem, fix FROM pgm_index_report('hr') WHERE table_name = 'Odd Table';
-- the extension's own tables are left out; NULL arguments mean the defaults
SELECT count(*) AS pgmanage_rows FROM pgm_index_report('pgmanage');
SELECT count(*) > 0 AS with_system FROM pgm_index_report('pg_catalog', true);
SELECT count(*) AS null_args FROM pgm_index_report('hr', NULL);

-- Sequences: an int4 column fed by an int8 sequence stops at 2^31-1
CREATE SEQUENCE hr.ticket_seq AS bigint;
CREATE TABLE hr.ticket (id int DEFAULT nextval('hr.ticket_seq'), n bigint GENERATED ALWAYS AS IDENTITY,
                        s smallserial, shared int DEFAULT nextval('hr.ticket_seq'));
ALTER SEQUENCE hr.ticket_seq OWNED BY hr.ticket.id;
SELECT setval('hr.ticket_seq', 2040109465);   -- 95 % of 2147483647
SELECT setval('hr.ticket_s_seq', 100);
CREATE SEQUENCE hr.down INCREMENT -1 MINVALUE -100 MAXVALUE -1 START -1;
SELECT setval('hr.down', -51);
CREATE SEQUENCE hr.unused_seq;
CREATE DOMAIN hr.small_id AS smallint;
CREATE SEQUENCE hr.dom_seq;
CREATE TABLE hr.dom (id hr.small_id DEFAULT nextval('hr.dom_seq'));
SELECT setval('hr.dom_seq', 16384);  -- half of what the domain's smallint holds
SELECT * FROM pgm_sequences() WHERE schema_name = 'hr' ORDER BY sequence_name, column_name;
-- a role that may not read a sequence sees no value
CREATE ROLE hr_watch IN ROLE pg_monitor;
SET ROLE hr_watch;
SELECT sequence_name, column_name, last_value, max_value, used_pct FROM pgm_sequences()
WHERE schema_name = 'hr' AND sequence_name = 'ticket_seq' ORDER BY column_name;
RESET ROLE;
GRANT SELECT ON SEQUENCE hr.ticket_seq TO hr_watch;
SET ROLE hr_watch;
SELECT sequence_name, column_name, last_value, used_pct FROM pgm_sequences()
WHERE schema_name = 'hr' AND sequence_name = 'ticket_seq' ORDER BY column_name;
RESET ROLE;

-- pg_hba audit: the rules come from the file (test/t/063_hba_audit.pl sets
-- them); here the rows beside them: password_encryption and stored hashes
SET client_min_messages = error;   -- 18 warns that MD5 is deprecated
SET password_encryption = 'md5';
CREATE ROLE hr_md5 LOGIN PASSWORD 'md5 secret';
CREATE ROLE hr_md5_nologin PASSWORD 'another';
RESET password_encryption;
RESET client_min_messages;
CREATE ROLE hr_scram LOGIN PASSWORD 'scram secret';
SELECT type, user_name, auth_method, risk, reason FROM pgm_hba_audit()
WHERE line_number IS NULL AND (type = 'setting' OR user_name[1] LIKE 'hr\_%')
ORDER BY type DESC, user_name;
-- never the hash
SELECT count(*) AS rows_with_a_hash FROM pgm_hba_audit() a, pg_authid r
WHERE r.rolpassword IS NOT NULL AND (a.reason LIKE '%' || r.rolpassword || '%' OR a.auth_method = r.rolpassword);
SELECT count(*) > 0 AS has_file_rules, bool_and(risk IN ('high', 'medium', 'low', 'ok')) AS risks_known
FROM pgm_hba_audit() WHERE line_number IS NOT NULL;
SET client_min_messages = error;
SET password_encryption = 'md5';
SELECT type, auth_method, risk, reason FROM pgm_hba_audit() WHERE type = 'setting';
RESET password_encryption;
RESET client_min_messages;
-- superuser catalogs behind it: PUBLIC and pg_read_all_stats cannot call it
SET ROLE hr_watch;   -- pg_monitor may
SELECT count(*) > 0 AS monitor_may FROM pgm_hba_audit();
RESET ROLE;
CREATE ROLE hr_stats IN ROLE pg_read_all_stats;
SET ROLE hr_stats;
SELECT * FROM pgmanage.pgm_hba_audit();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Pre-upgrade check
CREATE TABLE hr.catalog_refs (f regproc, ok_class regclass, ok_type regtype, ok_role regrole, ops regoperator[]);
CREATE DOMAIN hr.procs AS regprocedure[];
CREATE TYPE hr.pair AS (a int, b regconfig);
CREATE TABLE hr.nested (p hr.procs, q hr.pair, r pg_catalog.pg_class, s information_schema.sql_identifier);
CREATE MATERIALIZED VIEW hr.mv AS SELECT 'now'::regproc AS f;
SELECT finding, object, detail, fix FROM pgm_upgrade_check(19)
WHERE object LIKE 'hr.%' AND finding <> 'aclitem_column'
ORDER BY object, finding;
-- aclitem (pg_class has one) matters only from before 16 to 16 or later
SELECT count(*) = CASE WHEN current_setting('server_version_num')::int < 160000 THEN 1 ELSE 0 END AS aclitem_as_expected
FROM pgm_upgrade_check() WHERE finding = 'aclitem_column' AND object = 'hr.nested.r';
-- the fix works
ALTER TABLE hr.catalog_refs ALTER COLUMN f TYPE text USING f::text;
SELECT count(*) AS after_fix FROM pgm_upgrade_check(19) WHERE object = 'hr.catalog_refs.f';
-- a physical slot is never carried over
SELECT 1 FROM pg_create_physical_replication_slot('hr_slot');
SELECT finding, object, fix FROM pgm_upgrade_check() WHERE object = 'hr_slot';
SELECT pg_drop_replication_slot('hr_slot');
-- a database that does not allow connections
CREATE DATABASE hr_closed;
ALTER DATABASE hr_closed ALLOW_CONNECTIONS false;
SELECT finding, object, detail, fix FROM pgm_upgrade_check() WHERE object = 'hr_closed';
DROP DATABASE hr_closed;
-- data checksums: initdb enables them from 18 on
SELECT count(*) = CASE WHEN current_setting('server_version_num')::int < 180000
                        AND current_setting('data_checksums') = 'off' THEN 1 ELSE 0 END AS checksums_as_expected
FROM pgm_upgrade_check() WHERE finding = 'data_checksums';
-- bad arguments (the first message names the server's version)
\set VERBOSITY sqlstate
SELECT * FROM pgm_upgrade_check(current_setting('server_version_num')::int / 10000);
\set VERBOSITY default
SELECT * FROM pgm_upgrade_check(170000);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_upgrade_check(9);
\echo :LAST_ERROR_SQLSTATE

-- The blocking tree: nothing waits here; NULL means false
SELECT count(*) AS waiting FROM pgm_blocking();
SELECT count(*) AS waiting FROM pgm_blocking(NULL);
-- it shows only what pg_stat_activity and pg_locks show, so a role with
-- USAGE on the schema may call it
CREATE ROLE hr_app;
GRANT USAGE ON SCHEMA pgmanage TO hr_app;
SET ROLE hr_app;
SELECT count(*) AS waiting FROM pgm_blocking(true);
SELECT * FROM pgm_sequences();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_index_report();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_hba_audit();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_upgrade_check();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- who may execute what
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer,
       has_function_privilege('hr_app', p.oid, 'EXECUTE') AS public,
       has_function_privilege('pg_read_all_stats', p.oid, 'EXECUTE') AS read_all_stats,
       has_function_privilege('pg_monitor', p.oid, 'EXECUTE') AS monitor
FROM pg_proc p
WHERE p.pronamespace = 'pgmanage'::regnamespace
  AND p.proname IN ('pgm_blocking', 'pgm_index_report', 'pgm_sequences', 'pgm_hba_audit', 'pgm_upgrade_check')
ORDER BY 1::text;

DROP SCHEMA hr CASCADE;
REVOKE USAGE ON SCHEMA pgmanage FROM hr_app;
DROP ROLE hr_app;
DROP ROLE hr_watch;
DROP ROLE hr_stats;
DROP ROLE hr_md5;
DROP ROLE hr_md5_nologin;
DROP ROLE hr_scram;
