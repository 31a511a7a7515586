/* pgmanage 2.0: every object in schema pgmanage; internal helpers marked internal */

\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.0'" to load this file. \quit

-- Two ways lead here: 1.5 installed with the 1.x control file (schema =
-- public: every object in public), or an older version installed with the
-- 2.0 control file and updated step by step (already in pgmanage).  Both end
-- as a fresh CREATE EXTENSION pgmanage leaves the database.  Every row,
-- sequence value, privilege and pg_extension_config_dump registration is
-- kept: objects are moved, never recreated.

-- 1. The schema.  CREATE EXTENSION creates it before the extension exists,
-- so it is not a member of the extension; created in this script it would
-- be one, hence the DROP.
DO $$
BEGIN
    IF pg_catalog.to_regnamespace('pgmanage') IS NULL THEN
        CREATE SCHEMA pgmanage;
        ALTER EXTENSION pgmanage DROP SCHEMA pgmanage;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA pgmanage TO pg_read_all_stats, pg_signal_backend;

-- 2. Every member of the extension still in its old schema moves to
-- pgmanage.  Tables carry their indexes, constraints, triggers, row types
-- and owned sequences; views and functions keep their OIDs, so defaults,
-- triggers and views that use them follow.
DO $$
DECLARE
    ext oid;
    oldnsp oid;
    newnsp oid := pg_catalog.to_regnamespace('pgmanage');
    m record;    -- a member
    o record;    -- its names
BEGIN
    SELECT e.oid, e.extnamespace INTO ext, oldnsp
    FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pgmanage';
    IF oldnsp OPERATOR(pg_catalog.=) newnsp THEN
        RETURN;
    END IF;
    -- tables first (their sequences go with them), then the rest
    FOR m IN
        SELECT d.classid, d.objid
        FROM pg_catalog.pg_depend d
        LEFT JOIN pg_catalog.pg_class c
               ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
              AND c.oid OPERATOR(pg_catalog.=) d.objid
        WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
          AND d.refobjid OPERATOR(pg_catalog.=) ext
          AND d.deptype OPERATOR(pg_catalog.=) 'e'
        ORDER BY c.relkind OPERATOR(pg_catalog.<>) 'r', d.classid, d.objid
    LOOP
        IF m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass THEN
            FOR o IN
                SELECT c.relkind, c.relname, n.nspname
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                WHERE c.oid OPERATOR(pg_catalog.=) m.objid AND c.relnamespace OPERATOR(pg_catalog.=) oldnsp
            LOOP
                EXECUTE pg_catalog.format('ALTER %s %I.%I SET SCHEMA pgmanage',
                    CASE o.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                   WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' END,
                    o.nspname, o.relname);
            END LOOP;
        ELSIF m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
            FOR o IN
                SELECT p.proname, n.nspname, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
                FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
                WHERE p.oid OPERATOR(pg_catalog.=) m.objid AND p.pronamespace OPERATOR(pg_catalog.=) oldnsp
            LOOP
                EXECUTE pg_catalog.format('ALTER ROUTINE %I.%I(%s) SET SCHEMA pgmanage', o.nspname, o.proname, o.args);
            END LOOP;
        ELSIF m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass THEN
            -- PostgreSQL 17+ makes a table's row type and array type members
            -- too (and pg_upgrade keeps them so): they moved with their table
            -- above.  A type of its own (none in 1.5) moves here.
            FOR o IN
                SELECT t.typname, n.nspname
                FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
                WHERE t.oid OPERATOR(pg_catalog.=) m.objid AND t.typnamespace OPERATOR(pg_catalog.=) oldnsp
                  AND t.typrelid OPERATOR(pg_catalog.=) 0 AND t.typcategory OPERATOR(pg_catalog.<>) 'A'
            LOOP
                EXECUTE pg_catalog.format('ALTER TYPE %I.%I SET SCHEMA pgmanage', o.nspname, o.typname);
            END LOOP;
        ELSIF m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_event_trigger'::pg_catalog.regclass THEN
            NULL;   -- not in a schema
        ELSE
            RAISE EXCEPTION 'pgmanage 2.0 does not know how to move %',
                pg_catalog.pg_describe_object(m.classid, m.objid, 0);
        END IF;
    END LOOP;

    -- 3. The extension itself: in pgmanage, depending on pgmanage (what
    -- ALTER EXTENSION SET SCHEMA does for a relocatable extension).
    UPDATE pg_catalog.pg_extension SET extnamespace = newnsp WHERE oid OPERATOR(pg_catalog.=) ext;
    UPDATE pg_catalog.pg_depend SET refobjid = newnsp
    WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
      AND objid OPERATOR(pg_catalog.=) ext
      AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
      AND refobjid OPERATOR(pg_catalog.=) oldnsp;
END
$$;

-- 4. Function bodies that named the old schema (@extschema@) now name
-- pgmanage; pgm_vacuum_options, pgm_schedule_vacuum and pgm_vacuum_now,
-- which run with the caller's search_path, qualify every operator.
-- (The definitions are those of src/sql/<capability>.sql, whole.)

