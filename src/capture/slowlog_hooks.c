/*-------------------------------------------------------------------------
 * capture/slowlog_hooks.c
 *		Slow-statement capture: executor hooks, and the utility-statement
 *		wrapper that core/utility_hook.c calls.
 *
 * Cost model.  With pgmanage.log_min_duration = -1 (the default) each hook
 * only tests a few variables and calls the next one.  When capture is on,
 * a captured statement costs two clock reads (INSTR_TIME at executor start
 * and end) and one small allocation in its executor memory context; only
 * when pgmanage.log_plan asks for a plan is per-node instrumentation
 * switched on, and then only INSTRUMENT_ROWS (row counts, no clock reads
 * per node): the plan shows actual rows and loops, as EXPLAIN (ANALYZE,
 * TIMING OFF) does.  Everything else (text, plan, log line, ring entry)
 * happens only for a statement that turned out slow.
 *
 * Which statements.  Sampling (pgmanage.sample_rate) is decided once per
 * top-level statement, and nested statements follow their top-level
 * statement's decision.  Nested statements (inside functions, DO, CALL) are
 * captured only with pgmanage.log_nested_statements.  The nesting level is
 * counted as auto_explain counts it (ExecutorRun and ExecutorFinish), plus
 * around every utility statement, so that statements run by DO or CALL
 * count as nested; EXECUTE, PREPARE and DEALLOCATE are left to the
 * executor hooks, like pg_stat_statements does, so EXECUTE is captured as
 * the statement it runs.  Utility statements themselves are captured with
 * pgmanage.log_utility.  Parallel workers and pgmanage's own processes
 * capture nothing: a parallel query is captured once, by its leader.
 *
 * Duration.  From ExecutorStart to ExecutorEnd (for a cursor that includes
 * the time between fetches), or around the utility statement.
 *
 * Per-query state lives in a small backend-local list keyed by QueryDesc;
 * a reset callback on the executor's memory context removes an entry when
 * its query is freed without reaching ExecutorEnd (error, aborted cursor).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "commands/explain.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/scansup.h"
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "capture/capture.h"

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* current nesting depth of ExecutorRun/Finish calls and utility statements */
static int	slow_nesting = 0;

/* is the current top-level statement sampled? */
static bool slow_sampled = false;

/* statements being timed, innermost last */
#define SLOW_MAX_OPEN 32

typedef struct SlowOpen
{
	QueryDesc  *qd;
	instr_time	start;
	int			level;
	bool		plan;			/* instrumentation asked for at start */
} SlowOpen;

static SlowOpen slow_open[SLOW_MAX_OPEN];
static int	slow_nopen = 0;

/* built here, copied into the ring (one backend-local buffer) */
static PgmSlowEntry slow_entry;

/* decide, at a top-level statement, whether it is sampled */
static inline bool
slow_decide_sampled(void)
{
	if (pgm_log_min_duration_ms < 0 || pgm_internal_process || IsParallelWorker())
		return false;
	if (pgm_sample_rate >= 1.0)
		return true;
	return pgm_sample_rate > 0.0 && pg_prng_double(&pg_global_prng_state) < pgm_sample_rate;
}

/* is a statement starting now at the current level to be timed? */
static inline bool
slow_wanted(void)
{
	return slow_sampled && pgm_log_min_duration_ms >= 0 &&
		(slow_nesting == 0 || pgm_log_nested_statements);
}

static void
slow_forget(void *arg)
{
	QueryDesc  *qd = (QueryDesc *) arg;
	int			i;

	for (i = slow_nopen - 1; i >= 0; i--)
	{
		if (slow_open[i].qd == qd)
		{
			memmove(&slow_open[i], &slow_open[i + 1], sizeof(SlowOpen) * (slow_nopen - i - 1));
			slow_nopen--;
			return;
		}
	}
}

/*
 * The text of one statement out of a query string that may hold several
 * (as pg_stat_statements cuts it), without surrounding white space.
 */
