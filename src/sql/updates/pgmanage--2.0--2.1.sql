-- pgmanage 2.0 -> 2.1: changes only (the full definitions are in src/sql/<capability>.sql;
-- the upgrade tests compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1).
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit

-- ==== lock-wait limits in timeout policies (issue 14, item 2)
-- A statement waiting on a heavyweight lock longer than lock_wait_timeout is
-- cancelled by the launcher; after cancel_blockers_after, the sessions it
-- waits for are (for policies that opt in).  Added at the end of the table,
-- in the same order as src/sql/timeouts.sql.
ALTER TABLE pgmanage.pgm_timeout_policy
    ADD COLUMN lock_wait_timeout interval
        CONSTRAINT pgm_timeout_policy_lock_wait_timeout_positive CHECK (lock_wait_timeout > interval '0')
        CONSTRAINT pgm_timeout_policy_lock_wait_timeout_max_100_years CHECK (lock_wait_timeout <= interval '100 years'),
    ADD COLUMN cancel_blockers_after interval
        CONSTRAINT pgm_timeout_policy_cancel_blockers_after_positive CHECK (cancel_blockers_after > interval '0')
        CONSTRAINT pgm_timeout_policy_cancel_blockers_after_max_100_years CHECK (cancel_blockers_after <= interval '100 years'),
    ADD CONSTRAINT pgm_timeout_policy_cancel_blockers_before_lock_wait
        CHECK (cancel_blockers_after < lock_wait_timeout),
    DROP CONSTRAINT pgm_timeout_policy_has_a_limit,
    ADD CONSTRAINT pgm_timeout_policy_has_a_limit
        CHECK (statement_timeout IS NOT NULL OR idle_in_transaction_timeout IS NOT NULL
               OR transaction_timeout IS NOT NULL OR lock_wait_timeout IS NOT NULL
               OR cancel_blockers_after IS NOT NULL);
COMMENT ON TABLE pgmanage.pgm_timeout_policy IS 'pgmanage: statement, idle-in-transaction, transaction and lock-wait limits enforced by the launcher';
