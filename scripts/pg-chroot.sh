#!/usr/bin/env bash
# scripts/pg-chroot.sh: a chroot of a newer Debian release that has another
# PostgreSQL major version, for building and testing pgmanage on it.
#
#   17: Debian 13 (trixie), postgresql-17      18: Debian unstable (sid), postgresql-18
#   15: Debian 12 (bookworm), postgresql-15: the host's version, in a chroot
#       of its own, so a run can install there without touching the host's
#
# The 17 chroot also holds bookworm's postgresql-15 (apt sources bookworm,
# -updates and -security, pinned below trixie so they supply only what
# trixie lacks): the old server of the pg_upgrade test
# (test/t/052_pg_upgrade.pl, 15 -> 17), the same minor version as the host's.
#
# Both come from the Debian archive this machine already uses (the URI in
# /etc/apt/sources.list.d/debian.sources).  A chroot is made once per
# machine, in $PGM_CHROOT_CACHE (default /var/cache/pgmanage), never in the
# repository, and reused afterwards.
#
#   scripts/pg-chroot.sh VERSION [ensure]   make the chroot if missing or half-made (default)
#   scripts/pg-chroot.sh VERSION path       print its directory
#   scripts/pg-chroot.sh VERSION status     made / missing / half-made, and what is mounted
#   scripts/pg-chroot.sh VERSION run CMD... run CMD inside as root
#   scripts/pg-chroot.sh VERSION run-pg CMD...  run CMD inside as the chroot's postgres user
#   scripts/pg-chroot.sh VERSION shell      an interactive shell inside as root
#   scripts/pg-chroot.sh VERSION mount | umount   the /proc, /dev, /dev/shm mounts by hand
#                                           (umount: only when no process uses the chroot)
#   scripts/pg-chroot.sh VERSION remove     unmount and delete the chroot
#
# Sourced (". scripts/pg-chroot.sh"), it defines the same as functions:
# pgm_chroot_ensure V, pgm_chroot_dir V, pgm_chroot_run V CMD...,
# pgm_chroot_run_pg V CMD..., pgm_chroot_mount V, pgm_chroot_umount_unused V.
#
# run/run-pg mount /proc, /dev (a private bind of the host's) and a tmpfs on
# /dev/shm, and unmount them when the last user of the chroot is done: each
# run, and each process it leaves running (a server started with pg_ctl),
# holds a shared lock on chroot-V.users; "umount" unmounts only when none
# does.  The chroot shares the host's
# network: servers inside listen on the host's loopback; nothing inside is
# started by package scripts (policy-rc.d refuses, no cluster is created).
#
# Idempotent: a complete chroot carries a marker naming its package list;
# without the marker it is half-made and is unmounted, deleted and made
# again; with an older package list the missing packages are installed.
# Needs root, and debootstrap (installed with apt-get if missing).

pgm_chroot_cache=${PGM_CHROOT_CACHE:-/var/cache/pgmanage}
pgm_chroot_marker=.pgmanage-chroot-complete

pgm_chroot_log() { printf '[pg-chroot] %s\n' "$*" >&2; }
pgm_chroot_die() { printf '[pg-chroot] error: %s\n' "$*" >&2; exit 1; }

# pgm_chroot_suite V: the Debian suite that ships postgresql-V
pgm_chroot_suite() {
    case "$1" in
        15) echo bookworm ;;   # the host's own release: a baseline that leaves the host's 15 alone
        17) echo trixie ;;
        18) echo sid ;;
        *) pgm_chroot_die "unsupported PostgreSQL version '$1' (15, 17 or 18)" ;;
    esac
}

pgm_chroot_dir() { pgm_chroot_suite "$1" >/dev/null && echo "$pgm_chroot_cache/chroot-$1"; }

# pgm_chroot_upgrade_from V: the older major version whose server the chroot
# of V also holds, for pg_upgrade (empty: none)
pgm_chroot_upgrade_from() {
    case "$1" in
        17) echo 15 ;;
        *) ;;
    esac
}

# What the build and the test suite need inside.  postgresql-V includes the
# contrib modules (pg_stat_statements) on Debian; PGXS's bitcode wants clang,
# which pgmanage does not need: builds pass with_llvm=no instead.
# The time zones the tests use (right/UTC) are in tzdata-legacy since trixie.
pgm_chroot_packages() {
    local o
    o=$(pgm_chroot_upgrade_from "$1")
    echo "postgresql-$1 postgresql-server-dev-$1 libcurl4-openssl-dev make gcc libc6-dev" \
         "libipc-run-perl perl python3 openssl util-linux procps ca-certificates tzdata" \
         "$([ "$1" -ge 17 ] && echo tzdata-legacy)$([ -n "$o" ] && echo " postgresql-$o")"
}