-- The top n statements of pg_stat_statements since its last reset.
CREATE OR REPLACE FUNCTION pgmanage.pgm_top_queries(
    order_by text DEFAULT 'total_time',
    n integer DEFAULT 10,
    dbname name DEFAULT NULL,
    OUT rank integer,
    OUT queryid bigint,
    OUT role_name name,
    OUT database_name name,
    OUT toplevel boolean,
    OUT calls bigint,
    OUT total_exec_time numeric,
    OUT mean_exec_time numeric,
    OUT share_of_total_time numeric,
    OUT rows bigint,
    OUT rows_per_call numeric,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT hit_ratio numeric,
    OUT io_blocks bigint,
    OUT blk_read_time numeric,
    OUT blk_write_time numeric,
    OUT temp_blks_written bigint,
    OUT total_plan_time numeric,
    OUT query text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ord text := pgmanage.pgm_top_queries_order(order_by);
    nsp name;
    rd_time text;
    wr_time text;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('n must be at least 1, not %s', coalesce(n::text, 'NULL'));
    END IF;
    nsp := pgmanage.pgm_pgss_schema(false);
    -- blk_read_time/blk_write_time: the installed pg_stat_statements'
    -- columns (its extversion, not the server's: after pg_upgrade an older
    -- one may stay installed); 1.11 (PostgreSQL 17) split them into
    -- shared_blk_*_time and local_blk_*_time: their sum
    IF string_to_array((SELECT e.extversion FROM pg_extension e
                        WHERE e.extname = 'pg_stat_statements'), '.')::int[] >= ARRAY[1, 11] THEN
        rd_time := 's.shared_blk_read_time + s.local_blk_read_time';
        wr_time := 's.shared_blk_write_time + s.local_blk_write_time';
    ELSE
        rd_time := 's.blk_read_time';
        wr_time := 's.blk_write_time';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH s AS (
            SELECT s.userid, s.dbid, s.queryid, s.toplevel, s.calls, s.total_exec_time,
                   s.total_plan_time, s.rows, s.shared_blks_hit, s.shared_blks_read,
                   s.shared_blks_written + s.local_blks_read + s.local_blks_written
                     + s.temp_blks_read + s.temp_blks_written + s.shared_blks_read AS io_blocks,
                   %s AS blk_read_time, %s AS blk_write_time, s.temp_blks_written, s.query
            FROM %I.pg_stat_statements(true) s
            WHERE s.calls > 0
              AND ($1 IS NULL OR s.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = $1))
        ), t AS (
            SELECT s.*, sum(s.total_exec_time) OVER () AS all_time FROM s
        )
        SELECT (row_number() OVER (ORDER BY %s DESC, t.queryid))::integer,
               t.queryid, r.rolname, d.datname, t.toplevel, t.calls,
               round(t.total_exec_time::numeric, 3),
               round((t.total_exec_time / t.calls)::numeric, 3),
               round((100 * t.total_exec_time / nullif(t.all_time, 0))::numeric, 2),
               t.rows,
               round(t.rows::numeric / t.calls, 2),
               t.shared_blks_hit, t.shared_blks_read,
               round(100.0 * t.shared_blks_hit / nullif(t.shared_blks_hit + t.shared_blks_read, 0), 2),
               t.io_blocks,
               round(t.blk_read_time::numeric, 3), round(t.blk_write_time::numeric, 3),
               t.temp_blks_written,
               round(t.total_plan_time::numeric, 3),
               t.query
        FROM t
        LEFT JOIN pg_roles r ON r.oid = t.userid
        LEFT JOIN pg_database d ON d.oid = t.dbid
        ORDER BY %s DESC, t.queryid
        LIMIT $2
    $q$, rd_time, wr_time, nsp, ord, ord) USING dbname, n;
END
$fn$;

-- Take a snapshot now (the worker calls this every
-- pgmanage.pgss_snapshot_interval).  Returns its id, or NULL when
-- pg_stat_statements is not available in this database.
--
-- A statement's delta is its counters minus those of the previous
-- snapshot, except when that would count what happened before: then it is
-- the counters themselves (what accrued since the entry started again):
--   - pg_stat_statements_reset() of everything (stats_reset changed);
--   - the entry was not in the previous snapshot (new, or evicted and
--     re-added, or reset alone, while the previous snapshot was taken);
--   - any counter went down, or max_exec_time went down, or min_exec_time
--     went up (none of which happens during an entry's life: the entry was
--     evicted or reset and re-added since the previous snapshot).
-- So no delta is negative, and none is larger than what really happened.
-- An entry re-added whose counters all grew past the old ones and whose
-- time range covers the old one is not detected: its delta then misses
-- the calls made before the eviction (never counts more).
CREATE OR REPLACE FUNCTION pgmanage.pgm_pgss_snapshot()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    nsp name := pgmanage.pgm_pgss_schema(true);
    prev record;
    info record;
    sid bigint;
    was_reset boolean;
    nentries integer;
    ndeltas integer := 0;
    rd_time text := 's.blk_read_time';
    wr_time text := 's.blk_write_time';
