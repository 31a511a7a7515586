/* capture: slow-query capture, pgm_top_queries and pg_stat_statements history (1.2) */

-- Statements that ran at least pgmanage.log_min_duration, written by the
-- worker from the capture ring.
CREATE TABLE pgmanage.pgm_slow_queries (
    id bigserial PRIMARY KEY,
    captured_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    duration_ms double precision NOT NULL,
    queryid bigint,
    role_name text,
    database_name text,
    application_name text,
    client_addr inet,
    pid integer NOT NULL,
    query text NOT NULL,
    query_normalized boolean NOT NULL,
    statement text NOT NULL,
    plan text,
    plan_format text,
    rows bigint,
    nesting_level integer NOT NULL,
    utility boolean NOT NULL
);
CREATE INDEX pgm_slow_queries_captured_at ON pgmanage.pgm_slow_queries (captured_at);
COMMENT ON TABLE pgmanage.pgm_slow_queries IS 'pgmanage: statements slower than pgmanage.log_min_duration; pruned after pgmanage.slow_queries_retention';

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

-- The capture ring's counters since server start.
CREATE FUNCTION pgmanage.pgm_slow_query_stats(
    OUT captured bigint,
    OUT written bigint,
    OUT pending bigint,
    OUT dropped bigint,
    OUT buffer_slots integer,
    OUT buffer_bytes bigint,
    OUT query_max_bytes bigint,
    OUT plan_max_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgm_slow_query_stats'
LANGUAGE C VOLATILE;

-- Internal: the schema of pg_stat_statements (found through pg_extension,
-- never through search_path), or ERROR 55000 saying what is missing.
CREATE FUNCTION pgmanage.pgm_pgss_schema(missing_ok boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    preloaded boolean := current_setting('pg_stat_statements.max', true) IS NOT NULL;
    nsp name;
    ver text;
BEGIN
    SELECT n.nspname, e.extversion INTO nsp, ver
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements';
    IF preloaded AND nsp IS NOT NULL
       AND string_to_array(ver, '.')::int[] >= ARRAY[1, 9] THEN
        RETURN nsp;
    END IF;
    IF missing_ok THEN
        RETURN NULL;
    END IF;
    IF NOT preloaded THEN
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = 'pg_stat_statements is not loaded through shared_preload_libraries',
            HINT = 'Add shared_preload_libraries = ''pg_stat_statements'' to postgresql.conf (keeping the libraries already listed) and restart the server'
                   || CASE WHEN nsp IS NULL
                           THEN format(', then run CREATE EXTENSION pg_stat_statements in database "%s".', current_database())
                           ELSE '.' END;
    ELSIF nsp IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = format('extension "pg_stat_statements" is not installed in database "%s"', current_database()),
            HINT = 'Run CREATE EXTENSION pg_stat_statements in this database.';
    ELSE
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = format('pg_stat_statements %s is too old: 1.9 or later is needed', ver),
            HINT = 'Run ALTER EXTENSION pg_stat_statements UPDATE.';
    END IF;
END
$fn$;

-- Internal: the ranking expression for an order_by argument (ERROR 22023).
CREATE FUNCTION pgmanage.pgm_top_queries_order(order_by text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    CASE lower(btrim(order_by))
        WHEN 'total_time', 'total_exec_time' THEN RETURN 'total_exec_time';
        WHEN 'mean_time', 'mean_exec_time' THEN RETURN 'total_exec_time / calls';
        WHEN 'calls' THEN RETURN 'calls';
        WHEN 'io' THEN RETURN 'io_blocks';
        WHEN 'rows' THEN RETURN 'rows';
        ELSE
            RAISE EXCEPTION USING
                ERRCODE = '22023',
                MESSAGE = format('unknown order_by %s', coalesce(quote_literal(order_by), 'NULL')),
                HINT = 'Use one of: total_time, mean_time, calls, io, rows.';
    END CASE;
END
$fn$;

-- The top n statements of pg_stat_statements since its last reset.
CREATE FUNCTION pgmanage.pgm_top_queries(
    order_by text DEFAULT 'total_time',
    n integer DEFAULT 10,
    dbname name DEFAULT NULL,
    OUT rank integer,
    OUT queryid bigint,
    OUT role_name text,
    OUT database_name text,
    OUT toplevel boolean,
    OUT calls bigint,
    OUT total_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT share_of_total_time numeric,
    OUT rows bigint,
    OUT rows_per_call numeric,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT hit_ratio numeric,
    OUT io_blocks bigint,
    OUT blk_read_time double precision,
    OUT blk_write_time double precision,
    OUT temp_blks_written bigint,
    OUT total_plan_time double precision,
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
               t.queryid, r.rolname::text, d.datname::text, t.toplevel, t.calls,
               round(t.total_exec_time::numeric, 3)::float8,
               round((t.total_exec_time / t.calls)::numeric, 3)::float8,
               round((100 * t.total_exec_time / nullif(t.all_time, 0))::numeric, 2),
               t.rows,
               round(t.rows::numeric / t.calls, 2),
               t.shared_blks_hit, t.shared_blks_read,
               round(100.0 * t.shared_blks_hit / nullif(t.shared_blks_hit + t.shared_blks_read, 0), 2),
               t.io_blocks,
               round(t.blk_read_time::numeric, 3)::float8, round(t.blk_write_time::numeric, 3)::float8,
               t.temp_blks_written,
               round(t.total_plan_time::numeric, 3)::float8,
               t.query
        FROM t
        LEFT JOIN pg_roles r ON r.oid = t.userid
        LEFT JOIN pg_database d ON d.oid = t.dbid
        ORDER BY %s DESC, t.queryid
        LIMIT $2
    $q$, rd_time, wr_time, nsp, ord, ord) USING dbname, n;
END
$fn$;

-- History of pg_stat_statements: one row per snapshot ...
CREATE TABLE pgmanage.pgm_pgss_snapshot (
    id bigserial PRIMARY KEY,
    taken_at timestamptz NOT NULL,
    prev_taken_at timestamptz,
    stats_reset timestamptz,
    dealloc bigint,
    reset_detected boolean NOT NULL,
    entries integer,
    delta_rows integer
);
CREATE INDEX pgm_pgss_snapshot_taken_at ON pgmanage.pgm_pgss_snapshot (taken_at);
COMMENT ON TABLE pgmanage.pgm_pgss_snapshot IS 'pgmanage: pg_stat_statements snapshots; pruned after pgmanage.pgss_history_retention';

-- ... and per snapshot, what each statement did since the previous one.
CREATE TABLE pgmanage.pgm_pgss_history (
    snapshot_id bigint NOT NULL REFERENCES pgmanage.pgm_pgss_snapshot (id) ON DELETE CASCADE,
    userid oid NOT NULL,
    dbid oid NOT NULL,
    queryid bigint NOT NULL,
    toplevel boolean NOT NULL,
    restarted boolean NOT NULL,
    calls bigint NOT NULL,
    plans bigint NOT NULL,
    total_exec_time double precision NOT NULL,
    total_plan_time double precision NOT NULL,
    rows bigint NOT NULL,
    shared_blks_hit bigint NOT NULL,
    shared_blks_read bigint NOT NULL,
    shared_blks_dirtied bigint NOT NULL,
    shared_blks_written bigint NOT NULL,
    local_blks_hit bigint NOT NULL,
    local_blks_read bigint NOT NULL,
    local_blks_written bigint NOT NULL,
    temp_blks_read bigint NOT NULL,
    temp_blks_written bigint NOT NULL,
    blk_read_time double precision NOT NULL,
    blk_write_time double precision NOT NULL,
    wal_bytes numeric NOT NULL,
    PRIMARY KEY (snapshot_id, userid, dbid, queryid, toplevel)
);
COMMENT ON TABLE pgmanage.pgm_pgss_history IS 'pgmanage: per snapshot, the pg_stat_statements counters accrued since the previous snapshot';

-- Normalized query texts of the statements in the history (stored once).
CREATE TABLE pgmanage.pgm_pgss_query (
    queryid bigint PRIMARY KEY,
    query text NOT NULL,
    last_seen timestamptz NOT NULL
);
COMMENT ON TABLE pgmanage.pgm_pgss_query IS 'pgmanage: query texts of pgm_pgss_history';
-- retention and the row cap prune texts by last_seen
CREATE INDEX pgm_pgss_query_last_seen ON pgmanage.pgm_pgss_query (last_seen);

-- Internal: the cumulative counters of the latest snapshot, to subtract from.
CREATE TABLE pgmanage.pgm_pgss_last (
    snapshot_id bigint NOT NULL,
    userid oid NOT NULL,
    dbid oid NOT NULL,
    queryid bigint NOT NULL,
    toplevel boolean NOT NULL,
    calls bigint NOT NULL,
    plans bigint NOT NULL,
    total_exec_time double precision NOT NULL,
    total_plan_time double precision NOT NULL,
    rows bigint NOT NULL,
    shared_blks_hit bigint NOT NULL,
    shared_blks_read bigint NOT NULL,
    shared_blks_dirtied bigint NOT NULL,
    shared_blks_written bigint NOT NULL,
    local_blks_hit bigint NOT NULL,
    local_blks_read bigint NOT NULL,
    local_blks_written bigint NOT NULL,
    temp_blks_read bigint NOT NULL,
    temp_blks_written bigint NOT NULL,
    blk_read_time double precision NOT NULL,
    blk_write_time double precision NOT NULL,
    wal_bytes numeric NOT NULL,
    min_exec_time double precision NOT NULL,
    max_exec_time double precision NOT NULL,
    PRIMARY KEY (snapshot_id, userid, dbid, queryid, toplevel)
);
COMMENT ON TABLE pgmanage.pgm_pgss_last IS 'pgmanage (internal): pg_stat_statements as of the latest snapshot';

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
CREATE FUNCTION pgmanage.pgm_pgss_snapshot()
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
CREATE FUNCTION pgmanage.pgm_top_queries_between(
    from_time timestamptz,
    to_time timestamptz,
    order_by text DEFAULT 'total_time',
    n integer DEFAULT 10,
    dbname name DEFAULT NULL,
    OUT rank integer,
    OUT queryid bigint,
    OUT role_name text,
    OUT database_name text,
    OUT toplevel boolean,
    OUT calls bigint,
    OUT total_exec_time double precision,
    OUT mean_exec_time double precision,
    OUT share_of_total_time numeric,
    OUT rows bigint,
    OUT rows_per_call numeric,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT hit_ratio numeric,
    OUT io_blocks bigint,
    OUT blk_read_time double precision,
    OUT blk_write_time double precision,
    OUT temp_blks_written bigint,
    OUT total_plan_time double precision,
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
               t.queryid, r.rolname::text, d.datname::text, t.toplevel, t.calls,
               round(t.total_exec_time::numeric, 3)::float8,
               round((t.total_exec_time / t.calls)::numeric, 3)::float8,
               round((100 * t.total_exec_time / nullif(t.all_time, 0))::numeric, 2),
               t.rows,
               round(t.rows::numeric / t.calls, 2),
               t.shared_blks_hit, t.shared_blks_read,
               round(100.0 * t.shared_blks_hit / nullif(t.shared_blks_hit + t.shared_blks_read, 0), 2),
               t.io_blocks,
               round(t.blk_read_time::numeric, 3)::float8, round(t.blk_write_time::numeric, 3)::float8,
               t.temp_blks_written,
               round(t.total_plan_time::numeric, 3)::float8,
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

-- Internal helpers of pgm_top_queries and pgm_top_queries_between, which run
-- with their caller's privileges: so executable by pg_read_all_stats too.
COMMENT ON FUNCTION pgmanage.pgm_pgss_schema(boolean) IS 'pgmanage (internal): the schema of pg_stat_statements, or ERROR 55000 saying what is missing';
COMMENT ON FUNCTION pgmanage.pgm_top_queries_order(text) IS 'pgmanage (internal): the ranking expression for an order_by argument of pgm_top_queries';

-- snapshots and history are history: pg_dump does not keep them

-- Privileges: what reveals queries is for pg_read_all_stats (and so
-- pg_monitor); snapshots on demand for superusers; nothing for PUBLIC.
-- pgm_slow_queries (literal texts of every role) for superusers only; its
-- view for everyone, as pg_stat_activity (a role still needs USAGE on
-- schema pgmanage, which pg_read_all_stats has).
REVOKE ALL ON pgmanage.pgm_slow_queries, pgmanage.pgm_pgss_snapshot, pgmanage.pgm_pgss_history,
    pgmanage.pgm_pgss_query, pgmanage.pgm_pgss_last FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_pgss_snapshot, pgmanage.pgm_pgss_history,
    pgmanage.pgm_pgss_query TO pg_read_all_stats;
GRANT SELECT ON pgmanage.pgm_slow_queries_visible TO PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_slow_query_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_pgss_schema(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_top_queries_order(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_top_queries(text, integer, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_top_queries_between(timestamptz, timestamptz, text, integer, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_pgss_snapshot() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_slow_query_stats() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_pgss_schema(boolean) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_top_queries_order(text) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_top_queries(text, integer, name) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_top_queries_between(timestamptz, timestamptz, text, integer, name) TO pg_read_all_stats;