# The archive this machine uses.
pgm_chroot_mirror() {
    local m=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list)
    fi
    [ -n "$m" ] || pgm_chroot_die "no Debian archive URI in /etc/apt/sources.list.d/debian.sources"
    echo "${m%/}"
}

# Is anything mounted at or below DIR?
pgm_chroot_mounts_below() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts
}

pgm_chroot_mount_dir() {  # DIR
    local d=$1
    mkdir -p "$d/proc" "$d/dev"
    mountpoint -q "$d/proc" || mount -t proc proc "$d/proc"
    if ! mountpoint -q "$d/dev"; then
        mount --bind /dev "$d/dev"
        # private: the tmpfs below must never propagate onto the host's /dev/shm
        mount --make-private "$d/dev"
    fi
    mkdir -p "$d/dev/shm" 2>/dev/null || true
    mountpoint -q "$d/dev/shm" || mount -t tmpfs -o mode=1777,nosuid,nodev shm "$d/dev/shm"
}

pgm_chroot_umount_dir() {  # DIR; idempotent
    local d=$1 m
    for m in "$d/dev/shm" "$d/dev/pts" "$d/dev" "$d/proc"; do
        mountpoint -q "$m" 2>/dev/null && { umount "$m" || umount -l "$m"; }
    done
    # anything else someone mounted below (deepest first)
    pgm_chroot_mounts_below "$d" | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
    [ -z "$(pgm_chroot_mounts_below "$d")" ]
}

# Delete a chroot directory, never through a mount into the host.
pgm_chroot_delete_dir() {  # DIR
    local d=$1
    [ -e "$d" ] || return 0
    case "$d" in "$pgm_chroot_cache"/chroot-*) ;; *) pgm_chroot_die "refusing to delete $d" ;; esac
    pgm_chroot_umount_dir "$d" || pgm_chroot_die "could not unmount everything below $d"
    rm -rf --one-file-system "$d"
}

pgm_chroot_write_apt_conf() {  # DIR SUITE
    local d=$1 suite=$2
    mkdir -p "$d/etc/apt/apt.conf.d" "$d/usr/sbin" "$d/etc/postgresql-common"
    {
        echo 'APT::Install-Recommends "false";'
        echo 'APT::Install-Suggests "false";'
        # sid's Release file in this archive has expired
        [ "$suite" = sid ] && echo 'Acquire::Check-Valid-Until "false";'
    } > "$d/etc/apt/apt.conf.d/99pgmanage"
    # package scripts must not start services: the chroot shares the host's network
    printf '#!/bin/sh\nexit 101\n' > "$d/usr/sbin/policy-rc.d"
    chmod 755 "$d/usr/sbin/policy-rc.d"
    # no "main" cluster: tests make their own
    echo 'create_main_cluster = false' > "$d/etc/postgresql-common/createcluster.conf"
    cp /etc/resolv.conf "$d/etc/resolv.conf" 2>/dev/null || true
}

# The older release that supplies the pg_upgrade test's old server: its apt
# source, pinned at 100 so that it never replaces a package of the chroot's
# own release and supplies only what that release does not have.
pgm_chroot_write_upgrade_source() {  # DIR VERSION
    local d=$1 v=$2 o suite sec s
    o=$(pgm_chroot_upgrade_from "$v"); [ -n "$o" ] || return 0
    suite=$(pgm_chroot_suite "$o")
    # the same suites as the host (point releases and security updates):
    # the old server's minor version must be the host's, whose headers
    # build its library (scripts/test-pg.sh, install_old)
    sec=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian-security\/?$/) { print $i; exit } }' \
        /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    mkdir -p "$d/etc/apt/sources.list.d" "$d/etc/apt/preferences.d"
    {
        echo "deb $(pgm_chroot_mirror) $suite main"
        echo "deb $(pgm_chroot_mirror) $suite-updates main"
        [ -n "$sec" ] && echo "deb ${sec%/} $suite-security main"
    } > "$d/etc/apt/sources.list.d/$suite.list"
    for s in "$suite" "$suite-updates" "$suite-security"; do
        printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' "$s"
    done > "$d/etc/apt/preferences.d/$suite"
}

pgm_chroot_apt() {  # DIR ARGS...: apt-get inside, non-interactive
    local d=$1; shift
    chroot "$d" /usr/bin/env -i DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        apt-get -q -y -o Dpkg::Use-Pty=0 "$@"
}

