/*-------------------------------------------------------------------------
 * timeouts/kill_log.c
 *		The worker duty that writes pgm_kill_log (its pruning is core's
 *		retention duty, registered in _PG_init).
 *
 * Called by the worker inside its transaction with SPI connected, and only
 * on a primary.  Every statement names the schema pgmanage; nothing
 * depends on search_path.
 *
 * pgm_kill_log: records queued in shared memory (by the launcher's
 * enforcer and by pgm_kill_long) are inserted, then removed from the
 * queue only after the transaction that wrote them commits.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "timeouts/timeouts.h"

#define STORE_BATCH 64
#define KILL_LOG_COLS 16

/*
 * Text from another database's backend may be in another encoding, or cut
 * in the middle of a character: keep the longest valid prefix.
 */
static Datum
store_text(const char *s)
{
	int			len = strlen(s);
	int			valid = pg_encoding_verifymbstr(GetDatabaseEncoding(), s, len);

	return PointerGetDatum(cstring_to_text_with_len(s, valid));
}

/*
 * Insert queued kill records.  Returns how many were written; the caller
 * commits, then calls pgm_kill_queue_consume() with the last seq written
 * (returned through *through_seq).
 */
static int
kill_log_store(uint64 *through_seq)
{
	PgmKillRecord *recs = palloc(sizeof(PgmKillRecord) * STORE_BATCH);
	int			n = pgm_kill_queue_peek(recs, STORE_BATCH);
	StringInfoData sql;
	Oid			types[KILL_LOG_COLS] = {TIMESTAMPTZOID, INT4OID, TEXTOID, TEXTOID, TEXTOID,
		INETOID, TEXTOID, INTERVALOID, TEXTOID, INT8OID, INT4OID, TEXTOID, TEXTOID,
	BOOLOID, TEXTOID, TEXTOID};
	int			i;

	*through_seq = 0;
	if (n == 0)
		return 0;
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO " PGM_SCHEMA ".pgm_kill_log (logged_at, pid, role_name, database_name,"
					 " application_name, client_addr, state, duration, query, query_id,"
					 " policy_id, limit_kind, action, succeeded, detail, source)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)");
	for (i = 0; i < n; i++)
	{
		PgmKillRecord *r = &recs[i];
		Datum		values[KILL_LOG_COLS];
		char		nulls[KILL_LOG_COLS];
		char	   *role = GetUserNameFromId(r->roleid, true);
		char	   *db = get_database_name(r->dbid);
		Interval   *ran = palloc0(sizeof(Interval));
		bool		addr_null;

		CHECK_FOR_INTERRUPTS();
		memset(nulls, ' ', sizeof(nulls));
		ran->time = r->ran_us;
		values[0] = TimestampTzGetDatum(r->at);
		values[1] = Int32GetDatum(r->pid);
		values[2] = role ? store_text(role) : (Datum) 0;
		nulls[2] = role ? ' ' : 'n';
		values[3] = db ? store_text(db) : (Datum) 0;
		nulls[3] = db ? ' ' : 'n';
		values[4] = store_text(r->appname);
		values[5] = pgm_client_addr_datum(&r->clientaddr, &addr_null);
		nulls[5] = addr_null ? 'n' : ' ';
		values[6] = store_text(r->state);
		values[7] = IntervalPGetDatum(ran);
		values[8] = store_text(r->query);
		values[9] = Int64GetDatum(r->query_id);
		nulls[9] = r->query_id != 0 ? ' ' : 'n';
		values[10] = Int32GetDatum(r->policy_id);
		nulls[10] = r->policy_id != 0 ? ' ' : 'n';
		values[11] = store_text(pgm_limit_kind_name(r->limit_kind));
		values[12] = store_text(r->terminate ? "terminate" : "cancel");
		values[13] = BoolGetDatum(r->succeeded);
		values[14] = store_text(r->detail);
		nulls[14] = r->detail[0] ? ' ' : 'n';
		values[15] = store_text(r->policy_id != 0 ? "policy" : "pgm_kill_long");
		if (SPI_execute_with_args(sql.data, KILL_LOG_COLS, types, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into pgm_kill_log");
		*through_seq = r->seq;
	}
	pfree(recs);
	return n;
}

static uint64 kill_log_through_seq = 0;
static int	kill_log_written = 0;

/* after commit: the written records may leave the queue */
static void
store_kill_log_committed(void *arg)
{
	pgm_kill_queue_consume(kill_log_through_seq);
	pg_atomic_fetch_add_u64(&pgm_timeouts->kill_log_written, kill_log_written);
}

/*
 * Worker duty (primary only): write queued kill records.
 */
void
pgm_kill_log_duty(PgmDutyContext *ctx)
{
	kill_log_written = kill_log_store(&kill_log_through_seq);
	if (kill_log_written > 0)
		ctx->after_commit = store_kill_log_committed;
}
