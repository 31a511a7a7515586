/*-------------------------------------------------------------------------
 * capture/slowlog_store.c
 *		The worker's side of slow-query capture: drain the ring into
 *		pgm_slow_queries, prune it, and pgm_slow_query_stats().
 *
 * Each pass (at least once a second, and at once when a backend finds the
 * ring half full) copies what the ring holds, in batches, inserts it with
 * one prepared statement, and releases the positions only after the
 * transaction commits (ctx->after_commit): an insert that fails leaves
 * the entries in the ring for the next pass.
 *
 * statement holds the literal text the backend captured (cut to
 * PGM_SLOW_QUERY_MAX bytes).  query holds pg_stat_statements' normalized
 * text when pg_stat_statements is loaded, installed in the worker's
 * database and knows the query id (statements with the same query id share
 * it, as they do in pg_stat_statements); otherwise the literal text.  Normalized texts are fetched only for query
 * ids this worker has not seen, with one call of
 * pg_stat_statements(true) per pass at most (it reads pg_stat_statements'
 * whole text file), and kept in a backend-local cache; ids it does not know
 * are asked again after SLOW_TEXT_RETRY_MS.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"


#include "capture/capture.h"

#define SLOW_BATCH 256
#define SLOW_MAX_PER_PASS 20000
#define SLOW_COLS 16
#define SLOW_TEXT_CACHE_MAX 10000
#define SLOW_TEXT_RETRY_MS (10 * 1000)

PG_FUNCTION_INFO_V1(pgm_slow_query_stats);

typedef struct SlowText
{
	int64		queryid;		/* hash key */
	char	   *text;			/* normalized text; NULL: unknown */
	TimestampTz checked_at;
} SlowText;

static HTAB *text_cache = NULL;
static MemoryContext text_cxt = NULL;

/* what the current pass read, released after commit */
static uint64 drain_next_pos;
static uint64 drain_lost;
static uint64 drain_written;

