#!/usr/bin/env bash
# Benchmark: the cost of reading pgmanage's metrics, pgm_metrics() and
# pgm_metrics_text(), against a baseline any monitoring agent runs,
# SELECT count(*) FROM pg_stat_activity, in the same run:
#
#   stage small:    100 tables
#   stage tables:   10,000 tables (TABLES), nothing else
#   stage history:  the same, plus what a busy server keeps: 10,000 webhook
#                   deliveries over 5 endpoints (pending, delivered, dead),
#                   2,000 job runs over 20 jobs, 200 pg_stat_statements
#                   snapshots
#
#   sudo test/bench/metrics_cost.sh [TABLES] [ROUNDS] [CALLS]
#
# Each round opens a new session, calls each query once (not counted: the
# first call in a session also compiles the plpgsql), then CALLS times,
# timed with psql's \timing; a round's figure is the median of its calls.
# "exporter scrape" is the sum of the times of the queries of
# contrib/prometheus/pgmanage-queries.yaml, run one after the other as the
# exporter does on each scrape.  Prints, per stage and query, the median and
# the range (min-max) of the ROUNDS (>= 3) round figures, and the ratio to
# the baseline's median.
#
# Needs pgmanage installed into the system PostgreSQL 15 (make install, or
# flock /tmp/pgmanage-test.lock sh -c 'make install && test/bench/metrics_cost.sh');
# the cluster is a throw-away one in /tmp (test/bench/bench_lib.sh).
set -euo pipefail
TABLES=${1:-10000}
ROUNDS=${2:-5}
CALLS=${3:-20}
[ "$ROUNDS" -ge 3 ] || { echo "ROUNDS must be at least 3" >&2; exit 1; }
. "$(dirname "$0")/bench_lib.sh"

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }

bench_init "fsync = off" "synchronous_commit = off" "full_page_writes = off" "autovacuum = off" \
    "max_wal_size = 4GB" "compute_query_id = on" "pgmanage.pgss_snapshot_interval = 0"
bench_start 'pg_stat_statements, pgmanage'
bench_psql -c 'CREATE EXTENSION pg_stat_statements' -c 'CREATE EXTENSION pgmanage'
bench_wait "SELECT extension_found FROM pgmanage.pgm_status() WHERE process = 'worker'"

make_tables() {  # make_tables FROM TO
    bench_psql <<SQL
DO \$\$
BEGIN
  FOR i IN $1..$2 LOOP
    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, doc text)', i);
    IF i % 500 = 0 THEN COMMIT; END IF;
  END LOOP;
END \$\$;
SQL
}

queries=(
    "SELECT count(*) FROM pg_stat_activity"
    "SELECT count(*) FROM pgmanage.pgm_metrics()"
    "SELECT length(pgmanage.pgm_metrics_text())"
)
names=(baseline pgm_metrics pgm_metrics_text)

# the round figures (ms) of query $1: one line per round
round_figures() {
    local q=$1 r args
    for r in $(seq "$ROUNDS"); do
        args=(-c '\timing on' -c "$q")
        for _ in $(seq "$CALLS"); do args+=(-c "$q"); done
        bench_psql -o /dev/null "${args[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n +2 | median
    done
}

# the queries of the exporter's file (contrib/prometheus/pgmanage-queries.yaml), one statement each
yaml=$(dirname "$0")/../../contrib/prometheus/pgmanage-queries.yaml
exporter_sql=$bench_dir/exporter.sql
awk '/^  query: \|$/ { q = 1; next } q && /^  master:/ { q = 0; print ";"; next } q { print }' "$yaml" > "$exporter_sql"
chmod 644 "$exporter_sql"
nexporter=$(grep -c '^;$' "$exporter_sql")

# the round figures (ms) of one scrape through the exporter's file: the sum
# of its queries' times, a scrape per call
exporter_figures() {
    local r
    for r in $(seq "$ROUNDS"); do
        {
            echo '\timing on'
            for _ in $(seq $((CALLS + 1))); do cat "$exporter_sql"; echo '\echo scrape'; done
        } > "$bench_dir/scrapes.sql"
        chmod 644 "$bench_dir/scrapes.sql"
        bench_psql -f "$bench_dir/scrapes.sql" |
            awk '/^Time:/ { t += $2 } /^scrape$/ { print t; t = 0 }' | tail -n +2 | median
    done
}

