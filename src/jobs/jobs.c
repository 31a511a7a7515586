/*-------------------------------------------------------------------------
 * jobs/jobs.c
 *		The job scheduler: a worker duty (primary only) that turns due
 *		jobs of pgm_job into runs of pgm_job_run and hands queued runs to
 *		their kind (see jobs.h), and the trigger that wakes it at COMMIT.
 *
 * Each pass, in one transaction (lock_timeout 2 s, so a session holding a
 * row of pgm_job or pgm_job_run never stalls the worker for long):
 *	 1. each kind writes the progress and outcome of its running runs;
 *	 2. a 'running' run that its kind no longer knows is marked failed:
 *		"server restarted" when it started before the shared memory was
 *		last initialized (a restart or a crash), otherwise "ended without
 *		reporting an outcome";
 *	 3. unless pgmanage.enable_jobs is off: due jobs (enabled, next_fire
 *		passed) get a run: 'queued', or 'skipped' when the job's previous
 *		run is still queued or running.  A slot more than
 *		JOBS_MISSED_GRACE late was missed (server or worker down): with
 *		catch_up = 'once' it runs once (trigger 'catch_up'), with 'skip'
 *		a skipped run records it.  Either way next_fire moves to the first
 *		slot after now, so missed slots never pile up;
 *	 4. queued runs are offered to their kind, oldest first.
 * (Finished runs older than pgmanage.job_run_retention are pruned by
 * core's retention duty.)  Kinds register themselves from _PG_init
 * (pgm_jobs_add_kind): this file names none of them.
 * Rows locked by a user session are skipped (SKIP LOCKED) and retried at
 * the next pass.  After COMMIT, each kind's after_commit runs (the vacuum
 * kind starts its background workers there).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "jobs/jobs.h"

PG_FUNCTION_INFO_V1(pgm_jobs_changed);
PG_FUNCTION_INFO_V1(pgm_signal_run);

/* a slot this late was missed, not merely served by a slow pass */
#define JOBS_MISSED_GRACE_MS (60 * 1000)
#define PGM_MAX_JOB_KINDS 8

/* the kinds of job, registered from _PG_init */
static const PgmJobKind *job_kinds[PGM_MAX_JOB_KINDS];
static int	njob_kinds = 0;

void
pgm_jobs_add_kind(const PgmJobKind *kind)
{
	if (njob_kinds >= PGM_MAX_JOB_KINDS)
		elog(ERROR, "pgmanage: too many job kinds");
	job_kinds[njob_kinds++] = kind;
}

static char last_tz_name[TZ_STRLEN_MAX + 1];

static const PgmJobKind *
jobs_find_kind(const char *name)
{
	int			i;

	for (i = 0; i < njob_kinds; i++)
		if (strcmp(job_kinds[i]->name, name) == 0)
			return job_kinds[i];
	return NULL;
}

