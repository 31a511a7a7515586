#!/usr/bin/env bash
# Build the Debian package postgresql-<v>-pgmanage from this tree, for every
# PostgreSQL version of debian/pgversions this distribution supports
# (Debian 12: 15), with pg_buildext (debian/rules).  The build runs in a
# scratch copy of the tree; the .deb files land in dist/ (or -o DIR).
#
#   scripts/deb.sh               # -> dist/postgresql-15-pgmanage_2.2_amd64.deb
#   scripts/deb.sh -o /tmp/debs  # elsewhere
#   sudo apt-get install ./dist/postgresql-15-pgmanage_*.deb   # then install it
#   scripts/deb.sh --check       # build, then test the package on this machine:
#                                # dpkg -i, CREATE EXTENSION (debian/tests/),
#                                # dpkg --purge, and the machine as it was
#
# Installs the build dependencies first (debhelper, postgresql-server-dev-all,
# libcurl4-openssl-dev, dpkg-dev, build-essential) with apt-get if one is missing
# (PGM_SKIP_DEPS=1: don't).  Refuses to build when debian/changelog's version
# is not pgmanage.control's default_version.  Prints the paths of the .deb
# files last.  See docs/packaging.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$PGM_ROOT/dist check=
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=${2:?-o needs a directory}; shift 2 ;;
        -o*) out=${1#-o}; shift ;;
        --check) check=1; shift ;;
        *) pgm_die "unknown argument '$1' (-o DIR, --check)" ;;
    esac
done
[ -z "$check" ] || pgm_become_root "$0" "${args[@]}"
mkdir -p "$out" && out=$(cd "$out" && pwd)

# the version is written once, in pgmanage.control; debian/changelog must agree
ctl_version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$PGM_ROOT/pgmanage.control")
deb_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$PGM_ROOT/debian/changelog")
[ "${deb_version%-*}" = "$ctl_version" ] ||
    pgm_die "debian/changelog says $deb_version, pgmanage.control says $ctl_version: add a changelog entry (dch -v $ctl_version)"

deps=(debhelper postgresql-server-dev-all libcurl4-openssl-dev dpkg-dev build-essential)
missing=()
if [ "${PGM_SKIP_DEPS:-}" != 1 ]; then
    for p in "${deps[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    pgm_become_root "$0" "${args[@]}"
    pgm_log "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
        pgm_die "could not install ${missing[*]}"
fi

