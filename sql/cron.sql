-- pgm_cron_next(): the cron parser and the time zones, through SQL.
-- Every instant is fixed; output is shown in the zone being tested.
SET TimeZone = 'UTC';

-- valid expressions: the next three fire times after 2024-01-30 23:59:30 UTC
SELECT e AS schedule, string_agg(to_char(t, 'YYYY-MM-DD HH24:MI Dy'), ', ' ORDER BY t) AS next_three
FROM (VALUES ('* * * * *'), ('*/15 * * * *'), ('0 * * * *'), ('30 2 * * *'), ('0 0 * * mon'),
             ('0 0 1 * *'), ('@hourly'), ('@daily'), ('@midnight'), ('@weekly'), ('@monthly'),
             ('@yearly'), ('@annually'), ('1-10/3 4 * * *'), ('0 9-17/4 * * mon-fri'),
             ('0 0 13 * fri'), ('0 0 */10 * *'), ('0 12 * jan,jul *'), ('15 10 * * sun'),
             ('0 0 * * 7'), ('0 0 * * fri-sun'), ('5,10 0 * * *'), ('0 0 * * 1-5/2'),
             ('every 10 minutes'), ('every 1 minute'), ('every 5 hours'), ('every 7 days'),
             ('EVERY 2 HOURS'), ('  0   0  *  *  *  '), ('0 0 1 JAN *'), ('0 0 * * SUN'))
     AS v(e), LATERAL pgm_cron_next(e, '2024-01-30 23:59:30+00', 3, 'UTC') t
GROUP BY e ORDER BY e;

-- month ends and leap years
SELECT e AS schedule, string_agg(to_char(t, 'YYYY-MM-DD'), ', ' ORDER BY t) AS next_four
FROM (VALUES ('0 0 31 * *'), ('0 0 30 * *'), ('0 0 29 2 *'), ('0 0 28-31 2 *'),
             ('0 0 29 * *'), ('0 0 31 4,6,9,11,12 *'))
     AS v(e), LATERAL pgm_cron_next(e, '2023-12-31 12:00+00', 4, 'UTC') t
GROUP BY e ORDER BY e;

-- strictly after: an instant on a slot gives the next slot; fractions of a second round down
SELECT pgm_cron_next('0 * * * *', '2024-05-01 10:00:00+00', 1, 'UTC') AS on_slot,
       pgm_cron_next('0 * * * *', '2024-05-01 09:59:59.999+00', 1, 'UTC') AS just_before;

-- nothing after year 9999: fewer rows than asked
SELECT count(*) FROM pgm_cron_next('0 0 1 1 *', '9997-06-01+00', 5, 'UTC');

-- DST in Europe/Berlin: spring forward 2024-03-31 02:00 -> 03:00 (CET -> CEST)
SET TimeZone = 'Europe/Berlin';
-- fixed time in the gap fires once at the end of the gap
SELECT t FROM pgm_cron_next('30 2 * * *', '2024-03-29 12:00+01', 4, 'Europe/Berlin') t;
-- several gap minutes collapse into one firing
SELECT t FROM pgm_cron_next('*/20 2 * * *', '2024-03-31 00:00+01', 4, 'Europe/Berlin') t;
-- hourly schedules have no slot in the gap
SELECT t FROM pgm_cron_next('30 * * * *', '2024-03-31 00:00+01', 4, 'Europe/Berlin') t;
-- fall back 2024-10-27 03:00 -> 02:00: fixed time fires once, at the first 02:30
SELECT t FROM pgm_cron_next('30 2 * * *', '2024-10-26 12:00+02', 3, 'Europe/Berlin') t;
-- hourly schedules fire at both 02:30s
SELECT t FROM pgm_cron_next('30 * * * *', '2024-10-27 00:00+02', 5, 'Europe/Berlin') t;
-- daily at midnight across both changes: always local midnight
SELECT to_char(t, 'YYYY-MM-DD HH24:MI TZ') FROM pgm_cron_next('@daily', '2024-03-30 12:00+01', 3, 'Europe/Berlin') t;
SELECT to_char(t, 'YYYY-MM-DD HH24:MI TZ') FROM pgm_cron_next('@daily', '2024-10-26 12:00+02', 3, 'Europe/Berlin') t;
-- interval schedules ignore the zone: every 2 hours stays on the UTC grid
SELECT t FROM pgm_cron_next('every 2 hours', '2024-03-31 00:30+01', 3, 'Europe/Berlin') t;

-- DST in America/New_York (2024-03-10 02:00 -> 03:00, 2024-11-03 02:00 -> 01:00)
SET TimeZone = 'America/New_York';
SELECT t FROM pgm_cron_next('0 2 * * *', '2024-03-09 12:00-05', 3, 'America/New_York') t;
SELECT t FROM pgm_cron_next('30 1 * * *', '2024-11-02 12:00-04', 3, 'America/New_York') t;
-- the same schedule in another zone gives other instants
SET TimeZone = 'UTC';
SELECT z, pgm_cron_next('0 12 * * *', '2024-06-01 00:00+00', 1, z) AS noon
FROM (VALUES ('UTC'), ('Europe/Berlin'), ('Asia/Kolkata'), ('America/New_York'), ('Pacific/Chatham')) v(z)
ORDER BY 2;

-- default zone: pgmanage.timezone, empty by default, means log_timezone
SHOW pgmanage.timezone;
SELECT pgm_cron_next('30 2 * * *', '2024-03-29 12:00+00', 2)
     = pgm_cron_next('30 2 * * *', '2024-03-29 12:00+00', 2, current_setting('log_timezone')) AS same_as_log_timezone;

-- invalid expressions: 22023 and a message naming the field
DO $$
DECLARE
    e text;
BEGIN
    FOREACH e IN ARRAY ARRAY['', '   ', '* * * *', '* * * * * *', '61 * * * *', '* 24 * * *',
        '* * 0 * *', '* * 32 * *', '* * * 13 *', '* * * 0 *', '* * * * 8', '*/0 * * * *',
        '*/61 * * * *', '5-1 * * * *', '1-2-3 * * * *', 'a * * * *', '* * * foo *', '* * * * mon-',
        '1,,2 * * * *', ',1 * * * *', '0 0 30 2 *', '0 0 31 4,6 *', '@reboot', '@often',
        'every 0 minutes', 'every 525601 minutes', 'every 8761 hours', 'every 366 days',
        'every 10 seconds', 'every ten minutes', 'every 10', '0 0 * * sun-mon',
        '99999999999999999999 * * * *', E'0 0 \x01 * *']
    LOOP
        BEGIN
            PERFORM pgm_cron_next(e);
            RAISE NOTICE '% -> accepted', quote_literal(e);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% -> % %', quote_literal(e), SQLSTATE, SQLERRM;
        END;
    END LOOP;
END
$$;

-- other arguments
SELECT pgm_cron_next(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_cron_next('* * * * *', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_cron_next('* * * * *', now(), 0);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_cron_next('* * * * *', now(), 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT pgm_cron_next('* * * * *', now(), 1, 'Mars/Olympus_Mons');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgm_cron_next('* * * * *', now(), 1000);
RESET TimeZone;
