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
#   PGM_CLIENTS=1 scripts/test.sh   # also every client driver (test/clients/run.sh; CI)
#   PGM_DEB=0 scripts/test.sh    # without the Debian package step (full runs have it)
#   scripts/test.sh --pg 17      # the same suite on PostgreSQL 17 (or 18), in
#                                # its chroot (scripts/test-pg.sh; made if missing)
#   scripts/test.sh --pg 15      # the machine's own PostgreSQL: the same as no --pg
#   scripts/test.sh --pg all     # the machine's, then 17, then 18: a line per
#                                # version, then the sum
#   PGM_SANITIZE=undefined scripts/test.sh   # pgmanage built with -fsanitize=undefined
#                                # (or address,undefined: =1) into a private copy
#                                # of PostgreSQL; the sanitizers' reports are
#                                # counted at the end (docs/security.md)
#
# The tests themselves run through PGXS (Makefile, tests section):
# `make regress_installcheck` and `make prove_installcheck`, the two halves
# of `make installcheck`.  A skipped TAP test prints "skip" with its reason
# and counts as neither passed nor failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# --pg VERSION: another major version runs in its chroot (scripts/test-pg.sh);
# the machine's own version (PGM_PG_MAJOR) runs here, as without --pg
pg_version=
case "${1:-}" in
    --pg) pg_version=${2:-}; [ -n "$pg_version" ] || pgm_die "--pg needs a version (15, 17, 18 or all)"; shift 2 ;;
    --pg=*) pg_version=${1#--pg=}; shift ;;
esac
[ $# -eq 0 ] || pgm_die "unknown arguments: $* (only --pg VERSION)"
[ "$pg_version" = "$PGM_PG_MAJOR" ] && pg_version=
if [ -n "$pg_version" ]; then
    pgm_become_root "$0" --pg "$pg_version"
    case "$pg_version" in
        all) versions=("$PGM_PG_MAJOR" 17 18) ;;
        17|18) versions=("$pg_version") ;;
        *) pgm_die "unsupported --pg '$pg_version' (15, 17, 18 or all)" ;;
    esac
    sum_p=0 sum_f=0 lines=()
    for v in "${versions[@]}"; do
        t0=$SECONDS
        log=$(mktemp /tmp/pgmanage-test-pg$v.XXXXXX.log)
        if [ "$v" = "$PGM_PG_MAJOR" ]; then
            "$0" 2>&1 | tee "$log"
        else
            "$PGM_ROOT/scripts/test-pg.sh" "$v" 2>&1 | tee "$log"
        fi
        # the last "N passed, N failed" of the run (none: it did not get that far)
        last=$(grep -E '([0-9]+) passed, ([0-9]+) failed' "$log" | tail -1)
        if [[ "$last" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
            p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
        else
            p=0 f=1
        fi
        rm -f "$log"
        sum_p=$((sum_p + p)) sum_f=$((sum_f + f))
        lines+=("PostgreSQL $v: $p passed, $f failed ($((SECONDS - t0)) s)")
    done
    echo
    if [ ${#versions[@]} -gt 1 ]; then printf '%s\n' "${lines[@]}"; fi
    echo "$sum_p passed, $sum_f failed"
    [ "$sum_f" = 0 ] && [ "$sum_p" -gt 0 ]
    exit
fi
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
# PGM_SANITIZE=undefined (or address,undefined; 1 means that): the library
# built with those sanitizers and installed into a private copy of the
# PostgreSQL installation ($work/saninst; the system's is not touched),
# whose postgres is a wrapper that sets the sanitizers' options (reports go
# to $work/sanitizer/) and, for address, preloads libasan (its runtime must
# be loaded first).  UBSan's runtime is linked into the library and needs
# nothing else.  PostgreSQL does not free at exit: no leak detection.  UBSan
# reports and goes on, so that one run lists every finding.
# With libasan preloaded, postgres itself (even postgres -V) hangs at start
# on Debian 12 (glibc 2.36, gcc 12's or clang 14's runtime): gdb shows
# gettext's lock left broken by the bindtextdomain() of libgpg-error's
# constructor (libsystemd -> libgcrypt -> libgpg-error), which runs before
# the runtime is ready.  A small library preloaded after libasan skips the
# bindtextdomain() of those libraries' constructors (their messages stay
# untranslated); see docs/security.md.
case "${PGM_SANITIZE:-}" in
    1) PGM_SANITIZE=address,undefined ;;
esac
test_bindir=$PGM_BINDIR
san_wrap() {  # san_wrap BINDIR: its postgres and pg_ctl become wrappers
    # (pg_ctl too: its restart starts the binary that postmaster.opts names,
    # postgres.bin, which inherits pg_ctl's environment)
    local prog
    for prog in postgres pg_ctl; do
        mv "$1/$prog" "$1/$prog.bin"
        {
            echo '#!/bin/sh'
            echo '# scripts/test.sh PGM_SANITIZE: with the sanitizers'"'"' options'
            case "$PGM_SANITIZE" in
                *address*) echo "LD_PRELOAD='$(gcc -print-file-name=libasan.so) $work/sanitizer-preload.so' \\" ;;
            esac
            echo "ASAN_OPTIONS=detect_leaks=0:log_path=$work/sanitizer/asan \\"
            echo "UBSAN_OPTIONS=print_stacktrace=1:log_path=$work/sanitizer/ubsan \\"
            echo "exec \"\$(dirname \"\$0\")/$prog.bin\" \"\$@\""
        } > "$1/$prog"
        chmod 755 "$1/$prog"
    done
}
if [ -n "${PGM_SANITIZE:-}" ]; then
    # -fno-wrapv after PGXS's -fwrapv: with -fwrapv, signed overflow is
    # defined and UBSan does not look for it; pgmanage's own code must not
    # rely on wrapping (it uses common/int.h's overflow checks)
    san_flags="-fsanitize=$PGM_SANITIZE -fno-omit-frame-pointer -fno-wrapv"
    pgm_log "building with -Werror $PGM_WARNFLAGS $san_flags"
    make -C "$work/src" -s clean >/dev/null 2>&1
    make -C "$work/src" -s COPT="-Werror $PGM_WARNFLAGS $san_flags" 9>&- || pgm_die "sanitizer build failed"
    cat > "$work/sanitizer-preload.c" <<'SHIM'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
/* the message catalogs of libraries whose constructors run before libasan is ready */
char *bindtextdomain(const char *domain, const char *dir)
{
	static char *(*real) (const char *, const char *);

	if (domain && (strcmp(domain, "libgpg-error") == 0 || strcmp(domain, "gnutls30") == 0 ||
				   strncmp(domain, "libgcrypt", 9) == 0))
		return (char *) dir;
	if (!real)
		real = (char *(*) (const char *, const char *)) dlsym(RTLD_NEXT, "bindtextdomain");
	return real(domain, dir);
}
SHIM
    gcc -shared -fPIC -O1 -o "$work/sanitizer-preload.so" "$work/sanitizer-preload.c" -ldl ||
        pgm_die "cannot build the sanitizer preload library"
    saninst=$work/saninst
    share=$("$PGM_BINDIR/pg_config" --sharedir)
    mkdir -p "$saninst$(dirname "$PGM_BINDIR")" "$saninst$share" "$work/sanitizer"
    cp -a "$(dirname "$PGM_BINDIR")/." "$saninst$(dirname "$PGM_BINDIR")/"
    cp -a "$share/." "$saninst$share/"
    make -C "$work/src" -s install DESTDIR="$saninst" >/dev/null 9>&- || pgm_die "install failed"
    san_wrap "$saninst$PGM_BINDIR"
    test_bindir=$saninst$PGM_BINDIR
else
    pgm_log "building with -Werror $PGM_WARNFLAGS"
    pgm_build_install "$work/src" 9>&-
fi
chown -R postgres: "$work"

as_pg() { runuser -u postgres -- env PATH="$PGM_BINDIR:$PATH" "$@" 9>&-; }

passed=0; failed=0; failures=()
record() {  # record NAME STATUS
    if [ "$2" = 0 ]; then passed=$((passed + 1)); printf 'ok     %s\n' "$1"
    else failed=$((failed + 1)); failures+=("$1"); printf 'FAILED %s\n' "$1"; fi
}

# 0. the direction of dependencies between src/ folders (nm on the objects)
"$PGM_ROOT/scripts/layout-check.sh" "$work/src" > "$work/layout.log" 2>&1
rc=$?; record "layout: dependencies run one way" $rc
[ $rc = 0 ] || grep -v '^ok ' "$work/layout.log"

# 0b. the version is written once: META.json (PGXN) and debian/changelog must
#     say pgmanage.control's default_version (2.2 -> META.json's 2.2.0)
python3 - "$work/src" > "$work/meta.log" 2>&1 <<'EOF'
import json, re, sys, os
root = sys.argv[1]
ctl = open(os.path.join(root, "pgmanage.control")).read()
ver = re.search(r"^default_version\s*=\s*'([^']+)'", ctl, re.M).group(1)
comment = re.search(r"^comment\s*=\s*'([^']+)'", ctl, re.M).group(1)
semver = ver + ".0" * (2 - ver.count("."))
meta = json.load(open(os.path.join(root, "META.json")))
deb = re.match(r"\S+ \(([^)]+)\)", open(os.path.join(root, "debian/changelog")).readline()).group(1)
p = meta["provides"]["pgmanage"]
checks = [("META.json version", meta["version"], semver),
          ("META.json provides.pgmanage.version", p["version"], semver),
          ("META.json abstract", meta["abstract"], comment),
          ("META.json name", meta["name"], "pgmanage"),
          ("META.json meta-spec", meta["meta-spec"]["version"], "1.0.0"),
          ("META.json prereqs PostgreSQL", meta["prereqs"]["runtime"]["requires"]["PostgreSQL"], "15.0.0"),
          ("META.json provides file exists", os.path.exists(os.path.join(root, p["file"])), True),
          ("debian/changelog version", deb.rsplit("-", 1)[0], ver)]
bad = [c for c in checks if c[1] != c[2]]
for name, got, want in bad:
    print(f"{name}: {got!r}, pgmanage.control says {want!r}")
sys.exit(1 if bad else 0)
EOF
rc=$?; record "meta: META.json and debian/changelog say version $(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$work/src/pgmanage.control")" $rc
[ $rc = 0 ] || cat "$work/meta.log"

# 1. unit tests and the fuzz smoke run (pure C, no server)
for t in "$work"/src/test/unit/run.sh; do
    [ -x "$t" ] || continue
    as_pg "$t" > "$work/unit.log" 2>&1; record "unit: cron parser" $?
    [ "$failed" -gt 0 ] && tail -20 "$work/unit.log"
done
if [ -x "$work/src/test/fuzz/run.sh" ]; then
    # cron parser, endpoint URLs and addresses, endpoint headers, the
    # settings' address lists: 20 s each
    as_pg env PG_CONFIG="$PGM_BINDIR/pg_config" "$work/src/test/fuzz/run.sh" 20 > "$work/fuzz.log" 2>&1; rc=$?
    if [ $rc = 77 ]; then pgm_log "fuzz: skipped ($(tail -1 "$work/fuzz.log"))"
    else record "fuzz: cron, wh_url, wh_header, addrlist (20 s each)" $rc; grep '^fuzz ' "$work/fuzz.log"
         [ $rc = 0 ] || tail -40 "$work/fuzz.log"; fi
fi

# 2. pg_regress through PGXS (make regress_installcheck: a temporary
#    instance configured by test/regress.conf), results in $work/regress
mkdir -p "$work/regress" && chown postgres: "$work/regress"
as_pg env PATH="$test_bindir:$PATH" make -C "$work/src" regress_installcheck bindir="$test_bindir" \
    EXTRA_REGRESS_OPTS="--outputdir=$work/regress --port=$((52000 + RANDOM % 1000))" \
    > "$work/regress.log" 2>&1
while read -r name status; do
    record "regress: $name" "$status"
done < <(sed -nE 's/^(test +| +)?([a-z0-9_]+) +\.\.\. +(ok|FAILED|failed).*/\2 \3/p' "$work/regress.log" |
         sed -E 's/ ok$/ 0/; s/ (FAILED|failed)$/ 1/')
# pg_regress of 16+ prints TAP ("ok 1 - name  12 ms", "not ok 2 + name"), 15 the form above
while read -r status name; do
    record "regress: $name" "$status"
done < <(sed -nE 's/^(ok|not ok) +[0-9]+ +[-+] +([a-z0-9_]+) .*/\1 \2/p' "$work/regress.log" |
         sed -E 's/^ok /0 /; s/^not ok /1 /')
if grep -q -E '^((test +| +)?[a-z0-9_]+ +\.\.\. +(ok|FAILED|failed)|(ok|not ok) +[0-9]+ +[-+] )' "$work/regress.log"; then :; else
    record "regress: pg_regress did not run" 1; tail -30 "$work/regress.log"
fi
[ -f "$work/regress/regression.diffs" ] && head -150 "$work/regress/regression.diffs"

# 3. TAP tests through PGXS (make prove_installcheck), one file at a time
#    so each counts on its own; each run's tmp_check/ (data, logs) is kept
#    in $work/tap/<name>/.
tap_tests=()
for t in "$work"/src/test/t/*.pl; do
    [ -e "$t" ] || continue
    name=$(basename "$t")
    [ -n "${PGM_TAP_FILTER:-}" ] && [[ "$name" != *"$PGM_TAP_FILTER"* ]] && continue
    tap_tests+=("$name")
done

# Tests that install other versions of pgmanage (050_upgrade: the 1.5
# release, then this tree over it) need a PostgreSQL installation of their
# own: the system's is shared, and postgres cannot write it.  A copy of it
# in $work/pginst, owned by postgres (the binaries find share/ and lib/
# relative to themselves), with the 1.5 release built from git installed.
pginst=$work/pginst pginst_skip=
if [ ${#tap_tests[@]} -gt 0 ] &&
   (cd "$work/src/test/t" && grep -l -q PGM_PGINST "${tap_tests[@]}" 2>/dev/null); then
    share=$("$PGM_BINDIR/pg_config" --sharedir) pkglib=$("$PGM_BINDIR/pg_config" --pkglibdir)
    mkdir -p "$pginst$(dirname "$PGM_BINDIR")" "$pginst$share"
    cp -a "$(dirname "$PGM_BINDIR")/." "$pginst$(dirname "$PGM_BINDIR")/"
    cp -a "$share/." "$pginst$share/"
    # without the pgmanage just installed from this tree
    rm -rf "$pginst$share"/extension/pgmanage[.-]* "$pginst$pkglib"/pgmanage.so \
        "$pginst$pkglib"/bitcode/pgmanage "$pginst$pkglib"/bitcode/pgmanage.index.bc
    v15=76205cf     # the last commit of release 1.5
    if ! git -c safe.directory='*' -C "$PGM_ROOT" rev-parse -q --verify "$v15^{commit}" >/dev/null 2>&1; then
        pginst_skip="no git history in $PGM_ROOT (a tarball?): release 1.5 (commit $v15) cannot be built"
    else
        mkdir -p "$work/v1.5"
        git -c safe.directory='*' -C "$PGM_ROOT" archive "$v15" | tar -x -C "$work/v1.5"
        pgm_log "building release 1.5 ($v15) into $pginst"
        if make -C "$work/v1.5" -s -j4 PG_CONFIG="$PGM_BINDIR/pg_config" >"$work/v1.5.log" 2>&1 &&
           make -C "$work/v1.5" -s install PG_CONFIG="$PGM_BINDIR/pg_config" DESTDIR="$pginst" >>"$work/v1.5.log" 2>&1; then :
        else
            tail -20 "$work/v1.5.log"; record "build of release 1.5 for the upgrade test" 1
            pginst_skip="the build of release 1.5 failed (see $work/v1.5.log)"
        fi
    fi
    # (the sanitized build of this tree gets installed there too: its server needs the runtime)
    [ -n "${PGM_SANITIZE:-}" ] && san_wrap "$pginst$PGM_BINDIR"
    chown -R postgres: "$work/pginst" "$work/v1.5" 2>/dev/null
fi

mkdir -p "$work/tap" && chown postgres: "$work/tap"
for name in "${tap_tests[@]}"; do
    tdir="$work/tap/${name%.pl}"; mkdir -p "$tdir"; chown postgres: "$tdir"
    (cd "$work/src" && timeout 600 runuser -u postgres -- env PATH="$test_bindir:$PATH" \
        PGM_SRC="$work/src" PGM_PG_CONFIG="$PGM_BINDIR/pg_config" \
        PGM_PGINST="$pginst" PGM_PGINST_SKIP="$pginst_skip" \
        make -s prove_installcheck bindir="$test_bindir" PROVE_TESTS="test/t/$name" 9>&-) > "$tdir/prove.log" 2>&1
    rc=$?
    rm -rf "$tdir/tmp_check"; mv "$work/src/tmp_check" "$tdir/tmp_check" 2>/dev/null
    if [ $rc = 0 ] && grep -q -E '^test/t/[^ ]+ \.+ skipped:' "$tdir/prove.log"; then
        printf 'skip   tap: %s (%s)\n' "$name" \
            "$(sed -nE 's/^test\/t\/[^ ]+ \.+ skipped: //p' "$tdir/prove.log")"
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

# 4. the Debian package (scripts/deb.sh --check): built from this tree,
#    dpkg -i, CREATE EXTENSION from it (debian/tests/create-extension),
#    dpkg --purge, and the build installed above put back byte for byte.
#    In full runs (no PGM_TAP_FILTER) or with PGM_DEB=1; PGM_DEB=0: never.
if [ "${PGM_DEB:-}" = 1 ] || { [ -z "${PGM_TAP_FILTER:-}" ] && [ "${PGM_DEB:-}" != 0 ]; }; then
    "$work/src/scripts/deb.sh" --check -o "$work/deb" > "$work/deb.log" 2>&1 9>&-
    rc=$?
    while read -r status name; do
        record "$name" "$([ "$status" = ok ] && echo 0 || echo 1)"
    done < <(sed -nE 's/^(ok|FAILED) +(deb: .*)/\1 \2/p' "$work/deb.log")
    grep -E '^skip ' "$work/deb.log"
    if [ $rc != 0 ]; then
        grep -q -E '^(ok|FAILED|skip) +deb:' "$work/deb.log" || record "deb: scripts/deb.sh --check" 1
        grep -v -E '^(ok|skip) ' "$work/deb.log" | tail -40
    fi
fi

# 5. every client of the handbook (test/clients/run.sh: psql, Python, Node.js,
#    PHP, Go, Java) against the build installed above; PGM_CLIENTS=1 (CI)
if [ "${PGM_CLIENTS:-}" = 1 ]; then
    "$work/src/test/clients/run.sh" > "$work/clients.log" 2>&1 9>&-
    rc=$?
    while read -r status name; do
        record "$name" "$([ "$status" = ok ] && echo 0 || echo 1)"
    done < <(sed -nE 's/^(ok|FAILED) +(clients: .*)/\1 \2/p' "$work/clients.log")
    grep -E '^skip ' "$work/clients.log"
    if [ $rc != 0 ]; then
        grep -q -E '^(ok|FAILED) +clients:' "$work/clients.log" || record "clients: test/clients/run.sh" 1
        grep -v -E '^(ok|skip) ' "$work/clients.log" | tail -60
    fi
fi

# the sanitizers' reports: in the files of log_path (one per process that
# had one) with one sanitizer; with address,undefined (gcc 12's runtime)
# log_path is not honoured (UBSan's flags, parsed after ASan's, reset it)
# and the reports go to the server's stderr, i.e. the server logs of
# pg_regress and of every TAP test: both are counted (a report is in one
# place only)
if [ -n "${PGM_SANITIZE:-}" ]; then
    san_logs=()
    for f in "$work"/sanitizer/* "$work"/regress/log/*.log "$work"/tap/*/tmp_check/log/*.log; do
        [ -f "$f" ] && san_logs+=("$f")
    done
    nasan=0 nubsan=0 san_files=()
    for f in "${san_logs[@]}"; do
        a=$(grep -c -E '^==[0-9]+==ERROR: AddressSanitizer' "$f") u=$(grep -c -E ': runtime error: ' "$f")
        nasan=$((nasan + a)) nubsan=$((nubsan + u))
        [ $((a + u)) -gt 0 ] && san_files+=("$f")
    done
    record "sanitizers: $nasan AddressSanitizer, $nubsan UBSan reports (${#san_logs[@]} logs read)" $((nasan + nubsan > 0))
    for f in "${san_files[@]}"; do
        echo "--- $f"; grep -m 5 -A 12 -E '^==[0-9]+==ERROR: AddressSanitizer|: runtime error: ' "$f" | head -60
    done
    if [ ${#san_files[@]} -gt 0 ]; then
        san_keep=/tmp/pgmanage-sanitizer.$(date +%Y%m%d%H%M%S)
        mkdir -p "$san_keep" && cp "${san_files[@]}" "$san_keep/" 2>/dev/null && pgm_log "logs with reports copied to $san_keep"
    fi
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
