-- The cases of test/bench/bloat_accuracy.sh, all in schema bench.  Each
-- ends in the state it is measured in: when a case says "stale", the
-- ANALYZE came before the change; autovacuum is off in the bench cluster.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
SELECT setseed(0.42);

-- plain: integers and short text, freshly loaded
CREATE TABLE bench.plain (id int PRIMARY KEY, n int, label text);
INSERT INTO bench.plain SELECT g, g % 1000, 'item ' || g FROM generate_series(1, 200000) g;
CREATE INDEX plain_label ON bench.plain (label);
ANALYZE bench.plain;

-- padded: bool, bigint, bool, bigint ... (7 bytes of padding after each bool)
CREATE TABLE bench.padded (b1 bool, i1 bigint, b2 bool, i2 bigint, b3 bool, i3 bigint,
                           b4 bool, i4 bigint, b5 bool, i5 bigint);
INSERT INTO bench.padded SELECT g % 2 = 0, g, g % 3 = 0, g * 2, true, g * 3, false, g * 4, g % 5 = 0, g * 5
FROM generate_series(1, 200000) g;
CREATE INDEX padded_b1_i1 ON bench.padded (b1, i1);
ANALYZE bench.padded;

-- indexes: expression, partial, multi-column, low cardinality (dedup)
CREATE TABLE bench.indexed (id int, a int, b int, status int, email text);
INSERT INTO bench.indexed SELECT g, g % 500, g % 7, g % 5, 'User' || g || '@Example.com'
FROM generate_series(1, 200000) g;
CREATE INDEX indexed_expr ON bench.indexed (lower(email));
CREATE INDEX indexed_partial ON bench.indexed (id) WHERE id % 2 = 0;
CREATE INDEX indexed_multi ON bench.indexed (a, b, id);
CREATE INDEX indexed_status ON bench.indexed (status);
ANALYZE bench.indexed;

-- NULL-heavy: 80 % nulls in most columns
CREATE TABLE bench.nulls (id int, a bigint, b text, c int, d timestamptz);
INSERT INTO bench.nulls SELECT g,
    CASE WHEN random() < 0.2 THEN g END,
    CASE WHEN random() < 0.2 THEN md5(g::text) END,
    CASE WHEN random() < 0.2 THEN g END,
    CASE WHEN random() < 0.5 THEN now() END
FROM generate_series(1, 200000) g;
CREATE INDEX nulls_b ON bench.nulls (b);
ANALYZE bench.nulls;

-- TOASTed: 3 kB of incompressible text per row, moved out of line
CREATE TABLE bench.toasted (id int PRIMARY KEY, small text, doc text);
INSERT INTO bench.toasted SELECT g, md5(g::text),
    (SELECT string_agg(md5(random()::text || i), '') FROM generate_series(1, 100) i WHERE g > 0)
FROM generate_series(1, 20000) g;
ANALYZE bench.toasted;

-- variable-width text, fillfactor 70 and 100
CREATE TABLE bench.ff70 (id int PRIMARY KEY, body text) WITH (fillfactor = 70);
INSERT INTO bench.ff70 SELECT g, repeat('x', 20 + (random() * 180)::int) FROM generate_series(1, 100000) g;
ANALYZE bench.ff70;
CREATE TABLE bench.ff100 (id int PRIMARY KEY, body text) WITH (fillfactor = 100);
INSERT INTO bench.ff100 SELECT g, repeat('x', 20 + (random() * 180)::int) FROM generate_series(1, 100000) g;
ANALYZE bench.ff100;

-- deletes of 0 % to 90 %, after ANALYZE, with and without VACUUM
DO $$
DECLARE pct int; vac text;
BEGIN
    FOREACH pct IN ARRAY ARRAY[0, 30, 60, 90] LOOP
        FOREACH vac IN ARRAY ARRAY['novac', 'vac'] LOOP
            EXECUTE format('CREATE TABLE bench.del%s_%s (id int PRIMARY KEY, v bigint, s text)', pct, vac);
            EXECUTE format('INSERT INTO bench.del%s_%s SELECT g, g * 7, md5(g::text) FROM generate_series(1, 150000) g', pct, vac);
            EXECUTE format('ANALYZE bench.del%s_%s', pct, vac);
            EXECUTE format('DELETE FROM bench.del%s_%s WHERE (hashint4(id) & 1023) < %s', pct, vac, pct * 1024 / 100);
        END LOOP;
    END LOOP;
END $$;
VACUUM bench.del0_vac, bench.del30_vac, bench.del60_vac, bench.del90_vac;

-- heavy UPDATE churn: every row updated three times, then VACUUM
CREATE TABLE bench.churn100 (id int PRIMARY KEY, counter int, note text) WITH (fillfactor = 100);
INSERT INTO bench.churn100 SELECT g, 0, md5(g::text) FROM generate_series(1, 150000) g;
ANALYZE bench.churn100;
UPDATE bench.churn100 SET counter = counter + 1;
UPDATE bench.churn100 SET counter = counter + 1;
UPDATE bench.churn100 SET counter = counter + 1, note = note || 'x' WHERE id % 3 = 0;
VACUUM bench.churn100;
CREATE TABLE bench.churn70 (id int PRIMARY KEY, counter int, note text) WITH (fillfactor = 70);
INSERT INTO bench.churn70 SELECT g, 0, md5(g::text) FROM generate_series(1, 150000) g;
ANALYZE bench.churn70;
UPDATE bench.churn70 SET counter = counter + 1;
UPDATE bench.churn70 SET counter = counter + 1;
UPDATE bench.churn70 SET counter = counter + 1;
VACUUM bench.churn70;
