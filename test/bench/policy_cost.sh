#!/usr/bin/env bash
# Cost of timeout policies at rest.
#  1. CPU time (utime + stime from /proc/<pid>/stat) of the pgmanage
#     launcher and worker over DURATION s (default 60) with 100 idle
#     connections and a policy that matches them all but never fires;
#     baseline: PostgreSQL's autovacuum launcher in the same interval.
#     Goal: under 0.5 % of one core.
#  2. pgbench -S TPS with pgmanage enforcing a never-firing policy vs the
#     same cluster restarted without pgmanage in shared_preload_libraries,
#     interleaved, RUNS (default 5) of PGBENCH_SECONDS (default 15) each,
#     throttled (-R 1000) and unthrottled; medians and their ratio.
#     Goal: at least 99 %.
#
#   test/bench/policy_cost.sh         # as root
#   PGM_BINDIR=/path/to/bin DURATION=60 RUNS=5 PGBENCH_SECONDS=15 test/bench/policy_cost.sh
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
DURATION=${DURATION:-60}
RUNS=${RUNS:-5}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-15}
CLIENTS=${CLIENTS:-8}

bench_machine
bench_init "log_min_messages = warning"
bench_start
bench_psql -c "CREATE EXTENSION pgmanage" -c "CREATE ROLE bench LOGIN SUPERUSER"
bench_wait "SELECT extension_found FROM pgm_status() WHERE process = 'worker'"
# matches every session, superusers too; never fires
bench_psql -c "INSERT INTO pgm_timeout_policy (statement_timeout, idle_in_transaction_timeout, exempt_superusers) VALUES ('1 min', '1 min', false)"
bench_wait "SELECT policies_loaded = 1 FROM pgm_status() WHERE process = 'launcher'"

# --- 1. CPU at rest
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for i in $(seq 100); do
    sleep $((DURATION + 30)) | PGAPPNAME=idle_$i bench_psql -U bench >/dev/null 2>&1 &
done
bench_wait "SELECT count(*) = 100 FROM pg_stat_activity WHERE application_name LIKE 'idle\_%'"
lpid=$(bench_psql -c "SELECT pid FROM pgm_status() WHERE process = 'launcher'")
wpid=$(bench_psql -c "SELECT pid FROM pgm_status() WHERE process = 'worker'")
apid=$(bench_psql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum launcher'")
l0=$(ticks "$lpid"); w0=$(ticks "$wpid"); a0=$(ticks "$apid"); t0=$(date +%s.%N)
sleep "$DURATION"
l1=$(ticks "$lpid"); w1=$(ticks "$wpid"); a1=$(ticks "$apid"); t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
pct() { awk -v d="$1" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.3f", 100 * d / hz / (t1 - t0)}'; }
echo "CPU over $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s, 100 idle connections, 1 policy that never fires:"
echo "  pgmanage launcher: $((l1 - l0)) ticks = $(pct $((l1 - l0))) % of a core"
echo "  pgmanage worker:   $((w1 - w0)) ticks = $(pct $((w1 - w0))) % of a core"
echo "  launcher + worker: $(pct $((l1 - l0 + w1 - w0))) % of a core (goal < 0.5 %)"
echo "  baseline, autovacuum launcher: $(pct $((a1 - a0))) % of a core"
jobs -p | xargs -r kill 2>/dev/null || true
wait 2>/dev/null || true

# --- 2. pgbench -S, with and without pgmanage
as_pg pgbench -h "$bench_dir" -p "$bench_port" -i -s 10 -q postgres >/dev/null 2>&1
run_pgbench() {  # run_pgbench EXTRA_ARGS -> "tps latency_ms"
    as_pg pgbench -h "$bench_dir" -p "$bench_port" -U bench -S -n -c "$CLIENTS" -j 2 -T "$PGBENCH_SECONDS" "$@" postgres 2>/dev/null |
        awk '/latency average/ {lat = $4} /^tps/ {tps = $3} END {print tps, lat}'
}
: > "$bench_dir/pgb"
for r in $(seq "$RUNS"); do
    for mode in with without; do
        bench_stop
        if [ $mode = with ]; then bench_start pgmanage; else bench_start ""; fi
        [ $mode = with ] && bench_wait "SELECT policies_loaded = 1 FROM pgm_status() WHERE process = 'launcher'"
        echo "$mode R $(run_pgbench -R 1000)" >> "$bench_dir/pgb"
        echo "$mode U $(run_pgbench)" >> "$bench_dir/pgb"
    done
done
[ "$(bench_psql -c 'SELECT count(*) FROM pgm_kill_log')" = 0 ] || { echo "the policy fired: the figures are void"; exit 1; }
echo "pgbench -S, scale 10, $CLIENTS clients, $RUNS x $PGBENCH_SECONDS s per mode, interleaved (TPS / average latency ms per run):"
for kind in R U; do
    label=$([ $kind = R ] && echo "throttled -R 1000" || echo "unthrottled")
    for mode in with without; do
        echo "  $label, $mode pgmanage: $(awk -v m=$mode -v k=$kind '$1 == m && $2 == k {printf "%s/%s ", $3, $4}' "$bench_dir/pgb")"
    done
    tw=$(awk -v k=$kind '$1 == "with" && $2 == k {print $3}' "$bench_dir/pgb" | median)
    to=$(awk -v k=$kind '$1 == "without" && $2 == k {print $3}' "$bench_dir/pgb" | median)
    lw=$(awk -v k=$kind '$1 == "with" && $2 == k {print $4}' "$bench_dir/pgb" | median)
    lo=$(awk -v k=$kind '$1 == "without" && $2 == k {print $4}' "$bench_dir/pgb" | median)
    # each run with pgmanage against the run without that follows it: robust to a load that drifts
    pair=$(paste <(awk -v k=$kind '$1 == "with" && $2 == k {print $3}' "$bench_dir/pgb") \
                 <(awk -v k=$kind '$1 == "without" && $2 == k {print $3}' "$bench_dir/pgb") |
           awk '{print 100 * $1 / $2}' | median)
    awk -v l="$label" -v a="$tw" -v b="$to" -v c="$lw" -v d="$lo" -v p="$pair" \
        'BEGIN {printf "  %s medians: TPS %.1f with / %.1f without = %.1f %% (goal >= 99 %%); median of paired ratios %.1f %%; latency %.3f / %.3f ms\n", l, a, b, 100 * a / b, p, c, d}'
done