BEGIN
    IF nsp IS NULL THEN
        RETURN NULL;
    END IF;
    -- the columns of the installed pg_stat_statements, as in pgm_top_queries
    IF string_to_array((SELECT e.extversion FROM pg_extension e
                        WHERE e.extname = 'pg_stat_statements'), '.')::int[] >= ARRAY[1, 11] THEN
        rd_time := 's.shared_blk_read_time + s.local_blk_read_time';
        wr_time := 's.shared_blk_write_time + s.local_blk_write_time';
    END IF;
    -- one snapshot at a time (the worker's and a manual one)
    LOCK TABLE pgmanage.pgm_pgss_last IN SHARE ROW EXCLUSIVE MODE;
    SELECT s.id, s.taken_at, s.stats_reset INTO prev
    FROM pgmanage.pgm_pgss_snapshot s ORDER BY s.id DESC LIMIT 1;
    EXECUTE format('SELECT stats_reset, dealloc FROM %I.pg_stat_statements_info', nsp) INTO info;
    was_reset := prev.id IS NOT NULL AND prev.stats_reset IS DISTINCT FROM info.stats_reset;

    INSERT INTO pgmanage.pgm_pgss_snapshot (taken_at, prev_taken_at, stats_reset, dealloc, reset_detected)
    VALUES (clock_timestamp(), prev.taken_at, info.stats_reset, info.dealloc, was_reset)
    RETURNING id INTO sid;

    -- one read of pg_stat_statements
    EXECUTE format($q$
        INSERT INTO pgmanage.pgm_pgss_last
        SELECT $1, s.userid, s.dbid, s.queryid, s.toplevel, s.calls, s.plans, s.total_exec_time,
               s.total_plan_time, s.rows, s.shared_blks_hit, s.shared_blks_read,
               s.shared_blks_dirtied, s.shared_blks_written, s.local_blks_hit, s.local_blks_read,
               s.local_blks_written, s.temp_blks_read, s.temp_blks_written, %s,
               %s, s.wal_bytes, s.min_exec_time, s.max_exec_time
        FROM %I.pg_stat_statements(false) s
        WHERE s.queryid IS NOT NULL
        ON CONFLICT DO NOTHING
    $q$, rd_time, wr_time, nsp) USING sid;
    GET DIAGNOSTICS nentries = ROW_COUNT;

    -- the first snapshot is the baseline: it has no deltas
    IF prev.id IS NOT NULL THEN
        INSERT INTO pgmanage.pgm_pgss_history
        SELECT sid, d.userid, d.dbid, d.queryid, d.toplevel, d.restarted,
               d.calls - CASE WHEN d.restarted THEN 0 ELSE p.calls END,
               d.plans - CASE WHEN d.restarted THEN 0 ELSE p.plans END,
               d.total_exec_time - CASE WHEN d.restarted THEN 0 ELSE p.total_exec_time END,
               d.total_plan_time - CASE WHEN d.restarted THEN 0 ELSE p.total_plan_time END,
               d.rows - CASE WHEN d.restarted THEN 0 ELSE p.rows END,
               d.shared_blks_hit - CASE WHEN d.restarted THEN 0 ELSE p.shared_blks_hit END,
               d.shared_blks_read - CASE WHEN d.restarted THEN 0 ELSE p.shared_blks_read END,
               d.shared_blks_dirtied - CASE WHEN d.restarted THEN 0 ELSE p.shared_blks_dirtied END,
               d.shared_blks_written - CASE WHEN d.restarted THEN 0 ELSE p.shared_blks_written END,
               d.local_blks_hit - CASE WHEN d.restarted THEN 0 ELSE p.local_blks_hit END,
               d.local_blks_read - CASE WHEN d.restarted THEN 0 ELSE p.local_blks_read END,
               d.local_blks_written - CASE WHEN d.restarted THEN 0 ELSE p.local_blks_written END,
               d.temp_blks_read - CASE WHEN d.restarted THEN 0 ELSE p.temp_blks_read END,
               d.temp_blks_written - CASE WHEN d.restarted THEN 0 ELSE p.temp_blks_written END,
               d.blk_read_time - CASE WHEN d.restarted THEN 0 ELSE p.blk_read_time END,
               d.blk_write_time - CASE WHEN d.restarted THEN 0 ELSE p.blk_write_time END,
               d.wal_bytes - CASE WHEN d.restarted THEN 0 ELSE p.wal_bytes END
        FROM (
            SELECT c.*,
                   (was_reset OR p.snapshot_id IS NULL
                    OR c.calls < p.calls OR c.plans < p.plans
                    OR c.total_exec_time < p.total_exec_time OR c.total_plan_time < p.total_plan_time
                    OR c.rows < p.rows
                    OR c.shared_blks_hit < p.shared_blks_hit OR c.shared_blks_read < p.shared_blks_read
                    OR c.shared_blks_dirtied < p.shared_blks_dirtied
                    OR c.shared_blks_written < p.shared_blks_written
                    OR c.local_blks_hit < p.local_blks_hit OR c.local_blks_read < p.local_blks_read
                    OR c.local_blks_written < p.local_blks_written
                    OR c.temp_blks_read < p.temp_blks_read OR c.temp_blks_written < p.temp_blks_written
                    OR c.blk_read_time < p.blk_read_time OR c.blk_write_time < p.blk_write_time
                    OR c.wal_bytes < p.wal_bytes
                    OR c.max_exec_time < p.max_exec_time
                    OR c.min_exec_time > p.min_exec_time) AS restarted
            FROM pgmanage.pgm_pgss_last c
            LEFT JOIN pgmanage.pgm_pgss_last p
              ON p.snapshot_id = prev.id AND p.userid = c.userid AND p.dbid = c.dbid
             AND p.queryid = c.queryid AND p.toplevel = c.toplevel
            WHERE c.snapshot_id = sid
        ) d
        LEFT JOIN pgmanage.pgm_pgss_last p
          ON p.snapshot_id = prev.id AND p.userid = d.userid AND p.dbid = d.dbid
         AND p.queryid = d.queryid AND p.toplevel = d.toplevel
        WHERE d.restarted OR d.calls > p.calls OR d.plans > p.plans;
        GET DIAGNOSTICS ndeltas = ROW_COUNT;
        -- entries that did nothing since they (re)started are not history
        DELETE FROM pgmanage.pgm_pgss_history h
        WHERE h.snapshot_id = sid AND h.calls = 0 AND h.plans = 0;
    END IF;
    DELETE FROM pgmanage.pgm_pgss_last WHERE snapshot_id <> sid;

    -- texts: fetched (one read of pg_stat_statements' text file) only for
    -- statements the history has no text for yet
    IF EXISTS (SELECT 1 FROM pgmanage.pgm_pgss_history h
               WHERE h.snapshot_id = sid
                 AND NOT EXISTS (SELECT 1 FROM pgmanage.pgm_pgss_query q WHERE q.queryid = h.queryid)) THEN
        EXECUTE format($q$
            INSERT INTO pgmanage.pgm_pgss_query (queryid, query, last_seen)
            SELECT DISTINCT ON (s.queryid) s.queryid, s.query, now()
            FROM %I.pg_stat_statements(true) s
            WHERE s.queryid IN (SELECT h.queryid FROM pgmanage.pgm_pgss_history h WHERE h.snapshot_id = $1)
              AND s.query IS NOT NULL
            ORDER BY s.queryid
            ON CONFLICT (queryid) DO NOTHING
        $q$, nsp) USING sid;
    END IF;
    UPDATE pgmanage.pgm_pgss_query q SET last_seen = now()
    WHERE q.queryid IN (SELECT h.queryid FROM pgmanage.pgm_pgss_history h WHERE h.snapshot_id = sid);

    UPDATE pgmanage.pgm_pgss_snapshot
    SET entries = nentries,
        delta_rows = (SELECT count(*) FROM pgmanage.pgm_pgss_history h WHERE h.snapshot_id = sid)
    WHERE id = sid;
    RETURN sid;
END
$fn$;

-- The top n statements between two moments, from the snapshots taken in
-- (from_time, to_time]; period_start/period_end say what they cover.
CREATE OR REPLACE FUNCTION pgmanage.pgm_top_queries_between(
    from_time timestamptz,
    to_time timestamptz,
    order_by text DEFAULT 'total_time',
    n integer DEFAULT 10,
    dbname name DEFAULT NULL,
    OUT rank integer,
    OUT queryid bigint,
    OUT role_name name,
    OUT database_name name,
    OUT toplevel boolean,
    OUT calls bigint,
    OUT total_exec_time numeric,
    OUT mean_exec_time numeric,
    OUT share_of_total_time numeric,
    OUT rows bigint,
    OUT rows_per_call numeric,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT hit_ratio numeric,
    OUT io_blocks bigint,
    OUT blk_read_time numeric,
    OUT blk_write_time numeric,
    OUT temp_blks_written bigint,
    OUT total_plan_time numeric,
    OUT query text,
    OUT period_start timestamptz,
    OUT period_end timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ord text := pgmanage.pgm_top_queries_order(order_by);
BEGIN
    IF from_time IS NULL OR to_time IS NULL OR from_time >= to_time THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'from_time must be earlier than to_time',
            DETAIL = format('from_time is %s, to_time is %s',
                            coalesce(from_time::text, 'NULL'), coalesce(to_time::text, 'NULL'));
    END IF;
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('n must be at least 1, not %s', coalesce(n::text, 'NULL'));
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH snaps AS (
            SELECT s.id, s.taken_at, s.prev_taken_at
            FROM pgmanage.pgm_pgss_snapshot s
            WHERE s.taken_at > $1 AND s.taken_at <= $2
        ), s AS (
            SELECT h.userid, h.dbid, h.queryid, h.toplevel,
                   sum(h.calls)::bigint AS calls, sum(h.total_exec_time) AS total_exec_time,
                   sum(h.total_plan_time) AS total_plan_time, sum(h.rows)::bigint AS rows,
                   sum(h.shared_blks_hit)::bigint AS shared_blks_hit,
                   sum(h.shared_blks_read)::bigint AS shared_blks_read,
                   sum(h.shared_blks_written + h.local_blks_read + h.local_blks_written
                       + h.temp_blks_read + h.temp_blks_written + h.shared_blks_read)::bigint AS io_blocks,
                   sum(h.blk_read_time) AS blk_read_time, sum(h.blk_write_time) AS blk_write_time,
                   sum(h.temp_blks_written)::bigint AS temp_blks_written
            FROM pgmanage.pgm_pgss_history h
            JOIN snaps ON snaps.id = h.snapshot_id
            WHERE $3 IS NULL OR h.dbid = (SELECT d.oid FROM pg_database d WHERE d.datname = $3)
            GROUP BY h.userid, h.dbid, h.queryid, h.toplevel
            HAVING sum(h.calls) > 0
        ), t AS (
            SELECT s.*, sum(s.total_exec_time) OVER () AS all_time FROM s
        )
        SELECT (row_number() OVER (ORDER BY %s DESC, t.queryid))::integer,
               t.queryid, r.rolname, d.datname, t.toplevel, t.calls,
               round(t.total_exec_time::numeric, 3),
               round((t.total_exec_time / t.calls)::numeric, 3),
               round((100 * t.total_exec_time / nullif(t.all_time, 0))::numeric, 2),
               t.rows,
               round(t.rows::numeric / t.calls, 2),
               t.shared_blks_hit, t.shared_blks_read,
               round(100.0 * t.shared_blks_hit / nullif(t.shared_blks_hit + t.shared_blks_read, 0), 2),
               t.io_blocks,
               round(t.blk_read_time::numeric, 3), round(t.blk_write_time::numeric, 3),
               t.temp_blks_written,
               round(t.total_plan_time::numeric, 3),
               q.query,
               (SELECT min(coalesce(snaps.prev_taken_at, snaps.taken_at)) FROM snaps),
               (SELECT max(snaps.taken_at) FROM snaps)
        FROM t
        LEFT JOIN pgmanage.pgm_pgss_query q ON q.queryid = t.queryid
        LEFT JOIN pg_roles r ON r.oid = t.userid
        LEFT JOIN pg_database d ON d.oid = t.dbid
        ORDER BY %s DESC, t.queryid
        LIMIT $4
    $q$, ord, ord) USING from_time, to_time, dbname, n;
END
$fn$;

-- Captured statements: the table's literal texts for superusers only, read
-- through pgm_slow_queries_visible by everyone else (src/sql/capture.sql).
-- pgm_slow_queries as pg_stat_activity shows query: every row, and the
-- literal texts (statement, query, plan), the query id and the client
-- address of another role's statement only to a role that has the
-- privileges of that role or of pg_read_all_stats (superusers have both).
-- Others see '<insufficient privilege>' and NULLs.  The table itself is
-- for superusers only.  A row whose role no longer exists is shown only
-- to pg_read_all_stats.
CREATE VIEW pgmanage.pgm_slow_queries_visible WITH (security_barrier) AS
SELECT s.id, s.captured_at, s.stored_at, s.duration_ms,
       CASE WHEN v.allowed THEN s.queryid END AS queryid,
       s.role_name, s.database_name, s.application_name,
       CASE WHEN v.allowed THEN s.client_addr END AS client_addr,
       s.pid,
       CASE WHEN v.allowed THEN s.query ELSE '<insufficient privilege>' END AS query,
       s.query_normalized,
       CASE WHEN v.allowed THEN s.statement ELSE '<insufficient privilege>' END AS statement,
       CASE WHEN v.allowed THEN s.plan END AS plan,
       s.plan_format, s.rows, s.nesting_level, s.utility
FROM pgmanage.pgm_slow_queries s
CROSS JOIN LATERAL (
    SELECT pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                      WHERE r.rolname OPERATOR(pg_catalog.=) s.role_name
                        AND pg_catalog.pg_has_role(r.oid, 'USAGE'))
) AS v(allowed);
COMMENT ON VIEW pgmanage.pgm_slow_queries_visible IS 'pgmanage: pgm_slow_queries with other roles'' texts and plans shown under the rules of pg_stat_activity.query';
REVOKE SELECT ON pgmanage.pgm_slow_queries FROM pg_read_all_stats;
GRANT SELECT ON pgmanage.pgm_slow_queries_visible TO PUBLIC;

-- pgm_job: a schedule is checked, and next_fire computed, when it is set;
-- a job's kind never changes (a name used by a job of another kind is
-- refused, so pgm_schedule_vacuum cannot silently replace a backup job
-- and the reverse: unschedule it first).
CREATE OR REPLACE FUNCTION pgmanage.pgm_job_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.schedule IS DISTINCT FROM OLD.schedule
       OR (NEW.enabled AND NOT OLD.enabled) THEN
        NEW.next_fire := (SELECT pgmanage.pgm_cron_next(NEW.schedule, now()));
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.kind IS DISTINCT FROM OLD.kind THEN
        RAISE EXCEPTION 'job "%" is a % job, not a % job', OLD.name, OLD.kind, NEW.kind
            USING ERRCODE = '42710',
                  HINT = 'Choose another name, or remove the job first with pgm_unschedule().';
    END IF;
    RETURN NEW;
