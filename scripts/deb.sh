#!/usr/bin/env bash
# Build the Debian package postgresql-<v>-pgmanage from this tree, for every
# PostgreSQL version of debian/pgversions this distribution supports
# (Debian 12: 15), with pg_buildext (debian/rules).  The build runs in a
# scratch copy of the tree; the .deb files land in dist/ (or -o DIR).
#
#   scripts/deb.sh               # -> dist/postgresql-15-pgmanage_2.1_amd64.deb
#   scripts/deb.sh -o /tmp/debs  # elsewhere
#   sudo apt-get install ./dist/postgresql-15-pgmanage_*.deb   # then install it
#
# Installs the build dependencies first (debhelper, postgresql-server-dev-all,
# libcurl4-openssl-dev, dpkg-dev) with apt-get if one is missing
# (PGM_SKIP_DEPS=1: don't).  Refuses to build when debian/changelog's version
# is not pgmanage.control's default_version.  Prints the paths of the .deb
# files last.  See docs/packaging.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$PGM_ROOT/dist
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=${2:?-o needs a directory}; shift 2 ;;
        -o*) out=${1#-o}; shift ;;
        *) pgm_die "unknown argument '$1' (only -o DIR)" ;;
    esac
done
mkdir -p "$out" && out=$(cd "$out" && pwd)

# the version is written once, in pgmanage.control; debian/changelog must agree
ctl_version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$PGM_ROOT/pgmanage.control")
deb_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$PGM_ROOT/debian/changelog")
[ "${deb_version%-*}" = "$ctl_version" ] ||
    pgm_die "debian/changelog says $deb_version, pgmanage.control says $ctl_version: add a changelog entry (dch -v $ctl_version)"

deps=(debhelper postgresql-server-dev-all libcurl4-openssl-dev dpkg-dev make gcc)
missing=()
if [ "${PGM_SKIP_DEPS:-}" != 1 ]; then
    for p in "${deps[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    pgm_become_root "$0" -o "$out"
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
