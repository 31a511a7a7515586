/*-------------------------------------------------------------------------
 * vacuum/vacuum_worker.c
 *		The VACUUM worker: a short-lived dynamic background worker that runs
 *		one run of a 'vacuum' job in the run's database, one table at a time.
 *
 * Started by the pgmanage worker (vacuum_run.c) with bgw_main_arg = the
 * slot and bgw_extra = the run id; connects to the database by OID as the
 * bootstrap superuser (no libpq, no password, no pg_hba.conf entry) and
 * never restarts.  Refuses to do anything on a standby.
 *
 * VACUUM cannot run inside a transaction block, so each statement runs the
 * way postgres.c runs a simple query: parse, analyze, plan, a portal run
 * with isTopLevel = true, outside any transaction block, then COMMIT
 * (vw_exec_toplevel).  It goes through ProcessUtility (and so through the
 * hooks, pg_stat_statements included) and shows in pg_stat_activity and
 * pg_stat_progress_vacuum like any VACUUM.
 *
 * The job's cost limit and delay and its lock_timeout are set as this
 * process's own settings before the first statement (the process is
 * dedicated to the run); FREEZE, INDEX_CLEANUP, PARALLEL, SKIP_LOCKED and
 * ANALYZE are options of the statement itself.
 *
 * Per table: is the window over, was the run cancelled?  Can the
 * SHARE UPDATE EXCLUSIVE lock VACUUM needs be had right now?  (If not and
 * skip_locked is on, the table is skipped and the holders recorded; if
 * skip_locked is off, VACUUM waits at most lock_timeout and a timeout skips
 * the table.)  Size and dead tuples before, the statement, size and dead
 * tuples after; one entry in the run's details; optionally REINDEX INDEX
 * CONCURRENTLY of its bloated B-tree indexes, after dropping invalid
 * leftovers (_ccnew/_ccold) of an interrupted rebuild.
 *
 * pgm_cancel_run() sets cancel_requested and sends SIGINT: the statement
 * going on is cancelled and no further table is started; the run ends
 * 'cancelled'.  SIGTERM (shutdown) ends the process; the pgmanage worker
 * then records the run as failed.
 *
 * Like every pgmanage process it is exempt from slow-query capture
 * (pgm_internal_process); pg_stat_statements sees its statements as it
 * sees any session's.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "vacuum/vacuum.h"

/* longest wait for room in the slot's ring before an entry is dropped */
#define VW_RING_WAIT_MS 10000

/* wait event while the results ring is full (named on 17+, core/compat.h) */
static uint32 vw_wait_event = 0;

static PgmVacuumSlot *vw_slot = NULL;
static int64 vw_run_id = 0;
static PgmVacuumParams vw_params;
static MemoryContext vw_stmt_cxt = NULL;
static bool vw_cancelled = false;
static char vw_first_error[PGM_VACUUM_REASON_LEN];

/* -------- text -------- */

/*
 * Format into dst (size bytes), cut on a character boundary of this
 * database's encoding: a message cut in the middle of a character would
 * be invalid text in pgm_job_run.
 */
static void
vw_format(char *dst, size_t size, const char *fmt,...) pg_attribute_printf(3, 4);

static void
vw_format(char *dst, size_t size, const char *fmt,...)
{
	StringInfoData buf;
	int			len;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	len = buf.len;
	if (len >= (int) size)
		len = pg_mbcliplen(buf.data, len, size - 1);
	memcpy(dst, buf.data, len);
	dst[len] = '\0';
	pfree(buf.data);
}

/* -------- the slot -------- */

/* what cancelled the run, once it was: pgm_cancel_run() or a DROP DATABASE */
static char vw_cancel_reason[PGM_VACUUM_REASON_LEN] = "cancelled by pgm_cancel_run()";

