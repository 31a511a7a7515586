# Shared by scripts/*.sh: where things are, and how to run as the right user.
# shellcheck shell=bash

PGM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGM_PG_MAJOR=15
PGM_BINDIR=/usr/lib/postgresql/$PGM_PG_MAJOR/bin
PGM_WARNFLAGS='-Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers'

pgm_log() { printf '[pgmanage] %s\n' "$*" >&2; }
pgm_die() { printf '[pgmanage] error: %s\n' "$*" >&2; exit 1; }

# Re-run this script as root through sudo when started by another user.
pgm_become_root() {
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || pgm_die "run as root, or install sudo"
        exec sudo --preserve-env=KEEP,PGM_TAP_FILTER,PGM_SKIP_DEPS,PGM_CLIENTS,PGM_DEB,PGM_SANITIZE "$@"
    fi
}

# Install the Debian packages pgmanage needs, if any is missing.
pgm_install_deps() {
    [ "${PGM_SKIP_DEPS:-}" = 1 ] && return 0
    local pkgs=(postgresql-$PGM_PG_MAJOR postgresql-contrib postgresql-server-dev-$PGM_PG_MAJOR
                libcurl4-openssl-dev libipc-run-perl make gcc clang openssl python3 util-linux)
    # metrics: the scrape test (test/t/075) and the text-format parser (python3 prometheus_client)
    pkgs+=(prometheus-postgres-exporter python3-prometheus-client)
    local missing=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        pgm_log "installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Build (warnings are errors) and install from a source tree.
pgm_build_install() {
    local src=$1
    make -C "$src" -s clean >/dev/null 2>&1 || true
    make -C "$src" -s COPT="-Werror $PGM_WARNFLAGS" || pgm_die "build failed"
    make -C "$src" -s install >/dev/null || pgm_die "install failed"
}
