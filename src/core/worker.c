/*-------------------------------------------------------------------------
 * core/worker.c
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
 *
 * Every duty's transaction runs with lock_timeout = PGM_DUTY_LOCK_TIMEOUT_MS
 * (SET LOCAL: a duty may set its own), so a lock held on one of pgmanage's
 * tables delays that duty only: it fails with "canceling statement due to
 * lock timeout" (shown in pgm_status(), logged once) and the other duties
 * of the pass run.  After each pass, outside any transaction, the worker
 * reports its table statistics (pgstat_report_stat), as a backend does when
 * it goes idle, so pg_stat_user_tables and autovacuum see its writes.
 *
 * SIGTERM (a clean shutdown, pg_terminate_backend, the launcher or DROP
 * DATABASE stopping it) ends the pass after the duty in progress, then runs
 * the at_shutdown duties once more (what shared memory still holds: the
 * slow-query ring, queued kill records), each bounded by
 * PGM_SHUTDOWN_DRAIN_TIMEOUT_MS, and exits.  An immediate shutdown or a
 * crash loses what the rings held.
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
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "core/core.h"

#define PGM_MAX_DUTIES 16

/* wait event of the worker's sleep between passes (named on 17+, core/compat.h) */
static uint32 worker_wait_event = 0;

static char worker_dbname[NAMEDATALEN];
static char missing_logged[PGM_ERROR_LEN];
static uint64 config_generation = 1;

/* what the worker does on each pass, in this order (registered by _PG_init) */
static const PgmDuty *worker_duties[PGM_MAX_DUTIES];
static int	nduties = 0;

void
pgm_worker_add_duty(const PgmDuty *duty)
{
	if (nduties >= PGM_MAX_DUTIES)
		elog(ERROR, "pgmanage: too many worker duties");
	worker_duties[nduties++] = duty;
}

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
		(void) set_config_option("lock_timeout", CppAsString2(PGM_DUTY_LOCK_TIMEOUT_MS),
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
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
 * Is the extension installed here, in schema pgmanage, at our version?
 * Otherwise "problem" says why not.
 */
static bool
worker_find_extension(char *problem, int len)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool found = false;

	PG_TRY();
	{
		StartTransactionCommand();
		found = pgm_extension_ready(problem, len);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		pgm_child_recover(oldcxt, "extension lookup");
		strlcpy(problem, "the extension lookup failed", len);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return found;
}

static void
worker_pass(TimestampTz now)
{
	char		logname[PGM_LOG_NAME_BUF];
	char		problem[PGM_ERROR_LEN];
	PgmDutyContext ctx;
	bool		found = worker_find_extension(problem, sizeof(problem));
	int			i;

	if (!found)
	{
		if (strcmp(missing_logged, problem) != 0)
			ereport(LOG,
					(errmsg("pgmanage: %s; timeout policies are not enforced until it is",
							problem),
					 errhint("Run CREATE EXTENSION pgmanage (or ALTER EXTENSION pgmanage UPDATE) in that database.")));
		strlcpy(missing_logged, problem, sizeof(missing_logged));
		for (i = 0; i < nduties; i++)
			if (worker_duties[i]->disabled)
				worker_duties[i]->disabled();
	}
	else if (missing_logged[0] != '\0')
	{
		ereport(LOG, (errmsg("pgmanage: extension found in database \"%s\", worker active",
							 pgm_log_name(worker_dbname, logname))));
		missing_logged[0] = '\0';
	}
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->extension_found = found;
	LWLockRelease(pgm_shared->lock);
	if (!found)
		return;

	memset(&ctx, 0, sizeof(ctx));
	ctx.now = now;
	ctx.standby = RecoveryInProgress();
	ctx.config_generation = config_generation;
	for (i = 0; i < nduties; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;				/* worker_stop() drains what is left */
		if (worker_duties[i]->primary_only && ctx.standby)
			continue;
		worker_run_duty(worker_duties[i], &ctx);
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	pgm_process_report_stats();
}

/* SIGTERM: the at_shutdown duties once more (bounded), then exit */
static void
worker_stop(void)
{
	char		problem[PGM_ERROR_LEN];
	PgmDutyContext ctx;
	int			i;

	if (!RecoveryInProgress() && worker_find_extension(problem, sizeof(problem)))
	{
		SetConfigOption("statement_timeout", CppAsString2(PGM_SHUTDOWN_DRAIN_TIMEOUT_MS),
						PGC_SUSET, PGC_S_OVERRIDE);
		memset(&ctx, 0, sizeof(ctx));
		ctx.now = GetCurrentTimestamp();
		ctx.config_generation = config_generation;
		for (i = 0; i < nduties; i++)
			if (worker_duties[i]->at_shutdown)
				worker_run_duty(worker_duties[i], &ctx);
		pgstat_report_activity(STATE_IDLE, NULL);
		pgm_process_report_stats();
	}
	proc_exit(0);
}

void
pgm_worker_main(Datum arg)
{
	PgmProcStatus *st = pgm_child_start(PGM_CHILD_WORKER, "pgmanage worker");

	strlcpy(worker_dbname, st->database, NAMEDATALEN);
	/* SIGTERM: finish the duty in progress, drain shared memory, exit (worker_stop) */
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);

	for (;;)
	{
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			worker_stop();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			config_generation++;	/* duties that derive from settings redo it */
		}
		now = GetCurrentTimestamp();
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		st->last_wake = now;
		LWLockRelease(pgm_shared->lock);

		worker_pass(now);
		if (ShutdownRequestPending)
			continue;

		/* at least once a second: captured slow statements wait in the ring */
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(pgm_naptime_ms, PGM_DRAIN_INTERVAL_MS),
						 pgm_wait_event(&worker_wait_event, "PgmanageWorkerMain"));
		ResetLatch(MyLatch);
	}
}
