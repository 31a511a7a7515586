#!/usr/bin/env bash
# Benchmark: a pgmanage VACUUM run with strategy 'need' against
# `vacuumdb --analyze` of the whole database, from the same starting state.
#
#   sudo test/bench/vacuum_need.sh [TABLES] [BLOATED] [ROWS]
#
# Defaults: 500 tables of 5,000 rows (about 0.7 MB each), 20 of them with
# half their rows deleted.  Two databases are built identically with the same
# statements (a template copy would lose the statistics that 'need' reads):
# need_db for pgmanage, full_db for vacuumdb.  Before each measured run the
# server is restarted (empty shared buffers; the OS page cache is not
# dropped).  Figures:
#   wall time   pgmanage: from pgm_vacuum_now() until the run row says
#               finished, timed in one psql session that polls every 5 ms,
#               so dispatch, the worker's start and the recording are
#               included; vacuumdb: the command's elapsed time (its
#               connection included);
#   dead left   n_dead_tup summed over the bloated tables, and over all;
#   blocks read pg_stat_database.blks_read of the database during the run
#               (blocks not found in shared buffers, catalogs included).
# Needs pgmanage installed into PostgreSQL 15 (make install).  The cluster is
# a throw-away one in /tmp run as postgres, removed at the end.
set -euo pipefail

TABLES=${1:-500}
BLOATED=${2:-20}
ROWS=${3:-5000}
BIN=/usr/lib/postgresql/15/bin

if [ "$(id -u)" -ne 0 ]; then echo "run as root (it runs the cluster as postgres)" >&2; exit 1; fi
[ -f "$("$BIN/pg_config" --pkglibdir)/pgmanage.so" ] || { echo "make install first" >&2; exit 1; }

dir=$(mktemp -d /tmp/pgm-bench-vacuum.XXXXXX)
chown postgres: "$dir"
port=$((20000 + RANDOM % 20000))
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    [ -f "$dir/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
log() { printf '%s  %s\n' "$(date +%T)" "$*" >&2; }
psql_() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" "$@"; }
val() { psql_ -At "$@"; }
now_ms() { date +%s%3N; }

log "initdb in $dir"
as_pg "$BIN/initdb" -D "$dir/data" -A trust >/dev/null
cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
shared_preload_libraries = 'pgmanage'
pgmanage.database = 'postgres'
search_path = '"\$user", public, pgmanage'
pgmanage.naptime = '1s'
autovacuum = off
shared_buffers = '128MB'
max_wal_size = '4GB'
CONF
as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
restart() { as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w restart >/dev/null; }
psql_ -d postgres -c 'CREATE EXTENSION pgmanage'

build() {  # build DB: TABLES tables, BLOATED of them with half their rows deleted
    local db=$1
    psql_ -d postgres -c "CREATE DATABASE $db"
    psql_ -d "$db" <<SQL
DO \$\$ BEGIN
  FOR i IN 1..$TABLES LOOP
    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int, pad text)', i);
    EXECUTE format('INSERT INTO t%s SELECT g, g %% 97, repeat(''x'', 80) FROM generate_series(1, $ROWS) g', i);
  END LOOP;
END \$\$;
SQL
    psql_ -d "$db" -c 'ANALYZE'          # its own session: the INSERT counts are in first
    psql_ -d "$db" <<SQL
DO \$\$ BEGIN
  FOR i IN 1..$BLOATED LOOP
    EXECUTE format('DELETE FROM t%s WHERE id %% 2 = 0', i * ($TABLES / $BLOATED));
  END LOOP;
END \$\$;
SQL
    psql_ -d "$db" -c 'CHECKPOINT'
}
bloated_list() { local i l=""; for i in $(seq 1 "$BLOATED"); do l="$l't$((i * (TABLES / BLOATED)))',"; done; echo "${l%,}"; }
dead() {  # DB -> "dead in bloated tables|dead in all"
    val -d "$1" -c "SELECT sum(n_dead_tup) FILTER (WHERE relname IN ($(bloated_list)))||'|'||sum(n_dead_tup) FROM pg_stat_user_tables"
}
blks() { val -d postgres -c "SELECT pg_stat_force_next_flush(); SELECT blks_read FROM pg_stat_database WHERE datname = '$1'" | tail -1; }