static bool
vw_cancel_requested(void)
{
	bool		c;

	LWLockAcquire(pgm_vacuum->lock, LW_SHARED);
	c = vw_slot->cancel_requested;
	if (c && vw_slot->cancel_reason[0] != '\0')
		strlcpy(vw_cancel_reason, vw_slot->cancel_reason, sizeof(vw_cancel_reason));
	LWLockRelease(pgm_vacuum->lock);
	return c;
}

static void
vw_set_current(const char *relation)
{
	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	strlcpy(vw_slot->current, relation ? relation : "", sizeof(vw_slot->current));
	vw_slot->generation++;
	LWLockRelease(pgm_vacuum->lock);
}

/* add one entry to the ring, waiting (bounded) for the worker to drain it */
static void
vw_push(const PgmVacuumEntry *e, int d_vacuumed, int d_analyzed, int d_skipped,
		int d_failed, int d_reindexed, int64 d_dead, int64 d_before, int64 d_after)
{
	int			waited = 0;
	bool		half;

	for (;;)
	{
		LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
		if (vw_slot->ring_count < PGM_VACUUM_RING || waited >= VW_RING_WAIT_MS)
		{
			if (vw_slot->ring_count < PGM_VACUUM_RING)
			{
				vw_slot->ring[(vw_slot->ring_head + vw_slot->ring_count) % PGM_VACUUM_RING] = *e;
				vw_slot->ring_count++;
			}
			else
				vw_slot->entries_dropped++;
			/* its entry is in: no longer the table a termination would name */
			if (strcmp(vw_slot->current, e->relation) == 0)
				vw_slot->current[0] = '\0';
			vw_slot->tables_vacuumed += d_vacuumed;
			vw_slot->tables_analyzed += d_analyzed;
			vw_slot->tables_skipped += d_skipped;
			vw_slot->tables_failed += d_failed;
			vw_slot->indexes_rebuilt += d_reindexed;
			vw_slot->dead_removed += d_dead;
			vw_slot->bytes_before += d_before;
			vw_slot->bytes_after += d_after;
			vw_slot->generation++;
			half = vw_slot->ring_count >= PGM_VACUUM_RING / 2;
			LWLockRelease(pgm_vacuum->lock);
			if (half)
				pgm_wake_child(PGM_CHILD_WORKER);	/* drain early: no wait when it fills */
			break;
		}
		LWLockRelease(pgm_vacuum->lock);
		/* a cancelled run does not wait: what does not fit is counted as dropped */
		if (vw_cancelled || vw_cancel_requested())
		{
			vw_cancelled = true;
			waited = VW_RING_WAIT_MS;
			continue;
		}
		/* full: the pgmanage worker drains it and sets our latch */
		pgm_wake_child(PGM_CHILD_WORKER);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 20, pgm_wait_event(&vw_wait_event, "PgmanageVacuumResults"));
		ResetLatch(MyLatch);

		/*
		 * SIGTERM (pg_ctl stop -m fast, pg_terminate_backend) ends the process
		 * here, as during a statement.  SIGINT has no statement to cancel
		 * here: pgm_cancel_run()'s is seen through the slot above.
		 */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		waited += 20;
	}
}

static void
vw_entry_init(PgmVacuumEntry *e, const char *relation, const char *action, const char *reason)
{
	memset(e, 0, sizeof(*e));
	strlcpy(e->relation, relation, sizeof(e->relation));
	strlcpy(e->action, action, sizeof(e->action));
	strlcpy(e->reason, reason ? reason : "", sizeof(e->reason));
	e->dead_before = e->dead_after = e->bytes_before = e->bytes_after = -1;
}

static void
vw_skip(const PgmVacuumCandidate *c, const char *why)
{
	PgmVacuumEntry e;

	vw_entry_init(&e, c->display, c->analyze_only ? "analyze" : "vacuum", c->reason);
	strlcpy(e.outcome, "skipped", sizeof(e.outcome));
	strlcpy(e.error, why, sizeof(e.error));
	e.dead_before = c->dead;
	vw_push(&e, 0, 0, 1, 0, 0, 0, 0, 0);
}

