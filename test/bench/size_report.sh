#!/usr/bin/env bash
# Benchmark: pgm_size_report() against the seed handbook's size query on a
# database of many tables (default 10,000), each with a primary-key index
# and a TOAST table holding one out-of-line value.
#
#   sudo test/bench/size_report.sh [TABLES] [REPETITIONS]
#
# Needs pgmanage installed into the system PostgreSQL 15 (make install); it
# installs nothing itself.  It creates a throw-away cluster as the postgres
# user in a /tmp directory (Unix socket only, no TCP), and stops and removes
# it at the end, also on failure or Ctrl-C.
#
# Each query runs through psql with \timing, output discarded:
#   cold:    the first run in a new connection right after a server
#            restart (empty shared buffers and catalog caches; the OS page
#            cache is not dropped);
#   session: the first run in a new connection, server already warm (how a
#            DBA usually runs it: shared buffers warm, this backend's
#            relation cache empty);
#   warm:    REPETITIONS runs in one session after one warm-up run.
# Prints min and median of each, and the ratio seed / ours of the medians.
set -euo pipefail

TABLES=${1:-10000}
REPS=${2:-5}
BIN=/usr/lib/postgresql/15/bin

if [ "$(id -u)" -ne 0 ]; then echo "run as root (it runs the cluster as postgres)" >&2; exit 1; fi
pkglib=$("$BIN/pg_config" --pkglibdir)
share=$("$BIN/pg_config" --sharedir)
if [ ! -f "$pkglib/pgmanage.so" ] || [ ! -f "$share/extension/pgmanage.control" ]; then
    echo "pgmanage is not installed in PostgreSQL 15 ($pkglib, $share/extension): run 'make install' first" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/pgm-bench-size.XXXXXX)
chown postgres: "$dir"
port=$((20000 + RANDOM % 20000))   # the socket lives in $dir: no clash possible
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
psql_() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" "$@"; }

log "cluster in $dir, port $port"
as_pg "$BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
search_path = '"\$user", public, pgmanage'
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
max_wal_size = 4GB
logging_collector = off
CONF
start() { as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null; }
restart() { as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; start; }
start

log "creating $TABLES tables (primary key, TOAST) ..."
psql_ -d postgres -c "CREATE DATABASE bench"
psql_ -d bench -c "CREATE EXTENSION pgmanage"
psql_ -d bench <<SQL
DO \$\$
DECLARE
  big text := (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100) g);
BEGIN
  FOR i IN 1..$TABLES LOOP
    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, doc text)', i);
    EXECUTE format('ALTER TABLE t%s ALTER COLUMN doc SET STORAGE EXTERNAL', i);
    EXECUTE format('INSERT INTO t%s VALUES (1, %L), (2, ''b''), (3, ''c'')', i, big);
    IF i % 500 = 0 THEN COMMIT; END IF;
  END LOOP;
END \$\$;
VACUUM ANALYZE;
CHECKPOINT;
SQL
log "created: $(psql_ -d bench -Atc "SELECT count(*) || ' tables, database ' || pg_size_pretty(pg_database_size('bench'))
                                   FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")"

ours="SELECT * FROM pgm_size_report();"
seed="SELECT relname AS table, pg_size_pretty(pg_total_relation_size(relid)) AS total_size FROM pg_catalog.pg_statio_user_tables ORDER BY pg_total_relation_size(relid) DESC;"

# both report the same tables with the same bytes
check=$(psql_ -d bench -At <<'SQL'
SELECT (SELECT count(*) || '/' || sum(total_bytes) FROM pgm_size_report())
     = (SELECT count(*) || '/' || sum(pg_total_relation_size(relid)) FROM pg_catalog.pg_statio_user_tables);
SQL
)
[ "$check" = t ] || { echo "the two queries disagree on rows or bytes" >&2; exit 1; }

# times (ms) of each statement in a psql script, one per line
times_of() { psql_ -d bench -o /dev/null -c '\timing on' "$@" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'; }
stats() {  # min and median of numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                        printf "%.1f %.1f\n", v[1], m }'
}

declare -A cold session warm
for name in ours seed; do cold[$name]=""; session[$name]=""; done
log "cold runs (server restarted before each) ..."
for r in $(seq 1 "$REPS"); do
    for name in ours seed; do
        restart
        q=${!name}
        cold[$name]+="$(times_of -c "$q")"$'\n'
    done
done
log "new-session runs ..."
for r in $(seq 1 "$REPS"); do
    for name in ours seed; do
        q=${!name}
        session[$name]+="$(times_of -c "$q")"$'\n'
    done
done
log "warm runs ..."
for name in ours seed; do
    q=${!name}
    args=(-c "$q")      # warm-up, not counted
    for r in $(seq 1 "$REPS"); do args+=(-c "$q"); done
    warm[$name]=$(times_of "${args[@]}" | tail -n +2)
done

echo
echo "pgm_size_report() vs seed query, $TABLES tables (each: pkey index + TOAST), $REPS runs each"
echo "PostgreSQL: $(psql_ -d bench -Atc 'SHOW server_version')   CPU: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
printf '%-8s %-22s %-22s %s\n' "" "ours min / median ms" "seed min / median ms" "seed / ours (median)"
for kind in cold session warm; do
    declare -n t=$kind
    read -r omin omed < <(printf '%s\n' "${t[ours]}" | grep . | stats)
    read -r smin smed < <(printf '%s\n' "${t[seed]}" | grep . | stats)
    printf '%-8s %-22s %-22s %s\n' "$kind" "$omin / $omed" "$smin / $smed" \
        "$(awk -v s="$smed" -v o="$omed" 'BEGIN { printf "%.1fx", s / o }')"
done
