/*-------------------------------------------------------------------------
 * core/utility_hook.c
 *		Keeps the pgmanage worker out of the way of commands that need its
 *		database to themselves.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME and CREATE DATABASE ... TEMPLATE
 * fail while another session is connected to the database.  When one of
 * them names the database of the launcher's children, this hook asks the
 * launcher to stay away from it for a while and stops them; the other
 * processes registered with pgm_utility_add_database_user (the VACUUM
 * workers of scheduled VACUUM, whose runs are recorded as cancelled) are
 * asked to leave it too.  It does so only once the command is known to
 * proceed past PostgreSQL's own checks (utility_may_proceed): run outside
 * a transaction block where PostgreSQL requires it, by a role that may run
 * it (owner of the database, CREATEDB where needed, checked with
 * PostgreSQL's own functions), on a database that exists and may be
 * dropped or renamed.  A command that would fail anyway stops nothing.  It waits (at most UTILITY_WAIT_MS) for them to
 * leave, then runs the command.  The launcher starts the worker again once
 * the database exists (under whichever name pgmanage.database gives).
 *
 * This is pgmanage's only ProcessUtility hook: after the step above it
 * hands the statement to the registered wrapper (slow-query capture,
 * capture/slowlog_hooks.c), which times it and counts the nesting level
 * around the rest of the chain.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "core/core.h"

#define UTILITY_WAIT_MS 5000
#define UTILITY_HOLD_MS 10000

#define PGM_MAX_DATABASE_USERS 4

/* wait event while DROP DATABASE waits for pgmanage's processes to leave (named on 17+) */
static uint32 drop_wait_event = 0;

static ProcessUtility_hook_type prev_utility_hook = NULL;
static PgmUtilityWrapper utility_wrapper = NULL;
static const PgmDatabaseUser *database_users[PGM_MAX_DATABASE_USERS];
static int	ndatabase_users = 0;

/* from _PG_init: what wraps the rest of the chain (slow-query capture) */
void
pgm_utility_set_wrapper(PgmUtilityWrapper wrapper)
{
	utility_wrapper = wrapper;
}

/* from _PG_init: processes that work in a database and must leave it */
void
pgm_utility_add_database_user(const PgmDatabaseUser *user)
{
	if (ndatabase_users >= PGM_MAX_DATABASE_USERS)
		elog(ERROR, "pgmanage: too many database users");
	database_users[ndatabase_users++] = user;
}

/* the database a utility statement needs exclusive use of, if any */
static const char *
utility_exclusive_db(Node *stmt)
{
	if (IsA(stmt, DropdbStmt))
		return ((DropdbStmt *) stmt)->dbname;
	if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		return ((RenameStmt *) stmt)->subname;
	if (IsA(stmt, CreatedbStmt))
	{
		ListCell   *lc;

		foreach(lc, ((CreatedbStmt *) stmt)->options)
		{
			DefElem    *opt = lfirst_node(DefElem, lc);

			if (strcmp(opt->defname, "template") == 0 && opt->arg)
				return defGetString(opt);
		}
	}
	return NULL;
}

/* the role has CREATEDB (dbcommands.c's have_createdb_privilege is static) */
static bool
utility_has_createdb(void)
{
	HeapTuple	tup;
	bool		result = false;

	if (superuser())
		return true;
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_authid) GETSTRUCT(tup))->rolcreatedb;
		ReleaseSysCache(tup);
	}
	return result;
}

/*
 * Will PostgreSQL run this command on database "dbname", as far as what
 * it checks before it needs the database to itself?  The same checks, in
 * the same terms, as dropdb(), RenameDatabase() and createdb() make:
 * outside a transaction block (DROP and CREATE DATABASE), the database
 * exists, the role owns it (DROP, RENAME; CREATE ... TEMPLATE of a
 * database that is not a template), has CREATEDB (RENAME, CREATE), and it
 * is not the current database or (DROP) a template.  When false, the
 * command fails on its own, and nothing of pgmanage's is touched.
 */
