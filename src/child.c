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
 *
 * pgm_child_recover() is what a child's PG_CATCH does: roll back, log the
 * error once per distinct message (not once per pass), and keep it for
 * pgm_status(); the child retries at its next pass.
 * pgm_extension_schema() finds the extension's schema for them.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "pgmanage.h"
#include "shmem.h"
#include "slowlog.h"

static PgmProcStatus *child_status = NULL;
static const char *child_name = NULL;
static char last_logged_error[PGM_ERROR_LEN];

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
	child_status = st;
	child_name = name;

	ereport(LOG, (errmsg("%s started in database \"%s\"", name, dbname)));
	return st;
}

/* the schema an extension lives in (get_extension_schema is static in 15) */
static Oid
child_extension_namespace(Oid extoid)
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
 * The schema pgmanage is installed in, in the current database (palloc'd),
 * or NULL if it is not installed.  Call inside a transaction.
 */
char *
pgm_extension_schema(void)
{
	Oid			extoid = get_extension_oid("pgmanage", true);

	if (!OidIsValid(extoid))
		return NULL;
	return get_namespace_name(child_extension_namespace(extoid));
}

/*
 * In a child's PG_CATCH: back to memory context "cxt", abort the
 * transaction, log the error ("what" says which part of the pass failed;
 * may be NULL) once per distinct message and keep it for pgm_status().
 */
void
pgm_child_recover(MemoryContext cxt, const char *what)
{
	ErrorData  *edata;
	char		buf[PGM_ERROR_LEN];

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();

	if (what)
		snprintf(buf, sizeof(buf), "%s: %s", what, edata->message);
	else
		strlcpy(buf, edata->message, sizeof(buf));
	if (strcmp(last_logged_error, buf) != 0)
	{
		ereport(LOG,
				(errmsg("%s: %s", child_name, buf),
				 errdetail("It retries at its next pass.")));
		strlcpy(last_logged_error, buf, PGM_ERROR_LEN);
	}
	pgm_proc_error(child_status, "%s", buf);
	FreeErrorData(edata);
}

/* a pass succeeded: the next error is logged even if it repeats the last */
void
pgm_child_error_cleared(void)
{
	last_logged_error[0] = '\0';
}
