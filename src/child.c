/*-------------------------------------------------------------------------
 * child.c
 *		The common life of the launcher's children: the dynamic background
 *		workers it runs in pgmanage.database (see PgmChild in shmem.h).
 *
 * pgm_child_start() is the first thing a child's main function calls: it
 * sets up SIGHUP and SIGTERM handling, connects to the database the
 * launcher passed in bgw_extra, publishes the child's pid and latch in
 * shared memory (exiting quietly if another copy already runs), and
 * arranges for them to be cleared at exit so the launcher can tell.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"

#include "pgmanage.h"
#include "shmem.h"
#include "slowlog.h"

static void
child_on_exit(int code, Datum arg)
{
	PgmProcStatus *st = &pgm_shared->children[DatumGetInt32(arg)];

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (st->pid == MyProcPid)
	{
		st->pid = 0;
		st->latch = NULL;
	}
	LWLockRelease(pgm_shared->lock);
	if (pgm_shared->launcher.latch)
		SetLatch(pgm_shared->launcher.latch);
}

/*
 * Set up a child process; returns its status slot.  "name" is its
 * application_name (and, by convention, its bgw_type).
 */
PgmProcStatus *
pgm_child_start(PgmChild which, const char *name)
{
	PgmProcStatus *st = &pgm_shared->children[which];
	char		dbname[NAMEDATALEN];
	int			other;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	pgm_slowlog_exempt = true;	/* our own statements are never captured */

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname(name);

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	other = st->pid;
	if (other != 0 && other != MyProcPid)
	{
		LWLockRelease(pgm_shared->lock);
		ereport(LOG, (errmsg("pgmanage: another %s is running (pid %d), exiting", name, other)));
		proc_exit(0);
	}
	memset(st, 0, sizeof(PgmProcStatus));
	st->pid = MyProcPid;
	st->started_at = GetCurrentTimestamp();
	st->latch = MyLatch;
	strlcpy(st->database, dbname, NAMEDATALEN);
	LWLockRelease(pgm_shared->lock);
	before_shmem_exit(child_on_exit, Int32GetDatum((int32) which));

	ereport(LOG, (errmsg("%s started in database \"%s\"", name, dbname)));
	return st;
}