work=$(mktemp -d /tmp/pgmanage-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/pgmanage-$deb_version
mkdir -p "$src"
tar -C "$PGM_ROOT" --exclude=./.git --exclude=./.sandbox --exclude=./dist --exclude=./results \
    --exclude=./tmp_check --exclude=./tmp_check_regress \
    --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='*.d' -cf - . | tar -C "$src" -xf -
# no stale generated install script from a build of the tree
rm -f "$src"/src/sql/pgmanage--"$ctl_version".sql

cd "$src"
# debian/control for this distribution's PostgreSQL versions
pg_buildext updatecontrol
pgm_log "building $(sed -n 's/^Package: //p' debian/control | tr '\n' ' ')($deb_version)"
if ! dpkg-buildpackage -us -uc -b > "$work/build.log" 2>&1; then
    tail -40 "$work/build.log" >&2
    pgm_die "dpkg-buildpackage failed"
fi
debs=("$work"/*.deb)
[ -e "${debs[0]}" ] || pgm_die "dpkg-buildpackage made no .deb"
cp "${debs[@]}" "$out/"
[ -n "${SUDO_UID:-}" ] && chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$out" "$out"/*.deb 2>/dev/null
for d in "${debs[@]}"; do echo "$out/$(basename "$d")"; done
[ -n "$check" ] || exit 0

# ---- --check: the package on this machine, and the machine as it was.
# Prints "ok     deb: ..." / "FAILED deb: ..." lines (scripts/test.sh counts
# them).  A development build installed with `make install` (files no package
# owns) is saved first and put back afterwards, byte for byte.
cd "$work"
set +e
nfail=0
say() {  # say STATUS TEXT
    if [ "$1" = 0 ]; then printf 'ok     deb: %s\n' "$2"; else printf 'FAILED deb: %s\n' "$2"; nfail=$((nfail + 1)); fi
}
deb=$(ls "$out"/postgresql-*-pgmanage_"$deb_version"_*.deb | head -1)
pkg=$(dpkg-deb -f "$deb" Package)
v=$(echo "$pkg" | sed 's/^postgresql-\([0-9]*\)-pgmanage$/\1/')
pgc=/usr/lib/postgresql/$v/bin/pg_config
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    echo "skip   deb: $pkg is installed on this machine: not replacing it"
    exit 0
fi
# what is installed now, outside any package (a make install), saved
pgfiles() {
    local lib share
    lib=$("$pgc" --pkglibdir) share=$("$pgc" --sharedir)
    ls -d "$lib"/pgmanage.so "$lib"/bitcode/pgmanage "$lib"/bitcode/pgmanage.index.bc \
        "$share"/extension/pgmanage.control "$share"/extension/pgmanage--*.sql 2>/dev/null
}
sums() { pgfiles | while read -r f; do find "$f" -type f; done | sort | xargs -r sha256sum; }
saved=$(pgfiles)
sums > "$work/before.sum"
[ -z "$saved" ] || tar -C / -cf "$work/before.tar" $(echo "$saved" | sed 's|^/||')
restore() {
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' && dpkg --purge "$pkg" >/dev/null 2>&1
    [ -f "$work/pkg.files" ] && while read -r f; do rm -f "$f"; done < "$work/pkg.files"
    [ -f "$work/before.tar" ] && tar -C / -xf "$work/before.tar"
    rm -rf "$work"
}
trap restore EXIT

# the package's own files (not its directories), from the .deb
dpkg-deb --fsys-tarfile "$deb" | tar -tf - | sed -n 's|^\./|/|p' | grep -v '/$' > "$work/pkg.files"
dpkg -i "$deb" > "$work/dpkg-i.log" 2>&1
say $? "dpkg -i $(basename "$deb")"
[ $nfail = 0 ] || sed 's/^/    /' "$work/dpkg-i.log"
lib=$("$pgc" --pkglibdir)/pgmanage.so
[ "$(dpkg-query -S "$lib" 2>/dev/null | cut -d: -f1)" = "$pkg" ] &&
    cmp -s "$lib" <(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ".$lib")
say $? "$pkg owns $lib, the packaged library"
(cd "$src" && debian/tests/create-extension) > "$work/autopkgtest.log" 2>&1
rc=$?; say $rc "CREATE EXTENSION pgmanage from the package, processes up, DROP EXTENSION (debian/tests/create-extension)"
[ $rc = 0 ] || sed 's/^/    /' "$work/autopkgtest.log"
dpkg --purge "$pkg" > "$work/dpkg-r.log" 2>&1 &&
    ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' &&
    ! while read -r f; do [ -e "$f" ] && echo "$f"; done < "$work/pkg.files" | grep -q .
rc=$?; say $rc "dpkg --purge $pkg removes its $(wc -l < "$work/pkg.files") files"
if [ $rc != 0 ]; then
    sed 's/^/    /' "$work/dpkg-r.log"
    while read -r f; do [ -e "$f" ] && echo "    left: $f"; done < "$work/pkg.files"
fi
# what no package owns: back as it was
while read -r f; do rm -f "$f"; done < "$work/pkg.files"
[ -f "$work/before.tar" ] && tar -C / -xf "$work/before.tar"
sums > "$work/after.sum"
cmp -s "$work/after.sum" "$work/before.sum"
rc=$?; say $rc "the pgmanage files installed before ($(wc -l < "$work/before.sum") outside any package) are back, unchanged"
[ $rc = 0 ] || diff "$work/before.sum" "$work/after.sum" | sed 's/^/    /'
[ $nfail = 0 ]