END
$$;

-- Remove a job (any kind); its history stays until pruned, a run going continues.
CREATE OR REPLACE FUNCTION pgmanage.pgm_unschedule(name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM pgmanage.pgm_job j WHERE j.name = pgm_unschedule.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job "%" does not exist', name
            USING ERRCODE = '42704', HINT = 'See pgm_jobs for the jobs.';
    END IF;
    RETURN true;
END
$$;

-- Cancel a queued or running run; false if it had already finished.
CREATE OR REPLACE FUNCTION pgmanage.pgm_cancel_run(run_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT id, kind, status INTO r FROM pgmanage.pgm_job_run WHERE id = run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % does not exist', run_id
            USING ERRCODE = '22023', HINT = 'See pgm_job_runs for the runs.';
    END IF;
    IF r.status = 'queued' THEN
        UPDATE pgmanage.pgm_job_run
        SET status = 'cancelled', finished = now(), error = 'cancelled by ' || current_user || ' before it started'
        WHERE id = run_id AND status = 'queued';
        IF FOUND THEN
            RETURN true;
        END IF;
        SELECT status INTO r.status FROM pgmanage.pgm_job_run WHERE id = run_id;
    END IF;
    IF r.status = 'running' THEN
        IF pgmanage.pgm_signal_run(run_id, r.kind) THEN
            RETURN true;
        END IF;
        RAISE EXCEPTION 'run % is not running in this server', run_id
            USING ERRCODE = '55000', HINT = 'The worker marks it failed at its next pass if its process is gone.';
    END IF;
    RAISE NOTICE 'run % already finished (%)', run_id, r.status;
    RETURN false;
END
$$;

-- Options of a VACUUM run, checked; raises 22023 with a hint on a bad value.
-- No SET search_path here and in its callers: names in "tables" resolve with
-- the caller's search_path (and are stored schema-qualified).  So every
-- function and operator this code uses is schema-qualified
-- (OPERATOR(pg_catalog.=)): an object planted in a schema of the caller's
-- path cannot capture a call.
CREATE OR REPLACE FUNCTION pgmanage.pgm_vacuum_options(
    database name, schema_name text, tables text[], table_pattern text, strategy text,
    window_length interval, with_analyze boolean, cost_limit integer, cost_delay double precision,
    freeze boolean, index_cleanup text, parallel integer, skip_locked boolean,
    lock_timeout interval, reindex_bloated boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    resolved text[];
    t text;
BEGIN
    IF pg_catalog.current_database() OPERATOR(pg_catalog.<>) pg_catalog.current_setting('pgmanage.database') THEN
        RAISE EXCEPTION 'pgmanage jobs live in database "%", not "%"',
            pg_catalog.current_setting('pgmanage.database'), pg_catalog.current_database()
            USING ERRCODE = '55000',
                  HINT = 'Connect to the database named by pgmanage.database; the target database is an argument.';
    END IF;
    IF database IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) database) THEN
        RAISE EXCEPTION 'database "%" does not exist', database
            USING ERRCODE = '3D000', HINT = 'See pg_database for the names.';
    END IF;
    IF (schema_name IS NOT NULL)::int OPERATOR(pg_catalog.+) (tables IS NOT NULL)::int
       OPERATOR(pg_catalog.+) (table_pattern IS NOT NULL)::int OPERATOR(pg_catalog.>) 1 THEN
        RAISE EXCEPTION 'at most one of schema_name, tables and table_pattern may be given'
            USING ERRCODE = '22023', HINT = 'Use a pattern such as ''sales.%'' to combine a schema and names.';
    END IF;
    IF schema_name OPERATOR(pg_catalog.=) '' OR table_pattern OPERATOR(pg_catalog.=) ''
       OR pg_catalog.cardinality(tables) OPERATOR(pg_catalog.=) 0
       OR pg_catalog.array_position(tables, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'schema_name, tables and table_pattern must not be empty'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for every table of the database.';
    END IF;
    IF pg_catalog.octet_length(table_pattern) OPERATOR(pg_catalog.>) 255
       OR pg_catalog.octet_length(schema_name) OPERATOR(pg_catalog.>) 63 THEN
        RAISE EXCEPTION 'schema_name or table_pattern is too long' USING ERRCODE = '22023';
    END IF;
    IF tables IS NOT NULL THEN
        IF database OPERATOR(pg_catalog.=) pg_catalog.current_database() THEN
            -- resolve now, so a typo is an error here and not a silent no-op
            FOREACH t IN ARRAY tables LOOP
                IF pg_catalog.to_regclass(t) IS NULL THEN
                    RAISE EXCEPTION 'table "%" does not exist', t
                        USING ERRCODE = '42P01', HINT = 'Qualify names with their schema: ''sales.orders''.';
                END IF;
                resolved := resolved OPERATOR(pg_catalog.||)
                    (SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                            OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname)
                     FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                     WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(t));
            END LOOP;
            tables := resolved;
        END IF;
        IF pg_catalog.octet_length(pg_catalog.array_to_string(tables, ',')) OPERATOR(pg_catalog.>) 3800 THEN
            RAISE EXCEPTION 'the list of tables is too long'
                USING ERRCODE = '22023', HINT = 'Use schema_name or table_pattern for many tables.';
        END IF;
    END IF;
    IF strategy IS NULL OR NOT (strategy OPERATOR(pg_catalog.=) ANY (ARRAY['need', 'all'])) THEN
        RAISE EXCEPTION 'invalid strategy "%"', strategy
            USING ERRCODE = '22023', HINT = 'Use ''need'' (tables that need it) or ''all'' (every table).';
    END IF;
    IF window_length IS NOT NULL AND window_length OPERATOR(pg_catalog.<=) interval '0' THEN
        RAISE EXCEPTION 'window_length must be positive'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for no window.';
    END IF;
    -- (a window end beyond the representable range would be in the past)
    IF window_length OPERATOR(pg_catalog.>) interval '100 years' THEN
        RAISE EXCEPTION 'window_length must be at most 100 years'
            USING ERRCODE = '22023', HINT = 'Pass NULL (the default) for no window.';
    END IF;
    IF with_analyze IS NULL OR pgm_vacuum_options.freeze IS NULL OR skip_locked IS NULL OR reindex_bloated IS NULL THEN
        RAISE EXCEPTION 'with_analyze, freeze, skip_locked and reindex_bloated must not be NULL'
            USING ERRCODE = '22023';
    END IF;
    IF cost_limit IS NOT NULL
       AND (cost_limit OPERATOR(pg_catalog.<) 1 OR cost_limit OPERATOR(pg_catalog.>) 10000) THEN
        RAISE EXCEPTION 'cost_limit must be between 1 and 10000'
            USING ERRCODE = '22023', HINT = 'It is vacuum_cost_limit for the run; NULL keeps the server''s.';
    END IF;
    IF cost_delay IS NOT NULL
       AND (cost_delay OPERATOR(pg_catalog.<) 0 OR cost_delay OPERATOR(pg_catalog.>) 100) THEN
        RAISE EXCEPTION 'cost_delay must be between 0 and 100 (milliseconds)'
            USING ERRCODE = '22023', HINT = 'It is vacuum_cost_delay for the run; NULL keeps the server''s.';
    END IF;
    IF index_cleanup IS NULL
       OR NOT (pg_catalog.lower(index_cleanup) OPERATOR(pg_catalog.=) ANY (ARRAY['auto', 'on', 'off'])) THEN
        RAISE EXCEPTION 'invalid index_cleanup "%"', index_cleanup
            USING ERRCODE = '22023', HINT = 'Use ''auto'', ''on'' or ''off'', as VACUUM''s INDEX_CLEANUP.';
    END IF;
    IF parallel IS NOT NULL
       AND (parallel OPERATOR(pg_catalog.<) 0 OR parallel OPERATOR(pg_catalog.>) 1024) THEN
        RAISE EXCEPTION 'parallel must be between 0 and 1024'
            USING ERRCODE = '22023', HINT = 'It is VACUUM''s PARALLEL option; NULL lets PostgreSQL choose.';
    END IF;
    IF lock_timeout IS NULL OR lock_timeout OPERATOR(pg_catalog.<) interval '0'
       OR lock_timeout OPERATOR(pg_catalog.>) interval '1 day' THEN
        RAISE EXCEPTION 'lock_timeout must be between 0 and 1 day'
            USING ERRCODE = '22023', HINT = '0 waits for locks without limit; the default is 5 seconds.';
    END IF;
    RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
        'schema', schema_name, 'tables', pg_catalog.to_jsonb(tables), 'pattern', table_pattern,
        'strategy', strategy, 'window_seconds', extract(epoch FROM window_length)::float8, 'analyze', with_analyze,
        'cost_limit', cost_limit, 'cost_delay', cost_delay, 'freeze', pgm_vacuum_options.freeze,
        'index_cleanup', pg_catalog.lower(index_cleanup), 'parallel', parallel, 'skip_locked', skip_locked,
        'lock_timeout_ms', (extract(epoch FROM lock_timeout) OPERATOR(pg_catalog.*) 1000)::bigint,
        'reindex_bloated', reindex_bloated));