/* the i-th column of the current SPI row as a palloc'd string (NULL if null) */
static char *
jobs_col(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static TimestampTz
jobs_col_ts(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? 0 : DatumGetTimestampTz(d);
}

/* set a run's final status (helper for kinds, and for the scheduler) */
void
pgm_run_finish(PgmDutyContext *ctx, int64 run_id, const char *status, const char *error)
{
	StringInfoData sql;
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE " PGM_SCHEMA ".pgm_job_run SET status = $2, error = $3,"
					 " started = COALESCE(started, pg_catalog.now()),"
					 " finished = pg_catalog.now(), current_table = NULL"
					 " WHERE id OPERATOR(pg_catalog.=) $1");
	values[0] = Int64GetDatum(run_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[2] = error ? ' ' : 'n';
	if (SPI_execute_with_args(sql.data, 3, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgm_job_run");
}

/* 2. runs left 'running' by a crash, a restart or a lost process */
static void
jobs_fail_lost_runs(PgmDutyContext *ctx)
{
	StringInfoData sql;
	TimestampTz init_at = pgm_shmem_initialized_at();
	int			n;
	int			i;
	int64	   *ids;
	bool	   *restarted;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT id, kind, started FROM " PGM_SCHEMA ".pgm_job_run"
					 " WHERE status OPERATOR(pg_catalog.=) 'running' ORDER BY id");
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_job_run");
	n = SPI_processed;
	if (n == 0)
		return;
	ids = palloc0(sizeof(int64) * n);
	restarted = palloc0(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		const PgmJobKind *kind = jobs_find_kind(jobs_col(i, 2));
		bool		isnull;
		TimestampTz started = jobs_col_ts(i, 3, &isnull);

		if (kind != NULL && (kind->alive == NULL || kind->alive(pg_strtoint64(jobs_col(i, 1)))))
			continue;
		ids[i] = pg_strtoint64(jobs_col(i, 1));
		restarted[i] = isnull || started < init_at;
	}
	for (i = 0; i < n; i++)
	{
		if (ids[i] == 0)
			continue;
		pgm_run_finish(ctx, ids[i], "failed",
					   restarted[i] ? "server restarted while the run was going"
					   : "the run's process ended without reporting an outcome (see the server log)");
		ereport(LOG,
				(errmsg("pgmanage: run %lld marked failed: %s", (long long) ids[i],
						restarted[i] ? "server restarted while the run was going"
						: "its process ended without reporting an outcome")));
	}
}

/* pgmanage.timezone (or log_timezone) changed: move five-field jobs */
static void
jobs_follow_timezone(PgmDutyContext *ctx)
{
	const char *tz = pgm_schedule_tz_name();
	StringInfoData sql;

	if (tz == NULL)
		return;
	if (last_tz_name[0] == '\0' || strcmp(last_tz_name, tz) == 0)
	{
		strlcpy(last_tz_name, tz, sizeof(last_tz_name));
		return;
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE " PGM_SCHEMA ".pgm_job SET next_fire = (SELECT " PGM_SCHEMA ".pgm_cron_next(schedule, pg_catalog.now()))"
					 " WHERE enabled AND schedule OPERATOR(pg_catalog.!~*) '^\\s*every\\M'");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgm_job");
	ereport(LOG,
			(errmsg("pgmanage: schedule time zone changed from \"%s\" to \"%s\"; next fire times of %llu cron jobs recomputed",
					last_tz_name, tz, (unsigned long long) SPI_processed)));
	strlcpy(last_tz_name, tz, sizeof(last_tz_name));
}

static void
jobs_insert_run(PgmDutyContext *ctx, const char *job, const char *trigger,
				TimestampTz scheduled_for, const char *status, const char *error)
{
	StringInfoData sql;
	Oid			types[5] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		final = strcmp(status, "queued") != 0;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO " PGM_SCHEMA ".pgm_job_run (job, kind, database_name, options, trigger,"
					 " scheduled_for, status, error, started, finished)"
					 " SELECT j.name, j.kind, j.database_name, j.options, $2, $3, $4, $5, %s, %s"
					 " FROM " PGM_SCHEMA ".pgm_job j WHERE j.name OPERATOR(pg_catalog.=) $1",
					 final ? "pg_catalog.now()" : "NULL",
					 final ? "pg_catalog.now()" : "NULL");
	values[0] = CStringGetTextDatum(job);
	values[1] = CStringGetTextDatum(trigger);
	values[2] = TimestampTzGetDatum(scheduled_for);
	values[3] = CStringGetTextDatum(status);
	values[4] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[4] = error ? ' ' : 'n';
	if (SPI_execute_with_args(sql.data, 5, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into pgm_job_run");
}

/* 3. due jobs -> runs; next_fire moves past now */
static void
jobs_fire_due(PgmDutyContext *ctx)
{
	StringInfoData sql;
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	int			n;
	int			i;
	char	  **names;
	char	  **schedules;
	char	  **catch_up;
	char	  **busy;
	TimestampTz *due;
	pg_tz	   *tz = pgm_schedule_tz(NULL);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT j.name, j.schedule, j.catch_up, j.next_fire,"
					 " (SELECT r.id FROM " PGM_SCHEMA ".pgm_job_run r WHERE r.job OPERATOR(pg_catalog.=) j.name"
					 "   AND r.status OPERATOR(pg_catalog.=) ANY ('{queued,running}') ORDER BY r.id LIMIT 1)"
					 " FROM " PGM_SCHEMA ".pgm_job j"
					 " WHERE j.enabled AND j.next_fire OPERATOR(pg_catalog.<=) $1"
					 " ORDER BY j.next_fire, j.name FOR UPDATE OF j SKIP LOCKED");
	values[0] = TimestampTzGetDatum(ctx->now);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_job");
	n = SPI_processed;
	if (n == 0)
		return;
	names = palloc(sizeof(char *) * n);
	schedules = palloc(sizeof(char *) * n);
	catch_up = palloc(sizeof(char *) * n);
	busy = palloc(sizeof(char *) * n);
	due = palloc(sizeof(TimestampTz) * n);
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		names[i] = jobs_col(i, 1);
		schedules[i] = jobs_col(i, 2);
		catch_up[i] = jobs_col(i, 3);
		due[i] = jobs_col_ts(i, 4, &isnull);
		busy[i] = jobs_col(i, 5);
	}

	for (i = 0; i < n; i++)
	{
		CronSchedule s;
		char		err[CRON_ERRBUF_SIZE];
		TimestampTz next;
		bool		has_next;
		bool		missed = ctx->now - due[i] > JOBS_MISSED_GRACE_MS * (int64) 1000;
		Oid			utypes[3] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		uvalues[3];
		char		unulls[3] = {' ', ' ', ' '};

		CHECK_FOR_INTERRUPTS();
		if (!cron_parse(schedules[i], &s, err, sizeof(err)))
		{
			/* cannot happen through the trigger; never loop on it */
			char	   *msg = psprintf("invalid schedule: %s; job disabled", err);

			jobs_insert_run(ctx, names[i], "schedule", due[i], "failed", msg);
			resetStringInfo(&sql);
			appendStringInfo(&sql, "UPDATE " PGM_SCHEMA ".pgm_job SET enabled = false, next_fire = NULL"
							 " WHERE name OPERATOR(pg_catalog.=) $1");
			uvalues[0] = CStringGetTextDatum(names[i]);
			if (SPI_execute_with_args(sql.data, 1, utypes, uvalues, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update pgm_job");
			continue;
		}
		has_next = pgm_schedule_next(&s, ctx->now, tz, &next);

		if (busy[i] != NULL)
			jobs_insert_run(ctx, names[i], missed ? "catch_up" : "schedule", due[i], "skipped",
							psprintf("previous run %s is still going", busy[i]));
		else if (missed && strcmp(catch_up[i], "skip") == 0)
			jobs_insert_run(ctx, names[i], "catch_up", due[i], "skipped",
							psprintf("slot of %s missed while the scheduler was not running (catch_up = skip)",
									 timestamptz_to_str(due[i])));
		else
			jobs_insert_run(ctx, names[i], missed ? "catch_up" : "schedule", due[i], "queued", NULL);

		resetStringInfo(&sql);
		appendStringInfo(&sql, "UPDATE " PGM_SCHEMA ".pgm_job SET last_fire = $2, next_fire = $3"
						 " WHERE name OPERATOR(pg_catalog.=) $1");
		uvalues[0] = CStringGetTextDatum(names[i]);
		uvalues[1] = TimestampTzGetDatum(due[i]);
		uvalues[2] = has_next ? TimestampTzGetDatum(next) : (Datum) 0;
		unulls[2] = has_next ? ' ' : 'n';
		if (SPI_execute_with_args(sql.data, 3, utypes, uvalues, unulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update pgm_job");
	}
}

/*
 * Offer a run to its kind in a subtransaction: a run whose options make
 * the kind fail (a bad value written into the table by hand) fails alone
 * instead of stopping the scheduler at every pass.
 */
static PgmRunStart
jobs_start_run(PgmDutyContext *ctx, const PgmJobKind *kind, const PgmRunRequest *req)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile PgmRunStart result = PGM_RUN_FINISHED;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		result = kind->start(ctx, req);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		pgm_run_finish(ctx, req->run_id, "failed",
					   psprintf("could not start the run: %s", edata->message));
		FreeErrorData(edata);
		result = PGM_RUN_FINISHED;
	}
	PG_END_TRY();
	return result;
}

/* 4. queued runs -> their kind */
static void
jobs_dispatch(PgmDutyContext *ctx)
{
	StringInfoData sql;
	int			n;
	int			i;
	PgmRunRequest *reqs;
	char	  **kinds;
	bool		full[PGM_MAX_JOB_KINDS];

	memset(full, 0, sizeof(full));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT id, kind, job, database_name, options::text FROM " PGM_SCHEMA ".pgm_job_run"
					 " WHERE status OPERATOR(pg_catalog.=) 'queued' ORDER BY id FOR UPDATE SKIP LOCKED");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_job_run");
	n = SPI_processed;
	if (n == 0)
		return;
	reqs = palloc0(sizeof(PgmRunRequest) * n);
	kinds = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		reqs[i].run_id = pg_strtoint64(jobs_col(i, 1));
		kinds[i] = jobs_col(i, 2);
		reqs[i].job = jobs_col(i, 3);
		reqs[i].database = jobs_col(i, 4);
		reqs[i].options = jobs_col(i, 5);
	}
	for (i = 0; i < n; i++)
	{
		int			k;

		CHECK_FOR_INTERRUPTS();
		for (k = 0; k < njob_kinds; k++)
			if (strcmp(job_kinds[k]->name, kinds[i]) == 0)
				break;
		if (k == njob_kinds)
		{
			pgm_run_finish(ctx, reqs[i].run_id, "failed",
						   psprintf("unknown job kind \"%s\"", kinds[i]));
			continue;
		}
		if (full[k])
			continue;
		if (jobs_start_run(ctx, job_kinds[k], &reqs[i]) == PGM_RUN_DEFERRED)
			full[k] = true;
	}
}

static void
jobs_after_commit(void *arg)
{
	int			i;

	for (i = 0; i < njob_kinds; i++)
		if (job_kinds[i]->after_commit)
			job_kinds[i]->after_commit();
}

/*
 * Worker duty (primary only): the scheduler.
 */
void
pgm_jobs_duty(PgmDutyContext *ctx)
{
	int			i;

	for (i = 0; i < njob_kinds; i++)
		if (job_kinds[i]->reset)
			job_kinds[i]->reset();
	(void) set_config_option("lock_timeout", "2000", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	ctx->after_commit = jobs_after_commit;

	for (i = 0; i < njob_kinds; i++)
		if (job_kinds[i]->collect)
			job_kinds[i]->collect(ctx);
	jobs_fail_lost_runs(ctx);
	if (pgm_enable_jobs)
	{
		jobs_follow_timezone(ctx);
		jobs_fire_due(ctx);
		jobs_dispatch(ctx);
	}
}

/*
 * pgm_signal_run(run_id bigint, kind text) RETURNS boolean: ask a running
 * run to stop (for pgm_cancel_run); false when no process of this server
 * runs it.
 */
Datum
pgm_signal_run(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	const PgmJobKind *kind = jobs_find_kind(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	pgm_shmem_require();
	if (kind == NULL || kind->cancel == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(kind->cancel(run_id));
}

/*
 * Statement trigger on pgm_job and pgm_job_run: wake the worker when (and
 * only if) this transaction commits, so a new job or run is seen at once.
 * The worker's own writes do not wake it.
 */
Datum
pgm_jobs_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgm_jobs_changed() must be called as a trigger")));
	if (pgm_shared == NULL || pgm_shared->children[PGM_CHILD_WORKER].pid == MyProcPid)
		return PointerGetDatum(NULL);
	pgm_wake_at_commit(PGM_CHILD_WORKER, NULL);
	return PointerGetDatum(NULL);
}
