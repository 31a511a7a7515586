/*-------------------------------------------------------------------------
 * core/retention.c
 *		The one pruning duty: every table the worker keeps (logs, history,
 *		the outbox) is pruned here, from the rules capabilities register
 *		(pgm_retention_add, from _PG_init): table, timestamp column, the
 *		setting that says how many minutes to keep, an optional condition
 *		that keeps a row whatever its age (a pending delivery, a run still
 *		running), and the setting that caps its rows (see duty.h).
 *
 * Age: each rule is due once a minute.  Cap: each rule is checked every
 * RETENTION_CAP_INTERVAL_MS; the check costs two index probes (max and
 * min of the id) while the table is clearly under its cap, and one index
 * scan of at most max_rows entries when it may be over (14 ms for 100,000
 * on the machine of docs/benchmarks.md).  A weighted rule (snapshots,
 * counted by their history rows) reads its small table once per check; an
 * orphan rule (query texts) runs only after the rule before it deleted,
 * with one hashed pass over the history.  A pass deletes at most
 * RETENTION_BATCH rows of a table per kind (by ctid, oldest first; for a
 * weighted rule, rows standing for at most that many), and a rule with
 * more to delete is due again at the next pass (the worker passes at
 * least once a second), so a backlog is worked off in steps that never
 * hold a long transaction.  The duty runs with the worker's lock_timeout
 * (PGM_DUTY_LOCK_TIMEOUT_MS, worker.c).
 *
 * Rows that "keep" protects (work not yet done) are never deleted by the
 * cap either; when they alone hold a table over its cap, that is logged
 * once, shown as the worker's last error in pgm_status(), and logged once
 * more when it no longer holds.  Primary only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/core.h"

#define PGM_MAX_RETENTION 12
#define RETENTION_INTERVAL_MS (60 * 1000)
#define RETENTION_CAP_INTERVAL_MS (10 * 1000)
#define RETENTION_BATCH 10000

static struct
{
	PgmRetention rule;
	TimestampTz next_due;
	TimestampTz cap_next_due;
	int64		kept_over;		/* rows over the cap that "keep" protects, as last logged */
}			rules[PGM_MAX_RETENTION];
static int	nrules = 0;

void
pgm_retention_add(const PgmRetention *rule)
{
	if (nrules >= PGM_MAX_RETENTION)
		elog(ERROR, "pgmanage: too many retention rules");
	rules[nrules].rule = *rule;
	rules[nrules].next_due = 0;
	rules[nrules].cap_next_due = 0;
	rules[nrules].kept_over = 0;
	nrules++;
}

/* run a DELETE, return how many rows it deleted */
static uint64
retention_delete(const char *sql, const char *table)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not prune %s.%s", PGM_SCHEMA, table);
	return SPI_processed;
}

/* the first column of a one-row, one-column result; false if none or NULL */
static bool
retention_int8(const char *sql, int64 *value)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not run: %s", sql);
	if (SPI_processed == 0)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	*value = DatumGetInt64(d);
	return true;
}

/*
 * The row cap of rule i: delete at most RETENTION_BATCH rows beyond it,
 * oldest first.  Returns the number deleted; *backlog says whether more
 * are to delete at the next pass.
 */
