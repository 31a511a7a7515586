/*-------------------------------------------------------------------------
 * core/child.c
 *		The common life of pgmanage's processes: the BackgroundWorker they
 *		are registered with, the search_path they pin, and for the
 *		launcher's children (the dynamic background workers it runs in
 *		pgmanage.database, see PgmChild in core/shmem.h) their start and
 *		error recovery.
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
 * pgm_extension_ready() tells them whether the extension they work from
 * is installed here, in schema pgmanage, at the library's version.
 *
 * Every pgmanage process pins search_path = pg_catalog, pg_temp
 * (pgm_process_pin_search_path) at a priority that neither
 * postgresql.conf, ALTER DATABASE/ROLE ... SET nor a reload can override,
 * so nothing it runs can resolve to an object planted in another schema.
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
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "core/core.h"

bool		pgm_internal_process = false;

static PgmProcStatus *child_status = NULL;
static const char *child_name = NULL;
static char last_logged_error[PGM_ERROR_LEN];

/*
 * A background worker of this library, connected to shared memory and
 * (later, by its main function) to a database or none; "name" is both its
 * bgw_name and its bgw_type.  The caller adds bgw_extra, bgw_main_arg and
 * bgw_notify_pid as it needs.
 */
void
pgm_bgworker_init(BackgroundWorker *bgw, const char *function, const char *name,
				  int start, int restart_time)
{
	memset(bgw, 0, sizeof(BackgroundWorker));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = (BgWorkerStartTime) start;
	bgw->bgw_restart_time = restart_time;
	strlcpy(bgw->bgw_library_name, "pgmanage", BGW_MAXLEN);
	strlcpy(bgw->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(bgw->bgw_name, name, BGW_MAXLEN);
	strlcpy(bgw->bgw_type, name, BGW_MAXLEN);
}

/*
 * search_path = pg_catalog, pg_temp, at PGC_S_OVERRIDE: above the
 * configuration file, database and role settings, so a reload keeps it.
 * Call after connecting (and again is harmless).
 */
void
pgm_process_pin_search_path(void)
{
	SetConfigOption("search_path", PGM_SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);
}

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
	pgm_wake_launcher();
}

/*
 * Set up a child process; returns its status slot.  "name" is its
 * application_name (and, by convention, its bgw_type).
 */
PgmProcStatus *
pgm_child_start(PgmChild which, const char *name)
{
	char		logname[PGM_LOG_NAME_BUF];
	PgmProcStatus *st = &pgm_shared->children[which];
	char		dbname[NAMEDATALEN];
	int			other;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	pgm_internal_process = true;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgm_process_pin_search_path();
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

	ereport(LOG, (errmsg("%s started in database \"%s\"", name, pgm_log_name(dbname, logname))));
	return st;
}

/*
 * Is pgmanage installed in this database, in schema pgmanage, at this
 * library's version?  If not, "problem" says what is wrong and what to do.
 * Call inside a transaction.
 */
bool
pgm_extension_ready(char *problem, int problem_len)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		ready = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("pgmanage"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		snprintf(problem, problem_len, "extension \"pgmanage\" is not installed in database \"%s\"",
				 MyBgworkerEntry ? MyBgworkerEntry->bgw_extra : "?");
	else
	{
		Form_pg_extension ext = (Form_pg_extension) GETSTRUCT(tup);
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);
		char	   *version = isnull ? pstrdup("") : TextDatumGetCString(d);
		char	   *nsp = get_namespace_name(ext->extnamespace);

		if (strcmp(version, PGM_VERSION) != 0 || nsp == NULL || strcmp(nsp, PGM_SCHEMA) != 0)
			snprintf(problem, problem_len,
					 "extension \"pgmanage\" in database \"%s\" is version %s in schema \"%s\", the library is %s (run ALTER EXTENSION pgmanage UPDATE)",
					 MyBgworkerEntry ? MyBgworkerEntry->bgw_extra : "?",
					 version, nsp ? nsp : "?", PGM_VERSION);
		else
			ready = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return ready;
}

/*
 * The error recovery of every pgmanage process, in its PG_CATCH: back to
 * memory context "cxt", take the error (returned, allocated in cxt; the
 * caller frees it), optionally send it to the server log as it is, and
 * abort the transaction, so the process is outside any transaction and
 * idle again.
 */
ErrorData *
pgm_error_recover(MemoryContext cxt, bool emit)
{
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (emit)
		EmitErrorReport();
	FlushErrorState();
	AbortCurrentTransaction();
	debug_query_string = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(cxt);
	RESUME_INTERRUPTS();
	return edata;
}

/*
 * In a child's PG_CATCH: recover (above), log the error ("what" says which
 * part of the pass failed; may be NULL) once per distinct message and keep
 * it for pgm_status().
 */
void
pgm_child_recover(MemoryContext cxt, const char *what)
{
	ErrorData  *edata = pgm_error_recover(cxt, false);
	char		buf[PGM_ERROR_LEN * 4];	/* pgm_proc_error cuts it on a character */

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

/*
 * After a pass, outside any transaction: flush this process's table and
 * I/O statistics, as a backend does when it goes idle, so
 * pg_stat_user_tables and autovacuum see what it wrote.  Flushes at most
 * once a second (PGSTAT_MIN_INTERVAL); what is held back goes with the
 * next call.  Every pgmanage process that writes tables calls it after
 * each pass.
 */
void
pgm_process_report_stats(void)
{
	Assert(!IsTransactionOrTransactionBlock());
	(void) pgstat_report_stat(false);
}

/* a pass succeeded: the next error is logged even if it repeats the last */
void
pgm_child_error_cleared(void)
{
	last_logged_error[0] = '\0';
}
