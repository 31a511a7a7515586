#!/usr/bin/env bash
# Webhook delivery benchmark (issue 6, section 4).  Not part of the suite.
#
#   test/bench/webhook_throughput.sh            # as root; uses the installed pgmanage
#   PGM_PGBIN=/path/to/bin test/bench/webhook_throughput.sh   # another PostgreSQL 15 bin dir
#
# In a temporary cluster (run as the postgres OS user, in /tmp, removed at
# the end) with a local receiver on 127.0.0.1 that answers 200 at once
# (test/bench/bench_receiver.py):
#   0. the receiver's own ceiling, measured with wrk (installed if missing)
#   1. throughput: 10,000 events committed one per transaction by 4 pgbench
#      clients as fast as they go: deliveries/s, commit-to-receipt p50/p99,
#      and the ratio to the receiver's ceiling
#   2. latency: 200 events/s for 10 s: commit-to-receipt p50/p99
#   3. outage: 1,000 events while the receiver is down 30 s, then up: all
#      delivered, how many twice, time to drain
# and, for issue 11 (each RUNS times, default 3; median and range):
#   drain:     10,000 events committed at once: deliveries/s from the COMMIT
#              to the last receipt, against the receiver's ceiling (goal >= 10,000/s)
#   outage:    50 events while the receiver is down 20-21 s, then up: seconds from
#              its return to the last receipt, with the circuit breaker (default
#              settings) and without it (webhook_circuit_failures = 0, the
#              baseline) (goal <= 1 s)
#   blackhole: a second endpoint on 127.0.0.1 that accepts connections and never
#              answers (timeout 10 s) holds 40 deliveries; meanwhile 50 events/s
#              for 15 s to the healthy endpoint: commit-to-receipt p50/max,
#              against the same load with no black hole (goal: max <= 100 ms)
# PHASES="1 1b 2 3 drain outage blackhole" (the default) picks the phases.
# "Commit" is the event's payload time (clock_timestamp() in the enqueuing
# transaction, just before its commit), so latencies are slightly overstated.
set -euo pipefail
PHASES=${PHASES:-"1 1b 2 3 drain outage blackhole"}
RUNS=${RUNS:-3}
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
bin=${PGM_PGBIN:-/usr/lib/postgresql/15/bin}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

dir=$(mktemp -d /tmp/pgm-bench.XXXXXX); chown postgres: "$dir"; chmod 755 "$dir"
port=$((40000 + RANDOM % 10000)); rport=$((port + 1))
as_pg() { runuser -u postgres -- env PATH="$bin:$PATH" "$@"; }
psql_() { as_pg psql -X -q -At -h "$dir" -p "$port" -d postgres "$@"; }
recv_pid=
start_receiver() {
    runuser -u postgres -- python3 "$here/bench_receiver.py" --port "$rport" --log "$dir/recv.log" &
    recv_pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$rport) 2>/dev/null && return; sleep 0.05; done
    echo "receiver did not start" >&2; exit 1
}
stop_receiver() { kill "$recv_pid" 2>/dev/null || true; wait "$recv_pid" 2>/dev/null || true; recv_pid=; }
cleanup() {
    [ -n "$recv_pid" ] && stop_receiver
    # KEEP=1: leave the cluster (stopped) and its logs for a look
    if [ "${KEEP:-}" = 1 ]; then as_pg pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; echo "kept $dir" >&2; return; fi
    as_pg pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

as_pg initdb -D "$dir/data" -A trust >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = ''
shared_preload_libraries = 'pgmanage'
pgmanage.database = 'postgres'
search_path = '"\$user", public, pgmanage'
max_connections = 50
CONF
as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
psql_ -c "CREATE EXTENSION pgmanage" \
      -c "INSERT INTO pgm_endpoint (name, url) VALUES ('bench', 'http://127.0.0.1:$rport/hook')"
echo "SELECT pgm_emit_event('bench');" > "$dir/enqueue.sql"; chown postgres: "$dir/enqueue.sql"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "PostgreSQL: $(as_pg postgres --version)"
echo "max_concurrent_deliveries: $(psql_ -c 'SHOW pgmanage.max_concurrent_deliveries')"
start_receiver

# 0. the receiver's ceiling
body=$(psql_ -c "SELECT payload::text FROM pgm_event LIMIT 0")
cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"id": 1, "kind": "bench", "data": null, "time": "2000-01-01T00:00:00.000000Z", "label": null, "cluster": {"host": "h", "port": 5432}}'
wrk.headers["Content-Type"] = "application/json"
LUA
ceiling=$(wrk -t1 -c16 -d5s -s "$dir/post.lua" "http://127.0.0.1:$rport/" | awk '/Requests\/sec/{print $2}')
echo "receiver ceiling (wrk -t1 -c16, 5 s): $ceiling requests/s"