/* the end: outcome into the slot, wake the pgmanage worker */
static void
vw_finish(const char *status, const char *error)
{
	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	strlcpy(vw_slot->status, status, sizeof(vw_slot->status));
	strlcpy(vw_slot->error, error ? error : "", sizeof(vw_slot->error));
	vw_slot->current[0] = '\0';
	vw_slot->state = PGM_VSLOT_DONE;
	vw_slot->generation++;
	LWLockRelease(pgm_vacuum->lock);
	pgm_wake_child(PGM_CHILD_WORKER);
	ereport(LOG,
			(errmsg("pgmanage vacuum run %lld %s%s%s", (long long) vw_run_id, status,
					error ? ": " : "", error ? error : "")));
}

/* exit without vw_finish (FATAL, SIGTERM): the slot says so */
static void
vw_on_exit(int code, Datum arg)
{
	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	if (vw_slot->run_id == vw_run_id &&
		(vw_slot->state == PGM_VSLOT_RUNNING || vw_slot->state == PGM_VSLOT_LAUNCHING))
	{
		vw_slot->state = PGM_VSLOT_DIED;
		strlcpy(vw_slot->status, "failed", sizeof(vw_slot->status));
		if (vw_slot->error[0] == '\0')
		{
			char		on[PGM_VACUUM_QUALNAME_LEN + 16] = "";

			/* the table it was on (the entry for it never came) */
			if (vw_slot->current[0] != '\0')
				snprintf(on, sizeof(on), " while on %s", vw_slot->current);
			snprintf(vw_slot->error, sizeof(vw_slot->error),
					 "the VACUUM worker was terminated%s (server shutdown, pg_terminate_backend or a FATAL error; see the server log)",
					 on);
			if (vw_slot->current[0] != '\0' && vw_slot->ring_count < PGM_VACUUM_RING)
			{
				PgmVacuumEntry *e = &vw_slot->ring[(vw_slot->ring_head + vw_slot->ring_count) % PGM_VACUUM_RING];

				memset(e, 0, sizeof(*e));
				strlcpy(e->relation, vw_slot->current, sizeof(e->relation));
				strlcpy(e->action, "none", sizeof(e->action));
				strlcpy(e->outcome, "failed", sizeof(e->outcome));
				strlcpy(e->error, "the VACUUM worker was terminated while on it", sizeof(e->error));
				e->dead_before = e->dead_after = e->bytes_before = e->bytes_after = -1;
				e->finished = GetCurrentTimestamp();
				vw_slot->ring_count++;
				vw_slot->tables_failed++;
			}
		}
		vw_slot->generation++;
	}
	LWLockRelease(pgm_vacuum->lock);
	pgm_wake_child(PGM_CHILD_WORKER);
}

/* -------- statements -------- */

/*
 * Run one statement as a top-level command outside any transaction block,
 * as exec_simple_query() does.  ERRORs propagate.
 */
static void
vw_exec_toplevel(const char *sql)
{
	MemoryContext oldcxt;
	List	   *parsetrees;
	RawStmt    *raw;
	CommandTag	tag;
	List	   *queries;
	List	   *plans;
	Portal		portal;
	DestReceiver *dest;
	QueryCompletion qc;

	MemoryContextReset(vw_stmt_cxt);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);

	oldcxt = MemoryContextSwitchTo(vw_stmt_cxt);
	parsetrees = pg_parse_query(sql);
	if (list_length(parsetrees) != 1)
		elog(ERROR, "expected one statement: %s", sql);
	raw = linitial_node(RawStmt, parsetrees);
	tag = CreateCommandTag(raw->stmt);
	queries = pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL);
	plans = pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, NULL);

	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, tag, plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	dest = CreateDestReceiver(DestNone);
	MemoryContextSwitchTo(oldcxt);

	(void) pgm_portal_run(portal, FETCH_ALL, true, dest, dest, &qc);
	dest->rDestroy(dest);
	PortalDrop(portal, false);
	CommitTransactionCommand();

	debug_query_string = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
	/* like a backend going idle: autovacuum sees what this wrote (at most once a second) */
	pgm_process_report_stats();
}

