#!/bin/sh
# Build the libFuzzer targets and run each for N seconds (default 5).
#   test/fuzz/run.sh [seconds] [target...]
#                            targets: cron wh_url wh_header addrlist
#   FUZZ_OPTS='-jobs=2 -workers=2' test/fuzz/run.sh 600 wh_url
#
#   cron       src/jobs/cron.c: the cron parser and calculators (cron_fuzz.c)
#   wh_url     src/webhooks/addr.c: endpoint URLs, IP literals in every form
#              URL parsers accept, socket addresses (wh_url_fuzz.c)
#   wh_header  src/webhooks/addr.c: endpoint header names and values
#              (wh_header_fuzz.c)
#   addrlist   src/core/addrlist.c: the address lists of the settings
#              pgmanage.webhook_allow_addresses / _deny_addresses
#              (addrlist_fuzz.c)
#
# Works from any directory.  Each target is built with
# -fsanitize=fuzzer,address,undefined into a temporary directory and starts
# from its seed corpus in test/fuzz/corpus/<target>/ (new inputs found go to
# the temporary directory: nothing is written to the tree).
# Exit status: 0 = no crash, 1 = crash/build error, 77 = skipped (no clang
# or no libFuzzer runtime).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../src"
secs=${1:-5}
[ $# -gt 0 ] && shift
targets=${*:-cron wh_url wh_header addrlist}
cc=${CLANG:-clang}
pg_config=${PG_CONFIG:-pg_config}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found; skipping (install clang for libFuzzer: scripts/deps.sh)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pgm_fuzz.XXXXXX") || exit 1
keep=0
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# Is libFuzzer (with ASan/UBSan) usable at all?
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
	echo "fuzz: $cc cannot link -fsanitize=fuzzer,address,undefined; skipping"
	exit 77
fi

cflags="-std=gnu99 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare
	-Wno-missing-field-initializers -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
build() {	# build TARGET: $work/TARGET
	case "$1" in
	cron)
		# shellcheck disable=SC2086
		"$cc" $cflags -I"$src" -o "$work/cron" "$here/cron_fuzz.c" "$src/jobs/cron.c" ;;
	addrlist)
		# shellcheck disable=SC2086
		"$cc" $cflags -I"$src" -o "$work/addrlist" "$here/addrlist_fuzz.c" "$src/core/addrlist.c" ;;
	wh_url|wh_header)
		# the server's headers, not the server: addr.c calls no server function
		# (-Wno-ignored-attributes: clang and gnu_printf, as PGXS does for clang)
		inc=$("$pg_config" --includedir-server) || return 1
		# shellcheck disable=SC2086
		"$cc" $cflags -Wno-ignored-attributes -I"$src" -I"$inc" -DPGM_VERSION='"fuzz"' -o "$work/$1" \
			"$here/${1}_fuzz.c" "$src/webhooks/addr.c" -lcurl ;;
	*)
		echo "fuzz: unknown target $1"; return 1 ;;
	esac
}

status=0
for t in $targets; do
	if ! build "$t"; then
		echo "fuzz $t: build failed"
		status=1
		continue
	fi
	mkdir -p "$work/corpus-$t" "$work/artifacts-$t"
	cp "$here/corpus/$t/"* "$work/corpus-$t/"
	case "$t" in
	cron) opts="-max_len=128 -dict=$here/cron.dict" ;;
	addrlist) opts="-max_len=512 -dict=$here/addrlist.dict" ;;
	wh_url) opts="-max_len=2100" ;;		# over the 2048-byte limit of a URL
	wh_header) opts="-max_len=4200" ;;	# over the 4096-byte limit of a value
	esac
	# shellcheck disable=SC2086
	"$work/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 $opts \
		-artifact_prefix="$work/artifacts-$t/" -print_final_stats=1 ${FUZZ_OPTS:-} \
		"$work/corpus-$t" >"$work/log-$t" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *//p' "$work/log-$t" | awk '{s += $1} END {print s + 0}')
	cov=$(grep -E '^#[0-9]+' "$work/log-$t" | tail -1 | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
	corpus=$(ls "$work/corpus-$t" | wc -l)
	if [ $rc -ne 0 ]; then
		keep=1
		status=1
		tail -n 40 "$work/log-$t"
		echo "fuzz $t: FAILED (exit $rc); log and crash artifacts kept in $work"
	else
		echo "fuzz $t: no crash in ${secs}s ($execs runs, coverage ${cov:-?}, corpus $corpus)"
	fi
done
exit $status
