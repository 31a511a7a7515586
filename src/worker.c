/*-------------------------------------------------------------------------
 * worker.c
 *		The pgmanage worker: a dynamic background worker that the launcher
 *		starts in pgmanage.database, where pgmanage's tables live.
 *
 * Its loop only waits and dispatches.  Each pass is one short transaction:
 * find the extension (if it is missing, say so once and wait), reload the
 * timeout policies when asked or once per naptime, write queued kill
 * records to pgm_kill_log and prune old rows (on a primary only).  An
 * error in a pass is logged (once per distinct message), kept for
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

#include "pgmanage.h"
#include "shmem.h"

#define WORKER_PRUNE_INTERVAL_MS (60 * 1000)

static char worker_dbname[NAMEDATALEN];
static bool missing_logged = false;
static char last_logged_error[PGM_ERROR_LEN];
static TimestampTz next_prune = 0;
static TimestampTz next_policy_poll = 0;

static void
worker_on_exit(int code, Datum arg)
{
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (pgm_shared->worker.pid == MyProcPid)
	{
		pgm_shared->worker.pid = 0;
		pgm_shared->worker_latch = NULL;
	}
	LWLockRelease(pgm_shared->lock);
	if (pgm_shared->launcher_latch)
		SetLatch(pgm_shared->launcher_latch);
}

/* the schema an extension lives in (get_extension_schema is static in 15) */
static Oid
worker_extension_schema(Oid extoid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

/*
 * One pass, inside a transaction with SPI connected.  Returns false if the
 * extension is not installed here.
 */
static bool
worker_pass(TimestampTz now, uint64 *through_seq, int *written)
{
	Oid			extoid = get_extension_oid("pgmanage", true);
	char	   *schema;

	if (!OidIsValid(extoid))
		return false;
	schema = get_namespace_name(worker_extension_schema(extoid));
	if (schema == NULL)
		return false;

	if (pg_atomic_exchange_u32(&pgm_shared->policy_reload_requested, 0) != 0 ||
		now >= next_policy_poll)
	{
		pgm_policy_load(schema);
		next_policy_poll = TimestampTzPlusMilliseconds(now, pgm_naptime_ms);
	}

	if (RecoveryInProgress())
		return true;			/* standby: queued records wait in memory */

	*written = pgm_store_kill_log(schema, through_seq);
	if (now >= next_prune)
	{
		pgm_store_prune(schema);
		next_prune = TimestampTzPlusMilliseconds(now, WORKER_PRUNE_INTERVAL_MS);
	}
	return true;
}

static void
worker_run_pass(TimestampTz now)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	bool		found;
	uint64		through_seq = 0;
	int			written = 0;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "pgmanage worker pass");

		found = worker_pass(now, &through_seq, &written);

		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();

		/* queued records leave shared memory only once they are committed */
		if (written > 0)
		{
			pgm_kill_queue_consume(through_seq);
			pg_atomic_fetch_add_u64(&pgm_shared->kill_log_written, written);
		}

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
			ereport(LOG, (errmsg("pgmanage: extension found, worker active")));
			missing_logged = false;
		}
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		pgm_shared->extension_found = found;
		LWLockRelease(pgm_shared->lock);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		SPI_finish();			/* harmless if already cleaned up by abort */

		/* log each distinct error once, keep the latest for pgm_status */
		if (strncmp(last_logged_error, edata->message, PGM_ERROR_LEN - 1) != 0)
		{
			ereport(LOG,
					(errmsg("pgmanage worker: %s", edata->message),
					 errdetail("The worker retries at its next pass.")));
			strlcpy(last_logged_error, edata->message, PGM_ERROR_LEN);
		}
		pgm_proc_error(&pgm_shared->worker, "%s", edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
pgm_worker_main(Datum arg)
{
	char	   *dbname = worker_dbname;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("pgmanage worker");

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (pgm_shared->worker.pid != 0 && pgm_shared->worker.pid != MyProcPid)
	{
		LWLockRelease(pgm_shared->lock);
		ereport(LOG, (errmsg("pgmanage: another pgmanage worker is running (pid %d), exiting",
							 pgm_shared->worker.pid)));
		proc_exit(0);
	}
	memset(&pgm_shared->worker, 0, sizeof(PgmProcStatus));
	pgm_shared->worker.pid = MyProcPid;
	pgm_shared->worker.started_at = GetCurrentTimestamp();
	pgm_shared->worker_latch = MyLatch;
	strlcpy(pgm_shared->worker_db, dbname, NAMEDATALEN);
	LWLockRelease(pgm_shared->lock);
	before_shmem_exit(worker_on_exit, (Datum) 0);
	pg_atomic_write_u32(&pgm_shared->policy_reload_requested, 1);

	ereport(LOG, (errmsg("pgmanage worker started in database \"%s\"", dbname)));

	for (;;)
	{
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			next_policy_poll = 0;
		}
		now = GetCurrentTimestamp();
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		pgm_shared->worker.last_wake = now;
		LWLockRelease(pgm_shared->lock);

		worker_run_pass(now);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pgm_naptime_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
