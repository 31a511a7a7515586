#!/usr/bin/env python3
# pgmanage from Python with psycopg2 (Debian: python3-psycopg2), run by
# test/clients/run.sh: the three calls of docs/clients.md, then every column
# of every result checked against the Python type psycopg2 gives for its
# declared PostgreSQL type.  Connection from the PG* environment variables.
# Prints "ok - ..." / "not ok - ..." / "skip - ..." lines.
import datetime
import decimal
import ipaddress
import sys
from datetime import timedelta

import psycopg2
import psycopg2.extras

psycopg2.extras.register_ipaddress()          # inet -> ipaddress objects, not str

# declared type (pg_type.typname) -> the Python types psycopg2 returns for it
IP = (ipaddress.IPv4Interface, ipaddress.IPv6Interface, ipaddress.IPv4Network, ipaddress.IPv6Network)
EXPECT = {
    "int2": int, "int4": int, "int8": int, "oid": int,
    "float4": float, "float8": float, "numeric": decimal.Decimal,
    "text": str, "name": str, "varchar": str, "bpchar": str, "char": str,
    "bool": bool, "timestamptz": datetime.datetime, "timestamp": datetime.datetime,
    "date": datetime.date, "interval": timedelta,
    "json": (dict, list), "jsonb": (dict, list), "inet": IP, "cidr": IP,
    "_int4": list, "_int8": list, "_text": list, "_name": list,
}
failures = 0


def say(ok, msg):
    global failures
    if not ok:
        failures += 1
    print(("ok - " if ok else "not ok - ") + msg)


conn = psycopg2.connect("")                   # PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
conn.autocommit = True
cur = conn.cursor(cursor_factory=psycopg2.extras.DictCursor)
cur.execute("SELECT oid, typname, typtype FROM pg_type")
types = {oid: (name, typtype) for oid, name, typtype in cur.fetchall()}


def check(label, cur, rows):
    """every column: a base type with a native mapping, every value of that type"""
    for i, col in enumerate(cur.description):
        typname, typtype = types.get(col.type_code, ("oid %d" % col.type_code, "?"))
        want = EXPECT.get(typname)
        if typtype != "b" or want is None:
            say(False, f"{label}.{col.name}: {typname} (typtype {typtype}) has no native Python type")
            continue
        values = [r[i] for r in rows if r[i] is not None]
        bad = [v for v in values if not isinstance(v, want) or isinstance(v, bool) and want is int]
        if typname == "timestamptz":
            bad += [v for v in values if v.tzinfo is None]
        shown = want.__name__ if isinstance(want, type) else "/".join(t.__name__ for t in want)
        say(not bad, f"{label}.{col.name}: {typname} -> {shown} ({len(values)} of {len(rows)} non-NULL)"
            + (f": got {type(bad[0]).__name__} {bad[0]!r}" if bad else ""))


# 1. sizes of tables and indexes
cur.execute("SELECT * FROM pgmanage.pgm_size_report(include_indexes => true)")
rows = cur.fetchall()
orders = [r for r in rows if r["schema_name"] == "public" and r["relation_name"] == "orders"]
say(len(orders) == 1 and orders[0]["total_bytes"] > 0,
    "pgm_size_report(): public.orders, %s" % (orders[0]["total_pretty"] if orders else "missing"))
check("pgm_size_report", cur, rows)

# 2. cancel what runs longer than a bound interval (a datetime.timedelta)
cur.execute("SELECT * FROM pgmanage.pgm_kill_long(%s)", (timedelta(seconds=1),))
rows = cur.fetchall()
mine = [r for r in rows if r["application_name"] == "pgm_clients_sleeper"]
say(len(mine) == 1 and mine[0]["signalled"] and mine[0]["action_taken"] == "cancel",
    "pgm_kill_long(timedelta(seconds=1)) cancelled the pg_sleep session: %r"
    % ([(r["pid"], r["action_taken"], r["signalled"]) for r in mine],))
check("pgm_kill_long", cur, rows)

# 3. the metrics, if this pgmanage has them
cur.execute("SELECT to_regprocedure('pgmanage.pgm_metrics()') IS NOT NULL")
if cur.fetchone()[0]:
    cur.execute("SELECT metric, type, help, labels, value FROM pgmanage.pgm_metrics()")
    rows = cur.fetchall()
    say(len(rows) > 0 and all(r["metric"].startswith("pgmanage_") for r in rows),
        "pgm_metrics(): %d samples, e.g. %s" % (len(rows), rows[0]["metric"] if rows else "none"))
    check("pgm_metrics", cur, rows)
else:
    print("skip - pgm_metrics() does not exist in this pgmanage (it comes with the metrics work)")

# 4. the other reports and every view of schema pgmanage
for q in ("pgm_status()", "pgm_database_sizes()", "pgm_disk_usage()", "pgm_bloat()"):
    cur.execute(f"SELECT * FROM pgmanage.{q}")
    check(q.replace("()", ""), cur, cur.fetchall())
cur.execute("SELECT viewname FROM pg_views WHERE schemaname = 'pgmanage' ORDER BY 1")
for (view,) in cur.fetchall():
    cur.execute(f"SELECT * FROM pgmanage.{view} LIMIT 50")
    check(view, cur, cur.fetchall())

conn.close()
sys.exit(1 if failures else 0)