static char *
slow_statement_text(const char *source, int location, int len)
{
	if (source == NULL)
		return pstrdup("");
	if (location >= 0 && location <= (int) strlen(source))
	{
		source += location;
		if (len <= 0)
			len = strlen(source);
	}
	else
		len = strlen(source);
	while (len > 0 && scanner_isspace(*source))
	{
		source++;
		len--;
	}
	while (len > 0 && scanner_isspace(source[len - 1]))
		len--;
	return pnstrdup(source, len);
}

/* the plan, as EXPLAIN (ANALYZE, TIMING OFF) would print it, or NULL */
static char *
slow_plan_text(QueryDesc *qd, bool analyze, PgmLogPlan format)
{
	ExplainState *es = NewExplainState();

	es->analyze = analyze;
	es->timing = false;
	es->buffers = false;
	es->summary = false;
	es->verbose = false;
	es->format = (format == PGM_LOG_PLAN_JSON) ? EXPLAIN_FORMAT_JSON : EXPLAIN_FORMAT_TEXT;
	ExplainBeginOutput(es);
	ExplainPrintPlan(es, qd);
	if (es->costs)
		ExplainPrintJITSummary(es, qd);
	ExplainEndOutput(es);
	if (es->str->len > 0 && es->str->data[es->str->len - 1] == '\n')
		es->str->data[--es->str->len] = '\0';
	/* a JSON object rather than an array of one, as auto_explain does */
	if (es->format == EXPLAIN_FORMAT_JSON && es->str->len >= 2)
	{
		es->str->data[0] = '{';
		es->str->data[es->str->len - 1] = '}';
	}
	return es->str->data;
}

/*
 * A statement was slow: log it as log_min_duration_statement does (and
 * its plan as auto_explain does), and hand it to the worker.
 */
static void
slow_report(double msec, const char *text, const char *plan, PgmLogPlan plan_format,
			int64 queryid, uint64 rows, int level, bool utility)
{
	PgmSlowEntry *e = &slow_entry;
	int			len;

	ereport(LOG,
			(errmsg("duration: %.3f ms  statement: %s", msec, text),
			 errhidestmt(true)));
	if (plan != NULL)
		ereport(LOG,
				(errmsg("duration: %.3f ms  plan:\n%s", msec, plan),
				 errhidestmt(true)));

	if (!pgm_slow_ring_available())
		return;
	e->captured_at = GetCurrentTimestamp();
	e->duration_ms = msec;
	e->queryid = queryid;
	e->rows = rows;
	e->userid = GetUserId();
	e->dbid = MyDatabaseId;
	e->pid = MyProcPid;
	e->nesting_level = (int16) Min(level, PG_INT16_MAX);
	e->utility = utility;
	e->plan_format = plan ? (uint8) plan_format : PGM_LOG_PLAN_OFF;
	strlcpy(e->appname, application_name ? application_name : "", NAMEDATALEN);
	if (MyBEEntry != NULL)
		e->clientaddr = MyBEEntry->st_clientaddr;
	else
		memset(&e->clientaddr, 0, sizeof(SockAddr));
	len = strlen(text);
	if (len > PGM_SLOW_QUERY_MAX)
		len = pg_mbcliplen(text, len, PGM_SLOW_QUERY_MAX);
	memcpy(e->query, text, len);
	e->query[len] = '\0';
	e->query_len = len;
	len = plan ? strlen(plan) : 0;
	if (len > PGM_SLOW_PLAN_MAX)
		len = pg_mbcliplen(plan, len, PGM_SLOW_PLAN_MAX);
	if (len > 0)
		memcpy(e->plan, plan, len);
	e->plan[len] = '\0';
	e->plan_len = len;
	pgm_slow_ring_push(e);
}

