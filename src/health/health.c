/*-------------------------------------------------------------------------
 * health/health.c
 *		pgm_health_thresholds(): each check's warning and critical
 *		thresholds, from the settings, in the unit of pgm_health()'s value
 *		(seconds, bytes, percent, a count, transactions); NULL where a level
 *		is off (-1).  A C function so that calling pgm_health() loads the
 *		library (and so defines the settings) in any session, and so that
 *		units are converted once, here.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "health/health.h"

PG_FUNCTION_INFO_V1(pgm_health_thresholds);

/* a threshold in the unit of the check's value */
static Datum
health_threshold_datum(const PgmHealthThreshold *t, int v, bool *isnull)
{
	int64		x = v;

	*isnull = (v < 0);
	if (*isnull)
		return (Datum) 0;
	if (t->unit == GUC_UNIT_MB)
		x *= INT64CONST(1024) * 1024;
	return Int64GetDatum(x);
}

/* pgm_health_thresholds(OUT position int, OUT check_name text, OUT warning_at bigint, OUT critical_at bigint, OUT unit text) */
Datum
pgm_health_thresholds(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < PGM_HEALTH_NCHECKS; i++)
	{
		const PgmHealthThreshold *t = &pgm_health_levels[i];
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(t->check);
		values[2] = health_threshold_datum(t, t->warning, &nulls[2]);
		values[3] = health_threshold_datum(t, t->critical, &nulls[3]);
		values[4] = CStringGetTextDatum(t->value_unit);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