END
$$;

-- Create or replace a VACUUM job; returns its next fire time.
CREATE OR REPLACE FUNCTION pgmanage.pgm_schedule_vacuum(
    name text,
    schedule text,
    database name DEFAULT current_database(),
    schema_name text DEFAULT NULL,
    tables text[] DEFAULT NULL,
    table_pattern text DEFAULT NULL,
    strategy text DEFAULT 'need',
    window_length interval DEFAULT NULL,
    with_analyze boolean DEFAULT true,
    cost_limit integer DEFAULT NULL,
    cost_delay double precision DEFAULT NULL,
    freeze boolean DEFAULT false,
    index_cleanup text DEFAULT 'auto',
    parallel integer DEFAULT NULL,
    skip_locked boolean DEFAULT true,
    lock_timeout interval DEFAULT '5s',
    reindex_bloated boolean DEFAULT false,
    catch_up text DEFAULT 'once',
    enabled boolean DEFAULT true)
RETURNS timestamptz
LANGUAGE plpgsql
AS $$
DECLARE
    opts jsonb;
    next_at timestamptz;
BEGIN
    IF name IS NULL OR name OPERATOR(pg_catalog.!~) '^[[:print:]]{1,63}$' THEN
        RAISE EXCEPTION 'invalid job name "%"', name
            USING ERRCODE = '22023', HINT = 'A job name is 1 to 63 printable characters.';
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL'
            USING ERRCODE = '22023', HINT = 'For example ''30 2 * * *'', ''@daily'' or ''every 6 hours''.';
    END IF;
    IF catch_up IS NULL OR NOT (catch_up OPERATOR(pg_catalog.=) ANY (ARRAY['once', 'skip'])) THEN
        RAISE EXCEPTION 'invalid catch_up "%"', catch_up
            USING ERRCODE = '22023', HINT = 'Use ''once'' (run once after downtime) or ''skip''.';
    END IF;
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'enabled must not be NULL' USING ERRCODE = '22023';
    END IF;
    PERFORM pgmanage.pgm_cron_next(schedule);    -- 22023 naming the bad field
    opts := pgmanage.pgm_vacuum_options(database, schema_name, tables, table_pattern, strategy,
                window_length, with_analyze, cost_limit, cost_delay, pgm_schedule_vacuum.freeze, index_cleanup,
                parallel, skip_locked, lock_timeout, reindex_bloated);
    INSERT INTO pgmanage.pgm_job AS j (name, kind, schedule, database_name, options, enabled, catch_up)
    VALUES (name, 'vacuum', schedule, database, opts, enabled, catch_up)
    ON CONFLICT ON CONSTRAINT pgm_job_pkey DO UPDATE
        SET kind = excluded.kind, schedule = excluded.schedule, database_name = excluded.database_name,
            options = excluded.options, enabled = excluded.enabled, catch_up = excluded.catch_up,
            next_fire = (SELECT pgmanage.pgm_cron_next(excluded.schedule, pg_catalog.now()))
    RETURNING j.next_fire INTO next_at;
    RETURN next_at;
