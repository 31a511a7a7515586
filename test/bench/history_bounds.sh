#!/usr/bin/env bash
# Benchmark: a day of one-second jobs and a capture storm leave the tables
# and their WAL within the stated bounds (pgmanage.*_max_rows).
#
#   sudo test/bench/history_bounds.sh [DAYS] [RUNS] [STORM_S]   # defaults: 3 days, 3 runs, 120 s
#
# One throw-away cluster (bench_lib.sh), pgmanage preloaded from
# PGM_BINDIR's installation.  Each run does two phases with the same
# workload, in this order:
#   baseline  the caps off (every *_max_rows = 0): retention alone (job runs
#             30 days, slow queries 7 days), as before 2.2;
#   capped    the default caps: job_run_max_rows = slow_queries_max_rows = 100,000.
# Each phase starts from empty tables after a CHECKPOINT and measures the
# WAL of the whole phase (pg_wal_lsn_diff), then the rows and the table +
# index + TOAST bytes (pg_total_relation_size, after a VACUUM) of pgm_job_run
# and pgm_slow_queries, the most rows pgm_job_run held after any simulated
# hour and the most rows pgm_slow_queries held at any second of the storm.
#
# The workload:
# - jobs: a job firing every second for DAYS days (DAYS * 86,400 runs), made
#   faster than real time: each simulated hour, 3,600 runs are written the way
#   the worker writes them (INSERT queued, UPDATE running, UPDATE succeeded,
#   one short transaction per step and per 600 runs), timestamps spread over
#   that hour of the simulated days that end now, an hour every ~1.5 s of
#   real time (about 2,400 times real time: the worker's cap check, every
#   10 s, sees ~24,000 new rows where a real one-second job makes 10), and
#   a VACUUM pgm_job_run after each simulated hour, in both phases, for the
#   autovacuum runs a real hour would see (without it the compressed days
#   measure autovacuum's naptime, not the cap);
# - a capture storm: pgmanage.log_min_duration = 0 for STORM_S seconds while
#   pgbench (4 clients) runs SELECT 1 as fast as it can: every statement is
#   captured for real, through the shared-memory ring and the worker's drain
#   (what the ring cannot hold is dropped and counted, as in production).
# At the end the capped phase waits until the worker has applied the caps
# (at most 100,000 rows each, or 120 s).  The last lines give, over the
# runs, the median and range of the ratios capped/baseline.
set -euo pipefail
DAYS=${1:-3}
RUNS=${2:-3}
STORM_S=${3:-120}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"
[ -f "$("$PGM_BINDIR/pg_config" --pkglibdir)/pgmanage.so" ] || { echo "pgmanage is not installed in $PGM_BINDIR" >&2; exit 1; }

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
q() { bench_psql -v ON_ERROR_STOP=1 "$@"; }

bench_init "autovacuum = on" "pgmanage.naptime = '200ms'" "pgmanage.enable_jobs = off" "max_wal_size = '8GB'" \
    "checkpoint_timeout = '1h'" "shared_buffers = '256MB'" "pgmanage.capture_buffer_size = '16MB'"
bench_start
q -c 'CREATE EXTENSION pgmanage'
q -c 'CREATE TABLE tiny (a int)'
log "DAYS=$DAYS, $RUNS runs, storm $STORM_S s; $(bench_machine)"

set_caps() {
    q -c "ALTER SYSTEM SET pgmanage.job_run_max_rows = $1" \
      -c "ALTER SYSTEM SET pgmanage.slow_queries_max_rows = $1" \
      -c "ALTER SYSTEM SET pgmanage.kill_log_max_rows = $1" \
      -c "ALTER SYSTEM SET pgmanage.webhook_max_rows = $1" \
      -c 'SELECT pg_reload_conf()' >/dev/null
    bench_wait "SELECT current_setting('pgmanage.job_run_max_rows') = '$1'"
}

# one simulated hour h (0 = the first of the DAYS) of a job firing every second
job_hour() {
    local h=$1 hours=$((DAYS * 24)) b
    for b in 0 1 2 3 4 5; do
        q <<SQL >/dev/null
INSERT INTO pgm_job_run (job, kind, database_name, trigger, scheduled_for, queued_at, status)
SELECT 'every_second', 'vacuum', 'postgres', 'schedule', s.at, s.at, 'queued'
FROM (SELECT now() - make_interval(hours => $hours - $h) + make_interval(secs => $b * 600 + g) AS at
      FROM generate_series(0, 599) g) s;
BEGIN;
UPDATE pgm_job_run SET status = 'running', started = scheduled_for, pid = 4242
WHERE job = 'every_second' AND status = 'queued';
COMMIT;
UPDATE pgm_job_run SET status = 'succeeded', finished = started + interval '0.2 s', pid = NULL,
       tables_considered = 1, tables_vacuumed = 1
WHERE job = 'every_second' AND status = 'running';
SQL
    done
}

