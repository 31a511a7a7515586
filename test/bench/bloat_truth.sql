-- The truth for test/bench: copy the live rows of a table into a new table
-- with the same fillfactor, rebuild each of its indexes on the copy, and
-- return the sizes (main forks) of the copy and of each rebuilt index,
-- keyed by the original relation.
CREATE SCHEMA IF NOT EXISTS bench_copy;
CREATE OR REPLACE FUNCTION bench_truth(tbl regclass)
RETURNS TABLE (relid oid, truth_bytes bigint)
LANGUAGE plpgsql AS $$
DECLARE
    ff text;
    ix record;
BEGIN
    SELECT coalesce((SELECT split_part(o, '=', 2) FROM unnest(c.reloptions) o
                     WHERE o LIKE 'fillfactor=%'), '100')
    INTO ff FROM pg_class c WHERE c.oid = tbl;
    DROP TABLE IF EXISTS bench_copy.t;
    EXECUTE format('CREATE TABLE bench_copy.t (LIKE %s INCLUDING STORAGE INCLUDING COMPRESSION) WITH (fillfactor = %s)', tbl, ff);
    EXECUTE format('INSERT INTO bench_copy.t SELECT * FROM %s', tbl);
    relid := tbl; truth_bytes := pg_relation_size('bench_copy.t'); RETURN NEXT;
    FOR ix IN SELECT i.indexrelid, pg_get_indexdef(i.indexrelid) AS def
              FROM pg_index i WHERE i.indrelid = tbl LOOP
        EXECUTE regexp_replace(ix.def, '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ',
                               'CREATE \1INDEX bench_copy_ix ON bench_copy.t ');
        relid := ix.indexrelid; truth_bytes := pg_relation_size('bench_copy.bench_copy_ix'); RETURN NEXT;
        DROP INDEX bench_copy.bench_copy_ix;
    END LOOP;
    DROP TABLE bench_copy.t;
END $$;
