/*-------------------------------------------------------------------------
 * capture/pgss_history.c
 *		The worker's duty that keeps history of pg_stat_statements.
 *
 * Every pgmanage.pgss_snapshot_interval the worker calls the extension's
 * SQL function pgm_pgss_snapshot(), which reads pg_stat_statements once
 * and stores, per entry, what it did since the previous snapshot (see
 * docs/pgss-history.md for the rules that keep a reset or an evicted entry
 * from producing negative or inflated deltas).  Keeping that logic in one
 * SQL function means a superuser's manual call and the worker's take the
 * same path.  Snapshots older than pgmanage.pgss_history_retention are
 * pruned (their rows go with them), then query texts no snapshot uses.
 *
 * When pg_stat_statements is not preloaded or not installed in the
 * worker's database, pgm_pgss_snapshot() returns NULL and nothing happens.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "capture/capture.h"

void
pgm_pgss_history_duty(PgmDutyContext *ctx)
{
	static TimestampTz next_snapshot = 0;
	static int	last_interval = -1;
	StringInfoData sql;

	if (pgm_pgss_snapshot_interval_s <= 0)
		return;
	/* a new interval applies from now */
	if (last_interval != pgm_pgss_snapshot_interval_s)
	{
		last_interval = pgm_pgss_snapshot_interval_s;
		next_snapshot = 0;
	}
	initStringInfo(&sql);
	if (ctx->now >= next_snapshot)
	{
		appendStringInfo(&sql, "SELECT " PGM_SCHEMA ".pgm_pgss_snapshot()");
		if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not take a pg_stat_statements snapshot");
		next_snapshot = TimestampTzPlusMilliseconds(ctx->now,
													(int64) pgm_pgss_snapshot_interval_s * 1000);
	}

}
