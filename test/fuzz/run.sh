#!/bin/sh
# Build the cron libFuzzer target and run it for N seconds (default 5).
#   test/fuzz/run.sh [seconds] [extra libFuzzer options...]
# Works from any directory.  Builds into a temporary directory together with
# a small seed corpus and dictionary (nothing is written to the tree).
# Exit status: 0 = no crash, 1 = crash/build error, 77 = skipped (no clang
# or no libFuzzer runtime).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../src"
secs=${1:-5}
[ $# -gt 0 ] && shift
cc=${CLANG:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "cron fuzz: $cc not found; skipping (install clang for libFuzzer)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cron_fuzz.XXXXXX") || exit 1
keep=0
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# Is libFuzzer (with ASan/UBSan) usable at all?
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
	echo "cron fuzz: $cc cannot link -fsanitize=fuzzer,address,undefined; skipping"
	exit 77
fi

"$cc" -std=gnu99 -g -O1 -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$src" -o "$work/cron_fuzz" "$here/cron_fuzz.c" "$src/jobs/cron.c" || {
	echo "cron fuzz: build failed"
	exit 1
}

mkdir "$work/corpus" "$work/artifacts"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s' "$line" >"$work/corpus/seed$n"
done <<'SEEDS'
* * * * *
*/15 * * * *
1-10/3 4 * * *
10-50/20 0-23/2 * * *
30 2 * * *
0 0 29 2 *
0 0 29 2 */7
0 0 13 * fri
0 0 */2 * mon
0 9 * JAN-mar Mon-FRI
0 0 * * 5-7
0 0 31 4,5 *
59 23 31 12 7
5/20 * 1,15 * sun-sat
@daily
@weekly
@yearly
every 10 minutes
every 7 days
every 5 hours
0 0 30 2 *
61 * * * *
SEEDS

cat >"$work/dict" <<'DICT'
"*"
"*/"
"/"
"-"
","
" "
"jan"
"feb"
"dec"
"sun"
"mon"
"fri"
"sat"
"@hourly"
"@daily"
"@midnight"
"@weekly"
"@monthly"
"@yearly"
"@annually"
"@reboot"
"every "
" minutes"
" hours"
" days"
"29"
"30"
"31"
"59"
"23"
"12"
"7"
"0"
DICT

"$work/cron_fuzz" -max_total_time="$secs" -timeout=10 -max_len=128 \
	-dict="$work/dict" -artifact_prefix="$work/artifacts/" \
	-print_final_stats=1 "$@" "$work/corpus" 2>"$work/log"
rc=$?
grep -E '^(#[0-9]+ +DONE|Done |stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log"
if [ $rc -ne 0 ]; then
	keep=1
	tail -n 40 "$work/log"
	echo "cron fuzz: FAILED (exit $rc); log and crash artifacts kept in $work"
	exit 1
fi
echo "cron fuzz: no crash in ${secs}s"
exit 0
