/*-------------------------------------------------------------------------
 * launcher.c
 *		The pgmanage launcher: a static background worker, connected to no
 *		database, that enforces timeout policies and keeps the pgmanage
 *		worker running in pgmanage.database.
 *
 * Its loop only waits and dispatches: each pass runs the enforcer
 * (policy_enforce.c), which says when the next deadline falls, and the
 * supervisor below; then it sleeps on its latch until that deadline,
 * pgmanage.naptime, a SIGHUP or a signal from the worker.
 *
 * Being connected to no database, the launcher never stands in the way of
 * DROP DATABASE, runs on standbys (it starts at consistent state), and
 * can notice that pgmanage.database does not exist (pg_database is a
 * shared catalog) without crash-looping: it logs that once and waits.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pgmanage.h"
#include "shmem.h"

/* seconds the postmaster waits before restarting a crashed launcher */
#define LAUNCHER_RESTART_SECONDS 5

static BackgroundWorkerHandle *worker_handle = NULL;
static char worker_handle_db[NAMEDATALEN];
static char missing_db_logged[NAMEDATALEN];
static TimestampTz next_db_check = 0;

void
pgm_register_launcher(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_ConsistentState;
	bgw.bgw_restart_time = LAUNCHER_RESTART_SECONDS;
	strlcpy(bgw.bgw_library_name, "pgmanage", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "pgm_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "pgmanage launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "pgmanage launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);
}

/*
 * Is a worker alive (or starting)?  Ours, through its handle; or one that
 * a previous launcher started, through the pid it keeps in shared memory
 * (the worker clears it when it exits).
 */
static bool
launcher_worker_alive(void)
{
	pid_t		pid;
	int			shared_pid;

	if (worker_handle != NULL)
	{
		switch (GetBackgroundWorkerPid(worker_handle, &pid))
		{
			case BGWH_STARTED:
			case BGWH_NOT_YET_STARTED:
				return true;
			default:
				pfree(worker_handle);
				worker_handle = NULL;
		}
	}
	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	shared_pid = pgm_shared->worker.pid;
	if (shared_pid != 0 && worker_handle == NULL && worker_handle_db[0] == '\0')
		strlcpy(worker_handle_db, pgm_shared->worker_db, NAMEDATALEN);
	LWLockRelease(pgm_shared->lock);
	return shared_pid != 0;
}

static void
launcher_stop_worker(void)
{
	int			pid;

	if (worker_handle != NULL)
	{
		TerminateBackgroundWorker(worker_handle);
		return;
	}
	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	pid = pgm_shared->worker.pid;
	LWLockRelease(pgm_shared->lock);
	if (pid != 0)
		kill(pid, SIGTERM);
}

/*
 * A database's OID, by a plain heap scan of pg_database: with no database
 * selected, the relcache may not be able to open its indexes yet (the
 * autovacuum launcher reads pg_database the same way).
 */
static Oid
launcher_database_oid(const char *dbname)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Oid			dboid = InvalidOid;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), dbname) == 0 &&
			db->datconnlimit != DATCONNLIMIT_INVALID_DB)
		{
			dboid = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dboid;
}

/*
 * Keep one worker running in pgmanage.database, if that database exists
 * and no DROP DATABASE asked us to stay away.
 */
static void
launcher_supervise(TimestampTz now)
{
	Oid			dboid;
	BackgroundWorker bgw;
	bool		hold;

	if (launcher_worker_alive())
	{
		if (strcmp(worker_handle_db, pgm_database) != 0)
		{
			ereport(LOG,
					(errmsg("pgmanage: pgmanage.database changed from \"%s\" to \"%s\", restarting the worker",
							worker_handle_db, pgm_database)));
			launcher_stop_worker();
		}
		return;
	}

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	hold = pgm_shared->hold_worker_until > now;
	LWLockRelease(pgm_shared->lock);
	if (hold || now < next_db_check)
		return;
	next_db_check = TimestampTzPlusMilliseconds(now, pgm_naptime_ms);

	dboid = launcher_database_oid(pgm_database);
	if (!OidIsValid(dboid))
	{
		if (strcmp(missing_db_logged, pgm_database) != 0)
		{
			ereport(LOG,
					(errmsg("pgmanage: database \"%s\" named by pgmanage.database does not exist; waiting for it",
							pgm_database),
					 errhint("Create the database, or set pgmanage.database and reload.")));
			pgm_proc_error(&pgm_shared->launcher, "database \"%s\" does not exist", pgm_database);
			strlcpy(missing_db_logged, pgm_database, NAMEDATALEN);
		}
		return;
	}
	missing_db_logged[0] = '\0';

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_ConsistentState;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(bgw.bgw_library_name, "pgmanage", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "pgm_worker_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "pgmanage worker", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "pgmanage worker", BGW_MAXLEN);
	strlcpy(bgw.bgw_extra, pgm_database, BGW_EXTRALEN);
	bgw.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&bgw, &worker_handle))
	{
		worker_handle = NULL;
		pgm_proc_error(&pgm_shared->launcher,
					   "could not register the pgmanage worker (max_worker_processes reached?)");
		return;
	}
	strlcpy(worker_handle_db, pgm_database, NAMEDATALEN);
}

void
pgm_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: shared catalogs only */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pgmanage launcher");

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->launcher.pid = MyProcPid;
	pgm_shared->launcher.started_at = GetCurrentTimestamp();
	pgm_shared->launcher_latch = MyLatch;
	LWLockRelease(pgm_shared->lock);

	ereport(LOG, (errmsg("pgmanage launcher started")));

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		timeout_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		timeout_ms = pgm_enforce_tick(now);
		launcher_supervise(now);

		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		pgm_shared->launcher.last_wake = now;
		LWLockRelease(pgm_shared->lock);

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
