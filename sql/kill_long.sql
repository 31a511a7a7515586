-- pgm_kill_long(): argument checks and what it leaves alone.
-- (Signalling other sessions is tested in test/t/001_kill_long.pl.)
SELECT * FROM pgm_kill_long(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_kill_long('0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_kill_long('-5 minutes');
\echo :LAST_ERROR_SQLSTATE
-- an interval beyond 64-bit microseconds is too large, not "not positive"
SELECT * FROM pgm_kill_long('1000000 years');
\echo :SQLSTATE
SELECT * FROM pgm_kill_long('2147483647 days');
\echo :SQLSTATE
SELECT * FROM pgm_kill_long('1 minute', 'explode');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_kill_long('1 minute', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pgm_kill_long('1 minute', dry_run => NULL);
\echo :LAST_ERROR_SQLSTATE
-- columns and types
SELECT * FROM pgm_kill_long('1 day', dry_run => true) LIMIT 0;
-- its own backend is over a 1 microsecond limit, and left alone
SELECT signalled, reason FROM pgm_kill_long('1 microsecond', 'terminate', true)
WHERE pid = pg_backend_pid();
SELECT 'still connected' AS alive;
