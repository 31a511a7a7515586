#!/usr/bin/env bash
# scripts/test-pg.sh: build, install and test pgmanage on another PostgreSQL
# major version, inside the chroot scripts/pg-chroot.sh makes for it (made
# first if missing).  The host's PostgreSQL is never touched: the library
# is installed into the chroot's own PostgreSQL.
#
#   scripts/test-pg.sh VERSION               # build install preload regress tap
#   scripts/test-pg.sh VERSION install preload   # build, then only these steps
#   PGM_TAP_FILTER=010 scripts/test-pg.sh 18 build install tap
#   KEEP=1 scripts/test-pg.sh 17             # keep the run's directory (printed)
#
# Steps:
#   build    copy this tree (no .git, no build products) into the chroot and
#            `make` it there with -Werror and the CI warning flags
#            (with_llvm=no: the chroot has no clang for PGXS's bitcode)
#   install  `make install` inside the chroot, as its root
#   preload  a scratch cluster with shared_preload_libraries =
#            'pg_stat_statements, pgmanage': the launcher and the worker must
#            start; prints their pg_stat_activity rows (wait events)
#   regress  pg_regress of the chroot's PGXS, --temp-instance,
#            --temp-config=test/regress.conf, the tests `make print-regress` lists
#   tap      each test/t/*.pl with prove (PostgreSQL::Test::Cluster of the
#            chroot's PGXS), as the chroot's postgres user
# Prints "ok NAME" / "FAILED NAME" per check and "N passed, N failed" last,
# like scripts/test.sh; exits non-zero when something failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/pg-chroot.sh"

v=${1:-}
[ -n "$v" ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
shift
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(build install preload regress tap)
for s in "${steps[@]}"; do
    case "$s" in build|install|preload|regress|tap) ;; *) pgm_chroot_die "unknown step '$s'" ;; esac
done
# every run starts from a fresh copy of the tree: build comes first, always
[ "${steps[0]}" = build ] || steps=(build "${steps[@]}")
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=KEEP,PGM_TAP_FILTER,PGM_CHROOT_CACHE "$0" "$v" "${steps[@]}"

warnflags='-Werror -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers'
pgm_chroot_ensure "$v"
croot=$(pgm_chroot_dir "$v")
bindir=/usr/lib/postgresql/$v/bin
pgxs_dir=/usr/lib/postgresql/$v/lib/pgxs/src
pg_regress=$pgxs_dir/test/regress/pg_regress

# one run per version at a time: the install step replaces the chroot's library
exec 9> "$pgm_chroot_cache/test-pg-$v.lock"
flock 9

