-- pgmanage 2.0 -> 2.1: changes only (the full definitions are in src/sql/<capability>.sql;
-- the upgrade tests compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1).
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit

-- ==== vacuum-wal: a run's per-table details appended in pgm_job_run_detail, folded into details at the end
-- A run's per-table results while it goes: each drain of a VACUUM worker's
-- results appends one row (seq 1, 2, ...) holding that batch's entries, so
-- a pass writes only its own entries' WAL, not the whole details array
-- again.  When the run ends (any path that sets its final status) the
-- trigger below sets pgm_job_run.details once, from these rows in order,
-- and deletes them.  Deleted with their run (retention, DROP).
CREATE TABLE pgmanage.pgm_job_run_detail (
    run_id bigint NOT NULL REFERENCES pgmanage.pgm_job_run (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    entries jsonb NOT NULL,
    PRIMARY KEY (run_id, seq)
);
COMMENT ON TABLE pgmanage.pgm_job_run_detail IS 'pgmanage: per-table results of runs going, in batches; folded into pgm_job_run.details when the run ends';

CREATE FUNCTION pgmanage.pgm_job_run_fold_details() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.details := NEW.details || coalesce(
        (SELECT jsonb_agg(e.entry ORDER BY d.seq, e.n)
         FROM pgmanage.pgm_job_run_detail d,
              jsonb_array_elements(d.entries) WITH ORDINALITY AS e(entry, n)
         WHERE d.run_id = NEW.id), '[]');
    DELETE FROM pgmanage.pgm_job_run_detail d WHERE d.run_id = NEW.id;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_job_run_fold_details() IS 'pgmanage (internal): trigger on pgm_job_run, sets details from pgm_job_run_detail when a run ends';
CREATE TRIGGER pgm_job_run_fold_details BEFORE UPDATE OF status ON pgmanage.pgm_job_run
    FOR EACH ROW
    WHEN (OLD.status IN ('queued', 'running') AND NEW.status NOT IN ('queued', 'running'))
    EXECUTE FUNCTION pgmanage.pgm_job_run_fold_details();
REVOKE ALL ON pgmanage.pgm_job_run_detail FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_job_run_detail TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_job_run_fold_details() FROM PUBLIC;