static void
vw_set(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
}

static void
vw_apply_settings(void)
{
	char		buf[64];

	vw_set("statement_timeout", "0");
	vw_set("idle_in_transaction_session_timeout", "0");
	snprintf(buf, sizeof(buf), "%d", vw_params.lock_timeout_ms);
	vw_set("lock_timeout", buf);
	if (vw_params.cost_limit >= 0)
	{
		snprintf(buf, sizeof(buf), "%d", vw_params.cost_limit);
		vw_set("vacuum_cost_limit", buf);
	}
	if (vw_params.cost_delay_ms >= 0)
	{
		snprintf(buf, sizeof(buf), "%g", vw_params.cost_delay_ms);
		vw_set("vacuum_cost_delay", buf);
	}
}

/*
 * Bytes of the main forks of a table, its indexes, its TOAST table and the
 * TOAST index: what VACUUM can give back.  The free space map and
 * visibility map forks are left out: VACUUM creates them on a table that
 * had none, which would count as bytes taken, not freed.
 */
static int64
vw_main_fork_bytes(Oid relid)
{
	return DatumGetInt64(DirectFunctionCall2(pg_relation_size, ObjectIdGetDatum(relid),
											 CStringGetTextDatum("main")));
}

static int64
vw_table_bytes(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			toast = rel->rd_rel->reltoastrelid;
	List	   *indexes = RelationGetIndexList(rel);
	int64		bytes = vw_main_fork_bytes(relid);
	ListCell   *lc;

	foreach(lc, indexes)
		bytes += vw_main_fork_bytes(lfirst_oid(lc));
	list_free(indexes);
	relation_close(rel, AccessShareLock);
	if (OidIsValid(toast))
	{
		rel = relation_open(toast, AccessShareLock);
		indexes = RelationGetIndexList(rel);
		bytes += vw_main_fork_bytes(toast);
		foreach(lc, indexes)
			bytes += vw_main_fork_bytes(lfirst_oid(lc));
		list_free(indexes);
		relation_close(rel, AccessShareLock);
	}
	return bytes;
}

/*
 * Size (main forks of the table, TOAST and indexes) and dead tuples of a table, in a
 * transaction of their own.  lockmode is taken conditionally: false (with
 * *holders) when another session holds a conflicting lock, or *gone when
 * the table was dropped.  Unknown values are -1.
 */
