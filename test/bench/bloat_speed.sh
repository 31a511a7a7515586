#!/usr/bin/env bash
# Speed of pgm_bloat()'s estimate against the baseline statistics-based
# query (bloat_baseline.sql, tables and B-tree indexes) over many tables:
# by default 10,000 tables, each with a primary key and a TOAST table
# (10 rows each, analyzed).  Each is run RUNS times in a fresh session
# (cold catalog caches, as a monitoring call would be); prints the median
# times and the ratio.
#
#   sudo test/bench/bloat_speed.sh            # TABLES=10000 RUNS=5
#
# Runs a throw-away cluster as the postgres user in /tmp and removes it.
# Not part of the test suite.
. "$(dirname "$0")/bloat_lib.sh"
TABLES=${TABLES:-10000}
RUNS=${RUNS:-5}

bench_setup max_locks_per_transaction=256
bench_machine
bench_log "creating $TABLES tables"
for ((i = 0; i < TABLES; i++)); do
    echo "CREATE TABLE s.t$i (id int PRIMARY KEY, n bigint, flag bool, doc text);"
    echo "INSERT INTO s.t$i SELECT g, g * 3, g % 2 = 0, repeat('d', 50 * g) FROM generate_series(1, 10) g;"
done > "$SCRATCH/tables.sql"
chmod a+r "$SCRATCH/tables.sql"
bench_psql -q -c 'CREATE SCHEMA s'
bench_psql -q -f "$SCRATCH/tables.sql"
bench_psql -q -c 'ANALYZE' -f "$BENCH_DIR/bloat_baseline.sql"
bench_psql -Atc "SELECT count(*) || ' tables, ' || (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 's'::regnamespace) || ' indexes, ' || count(*) FILTER (WHERE reltoastrelid <> 0) || ' with TOAST' FROM pg_class WHERE relnamespace = 's'::regnamespace AND relkind = 'r'"

time_query() {  # prints milliseconds of one run in a fresh session
    bench_psql -q -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

q_pgm="SELECT count(*), sum(expected_bytes) FROM pgm_bloat()"
q_base="SELECT count(*), sum(expected_bytes) FROM bench_baseline"
q_btab="SELECT count(*), sum(expected_bytes) FROM bench_baseline WHERE kind = 'table'"
bench_psql -Atc "$q_pgm" | sed 's/^/pgm_bloat rows|bytes: /'
bench_psql -Atc "$q_base" | sed 's/^/baseline  rows|bytes: /'
pgm=(); base=(); btab=()
for ((r = 0; r < RUNS; r++)); do
    pgm+=("$(time_query "$q_pgm")")
    base+=("$(time_query "$q_base")")
    btab+=("$(time_query "$q_btab")")
done
m_btab=$(printf '%s\n' "${btab[@]}" | median)
m_pgm=$(printf '%s\n' "${pgm[@]}" | median)
m_base=$(printf '%s\n' "${base[@]}" | median)
echo "pgm_bloat() runs (ms): ${pgm[*]}"
echo "baseline    runs (ms): ${base[*]}"
echo "baseline, tables only (ms): ${btab[*]}"
echo "median: baseline tables only $m_btab ms, ratio to pgm_bloat() (tables and indexes) $(awk -v a="$m_btab" -v b="$m_pgm" 'BEGIN {printf "%.1f", a / b}')x"
echo "median: pgm_bloat() $m_pgm ms, baseline $m_base ms, ratio $(awk -v a="$m_base" -v b="$m_pgm" 'BEGIN {printf "%.1f", a / b}')x"
