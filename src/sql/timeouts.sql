/* timeouts: pgm_kill_long (1.0), timeout policies enforced by the launcher and the kill log (1.1) */

-- Cancel (or terminate) statements running longer than max_duration.
CREATE FUNCTION pgmanage.pgm_kill_long(
    max_duration interval,
    action text DEFAULT 'cancel',
    include_idle_in_transaction boolean DEFAULT false,
    dry_run boolean DEFAULT false,
    OUT pid integer,
    OUT role_name text,
    OUT database_name text,
    OUT application_name text,
    OUT client_addr inet,
    OUT state text,
    OUT duration interval,
    OUT query text,
    OUT query_id bigint,
    OUT action_taken text,
    OUT signalled boolean,
    OUT reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgm_kill_long'
LANGUAGE C VOLATILE;

-- What sessions a policy matches (NULL: any) and the limits it sets.
CREATE TABLE pgmanage.pgm_timeout_policy (
    id serial PRIMARY KEY,
    role_name name
        CONSTRAINT pgm_timeout_policy_role_name_not_empty CHECK (role_name <> ''),
    database_name name
        CONSTRAINT pgm_timeout_policy_database_name_not_empty CHECK (database_name <> ''),
    application_name text
        CONSTRAINT pgm_timeout_policy_application_name_pattern CHECK (application_name <> '' AND octet_length(application_name) < 64),
    client_addr cidr,
    statement_timeout interval
        CONSTRAINT pgm_timeout_policy_statement_timeout_positive CHECK (statement_timeout > interval '0')
        CONSTRAINT pgm_timeout_policy_statement_timeout_max_100_years CHECK (statement_timeout <= interval '100 years'),
    idle_in_transaction_timeout interval
        CONSTRAINT pgm_timeout_policy_idle_in_transaction_timeout_positive CHECK (idle_in_transaction_timeout > interval '0')
        CONSTRAINT pgm_timeout_policy_idle_in_transaction_timeout_max_100_years CHECK (idle_in_transaction_timeout <= interval '100 years'),
    transaction_timeout interval
        CONSTRAINT pgm_timeout_policy_transaction_timeout_positive CHECK (transaction_timeout > interval '0')
        CONSTRAINT pgm_timeout_policy_transaction_timeout_max_100_years CHECK (transaction_timeout <= interval '100 years'),
    action text NOT NULL DEFAULT 'cancel'
        CONSTRAINT pgm_timeout_policy_action_valid CHECK (action IN ('cancel', 'terminate')),
    exempt_superusers boolean NOT NULL DEFAULT true,
    enabled boolean NOT NULL DEFAULT true,
    comment text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pgm_timeout_policy_has_a_limit
        CHECK (statement_timeout IS NOT NULL OR idle_in_transaction_timeout IS NOT NULL
               OR transaction_timeout IS NOT NULL)
);
COMMENT ON TABLE pgmanage.pgm_timeout_policy IS 'pgmanage: statement, idle-in-transaction and transaction limits enforced by the launcher';

-- Wake the worker at COMMIT so a change applies at once.
CREATE FUNCTION pgmanage.pgm_policy_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_policy_changed' LANGUAGE C;
COMMENT ON FUNCTION pgmanage.pgm_policy_changed() IS 'pgmanage (internal): trigger on pgm_timeout_policy, wakes the worker at COMMIT';
CREATE TRIGGER pgm_timeout_policy_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgmanage.pgm_timeout_policy
    FOR EACH STATEMENT EXECUTE FUNCTION pgmanage.pgm_policy_changed();

-- The launcher enforces at most 256 enabled policies (PGM_MAX_POLICIES in
-- src/timeouts/timeouts.h): the 257th is refused here, not ignored later.
-- A policy naming a role or database that does not exist (yet) is
-- accepted, with a NOTICE: it applies once the name exists.
-- Inserts that enable a policy are serialized (an advisory lock on the
-- table's OID), so two sessions cannot both take the last place.
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
    IF NEW.role_name OPERATOR(pg_catalog.<>) ''
       AND (TG_OP = 'INSERT' OR NEW.role_name IS DISTINCT FROM OLD.role_name)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                       WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role_name) THEN
        RAISE NOTICE 'role "%" does not exist', NEW.role_name
            USING DETAIL = 'The policy is kept; it applies to the role''s sessions once the role exists.',
                  HINT = 'Check the name (see pg_roles), or create the role.';
    END IF;
    IF NEW.database_name OPERATOR(pg_catalog.<>) ''
       AND (TG_OP = 'INSERT' OR NEW.database_name IS DISTINCT FROM OLD.database_name)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d
                       WHERE d.datname OPERATOR(pg_catalog.=) NEW.database_name) THEN
        RAISE NOTICE 'database "%" does not exist', NEW.database_name
            USING DETAIL = 'The policy is kept; it applies to the database''s sessions once the database exists.',
                  HINT = 'Check the name (see pg_database), or create the database.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pgmanage.pgm_policy_check() IS 'pgmanage (internal): trigger on pgm_timeout_policy, refuses a 257th enabled policy, NOTICE for a role or database that does not exist';
CREATE TRIGGER pgm_timeout_policy_check
    BEFORE INSERT OR UPDATE OF enabled, role_name, database_name ON pgmanage.pgm_timeout_policy
    FOR EACH ROW EXECUTE FUNCTION pgmanage.pgm_policy_check();

-- Every cancel and terminate, by a policy or by pgm_kill_long().
CREATE TABLE pgmanage.pgm_kill_log (
    id bigserial PRIMARY KEY,
    logged_at timestamptz NOT NULL,
    pid integer NOT NULL,
    role_name text,
    database_name text,
    application_name text,
    client_addr inet,
    state text,
    duration interval,
    query text,
    query_id bigint,
    policy_id integer,
    limit_kind text NOT NULL,
    action text NOT NULL,
    succeeded boolean NOT NULL,
    detail text,
    source text NOT NULL
);
CREATE INDEX pgm_kill_log_logged_at ON pgmanage.pgm_kill_log (logged_at);
COMMENT ON TABLE pgmanage.pgm_kill_log IS 'pgmanage: statements cancelled and sessions terminated; pruned after pgmanage.kill_log_retention';

-- policies are configuration: pg_dump keeps them (the kill log is history: not dumped)
SELECT pg_catalog.pg_extension_config_dump('pgmanage.pgm_timeout_policy', '');
SELECT pg_catalog.pg_extension_config_dump('pgmanage.pgm_timeout_policy_id_seq', '');

-- Privileges: killing for pg_signal_backend; policies and the log readable
-- by pg_read_all_stats; nothing for PUBLIC.
REVOKE ALL ON FUNCTION pgmanage.pgm_kill_long(interval, text, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgmanage.pgm_kill_long(interval, text, boolean, boolean) TO pg_signal_backend;
REVOKE ALL ON pgmanage.pgm_timeout_policy, pgmanage.pgm_kill_log FROM PUBLIC;
GRANT SELECT ON pgmanage.pgm_timeout_policy TO pg_read_all_stats;
GRANT SELECT ON pgmanage.pgm_kill_log TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgmanage.pgm_policy_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgmanage.pgm_policy_check() FROM PUBLIC;