logged_ids() { cut -d' ' -f1 "$dir/recv.log" 2>/dev/null | sort -u | wc -l; }
# wait until the receiver logged $1 distinct webhook ids (at most $2 s)
wait_ids() {
    local want=$1 limit=$2 t=0
    while [ "$(cut -d' ' -f1 "$dir/recv.log" 2>/dev/null | sort -u | wc -l)" -lt "$want" ]; do
        sleep 0.2; t=$((t + 1))
        if [ $t -gt $((limit * 5)) ]; then echo "timed out waiting for $want" >&2; return 1; fi
    done
    return 0
}
# stats over the log lines from line $1 on: deliveries/s, p50, p99 (ms), duplicates
stats() {
    tail -n +"$1" "$dir/recv.log" | python3 -c '
import sys, datetime
rows = [l.split() for l in sys.stdin if l.strip()]
seen, dup, lat, commits, receipts = set(), 0, [], [], []
for mid, rt, pt in rows:
    if mid in seen: dup += 1; continue
    seen.add(mid)
    c = datetime.datetime.strptime(pt, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    r = float(rt); commits.append(c); receipts.append(r); lat.append((r - c) * 1000)
lat.sort()
span = max(receipts) - min(commits)
print("events=%d duplicates=%d span=%.2fs deliveries/s=%.0f p50=%.1fms p99=%.1fms max=%.1fms" % (
    len(seen), dup, span, len(seen) / span, lat[len(lat)//2], lat[int(len(lat)*0.99)], lat[-1]))'
}

# 1. throughput
: > "$dir/recv.log"; chown postgres: "$dir/recv.log"
if has_phase 1; then
tps=$(as_pg pgbench -n -h "$dir" -p "$port" -c 4 -j 2 -t 2500 -f "$dir/enqueue.sql" postgres 2>/dev/null | awk '/tps =/{print $3; exit}')
wait_ids 10000 120
echo "1. throughput, 10,000 events (enqueued at $tps tx/s by 4 clients): $(stats 1)"
rate=$(stats 1 | sed -E 's/.*deliveries\/s=([0-9]+).*/\1/')
echo "   ratio to the receiver's ceiling: $(python3 -c "print('%.2f' % ($rate / $ceiling))")"
fi

# 1b. the sender's own ceiling: 10,000 events committed in one transaction, drained
if has_phase 1b; then
start=$(( $(wc -l < "$dir/recv.log") + 1 ))
psql_ -c "SELECT count(pgm_emit_event('bench')) FROM generate_series(1, 10000)" >/dev/null
wait_ids $(( $(psql_ -c "SELECT count(*) FROM pgm_event") )) 120
echo "1b. backlog, 10,000 events committed at once: $(stats "$start")"
rate=$(stats "$start" | sed -E 's/.*deliveries\/s=([0-9]+).*/\1/')
echo "   ratio to the receiver's ceiling: $(python3 -c "print('%.2f' % ($rate / $ceiling))")"
fi

# 2. latency at a moderate rate
if has_phase 2; then
start=$(( $(wc -l < "$dir/recv.log") + 1 ))
prev=$(psql_ -c "SELECT count(*) FROM pgm_event")
as_pg pgbench -n -h "$dir" -p "$port" -c 2 -j 2 -R 200 -T 10 -f "$dir/enqueue.sql" postgres > "$dir/pgbench.log" 2>&1 ||
    { cat "$dir/pgbench.log"; exit 1; }
total=$(psql_ -c "SELECT count(*) FROM pgm_event")
n=$((total - prev))
wait_ids "$total" 60
echo "2. latency, $n events at 200/s: $(stats "$start")"
fi

# 3. outage
if has_phase 3; then
stop_receiver
start=$(( $(wc -l < "$dir/recv.log") + 1 ))
before=$(psql_ -c "SELECT count(*) FROM pgm_event")
as_pg pgbench -n -h "$dir" -p "$port" -c 4 -j 2 -t 250 -f "$dir/enqueue.sql" postgres >/dev/null 2>&1
sleep 30
start_receiver
up=$(date +%s.%N)
wait_ids $((before + 1000)) 180
drained=$(date +%s.%N)
echo "3. outage, 1,000 events, receiver down 30 s: $(stats "$start" | sed -E 's/ deliveries.*//')"
echo "   drained $(python3 -c "print('%.1f' % ($drained - $up))") s after the receiver came back;" \
     "pending now: $(psql_ -c "SELECT count(*) FROM pgm_delivery WHERE status <> 'delivered'")," \
     "attempts max: $(psql_ -c 'SELECT max(attempts) FROM pgm_delivery')"
grep -c "terminated by signal\|PANIC" "$dir/server.log" | sed 's/^/   crashes in the server log: /'
fi

# ---- issue 11: drain, outage, black hole; RUNS runs each, median and range ----
# "median min max" of numbers on stdin
summary() { python3 -c '
import sys, statistics
v = sorted(float(x) for x in sys.stdin.read().split())
print("median %.3f, range %.3f .. %.3f (%d runs)" % (statistics.median(v), v[0], v[-1], len(v)))'; }
now_s() { date +%s.%N; }
# the latest receipt time among log lines from line $1 on ($2: the log)
last_receipt() { tail -n +"$1" "${2:-$dir/recv.log}" | awk '$2 > m {m = $2} END {printf "%.6f\n", m}'; }
reload_with() { psql_ -c "ALTER SYSTEM SET pgmanage.webhook_circuit_failures = $1" -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }

if has_phase drain; then
    : > "$dir/drain.txt"; : > "$dir/drain-cpu.txt"; : > "$dir/drain-load.txt"
    for i in $(seq "$RUNS"); do
        start=$(( $(wc -l < "$dir/recv.log") + 1 ))
        # ids received so far, not events in the table: a health alert sent before the
        # receiver's log was emptied is in the table, not in the log
        want=$(( $(logged_ids) + 10000 ))
        perf_pid=
        if [ -n "${PERF:-}" ] && [ "$i" = 1 ]; then
            # PERF=file: a profile of the sender during the first run (perf report in "file")
            spid=$(psql_ -c "SELECT pid FROM pgm_status() WHERE process = 'sender'")
            perf record -F 1000 --call-graph dwarf,16384 -p "$spid" -o "$dir/perf.data" >/dev/null 2>&1 &
            perf_pid=$!
            sleep 0.5
        fi
        spid=$(psql_ -c "SELECT pid FROM pgm_status() WHERE process = 'sender'")
        rpid=$(pgrep -f "bench_receiver.py --port $rport" | tail -1)
        read -r s_cpu0 s_wait0 _ < "/proc/$spid/schedstat"; read -r r_cpu0 r_wait0 _ < "/proc/$rpid/schedstat"
        psql_ -c "SELECT count(pgm_emit_event('bench', NULL, NULL, 'bench')) FROM generate_series(1, 10000)" >/dev/null
        committed=$(now_s)
        wait_ids "$want" 120
        read -r s_cpu1 s_wait1 _ < "/proc/$spid/schedstat"; read -r r_cpu1 r_wait1 _ < "/proc/$rpid/schedstat"
        echo "   sender: $(( (s_cpu1 - s_cpu0) / 10000000 )) us CPU per delivery, $(( (s_wait1 - s_wait0) / 1000000 )) ms waiting for a CPU;" \
             "receiver: $(( (r_cpu1 - r_cpu0) / 10000000 )) us CPU per request, $(( (r_wait1 - r_wait0) / 1000000 )) ms waiting for a CPU;" \
             "load average $(cut -d' ' -f1 /proc/loadavg)"
        echo "$(( (s_cpu1 - s_cpu0) / 10000000 ))" >> "$dir/drain-cpu.txt"; cut -d' ' -f1 /proc/loadavg >> "$dir/drain-load.txt"
        if [ -n "$perf_pid" ]; then
            kill -INT "$perf_pid"; wait "$perf_pid" || true
            {   # where the sender's CPU goes: by library, by function (self), by function with its callees
                echo "## by library"; perf report -i "$dir/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v "^$" | grep -v "^#" | head -15
                echo "## by function (self)"; perf report -i "$dir/perf.data" --stdio --no-children --sort dso,sym -g none --percent-limit 0.5 2>/dev/null | grep -v "^$" | grep -v "^#" | head -60
                echo "## by function (with callees)"; perf report -i "$dir/perf.data" --stdio --children --sort sym -g none --percent-limit 1.5 2>/dev/null | grep -v "^$" | grep -v "^#" | head -100
            } > "$PERF" || true
        fi
        sleep 0.3    # the receiver flushes its log every 0.2 s
        rate=$(python3 -c "print('%.0f' % (10000 / ($(last_receipt "$start") - $committed)))")
        echo "drain run $i: $rate deliveries/s (10,000 events, COMMIT to last receipt)"
        echo "$rate" >> "$dir/drain.txt"
    done
    echo "drain: $(summary < "$dir/drain.txt") deliveries/s; receiver's ceiling $ceiling req/s;" \
         "ratio $(python3 -c "import statistics; print('%.2f' % (statistics.median([float(x) for x in open('$dir/drain.txt')]) / $ceiling))")"
    # the sender's CPU per delivery moves far less with the machine's load than the rate does
    echo "drain: sender CPU per delivery $(summary < "$dir/drain-cpu.txt") us; load average $(summary < "$dir/drain-load.txt")"
fi

if has_phase outage; then
    for mode in breaker baseline; do
        : > "$dir/outage-$mode.txt"
        if [ $mode = baseline ]; then reload_with 0; else reload_with 5; fi
        for i in $(seq "$RUNS"); do
            stop_receiver
            start=$(( $(wc -l < "$dir/recv.log") + 1 ))
            want=$(( $(logged_ids) + 50 ))
            psql_ -c "SELECT count(pgm_emit_event('bench', NULL, NULL, 'bench')) FROM generate_series(1, 50)" >/dev/null
            # 20 s and a random fraction: a whole number of probe intervals would put the
            # receiver's return at the same point of the probe cycle in every run
            sleep "$(python3 -c 'import random; print("%.3f" % (20 + random.random()))')"
            start_receiver
            up=$(now_s)
            wait_ids "$want" 120
            sleep 0.3
            took=$(python3 -c "print('%.3f' % ($(last_receipt "$start") - $up))")
            echo "outage run $i ($mode): 50 events, receiver down 20 s: all delivered $took s after its return;" \
                 "circuit now $(psql_ -c "SELECT circuit FROM pgm_endpoint_circuits() WHERE endpoint = 'bench'")"
            echo "$took" >> "$dir/outage-$mode.txt"
        done
        echo "outage ($mode): $(summary < "$dir/outage-$mode.txt") s from the receiver's return to the last delivery"
    done
    reload_with 5
    echo "   ratio baseline/breaker (medians): $(python3 -c "
import statistics
b = statistics.median([float(x) for x in open('$dir/outage-breaker.txt')])
n = statistics.median([float(x) for x in open('$dir/outage-baseline.txt')])
print('%.1f' % (n / b))")"
fi

if has_phase blackhole; then
    bport=$((rport + 1))
    : > "$dir/hole.log"; chown postgres: "$dir/hole.log"
    runuser -u postgres -- python3 "$here/bench_receiver.py" --port "$bport" --log "$dir/hole.log" --blackhole &
    hole_pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$bport) 2>/dev/null && break; sleep 0.05; done
    psql_ -c "INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('hole', 'http://127.0.0.1:$bport/hook', false)"
    echo "SELECT pgm_emit_event('bench', NULL, NULL, 'bench');" > "$dir/healthy.sql"; chown postgres: "$dir/healthy.sql"
    # healthy events at 50/s for $1 s; prints "p50 p99 max" (ms) of their commit-to-receipt
    healthy_load() {
        local start want before logged
        start=$(( $(wc -l < "$dir/recv.log") + 1 ))
        before=$(psql_ -c "SELECT count(*) FROM pgm_delivery WHERE endpoint = 'bench'")
        logged=$(logged_ids)
        as_pg pgbench -n -h "$dir" -p "$port" -c 1 -j 1 -R 50 -T "$1" -f "$dir/healthy.sql" postgres > "$dir/pgbench.log" 2>&1 ||
            { cat "$dir/pgbench.log" >&2; exit 1; }
        # the new deliveries, over the ids received so far (see the drain phase)
        want=$(( logged + $(psql_ -c "SELECT count(*) FROM pgm_delivery WHERE endpoint = 'bench'") - before ))
        wait_ids "$want" 60
        sleep 0.3
        stats "$start" | sed -E 's/.*p50=([0-9.]+)ms p99=([0-9.]+)ms max=([0-9.]+)ms.*/\1 \2 \3/'
    }
    for f in hole-base hole-max hole-p50 hole-base-p50 hole-p99 hole-base-p99; do : > "$dir/$f.txt"; done
    for i in $(seq "$RUNS"); do
        read -r p50 p99 mx < <(healthy_load 5)
        echo "blackhole run $i, baseline (no black hole): healthy p50 $p50 ms, p99 $p99 ms, max $mx ms"
        echo "$mx" >> "$dir/hole-base.txt"; echo "$p50" >> "$dir/hole-base-p50.txt"; echo "$p99" >> "$dir/hole-base-p99.txt"
        hole_before=$(wc -l < "$dir/hole.log")
        psql_ -c "UPDATE pgm_endpoint SET enabled = true WHERE name = 'hole'" \
              -c "SELECT count(pgm_emit_event('bench', NULL, NULL, 'hole')) FROM generate_series(1, 40)" >/dev/null
        sleep 0.5
        read -r p50 p99 mx < <(healthy_load 15)
        echo "blackhole run $i, 40 deliveries hanging on the black hole: healthy p50 $p50 ms, p99 $p99 ms, max $mx ms;" \
             "black hole: $(( $(wc -l < "$dir/hole.log") - hole_before )) requests in this run, circuit" \
             "$(psql_ -c "SELECT circuit || ' after ' || consecutive_failures || ' failures' FROM pgm_endpoint_circuits() WHERE endpoint = 'hole'")"
        echo "$mx" >> "$dir/hole-max.txt"; echo "$p50" >> "$dir/hole-p50.txt"; echo "$p99" >> "$dir/hole-p99.txt"
        psql_ -c "UPDATE pgm_endpoint SET enabled = false WHERE name = 'hole'" \
              -c "DELETE FROM pgm_delivery WHERE endpoint = 'hole'" \
              -c "DELETE FROM pgm_endpoint_circuit WHERE endpoint = 'hole'" >/dev/null
    done
    echo "blackhole: healthy with the black hole: max $(summary < "$dir/hole-max.txt"); p99 $(summary < "$dir/hole-p99.txt"); p50 $(summary < "$dir/hole-p50.txt") (ms)"
    echo "blackhole: healthy without (baseline): max $(summary < "$dir/hole-base.txt"); p99 $(summary < "$dir/hole-base-p99.txt"); p50 $(summary < "$dir/hole-base-p50.txt") (ms)"
    kill "$hole_pid" 2>/dev/null || true
fi