static bool
vw_measure(Oid relid, LOCKMODE lockmode, int64 *bytes, int64 *dead, bool *gone,
		   char *holders, int holders_len)
{
	bool		got;

	*bytes = *dead = -1;
	*gone = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	got = ConditionalLockRelationOid(relid, lockmode);
	if (got)
	{
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			*gone = true;
		else
		{
			*bytes = vw_table_bytes(relid);
			*dead = DatumGetInt64(DirectFunctionCall1(pg_stat_get_dead_tuples, ObjectIdGetDatum(relid)));
		}
		UnlockRelationOid(relid, lockmode);
	}
	else if (holders != NULL)
	{
		Oid			types[1] = {OIDOID};
		Datum		values[1];

		values[0] = ObjectIdGetDatum(relid);
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		holders[0] = '\0';
		if (SPI_execute_with_args(
								  "SELECT pg_catalog.string_agg(l.pid::text OPERATOR(pg_catalog.||) ' (' OPERATOR(pg_catalog.||) l.mode"
								  " OPERATOR(pg_catalog.||) ')', ', ' ORDER BY l.pid)"
								  " FROM pg_catalog.pg_locks l"
								  " WHERE l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.relation OPERATOR(pg_catalog.=) $1"
								  "   AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d"
								  "       WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
								  "   AND l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()",
								  1, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			strlcpy(holders, v ? v : "", holders_len);
		}
		PopActiveSnapshot();
		SPI_finish();
	}
	CommitTransactionCommand();
	return got;
}

static char *
vw_vacuum_sql(const PgmVacuumCandidate *c)
{
	StringInfoData sql;

	initStringInfo(&sql);
	if (c->analyze_only)
	{
		appendStringInfo(&sql, "ANALYZE (SKIP_LOCKED %s) %s",
						 vw_params.skip_locked ? "true" : "false", c->qualname);
		return sql.data;
	}
	appendStringInfo(&sql, "VACUUM (ANALYZE %s, FREEZE %s, INDEX_CLEANUP %s, SKIP_LOCKED %s",
					 vw_params.analyze ? "true" : "false",
					 vw_params.freeze ? "true" : "false",
					 vw_params.index_cleanup,
					 vw_params.skip_locked ? "true" : "false");
	if (vw_params.parallel >= 0)
		appendStringInfo(&sql, ", PARALLEL %d", vw_params.parallel);
	appendStringInfo(&sql, ") %s", c->qualname);
	return sql.data;
}

/*
 * Run a statement; on ERROR, classify it into outcome and why.  Returns true
 * if the statement completed.
 */
static bool
vw_try(const char *sql, char *outcome, char *why, int whylen)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		vw_exec_toplevel(sql);
	}
	PG_CATCH();
	{
		ErrorData  *edata = pgm_error_recover(cxt, true);

		ok = false;
		if (vw_cancel_requested())
		{
			vw_cancelled = true;
			strlcpy(outcome, "skipped", 12);
			vw_format(why, whylen, "run %s", vw_cancel_reason);
		}
		else if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		{
			strlcpy(outcome, "skipped", 12);
			vw_format(why, whylen, "lock not available within lock_timeout (%d ms): %s",
					  vw_params.lock_timeout_ms, edata->message);
		}
		else if (edata->sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
				 edata->sqlerrcode == ERRCODE_UNDEFINED_OBJECT)
		{
			strlcpy(outcome, "skipped", 12);
			vw_format(why, whylen, "dropped: %s", edata->message);
		}
		else
		{
			strlcpy(outcome, "failed", 12);
			vw_format(why, whylen, "%s", edata->message);
			if (vw_first_error[0] == '\0')
				vw_format(vw_first_error, sizeof(vw_first_error), "%s", edata->message);
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return ok;
}

/*
 * Just before dropping a leftover listed earlier: is the index with this
 * OID still an invalid _ccnew/_ccold index of this table?  Then its name
 * now (quoted, for the DROP) goes into qualname.  Dropping by the name
 * read earlier could drop another index that took the name since (a
 * rename while an earlier DROP INDEX CONCURRENTLY waited).  A rename or a
 * rebuild in the few milliseconds between this check and the DROP is not
 * excluded: DROP INDEX CONCURRENTLY cannot run in the transaction that
 * checks.
 */
static bool
vw_leftover_recheck(Oid indexoid, Oid relid, char *qualname, int len)
{
	Oid			types[2] = {OIDOID, OIDOID};
	Datum		values[2];
	bool		still = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = ObjectIdGetDatum(indexoid);
	values[1] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args(
							  "SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'"
							  "   OPERATOR(pg_catalog.||) pg_catalog.quote_ident(x.relname)"
							  " FROM pg_catalog.pg_index i"
							  " JOIN pg_catalog.pg_class x ON x.oid OPERATOR(pg_catalog.=) i.indexrelid"
							  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) x.relnamespace"
							  " WHERE i.indexrelid OPERATOR(pg_catalog.=) $1 AND i.indrelid OPERATOR(pg_catalog.=) $2"
							  "   AND NOT i.indisvalid AND x.relname OPERATOR(pg_catalog.~) '_cc(new|old)[0-9]*$'",
							  2, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		strlcpy(qualname, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), len);
		still = true;
	}
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	return still;
}

/*
 * The B-tree indexes of a table: first the invalid leftovers of an
 * interrupted REINDEX CONCURRENTLY (_ccnew, _ccold), dropped; then, unless
 * leftovers_only, the bloated ones, rebuilt one at a time.  A rebuild that
 * fails leaves its own invalid _ccnew index: one more pass drops it.
 */
