/*-------------------------------------------------------------------------
 * core/retention.c
 *		The one pruning duty: every table the worker keeps (logs, history,
 *		the outbox) is pruned here, from the rules capabilities register
 *		(pgm_retention_add, from _PG_init): table, timestamp column, the
 *		setting that says how many minutes to keep, and an optional
 *		condition that keeps a row whatever its age (a pending delivery, a
 *		run still running).
 *
 * Each rule is due once a minute; a pass deletes at most RETENTION_BATCH
 * rows of a table (by ctid, oldest first), and a rule that hit the batch
 * is due again at the next pass, so a backlog is worked off in steps that
 * never hold a long transaction.  Primary only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/core.h"

#define PGM_MAX_RETENTION 12
#define RETENTION_INTERVAL_MS (60 * 1000)
#define RETENTION_BATCH 10000

static struct
{
	PgmRetention rule;
	TimestampTz next_due;
}			rules[PGM_MAX_RETENTION];
static int	nrules = 0;

void
pgm_retention_add(const PgmRetention *rule)
{
	if (nrules >= PGM_MAX_RETENTION)
		elog(ERROR, "pgmanage: too many retention rules");
	rules[nrules].rule = *rule;
	rules[nrules].next_due = 0;
	nrules++;
}

/* worker duty (primary only) */
void
pgm_retention_duty(PgmDutyContext *ctx)
{
	StringInfoData sql;
	int			i;

	initStringInfo(&sql);
	for (i = 0; i < nrules; i++)
	{
		const PgmRetention *r = &rules[i].rule;

		if (ctx->now < rules[i].next_due)
			continue;
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "DELETE FROM " PGM_SCHEMA ".%s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
						 "SELECT t.ctid FROM " PGM_SCHEMA ".%s t WHERE t.%s OPERATOR(pg_catalog.<)"
						 " (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(mins => %d))"
						 "%s%s ORDER BY t.%s LIMIT %d))",
						 r->table, r->table, r->column, *r->retention_min,
						 r->keep ? " AND NOT " : "", r->keep ? r->keep : "",
						 r->column, RETENTION_BATCH);
		if (SPI_execute(sql.data, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not prune %s.%s", PGM_SCHEMA, r->table);
		rules[i].next_due = SPI_processed == RETENTION_BATCH ? 0 :
			TimestampTzPlusMilliseconds(ctx->now, RETENTION_INTERVAL_MS);
	}
	pfree(sql.data);
}
