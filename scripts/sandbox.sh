#!/usr/bin/env bash
# A local sandbox cluster with pgmanage, for trying it out.
#
#   scripts/sandbox.sh          # install what is missing, build, install,
#                               # start (or reuse) the cluster, show reports
#   scripts/sandbox.sh stop     # stop the cluster
#   scripts/sandbox.sh clean    # stop it and delete it
#   scripts/sandbox.sh status   # is it running, and how to connect
#
# The cluster lives in .sandbox/ (git-ignored), listens on 127.0.0.1 on a
# free port, and runs as the postgres OS user when started by root,
# otherwise as the user who runs the script.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:-start}

dir=$PGM_ROOT/.sandbox
data=$dir/data
demo_db=pgmanage_demo
demo_user=pgm_dba

if [ "$(id -u)" -eq 0 ]; then run_as=postgres; else run_as=$(id -un); fi
as_owner() {
    if [ "$(id -un)" = "$run_as" ]; then env PATH="$PGM_BINDIR:$PATH" "$@"
    else runuser -u "$run_as" -- env PATH="$PGM_BINDIR:$PATH" "$@"; fi
}
sudo_maybe() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
running() { [ -f "$data/postmaster.pid" ] && as_owner pg_ctl -D "$data" status >/dev/null 2>&1; }
psql_su() { as_owner psql -X -q -h "$dir" -p "$(cat "$dir/port")" -U "$run_as" "$@"; }
# the demo role, over TCP with its password, as a DBA would connect
psql_demo() {
    as_owner env PGPASSWORD="$(cat "$dir/password")" \
        psql -X -q -h 127.0.0.1 -p "$(cat "$dir/port")" -U "$demo_user" "$@"
}

show_connection() {
    local port pw uri
    port=$(cat "$dir/port"); pw=$(cat "$dir/password")
    uri="postgresql://$demo_user:$pw@127.0.0.1:$port/$demo_db"
    echo
    echo "Connection URI: $uri"
    echo "psql:           psql \"$uri\""
}

case "$cmd" in
stop)
    if running; then as_owner pg_ctl -D "$data" -m fast -w stop >/dev/null; pgm_log "stopped"; else pgm_log "not running"; fi
    exit 0 ;;
clean)
    running && as_owner pg_ctl -D "$data" -m fast -w stop >/dev/null
    rm -rf "$dir"; pgm_log "removed $dir"; exit 0 ;;
status)
    if running; then pgm_log "running on port $(cat "$dir/port")"; show_connection; else pgm_log "not running"; exit 1; fi
    exit 0 ;;
start) ;;
*) pgm_die "usage: $0 [start|stop|clean|status]" ;;
esac

# 1. packages, build, install (root only for these steps)
if [ "$(id -u)" -eq 0 ]; then pgm_install_deps; else sudo "$PGM_ROOT/scripts/deps.sh"; fi
pgm_log "building and installing pgmanage"
make -C "$PGM_ROOT" -s COPT="-Werror $PGM_WARNFLAGS" >/dev/null || pgm_die "build failed"
(exec 9>/tmp/pgmanage-test.lock; flock 9; sudo_maybe make -C "$PGM_ROOT" -s install >/dev/null) || pgm_die "install failed"

# 2. the cluster: create once, start if stopped
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown "$run_as": "$dir"
if [ ! -f "$data/PG_VERSION" ]; then
    port=54320
    while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null || [ -e "/tmp/.s.PGSQL.$port" ]; do port=$((port + 1)); done
    echo "$port" > "$dir/port"
    head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$dir/password"
    chmod 600 "$dir/password"
    [ "$(id -u)" -eq 0 ] && chown "$run_as": "$dir/port" "$dir/password"
    pgm_log "creating the sandbox cluster in $data"
    as_owner initdb -D "$data" -U "$run_as" --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