static void
vw_reindex(const PgmVacuumCandidate *c, bool leftovers_only)
{
	typedef struct
	{
		Oid			oid;
		char		qualname[PGM_VACUUM_QUALNAME_LEN * 2];
		char		display[PGM_VACUUM_QUALNAME_LEN];
		bool		leftover;
	} VwIndex;
	VwIndex    *idx;
	int			n = 0;
	int			i;
	bool		rebuild_failed = false;
	Oid			types[1] = {OIDOID};
	Datum		values[1];

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = ObjectIdGetDatum(c->relid);
	if (SPI_execute_with_args(
							  "SELECT i.indexrelid, pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'"
							  "   OPERATOR(pg_catalog.||) pg_catalog.quote_ident(x.relname),"
							  " n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) x.relname,"
							  " NOT i.indisvalid AND x.relname OPERATOR(pg_catalog.~) '_cc(new|old)[0-9]*$'"
							  " FROM pg_catalog.pg_index i"
							  " JOIN pg_catalog.pg_class x ON x.oid OPERATOR(pg_catalog.=) i.indexrelid"
							  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) x.relnamespace"
							  " JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) x.relam"
							  " WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND a.amname OPERATOR(pg_catalog.=) 'btree'"
							  " ORDER BY 4 DESC, 3",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list indexes");
	idx = MemoryContextAllocZero(TopMemoryContext, sizeof(VwIndex) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		idx[n].oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		strlcpy(idx[n].qualname, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2), sizeof(idx[n].qualname));
		strlcpy(idx[n].display, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3), sizeof(idx[n].display));
		idx[n].leftover = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull));
		n++;
	}
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();

	for (i = 0; i < n; i++)
	{
		PgmVacuumEntry e;
		double		pct = 0;
		char	   *sql;
		bool		ok;

		if (idx[i].leftover)
		{
			char		current[PGM_VACUUM_QUALNAME_LEN * 2];

			vw_entry_init(&e, idx[i].display, "drop index",
						  "invalid leftover of an interrupted REINDEX CONCURRENTLY");
			if (!vw_leftover_recheck(idx[i].oid, c->relid, current, sizeof(current)))
			{
				/* rebuilt, renamed, dropped or made valid since it was listed: not ours */
				strlcpy(e.outcome, "skipped", sizeof(e.outcome));
				strlcpy(e.error, "no longer an invalid leftover of this table when its turn came: left alone",
						sizeof(e.error));
				e.started = e.finished = GetCurrentTimestamp();
				vw_push(&e, 0, 0, 0, 0, 0, 0, 0, 0);
				continue;
			}
			sql = psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", current);
		}
		else if (leftovers_only)
			continue;
		else if (vw_cancelled || vw_cancel_requested() ||
				 (vw_params.window_end != 0 && GetCurrentTimestamp() >= vw_params.window_end))
			break;
		else if (pgm_vacuum_index_bloat(idx[i].oid, &pct) && pct >= pgm_reindex_bloat_pct)
		{
			char		why[PGM_VACUUM_REASON_LEN];

			snprintf(why, sizeof(why), "estimated bloat %.0f%% >= pgmanage.reindex_bloat_pct (%g%%)",
					 pct, pgm_reindex_bloat_pct);
			vw_entry_init(&e, idx[i].display, "reindex", why);
			sql = psprintf("REINDEX INDEX CONCURRENTLY %s", idx[i].qualname);
		}
		else
			continue;

		vw_set_current(idx[i].display);
		e.started = GetCurrentTimestamp();
		ok = vw_try(sql, e.outcome, e.error, sizeof(e.error));
		e.finished = GetCurrentTimestamp();
		if (ok)
			strlcpy(e.outcome, "done", sizeof(e.outcome));
		else if (strcmp(e.action, "reindex") == 0)
			rebuild_failed = true;
		vw_push(&e, 0, 0, 0, strcmp(e.outcome, "failed") == 0 ? 1 : 0,
				(ok && strcmp(e.action, "reindex") == 0) ? 1 : 0, 0, 0, 0);
	}
	pfree(idx);
	if (rebuild_failed && !leftovers_only)
		vw_reindex(c, true);
}