mkdir -p "$croot/build"
w=$(mktemp -d "$croot/build/run.XXXXXX")     # on the host
cw=${w#"$croot"}                               # the same, inside the chroot
pg_ids=$(awk -F: '$1 == "postgres" { print $3 ":" $4 }' "$croot/etc/passwd")

# stop every server this run started, by the pid in its postmaster.pid:
# fast shutdown, then immediate, then SIGKILL
server_pids() {
    local f pid
    while IFS= read -r f; do
        pid=$(head -1 "$f" 2>/dev/null)
        [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
    done < <(find "$w" -name postmaster.pid 2>/dev/null)
}
stop_servers() {
    local pids sig i
    for sig in INT QUIT KILL; do
        pids=$(server_pids)
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -"$sig" $pids 2>/dev/null
        for i in $(seq 1 20); do [ -n "$(server_pids)" ] || return 0; sleep 0.5; done
    done
}
cleanup() {
    local f
    for f in "$w"/tap/*/tap.pid; do
        [ -f "$f" ] && [[ "$(cat "$f")" =~ ^[0-9]+$ ]] && kill -TERM -- "-$(cat "$f")" 2>/dev/null
    done
    stop_servers
    pgm_chroot_umount_unused "$v" 9>&-
    if [ "${KEEP:-}" = 1 ]; then pgm_chroot_log "kept $w (in the chroot: $cw)"; else rm -rf --one-file-system "$w"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_root() { pgm_chroot_run "$v" "$@" 9>&-; }
in_pg() { pgm_chroot_run_pg "$v" "$@" 9>&-; }

passed=0; failed=0; failures=()
record() {  # record NAME STATUS
    if [ "$2" = 0 ]; then passed=$((passed + 1)); printf 'ok     %s\n' "$1"
    else failed=$((failed + 1)); failures+=("$1"); printf 'FAILED %s\n' "$1"; fi
}
skip() { printf 'skip   %s\n' "$1"; }

have_sql=yes   # the full install script can be made (src/sql/<capability>.sql present)

step_build() {
    local t0=$SECONDS rc
    mkdir -p "$w/src"
    tar -C "$root" --exclude=./.git --exclude=./.sandbox --exclude=./results --exclude=./.testrun \
        --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='*.d' -cf - . | tar -C "$w/src" -xf -
    chown -R "$pg_ids" "$w"
    in_pg sh -c "cd '$cw/src' && make -s -j2 with_llvm=no COPT='$warnflags'" > "$w/build.log" 2>&1
    rc=$?
    if [ $rc != 0 ] && grep -q "No rule to make target 'src/sql/" "$w/build.log"; then
        # the SQL sources of the 2.0 layout are not in this tree yet: the library alone
        have_sql=no
        pgm_chroot_log "no SQL sources ($(grep -o "No rule to make target '[^']*'" "$w/build.log" | head -1)): building the library only"
        in_pg sh -c "cd '$cw/src' && make -s -j2 with_llvm=no COPT='$warnflags' pgmanage.so" > "$w/build.log" 2>&1
        rc=$?
    fi
    [ $rc = 0 ] || tail -40 "$w/build.log"
    if grep -q 'warning:' "$w/build.log"; then grep 'warning:' "$w/build.log" | head -20; rc=1; fi
    record "build on PostgreSQL $v ($(in_root pg_config --version 2>/dev/null | head -1), -Werror, $((SECONDS - t0)) s)" $rc
    [ $rc = 0 ]
}

step_install() {
    local rc
    if [ $have_sql = yes ]; then
        in_root sh -c "cd '$cw/src' && make -s with_llvm=no install" > "$w/install.log" 2>&1
    else
        # library, control file and src/sql/updates/ only
        in_root sh -c "cd '$cw/src' && make -s with_llvm=no DATA_built= install" > "$w/install.log" 2>&1
    fi
    rc=$?
    [ $rc = 0 ] || tail -20 "$w/install.log"
    record "install into the chroot's PostgreSQL $v$([ $have_sql = no ] && echo ' (library only: no SQL sources)')" $rc
    [ $rc = 0 ] || return 1
    install_old
}

# The pg_upgrade test's old server (pgm_chroot_upgrade_from: 15 in the 17
# chroot, from bookworm) gets this tree too.  The chroot has no headers of
# it (postgresql-server-dev-15 would pull clang in): the host's PostgreSQL
# is that same major version, so the tree is built with the host's PGXS
# and installed into the chroot (DESTDIR).  old_install tells the TAP step.
old_install=
install_old() {
    local o rc pgc
    o=$(pgm_chroot_upgrade_from "$v")
    [ -n "$o" ] && [ $have_sql = yes ] || return 0
    pgc=/usr/lib/postgresql/$o/bin/pg_config
    if [ ! -x "$croot/usr/lib/postgresql/$o/bin/postgres" ] || [ ! -x "$pgc" ] ||
       [ ! -d "$(dirname "$pgc")/../lib/pgxs" ] || [ ! -d "/usr/include/postgresql/$o/server" ]; then
        skip "install for PostgreSQL $o (the pg_upgrade test's old server): needs postgresql-server-dev-$o on the host"
        return 0
    fi
    # an extension built with newer minor-release headers may not load into
    # an older server (15.20's htup_details.h calls heap_datum_check, which
    # 15.18 lacks): the chroot's server must be the host's minor version
    local hv cv
    hv=$("$pgc" --version); cv=$(in_root "/usr/lib/postgresql/$o/bin/postgres" --version)
    if [ "$(echo "$hv" | awk '{print $2}')" != "$(echo "$cv" | awk '{print $3}')" ]; then
        skip "install for PostgreSQL $o (the pg_upgrade test's old server): the host has $hv, the chroot $cv"
        return 0
    fi
    mkdir -p "$w/src-$o"
    tar -C "$w/src" --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='*.d' \
        --exclude='./src/sql/pgmanage--*.sql' -cf - . | tar -C "$w/src-$o" -xf -
    { make -s -C "$w/src-$o" -j2 PG_CONFIG="$pgc" with_llvm=no COPT="$warnflags" &&
      make -s -C "$w/src-$o" PG_CONFIG="$pgc" with_llvm=no DESTDIR="$croot" install; } > "$w/install-$o.log" 2>&1
    rc=$?
    [ $rc = 0 ] || tail -20 "$w/install-$o.log"
    record "install into the chroot's PostgreSQL $o (the pg_upgrade test's old server)" $rc
    [ $rc = 0 ] && old_install=/usr/lib/postgresql/$o
    return 0
}

step_preload() {
    local d=$cw/preload port=$((53000 + RANDOM % 1000)) rc=1 i out
    mkdir -p "$w/preload" && chown "$pg_ids" "$w/preload"
    in_pg initdb -D "$d/data" -A trust -E UTF8 --locale=C --no-sync > "$w/preload/initdb.log" 2>&1 ||
        { tail -20 "$w/preload/initdb.log"; record "preload: initdb" 1; return 1; }
    cat >> "$w/preload/data/postgresql.conf" <<EOF
shared_preload_libraries = 'pg_stat_statements, pgmanage'
compute_query_id = on
listen_addresses = ''
unix_socket_directories = '$d'
port = $port
pgmanage.database = 'postgres'
EOF
    if ! in_pg pg_ctl -D "$d/data" -l "$d/server.log" -w -t 60 start > "$w/preload/pg_ctl.log" 2>&1; then
        tail -30 "$w/preload/server.log"; record "preload: server start with pgmanage preloaded" 1; return 1
    fi
    for i in $(seq 1 60); do
        out=$(in_pg psql -X -A -t -h "$d" -p "$port" -d postgres -c \
            "SELECT string_agg(backend_type, ',' ORDER BY backend_type) FROM pg_stat_activity WHERE backend_type LIKE 'pgmanage %'" 2>/dev/null)
        if [[ "$out" == *"pgmanage launcher"* && "$out" == *"pgmanage worker"* ]]; then rc=0; break; fi
        sleep 0.5
    done
    sleep 1  # let them reach their sleep, so the wait events show
    in_pg psql -X -h "$d" -p "$port" -d postgres -c \
        "SELECT backend_type, application_name, datname, wait_event_type, wait_event FROM pg_stat_activity WHERE backend_type LIKE 'pgmanage %' ORDER BY 1" 2>&1
    # 18+: PG_MODULE_MAGIC_EXT's name and version
    in_pg psql -X -A -t -h "$d" -p "$port" -d postgres -c \
        "SELECT 'loaded module: ' || module_name || ' ' || version FROM pg_catalog.pg_get_loaded_modules() WHERE module_name = 'pgmanage'" 2>/dev/null
    in_pg pg_ctl -D "$d/data" -m fast -w stop > /dev/null 2>&1
    [ $rc = 0 ] || tail -30 "$w/preload/server.log"
    record "preload: launcher and worker start on PostgreSQL $v" $rc
    [ $rc = 0 ]
}

step_regress() {
    local tests t0=$SECONDS
    if [ $have_sql = no ]; then skip "regress: no SQL sources in this tree (src/sql/<capability>.sql)"; return 0; fi
    tests=$(in_pg make -s -C "$cw/src" print-regress)
    mkdir -p "$w/regress" && chown "$pg_ids" "$w/regress"
    # shellcheck disable=SC2086
    # from the tree, as PGXS runs it (a test reads docs/security.md by a relative path)
    in_pg sh -c 'cd "$0" && exec "$@"' "$cw/src" "$pg_regress" --temp-instance="$cw/regress/instance" \
        --temp-config="$cw/src/test/regress.conf" \
        --inputdir="$cw/src" --outputdir="$cw/regress" --bindir="$bindir" \
        --port=$((54000 + RANDOM % 1000)) --dbname=contrib_regression \
        $tests > "$w/regress.log" 2>&1
    while read -r name status; do
        record "regress: $name" "$status"
    done < <(sed -nE 's/^(test +| +)?([a-z0-9_]+) +\.\.\. +(ok|FAILED|failed).*/\2 \3/p' "$w/regress.log" |
             sed -E 's/ ok$/ 0/; s/ (FAILED|failed)$/ 1/')
    # pg_regress of 16+ prints TAP ("ok 1 - name  12 ms"), 15 "test name ... ok" (above)
    while read -r status name; do
        record "regress: $name" "$status"
    done < <(sed -nE 's/^(ok|not ok) +[0-9]+ +[-+] +([a-z0-9_]+) .*/\1 \2/p' "$w/regress.log" |
             sed -E 's/^ok /0 /; s/^not ok /1 /')
    if ! grep -q -E '^((test +| +)?[a-z0-9_]+ +\.\.\. +(ok|FAILED|failed)|(ok|not ok) +[0-9]+ +[-+] )' "$w/regress.log"; then
        record "regress: pg_regress did not run" 1; tail -30 "$w/regress.log"
    fi
    [ -f "$w/regress/regression.diffs" ] && head -200 "$w/regress/regression.diffs"
    pgm_chroot_log "regress took $((SECONDS - t0)) s"
}

step_tap() {
    local t name tdir rc l t0=$SECONDS
    if [ $have_sql = no ]; then skip "tap: no SQL sources in this tree (src/sql/<capability>.sql)"; return 0; fi
    mkdir -p "$w/tap" && chown "$pg_ids" "$w/tap"
    # 050_upgrade builds release 1.5 from git: 1.5 predates src/core/compat.h
    # and builds only against 15, so on 16+ the test says why it skips
    local pginst_skip=
    [ "$v" -ge 16 ] && pginst_skip="release 1.5 (commit 76205cf) predates src/core/compat.h and builds only against PostgreSQL 15: the upgrade from 1.5 is tested on 15 (scripts/test.sh)"
    for t in "$w"/src/test/t/*.pl; do
        [ -e "$t" ] || continue
        name=$(basename "$t")
        [ -n "${PGM_TAP_FILTER:-}" ] && [[ "$name" != *"$PGM_TAP_FILTER"* ]] && continue
        tdir="$w/tap/${name%.pl}"; mkdir -p "$tdir"; chown "$pg_ids" "$tdir"
        # timeout makes a process group of its own, whose id goes to tap.pid:
        # an interrupted run stops the test's whole group (cleanup)
        # TESTDATADIR, TESTLOGDIR: what PGXS's prove_installcheck sets on 16+
        # (absolute paths; 15 derives the same from TESTDIR)
        in_pg env TESTDIR="$cw/tap/${name%.pl}" PG_REGRESS="$pg_regress" PGM_SRC="$cw/src" \
            PGM_PGINST_SKIP="$pginst_skip" PGM_OLD_INSTALL="$old_install" \
            TESTDATADIR="$cw/tap/${name%.pl}/tmp_check" TESTLOGDIR="$cw/tap/${name%.pl}/tmp_check/log" \
            sh -c 'cd "$TESTDIR" && echo $$ > tap.pid &&
                   exec timeout 600 prove -I "$0/test/perl" -I "$PGM_SRC/test/perl" "$1"' \
            "$pgxs_dir" "$cw/src/test/t/$name" > "$tdir/prove.log" 2>&1 &
        wait $!
        rc=$?
        # what the test left running in its group (a receiver it did not stop)
        [ -f "$tdir/tap.pid" ] && kill -TERM -- "-$(cat "$tdir/tap.pid")" 2>/dev/null
        rm -f "$tdir/tap.pid"
        if [ $rc = 0 ] && grep -q -E '^[^ ]+\.pl \.+ skipped:' "$tdir/prove.log"; then
            printf 'skip   tap: %s (%s)\n' "$name" "$(sed -nE 's/^[^ ]+\.pl \.+ skipped: //p' "$tdir/prove.log")"
            continue
        fi
        record "tap: $name" $rc
        if [ $rc != 0 ]; then
            tail -40 "$tdir/prove.log"
            for l in "$tdir"/tmp_check/log/*.log; do
                [ -f "$l" ] && { echo "--- $l"; tail -30 "$l"; }
            done
        fi
    done
    pgm_chroot_log "tap took $((SECONDS - t0)) s"
}

t_start=$SECONDS
for s in "${steps[@]}"; do
    # nothing to test without a build and an install
    if ! "step_$s" && { [ "$s" = build ] || [ "$s" = install ]; }; then break; fi
done

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "PostgreSQL $v: $passed passed, $failed failed ($((SECONDS - t_start)) s)"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