results=()
measure() {  # measure STAGE
    local i figs med lo hi base=
    for i in "${!queries[@]}"; do
        figs=$(round_figures "${queries[$i]}")
        med=$(printf '%s\n' "$figs" | median)
        lo=$(printf '%s\n' "$figs" | sort -g | head -1)
        hi=$(printf '%s\n' "$figs" | sort -g | tail -1)
        [ -z "$base" ] && base=$med
        results+=("$(printf '%-8s %-17s %8.3f  %8.3f-%-8.3f %6.1fx' "$1" "${names[$i]}" "$med" "$lo" "$hi" \
                      "$(awk -v a="$med" -v b="$base" 'BEGIN { print a / b }')")")
    done
    figs=$(exporter_figures)
    med=$(printf '%s\n' "$figs" | median)
    lo=$(printf '%s\n' "$figs" | sort -g | head -1)
    hi=$(printf '%s\n' "$figs" | sort -g | tail -1)
    results+=("$(printf '%-8s %-17s %8.3f  %8.3f-%-8.3f %6.1fx' "$1" "exporter scrape" "$med" "$lo" "$hi" \
                  "$(awk -v a="$med" -v b="$base" 'BEGIN { print a / b }')")")
}

log "stage small: 100 tables"
make_tables 1 100
bench_psql -c 'ANALYZE'
measure small

log "stage tables: $TABLES tables"
make_tables 101 "$TABLES"
bench_psql -c 'ANALYZE' -c 'CHECKPOINT'
log "$(bench_psql -c "SELECT count(*) || ' tables in pg_class' FROM pg_class WHERE relkind = 'r'")"
measure tables

log "stage history: + 10,000 deliveries, 2,000 job runs, 200 snapshots"
bench_psql <<'SQL'
INSERT INTO pgmanage.pgm_endpoint (name, url, enabled)
SELECT 'ep' || g, 'http://127.0.0.1:9/hook', false FROM generate_series(1, 5) g;
INSERT INTO pgmanage.pgm_event (kind, payload, created_at)
SELECT 'bench', '{}', now() - g * interval '1 second' FROM generate_series(1, 2000) g;
INSERT INTO pgmanage.pgm_delivery (event_id, endpoint, status, delivered_at)
SELECT e.id, 'ep' || g, (ARRAY['pending', 'delivered', 'delivered', 'delivered', 'dead'])[1 + e.id % 5],
       CASE WHEN e.id % 5 IN (1, 2, 3) THEN e.created_at + interval '0.2 s' END
FROM pgmanage.pgm_event e CROSS JOIN generate_series(1, 5) g;
INSERT INTO pgmanage.pgm_job (name, kind, schedule, database_name, enabled)
SELECT 'job' || g, 'vacuum', '0 3 * * *', current_database(), false FROM generate_series(1, 20) g;
INSERT INTO pgmanage.pgm_job_run (job, kind, database_name, trigger, status, started, finished,
                                  tables_vacuumed, bytes_before, bytes_after)
SELECT 'job' || (1 + g % 20), 'vacuum', current_database(), 'schedule',
       (ARRAY['succeeded', 'succeeded', 'failed', 'skipped'])[1 + g % 4],
       now() - g * interval '1 min', now() - g * interval '1 min' + interval '10 s', 10, 100000, 90000
FROM generate_series(1, 2000) g;
INSERT INTO pgmanage.pgm_pgss_snapshot (taken_at, reset_detected)
SELECT now() - g * interval '5 min', false FROM generate_series(1, 200) g;
ANALYZE pgmanage.pgm_delivery, pgmanage.pgm_event, pgmanage.pgm_job_run, pgmanage.pgm_pgss_snapshot;
SQL
measure history

echo
echo "pgm_metrics() and pgm_metrics_text() against SELECT count(*) FROM pg_stat_activity"
echo "$ROUNDS rounds of $CALLS calls each (a new session per round, its first call not counted);"
echo "exporter scrape: the $nexporter queries of contrib/prometheus/pgmanage-queries.yaml, one after the other"
bench_machine
printf '%-8s %-17s %8s  %-17s %s\n' stage query "median" "range (ms)" "/ baseline"
printf '%s\n' "${results[@]}"
