/*-------------------------------------------------------------------------
 * timeouts/kill_long.c
 *		pgm_kill_long(): find statements (and, optionally, idle transactions)
 *		older than a limit, and cancel or terminate them.
 *
 * Reads the backend status array (the source of pg_stat_activity), never
 * pg_stat_activity through SQL.  Only client backends are considered:
 * autovacuum, WAL senders, background and parallel workers are never
 * signalled (a parallel query's leader is a client backend and is the
 * target).  Who may signal whom follows pg_cancel_backend (backends.c).
 * Every backend over the limit gets a row saying what was done or why not;
 * with pgmanage preloaded, each signal is also queued for pgm_kill_log.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "common/int.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "timeouts/timeouts.h"

PG_FUNCTION_INFO_V1(pgm_kill_long);

#define KILL_LONG_COLS 12

/*
 * An interval's length in microseconds, months counted as 30 days (as
 * interval comparison does).  False when it does not fit in 64 bits.
 */
static bool
kill_long_interval_usecs(const Interval *span, int64 *out)
{
	int64		days_us;

	if (pg_mul_s64_overflow((int64) span->day + (int64) span->month * DAYS_PER_MONTH,
							USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(days_us, span->time, out))
		return false;
	return true;
}

static Datum
kill_long_duration_datum(int64 usecs)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = usecs;
	return IntervalPGetDatum(result);
}

Datum
pgm_kill_long(PG_FUNCTION_ARGS)
{
	char		logname[PGM_LOG_NAME_BUF];
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Interval   *limit;
	int64		limit_us;
	PgmSignalAction action;
	bool		include_idle;
	bool		dry_run;
	bool		may_read_all;
	Oid			caller = GetUserId();
	TimestampTz now;
	int			nbackends;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_duration must not be NULL"),
				 errhint("Pass a positive interval, for example '5 minutes'.")));
	limit = PG_GETARG_INTERVAL_P(0);
	if (!kill_long_interval_usecs(limit, &limit_us))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_duration is too large"),
				 errhint("Pass an interval of at most a few thousand years, for example '5 minutes'.")));
	if (limit_us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_duration must be positive"),
				 errhint("Pass a positive interval, for example '5 minutes'.")));
	action = pgm_parse_action(PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("include_idle_in_transaction and dry_run must not be NULL"),
				 errhint("Pass true or false, or leave them out for the defaults.")));
	include_idle = PG_GETARG_BOOL(2);
	dry_run = PG_GETARG_BOOL(3);

	InitMaterializedSRF(fcinfo, 0);
	may_read_all = has_privs_of_role(caller, ROLE_PG_READ_ALL_STATS);

	/* a fresh view of the backend status array, not this transaction's */
	pgstat_clear_backend_activity_snapshot();
	now = GetCurrentTimestamp();
	nbackends = pgstat_fetch_stat_numbackends();

	for (i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *local = pgm_local_beentry(i);
		PgBackendStatus *be;
		TimestampTz since;
		int64		ran_us;
		bool		idle_in_xact;
		const char *refusal;
		bool		signalled = false;
		Datum		values[KILL_LONG_COLS];
		bool		nulls[KILL_LONG_COLS];
		char	   *rolename;
		char	   *dbname;
		char	   *query;
		bool		sees_details;

		CHECK_FOR_INTERRUPTS();
		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (!pgm_is_client_backend(be))
			continue;

		idle_in_xact = (be->st_state == STATE_IDLEINTRANSACTION ||
						be->st_state == STATE_IDLEINTRANSACTION_ABORTED);
		if (be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH)
			since = be->st_activity_start_timestamp;
		else if (idle_in_xact && include_idle)
			since = be->st_state_start_timestamp;
		else
			continue;
		if (since == 0)
			continue;
		ran_us = now - since;
		if (ran_us <= limit_us)
			continue;

		/* an idle transaction has no statement to cancel: end the session */
		refusal = pgm_signal_refusal(caller, be->st_procpid, be->st_userid);
		rolename = GetUserNameFromId(be->st_userid, true);
		/* as pg_stat_activity: another role's query and address stay hidden */
		sees_details = may_read_all || has_privs_of_role(caller, be->st_userid);
		query = sees_details ? pgm_clip_query(be->st_activity_raw)
			: pstrdup("<insufficient privilege>");

		if (refusal == NULL && dry_run)
			refusal = "dry run";
		if (refusal == NULL)
		{
			PgmSignalAction act = idle_in_xact ? PGM_ACTION_TERMINATE : action;
			int			err;

			signalled = pgm_send_signal(be->st_procpid, act, &err);
			if (pgm_shmem_available())
			{
				/* the worker writes it to pgm_kill_log */
				PgmKillRecord rec;

				pgm_kill_record_fill(&rec, be, ran_us);
				rec.limit_kind = PGM_LIMIT_KILL_LONG;
				rec.terminate = (act == PGM_ACTION_TERMINATE);
				rec.succeeded = signalled;
				snprintf(rec.detail, sizeof(rec.detail), "by %s",
						 GetUserNameFromId(caller, false));
				pgm_kill_queue_push(&rec);
				if (signalled)
					pg_atomic_fetch_add_u64(rec.terminate ? &pgm_timeouts->sessions_terminated
											: &pgm_timeouts->statements_cancelled, 1);
			}
			if (signalled)
				ereport(LOG,
						(errmsg("pgmanage: pgm_kill_long sent %s to backend %d of role \"%s\" after %.3f s (query id %lld)",
								pgm_action_name(act), be->st_procpid,
								rolename ? pgm_log_name(rolename, logname) : "?",
								ran_us / 1000000.0,
								(long long) be->st_query_id),
						 errhidestmt(true)));
			else
				refusal = (err == ESRCH) ? "backend exited" : "signal failed";
		}

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(be->st_procpid);
		if (rolename)
			values[1] = CStringGetTextDatum(rolename);
		else
			nulls[1] = true;
		dbname = get_database_name(be->st_databaseid);
		if (dbname)
			values[2] = CStringGetTextDatum(dbname);
		else
			nulls[2] = true;
		values[3] = CStringGetTextDatum(be->st_appname);
		if (sees_details)
			values[4] = pgm_client_addr_datum(&be->st_clientaddr, &nulls[4]);
		else
			nulls[4] = true;
		values[5] = CStringGetTextDatum(pgm_backend_state_name(be->st_state));
		values[6] = kill_long_duration_datum(ran_us);
		values[7] = CStringGetTextDatum(query);
		if (be->st_query_id != 0)
			values[8] = Int64GetDatum(be->st_query_id);
		else
			nulls[8] = true;
		values[9] = CStringGetTextDatum(pgm_action_name(idle_in_xact ? PGM_ACTION_TERMINATE : action));
		values[10] = BoolGetDatum(signalled);
		if (refusal)
			values[11] = CStringGetTextDatum(refusal);
		else
			nulls[11] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