static void
slow_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		timed;
	bool		plan = false;
	instr_time	start;

	if (slow_nesting == 0)
		slow_sampled = slow_decide_sampled();
	timed = slow_wanted() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		slow_nopen < SLOW_MAX_OPEN;
	if (timed)
	{
		if (pgm_log_plan != PGM_LOG_PLAN_OFF)
		{
			/* actual rows per node, without a clock read per node */
			queryDesc->instrument_options |= INSTRUMENT_ROWS;
			plan = true;
		}
		INSTR_TIME_SET_CURRENT(start);
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (timed && queryDesc->estate != NULL)
	{
		MemoryContextCallback *cb;
		SlowOpen   *o = &slow_open[slow_nopen];

		cb = MemoryContextAlloc(queryDesc->estate->es_query_cxt, sizeof(MemoryContextCallback));
		cb->func = slow_forget;
		cb->arg = queryDesc;
		o->qd = queryDesc;
		o->start = start;
		o->level = slow_nesting;
		o->plan = plan;
		slow_nopen++;
		MemoryContextRegisterResetCallback(queryDesc->estate->es_query_cxt, cb);
	}
}

static void
slow_ExecutorRun(PGM_EXECUTOR_RUN_PARAMS)
{
	slow_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			PGM_EXECUTOR_RUN_CALL(prev_ExecutorRun);
		else
			PGM_EXECUTOR_RUN_CALL(standard_ExecutorRun);
	}
	PG_FINALLY();
	{
		slow_nesting--;
	}
	PG_END_TRY();
}

static void
slow_ExecutorFinish(QueryDesc *queryDesc)
{
	slow_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		slow_nesting--;
	}
	PG_END_TRY();
}

static void
slow_ExecutorEnd(QueryDesc *queryDesc)
{
	int			i;

	for (i = slow_nopen - 1; i >= 0; i--)
	{
		if (slow_open[i].qd == queryDesc)
			break;
	}
	if (i >= 0)
	{
		SlowOpen	o = slow_open[i];
		instr_time	now;
		double		msec;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, o.start);
		msec = INSTR_TIME_GET_MILLISEC(now);
		slow_forget(queryDesc);

		if (pgm_log_min_duration_ms >= 0 && msec >= pgm_log_min_duration_ms)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
			PlannedStmt *ps = queryDesc->plannedstmt;
			char	   *text = slow_statement_text(queryDesc->sourceText,
												   ps->stmt_location, ps->stmt_len);
			char	   *plan = NULL;
			PgmLogPlan	format = (PgmLogPlan) pgm_log_plan;

			if (format != PGM_LOG_PLAN_OFF)
				plan = slow_plan_text(queryDesc, o.plan, format);
			slow_report(msec, text, plan, format, (int64) ps->queryId,
						queryDesc->estate->es_processed, o.level, false);
			MemoryContextSwitchTo(oldcxt);
		}
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * Called by core/utility_hook.c's ProcessUtility hook (the module's only one),
 * with the function that runs the rest of the chain.
 */
void
pgm_slowlog_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc,
					PgmUtilityNext next)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		timed;
	instr_time	start;
	int			level = slow_nesting;

	/* EXECUTE runs through the executor hooks: count it there */
	if (IsA(stmt, ExecuteStmt) || IsA(stmt, PrepareStmt) || IsA(stmt, DeallocateStmt))
	{
		next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}

	if (slow_nesting == 0)
		slow_sampled = slow_decide_sampled();
	timed = pgm_log_utility && slow_wanted();
	if (timed)
		INSTR_TIME_SET_CURRENT(start);

	slow_nesting++;
	PG_TRY();
	{
		next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		slow_nesting--;
	}
	PG_END_TRY();

	if (timed)
	{
		instr_time	now;
		double		msec;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		msec = INSTR_TIME_GET_MILLISEC(now);
		if (pgm_log_min_duration_ms >= 0 && msec >= pgm_log_min_duration_ms)
		{
			char	   *text = slow_statement_text(queryString, pstmt->stmt_location,
												   pstmt->stmt_len);

			slow_report(msec, text, NULL, PGM_LOG_PLAN_OFF, (int64) pstmt->queryId,
						qc ? qc->nprocessed : 0, level, true);
			pfree(text);
		}
	}
}

/* called from _PG_init while preloading */
void
pgm_slowlog_install_hooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = slow_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = slow_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = slow_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = slow_ExecutorEnd;
}
