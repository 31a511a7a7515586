/* pgmanage 1.1: timeout policies enforced by the launcher, the kill log, pgm_status() */

\echo Use "ALTER EXTENSION pgmanage UPDATE TO '1.1'" to load this file. \quit

-- What sessions a policy matches (NULL: any) and the limits it sets.
CREATE TABLE pgm_timeout_policy (
    id serial PRIMARY KEY,
    role_name name
        CONSTRAINT pgm_timeout_policy_role_name_not_empty CHECK (role_name <> ''),
    database_name name
        CONSTRAINT pgm_timeout_policy_database_name_not_empty CHECK (database_name <> ''),
    application_name text
        CONSTRAINT pgm_timeout_policy_application_name_pattern CHECK (application_name <> '' AND octet_length(application_name) < 64),
    client_addr cidr,
    statement_timeout interval
        CONSTRAINT pgm_timeout_policy_statement_timeout_positive CHECK (statement_timeout > interval '0'),
    idle_in_transaction_timeout interval
        CONSTRAINT pgm_timeout_policy_idle_in_transaction_timeout_positive CHECK (idle_in_transaction_timeout > interval '0'),
    transaction_timeout interval
        CONSTRAINT pgm_timeout_policy_transaction_timeout_positive CHECK (transaction_timeout > interval '0'),
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
COMMENT ON TABLE pgm_timeout_policy IS 'pgmanage: statement, idle-in-transaction and transaction limits enforced by the launcher';

-- Wake the worker at COMMIT so a change applies at once.
CREATE FUNCTION pgm_policy_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgm_policy_changed' LANGUAGE C;
CREATE TRIGGER pgm_timeout_policy_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgm_timeout_policy
    FOR EACH STATEMENT EXECUTE FUNCTION pgm_policy_changed();

-- Every cancel and terminate, by a policy or by pgm_kill_long().
CREATE TABLE pgm_kill_log (
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
CREATE INDEX pgm_kill_log_logged_at ON pgm_kill_log (logged_at);
COMMENT ON TABLE pgm_kill_log IS 'pgmanage: statements cancelled and sessions terminated; pruned after pgmanage.kill_log_retention';

CREATE FUNCTION pgm_status(
    OUT process text,
    OUT pid integer,
    OUT started_at timestamptz,
    OUT database_name text,
    OUT server_role text,
    OUT last_wake timestamptz,
    OUT next_deadline timestamptz,
    OUT policies_loaded integer,
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

-- policies are configuration: pg_dump keeps them
SELECT pg_catalog.pg_extension_config_dump('pgm_timeout_policy', '');
SELECT pg_catalog.pg_extension_config_dump('pgm_timeout_policy_id_seq', '');

REVOKE ALL ON pgm_timeout_policy, pgm_kill_log FROM PUBLIC;
GRANT SELECT ON pgm_timeout_policy TO pg_read_all_stats;
GRANT SELECT ON pgm_kill_log TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgm_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgm_status() TO pg_read_all_stats;
REVOKE ALL ON FUNCTION pgm_policy_changed() FROM PUBLIC;