phase() {
    local name=$1 cap=$2 l0 l1 h maxrows=0 n t0 t1 storm_rows
    set_caps "$cap"
    q -c 'SET client_min_messages = warning' -c 'TRUNCATE pgm_job_run CASCADE' -c 'TRUNCATE pgm_slow_queries' -c 'CHECKPOINT'
    l0=$(q -c 'SELECT pg_current_wal_lsn()')
    t0=$(date +%s)
    local days=""
    for h in $(seq 0 $((DAYS * 24 - 1))); do
        job_hour "$h"
        # what autovacuum does in a real hour (it cannot, in 1.5 s)
        q -c 'VACUUM pgm_job_run'
        n=$(q -c 'SELECT count(*) FROM pgm_job_run')
        [ "$n" -gt "$maxrows" ] && maxrows=$n
        if [ $(((h + 1) % 24)) = 0 ]; then
            days="$days${days:+,}$(mb "$(q -c "SELECT pg_total_relation_size('pgm_job_run')")")"
        fi
    done
    # the capture storm
    q -c "ALTER SYSTEM SET pgmanage.log_min_duration = 0" -c 'SELECT pg_reload_conf()' >/dev/null
    bench_wait "SELECT current_setting('pgmanage.log_min_duration') = '0'"
    echo 'SELECT 1;' > "$bench_dir/storm.sql"
    as_pg pgbench -n -c 4 -j 4 -T "$STORM_S" -f "$bench_dir/storm.sql" \
        -h "$bench_dir" -p "$bench_port" postgres >/dev/null 2>&1 &
    local pgb=$! smax=0
    while kill -0 "$pgb" 2>/dev/null; do
        sleep 1
        n=$(q -c 'SELECT count(*) FROM pgm_slow_queries')
        [ "$n" -gt "$smax" ] && smax=$n
    done
    wait "$pgb"
    q -c "ALTER SYSTEM RESET pgmanage.log_min_duration" -c 'SELECT pg_reload_conf()' >/dev/null
    bench_wait "SELECT current_setting('pgmanage.log_min_duration') = '-1'"
    if [ "$cap" -gt 0 ]; then
        for _ in $(seq 120); do
            [ "$(q -c "SELECT (SELECT count(*) FROM pgm_job_run) <= $cap AND (SELECT count(*) FROM pgm_slow_queries) <= $cap")" = t ] && break
            sleep 1
        done
    else
        sleep 5     # the worker drains what the ring still holds
    fi
    t1=$(date +%s)
    l1=$(q -c 'SELECT pg_current_wal_lsn()')
    q -c 'VACUUM pgm_job_run' -c 'VACUUM pgm_slow_queries'
    storm_rows=$(q -c "SELECT count(*) FROM pgm_slow_queries")
    printf '%s %s %s %s %s %s %s %s %s %s\n' "$name" \
        "$(q -c 'SELECT count(*) FROM pgm_job_run')" \
        "$(q -c "SELECT pg_total_relation_size('pgm_job_run')")" \
        "$storm_rows" \
        "$(q -c "SELECT pg_total_relation_size('pgm_slow_queries')")" \
        "$(q -c "SELECT pg_wal_lsn_diff('$l1', '$l0')::bigint")" \
        "$maxrows" "$((t1 - t0))" "$smax" "$days"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
results=()
for r in $(seq "$RUNS"); do
    read -r _ br bjs bsr bss bwal bmax bt bsmax bdays < <(phase baseline 0)
    read -r _ cr cjs csr css cwal cmax ct csmax cdays < <(phase capped 100000)
    printf 'run %d baseline: pgm_job_run %s rows %s MB (most %s), pgm_slow_queries %s rows %s MB (most during the storm %s), WAL %s MB, %s s\n' \
        "$r" "$br" "$(mb "$bjs")" "$bmax" "$bsr" "$(mb "$bss")" "$bsmax" "$(mb "$bwal")" "$bt"
    printf 'run %d capped:   pgm_job_run %s rows %s MB (most %s), pgm_slow_queries %s rows %s MB (most during the storm %s), WAL %s MB, %s s\n' \
        "$r" "$cr" "$(mb "$cjs")" "$cmax" "$csr" "$(mb "$css")" "$csmax" "$(mb "$cwal")" "$ct"
    printf 'run %d pgm_job_run MB at the end of each simulated day: baseline %s; capped %s\n' "$r" "$bdays" "$cdays"
    printf 'run %d ratios capped/baseline: job_run bytes %s, slow_queries bytes %s, WAL %s\n' \
        "$r" "$(ratio "$cjs" "$bjs")" "$(ratio "$css" "$bss")" "$(ratio "$cwal" "$bwal")"
    results+=("$(ratio "$cjs" "$bjs") $(ratio "$css" "$bss") $(ratio "$cwal" "$bwal") $cr $cmax $csr $(mb "$cjs") $(mb "$css") $(mb "$bjs") $(mb "$bss") $(mb "$cwal") $(mb "$bwal") $csmax $bsr")
done
summary() {
    local col=$1 label=$2
    printf '%s\n' "${results[@]}" | awk -v c="$col" '{print $c}' | sort -g | awk -v l="$label" '{v[NR]=$1} END {
        printf "%s: median %s, range %s-%s (%d runs)\n", l, v[int((NR+1)/2)], v[1], v[NR], NR }'
}
echo "DAYS=$DAYS of one-second jobs ($((DAYS * 86400)) runs) + a ${STORM_S} s capture storm; caps 100,000"
summary 1 'pgm_job_run bytes, capped/baseline'
summary 2 'pgm_slow_queries bytes, capped/baseline'
summary 3 'WAL, capped/baseline'
summary 4 'pgm_job_run rows at the end, capped'
summary 5 'pgm_job_run rows, most seen at any check, capped'
summary 6 'pgm_slow_queries rows at the end, capped'
summary 7 'pgm_job_run MB, capped'
summary 8 'pgm_slow_queries MB, capped'
summary 9 'pgm_job_run MB, baseline'
summary 10 'pgm_slow_queries MB, baseline'
summary 11 'WAL MB, capped'
summary 12 'WAL MB, baseline'
summary 13 'pgm_slow_queries rows, most seen during the storm, capped'
summary 14 'pgm_slow_queries rows at the end, baseline'