END
$$;

-- Run a VACUUM now, with the same options; returns the run id (it starts at COMMIT).
CREATE OR REPLACE FUNCTION pgmanage.pgm_vacuum_now(
    database name DEFAULT current_database(),
    schema_name text DEFAULT NULL,
    tables text[] DEFAULT NULL,
    table_pattern text DEFAULT NULL,
    strategy text DEFAULT 'need',
    window_length interval DEFAULT NULL,
    with_analyze boolean DEFAULT true,
    cost_limit integer DEFAULT NULL,
    cost_delay double precision DEFAULT NULL,
    freeze boolean DEFAULT false,
    index_cleanup text DEFAULT 'auto',
    parallel integer DEFAULT NULL,
    skip_locked boolean DEFAULT true,
    lock_timeout interval DEFAULT '5s',
    reindex_bloated boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    opts jsonb;
    run bigint;
BEGIN
    opts := pgmanage.pgm_vacuum_options(database, schema_name, tables, table_pattern, strategy,
                window_length, with_analyze, cost_limit, cost_delay, pgm_vacuum_now.freeze, index_cleanup,
                parallel, skip_locked, lock_timeout, reindex_bloated);
    INSERT INTO pgmanage.pgm_job_run (job, kind, database_name, options, trigger, status)
    VALUES (NULL, 'vacuum', database, opts, 'manual', 'queued')
    RETURNING id INTO run;
    RETURN run;
END
$$;

-- Policy kills become timeout_kill events for endpoints that subscribe to them.
CREATE OR REPLACE FUNCTION pgmanage.pgm_kill_log_event() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (only pgmanage.database sends events; elsewhere the row is kept, no event)
    IF current_database() = current_setting('pgmanage.database', true)
       AND EXISTS (SELECT 1 FROM pgmanage.pgm_endpoint ep
               WHERE ep.enabled AND (ep.event_kinds IS NULL OR 'timeout_kill' = ANY (ep.event_kinds))) THEN
        PERFORM pgmanage.pgm_emit_event('timeout_kill', to_jsonb(NEW) - 'query', NEW.limit_kind, NULL);
    END IF;
    RETURN NULL;
END
$$;

-- A run that fails (any kind) becomes a job_failed event for the endpoints
-- that subscribe to it.
CREATE OR REPLACE FUNCTION pgmanage.pgm_job_run_event() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (only pgmanage.database sends events; elsewhere the run fails, no event)
    IF current_database() = current_setting('pgmanage.database', true)
       AND EXISTS (SELECT 1 FROM pgmanage.pgm_endpoint ep
               WHERE ep.enabled AND (ep.event_kinds IS NULL OR 'job_failed' = ANY (ep.event_kinds))) THEN
        PERFORM pgmanage.pgm_emit_event('job_failed',
            jsonb_build_object('run_id', NEW.id, 'job', NEW.job, 'kind', NEW.kind,
                               'database', NEW.database_name, 'trigger', NEW.trigger,
                               'scheduled_for', NEW.scheduled_for,
                               'started', NEW.started, 'finished', NEW.finished, 'error', NEW.error),
            coalesce(NEW.job, NEW.kind), NULL);
    END IF;
    RETURN NULL;
END
$$;

-- Create or replace a backup job: at each slot, a 'backup' event goes to the
-- endpoint (NULL: every enabled endpoint subscribed to 'backup'); returns
-- the job's next fire time.
CREATE OR REPLACE FUNCTION pgmanage.pgm_schedule_backup(
    name text,
    schedule text,
    endpoint text DEFAULT NULL,
    label text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    next_at timestamptz;
BEGIN
    IF current_database() <> current_setting('pgmanage.database') THEN
        RAISE EXCEPTION 'pgmanage jobs live in database "%", not "%"',
            current_setting('pgmanage.database'), current_database()
            USING ERRCODE = '55000',
                  HINT = 'Connect to the database named by pgmanage.database.';
    END IF;
    IF name IS NULL OR name !~ '^[[:print:]]{1,63}$' THEN
        RAISE EXCEPTION 'invalid job name "%"', name
            USING ERRCODE = '22023', HINT = 'A job name is 1 to 63 printable characters.';
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION 'schedule must not be NULL'
            USING ERRCODE = '22023', HINT = 'For example ''0 1 * * *'', ''@daily'' or ''every 6 hours''.';
    END IF;
    PERFORM pgmanage.pgm_cron_next(schedule);    -- 22023 naming the bad field
    IF endpoint IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pgmanage.pgm_endpoint ep WHERE ep.name = endpoint) THEN
        RAISE EXCEPTION 'webhook endpoint "%" does not exist', endpoint
            USING ERRCODE = '22023',
                  HINT = 'See the rows of pgm_endpoint; pass NULL to send to every endpoint subscribed to backup events.';
    END IF;
    IF octet_length(label) > 1024 THEN
        RAISE EXCEPTION 'label is too long'
            USING ERRCODE = '22023', HINT = 'A label is at most 1024 bytes.';
    END IF;
    INSERT INTO pgmanage.pgm_job AS j (name, kind, schedule, database_name, options)
    VALUES (name, 'backup', schedule, current_database(),
            jsonb_strip_nulls(jsonb_build_object('endpoint', endpoint, 'label', label)))
    ON CONFLICT ON CONSTRAINT pgm_job_pkey DO UPDATE
        SET kind = excluded.kind, schedule = excluded.schedule, database_name = excluded.database_name,
            options = excluded.options, enabled = true,
            next_fire = (SELECT pgmanage.pgm_cron_next(excluded.schedule, now()))
    RETURNING j.next_fire INTO next_at;
    RETURN next_at;
END
$$;

-- 5. Internal helpers are marked so (they are not executable by PUBLIC since
-- they were created).
COMMENT ON FUNCTION pgmanage.pgm_policy_changed() IS 'pgmanage (internal): trigger on pgm_timeout_policy, wakes the worker at COMMIT';
COMMENT ON FUNCTION pgmanage.pgm_pgss_schema(boolean) IS 'pgmanage (internal): the schema of pg_stat_statements, or ERROR 55000 saying what is missing';
COMMENT ON FUNCTION pgmanage.pgm_top_queries_order(text) IS 'pgmanage (internal): the ranking expression for an order_by argument of pgm_top_queries';
COMMENT ON FUNCTION pgmanage.pgm_job_check() IS 'pgmanage (internal): trigger on pgm_job, checks the schedule and computes next_fire';
COMMENT ON FUNCTION pgmanage.pgm_jobs_changed() IS 'pgmanage (internal): trigger on pgm_job and pgm_job_run, wakes the worker at COMMIT';
COMMENT ON FUNCTION pgmanage.pgm_signal_run(bigint, text) IS 'pgmanage (internal): asks a running run to stop; used by pgm_cancel_run';
COMMENT ON FUNCTION pgmanage.pgm_vacuum_options(name, text, text[], text, text, interval, boolean, integer,
    double precision, boolean, text, integer, boolean, interval, boolean)
    IS 'pgmanage (internal): checks the options of pgm_schedule_vacuum and pgm_vacuum_now, returns them as jsonb';
COMMENT ON FUNCTION pgmanage.pgm_endpoint_check() IS 'pgmanage (internal): trigger on pgm_endpoint, checks a row without printing its secret';
COMMENT ON FUNCTION pgmanage.pgm_webhook_wake() IS 'pgmanage (internal): trigger on pgm_endpoint, wakes the sender at COMMIT';
COMMENT ON FUNCTION pgmanage.pgm_kill_log_event() IS 'pgmanage (internal): trigger on pgm_kill_log, emits timeout_kill events';
COMMENT ON FUNCTION pgmanage.pgm_job_run_event() IS 'pgmanage (internal): trigger on pgm_job_run, emits job_failed events';

-- 6. Timeout policies (issue 10, 11): limits must be representable, at most
-- 256 enabled policies, and pgm_status() says how many were skipped.
-- A 1.x row with a limit beyond 100 years was never enforced (every load
-- failed with "bigint out of range"): it is capped at 100 years, and said so.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.id FROM pgmanage.pgm_timeout_policy p
        WHERE p.statement_timeout OPERATOR(pg_catalog.>) interval '100 years'
           OR p.idle_in_transaction_timeout OPERATOR(pg_catalog.>) interval '100 years'
           OR p.transaction_timeout OPERATOR(pg_catalog.>) interval '100 years'
    LOOP
        RAISE WARNING 'pgmanage: timeout policy % had a limit beyond 100 years; it is now 100 years', r.id;
    END LOOP;
    UPDATE pgmanage.pgm_timeout_policy p SET
        statement_timeout = LEAST(p.statement_timeout, interval '100 years'),
        idle_in_transaction_timeout = LEAST(p.idle_in_transaction_timeout, interval '100 years'),
        transaction_timeout = LEAST(p.transaction_timeout, interval '100 years')
    WHERE p.statement_timeout OPERATOR(pg_catalog.>) interval '100 years'
       OR p.idle_in_transaction_timeout OPERATOR(pg_catalog.>) interval '100 years'
       OR p.transaction_timeout OPERATOR(pg_catalog.>) interval '100 years';
END
$$;
ALTER TABLE pgmanage.pgm_timeout_policy
    ADD CONSTRAINT pgm_timeout_policy_statement_timeout_max_100_years
        CHECK (statement_timeout <= interval '100 years'),
    ADD CONSTRAINT pgm_timeout_policy_idle_in_transaction_timeout_max_100_years
        CHECK (idle_in_transaction_timeout <= interval '100 years'),
    ADD CONSTRAINT pgm_timeout_policy_transaction_timeout_max_100_years
        CHECK (transaction_timeout <= interval '100 years');

CREATE FUNCTION pgmanage.pgm_policy_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF NEW.enabled AND (TG_OP = 'INSERT' OR NOT OLD.enabled) THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(TG_RELID::pg_catalog.int8);
        SELECT count(*) INTO n FROM pgmanage.pgm_timeout_policy p
        WHERE p.enabled AND p.id OPERATOR(pg_catalog.<>) NEW.id;
        IF n OPERATOR(pg_catalog.>=) 256 THEN
            RAISE EXCEPTION 'too many enabled timeout policies'
                USING ERRCODE = '54000',
                      DETAIL = pg_catalog.format('pgmanage enforces at most 256 enabled policies; %s are enabled.', n),
                      HINT = 'Disable or delete a policy, or let one policy cover more sessions (a role, an application_name pattern, a client_addr network).';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_policy_check() IS 'pgmanage (internal): trigger on pgm_timeout_policy, refuses a 257th enabled policy';
CREATE TRIGGER pgm_timeout_policy_check
    BEFORE INSERT OR UPDATE OF enabled ON pgmanage.pgm_timeout_policy
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_policy_check();
REVOKE ALL ON FUNCTION pgmanage.pgm_policy_check() FROM PUBLIC;

-- pgm_status() gains policies_skipped (OUT columns: DROP and CREATE, same ACL)
DROP FUNCTION pgmanage.pgm_status();
CREATE FUNCTION pgmanage.pgm_status(
    OUT process text,
    OUT pid integer,
    OUT started_at timestamptz,
    OUT database_name text,
    OUT server_role text,
    OUT last_wake timestamptz,
    OUT next_deadline timestamptz,
    OUT policies_loaded integer,
    OUT policies_skipped integer,
    OUT extension_found boolean,
    OUT statements_cancelled bigint,
    OUT sessions_terminated bigint,
    OUT signals_failed bigint,
    OUT kill_log_written bigint,
    OUT kill_log_pending bigint,
    OUT kill_log_dropped bigint,
    OUT last_error text,
    OUT last_error_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_status'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION pgmanage.pgm_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_status() TO pg_read_all_stats;

-- 6. Webhooks: webhook_id, random, stored with each event (the header of
-- every attempt).  Events queued before the update keep the id they were
-- sent with so far (pgm_<system identifier>_<id>), so that a delivery
-- retried after the update still deduplicates at the receiver.
ALTER TABLE pgmanage.pgm_event ADD COLUMN webhook_id text;
UPDATE pgmanage.pgm_event SET webhook_id = 'pgm_' OPERATOR(pg_catalog.||)
    (SELECT s.system_identifier FROM pg_catalog.pg_control_system() s)::pg_catalog.text
    OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) id::pg_catalog.text;
ALTER TABLE pgmanage.pgm_event
    ALTER COLUMN webhook_id SET DEFAULT ('pgm_' OPERATOR(pg_catalog.||)
        pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text, '-', '')),
    ALTER COLUMN webhook_id SET NOT NULL,
    ADD CONSTRAINT pgm_event_webhook_id_key UNIQUE (webhook_id);