static bool
utility_may_proceed(Node *stmt, const char *dbname, ProcessUtilityContext context)
{
	bool		top_level = (context == PROCESS_UTILITY_TOPLEVEL);
	bool		needs_no_xact_block = IsA(stmt, DropdbStmt) || IsA(stmt, CreatedbStmt);
	HeapTuple	tup;
	Form_pg_database db;
	Oid			dboid;
	bool		is_template;

	/* PreventInTransactionBlock's conditions, without its ERROR */
	if (needs_no_xact_block &&
		(!top_level || IsTransactionBlock() || IsSubTransaction() ||
		 (MyXactFlags & XACT_FLAGS_PIPELINING)))
		return false;

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(get_database_oid(dbname, true)));
	if (!HeapTupleIsValid(tup))
		return false;
	db = (Form_pg_database) GETSTRUCT(tup);
	dboid = db->oid;
	is_template = db->datistemplate;
	ReleaseSysCache(tup);

	if (IsA(stmt, DropdbStmt))
		return pgm_database_ownercheck(dboid, GetUserId()) &&
			!is_template && dboid != MyDatabaseId;
	if (IsA(stmt, RenameStmt))
	{
		const char *newname = ((RenameStmt *) stmt)->newname;

		return pgm_database_ownercheck(dboid, GetUserId()) &&
			utility_has_createdb() && dboid != MyDatabaseId &&
			newname != NULL && !OidIsValid(get_database_oid(newname, true));
	}
	if (IsA(stmt, CreatedbStmt))
	{
		const char *newname = ((CreatedbStmt *) stmt)->dbname;

		return utility_has_createdb() &&
			(is_template || pgm_database_ownercheck(dboid, GetUserId())) &&
			newname != NULL && !OidIsValid(get_database_oid(newname, true));
	}
	return false;
}

static void
utility_release_database(const char *dbname)
{
	char		logname[PGM_LOG_NAME_BUF];
	int			pids[PGM_NUM_CHILDREN];
	int			n = 0;
	int			nothers = 0;
	int			waited = 0;
	int			i;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGM_NUM_CHILDREN; i++)
		if (pgm_shared->children[i].pid != 0 &&
			strcmp(pgm_shared->children[i].database, dbname) == 0)
			pids[n++] = pgm_shared->children[i].pid;
	if (n > 0)
		pgm_shared->hold_worker_until =
			TimestampTzPlusMilliseconds(GetCurrentTimestamp(), UTILITY_HOLD_MS);
	LWLockRelease(pgm_shared->lock);
	for (i = 0; i < ndatabase_users; i++)
		nothers += database_users[i]->release(dbname);
	if (n == 0 && nothers == 0)
		return;

	ereport(LOG,
			(errmsg("pgmanage: stopping its processes in database \"%s\" so that it can be dropped or changed",
					pgm_log_name(dbname, logname))));
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (waited < UTILITY_WAIT_MS)
	{
		bool		gone = true;

		LWLockAcquire(pgm_shared->lock, LW_SHARED);
		for (i = 0; i < PGM_NUM_CHILDREN; i++)
			if (pgm_shared->children[i].pid != 0 &&
				strcmp(pgm_shared->children[i].database, dbname) == 0)
				gone = false;
		LWLockRelease(pgm_shared->lock);
		for (i = 0; i < ndatabase_users; i++)
			if (database_users[i]->in_database(dbname))
				gone = false;
		if (gone)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, pgm_wait_event(&drop_wait_event, "PgmanageDropDatabase"));
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		waited += 10;
	}
}

/* the rest of the chain: the previous hook or the standard function */
static void
utility_next(PlannedStmt *pstmt, const char *queryString,
			 bool readOnlyTree, ProcessUtilityContext context,
			 ParamListInfo params, QueryEnvironment *queryEnv,
			 DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context,
						  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

static void
pgm_process_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	const char *dbname = utility_exclusive_db(pstmt->utilityStmt);

	if (dbname != NULL && pgm_shared != NULL &&
		utility_may_proceed(pstmt->utilityStmt, dbname, context))
		utility_release_database(dbname);

	if (utility_wrapper)
		utility_wrapper(pstmt, queryString, readOnlyTree, context,
						params, queryEnv, dest, qc, utility_next);
	else
		utility_next(pstmt, queryString, readOnlyTree, context,
					 params, queryEnv, dest, qc);
}

void
pgm_install_utility_hook(void)
{
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = pgm_process_utility;
}