# pgmanage sandbox
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_stat_statements, pgmanage'
compute_query_id = on
pgmanage.database = '$demo_db'
CONF
fi
if ! running; then
    pgm_log "starting the cluster on port $(cat "$dir/port")"
    as_owner pg_ctl -D "$data" -l "$dir/postgres.log" -w start >/dev/null || { tail -20 "$dir/postgres.log"; pgm_die "could not start"; }
fi

# 3. the demo database, role and data (once)
if [ "$(psql_su -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$demo_db'")" = 0 ]; then
    pgm_log "creating database $demo_db with demo data"
    psql_su -d postgres -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE $demo_user LOGIN PASSWORD '$(cat "$dir/password")' IN ROLE pg_monitor, pg_signal_backend;
-- pgmanage lives in schema pgmanage: the demo role finds it on its search_path
ALTER ROLE $demo_user SET search_path = "\$user", public, pgmanage;
CREATE DATABASE $demo_db OWNER $demo_user;
SQL
    psql_su -d "$demo_db" -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION pgmanage;
SET ROLE $demo_user;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int, placed_at timestamptz, note text);
INSERT INTO orders (customer, placed_at, note)
SELECT g % 1000, now() - g * interval '1 minute', repeat('n', 50) FROM generate_series(1, 200000) g;
CREATE INDEX orders_customer ON orders (customer);
DELETE FROM orders WHERE id % 3 = 0;
CREATE TABLE documents (id serial PRIMARY KEY, body text);
INSERT INTO documents (body) SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 200) g, generate_series(1, 300) i GROUP BY i;
CREATE TABLE events (id bigint, kind text);
INSERT INTO events SELECT g, 'click' FROM generate_series(1, 50000) g;
RESET ROLE;
ANALYZE;
SQL
fi

# a sandbox made by an older version: bring the extension up to date (1.x lived
# in public; 2.0 moves it to schema pgmanage) and set the demo role's search_path
psql_su -d "$demo_db" -v ON_ERROR_STOP=1 <<SQL >/dev/null || pgm_die "could not update pgmanage in $demo_db"
SET client_min_messages = warning;
ALTER EXTENSION pgmanage UPDATE;
ALTER ROLE $demo_user SET search_path = "\$user", public, pgmanage;
SQL

# 4. show it working, as the demo role sees it
pgm_log "pgmanage is installed; the reports (as $demo_user):"
psql_demo -d "$demo_db" -P pager=off <<'SQL'
\echo '== pgm_health(): one row per check (disk, wraparound, replication, slots, connections, indexes, ...)'
SELECT check_name, status, value, warning_at, critical_at, left(detail, 60) AS detail FROM pgm_health();
\echo '== pgm_database_sizes(): every database'
SELECT database_name, size_pretty, connections, xact_commit, blks_read, cache_hit_ratio FROM pgm_database_sizes();
\echo '== pgm_size_report(): the largest tables (schema pgmanage is left out, as the catalogs are)'
SELECT schema_name, relation_name, kind, total_pretty, pg_size_pretty(index_bytes) AS indexes,
       estimated_rows, share_of_database FROM pgm_size_report();
\echo '== pgm_disk_usage(): the filesystems of the data directory and pg_wal'
SELECT area, path, pg_size_pretty(fs_total_bytes) AS fs_total, pg_size_pretty(fs_available_bytes) AS fs_available, fs_used_pct, area_pretty FROM pgm_disk_usage();
\echo '== pgm_kill_long(''5 minutes'', dry_run => true): what would be cancelled (nothing runs that long here)'
SELECT pid, role_name, state, duration, action_taken, left(query, 40) AS query
FROM pgm_kill_long('5 minutes', dry_run => true);
\echo '== pgm_bloat(): estimated bloat (every column: SELECT * FROM pgm_bloat())'
SELECT schema_name, relation_name, kind, pg_size_pretty(actual_bytes) AS actual,
       pg_size_pretty(bloat_bytes) AS bloat, bloat_pct, dead_tuples, advice
FROM pgm_bloat();
SQL
show_connection