/* one table: measure, VACUUM or ANALYZE, measure, record */
static void
vw_table(const PgmVacuumCandidate *c)
{
	PgmVacuumEntry e;
	char		holders[PGM_VACUUM_REASON_LEN];
	bool		gone;
	int64		bytes_after;
	int64		dead_after;
	bool		ok;
	bool		vacuumed;

	vw_entry_init(&e, c->display, c->analyze_only ? "analyze" : "vacuum", c->reason);
	e.dead_before = c->dead;
	vw_set_current(c->display);

	if (!vw_measure(c->relid, ShareUpdateExclusiveLock, &e.bytes_before, &e.dead_before, &gone,
					holders, sizeof(holders)))
	{
		if (vw_params.skip_locked)
		{
			char		why[PGM_VACUUM_REASON_LEN];

			snprintf(why, sizeof(why), "locked by another session%s%s%s",
					 holders[0] ? " (pid " : "", holders, holders[0] ? ")" : "");
			vw_skip(c, why);
			return;
		}
		e.dead_before = c->dead;	/* VACUUM waits at most lock_timeout */
	}
	else if (gone)
	{
		vw_skip(c, "dropped before its turn");
		return;
	}

	e.started = GetCurrentTimestamp();
	ok = vw_try(vw_vacuum_sql(c), e.outcome, e.error, sizeof(e.error));
	e.finished = GetCurrentTimestamp();
	if (!ok)
	{
		vw_push(&e, 0, 0, strcmp(e.outcome, "skipped") == 0 ? 1 : 0,
				strcmp(e.outcome, "failed") == 0 ? 1 : 0, 0, 0, 0, 0);
		return;
	}
	strlcpy(e.outcome, "done", sizeof(e.outcome));
	(void) vw_measure(c->relid, AccessShareLock, &bytes_after, &dead_after, &gone, NULL, 0);
	e.bytes_after = bytes_after;
	e.dead_after = dead_after;
	vacuumed = !c->analyze_only;
	/* the run's bytes_before/after add up the vacuumed tables only */
	vw_push(&e, vacuumed ? 1 : 0, vacuumed ? 0 : 1, 0, 0, 0,
			(vacuumed && e.dead_before >= 0 && dead_after >= 0 && e.dead_before > dead_after)
			? e.dead_before - dead_after : 0,
			(vacuumed && e.bytes_before >= 0 && bytes_after >= 0) ? e.bytes_before : 0,
			(vacuumed && e.bytes_before >= 0 && bytes_after >= 0) ? bytes_after : 0);

	if (vacuumed && vw_params.reindex_bloated)
		vw_reindex(c, false);
}

