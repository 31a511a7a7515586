-- pgm_timeout_policy: plain INSERT/UPDATE/DELETE, nonsense refused.
-- (Enforcement is tested with several sessions in test/t/010_timeout_policy.pl.)
\d pgm_timeout_policy
-- valid policies
INSERT INTO pgm_timeout_policy (role_name, statement_timeout, comment)
VALUES ('nobody_here', '5 minutes', 'reports may run 5 minutes');
INSERT INTO pgm_timeout_policy (application_name, client_addr, idle_in_transaction_timeout, action, enabled)
VALUES ('batch-%', '10.0.0.0/8', '30 seconds', 'terminate', false);
SELECT id, role_name, database_name, application_name, client_addr, statement_timeout,
       idle_in_transaction_timeout, transaction_timeout, action, exempt_superusers, enabled
FROM pgm_timeout_policy ORDER BY id;
-- a role or database that does not exist is kept, with a NOTICE (above for
-- the role 'nobody_here'); none for names that exist or did not change
UPDATE pgm_timeout_policy SET database_name = 'no_such_db' WHERE role_name = 'nobody_here';
UPDATE pgm_timeout_policy SET comment = 'still a report limit' WHERE role_name = 'nobody_here';
UPDATE pgm_timeout_policy SET database_name = current_database() WHERE role_name = 'nobody_here';
UPDATE pgm_timeout_policy SET database_name = NULL WHERE role_name = 'nobody_here';
BEGIN;
INSERT INTO pgm_timeout_policy (role_name, database_name, statement_timeout)
VALUES (current_user, current_database(), '1 hour');
ROLLBACK;
-- nonsense, each refused with 23514 (check_violation) and a constraint that says why
\set VERBOSITY terse
INSERT INTO pgm_timeout_policy (statement_timeout) VALUES ('0 seconds');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (statement_timeout) VALUES ('-1 minute');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (idle_in_transaction_timeout) VALUES ('-5 seconds');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (transaction_timeout) VALUES ('0');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (statement_timeout, action) VALUES ('1 minute', 'explode');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('', '1 minute');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (role_name, statement_timeout) VALUES ('', '1 minute');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (database_name, statement_timeout) VALUES ('', '1 minute');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (role_name) VALUES ('app');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (client_addr, statement_timeout) VALUES ('not an address', '1 minute');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO pgm_timeout_policy (statement_timeout, action) VALUES ('1 minute', NULL);
\echo :LAST_ERROR_SQLSTATE
UPDATE pgm_timeout_policy SET statement_timeout = '-1 second' WHERE role_name = 'nobody_here';
\echo :LAST_ERROR_SQLSTATE
-- limits beyond 100 years are refused: they cannot be represented (and a
-- row that could not be loaded would once have disabled every policy)
INSERT INTO pgm_timeout_policy (statement_timeout) VALUES ('300000 years');
\echo :SQLSTATE
INSERT INTO pgm_timeout_policy (idle_in_transaction_timeout) VALUES ('101 years');
\echo :SQLSTATE
INSERT INTO pgm_timeout_policy (transaction_timeout) VALUES ('2147483647 days');
\echo :SQLSTATE
UPDATE pgm_timeout_policy SET statement_timeout = '1000 years' WHERE role_name = 'nobody_here';
\echo :SQLSTATE
INSERT INTO pgm_timeout_policy (statement_timeout, enabled) VALUES ('100 years', false);
\echo :SQLSTATE
\set VERBOSITY default
-- nothing stored was lost
SELECT count(*) FROM pgm_timeout_policy;
DELETE FROM pgm_timeout_policy;
-- pgm_kill_log: its columns
\d pgm_kill_log
