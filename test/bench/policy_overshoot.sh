#!/usr/bin/env bash
# Overshoot of timeout policies: N sessions (default 50) run pg_sleep under
# policy limits spread between 1 s and 10 s; the overshoot is the time the
# client waited for its error beyond the limit (psql's \timing, which
# starts when the statement is sent).  In the same run, N sessions with the
# same limits as PostgreSQL's own statement_timeout are the
# reference (rounds alternate between the two).  Also from the server: pgm_kill_log.duration - limit (how
# late the launcher sent the signal).
#
#   test/bench/policy_overshoot.sh            # as root; ROUNDS=3 N=50
#   PGM_BINDIR=/path/to/bin ROUNDS=5 test/bench/policy_overshoot.sh
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
N=${N:-50}
ROUNDS=${ROUNDS:-3}

bench_machine
bench_init "log_min_messages = warning"
bench_start
bench_psql -c "CREATE EXTENSION pgmanage" -c "CREATE ROLE bench LOGIN"
bench_wait "SELECT extension_found FROM pgm_status() WHERE process = 'worker'"

limit_ms() { echo $((1000 + $1 * 9000 / (N - 1))); }
for i in $(seq 0 $((N - 1))); do
    echo "INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('ov_$i', '$(limit_ms "$i") ms');"
done | bench_psql >/dev/null
bench_wait "SELECT policies_loaded = $N FROM pgm_status() WHERE process = 'launcher'"

: > "$bench_dir/policy.ms"; : > "$bench_dir/reference.ms"
for r in $(seq "$ROUNDS"); do
    # alternate rounds: N policy sessions, then N statement_timeout sessions
    for method in p r; do
        for i in $(seq 0 $((N - 1))); do
            if [ $method = p ]; then
                PGAPPNAME=ov_$i bench_psql -U bench -c '\timing on' -c 'SELECT pg_sleep(60)' > "$bench_dir/p_$i.out" 2>&1 &
            else
                PGAPPNAME=ref_$i bench_psql -U bench -c '\timing on' -c "SET statement_timeout = $(limit_ms "$i")" \
                    -c 'SELECT pg_sleep(60)' > "$bench_dir/r_$i.out" 2>&1 &
            fi
        done
        wait
    done
    for i in $(seq 0 $((N - 1))); do
        l=$(limit_ms "$i")
        grep -q 'canceling statement due to pgmanage timeout policy' "$bench_dir/p_$i.out" ||
            { echo "session ov_$i was not cancelled:"; cat "$bench_dir/p_$i.out"; exit 1; }
        grep -q 'canceling statement due to statement timeout' "$bench_dir/r_$i.out" ||
            { echo "session ref_$i was not cancelled:"; cat "$bench_dir/r_$i.out"; exit 1; }
        grep -o 'Time: [0-9.]*' "$bench_dir/p_$i.out" | tail -1 | awk -v l="$l" '{print $2 - l}' >> "$bench_dir/policy.ms"
        grep -o 'Time: [0-9.]*' "$bench_dir/r_$i.out" | tail -1 | awk -v l="$l" '{print $2 - l}' >> "$bench_dir/reference.ms"
    done
done
bench_wait "SELECT kill_log_pending = 0 FROM pgm_status() WHERE process = 'worker'"
bench_psql -c "SELECT extract(epoch FROM l.duration - p.statement_timeout) * 1000
               FROM pgm_kill_log l JOIN pgm_timeout_policy p ON p.id = l.policy_id" > "$bench_dir/server.ms"

n=$(wc -l < "$bench_dir/policy.ms")
pp50=$(percentile 50 < "$bench_dir/policy.ms"); pp99=$(percentile 99 < "$bench_dir/policy.ms")
pmax=$(percentile 100 < "$bench_dir/policy.ms")
rp50=$(percentile 50 < "$bench_dir/reference.ms"); rp99=$(percentile 99 < "$bench_dir/reference.ms")
rmax=$(percentile 100 < "$bench_dir/reference.ms")
sp50=$(percentile 50 < "$bench_dir/server.ms"); sp99=$(percentile 99 < "$bench_dir/server.ms")
echo "samples: $n per method ($N sessions x $ROUNDS rounds, rounds alternating between the methods, limits 1-10 s)"
printf '%-44s p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n' \
    "pgmanage policy (client: error - limit)" "$pp50" "$pp99" "$pmax" \
    "statement_timeout (client: error - limit)" "$rp50" "$rp99" "$rmax"
printf '%-44s p50 %7.2f ms   p99 %7.2f ms\n' "pgmanage policy (server: signal - limit)" "$sp50" "$sp99"
awk -v a="$pp50" -v b="$rp50" -v c="$pp99" -v d="$rp99" \
    'BEGIN {printf "ratio policy / statement_timeout: p50 %.2f, p99 %.2f\n", a / b, c / d}'
echo "goal: policy p99 under 10 ms: $(awk -v v="$pp99" 'BEGIN {print (v < 10) ? "met" : "missed"}')"