log "building need_db and full_db: $TABLES tables x $ROWS rows, $BLOATED bloated"
build need_db
build full_db
log "before: need_db dead $(dead need_db), full_db dead $(dead full_db)"

# ---- pgmanage, strategy need
restart
sleep 2
b0=$(blks need_db)
# one session: COMMIT of pgm_vacuum_now() to the run row finished, polled
# every 5 ms (each poll statement sees the latest commit)
out=$(psql_ -At -d postgres <<SQL
SELECT clock_timestamp() AS t0 \\gset
SELECT pgm_vacuum_now(database => 'need_db') AS run \\gset
SELECT set_config('bench.run', :'run', false) \\gset
DO \$\$ BEGIN
  WHILE (SELECT status NOT IN ('succeeded', 'failed', 'cancelled') FROM pgm_job_run WHERE id = current_setting('bench.run')::bigint) LOOP
    PERFORM pg_sleep(0.005);
  END LOOP;
END \$\$;
SELECT :run || '|' || round(extract(epoch FROM clock_timestamp() - :'t0') * 1000);
SQL
)
run=${out%%|*}
ours_ms=${out##*|}
sleep 1.5   # the worker's I/O counters reach pg_stat_database when it exits
b1=$(blks need_db)
ours_exec=$(val -d postgres -c "SELECT round(extract(epoch FROM finished - started) * 1000) FROM pgm_job_run WHERE id = $run")
summary=$(val -d postgres -c "SELECT status||' vacuumed='||tables_vacuumed||' analyzed='||tables_analyzed||' skipped='||tables_skipped||' considered='||tables_considered||' dead_removed='||dead_tuples_removed FROM pgm_job_run WHERE id = $run")
ours_dead=$(dead need_db)
phases=$(val -d postgres -c "
    SELECT round(extract(epoch FROM min((e->>'started')::timestamptz) - r.started) * 1000)
           || '|' || round(extract(epoch FROM sum((e->>'finished')::timestamptz - (e->>'started')::timestamptz)) * 1000)
    FROM pgm_job_run r, jsonb_array_elements(r.details) e
    WHERE r.id = $run AND e->>'started' IS NOT NULL GROUP BY r.started")

# ---- vacuumdb --analyze, whole database
restart
sleep 2
c0=$(blks full_db)
t0=$(now_ms)
as_pg "$BIN/vacuumdb" -q --analyze -h "$dir" -p "$port" -d full_db
t1=$(now_ms)
sleep 1.5
c1=$(blks full_db)
base_ms=$((t1 - t0))
base_dead=$(dead full_db)

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $("$BIN/postgres" --version)"
echo "database: $TABLES tables x $ROWS rows, $BLOATED with half their rows deleted"
echo "pgmanage run $run: $summary"
printf '%-28s %12s %12s\n' "" "pgmanage" "vacuumdb"
printf '%-28s %12s %12s\n' "wall time (ms)" "$ours_ms" "$base_ms"
printf '%-28s %12s %12s\n' "  of which executing (ms)" "$ours_exec" "-"
printf '%-28s %12s %12s\n' "  listing + decisions (ms)" "${phases%%|*}" "-"
printf '%-28s %12s %12s\n' "  in VACUUM statements (ms)" "${phases##*|}" "-"
printf '%-28s %12s %12s\n' "dead left (bloated|all)" "$ours_dead" "$base_dead"
printf '%-28s %12s %12s\n' "blocks read" "$((b1 - b0))" "$((c1 - c0))"
awk -v a="$base_ms" -v b="$ours_ms" 'BEGIN { printf "speed-up (vacuumdb / pgmanage wall time): %.1fx\n", a / b }'
awk -v a="$((c1 - c0))" -v b="$((b1 - b0))" 'BEGIN { if (b > 0) printf "blocks read ratio (vacuumdb / pgmanage): %.1fx\n", a / b }'
