/*-------------------------------------------------------------------------
 * health/health_duty.c
 *		The worker duty that evaluates pgm_health() every
 *		pgmanage.health_check_interval and turns changes of status into
 *		events, with the disk alert's mechanism: the last state of each
 *		check is a row "health:<check>" of pgm_alert_state, written in the
 *		same transaction as the event, so a restart neither repeats nor
 *		loses a change; events go to the outbox only if an enabled endpoint
 *		subscribes to their kind, and the state advances either way.
 *
 *   health_alert   the status rises (ok -> warning, ok or warning ->
 *                  critical); the event carries the new status
 *   health_ok      the status is ok again and the value is below the
 *                  warning threshold by pgmanage.health_hysteresis percent
 *                  of it (or NULL: nothing to measure any more)
 *
 * critical -> warning changes the state without an event once the value
 * is below the critical threshold by the same band.  Runs on the primary
 * only.  The outbox is reached through SQL (pgmanage.pgm_emit_event), as
 * the pgm_kill_log and pgm_job_run triggers reach it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "health/health.h"

static int
health_rank(const char *status)
{
	if (status == NULL || strcmp(status, "ok") == 0)
		return 0;
	if (strcmp(status, "warning") == 0)
		return 1;
	return 2;
}

/* value below limit by the hysteresis band (a NULL value or limit counts as below) */
static bool
health_clearly_below(const char *value, const char *limit)
{
	double		v;
	double		l;

	if (value == NULL || limit == NULL)
		return true;
	v = strtod(value, NULL);
	l = strtod(limit, NULL);
	return v < l - l * pgm_health_hysteresis_pct / 100.0;
}

static void
health_json_field(StringInfo js, const char *key, const char *val, bool number)
{
	appendStringInfo(js, "%s\"%s\": ", js->len > 1 ? ", " : "", key);
	if (val == NULL)
		appendStringInfoString(js, "null");
	else if (number)
		appendStringInfoString(js, val);
	else
		escape_json(js, val);
}

/* the event (if an endpoint subscribes) and the new state, in this transaction */
static void
health_record(const char *check, const char *kind, const char *state, const char *data)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];

	if (kind != NULL)
	{
		values[0] = CStringGetTextDatum(kind);
		values[1] = CStringGetTextDatum(data);
		values[2] = CStringGetTextDatum(check);
		if (SPI_execute_with_args("SELECT " PGM_SCHEMA ".pgm_emit_event($1, $2::pg_catalog.jsonb, $3, NULL)"
								  " WHERE EXISTS (SELECT 1 FROM " PGM_SCHEMA ".pgm_endpoint ep WHERE ep.enabled"
								  "  AND (ep.event_kinds IS NULL OR $1 OPERATOR(pg_catalog.=) ANY (ep.event_kinds)))",
								  3, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not queue a %s event", kind);
	}
	values[0] = CStringGetTextDatum(psprintf("health:%s", check));
	values[1] = CStringGetTextDatum(state);
	values[2] = CStringGetTextDatum(data);
	if (SPI_execute_with_args("INSERT INTO " PGM_SCHEMA ".pgm_alert_state AS a (name, state, detail, changed_at, checked_at)"
							  " VALUES ($1, $2, $3::pg_catalog.jsonb, pg_catalog.now(), pg_catalog.now())"
							  " ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, detail = EXCLUDED.detail,"
							  " checked_at = EXCLUDED.checked_at,"
							  " changed_at = CASE WHEN a.state OPERATOR(pg_catalog.=) EXCLUDED.state THEN a.changed_at"
							  "  ELSE EXCLUDED.changed_at END",
							  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write pgm_alert_state");
}

static void
health_evaluate(void)
{
	SPITupleTable *checks;
	uint64		n;

	/* the checks, with the state each had at the last evaluation */
	if (SPI_execute("SELECT h.check_name, h.status, h.value::pg_catalog.text, h.warning_at::pg_catalog.text,"
					" h.critical_at::pg_catalog.text, h.detail, s.state"
					" FROM " PGM_SCHEMA ".pgm_health() h"
					" LEFT JOIN " PGM_SCHEMA ".pgm_alert_state s"
					"  ON s.name OPERATOR(pg_catalog.=) ('health:' OPERATOR(pg_catalog.||) h.check_name)",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not evaluate pgm_health()");
	checks = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = checks->vals[i];
		TupleDesc	desc = checks->tupdesc;
		char	   *check = SPI_getvalue(tup, desc, 1);
		char	   *status = SPI_getvalue(tup, desc, 2);
		char	   *value = SPI_getvalue(tup, desc, 3);
		char	   *warning_at = SPI_getvalue(tup, desc, 4);
		char	   *critical_at = SPI_getvalue(tup, desc, 5);
		char	   *detail = SPI_getvalue(tup, desc, 6);
		char	   *state = SPI_getvalue(tup, desc, 7);
		int			now_rank = health_rank(status);
		int			was_rank = health_rank(state);
		const char *kind = NULL;
		const char *new_state = state ? state : "ok";
		StringInfoData js;

		CHECK_FOR_INTERRUPTS();
		initStringInfo(&js);
		appendStringInfoChar(&js, '{');
		health_json_field(&js, "check", check, false);
		health_json_field(&js, "status", status, false);
		health_json_field(&js, "value", value, true);
		health_json_field(&js, "warning_at", warning_at, true);
		health_json_field(&js, "critical_at", critical_at, true);
		health_json_field(&js, "detail", detail, false);
		appendStringInfoChar(&js, '}');

		if (now_rank > was_rank)
		{
			kind = "health_alert";
			new_state = status;
		}
		else if (now_rank == 0 && was_rank > 0 && health_clearly_below(value, warning_at))
		{
			kind = "health_ok";
			new_state = "ok";
		}
		else if (now_rank == 1 && was_rank == 2 && health_clearly_below(value, critical_at))
			new_state = "warning";
		health_record(check, kind, new_state, js.data);
	}
}

/* Worker duty (primary only): pgm_health() every pgmanage.health_check_interval */
void
pgm_health_duty(PgmDutyContext *ctx)
{
	static TimestampTz next_check = 0;
	static int	last_interval = -1;

	if (last_interval != pgm_health_check_interval_s)
	{
		next_check = 0;			/* changed by a reload: check now */
		last_interval = pgm_health_check_interval_s;
	}
	if (pgm_health_check_interval_s <= 0 || ctx->now < next_check)
		return;
	next_check = TimestampTzPlusMilliseconds(ctx->now, pgm_health_check_interval_s * 1000L);
	health_evaluate();
}
