/*-------------------------------------------------------------------------
 * worker.c
 *		The pgmanage worker: a dynamic background worker that the launcher
 *		starts in pgmanage.database, where pgmanage's tables live.
 *
 * Its loop only waits and dispatches.  Each pass finds the extension (if
 * it is missing, says so once and waits), then runs the duties of
 * worker_duties[] (see duty.h), each in its own short transaction.  An
 * error in a duty is logged (once per distinct message), kept for
 * pgm_status(), rolled back and retried at the next pass: the worker never
 * crash-loops.  Nothing here waits on the network or holds a lock across
 * the sleep, so DROP EXTENSION waits at most for one short pass.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "duty.h"
#include "pgmanage.h"
#include "shmem.h"

static char worker_dbname[NAMEDATALEN];
static bool missing_logged = false;

/* what the worker does on each pass, in this order */
static const PgmDuty worker_duties[] = {
	{"timeout policies", false, pgm_policy_duty},
	{"kill log", true, pgm_kill_log_duty},
	{"slow queries", true, pgm_slow_queries_duty},
	{"pg_stat_statements history", true, pgm_pgss_history_duty},
	{"alerts", true, pgm_alerts_duty},
	{"webhook retention", true, pgm_webhook_prune_duty},
	{"jobs", true, pgm_jobs_duty},
};

/*
 * Run one duty in its own transaction.  Returns false on error.
 */
static bool
worker_run_duty(const PgmDuty *duty, PgmDutyContext *ctx)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;

	ctx->after_commit = NULL;
	ctx->after_commit_arg = NULL;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, duty->name);

		duty->run(ctx);

		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();
		if (ctx->after_commit)
			ctx->after_commit(ctx->after_commit_arg);
	}
	PG_CATCH();
	{
		pgm_child_recover(oldcxt, duty->name);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return ok;
}

/*
 * The extension's schema, or NULL if it is not installed here.  The name
 * is copied into "schema" (NAMEDATALEN).
 */
static bool
worker_find_extension(char *schema)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool found = false;

	PG_TRY();
	{
		char	   *nsp;

		StartTransactionCommand();
		nsp = pgm_extension_schema();
		if (nsp)
		{
			strlcpy(schema, nsp, NAMEDATALEN);
			found = true;
		}
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		pgm_child_recover(oldcxt, "extension lookup");
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return found;
}

static void
worker_pass(TimestampTz now)
{
	char		schema[NAMEDATALEN];
	PgmDutyContext ctx;
	bool		found = worker_find_extension(schema);
	int			i;

	if (!found)
	{
		if (!missing_logged)
			ereport(LOG,
					(errmsg("pgmanage: extension \"pgmanage\" is not installed in database \"%s\"; timeout policies are not enforced until it is",
							worker_dbname),
					 errhint("Run CREATE EXTENSION pgmanage in that database.")));
		missing_logged = true;
		pgm_policy_clear();
	}
	else if (missing_logged)
	{
		ereport(LOG, (errmsg("pgmanage: extension found in database \"%s\", worker active",
							 worker_dbname)));
		missing_logged = false;
	}
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->extension_found = found;
	LWLockRelease(pgm_shared->lock);
	if (!found)
		return;

	memset(&ctx, 0, sizeof(ctx));
	ctx.schema = schema;
	ctx.now = now;
	ctx.standby = RecoveryInProgress();
	for (i = 0; i < lengthof(worker_duties); i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (worker_duties[i].primary_only && ctx.standby)
			continue;
		worker_run_duty(&worker_duties[i], &ctx);
	}
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
pgm_worker_main(Datum arg)
{
	PgmProcStatus *st = pgm_child_start(PGM_CHILD_WORKER, "pgmanage worker");

	strlcpy(worker_dbname, st->database, NAMEDATALEN);
	pg_atomic_write_u32(&pgm_shared->policy_reload_requested, 1);

	for (;;)
	{
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			pg_atomic_write_u32(&pgm_shared->policy_reload_requested, 1);
		}
		now = GetCurrentTimestamp();
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		st->last_wake = now;
		LWLockRelease(pgm_shared->lock);

		worker_pass(now);

		/* at least once a second: captured slow statements wait in the ring */
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(pgm_naptime_ms, PGM_DRAIN_INTERVAL_MS),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
