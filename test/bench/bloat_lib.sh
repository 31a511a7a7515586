# Shared by test/bench/bloat_*.sh: build pgmanage into a scratch directory,
# start a throw-away cluster as the postgres user, load the functions from
# the built library (nothing is installed system-wide), clean up on exit.
# shellcheck shell=bash
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
BINDIR=/usr/lib/postgresql/15/bin
[ "$(id -u)" -eq 0 ] || { echo "run as root (the cluster runs as postgres)" >&2; exit 1; }

SCRATCH=$(mktemp -d /tmp/pgm-bloat-bench.XXXXXX)
PORT=$((55000 + RANDOM % 1000))
bench_cleanup() {
    if [ -f "$SCRATCH/data/postmaster.pid" ]; then
        runuser -u postgres -- "$BINDIR/pg_ctl" -D "$SCRATCH/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$SCRATCH"
}
trap bench_cleanup EXIT

bench_log() { printf '[bench] %s\n' "$*" >&2; }

# build in the scratch copy; load the SQL with MODULE_PATHNAME -> that library
bench_setup() {  # bench_setup [extra postgres -c settings...]
    mkdir -p "$SCRATCH/src"
    tar -C "$ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' -cf - . | tar -C "$SCRATCH/src" -xf -
    make -s -C "$SCRATCH/src" COPT="-O2" >/dev/null
    chown -R postgres: "$SCRATCH"; chmod -R a+rX "$SCRATCH"
    runuser -u postgres -- "$BINDIR/initdb" -D "$SCRATCH/data" -A trust >/dev/null
    local opts="-p $PORT -k $SCRATCH -c listen_addresses= -c autovacuum=off -c shared_buffers=256MB -c max_wal_size=4GB -c fsync=off -c synchronous_commit=off"
    local s; for s in "$@"; do opts+=" -c $s"; done
    runuser -u postgres -- "$BINDIR/pg_ctl" -D "$SCRATCH/data" -o "$opts" -l "$SCRATCH/server.log" -w start >/dev/null
    sed -e '/^\\echo/d' -e "s|MODULE_PATHNAME|$SCRATCH/src/pgmanage.so|" \
        "$SCRATCH/src/src/sql/updates/pgmanage--1.0.sql" > "$SCRATCH/pgmanage.sql"
    bench_psql -q -f "$SCRATCH/pgmanage.sql"
}

bench_psql() { runuser -u postgres -- "$BINDIR/psql" -X -v ON_ERROR_STOP=1 -h "$SCRATCH" -p "$PORT" -d postgres "$@"; }

bench_machine() {
    echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
    echo "server:  $(bench_psql -Atc 'select version()')"
}
