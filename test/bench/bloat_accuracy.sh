#!/usr/bin/env bash
# Accuracy of pgm_bloat(): the estimate, the exact mode and a baseline
# (our rendition of the statistics-based bloat query's method, see
# bloat_baseline.sql) against the truth: the size of a packed copy of the
# live rows with the same fillfactor and of each index rebuilt on it
# (bloat_truth.sql).  Cases: bloat_cases.sql.  Errors are in percentage
# points of the relation's size; the goal counts relations over 1 MB.
#
#   sudo test/bench/bloat_accuracy.sh
#
# Runs a throw-away cluster as the postgres user in /tmp and removes it.
# Not part of the test suite.
. "$(dirname "$0")/bloat_lib.sh"

bench_setup
bench_machine
bench_log "loading the cases"
bench_psql -q -f "$BENCH_DIR/bloat_cases.sql" >/dev/null
bench_psql -q -f "$BENCH_DIR/bloat_baseline.sql" -f "$BENCH_DIR/bloat_truth.sql"
bench_log "measuring: estimate, baseline, exact, truth"
bench_psql -q <<'SQL'
CREATE TABLE r_est AS SELECT * FROM pgm_bloat('bench');
CREATE TABLE r_base AS SELECT * FROM bench_baseline WHERE nspname = 'bench';
CREATE TABLE r_exact AS SELECT * FROM pgm_bloat('bench', exact => true);
CREATE TABLE r_truth AS
    SELECT t.* FROM pg_class c, LATERAL bench_truth(c.oid) t
    WHERE c.relnamespace = 'bench'::regnamespace AND c.relkind = 'r';
SQL
bench_psql -P footer=off <<'SQL'
CREATE TEMP VIEW v AS
SELECT coalesce(e.table_name, e.relation_name) AS "case", e.relation_name AS relation, e.kind,
       round(e.actual_bytes / 1048576.0, 1) AS mb,
       round(100.0 * (e.actual_bytes - t.truth_bytes) / e.actual_bytes, 1) AS truth_pct,
       round(100.0 * (e.actual_bytes - e.expected_bytes) / e.actual_bytes, 1) AS est_pct,
       round(100.0 * (x.actual_bytes - x.expected_bytes) / x.actual_bytes, 1) AS exact_pct,
       round(100.0 * (b.real_bytes - b.expected_bytes) / nullif(b.real_bytes, 0), 1) AS base_pct,
       e.advice
FROM r_est e
JOIN r_truth t ON t.relid = e.relid
JOIN r_exact x ON x.relid = e.relid
LEFT JOIN r_base b ON b.relid = e.relid;
\echo
\echo 'Per relation (bloat % of the relation: truth, estimate, exact, baseline)'
SELECT *, abs(est_pct - truth_pct) AS est_err, abs(exact_pct - truth_pct) AS exact_err,
       abs(base_pct - truth_pct) AS base_err
FROM v ORDER BY 1, kind DESC, 2;
\echo
\echo 'Largest error per case, relations over 1 MB (percentage points)'
SELECT "case", count(*) AS rels, max(abs(est_pct - truth_pct)) AS est_err,
       max(abs(exact_pct - truth_pct)) AS exact_err, max(abs(base_pct - truth_pct)) AS base_err
FROM v WHERE mb >= 1 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS relations_over_1mb,
       max(abs(est_pct - truth_pct)) AS est_max_err,
       count(*) FILTER (WHERE abs(est_pct - truth_pct) > 5) AS est_over_5,
       max(abs(exact_pct - truth_pct)) AS exact_max_err,
       count(*) FILTER (WHERE abs(exact_pct - truth_pct) > 2) AS exact_over_2,
       max(abs(base_pct - truth_pct)) AS base_max_err
FROM v WHERE mb >= 1;
SQL
