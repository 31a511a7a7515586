#!/usr/bin/env bash
# Benchmark: pgm_health() against the equivalent check_postgres actions run
# one after another, in the same run, on a cluster with many tables (default
# 10,000, each with a serial primary key: 10,000 sequences and indexes) and
# many idle sessions (default 200).
#
#   sudo test/bench/health_vs_check_postgres.sh [TABLES] [SESSIONS] [RUNS]
#
# Needs pgmanage installed into the system PostgreSQL 15 (make install, e.g.
# flock /tmp/pgmanage-test.lock sh -c 'make install && test/bench/...');
# installs the Debian package check-postgres (apt-get install -y) if
# check_postgres is missing.  The cluster is a throw-away one in /tmp
# (bench_lib.sh: Unix socket only), removed at the end.
#
# The pairs (pgm_health check -> check_postgres action):
#   disk -> disk_space, wraparound -> autovac_freeze, slot_retention ->
#   replication_slots, connections -> backends, sequences -> sequence,
#   long_transactions -> txn_time, xmin_horizon -> txn_idle (the nearest),
#   prepared_transactions -> prepared_txns, archive -> archive_ready.
# pgm_health() also runs replication_lag, invalid_indexes and pg_hba, which
# check_postgres has no action for (hot_standby_delay needs a standby).
#
# Each run, in this order: one psql process calling pgm_health() (wall time
# of the process, as a monitoring agent would run it), then each action as
# its own check_postgres process (wall time, summed).  Also the server-side
# time of pgm_health() (\timing in one session, warm).  Prints per run, then
# the median and range over the runs, and the ratio check_postgres / ours.
set -euo pipefail
TABLES=${1:-10000}
SESSIONS=${2:-200}
RUNS=${3:-5}
. "$(dirname "$0")/bench_lib.sh"

pkglib=$("$PGM_BINDIR/pg_config" --pkglibdir)
[ -f "$pkglib/pgmanage.so" ] || { echo "pgmanage is not installed in $pkglib: run make install first" >&2; exit 1; }
if ! command -v check_postgres >/dev/null; then
    apt-get install -y check-postgres >/dev/null || { echo "could not install check-postgres" >&2; exit 1; }
fi
log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
now_ms() { date +%s%3N; }

bench_init "fsync = off" "synchronous_commit = off" "autovacuum = off" "max_wal_size = 4GB" \
    "archive_mode = on" "archive_command = '/bin/true'" "pgmanage.health_check_interval = 0" \
    "log_min_messages = warning"
bench_start
bench_psql -c "CREATE EXTENSION pgmanage"
log "creating $TABLES tables with a serial primary key ..."
bench_psql <<SQL
DO \$\$
BEGIN
  FOR i IN 1..$TABLES LOOP
    EXECUTE format('CREATE TABLE t%s (id serial PRIMARY KEY, v int)', i);
    EXECUTE format('INSERT INTO t%s (v) SELECT g FROM generate_series(1, 3) g', i);
    IF i % 500 = 0 THEN COMMIT; END IF;
  END LOOP;
END \$\$;
SQL
bench_psql -c "VACUUM ANALYZE" -c "CHECKPOINT"

# idle sessions: psql processes reading a FIFO that nobody writes to until the end
mkfifo "$bench_dir/idle"; chown postgres: "$bench_dir/idle"
for i in $(seq "$SESSIONS"); do
    as_pg psql -X -q -h "$bench_dir" -p "$bench_port" -d postgres < "$bench_dir/idle" >/dev/null 2>&1 &
done
exec 7>"$bench_dir/idle"      # opening the writer lets the readers start
bench_wait "SELECT count(*) >= $SESSIONS FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = 'idle'"
log "$(bench_psql -c "SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace) || ' tables, '
    || (SELECT count(*) FROM pg_sequence) || ' sequences, '
    || (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') || ' client sessions'")"

cp_common=(--host="$bench_dir" --port="$bench_port" --dbuser=postgres --db=postgres)
actions=(
    "disk_space --warning=90% --critical=95%"
    "autovac_freeze --warning=90% --critical=95%"
    "replication_slots --warning=1GB --critical=10GB"
    "backends --warning=80% --critical=95%"
    "sequence --warning=75% --critical=90%"
    "txn_time --warning=30min --critical=2h"
    "txn_idle --warning=30min --critical=2h"
    "prepared_txns --warning=300 --critical=3600"
    "archive_ready --warning=10 --critical=20"
)
run_cp() { # action and options; prints the wall ms; the output goes to the log
    local t0 t1
    t0=$(now_ms)
    # shellcheck disable=SC2086
    as_pg check_postgres "${cp_common[@]}" --action=$1 >> "$bench_dir/check_postgres.out" 2>&1 || true
    t1=$(now_ms)
    echo $((t1 - t0))
}
run_ours() {
    local t0 t1
    t0=$(now_ms)
    bench_psql -c "SELECT * FROM pgmanage.pgm_health()" >> "$bench_dir/pgm_health.out"
    t1=$(now_ms)
    echo $((t1 - t0))
}

# warm-up (and a look at what each says)
run_ours >/dev/null
for a in "${actions[@]}"; do run_cp "$a" >/dev/null; done
log "pgm_health():"
as_pg psql -X -h "$bench_dir" -p "$bench_port" -d postgres -c "SELECT * FROM pgmanage.pgm_health()" >&2
log "check_postgres: $(grep -c . "$bench_dir/check_postgres.out") lines, e.g. $(head -1 "$bench_dir/check_postgres.out" | cut -c1-120)"

declare -a ours_ms cp_ms ratio server_ms
declare -A per_action
for r in $(seq "$RUNS"); do
    o=$(run_ours)
    total=0
    for a in "${actions[@]}"; do
        t=$(run_cp "$a")
        per_action[${a%% *}]+="$t "
        total=$((total + t))
    done
    s=$(bench_psql -o /dev/null -c '\timing on' -c "SELECT * FROM pgmanage.pgm_health()" -c "SELECT * FROM pgmanage.pgm_health()" \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
    ours_ms+=("$o"); cp_ms+=("$total"); server_ms+=("$s")
    ratio+=("$(awk -v a="$total" -v b="$o" 'BEGIN { printf "%.2f", a / b }')")
    echo "run $r: pgm_health() ${o} ms (server ${s} ms), check_postgres ${#actions[@]} actions ${total} ms, ratio ${ratio[-1]}"
done

range() { sort -g | awk '{ v[NR] = $1 } END { printf "%s .. %s", v[1], v[NR] }'; }
summary() { # label, numbers
    local label=$1; shift
    printf '%-36s median %s, range %s\n' "$label" "$(printf '%s\n' "$@" | median)" "$(printf '%s\n' "$@" | range)"
}
echo
bench_machine
echo "cluster: $TABLES tables (serial primary key), $SESSIONS idle sessions, $RUNS runs; check_postgres $(check_postgres --version 2>/dev/null | head -1)"
summary "pgm_health(), psql process (ms)" "${ours_ms[@]}"
summary "pgm_health(), server side (ms)" "${server_ms[@]}"
summary "check_postgres, 9 actions (ms)" "${cp_ms[@]}"
summary "ratio check_postgres / pgm_health()" "${ratio[@]}"
for a in "${actions[@]}"; do
    n=${a%% *}
    # shellcheck disable=SC2086
    summary "  check_postgres $n (ms)" ${per_action[$n]}
done
exec 7>&-
