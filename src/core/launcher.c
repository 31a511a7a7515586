/*-------------------------------------------------------------------------
 * core/launcher.c
 *		The pgmanage launcher: a static background worker, connected to no
 *		database, that enforces timeout policies and keeps the pgmanage
 *		worker running in pgmanage.database.
 *
 * Its loop only waits and dispatches: each pass runs the tick registered
 * by _PG_init (timeout enforcement, timeouts/policy_enforce.c), which says
 * when the next deadline falls, and the supervisor below; then it sleeps on its latch until that deadline,
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
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "core/core.h"

/* seconds the postmaster waits before restarting a crashed launcher */
#define LAUNCHER_RESTART_SECONDS 5

/* wait event of the launcher's sleep (named on 17+, core/compat.h) */
static uint32 launcher_wait_event = 0;

/* the children, by PgmChild: bgw_type / application_name and entry point */
static const struct
{
	const char *name;
	const char *function;
}			launcher_children[PGM_NUM_CHILDREN] = {
	[PGM_CHILD_WORKER] = {"pgmanage worker", "pgm_worker_main"},
	[PGM_CHILD_SENDER] = {"pgmanage sender", "pgm_sender_main"},
};

static BackgroundWorkerHandle *child_handle[PGM_NUM_CHILDREN];
static bool child_stopping[PGM_NUM_CHILDREN];	/* asked to stop, not gone yet */
/* why the children are not started, as last logged ("" when they are) */
static char missing_db_logged[PGM_ERROR_LEN];
static TimestampTz next_db_check = 0;
static PgmLauncherTick launcher_tick = NULL;

/* from _PG_init: what the launcher does on each pass */
void
pgm_launcher_set_tick(PgmLauncherTick tick)
{
	launcher_tick = tick;
}

void
pgm_register_launcher(void)
{
	BackgroundWorker bgw;

	pgm_bgworker_init(&bgw, "pgm_launcher_main", "pgmanage launcher",
					  BgWorkerStart_ConsistentState, LAUNCHER_RESTART_SECONDS);
	RegisterBackgroundWorker(&bgw);
}

/*
 * Is a child alive (or starting)?  Ours, through its handle; or one that a
 * previous launcher started, through the pid it keeps in shared memory
 * (the child clears it when it exits).  *db: the database it runs in.
 */
static bool
launcher_child_alive(PgmChild which, char *db)
{
	pid_t		pid;
	int			shared_pid;

	if (child_handle[which] != NULL)
	{
		switch (GetBackgroundWorkerPid(child_handle[which], &pid))
		{
			case BGWH_STARTED:
			case BGWH_NOT_YET_STARTED:
				break;
			default:
				pfree(child_handle[which]);
				child_handle[which] = NULL;
		}
	}
	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	shared_pid = pgm_shared->children[which].pid;
	strlcpy(db, pgm_shared->children[which].database, NAMEDATALEN);
	LWLockRelease(pgm_shared->lock);
	if (child_handle[which] != NULL && shared_pid == 0)
		strlcpy(db, pgm_database, NAMEDATALEN);	/* starting up */
	return child_handle[which] != NULL || shared_pid != 0;
}

static void
launcher_stop_child(PgmChild which)
{
	int			pid;

	if (child_handle[which] != NULL)
	{
		TerminateBackgroundWorker(child_handle[which]);
		return;
	}
	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	pid = pgm_shared->children[which].pid;
	LWLockRelease(pgm_shared->lock);
	if (pid != 0)
		kill(pid, SIGTERM);
}

/*
 * A database's OID, by a plain heap scan of pg_database: with no database
 * selected, the relcache may not be able to open its indexes yet (the
 * autovacuum launcher reads pg_database the same way).  *allowconn and
 * *istemplate: its datallowconn and datistemplate.
 */
static Oid
launcher_database_oid(const char *dbname, bool *allowconn, bool *istemplate)
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
			*allowconn = db->datallowconn;
			*istemplate = db->datistemplate;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dboid;
}

static void
launcher_start_child(PgmChild which)
{
	BackgroundWorker bgw;

	pgm_bgworker_init(&bgw, launcher_children[which].function, launcher_children[which].name,
					  BgWorkerStart_ConsistentState, BGW_NEVER_RESTART);
	strlcpy(bgw.bgw_extra, pgm_database, BGW_EXTRALEN);
	bgw.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&bgw, &child_handle[which]))
	{
		child_handle[which] = NULL;
		pgm_proc_error(&pgm_shared->launcher,
					   "could not start %s: no free background worker slot (max_worker_processes)",
					   launcher_children[which].name);
	}
}

/*
 * Keep every child running in pgmanage.database, if that database exists
 * and no DROP DATABASE asked us to stay away; restart children that run
 * in a database pgmanage.database no longer names.
 */