pgm_chroot_install_packages() {  # DIR VERSION
    local d=$1 v=$2 t0=$SECONDS pkgs
    pkgs=$(pgm_chroot_packages "$v")
    pgm_chroot_write_upgrade_source "$d" "$v"
    pgm_chroot_log "installing in the chroot: $pkgs"
    # shellcheck disable=SC2086
    pgm_chroot_apt "$d" update >/dev/null &&
    pgm_chroot_apt "$d" install $pkgs > "$d.install.log" 2>&1 ||
        { tail -30 "$d.install.log" >&2; return 1; }
    [ -x "$d/usr/lib/postgresql/$v/bin/postgres" ] || { pgm_chroot_log "no postgres $v binary after install"; return 1; }
    pgm_chroot_log "packages installed in $((SECONDS - t0)) s"
    echo "$pkgs" > "$d/$pgm_chroot_marker"
}

# Make the chroot for VERSION if it is missing or half-made; bring its
# packages up to the current list.  Safe to run concurrently (one lock).
pgm_chroot_ensure() {
    local v=$1 d suite mirror new t0
    [ "$(id -u)" -eq 0 ] || pgm_chroot_die "must run as root"
    d=$(pgm_chroot_dir "$v") || exit 1
    suite=$(pgm_chroot_suite "$v")
    mkdir -p "$pgm_chroot_cache"
    (
        flock 7
        if [ -f "$d/$pgm_chroot_marker" ]; then
            if [ "$(cat "$d/$pgm_chroot_marker")" != "$(pgm_chroot_packages "$v")" ]; then
                pgm_chroot_log "package list changed: updating $d"
                pgm_chroot_write_apt_conf "$d" "$suite"
                pgm_chroot_mount_dir "$d"
                pgm_chroot_install_packages "$d" "$v"; rc=$?
                pgm_chroot_umount_dir "$d"
                exit $rc
            fi
            exit 0
        fi
        if [ -e "$d" ]; then
            pgm_chroot_log "$d is half-made (no $pgm_chroot_marker): making it again"
            pgm_chroot_delete_dir "$d"
        fi
        new=$d.new
        pgm_chroot_delete_dir "$new"
        if ! command -v debootstrap >/dev/null; then
            pgm_chroot_log "installing debootstrap on the host"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
                pgm_chroot_die "could not install debootstrap"
        fi
        mirror=$(pgm_chroot_mirror)
        pgm_chroot_log "debootstrap --variant=minbase $suite $new $mirror"
        t0=$SECONDS
        if ! debootstrap --variant=minbase "$suite" "$new" "$mirror" > "$d.debootstrap.log" 2>&1; then
            tail -20 "$d.debootstrap.log" >&2
            pgm_chroot_umount_dir "$new"
            pgm_chroot_die "debootstrap failed (log: $d.debootstrap.log)"
        fi
        pgm_chroot_log "debootstrap took $((SECONDS - t0)) s"
        pgm_chroot_write_apt_conf "$new" "$suite"
        pgm_chroot_mount_dir "$new"   # /proc before the install: postgresql-common's postinst needs it
        mv "$d.install.log" "$d.install.log.old" 2>/dev/null
        if ! pgm_chroot_install_packages "$new" "$v"; then
            mv "$new.install.log" "$d.install.log" 2>/dev/null
            pgm_chroot_umount_dir "$new"
            pgm_chroot_die "package install failed (log: $d.install.log)"
        fi
        mv "$new.install.log" "$d.install.log" 2>/dev/null
        pgm_chroot_umount_dir "$new" || pgm_chroot_die "could not unmount below $new"
        mv "$new" "$d"
        pgm_chroot_log "made $d"
    ) 7> "$pgm_chroot_cache/chroot-$v.lock" || exit 1
}

pgm_chroot_mount() {
    local d; d=$(pgm_chroot_dir "$1") || exit 1
    [ -f "$d/$pgm_chroot_marker" ] || pgm_chroot_die "no chroot for $1 (scripts/pg-chroot.sh $1)"
    ( flock 7; pgm_chroot_mount_dir "$d" ) 7> "$pgm_chroot_cache/chroot-$1.lock"
}

pgm_chroot_umount() {
    local d; d=$(pgm_chroot_dir "$1") || exit 1
    [ -e "$d" ] || return 0
    ( flock 7; pgm_chroot_umount_dir "$d" ) 7> "$pgm_chroot_cache/chroot-$1.lock"
}

