#!/usr/bin/env bash
# Benchmark: WAL written by one pgm_vacuum_now(strategy => 'all') against
# `vacuumdb --analyze` over the same N small tables, each with dead tuples.
#
#   sudo test/bench/vacuum_wal.sh [N] [RUNS]        # defaults: 20000 tables, 3 runs
#
# One throw-away cluster (bench_lib.sh: initdb in /tmp as postgres, its own
# port, pgmanage preloaded from PGM_BINDIR's installation; autovacuum off).
# Database tmpl gets N tables in schema public (40 rows, a quarter of them
# deleted; vacuumed by nobody).  Each run copies it twice (CREATE DATABASE
# ... TEMPLATE tmpl STRATEGY FILE_COPY: identical fresh data), then
#   vacuumdb  CHECKPOINT; LSN; vacuumdb --analyze -t public.t1 ... -t public.tN d_vdb; LSN
#   pgmanage  CHECKPOINT; LSN; pgm_vacuum_now(database => 'd_pgm',
#             schema_name => 'public', strategy => 'all'); poll
#             pgm_job_run.status every 100 ms until it is final; LSN
# and prints both WAL volumes (pg_wal_lsn_diff) and their ratio; the last
# lines give the median and range of the ratio over the runs.  Both start
# right after a checkpoint, so both pay the full-page images of the pages
# they touch.  The pgmanage figure includes everything the server wrote
# meanwhile: the run's rows in pgm_job_run (and pgm_job_run_detail), the
# worker's other duties (idle here).
#
# A baseline: install another build in a private copy of PostgreSQL and
# point PGM_BINDIR at it (make install DESTDIR=/tmp/x after copying
# /usr/lib/postgresql/15 and /usr/share/postgresql/15 under /tmp/x), or run
# it as `flock /tmp/pgmanage-test.lock sh -c 'make install && test/bench/vacuum_wal.sh'`.
set -euo pipefail
N=${1:-20000}
RUNS=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"
[ -f "$("$PGM_BINDIR/pg_config" --pkglibdir)/pgmanage.so" ] || { echo "pgmanage is not installed in $PGM_BINDIR" >&2; exit 1; }

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
q() { bench_psql -v ON_ERROR_STOP=1 "$@"; }

bench_init "autovacuum = off" "pgmanage.naptime = '200ms'" "max_wal_size = '8GB'" \
    "checkpoint_timeout = '1h'" "max_locks_per_transaction = 256" "shared_buffers = '256MB'"
bench_start
q -c 'CREATE EXTENSION pgmanage'
log "N=$N tables, $RUNS runs; $(bench_machine)"

q -c 'CREATE DATABASE tmpl'
q -d tmpl <<SQL
CREATE PROCEDURE make_tables(n int) LANGUAGE plpgsql AS \$\$
BEGIN
    FOR i IN 1..n LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, pad text)', i);
        EXECUTE format('INSERT INTO t%s SELECT g, repeat(''p'', 40) FROM generate_series(1, 40) g', i);
        EXECUTE format('DELETE FROM t%s WHERE id %% 4 = 0', i);
        IF i % 500 = 0 THEN COMMIT; END IF;
    END LOOP;
END
\$\$;
CALL make_tables($N);
DROP PROCEDURE make_tables(int);
SQL
log "tmpl: $N tables made"

lsn() { q -c 'SELECT pg_current_wal_lsn()'; }
# vacuumdb 15 has no --schema: the tables by name (vacuumdb -t each)
tables=()
for i in $(seq "$N"); do tables+=(-t "public.t$i"); done
ratios=()
for r in $(seq "$RUNS"); do
    q -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS d_vdb' -c 'DROP DATABASE IF EXISTS d_pgm'
    q -c 'CREATE DATABASE d_vdb TEMPLATE tmpl STRATEGY FILE_COPY' \
      -c 'CREATE DATABASE d_pgm TEMPLATE tmpl STRATEGY FILE_COPY'

    q -c CHECKPOINT
    l0=$(lsn); t0=$(date +%s%3N)
    as_pg vacuumdb -q --analyze "${tables[@]}" -h "$bench_dir" -p "$bench_port" -d d_vdb
    t1=$(date +%s%3N); l1=$(lsn)
    vdb=$(q -c "SELECT pg_wal_lsn_diff('$l1', '$l0')::bigint")

    q -c CHECKPOINT
    l0=$(lsn); t2=$(date +%s%3N)
    run=$(q -c "SELECT pgm_vacuum_now(database => 'd_pgm', schema_name => 'public', strategy => 'all')")
    until [ "$(q -c "SELECT status NOT IN ('queued', 'running') FROM pgm_job_run WHERE id = $run")" = t ]; do
        sleep 0.1
    done
    t3=$(date +%s%3N); l1=$(lsn)
    pgm=$(q -c "SELECT pg_wal_lsn_diff('$l1', '$l0')::bigint")
    check=$(q -c "SELECT status || ' ' || tables_vacuumed || ' ' || jsonb_array_length(details) FROM pgm_job_run WHERE id = $run")
    ratio=$(awk -v a="$pgm" -v b="$vdb" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    printf 'run %d: vacuumdb %.1f MB in %.1f s; pgmanage %.1f MB in %.1f s (run %s: %s); WAL ratio pgmanage/vacuumdb %s\n' \
        "$r" "$(awk -v b="$vdb" 'BEGIN { print b / 1048576 }')" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1000 }')" \
        "$(awk -v b="$pgm" 'BEGIN { print b / 1048576 }')" "$(awk -v a="$t2" -v b="$t3" 'BEGIN { print (b - a) / 1000 }')" \
        "$run" "$check" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk -v n="$N" '{v[NR]=$1} END {
    printf "N=%d, %d runs: WAL ratio pgmanage/vacuumdb median %s, range %s-%s\n", n, NR, v[int((NR+1)/2)], v[1], v[NR] }'