static void
launcher_supervise(TimestampTz now)
{
	bool		need_start[PGM_NUM_CHILDREN];
	bool		any = false;
	bool		hold;
	Oid			dboid;
	bool		allowconn = false;
	bool		istemplate = false;
	char		why[PGM_ERROR_LEN];
	int			i;

	bool		logged = false;

	for (i = 0; i < PGM_NUM_CHILDREN; i++)
	{
		char		db[NAMEDATALEN];

		need_start[i] = !launcher_child_alive(i, db);
		if (need_start[i])
			child_stopping[i] = false;
		else if (strcmp(db, pgm_database) != 0 && !child_stopping[i])
		{
			/* once: the children take a moment to exit */
			if (!logged)
				ereport(LOG,
						(errmsg("pgmanage: pgmanage.database changed from \"%s\" to \"%s\", restarting pgmanage's processes there",
								db, pgm_database)));
			logged = true;
			launcher_stop_child(i);
			child_stopping[i] = true;
		}
		any |= need_start[i];
	}
	if (!any)
		return;

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	hold = pgm_shared->hold_worker_until > now;
	LWLockRelease(pgm_shared->lock);
	if (hold || now < next_db_check)
		return;
	next_db_check = TimestampTzPlusMilliseconds(now, pgm_naptime_ms);

	dboid = launcher_database_oid(pgm_database, &allowconn, &istemplate);
	why[0] = '\0';
	if (!OidIsValid(dboid))
		snprintf(why, sizeof(why), "database \"%s\" does not exist", pgm_database);
	else if (istemplate)
		snprintf(why, sizeof(why), "database \"%s\" is a template database", pgm_database);
	else if (!allowconn)
		snprintf(why, sizeof(why), "database \"%s\" does not allow connections", pgm_database);
	if (why[0] != '\0')
	{
		/*
		 * Once per condition, not once per naptime: a child would FATAL at
		 * each try (no connections) or stand in the way of every CREATE
		 * DATABASE (a template's copies need it to themselves).
		 */
		if (strcmp(missing_db_logged, why) != 0)
		{
			if (!OidIsValid(dboid))
				ereport(LOG,
						(errmsg("pgmanage: database \"%s\" named by pgmanage.database does not exist; waiting for it",
								pgm_database),
						 errhint("Create the database, or set pgmanage.database and reload.")));
			else
				ereport(LOG,
						(errmsg("pgmanage: %s; pgmanage's processes do not start there, waiting", why),
						 istemplate
						 ? errhint("Set pgmanage.database to a database that is not a template and reload.")
						 : errhint("Run ALTER DATABASE %s ALLOW_CONNECTIONS true, or set pgmanage.database and reload.",
								   quote_identifier(pgm_database))));
			pgm_proc_error(&pgm_shared->launcher, "%s", why);
			strlcpy(missing_db_logged, why, sizeof(missing_db_logged));
		}
		return;
	}
	if (missing_db_logged[0] != '\0')
	{
		/* the condition no longer holds: pgm_status() stops showing it */
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		if (strcmp(pgm_shared->launcher.last_error, missing_db_logged) == 0)
		{
			pgm_shared->launcher.last_error[0] = '\0';
			pgm_shared->launcher.last_error_at = 0;
		}
		LWLockRelease(pgm_shared->lock);
		missing_db_logged[0] = '\0';
	}

	for (i = 0; i < PGM_NUM_CHILDREN; i++)
		if (need_start[i])
			launcher_start_child(i);
}

/* at exit: the slot keeps no pid or latch of a process that is gone */
static void
launcher_on_exit(int code, Datum arg)
{
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (pgm_shared->launcher.pid == MyProcPid)
	{
		pgm_shared->launcher.pid = 0;
		pgm_shared->launcher.latch = NULL;
		pgm_shared->launcher.next_deadline = 0;
	}
	LWLockRelease(pgm_shared->lock);
}

void
pgm_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	pgm_internal_process = true;

	/* no database: shared catalogs only */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgm_process_pin_search_path();
	pgstat_report_appname("pgmanage launcher");

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->launcher.pid = MyProcPid;
	pgm_shared->launcher.started_at = GetCurrentTimestamp();
	pgm_shared->launcher.latch = MyLatch;
	LWLockRelease(pgm_shared->lock);
	before_shmem_exit(launcher_on_exit, (Datum) 0);

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

		timeout_ms = launcher_tick ? launcher_tick(now) : pgm_naptime_ms;
		launcher_supervise(now);

		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		pgm_shared->launcher.last_wake = now;
		LWLockRelease(pgm_shared->lock);

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms,
						 pgm_wait_event(&launcher_wait_event, "PgmanageLauncherMain"));
		ResetLatch(MyLatch);
	}
}
