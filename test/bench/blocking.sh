#!/usr/bin/env bash
# pgm_blocking(): what one call costs with 200 sessions, 19 of them in a
# blocking tree (an ALTER TABLE queued behind an open transaction, 18
# readers behind it), against a baseline that reads the same two views once
# (pg_locks joined to pg_stat_activity: what any polling script does).
# pgbench, one client, 5 s per run, 3 runs each, alternating; prints the
# median and range of the mean latency and the ratio.
#
#   test/bench/blocking.sh        (as root; pgmanage need not be installed:
#                                  the SQL is loaded from src/sql/health_reports.sql)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/bench/bench_lib.sh

bench_init
bench_start ''
# the functions without the extension: pgm_index_report needs a
# pgm_size_report to exist (never called here)
bench_psql <<'SQL'
CREATE SCHEMA pgmanage;
CREATE FUNCTION pgmanage.pgm_size_report(text, bigint, boolean, boolean, OUT schema_name text,
    OUT relation_name text, OUT kind text, OUT total_bytes bigint, OUT relid oid)
RETURNS SETOF record LANGUAGE sql AS 'SELECT NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::oid WHERE false';
CREATE TABLE t (x int);
SQL
bench_psql < src/sql/health_reports.sql

bg() { as_pg psql -X -q -h "$bench_dir" -p "$bench_port" -d postgres -c "$1" >/dev/null 2>&1 & }
for i in $(seq 180); do bg 'SELECT pg_sleep(3600)'; done
bg 'BEGIN; SELECT count(*) FROM t; SELECT pg_sleep(3600)'
bench_wait "SELECT count(*) = 1 FROM pg_locks WHERE relation = 't'::regclass AND granted"
bg 'ALTER TABLE t ADD COLUMN y int'
bench_wait "SELECT count(*) = 1 FROM pgmanage.pgm_blocking()"
for i in $(seq 18); do bg 'SELECT count(*) FROM t'; done
bench_wait "SELECT count(*) = 19 FROM pgmanage.pgm_blocking()"
bench_wait "SELECT count(*) >= 200 FROM pg_stat_activity WHERE backend_type = 'client backend'"

echo 'SELECT count(*) FROM pgmanage.pgm_blocking();' > "$bench_dir/blocking.sql"
echo 'SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted;' > "$bench_dir/baseline.sql"
chown postgres: "$bench_dir"/*.sql

lat() {  # mean latency in ms of a 5 s pgbench run of script $1
    as_pg pgbench -n -h "$bench_dir" -p "$bench_port" -c 1 -T 5 -f "$bench_dir/$1" postgres 2>/dev/null |
        sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p'
}
b=() f=()
for r in 1 2 3; do b+=("$(lat baseline.sql)"); f+=("$(lat blocking.sql)"); done

bench_machine
echo "sessions: $(bench_psql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"), waiting: 19"
mb=$(printf '%s\n' "${b[@]}" | median) mf=$(printf '%s\n' "${f[@]}" | median)
echo "baseline (pg_locks join pg_stat_activity): median $mb ms, range $(printf '%s\n' "${b[@]}" | sort -g | head -1)-$(printf '%s\n' "${b[@]}" | sort -g | tail -1) ms"
echo "pgm_blocking():                            median $mf ms, range $(printf '%s\n' "${f[@]}" | sort -g | head -1)-$(printf '%s\n' "${f[@]}" | sort -g | tail -1) ms"
awk -v a="$mf" -v b="$mb" 'BEGIN { printf "ratio pgm_blocking / baseline: %.1f\n", a / b }'
