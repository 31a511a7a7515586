/*-------------------------------------------------------------------------
 * jobs/schedule.c
 *		The server side of cron schedules: PostgreSQL time zones plugged
 *		into the pure-C parser of cron.c, and pgm_cron_next().
 *
 * Schedules are evaluated in pgmanage.timezone, or, when that is empty
 * (the default), in the server's log_timezone.  log_timezone rather than
 * TimeZone because it is the same in every session (it is set in
 * postgresql.conf only, never by SET, ALTER ROLE or ALTER DATABASE), so
 * the next fire time a DBA computes with pgm_cron_next() is the one the
 * scheduler uses.  Interval schedules ("every 10 minutes") do not depend
 * on the zone at all (see cron.h).
 *
 * Conversions: a TimestampTz (microseconds since 2000-01-01 UTC) becomes
 * whole seconds since the Unix epoch, rounded down, so "strictly after"
 * keeps its meaning for instants with a fraction of a second.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "jobs/jobs.h"

PG_FUNCTION_INFO_V1(pgm_cron_next);

#define SCHEDULE_MAX_N 1000

/* seconds between the Unix epoch and PostgreSQL's (2000-01-01) */
#define SCHEDULE_EPOCH_DIFF \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

int64
pgm_timestamptz_to_epoch(TimestampTz ts)
{
	int64		secs = ts / USECS_PER_SEC;

	if (ts < 0 && ts % USECS_PER_SEC != 0)
		secs--;					/* floor, not truncation */
	return secs + SCHEDULE_EPOCH_DIFF;
}

TimestampTz
pgm_epoch_to_timestamptz(int64 epoch)
{
	return (TimestampTz) (epoch - SCHEDULE_EPOCH_DIFF) * USECS_PER_SEC;
}

/* CronToLocalFn over pg_localtime */
static bool
schedule_to_local(int64_t epoch, CronCivil *out, void *arg)
{
	pg_time_t	t = (pg_time_t) epoch;
	struct pg_tm *tm = pg_localtime(&t, (const pg_tz *) arg);

	if (tm == NULL)
		return false;
	out->year = tm->tm_year + 1900;
	out->month = tm->tm_mon + 1;
	out->mday = tm->tm_mday;
	out->hour = tm->tm_hour;
	out->minute = tm->tm_min;
	out->second = tm->tm_sec;
	return true;
}

/*
 * The zone schedules are evaluated in: zone_name if given, else
 * pgmanage.timezone, else log_timezone.  ERROR 22023 for an unknown name.
 */
pg_tz *
pgm_schedule_tz(const char *zone_name)
{
	const char *name = zone_name ? zone_name : pgm_timezone;
	pg_tz	   *tz;

	if (name == NULL || name[0] == '\0')
		return log_timezone;
	tz = pg_tzset(name);
	if (tz == NULL || !pg_tz_acceptable(tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" is not usable for schedules", name),
				 errhint("Use a name from pg_timezone_names, for example \"Europe/Berlin\" or \"UTC\".")));
	return tz;
}

/* the name of the zone pgm_schedule_tz(NULL) returns */
const char *
pgm_schedule_tz_name(void)
{
	if (pgm_timezone != NULL && pgm_timezone[0] != '\0')
		return pgm_timezone;
	return pg_get_timezone_name(log_timezone);
}

/*
 * Parse a schedule; ERROR 22023 with the parser's message (which names
 * the faulty field) when it is invalid.
 */
void
pgm_schedule_parse(const char *expr, CronSchedule *out)
{
	char		err[CRON_ERRBUF_SIZE];

	if (!cron_parse(expr, out, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule: %s", err),
				 errhint("Use five cron fields (minute hour day-of-month month day-of-week), a macro such as @daily, or \"every N minutes|hours|days\".")));
}

/*
 * The first fire time of a parsed schedule strictly after "after", in tz.
 * Returns false when there is none (beyond year 9999) or the zone fails.
 */
bool
pgm_schedule_next(const CronSchedule *s, TimestampTz after, pg_tz *tz,
				  TimestampTz *next)
{
	CronTzOps	ops;
	int64_t		out;

	ops.to_local = schedule_to_local;
	ops.arg = tz;
	if (!cron_next(s, pgm_timestamptz_to_epoch(after), &ops, &out))
		return false;
	*next = pgm_epoch_to_timestamptz(out);
	return IS_VALID_TIMESTAMP(*next);
}

/*
 * pgm_cron_next(expr text, after timestamptz DEFAULT now(), n int DEFAULT 1,
 *				 time_zone text DEFAULT NULL) RETURNS SETOF timestamptz
 *
 * The next n fire times of a schedule after an instant, in time_zone or,
 * when NULL, in the zone the scheduler uses.
 */
Datum
pgm_cron_next(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *expr;
	TimestampTz after;
	int32		n;
	pg_tz	   *tz;
	CronSchedule s;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schedule must not be NULL")));
	expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	after = PG_ARGISNULL(1) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(1);
	n = PG_ARGISNULL(2) ? 1 : PG_GETARG_INT32(2);
	if (TIMESTAMP_NOT_FINITE(after))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("after must be a finite timestamp")));
	if (n < 1 || n > SCHEDULE_MAX_N)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and %d", SCHEDULE_MAX_N)));
	tz = pgm_schedule_tz(PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	pgm_schedule_parse(expr, &s);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	for (i = 0; i < n; i++)
	{
		TimestampTz next;
		Datum		value;
		bool		isnull = false;

		CHECK_FOR_INTERRUPTS();
		if (!pgm_schedule_next(&s, after, tz, &next))
			break;				/* nothing before year 10000 */
		value = TimestampTzGetDatum(next);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		after = next;
	}
	return (Datum) 0;
}
