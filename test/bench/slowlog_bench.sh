#!/usr/bin/env bash
# Benchmark of slow-query capture (docs/benchmarks.md, "Slow-query capture").
#
#   test/bench/slowlog_bench.sh [all|callgrind|pgbench|capture]
#
# 1. callgrind: instructions per primary-key SELECT through single-user mode
#    (postgres --single loads shared_preload_libraries and runs the executor
#    hooks) under valgrind --tool=callgrind, for 2,500 and 5,000 statements;
#    (I(5000) - I(2500)) / 2500 is the marginal cost of one statement.
# 2. pgbench: TPS of -S and of the TPC-B-like script for the same
#    configurations, interleaved, median of BENCH_ROUNDS runs of
#    BENCH_SECONDS each (noisy on a shared machine).
# 3. capture: 10,000 statements/s for 10 s from 8 clients with
#    pgmanage.log_min_duration = 0 (every statement is slow): how many reach
#    pgm_slow_queries, how many are counted as dropped, latency added
#    (same rate with capture off as the baseline), and the ring's memory.
#
# Runs as root (or through sudo); the cluster runs as the postgres OS user
# in a temporary directory under /tmp and is removed at the end.  Uses the
# installed pgmanage (run `make install` or scripts/test.sh first);
# PGM_BENCH_BINDIR selects another PostgreSQL bin directory.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
pgm_become_root "$0" "$@"

what=${1:-all}
bindir=${PGM_BENCH_BINDIR:-$PGM_BINDIR}
rounds=${BENCH_ROUNDS:-5}
seconds=${BENCH_SECONDS:-5}
port=$((56000 + RANDOM % 1000))
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }

work=$(mktemp -d /tmp/pgm-bench.XXXXXX)
chown postgres: "$work"
data=$work/data
as_pg() { runuser -u postgres -- env PATH="$bindir:$PATH" "$@"; }
cleanup() {
    as_pg pg_ctl -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# configurations: name and server options
declare -A conf=(
    [baseline]="-c shared_preload_libraries="
    [auto_explain_1000ms]="-c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=1000"
    [pg_stat_statements]="-c shared_preload_libraries=pg_stat_statements"
    [pgmanage_loaded_off]="-c shared_preload_libraries=pgmanage"
    [pgmanage_1000ms]="-c shared_preload_libraries=pgmanage -c pgmanage.log_min_duration=1000"
    [pgmanage_1000ms_text_plans]="-c shared_preload_libraries=pgmanage -c pgmanage.log_min_duration=1000 -c pgmanage.log_plan=text"
    [auto_explain_1000ms_analyze]="-c shared_preload_libraries=auto_explain -c auto_explain.log_min_duration=1000 -c auto_explain.log_analyze=on"
)
order=(baseline auto_explain_1000ms pg_stat_statements pgmanage_loaded_off pgmanage_1000ms
       pgmanage_1000ms_text_plans auto_explain_1000ms_analyze)

start() {  # start OPTIONS...
    as_pg pg_ctl -D "$data" -l "$work/server.log" -w -o "-p $port -k $work -c listen_addresses='' -c pgmanage.database=postgres $*" start >/dev/null
}
stop() { as_pg pg_ctl -D "$data" -m fast -w stop >/dev/null; }
psql_() { as_pg psql -X -q -At -h "$work" -p "$port" -d postgres "$@"; }

echo "machine: nproc=$(nproc), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $("$bindir/postgres" --version)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

as_pg initdb -D "$data" -A trust >/dev/null
echo "search_path = '\"\$user\", public, pgmanage'" >> "$data/postgresql.conf"
start
as_pg pgbench -i -q -s 1 -h "$work" -p "$port" postgres >/dev/null 2>&1
stop

callgrind() {
    echo
    echo "== instructions per primary-key SELECT (single-user mode, callgrind)"
    for n in 2500 5000; do
        awk -v n=$n 'BEGIN { srand(42); for (i = 0; i < n; i++) printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", 1 + int(rand() * 100000) }' > "$work/select_$n.sql"
    done
    chown postgres: "$work"/select_*.sql
    local base=""
    printf '%-30s %15s %15s %12s %10s\n' config "I(2500)" "I(5000)" "per query" "vs base"
    for c in "${order[@]}"; do
        local i2 i5 per
        for n in 2500 5000; do
            # shellcheck disable=SC2086
            as_pg valgrind --tool=callgrind --callgrind-out-file="$work/cg.$c.$n" \
                postgres --single -D "$data" ${conf[$c]} postgres < "$work/select_$n.sql" > /dev/null 2> "$work/cg.$c.$n.err"
            local total
            total=$(awk '/^(summary|totals):/ {print $2; exit}' "$work/cg.$c.$n")
            if [ $n = 2500 ]; then i2=$total; else i5=$total; fi
        done
        per=$(( (i5 - i2) / 2500 ))
        [ -z "$base" ] && base=$per
        printf '%-30s %15s %15s %12s %9.2f%%\n' "$c" "$i2" "$i5" "$per" \
            "$(echo "scale=4; ($per - $base) * 100 / $base" | bc)"
    done
}

pgbench_tps() {
    echo
    echo "== pgbench TPS, -c 2 -j 2 -T $seconds, median of $rounds interleaved runs (shared machine: noisy)"
    declare -A tps_s tps_b
    for r in $(seq 1 "$rounds"); do
        for c in "${order[@]}"; do
            # shellcheck disable=SC2086
            start ${conf[$c]}
            local s b
            s=$(as_pg pgbench -n -S -M prepared -c 2 -j 2 -T "$seconds" -h "$work" -p "$port" postgres 2>/dev/null | awk '/^tps/ {print int($3)}')
            b=$(as_pg pgbench -n -M prepared -c 2 -j 2 -T "$seconds" -h "$work" -p "$port" postgres 2>/dev/null | awk '/^tps/ {print int($3)}')
            stop
            tps_s[$c]="${tps_s[$c]:-} $s"
            tps_b[$c]="${tps_b[$c]:-} $b"
        done
    done
    median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
    local base_s base_b
    base_s=$(echo "${tps_s[baseline]}" | median)
    base_b=$(echo "${tps_b[baseline]}" | median)
    printf '%-30s %10s %8s %12s %8s   %s\n' config "-S tps" ratio "tpcb tps" ratio "runs (-S | tpcb)"
    for c in "${order[@]}"; do
        local ms mb
        ms=$(echo "${tps_s[$c]}" | median)
        mb=$(echo "${tps_b[$c]}" | median)
        printf '%-30s %10s %8.3f %12s %8.3f   %s |%s\n' "$c" "$ms" "$(echo "scale=4; $ms / $base_s" | bc)" \
            "$mb" "$(echo "scale=4; $mb / $base_b" | bc)" "${tps_s[$c]}" "${tps_b[$c]}"
    done
}

capture() {
    echo
    echo "== capture: pgbench -S at 10,000 statements/s, 8 clients, 10 s, pgmanage.log_min_duration = 0"
    start -c shared_preload_libraries=pg_stat_statements,pgmanage -c pgmanage.pgss_snapshot_interval=0
    psql_ -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'CREATE EXTENSION IF NOT EXISTS pgmanage'
    psql_ -c 'SELECT pg_sleep(2)' >/dev/null   # the worker finds the extension
    run() {
        as_pg pgbench -n -S -M prepared -c 8 -j 2 -R 10000 -T 10 -h "$work" -p "$port" postgres 2>/dev/null |
            awk '/actually processed/ {p = $NF} /latency average/ {l = $4} /^tps/ {t = $3} END {printf "%s %s %s", p, l, t}'
    }
    local off on pglog before after
    off=$(run)
    # reference: PostgreSQL's own log_min_duration_statement = 0 (the same log lines, no capture)
    psql_ -c 'ALTER DATABASE postgres SET log_min_duration_statement = 0'
    pglog=$(run)
    psql_ -c 'ALTER DATABASE postgres RESET log_min_duration_statement'
    before=$(psql_ -c "SELECT captured || ' ' || written || ' ' || dropped FROM pgm_slow_query_stats()")
    psql_ -c 'ALTER DATABASE postgres SET pgmanage.log_min_duration = 0'
    on=$(run)
    psql_ -c 'ALTER DATABASE postgres RESET pgmanage.log_min_duration'
    local waited=0
    until [ "$(psql_ -c 'SELECT pending FROM pgm_slow_query_stats()')" = 0 ] || [ $waited -ge 60 ]; do sleep 1; waited=$((waited + 1)); done
    after=$(psql_ -c "SELECT captured || ' ' || written || ' ' || dropped FROM pgm_slow_query_stats()")
    read -r _ lat_off tps_off <<< "$off"
    read -r _ lat_pglog tps_pglog <<< "$pglog"
    read -r n_on lat_on tps_on <<< "$on"
    read -r c0 w0 d0 <<< "$before"
    read -r c1 w1 d1 <<< "$after"
    echo "capture off: latency average $lat_off ms, tps $tps_off"
    echo "log_min_duration_statement = 0 (reference): latency average $lat_pglog ms, tps $tps_pglog"
    echo "capture on:  latency average $lat_on ms, tps $tps_on, statements run $n_on"
    echo "captured $((c1 - c0)), written to pgm_slow_queries $((w1 - w0)), dropped $((d1 - d0)), rows in table $(psql_ -c 'SELECT count(*) FROM pgm_slow_queries')"
    echo "latency added per statement: $(echo "scale=3; $lat_on - $lat_off" | bc) ms vs capture off, $(echo "scale=3; $lat_on - $lat_pglog" | bc) ms vs log_min_duration_statement = 0"
    psql_ -c "SELECT 'ring: ' || buffer_slots || ' slots, ' || buffer_bytes || ' bytes (pgmanage.capture_buffer_size = ' || current_setting('pgmanage.capture_buffer_size') || ')' FROM pgm_slow_query_stats()"
    echo "server log lines: $(wc -l < "$work/server.log")"
    stop
}

case "$what" in
all) callgrind; pgbench_tps; capture ;;
callgrind) callgrind ;;
pgbench) pgbench_tps ;;
capture) capture ;;
*) pgm_die "usage: $0 [all|callgrind|pgbench|capture]" ;;
esac
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