# Unmount the chroot's /proc, /dev and /dev/shm unless a process still uses
# them: every run holds a shared lock on chroot-V.users, and so do the
# processes it leaves running (a server started with pg_ctl inherits it).
pgm_chroot_umount_unused() {
    local v=$1
    (
        flock -n -x 6 || exit 0
        pgm_chroot_umount "$v"
    ) 6> "$pgm_chroot_cache/chroot-$v.users"
}

# pgm_chroot_exec V root|postgres CMD...: the common part of run and run-pg
pgm_chroot_exec() {
    local v=$1 user=$2 d rc home ids ufd; shift 2
    [ "$(id -u)" -eq 0 ] || pgm_chroot_die "must run as root"
    [ $# -gt 0 ] || pgm_chroot_die "no command to run"
    pgm_chroot_ensure "$v"
    d=$(pgm_chroot_dir "$v")
    # one more user of the mounts; CMD and what it leaves running inherit the
    # lock (never flock -u here: that would release it for them too)
    exec {ufd}> "$pgm_chroot_cache/chroot-$v.users"
    flock -s "$ufd"
    pgm_chroot_mount "$v"
    if [ "$user" = root ]; then
        chroot "$d" /usr/bin/env -i HOME=/root USER=root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
            PATH=/usr/lib/postgresql/$v/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            "$@"
        rc=$?
    else
        ids=$(awk -F: '$1 == "postgres" { print $3 ":" $4 }' "$d/etc/passwd")
        home=$(awk -F: '$1 == "postgres" { print $6 }' "$d/etc/passwd")
        [ -n "$ids" ] || pgm_chroot_die "no postgres user in $d"
        chroot --userspec="$ids" --groups="${ids#*:}" "$d" /usr/bin/env -i HOME="$home" USER=postgres \
            LOGNAME=postgres LANG=C.UTF-8 TERM="${TERM:-dumb}" \
            PATH=/usr/lib/postgresql/$v/bin:/usr/local/bin:/usr/bin:/bin \
            sh -c 'cd "$HOME" 2>/dev/null || cd /; exec "$@"' sh "$@"
        rc=$?
    fi
    exec {ufd}>&-
    pgm_chroot_umount_unused "$v"    # the last one out unmounts
    return $rc
}
pgm_chroot_run() { local v=$1; shift; pgm_chroot_exec "$v" root "$@"; }
pgm_chroot_run_pg() { local v=$1; shift; pgm_chroot_exec "$v" postgres "$@"; }

pgm_chroot_status() {
    local v=$1 d; d=$(pgm_chroot_dir "$v") || exit 1
    if [ -f "$d/$pgm_chroot_marker" ]; then
        echo "made: $d ($(pgm_chroot_suite "$v"), $(chroot "$d" /usr/lib/postgresql/"$v"/bin/postgres --version 2>/dev/null))"
    elif [ -e "$d" ] || [ -e "$d.new" ]; then echo "half-made: $d (the next ensure makes it again)"
    else echo "missing: $d"; fi
    pgm_chroot_mounts_below "$d" | sed 's/^/mounted: /'
}

pgm_chroot_main() {
    [ $# -ge 1 ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
    local v=$1 cmd=${2:-ensure}
    pgm_chroot_suite "$v" >/dev/null
    shift; [ $# -gt 0 ] && shift
    case "$cmd" in
        ensure)  pgm_chroot_ensure "$v" && pgm_chroot_log "ready: $(pgm_chroot_dir "$v")" ;;
        path)    pgm_chroot_dir "$v" ;;
        status)  pgm_chroot_status "$v" ;;
        run)     pgm_chroot_run "$v" "$@" ;;
        run-pg)  pgm_chroot_run_pg "$v" "$@" ;;
        shell)   pgm_chroot_run "$v" /bin/bash -l ;;
        mount)   pgm_chroot_ensure "$v" && pgm_chroot_mount "$v" ;;
        umount)  pgm_chroot_umount_unused "$v"
                 [ -z "$(pgm_chroot_mounts_below "$(pgm_chroot_dir "$v")")" ] ||
                     pgm_chroot_die "still in use (a process holds $pgm_chroot_cache/chroot-$v.users)" ;;
        remove)  ( flock 7; pgm_chroot_delete_dir "$(pgm_chroot_dir "$v")"; \
                   pgm_chroot_delete_dir "$(pgm_chroot_dir "$v").new" ) 7> "$pgm_chroot_cache/chroot-$v.lock" ;;
        *) pgm_chroot_die "unknown command '$cmd' (ensure, path, status, run, run-pg, shell, mount, umount, remove)" ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    pgm_chroot_main "$@"
fi
