#!/bin/sh
# Build and run the standalone cron unit tests (TAP output).
# Works from any directory; the binary is written next to this script
# (ignored by git).  Extra arguments are passed to the compiler.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../src"
cc=${CC:-cc}
"$cc" -std=gnu99 -O1 -g -Wall -Wextra -Werror -I"$src" "$@" \
	-o "$here/cron_test" "$here/cron_test.c" "$src/jobs/cron.c"
exec "$here/cron_test"
