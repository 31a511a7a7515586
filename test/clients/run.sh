#!/usr/bin/env bash
# test/clients/run.sh: every client of the handbook against a test cluster
# with pgmanage preloaded.  Each program (one per language, beside this
# file) calls pgmanage.pgm_size_report(), pgmanage.pgm_kill_long() with a
# bound interval parameter (cancelling a real pg_sleep session started for
# it), pgmanage.pgm_metrics() (skipped, with a message, where the function
# does not exist) and reads every view of schema pgmanage, and checks that
# every column arrives as the driver's native type for its declared
# PostgreSQL type (no composite, domain or enum a driver shows as a string).
# psql checks the catalog: every column of every function, view and table of
# pgmanage has a base type.
#
#   test/clients/run.sh                  # psql python node php go java
#   test/clients/run.sh python go        # only these
#   test/clients/run.sh install          # only install what the clients need
#
# Needs root (apt-get) and pgmanage installed into the PostgreSQL of
# PGM_BINDIR (scripts/test.sh does that, then runs this with PGM_CLIENTS=1).
# Installs from Debian: python3-psycopg2, php-cli + php-pgsql, golang-go +
# golang-github-lib-pq-dev, libpostgresql-jdbc-java + a JDK, nodejs + npm;
# from the npm registry: pg (node/package-lock.json), into a scratch copy.
# Prints "ok     clients: LANG" / "FAILED clients: LANG" per language (a
# language's checks are in its log, shown on failure) and "N passed, N
# failed" last.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"

all=(psql python node php go java)
langs=("$@")
only_install=
[ "${langs[0]:-}" = install ] && { only_install=1; langs=("${all[@]}"); }
[ ${#langs[@]} -gt 0 ] || langs=("${all[@]}")
for l in "${langs[@]}"; do
    case " ${all[*]} " in *" $l "*) ;; *) pgm_die "unknown client '$l' (${all[*]})" ;; esac
done
pgm_become_root "$0" "$@"

# ---- what the clients need (Debian packages; npm's pg in the scratch copy)
need=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || need+=("$1"); }
for l in "${langs[@]}"; do
    case $l in
        python) want python3; want python3-psycopg2 ;;
        php) want php-cli; want php-pgsql ;;
        go) want golang-go; want golang-github-lib-pq-dev ;;
        java) want libpostgresql-jdbc-java; command -v javac >/dev/null || want default-jdk-headless ;;
        node) command -v node >/dev/null || want nodejs; command -v npm >/dev/null || want npm ;;
    esac
