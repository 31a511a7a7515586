#!/usr/bin/env bash
# Check the direction of dependencies between src/ folders from the symbols
# the built objects use (nm): a capability may use core/ (and vacuum/ and
# webhooks/ may use jobs/, whose kinds register there); core/ uses no
# capability; src/pgmanage.c may use everything.  Prints every cross-folder
# edge; exits 1 if one is forbidden.
#
#   scripts/layout-check.sh [TREE]     (TREE: a built source tree; default: this one)
set -euo pipefail
tree=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$tree"
objs=$(find src -name '*.o' | sort)
[ -n "$objs" ] || { echo "layout-check: no objects under $tree/src: build first" >&2; exit 2; }
defs=$(mktemp); trap 'rm -f "$defs"' EXIT
# symbol -> defining object
nm -A --defined-only $objs 2>/dev/null |
    awk '$2 ~ /^[TDBRCG]$/ { split($1, a, ":"); print $3, a[1] }' | sort -u > "$defs"
folder() { local d; d=$(dirname "$1"); [ "$d" = src ] && echo pgmanage.c || echo "${d#src/}"; }
bad=0
edges=$(for o in $objs; do
    nm -u "$o" | awk '{print $2}' | while read -r s; do
        d=$(awk -v s="$s" '$1 == s { print $2; exit }' "$defs")
        if [ -n "$d" ] && [ "$d" != "$o" ]; then
            echo "$(folder "$o") $(folder "$d") ${o#src/} ${d#src/} $s"
        fi
    done
done | sort -u)
while read -r from to o d s; do
    if [ -z "$from" ] || [ "$from" = "$to" ]; then continue; fi
    ok=no
    case "$from:$to" in
        pgmanage.c:*) ok=yes ;;
        core:*) ok=no ;;
        *:core) ok=yes ;;
        vacuum:jobs|webhooks:jobs) ok=yes ;;
    esac
    if [ $ok = yes ]; then echo "ok        $from -> $to  ($o -> $d: $s)"
    else echo "FORBIDDEN $from -> $to  ($o -> $d: $s)"; bad=1; fi
done <<< "$edges"
exit $bad