static void
slow_text_cache_reset(void)
{
	HASHCTL		ctl;

	if (text_cxt == NULL)
		text_cxt = AllocSetContextCreate(TopMemoryContext, "pgmanage query texts",
										 ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(text_cxt);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(SlowText);
	ctl.hcxt = text_cxt;
	text_cache = hash_create("pgmanage query texts", 1024, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* the schema of pg_stat_statements if it is usable here, else NULL */
static char *
slow_pgss_schema(void)
{
	if (GetConfigOption("pg_stat_statements.max", true, false) == NULL)
		return NULL;			/* not preloaded */
	if (SPI_execute("SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_extension e"
					" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					" WHERE e.extname OPERATOR(pg_catalog.=) 'pg_stat_statements'",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Make sure the cache has an answer for the query ids of these entries,
 * asking pg_stat_statements once for all of those it lacks, unless it was
 * asked already during this pass (*asked): then those entries keep their
 * literal text.
 */
static void
slow_fetch_texts(PgmSlowEntry *entries, int n, TimestampTz now, bool *asked)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	int			nids = 0;
	char	   *nsp;
	StringInfoData sql;
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		args[1];
	uint64		i;
	int			j;

	if (text_cache == NULL || hash_get_num_entries(text_cache) > SLOW_TEXT_CACHE_MAX)
		slow_text_cache_reset();
	for (j = 0; j < n; j++)
	{
		bool		found;
		SlowText   *t;

		if (entries[j].queryid == 0)
			continue;
		t = hash_search(text_cache, &entries[j].queryid, HASH_ENTER, &found);
		if (!found)
		{
			t->text = NULL;
			t->checked_at = 0;
		}
		if (t->text == NULL && !*asked &&
			(t->checked_at == 0 || TimestampDifferenceExceeds(t->checked_at, now, SLOW_TEXT_RETRY_MS)))
		{
			t->checked_at = now;
			ids[nids++] = Int64GetDatum(entries[j].queryid);
		}
	}
	if (nids == 0)
		return;
	*asked = true;
	nsp = slow_pgss_schema();
	if (nsp == NULL)
		return;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT DISTINCT ON (queryid) queryid, query FROM %s.pg_stat_statements(true)"
					 " WHERE queryid OPERATOR(pg_catalog.=) ANY ($1)"
					 " ORDER BY queryid, calls DESC",
					 quote_identifier(nsp));
	args[0] = PointerGetDatum(construct_array(ids, nids, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_stat_statements");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		queryid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull));
		char	   *text = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		SlowText   *t;

		if (isnull || text == NULL)
			continue;
		t = hash_search(text_cache, &queryid, HASH_FIND, NULL);
		/* pg_stat_statements keeps utility statements literally: redact them too */
		if (t != NULL && t->text == NULL)
			t->text = MemoryContextStrdup(text_cxt, pgm_redact_statement(text, false, NULL));
	}
}

/* text from another database's backend may be in another encoding */
static Datum
slow_text_datum(const char *s)
{
	int			len = strlen(s);
	int			valid = pg_encoding_verifymbstr(GetDatabaseEncoding(), s, len);

	return PointerGetDatum(cstring_to_text_with_len(s, valid));
}

static const char *
slow_plan_format_name(uint8 format)
{
	return format == PGM_LOG_PLAN_JSON ? "json" : "text";
}

/* the columns, in the order of the INSERT below, and their element types */
static const Oid slow_elem_types[SLOW_COLS] = {
	TIMESTAMPTZOID, FLOAT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, INETOID, INT4OID,
	TEXTOID, BOOLOID, TEXTOID, TEXTOID, INT8OID, INT4OID, BOOLOID, TEXTOID
};
static const Oid slow_array_types[SLOW_COLS] = {
	TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, INETARRAYOID, INT4ARRAYOID, TEXTARRAYOID, BOOLARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, INT8ARRAYOID, INT4ARRAYOID, BOOLARRAYOID, TEXTARRAYOID
};

/*
 * Insert a batch with one statement: each column goes as an array and
 * unnest() turns them back into rows (one executor run per batch instead
 * of one per row).
 */
static void
slow_insert(SPIPlanPtr plan, PgmSlowEntry *entries, int n)
{
	Datum	   *values[SLOW_COLS];
	bool	   *nulls[SLOW_COLS];
	Datum		args[SLOW_COLS];
	int			c;
	int			j;

	for (c = 0; c < SLOW_COLS; c++)
	{
		values[c] = palloc(sizeof(Datum) * n);
		nulls[c] = palloc0(sizeof(bool) * n);
	}
	for (j = 0; j < n; j++)
	{
		PgmSlowEntry *e = &entries[j];
		char	   *role = GetUserNameFromId(e->userid, true);
		char	   *db = get_database_name(e->dbid);
		SlowText   *t = NULL;
		bool		addr_null;

		CHECK_FOR_INTERRUPTS();
		if (e->queryid != 0 && text_cache != NULL)
			t = hash_search(text_cache, &e->queryid, HASH_FIND, NULL);
		values[0][j] = TimestampTzGetDatum(e->captured_at);
		values[1][j] = Float8GetDatum(e->duration_ms);
		values[2][j] = Int64GetDatum(e->queryid);
		nulls[2][j] = (e->queryid == 0);
		values[3][j] = role ? slow_text_datum(role) : (Datum) 0;
		nulls[3][j] = (role == NULL);
		values[4][j] = db ? slow_text_datum(db) : (Datum) 0;
		nulls[4][j] = (db == NULL);
		values[5][j] = slow_text_datum(e->appname);
		values[6][j] = pgm_client_addr_datum(&e->clientaddr, &addr_null);
		nulls[6][j] = addr_null;
		values[7][j] = Int32GetDatum(e->pid);
		values[8][j] = slow_text_datum(t && t->text ? t->text : e->query);
		values[9][j] = BoolGetDatum(t && t->text);
		values[10][j] = slow_text_datum(e->plan);
		nulls[10][j] = (e->plan_format == PGM_LOG_PLAN_OFF);
		values[11][j] = slow_text_datum(slow_plan_format_name(e->plan_format));
		nulls[11][j] = nulls[10][j];
		values[12][j] = Int64GetDatum((int64) e->rows);
		values[13][j] = Int32GetDatum(e->nesting_level);
		values[14][j] = BoolGetDatum(e->utility);
		values[15][j] = slow_text_datum(e->query);
	}
	for (c = 0; c < SLOW_COLS; c++)
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;
		int			dims[1] = {n};
		int			lbs[1] = {1};

		get_typlenbyvalalign(slow_elem_types[c], &typlen, &typbyval, &typalign);
		args[c] = PointerGetDatum(construct_md_array(values[c], nulls[c], 1, dims, lbs,
													 slow_elem_types[c], typlen, typbyval, typalign));
	}
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into pgm_slow_queries");
}

static void
slow_committed(void *arg)
{
	pgm_slow_ring_release(drain_next_pos, drain_lost, drain_written);
}

/*
 * Worker duty (primary only): move captured statements into
 * pgm_slow_queries (core's retention duty prunes it).
 */
void
pgm_slow_queries_duty(PgmDutyContext *ctx)
{
	PgmSlowEntry *batch;
	SPIPlanPtr	plan = NULL;
	uint64		pos;
	uint64		lost = 0;
	uint64		written = 0;
	bool		asked_pgss = false;

	if (!pgm_slow_ring_available())
		return;

	batch = palloc(sizeof(PgmSlowEntry) * SLOW_BATCH);
	pos = pgm_slow_ring_tail();
	while (written < SLOW_MAX_PER_PASS)
	{
		int			n = pgm_slow_ring_read(batch, SLOW_BATCH, &pos, &lost);

		if (n == 0)
			break;
		if (plan == NULL)
		{
			StringInfoData sql;

			initStringInfo(&sql);
			appendStringInfo(&sql,
							 "INSERT INTO " PGM_SCHEMA ".pgm_slow_queries (captured_at, duration_ms, queryid,"
							 " role_name, database_name, application_name, client_addr, pid, query,"
							 " query_normalized, plan, plan_format, rows, nesting_level, utility, statement)"
							 " SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
							 " pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
							 " pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
							 " pg_catalog.unnest($9), pg_catalog.unnest($10), pg_catalog.unnest($11),"
							 " pg_catalog.unnest($12), pg_catalog.unnest($13), pg_catalog.unnest($14),"
							 " pg_catalog.unnest($15), pg_catalog.unnest($16))");
			plan = SPI_prepare(sql.data, SLOW_COLS, (Oid *) slow_array_types);
			if (plan == NULL)
				elog(ERROR, "could not prepare the insert into pgm_slow_queries: %s",
					 SPI_result_code_string(SPI_result));
		}
		slow_fetch_texts(batch, n, ctx->now, &asked_pgss);
		slow_insert(plan, batch, n);
		written += n;
	}
	pfree(batch);
	if (written > 0 || lost > 0)
	{
		drain_next_pos = pos;
		drain_lost = lost;
		drain_written = written;
		ctx->after_commit = slow_committed;
	}
}

/*
 * pgm_slow_query_stats(): the capture ring's counters since server start.
 */
Datum
pgm_slow_query_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PgmSlowRingStats st;
	Datum		values[8];
	bool		nulls[8];

	if (!pgm_slow_ring_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgmanage is not loaded through shared_preload_libraries"),
				 errhint("Add pgmanage to shared_preload_libraries in postgresql.conf and restart the server.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pgm_slow_ring_stats(&st);
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum((int64) st.captured);
	values[1] = Int64GetDatum((int64) st.written);
	values[2] = Int64GetDatum((int64) st.pending);
	values[3] = Int64GetDatum((int64) st.dropped);
	values[4] = Int32GetDatum(st.slots);
	values[5] = Int64GetDatum((int64) st.bytes);
	values[6] = Int64GetDatum((int64) PGM_SLOW_QUERY_MAX);
	values[7] = Int64GetDatum((int64) PGM_SLOW_PLAN_MAX);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
