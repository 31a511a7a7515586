#!/usr/bin/env bash
# Run pgmanage's whole test suite: unit tests, a short fuzz run, pg_regress
# (sql/ + expected/) against a temporary instance, and the TAP tests in
# test/t/ with prove.  Everything runs from a scratch copy of the tree, as
# the postgres OS user, against clusters the tests start and stop
# themselves.  Prints "N passed, N failed" last; exits non-zero on failure.
#
#   scripts/test.sh              # everything
#   PGM_TAP_FILTER=010 scripts/test.sh   # only TAP files whose name matches
#   KEEP=1 scripts/test.sh       # keep the scratch directory for inspection
set -uo pipefail
. "$(dirname "$0")/lib.sh"
pgm_become_root "$0" "$@"
pgm_install_deps || pgm_die "could not install dependencies"

# One run at a time on a machine: the install step replaces the library.
# (fd 9 holds the lock; every child gets it closed with 9>&-, so a server
# that outlives its test cannot keep the lock.)
exec 9>/tmp/pgmanage-test.lock
flock 9

work=$(mktemp -d /tmp/pgmanage-test.XXXXXX)
cleanup() {
    # no server may outlive the run
    pkill -u postgres -f -- "$work" 2>/dev/null && sleep 1
    pkill -9 -u postgres -f -- "$work" 2>/dev/null
    if [ "${KEEP:-}" = 1 ]; then pgm_log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$work/src"
tar -C "$PGM_ROOT" --exclude=./.git --exclude=./.sandbox --exclude=./results \
    --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$work/src" -xf -
pgm_log "building with -Werror $PGM_WARNFLAGS"
pgm_build_install "$work/src" 9>&-
chown -R postgres: "$work"

pgxs_dir=$(dirname "$(pg_config --pgxs)")/..
pg_regress=$pgxs_dir/test/regress/pg_regress
as_pg() { runuser -u postgres -- env PATH="$PGM_BINDIR:$PATH" "$@" 9>&-; }

passed=0; failed=0; failures=()
record() {  # record NAME STATUS
    if [ "$2" = 0 ]; then passed=$((passed + 1)); printf 'ok     %s\n' "$1"
    else failed=$((failed + 1)); failures+=("$1"); printf 'FAILED %s\n' "$1"; fi
}

# 1. unit tests and the fuzz smoke run (pure C, no server)
for t in "$work"/src/test/unit/run.sh; do
    [ -x "$t" ] || continue
    as_pg "$t" > "$work/unit.log" 2>&1; record "unit: cron parser" $?
    [ "$failed" -gt 0 ] && tail -20 "$work/unit.log"
done
if [ -x "$work/src/test/fuzz/run.sh" ]; then
    as_pg "$work/src/test/fuzz/run.sh" 5 > "$work/fuzz.log" 2>&1; rc=$?
    if [ $rc = 77 ]; then pgm_log "fuzz: skipped ($(tail -1 "$work/fuzz.log"))"
    else record "fuzz: cron parser (5 s)" $rc; [ $rc = 0 ] || tail -20 "$work/fuzz.log"; fi
fi

# 2. pg_regress against a temporary instance with the test configuration
regress_tests=$(make -s -C "$work/src" print-regress)
mkdir -p "$work/regress" && chown postgres: "$work/regress"
as_pg "$pg_regress" --temp-instance="$work/regress/instance" \
    --temp-config="$work/src/test/regress.conf" \
    --inputdir="$work/src" --outputdir="$work/regress" --bindir="$PGM_BINDIR" \
    --port=$((52000 + RANDOM % 1000)) --dbname=contrib_regression \
    $regress_tests > "$work/regress.log" 2>&1
while read -r name status; do
    record "regress: $name" "$status"
done < <(sed -nE 's/^(test +| +)?([a-z0-9_]+) +\.\.\. +(ok|FAILED|failed).*/\2 \3/p' "$work/regress.log" |
         sed -E 's/ ok$/ 0/; s/ (FAILED|failed)$/ 1/')
if grep -q -E '^(test +| +)?[a-z0-9_]+ +\.\.\. +(ok|FAILED|failed)' "$work/regress.log"; then :; else
    record "regress: pg_regress did not run" 1; tail -30 "$work/regress.log"
fi
[ -f "$work/regress/regression.diffs" ] && head -150 "$work/regress/regression.diffs"

# 3. TAP tests, one prove per file so each counts on its own
mkdir -p "$work/tap" && chown postgres: "$work/tap"
for t in "$work"/src/test/t/*.pl; do
    [ -e "$t" ] || continue
    name=$(basename "$t")
    [ -n "${PGM_TAP_FILTER:-}" ] && [[ "$name" != *"$PGM_TAP_FILTER"* ]] && continue
    tdir="$work/tap/${name%.pl}"; mkdir -p "$tdir"; chown postgres: "$tdir"
    (cd "$tdir" && timeout 600 runuser -u postgres -- env PATH="$PGM_BINDIR:$PATH" \
        TESTDIR="$tdir" PG_REGRESS="$pg_regress" PGM_SRC="$work/src" \
        prove -I "$pgxs_dir/test/perl" -I "$work/src/test/perl" "$t" 9>&-) > "$tdir/prove.log" 2>&1
    rc=$?
    record "tap: $name" $rc
    if [ $rc != 0 ]; then
        tail -40 "$tdir/prove.log"
        for l in "$tdir"/tmp_check/log/*.log; do
            [ -f "$l" ] && { echo "--- $l"; tail -30 "$l"; }
        done
    fi
done

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