/* the whole run; returns the final status */
static const char *
vw_run(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	PgmVacuumCandidate *volatile cands = NULL;
	volatile int n = 0;
	int			i;

	if (vw_cancel_requested())
	{
		vw_cancelled = true;
		return "cancelled";
	}

	PG_TRY();
	{
		int			ncand = 0;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "pgmanage: listing tables that need VACUUM");
		cands = pgm_vacuum_candidates(&vw_params, &ncand);
		n = ncand;
		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata = pgm_error_recover(cxt, true);

		if (vw_cancel_requested())
			vw_cancelled = true;
		else
			vw_format(vw_first_error, sizeof(vw_first_error), "could not list tables: %s", edata->message);
		FreeErrorData(edata);
		return vw_cancelled ? "cancelled" : "failed";
	}
	PG_END_TRY();

	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	vw_slot->tables_considered = n;
	vw_slot->generation++;
	LWLockRelease(pgm_vacuum->lock);

	/* the tables that do not need it, first: the decision is recorded */
	for (i = 0; i < n; i++)
	{
		PgmVacuumEntry e;

		if (cands[i].picked)
			continue;
		vw_entry_init(&e, cands[i].display, "none", cands[i].reason);
		strlcpy(e.outcome, "not needed", sizeof(e.outcome));
		e.dead_before = cands[i].dead;
		vw_push(&e, 0, 0, 0, 0, 0, 0, 0, 0);
	}

	for (i = 0; i < n; i++)
	{
		const PgmVacuumCandidate *c = &cands[i];

		if (!c->picked)
			continue;
		if (!vw_cancelled && vw_cancel_requested())
			vw_cancelled = true;
		if (vw_cancelled)
		{
			char		why[PGM_VACUUM_REASON_LEN];

			vw_format(why, sizeof(why), "run %s", vw_cancel_reason);
			vw_skip(c, why);
			continue;
		}
		if (vw_params.window_end != 0 && GetCurrentTimestamp() >= vw_params.window_end)
		{
			char		why[PGM_VACUUM_REASON_LEN];

			snprintf(why, sizeof(why), "maintenance window ended at %s",
					 timestamptz_to_str(vw_params.window_end));
			vw_skip(c, why);
			continue;
		}
		vw_table(c);
	}
	vw_set_current(NULL);
	pfree(cands);

	if (vw_cancelled)
		return "cancelled";
	return vw_first_error[0] ? "failed" : "succeeded";
}

void
pgm_vacuum_worker_main(Datum arg)
{
	char		logname[PGM_LOG_NAME_BUF];
	int			slotno = DatumGetInt32(arg);
	const char *status;
	char		error[PGM_VACUUM_REASON_LEN];

	memcpy(&vw_run_id, MyBgworkerEntry->bgw_extra, sizeof(int64));
	/*
	 * pgmanage's own statements are never captured as slow queries: neither
	 * the candidate query nor the VACUUM, ANALYZE and REINDEX statements
	 * (each table's time is in the run's details).  Only the capture hooks
	 * read this flag: pg_stat_statements still counts every statement.
	 */
	pgm_internal_process = true;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (pgm_vacuum == NULL || slotno < 0 || slotno >= PGM_MAX_VACUUM_SLOTS)
		proc_exit(0);
	vw_slot = &pgm_vacuum->slots[slotno];
	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	if (vw_slot->state != PGM_VSLOT_LAUNCHING || vw_slot->run_id != vw_run_id)
	{
		LWLockRelease(pgm_vacuum->lock);
		proc_exit(0);			/* not ours any more */
	}
	vw_slot->pid = MyProcPid;
	vw_slot->latch = MyLatch;
	vw_slot->state = PGM_VSLOT_RUNNING;
	vw_slot->generation++;
	vw_params = vw_slot->params;
	LWLockRelease(pgm_vacuum->lock);
	before_shmem_exit(vw_on_exit, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(vw_params.dboid, InvalidOid, 0);
	pgm_process_pin_search_path();
	pgstat_report_appname("pgmanage vacuum");
	ereport(LOG, (errmsg("pgmanage vacuum run %lld started in database \"%s\"",
						 (long long) vw_run_id, pgm_log_name(vw_params.dbname, logname))));
	vw_stmt_cxt = AllocSetContextCreate(TopMemoryContext, "pgmanage vacuum statement",
										ALLOCSET_DEFAULT_SIZES);

	if (RecoveryInProgress())
	{
		vw_finish("failed", "the server is a standby: VACUUM runs on the primary only");
		proc_exit(0);
	}
	vw_apply_settings();
	status = vw_run();

	error[0] = '\0';
	if (strcmp(status, "cancelled") == 0)
		strlcpy(error, vw_cancel_reason, sizeof(error));
	else if (vw_first_error[0])
		strlcpy(error, vw_first_error, sizeof(error));
	vw_finish(status, error[0] ? error : NULL);
	proc_exit(0);
}