done
if [ ${#need[@]} -gt 0 ]; then
    pgm_log "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
        pgm_die "could not install ${need[*]}"
fi
[ -z "$only_install" ] || exit 0

[ -x "$PGM_BINDIR/postgres" ] || pgm_die "no PostgreSQL in $PGM_BINDIR"
[ -f "$("$PGM_BINDIR/pg_config" --sharedir)/extension/pgmanage.control" ] ||
    pgm_die "pgmanage is not installed into $PGM_BINDIR's PostgreSQL (scripts/test.sh installs it)"

work=$(mktemp -d /tmp/pgmanage-clients.XXXXXX)
chmod 755 "$work"
data=$work/data
port=$((53000 + RANDOM % 1000))
as_pg() { runuser -u postgres -- "$@" 9>&-; }
cleanup() {
    [ -f "$data/postmaster.pid" ] && as_pg "$PGM_BINDIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
    if [ "${KEEP:-}" = 1 ]; then pgm_log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- the test cluster: pgmanage preloaded, TCP on 127.0.0.1 with a password
chown postgres: "$work"
as_pg "$PGM_BINDIR/initdb" -D "$data" -U postgres -A trust --no-sync >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log"; pgm_die "initdb failed"; }
cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
shared_preload_libraries = 'pg_stat_statements, pgmanage'
pgmanage.database = 'postgres'
password_encryption = 'scram-sha-256'
pgmanage.log_min_duration = 100
fsync = off
CONF
cat > "$data/pg_hba.conf" <<HBA
local all postgres trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
as_pg "$PGM_BINDIR/pg_ctl" -D "$data" -l "$work/server.log" -w start >/dev/null ||
    { tail -20 "$work/server.log"; pgm_die "the test cluster did not start"; }
psql_su() { as_pg "$PGM_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d postgres "$@"; }
password=pgm-$RANDOM-$RANDOM
# pgm_dba: a DBA's monitoring role, not a superuser
psql_su <<SQL >/dev/null || pgm_die "could not set up the test cluster"
CREATE EXTENSION pg_stat_statements;
CREATE EXTENSION pgmanage;
CREATE ROLE pgm_dba LOGIN PASSWORD '$password' IN ROLE pg_monitor, pg_signal_backend, pg_read_all_data;
CREATE ROLE app LOGIN PASSWORD '$password';
CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(12,2), note text);
INSERT INTO public.orders SELECT g, g * 1.5, 'order ' || g FROM generate_series(1, 5000) g;
ANALYZE public.orders;
-- rows in the views: a job, a run, an endpoint, an event
SELECT pgmanage.pgm_schedule_vacuum('clients nightly', '30 2 * * *', schema_name => 'public');
SELECT pgmanage.pgm_vacuum_now(table_pattern => 'orders');
INSERT INTO pgmanage.pgm_endpoint (name, url, enabled) VALUES ('clients', 'https://127.0.0.1:9/hook', false);
SELECT pgmanage.pgm_emit_event('deploy_finished', '{"version": "2.4.1"}', 'release');
SQL
# (no TLS on the test cluster: lib/pq would otherwise require it)
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=pgm_dba PGPASSWORD=$password PGDATABASE=postgres PGSSLMODE=disable
# a slow statement of role app over 127.0.0.1, for pgm_slow_queries_visible
PGUSER=app "$PGM_BINDIR/psql" -X -q -c 'SELECT pg_sleep(0.3)' >/dev/null || pgm_die "app cannot connect"

# A session of role app that runs too long: the client's pgm_kill_long()
# cancels it.  Waits until it has run for more than the 1 second limit.
sleeper_pid=
start_sleeper() {
    PGUSER=app PGAPPNAME=pgm_clients_sleeper "$PGM_BINDIR/psql" -X -c 'SELECT pg_sleep(600)' \
        >"$work/sleeper.log" 2>&1 &
    sleeper_pid=$!
    local i=0
    until [ "$(psql_su -At -c "SELECT count(*) FROM pg_stat_activity
                WHERE application_name = 'pgm_clients_sleeper' AND state = 'active'
                  AND now() - query_start > interval '1.5 s'")" = 1 ]; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "the sleeper session did not start"; return 1; }
        sleep 0.2
    done
}
# after the client: the sleeper's statement must have been cancelled
check_sleeper() {
    local i=0
    while kill -0 "$sleeper_pid" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -ge 50 ]; then
            echo "not ok - the pg_sleep session was not cancelled by pgm_kill_long()"
            kill "$sleeper_pid" 2>/dev/null; wait "$sleeper_pid" 2>/dev/null
            psql_su -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgm_clients_sleeper'" >/dev/null
            return 1
        fi
        sleep 0.2
    done
    wait "$sleeper_pid" 2>/dev/null
    if grep -q 'canceling statement due to user request' "$work/sleeper.log"; then
        echo "ok - the pg_sleep session was cancelled (ERROR: canceling statement due to user request)"
    else
        echo "not ok - the pg_sleep session ended otherwise:"; sed 's/^/#   /' "$work/sleeper.log"; return 1
    fi
}

# ---- each client, from a scratch copy of test/clients
cp -a "$here/." "$work/clients/" 2>/dev/null || { mkdir -p "$work/clients" && cp -a "$here/." "$work/clients/"; }
cd "$work/clients"
run_client() {  # the command of a client, its checks on stdout
    case $1 in
        psql) "$PGM_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -f clients.sql ;;
        python) /usr/bin/python3 clients.py ;;      # Debian's, with python3-psycopg2
        node) (cd node && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) ||
                  { echo "not ok - npm ci (pg from the npm registry)"; cat "$work/npm.log"; return 1; }
              node node/clients.js ;;
        php) php clients.php ;;
        go) (cd go && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" GOFLAGS= \
                 go build -o "$work/clients-go" . >"$work/go-build.log" 2>&1) ||
                { echo "not ok - go build (lib/pq from /usr/share/gocode)"; cat "$work/go-build.log"; return 1; }
            "$work/clients-go" ;;
        java) java -cp /usr/share/java/postgresql.jar Clients.java ;;
    esac
}
passed=0 failed=0
for l in "${langs[@]}"; do
    log=$work/$l.log
    (
        rc=0
        start_sleeper || rc=1
        [ $rc = 0 ] && { run_client "$l"; rc=$?; }
        check_sleeper || rc=1
        # a program that printed a "not ok" failed, whatever its exit code
        exit $rc
    ) >"$log" 2>&1
    rc=$?
    grep -q '^not ok' "$log" && rc=1
    grep -q '^ok' "$log" || rc=1
    n_ok=$(grep -c '^ok' "$log"); n_skip=$(grep -c '^skip' "$log")
    if [ $rc = 0 ]; then
        passed=$((passed + 1))
        printf 'ok     clients: %s (%s checks%s)\n' "$l" "$n_ok" "$([ "$n_skip" -gt 0 ] && echo ", $n_skip skipped")"
    else
        failed=$((failed + 1))
        printf 'FAILED clients: %s\n' "$l"
        grep -v -E '^(ok|skip)' "$log" | head -60 | sed 's/^/    /'
    fi
    grep '^skip' "$log" | sed -E "s/^skip( -)? */skip   clients: $l: /"
    [ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
