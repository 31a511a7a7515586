# Shared by test/bench/*.sh: a throw-away cluster in /tmp, run as postgres.
# shellcheck shell=bash
#
# PGM_BINDIR: the PostgreSQL binaries (default: the system's PostgreSQL 15);
# pgmanage must be installed there (make install, or scripts/test.sh).

PGM_BINDIR=${PGM_BINDIR:-/usr/lib/postgresql/15/bin}
[ "$(id -u)" = 0 ] || { echo "run as root (the cluster runs as postgres through runuser)" >&2; exit 1; }

bench_dir=$(mktemp -d /tmp/pgm-bench.XXXXXX)
chown postgres: "$bench_dir"
bench_port=$((56000 + RANDOM % 1000))

as_pg() { runuser -u postgres -- env PATH="$PGM_BINDIR:$PATH" "$@"; }
bench_psql() { as_pg psql -X -q -At -h "$bench_dir" -p "$bench_port" -d postgres "$@"; }

bench_cleanup() {
    as_pg pg_ctl -D "$bench_dir/data" -m immediate stop >/dev/null 2>&1 || true
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$bench_dir"
}
trap bench_cleanup EXIT

# bench_init EXTRA_CONF_LINES...
bench_init() {
    as_pg initdb -D "$bench_dir/data" -A trust -N >/dev/null
    {
        echo "port = $bench_port"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$bench_dir'"
        echo "max_connections = 300"
        echo "pgmanage.database = 'postgres'"
        echo "search_path = '\"\$user\", public, pgmanage'"
        printf '%s\n' "$@"
    } >> "$bench_dir/data/postgresql.conf"
}

# bench_start [shared_preload_libraries]
bench_start() {
    as_pg pg_ctl -D "$bench_dir/data" -l "$bench_dir/log" -w \
        -o "-c shared_preload_libraries='${1-pgmanage}'" start >/dev/null
}
bench_stop() { as_pg pg_ctl -D "$bench_dir/data" -m fast -w stop >/dev/null; }

# until a query returns t (at most 30 s)
bench_wait() {
    local i
    for i in $(seq 300); do
        [ "$(bench_psql -c "$1" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for: $1" >&2; return 1
}

# percentile P (0-100) of numbers on stdin, nearest rank
percentile() { sort -g | awk -v p="$1" '{v[NR]=$1} END {r=int((p/100)*NR+0.999999); if (r<1) r=1; print v[r]}'; }
median() { percentile 50; }

bench_machine() {
    echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM," \
         "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
         "$("$PGM_BINDIR/postgres" --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