static uint64
retention_cap(int i, StringInfo sql, bool *backlog)
{
	const PgmRetention *r = &rules[i].rule;
	int			cap = *r->max_rows;
	int64		cut;
	int64		kept = 0;
	uint64		deleted;

	resetStringInfo(sql);
	if (r->cap_orphan)
	{
		appendStringInfo(sql,
						 "DELETE FROM " PGM_SCHEMA ".%s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
						 "SELECT t.ctid FROM " PGM_SCHEMA ".%s t WHERE %s ORDER BY t.%s LIMIT %d))",
						 r->table, r->table, r->cap_orphan, r->column, RETENTION_BATCH);
		deleted = retention_delete(sql->data, r->table);
		*backlog = deleted == RETENTION_BATCH;
		return deleted;
	}

	/* the newest id to delete, if any */
	if (r->cap_weight)
		appendStringInfo(sql,
						 "SELECT s.id FROM (SELECT t.id, pg_catalog.sum(%s) OVER (ORDER BY t.id DESC) AS n"
						 " FROM " PGM_SCHEMA ".%s t) s WHERE s.n OPERATOR(pg_catalog.>) %d"
						 " ORDER BY s.id DESC LIMIT 1",
						 r->cap_weight, r->table, cap);
	else
		/* ids only grow: max - min + 1 bounds the count, from two index probes */
		appendStringInfo(sql,
						 "SELECT (SELECT t.id FROM " PGM_SCHEMA ".%s t ORDER BY t.id DESC OFFSET %d LIMIT 1)"
						 " FROM (SELECT pg_catalog.max(t.id) OPERATOR(pg_catalog.-) pg_catalog.min(t.id) AS span"
						 " FROM " PGM_SCHEMA ".%s t) s WHERE s.span OPERATOR(pg_catalog.>=) %d",
						 r->table, cap, r->table, cap);
	if (!retention_int8(sql->data, &cut))
		cut = 0;

	deleted = 0;
	if (cut > 0 && r->cap_weight)
	{
		/*
		 * Oldest first, as many rows as stand for at most RETENTION_BATCH
		 * rows of the dependent table (and at least one): the cascade stays
		 * a short transaction.  Rows left below the cut: due again at once.
		 */
		resetStringInfo(sql);
		appendStringInfo(sql,
						 "DELETE FROM " PGM_SCHEMA ".%s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
						 "SELECT s.ctid FROM (SELECT t.ctid, %s AS w, pg_catalog.sum(%s) OVER (ORDER BY t.id) AS n"
						 " FROM " PGM_SCHEMA ".%s t WHERE t.id OPERATOR(pg_catalog.<=) " INT64_FORMAT ") s"
						 " WHERE s.n OPERATOR(pg_catalog.-) s.w OPERATOR(pg_catalog.<) %d))",
						 r->table, r->cap_weight, r->cap_weight, r->table, cut, RETENTION_BATCH);
		deleted = retention_delete(sql->data, r->table);
		resetStringInfo(sql);
		appendStringInfo(sql,
						 "SELECT pg_catalog.count(*) FROM (SELECT 1 FROM " PGM_SCHEMA ".%s t"
						 " WHERE t.id OPERATOR(pg_catalog.<=) " INT64_FORMAT " LIMIT 1) s",
						 r->table, cut);
		if (retention_int8(sql->data, &kept) && kept > 0)
			*backlog = true;
		return deleted;
	}
	else if (cut > 0)
	{
		resetStringInfo(sql);
		appendStringInfo(sql,
						 "DELETE FROM " PGM_SCHEMA ".%s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
						 "SELECT t.ctid FROM " PGM_SCHEMA ".%s t WHERE t.id OPERATOR(pg_catalog.<=) " INT64_FORMAT
						 "%s%s ORDER BY t.id LIMIT %d))",
						 r->table, r->table, cut,
						 r->keep ? " AND NOT " : "", r->keep ? r->keep : "",
						 RETENTION_BATCH);
		deleted = retention_delete(sql->data, r->table);

		/* what is left beyond the cap is work not yet done: count it */
		if (deleted < RETENTION_BATCH && r->keep)
		{
			resetStringInfo(sql);
			appendStringInfo(sql,
							 "SELECT pg_catalog.count(*) FROM " PGM_SCHEMA ".%s t"
							 " WHERE t.id OPERATOR(pg_catalog.<=) " INT64_FORMAT " AND %s",
							 r->table, cut, r->keep);
			if (!retention_int8(sql->data, &kept))
				kept = 0;
		}
	}
	if (deleted == RETENTION_BATCH)
	{
		*backlog = true;
		return deleted;			/* counted once the backlog is worked off */
	}

	if (kept > 0 && rules[i].kept_over == 0)
	{
		ereport(LOG,
				(errmsg("pgmanage: %s.%s holds " INT64_FORMAT " rows beyond %s = %d that are work not yet done",
						PGM_SCHEMA, r->table, kept, r->max_rows_setting, cap),
				 errdetail("Pending events and queued or running runs are never pruned; they are deleted by the cap once done."),
				 errhint("Find why the work is not done (pgm_status(), pgm_endpoint_status), or raise %s.",
						 r->max_rows_setting)));
		pgm_proc_error(&pgm_shared->children[PGM_CHILD_WORKER],
					   "retention: %s holds " INT64_FORMAT " rows beyond %s that are work not yet done",
					   r->table, kept, r->max_rows_setting);
	}
	else if (kept == 0 && rules[i].kept_over > 0)
		ereport(LOG,
				(errmsg("pgmanage: %s.%s is within %s = %d again",
						PGM_SCHEMA, r->table, r->max_rows_setting, cap)));
	rules[i].kept_over = kept;
	return deleted;
}

/* worker duty (primary only) */
void
pgm_retention_duty(PgmDutyContext *ctx)
{
	StringInfoData sql;
	int			i;
	uint64		prev_deleted = 0;	/* by the cap of the rule before */
	bool		backlog;

	initStringInfo(&sql);
	for (i = 0; i < nrules; i++)
	{
		const PgmRetention *r = &rules[i].rule;

		CHECK_FOR_INTERRUPTS();
		if (ctx->now >= rules[i].next_due)
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "DELETE FROM " PGM_SCHEMA ".%s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
							 "SELECT t.ctid FROM " PGM_SCHEMA ".%s t WHERE t.%s OPERATOR(pg_catalog.<)"
							 " (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(mins => %d))"
							 "%s%s ORDER BY t.%s LIMIT %d))",
							 r->table, r->table, r->column, *r->retention_min,
							 r->keep ? " AND NOT " : "", r->keep ? r->keep : "",
							 r->column, RETENTION_BATCH);
			rules[i].next_due = retention_delete(sql.data, r->table) == RETENTION_BATCH ? 0 :
				TimestampTzPlusMilliseconds(ctx->now, RETENTION_INTERVAL_MS);
		}

		if (r->max_rows == NULL || *r->max_rows <= 0)
		{
			rules[i].kept_over = 0;
			prev_deleted = 0;
			continue;
		}
		/*
		 * An orphan rule runs after the rule before it deleted rows (and
		 * once at start, and again while it has a backlog): its condition
		 * may have to read the whole capped table.
		 */
		if (r->cap_orphan ? !(prev_deleted > 0 || rules[i].cap_next_due == 0) :
			ctx->now < rules[i].cap_next_due)
		{
			prev_deleted = 0;
			continue;
		}
		backlog = false;
		prev_deleted = retention_cap(i, &sql, &backlog);
		rules[i].cap_next_due = backlog ? 0 :
			TimestampTzPlusMilliseconds(ctx->now, RETENTION_CAP_INTERVAL_MS);
	}
	pfree(sql.data);
}
