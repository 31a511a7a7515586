-- Health checks: the functions' columns, pgm_health() on conditions created
-- for real (an invalid index, sequences near their end, pg_regress's trust
-- rules), thresholds from the settings, bad settings refused, privileges.

-- every column follows the conventions (text names, bigint bytes and ages,
-- double precision seconds, numeric pct)
SELECT p.proname, a.i, a.n AS column_name, format_type(a.t, NULL) AS type
FROM pg_proc p, unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY AS a(n, t, m, i)
WHERE p.pronamespace = 'pgmanage'::regnamespace AND a.m = 'o'
  AND p.proname IN ('pgm_replication', 'pgm_replication_slots', 'pgm_wraparound', 'pgm_xmin_horizon', 'pgm_health')
ORDER BY 1, 2;

-- the checks, in order, with their default thresholds and units
SELECT "position", check_name, warning_at, critical_at, unit FROM pgm_health_thresholds();

-- a primary without standbys or slots: no rows, and the checks say why
SELECT count(*) AS standbys FROM pgm_replication();
SELECT count(*) AS slots FROM pgm_replication_slots();
SELECT check_name, status, value, detail FROM pgm_health()
WHERE check_name IN ('replication_lag', 'slot_retention', 'prepared_transactions', 'archive', 'long_transactions')
ORDER BY 1;

-- wraparound: one row per database, ages against the settings
SELECT database_name, xid_age > 0 AS xid_aged, xid_freeze_max_age, mxid_freeze_max_age,
       xid_pct = round(100.0 * xid_age / xid_freeze_max_age, 2) AS xid_pct_ok,
       wraparound_pct < 1 AS far_from_wraparound
FROM pgm_wraparound() ORDER BY 1;
SELECT status, value = (SELECT max(greatest(xid_pct, mxid_pct)) FROM pgm_wraparound()) AS worst_database
FROM pgm_health() WHERE check_name = 'wraparound';

-- this session's own snapshot is not a holder of the horizon
SELECT count(*) AS backend_holders FROM pgm_xmin_horizon() WHERE kind = 'backend' AND pid = pg_backend_pid();

-- an invalid index: a failed concurrent unique index build
CREATE TABLE health_dup (x int);
INSERT INTO health_dup VALUES (1), (1);
CREATE UNIQUE INDEX CONCURRENTLY health_dup_x ON health_dup (x);
SELECT status, value, warning_at, critical_at, detail FROM pgm_health() WHERE check_name = 'invalid_indexes';
DROP INDEX health_dup_x;
SELECT status, value FROM pgm_health() WHERE check_name = 'invalid_indexes';

-- sequences: one at 95 % of its own maximum is critical ...
CREATE SEQUENCE health_seq MAXVALUE 100;
SELECT setval('health_seq', 95);
SELECT status, value, detail FROM pgm_health() WHERE check_name = 'sequences';
-- ... and with the critical level off, a warning
SET pgmanage.health_sequences_critical = -1;
SELECT status, value, warning_at, critical_at FROM pgm_health() WHERE check_name = 'sequences';
RESET pgmanage.health_sequences_critical;
DROP SEQUENCE health_seq;
-- a bigint sequence feeding an integer column runs out at 2^31
CREATE SEQUENCE health_big AS bigint;
CREATE TABLE health_feed (id integer DEFAULT nextval('health_big'));
ALTER SEQUENCE health_big OWNED BY health_feed.id;
SELECT setval('health_big', 1717986918);
SELECT status, value, detail FROM pgm_health() WHERE check_name = 'sequences';
DROP TABLE health_feed;

-- pg_hba: the temporary instance trusts loopback connections (initdb's default)
SELECT status, value > 0 AS risky_lines, detail LIKE '%(host trust, 127.0.0.1/255.255.255.255)%' AS names_the_rule
FROM pgm_health() WHERE check_name = 'pg_hba';

-- connections: this session among max_connections less the reserved ones
SELECT status, value > 0 AS counted, detail LIKE '% client connections of % usable (max_connections %' AS said
FROM pgm_health() WHERE check_name = 'connections';

-- every check has a row, a status and a detail
SELECT count(*) AS checks, count(*) FILTER (WHERE status IN ('ok', 'warning', 'critical')) AS with_status,
       count(detail) AS with_detail
FROM pgm_health();

-- thresholds: a superuser may try others in a session; units are the settings'
SET pgmanage.health_replication_lag_warning = '2min';
SET pgmanage.health_slot_retention_critical = '2GB';
SELECT check_name, warning_at, critical_at FROM pgm_health()
WHERE check_name IN ('replication_lag', 'slot_retention') ORDER BY 1;
RESET pgmanage.health_replication_lag_warning;
RESET pgmanage.health_slot_retention_critical;

-- bad settings are refused
SET pgmanage.health_disk_warning = 101;
SET pgmanage.health_disk_warning = 0;
SET pgmanage.health_wraparound_critical = -2;
SET pgmanage.health_long_transactions_warning = 'soon';
SET pgmanage.health_check_interval = '10s';
-- (the range in the message is written differently from 17 on: the SQLSTATE only)
\set VERBOSITY sqlstate
ALTER SYSTEM SET pgmanage.health_check_interval = -1;
\set VERBOSITY default
ALTER SYSTEM SET pgmanage.health_hysteresis = 60;
-- the settings, with their units and defaults
SELECT name, boot_val AS default, unit, context, vartype, min_val, max_val
FROM pg_settings WHERE name LIKE 'pgmanage.health\_%' ORDER BY name;

-- privileges: a pg_monitor member runs them and sees what pg_monitor sees;
-- pg_hba_file_rules stays the superuser's, but pgm_hba_audit() is theirs,
-- so the pg_hba check counts the same lines for them
CREATE ROLE pgm_health_watcher IN ROLE pg_monitor;
CREATE ROLE pgm_health_nobody;
SET ROLE pgm_health_watcher;
SELECT check_name, status, value > 0 AS risky_lines, detail LIKE '%(host trust, 127.0.0.1/255.255.255.255)%' AS names_the_rule
FROM pgm_health() WHERE check_name = 'pg_hba';
SELECT count(*) >= 1 AS sees_databases FROM pgm_wraparound();
SELECT count(*) AS rows FROM pgm_replication();
RESET ROLE;
-- (with USAGE on the schema, so that each function's own privilege is what refuses)
GRANT USAGE ON SCHEMA pgmanage TO pgm_health_nobody;
SET ROLE pgm_health_nobody;
SELECT * FROM pgmanage.pgm_health();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmanage.pgm_replication();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmanage.pgm_replication_slots();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmanage.pgm_wraparound();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgmanage.pgm_xmin_horizon();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE USAGE ON SCHEMA pgmanage FROM pgm_health_nobody;
DROP ROLE pgm_health_watcher;
DROP ROLE pgm_health_nobody;
DROP TABLE health_dup;
