/* health reports (2.1): blocking tree, sequences, pg_hba audit, pre-upgrade check (index problems:
   index_report.sql).
   SQL and PL/pgSQL over the catalogs and statistics views; pgm_health() (health checks) calls them. */

-- The blocking tree now: one row per backend waiting on a heavyweight lock
-- (parallel workers folded into their leader), with who blocks it, the root
-- of its chain and how deep it is.  SECURITY INVOKER: it shows what
-- pg_stat_activity and pg_locks show the caller, no more.
CREATE FUNCTION pgmanage.pgm_blocking(
    include_blockers boolean DEFAULT false,
    OUT pid integer,
    OUT blocked_by integer[],
    OUT root_blocker integer,
    OUT depth integer,
    OUT wait_started timestamptz,
    OUT wait_seconds double precision,
    OUT lock_type text,
    OUT lock_mode text,
    OUT relation_name text,
    OUT state text,
    OUT role_name text,
    OUT database_name text,
    OUT application_name text,
    OUT query text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL for its plan cache: a poller's session plans this once
    RETURN QUERY
    WITH RECURSIVE
    -- one read of the lock table: the ungranted requests (one per waiting
    -- process), and the tuple locks held (a row-lock waiter's relation)
    locks AS MATERIALIZED (
        SELECT l.pid, l.locktype, l.mode, l.database, l.relation, l.waitstart, l.granted
        FROM pg_catalog.pg_locks l
        WHERE l.pid IS NOT NULL AND (NOT l.granted OR l.locktype = 'tuple')
    ),
    lk AS (SELECT * FROM locks WHERE NOT granted),
    act AS MATERIALIZED (
        SELECT a.pid, a.leader_pid, a.state, a.usename, a.datname, a.application_name, a.query
        FROM pg_catalog.pg_stat_activity a
    ),
    -- each waiting process, folded into its leader (a parallel worker's
    -- blockers are its leader's); pg_blocking_pids() names leaders already
    raw AS (
        SELECT coalesce(a.leader_pid, lk.pid) AS pid, lk.pid AS raw_pid, lk.locktype, lk.mode,
               lk.database, lk.relation, lk.waitstart,
               pg_catalog.pg_blocking_pids(lk.pid) AS blockers
        FROM lk LEFT JOIN act a ON a.pid = lk.pid
    ),
    edges AS (
        SELECT DISTINCT r.pid, b.b AS blocker
        FROM raw r, unnest(r.blockers) AS b(b)
        WHERE b.b <> r.pid
    ),
    waiters AS (
        SELECT e.pid, array_agg(e.blocker ORDER BY e.blocker) AS blocked_by
        FROM edges e GROUP BY e.pid
    ),
    -- the wait shown for a folded group: the leader's own, else its oldest worker's
    wait AS (
        SELECT DISTINCT ON (r.pid) r.*
        FROM raw r JOIN waiters w ON w.pid = r.pid
        ORDER BY r.pid, (r.raw_pid = r.pid) DESC, r.waitstart NULLS LAST, r.raw_pid
    ),
    -- from the roots (blockers that wait for nothing) down; a cycle (a
    -- deadlock not yet detected) reaches no root
    chain(pid, root, depth) AS (
        SELECT e.pid, e.blocker, 1
        FROM edges e WHERE NOT EXISTS (SELECT 1 FROM waiters w WHERE w.pid = e.blocker)
        UNION
        SELECT e.pid, c.root, c.depth + 1
        FROM edges e JOIN chain c ON e.blocker = c.pid
        WHERE c.depth < (SELECT count(*) FROM waiters)
    ),
    best AS (
        SELECT DISTINCT ON (c.pid) c.pid, c.root, c.depth
        FROM chain c ORDER BY c.pid, c.depth, c.root
    ),
    rows AS (
        SELECT w.pid, w.blocked_by, b.root, b.depth,
               x.waitstart, x.locktype, x.mode,
               -- a row lock waits on the holder's transaction id; the
               -- waiter holds the tuple lock, which names the relation
               coalesce(x.database, tl.database) AS database,
               coalesce(x.relation, tl.relation) AS relation
        FROM waiters w JOIN wait x ON x.pid = w.pid
        LEFT JOIN best b ON b.pid = w.pid
        LEFT JOIN LATERAL (
            SELECT t.database, t.relation FROM locks t
            WHERE x.relation IS NULL AND t.pid = x.raw_pid AND t.locktype = 'tuple' AND t.granted
            LIMIT 1) tl ON true
        UNION ALL
        SELECT DISTINCT c.root, '{}'::integer[], c.root, 0, NULL::timestamptz, NULL, NULL, NULL::oid, NULL::oid
        FROM chain c
        WHERE coalesce(include_blockers, false)
    )
    SELECT r.pid,
           r.blocked_by,
           r.root,
           r.depth,
           r.waitstart,
           CASE WHEN r.waitstart IS NOT NULL
                THEN greatest(0, extract(epoch FROM pg_catalog.clock_timestamp() - r.waitstart))::double precision
           END,
           r.locktype,
           r.mode,
           CASE WHEN r.relation IS NOT NULL THEN
               (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
                FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = r.relation
                  AND r.database IN (0, (SELECT d.oid FROM pg_catalog.pg_database d
                                         WHERE d.datname = pg_catalog.current_database())))
           END,
           a.state,
           a.usename::text,
           a.datname::text,
           a.application_name,
           a.query
    FROM rows r LEFT JOIN act a ON a.pid = r.pid
    ORDER BY r.root NULLS FIRST, r.depth NULLS FIRST, r.waitstart NULLS LAST, r.pid;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_blocking(boolean) IS 'pgmanage: backends waiting on heavyweight locks, with their blockers, root blocker and depth';

-- Every sequence with the column it feeds (identity, serial, or a column
-- DEFAULT nextval()), how far it has gone and where it stops: the smaller
-- of the sequence's maximum and the column type's.
CREATE FUNCTION pgmanage.pgm_sequences(
    OUT schema_name text,
    OUT sequence_name text,
    OUT table_name text,
    OUT column_name text,
    OUT column_type text,
    OUT sequence_type text,
    OUT last_value bigint,
    OUT max_value bigint,
    OUT used_pct numeric,
    OUT increment_by bigint,
    OUT cycle boolean,
    OUT owned_by text)
RETURNS SETOF record
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    seq AS (
        SELECT s.seqrelid, s.seqtypid, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,
               c.relname, n.nspname,
               pg_catalog.has_sequence_privilege(s.seqrelid, 'SELECT,USAGE') AS readable
        FROM pg_catalog.pg_sequence s
        JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT pg_catalog.pg_is_other_temp_schema(n.oid)
    ),
    -- the columns a sequence feeds: its owner (identity 'i', OWNED BY /
    -- serial 'a') and any column whose DEFAULT calls it
    feeds AS (
        SELECT d.objid AS seqrelid, d.refobjid AS relid, d.refobjsubid AS attnum,
               CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'owned' END AS how
        FROM pg_catalog.pg_depend d
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
        UNION
        SELECT d.refobjid, ad.adrelid, ad.adnum, 'default'
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
          AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.deptype = 'n'
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_sequence s WHERE s.seqrelid = d.refobjid)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend o
                          WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = d.refobjid
                            AND o.refobjid = ad.adrelid AND o.refobjsubid = ad.adnum AND o.deptype IN ('a', 'i'))
    ),
    cols AS (
        SELECT f.seqrelid, f.how, tc.relname AS tname, a.attname, a.atttypid, a.atttypmod,
               -- the integer type under a domain
               coalesce(nullif(t.typbasetype, 0), a.atttypid) AS basetype
        FROM feeds f
        JOIN pg_catalog.pg_class tc ON tc.oid = f.relid
        JOIN pg_catalog.pg_attribute a ON a.attrelid = f.relid AND a.attnum = f.attnum AND NOT a.attisdropped
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    ),
    v AS (
        SELECT s.*, c.how, c.tname, c.attname,
               CASE WHEN c.atttypid IS NOT NULL THEN pg_catalog.format_type(c.atttypid, c.atttypmod) END AS coltype,
               CASE WHEN s.readable THEN pg_catalog.pg_sequence_last_value(s.seqrelid) END AS lastval,
               CASE c.basetype WHEN 'pg_catalog.int2'::pg_catalog.regtype THEN 32767
                               WHEN 'pg_catalog.int4'::pg_catalog.regtype THEN 2147483647
                               WHEN 'pg_catalog.int8'::pg_catalog.regtype THEN 9223372036854775807
               END::bigint AS colmax,
               CASE c.basetype WHEN 'pg_catalog.int2'::pg_catalog.regtype THEN -32768
                               WHEN 'pg_catalog.int4'::pg_catalog.regtype THEN -2147483648
                               WHEN 'pg_catalog.int8'::pg_catalog.regtype THEN -9223372036854775808
               END::bigint AS colmin
        FROM seq s LEFT JOIN cols c ON c.seqrelid = s.seqrelid
    ),
    lim AS (
        SELECT v.*,
               CASE WHEN v.seqincrement > 0 THEN least(v.seqmax, coalesce(v.colmax, v.seqmax))
                    ELSE greatest(v.seqmin, coalesce(v.colmin, v.seqmin)) END AS stop,
               CASE WHEN v.seqincrement > 0 THEN v.seqmin ELSE v.seqmax END AS origin
        FROM v
    )
    SELECT l.nspname::text, l.relname::text, l.tname::text, l.attname::text, l.coltype,
           pg_catalog.format_type(l.seqtypid, NULL),
           l.lastval,
           -- the largest value the sequence can give this column
           least(l.seqmax, coalesce(l.colmax, l.seqmax)),
           CASE WHEN NOT l.readable THEN NULL
                WHEN l.lastval IS NULL THEN 0.00
                WHEN l.stop = l.origin THEN 100.00
                ELSE round(least(100, greatest(0, 100.0 * (l.lastval::numeric - l.origin) / (l.stop::numeric - l.origin))), 2)
           END,
           l.seqincrement,
           l.seqcycle,
           l.how
    FROM lim l
    ORDER BY 9 DESC NULLS LAST, 1, 2, 3, 4
$$;
COMMENT ON FUNCTION pgmanage.pgm_sequences() IS 'pgmanage: every sequence, the column it feeds, and how much of the range the column can hold is used';

-- The rules of pg_hba.conf as the file reads now (pg_hba_file_rules), each
-- with a risk and the reasons for it; then password_encryption and the
-- roles whose stored password is not a SCRAM verifier (names only).
-- SECURITY DEFINER: pg_hba_file_rules and pg_authid are for superusers;
-- EXECUTE goes to pg_monitor only (docs/security.md).
CREATE FUNCTION pgmanage.pgm_hba_audit(
    OUT line_number integer,
    OUT type text,
    OUT database text[],
    OUT user_name text[],
    OUT address text,
    OUT netmask text,
    OUT auth_method text,
    OUT risk text,
    OUT reason text)
RETURNS SETOF record
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH
    r AS MATERIALIZED (
        SELECT h.line_number, h.type, h.database, h.user_name, h.address, h.netmask, h.auth_method, h.error,
               h.type IN ('host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc') AS network,
               -- the connection itself is encrypted (TLS or GSSAPI)
               h.type IN ('hostssl', 'hostgssenc') AS encrypted
        FROM pg_catalog.pg_hba_file_rules h
    ),
    -- level: 3 high, 2 medium, 1 low
    f(line_number, level, why) AS (
        SELECT r.line_number, 3, 'the line has an error, so the server keeps the rules it loaded last: ' || r.error
        FROM r WHERE r.error IS NOT NULL
        UNION ALL
        SELECT r.line_number, 3, 'trust over the network: whoever reaches the server connects as these roles without a password'
        FROM r WHERE r.auth_method = 'trust' AND r.network
        UNION ALL
        SELECT r.line_number, 2, 'trust on the local socket: every local OS user connects as these roles without a password'
        FROM r WHERE r.auth_method = 'trust' AND r.type = 'local'
        UNION ALL
        SELECT r.line_number, CASE WHEN r.network AND NOT r.encrypted THEN 3 WHEN r.network THEN 2 ELSE 1 END,
               CASE WHEN r.network AND NOT r.encrypted
                    THEN 'password sends the password in clear text over an unencrypted connection: use scram-sha-256'
                    ELSE 'password sends the password in clear text to the server: use scram-sha-256' END
        FROM r WHERE r.auth_method = 'password'
        UNION ALL
        SELECT r.line_number, 2, 'md5: use scram-sha-256 (SCRAM is available; md5 still lets MD5 password hashes in)'
        FROM r WHERE r.auth_method = 'md5'
        UNION ALL
        SELECT r.line_number, 3, 'ident over the network believes what the client host''s ident server says'
        FROM r WHERE r.auth_method = 'ident' AND r.network
        UNION ALL
        SELECT r.line_number, 2, r.auth_method || ' sends the password in clear text: use hostssl'
        FROM r WHERE r.auth_method IN ('ldap', 'radius', 'pam', 'bsd') AND r.network AND NOT r.encrypted
        UNION ALL
        SELECT r.line_number, 2, 'open to every address (' || CASE WHEN r.address = 'all' THEN 'all' ELSE r.address || '/0' END || ')'
        FROM r WHERE r.network AND r.auth_method <> 'reject' AND r.error IS NULL
          AND (r.address = 'all' OR r.netmask IN ('0.0.0.0', '::'))
        UNION ALL
        SELECT r.line_number, 1, 'every database and every role'
        FROM r WHERE r.network AND r.auth_method <> 'reject' AND r.error IS NULL
          AND 'all' = ANY (r.database) AND 'all' = ANY (r.user_name)
    ),
    lines AS (
        SELECT r.line_number, r.type, r.database, r.user_name, r.address, r.netmask, r.auth_method,
               CASE max(f.level) WHEN 3 THEN 'high' WHEN 2 THEN 'medium' WHEN 1 THEN 'low' ELSE 'ok' END AS risk,
               string_agg(f.why, '; ' ORDER BY f.level DESC, f.why) AS reason
        FROM r LEFT JOIN f ON f.line_number = r.line_number
        GROUP BY r.line_number, r.type, r.database, r.user_name, r.address, r.netmask, r.auth_method
    ),
    setting AS (
        SELECT NULL::integer, 'setting'::text, NULL::text[], NULL::text[], NULL::text, NULL::text,
               pg_catalog.current_setting('password_encryption'),
               CASE WHEN pg_catalog.current_setting('password_encryption') = 'scram-sha-256' THEN 'ok' ELSE 'medium' END,
               CASE WHEN pg_catalog.current_setting('password_encryption') = 'scram-sha-256'
                    THEN 'password_encryption: new passwords are stored as SCRAM verifiers'
                    ELSE 'password_encryption: new passwords are stored as MD5 hashes: set it to scram-sha-256' END
    ),
    -- never the hash itself: only whether it is SCRAM
    roles AS (
        SELECT NULL::integer, 'role'::text, NULL::text[], ARRAY[a.rolname::text], NULL::text, NULL::text,
               CASE WHEN a.rolpassword LIKE 'md5%' THEN 'md5' ELSE 'plain' END,
               CASE WHEN a.rolpassword LIKE 'md5%' THEN 'medium' ELSE 'high' END,
               CASE WHEN a.rolpassword LIKE 'md5%'
                    THEN 'the stored password is an MD5 hash: set it again under password_encryption = scram-sha-256'
                    ELSE 'the stored password is not hashed: set it again under password_encryption = scram-sha-256' END
               || CASE WHEN a.rolcanlogin THEN '' ELSE ' (the role has NOLOGIN)' END
        FROM pg_catalog.pg_authid a
        WHERE a.rolpassword IS NOT NULL AND a.rolpassword NOT LIKE 'SCRAM-SHA-256$%'
    )
    SELECT * FROM (
        SELECT * FROM lines
        UNION ALL SELECT * FROM setting
        UNION ALL SELECT * FROM roles
    ) x
    ORDER BY x.line_number NULLS LAST, x.type DESC, x.user_name
$$;
COMMENT ON FUNCTION pgmanage.pgm_hba_audit() IS 'pgmanage: pg_hba.conf rules with a risk and its reasons, password_encryption and roles whose stored password is not SCRAM';

-- Before a major upgrade: what pg_upgrade (the rules of its check.c) would
-- refuse, and what a DBA must handle by hand, one row per finding.
-- Columns, types and extensions are the current database's: run it in
-- each database.  target_version: the major version to upgrade to (NULL:
-- every check that applies to some later version).
CREATE FUNCTION pgmanage.pgm_upgrade_check(
    target_version integer DEFAULT NULL,
    OUT finding text,
    OUT object text,
    OUT detail text,
    OUT fix text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur integer := pg_catalog.current_setting('server_version_num')::integer / 10000;
    tgt integer := target_version;
    tgt_name text;
BEGIN
    IF tgt IS NOT NULL AND (tgt < 10 OR tgt > 99) THEN
        RAISE EXCEPTION 'target_version must be a major version number, not %', tgt
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the major version only: 17, not 170000 or 17.2.';
    END IF;
    IF tgt IS NOT NULL AND tgt <= cur THEN
        RAISE EXCEPTION 'target_version % is not later than this server''s major version %', tgt, cur
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'pg_upgrade goes to a later major version only.';
    END IF;
    tgt_name := coalesce('PostgreSQL ' || tgt, 'the new version');
    tgt := coalesce(tgt, 99);

    -- pg_upgrade refuses prepared transactions (cluster-wide)
    RETURN QUERY
    SELECT 'prepared_transaction', p.gid,
           pg_catalog.format('prepared at %s by %s in database %s', p.prepared, p.owner, p.database),
           pg_catalog.format('COMMIT PREPARED %L (or ROLLBACK PREPARED %L), in database %I', p.gid, p.gid, p.database)
    FROM pg_catalog.pg_prepared_xacts p
    ORDER BY p.prepared;

    -- stored columns whose type is (or contains, through a domain, array,
    -- composite or range) a type pg_upgrade cannot carry over: tables,
    -- materialized views and indexes, as check.c's data type checks
    RETURN QUERY
    WITH RECURSIVE base(typid, finding, why) AS (
        SELECT t.oid, 'reg_column'::text,
               'type ' || t.typname || ' stores OIDs that pg_upgrade does not preserve (only regclass, regrole and regtype are allowed)'
        FROM pg_catalog.pg_type t
        WHERE t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
          AND t.typname IN ('regcollation', 'regconfig', 'regdictionary', 'regnamespace',
                            'regoper', 'regoperator', 'regproc', 'regprocedure')
        UNION ALL
        SELECT t.oid, 'system_composite_column',
               'system composite type ' || pg_catalog.format_type(t.oid, NULL) || ': its OID is not stable across versions'
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'c' AND (t.oid < 16384 OR n.nspname = 'information_schema')
        UNION ALL
        -- PostgreSQL 16 changed aclitem's on-disk format
        SELECT 'pg_catalog.aclitem'::pg_catalog.regtype, 'aclitem_column',
               'aclitem changed its on-disk format in PostgreSQL 16'
        WHERE cur < 16 AND tgt >= 16
        UNION ALL
        -- pg_upgrade refuses it only from 11 and older (its storage changed
        -- in 12); information_schema types are no stable interface for data
        SELECT 'information_schema.sql_identifier'::pg_catalog.regtype, 'sql_identifier_column',
               'pg_upgrade refused it when its storage changed in PostgreSQL 12, '
               || 'and information_schema''s types are not meant for stored data'
    ),
    types(typid, finding, why) AS (
        SELECT * FROM base
        UNION
        SELECT c.typid, x.finding, x.why
        FROM types x, LATERAL (
            SELECT t.oid AS typid FROM pg_catalog.pg_type t WHERE t.typtype = 'd' AND t.typbasetype = x.typid
            UNION ALL
            SELECT t.oid FROM pg_catalog.pg_type t WHERE t.typtype = 'b' AND t.typelem = x.typid
            UNION ALL
            SELECT t.oid FROM pg_catalog.pg_type t
            JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped AND a.attnum > 0
            WHERE t.typtype = 'c' AND a.atttypid = x.typid
            UNION ALL
            SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngsubtype = x.typid
            UNION ALL
            SELECT r.rngmultitypid FROM pg_catalog.pg_range r WHERE r.rngtypid = x.typid
        ) c
    )
    SELECT DISTINCT ON (c.oid, a.attnum, ty.finding)
           ty.finding,
           pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname),
           CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'm' THEN 'materialized view' ELSE 'index' END
           || ' column of type ' || pg_catalog.format_type(a.atttypid, a.atttypmod) || ': ' || ty.why,
           CASE WHEN c.relkind IN ('r', 'p')
                THEN pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE text USING %I::text',
                                       n.nspname, c.relname, a.attname, a.attname)
                WHEN c.relkind = 'm'
                THEN pg_catalog.format('DROP MATERIALIZED VIEW %I.%I, then create it again without the column', n.nspname, c.relname)
                ELSE pg_catalog.format('DROP INDEX %I.%I, then create it again after the upgrade', n.nspname, c.relname)
           END
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN types ty ON ty.typid = a.atttypid
    WHERE NOT a.attisdropped AND a.attnum > 0
      AND c.relkind IN ('r', 'p', 'm', 'i')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_temp_' AND n.nspname !~ '^pg_toast_temp_'
    ORDER BY c.oid, a.attnum, ty.finding;

    -- before 18 a child could lack its parent's NOT NULL; 18's schema
    -- restore fails on it (pg_upgrade checks it for every older version)
    IF cur < 18 AND tgt >= 18 THEN
        RETURN QUERY
        SELECT 'not_null_inheritance',
               pg_catalog.format('%I.%I.%I', n.nspname, cc.relname, ac.attname),
               pg_catalog.format('the parent %s has this column NOT NULL, the child does not: restoring the schema into %s fails',
                                 i.inhparent::pg_catalog.regclass, tgt_name),
               pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I SET NOT NULL', n.nspname, cc.relname, ac.attname)
        FROM pg_catalog.pg_inherits i
        JOIN pg_catalog.pg_attribute ac ON ac.attrelid = i.inhrelid
        JOIN pg_catalog.pg_attribute ap ON ap.attrelid = i.inhparent AND ap.attname = ac.attname
        JOIN pg_catalog.pg_class cc ON cc.oid = i.inhrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = cc.relnamespace
        WHERE ap.attnum > 0 AND ap.attnotnull AND NOT ac.attnotnull AND NOT ac.attisdropped
          AND cc.relkind IN ('r', 'p', 'f')
        ORDER BY 2;
    END IF;

    -- databases: all but template0 must allow connections, template0 must not;
    -- a half-dropped database (an interrupted DROP DATABASE) must go
    RETURN QUERY
    SELECT 'database_connections', d.datname::text,
           CASE WHEN d.datname = 'template0' THEN 'template0 allows connections: restoring the global objects fails'
                ELSE 'the database does not allow connections, so pg_upgrade cannot carry it over' END,
           pg_catalog.format('ALTER DATABASE %I ALLOW_CONNECTIONS %s', d.datname,
                             CASE WHEN d.datname = 'template0' THEN 'false' ELSE 'true' END)
    FROM pg_catalog.pg_database d
    WHERE d.datconnlimit <> -2 AND (d.datallowconn = (d.datname = 'template0'))
    UNION ALL
    SELECT 'invalid_database', d.datname::text,
           'an interrupted DROP DATABASE left it invalid: it cannot be connected to or upgraded',
           pg_catalog.format('DROP DATABASE %I', d.datname)
    FROM pg_catalog.pg_database d
    WHERE d.datconnlimit = -2
    ORDER BY 2;

    -- replication slots: physical ones are never carried over; logical ones
    -- only from PostgreSQL 17 on, and only when valid and caught up
    RETURN QUERY
    SELECT CASE s.slot_type WHEN 'physical' THEN 'physical_slot' ELSE 'logical_slot' END,
           s.slot_name::text,
           CASE WHEN s.slot_type = 'physical'
                THEN 'pg_upgrade does not carry physical slots over: standbys must be rebuilt (or resynchronized as pg_upgrade''s documentation says) and the slot made again'
                WHEN cur < 17
                THEN pg_catalog.format('pg_upgrade from PostgreSQL %s does not carry logical slots over (only from 17 on): '
                                       'the slot (plugin %s, database %s) is lost, so its subscriber must be resynchronized',
                                       cur, s.plugin, s.database)
                WHEN s.wal_status = 'lost'
                THEN 'the slot is invalid (its WAL is gone): pg_upgrade refuses it'
                ELSE pg_catalog.format('pg_upgrade carries it over only if it has consumed all WAL when the server stops; '
                                       '%s needs wal_level = logical and max_replication_slots at least the number of logical slots', tgt_name)
           END,
           CASE WHEN s.slot_type = 'physical'
                THEN pg_catalog.format('SELECT pg_create_physical_replication_slot(%L) on the new cluster, then rebuild the standby', s.slot_name)
                WHEN cur < 17 OR s.wal_status = 'lost'
                THEN pg_catalog.format('SELECT pg_drop_replication_slot(%L), and make it again after the upgrade', s.slot_name)
                ELSE 'stop writes and let the consumer catch up before stopping the server'
           END
    FROM pg_catalog.pg_replication_slots s
    WHERE NOT s.temporary
    ORDER BY 1, 2;

    -- extensions: updates to apply first, files missing, and libraries the
    -- new server must have (pg_upgrade checks that each one loads)
    RETURN QUERY
    SELECT 'extension_update', e.extname::text,
           pg_catalog.format('installed %s, available %s: update it before the upgrade (pg_upgrade keeps the installed version)',
                             e.extversion, a.default_version),
           pg_catalog.format('ALTER EXTENSION %I UPDATE', e.extname)
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
    WHERE a.default_version IS DISTINCT FROM e.extversion
      AND EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions v
                  WHERE v.name = e.extname AND v.version = a.default_version)
    UNION ALL
    SELECT 'extension_not_available', e.extname::text,
           pg_catalog.format('installed %s, but this server has no script for that version (the package was changed or removed)',
                             e.extversion),
           'install the extension''s package again, here and on the new server'
    FROM pg_catalog.pg_extension e
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extension_versions v
                      WHERE v.name = e.extname AND v.version = e.extversion)
    UNION ALL
    SELECT 'extension_library', e.extname::text,
           pg_catalog.format('version %s; %s must load %s', e.extversion, tgt_name,
                             string_agg(DISTINCT p.probin, ', ' ORDER BY p.probin)),
           pg_catalog.format('install %s built for %s on the new server before running pg_upgrade', e.extname, tgt_name)
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
         AND d.refobjid = e.oid AND d.deptype = 'e' AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    JOIN pg_catalog.pg_proc p ON p.oid = d.objid AND p.probin IS NOT NULL
    WHERE e.extname <> 'plpgsql'
    GROUP BY e.extname, e.extversion
    UNION ALL
    SELECT 'loadable_library', p.oid::pg_catalog.regprocedure::text,
           pg_catalog.format('a C function of no extension: %s must load %s', tgt_name, p.probin),
           pg_catalog.format('install %s built for %s on the new server', p.probin, tgt_name)
    FROM pg_catalog.pg_proc p
    WHERE p.probin IS NOT NULL AND p.oid >= 16384
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')
    ORDER BY 1, 2;

    -- initdb enables data checksums by default from 18 on, and pg_upgrade
    -- needs the same setting on both clusters
    IF cur < 18 AND tgt >= 18 AND pg_catalog.current_setting('data_checksums') = 'off' THEN
        RETURN QUERY
        SELECT 'data_checksums', 'data_checksums',
               pg_catalog.format('this cluster has no data checksums, and initdb of %s enables them unless told not to; pg_upgrade needs both the same', tgt_name),
               'initdb --no-data-checksums for the new cluster (or pg_checksums --enable here, server stopped)';
    END IF;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_upgrade_check(integer) IS 'pgmanage: what pg_upgrade would refuse, or a DBA must handle, before a major upgrade';

-- Privileges.  pgm_blocking shows only what pg_stat_activity and pg_locks
-- show the caller, so any role with USAGE on the schema may call it; the
-- reports go to pg_read_all_stats (and so pg_monitor); pgm_hba_audit reads
-- superuser-only catalogs as its owner, so only pg_monitor gets it.
REVOKE ALL ON FUNCTION pgmanage.pgm_sequences() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_hba_audit() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_upgrade_check(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_sequences() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_hba_audit() TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_upgrade_check(integer) TO pg_read_all_stats;
