/*-------------------------------------------------------------------------
 * vacuum/vacuum_run.c
 *		The 'vacuum' job kind, on the pgmanage worker's side: starting
 *		VACUUM background workers, writing their progress and outcome into
 *		pgm_job_run, cancelling them; and the shared memory they use.
 *
 * Runs in the pgmanage worker (the scheduler duty of jobs.c) and, for
 * cancellation only, in the backend that calls pgm_cancel_run().  See
 * vacuum.h for the life of a slot.  The VACUUM itself runs in
 * vacuum_worker.c, in a process connected to the run's database: it
 * cannot write pgmanage's tables (they live in pgmanage.database), so its
 * results come back here through the slot.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonfuncs.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "vacuum/vacuum.h"

/* a LAUNCHING slot whose process never attached within this is given up */
#define VACUUM_LAUNCH_TIMEOUT_MS (120 * 1000)

PgmVacuumShared *pgm_vacuum = NULL;

/* pgmanage worker's local state, per slot */
static BackgroundWorkerHandle *slot_handle[PGM_MAX_VACUUM_SLOTS];
static uint64 written_generation[PGM_MAX_VACUUM_SLOTS];

/* prepared in the duty's transaction, applied after it commits */
typedef struct VacuumPending
{
	int64		run_id;
	Oid			extoid;
	PgmVacuumParams params;
} VacuumPending;

static VacuumPending *pending = NULL;	/* [PGM_MAX_VACUUM_SLOTS] */
static int	npending = 0;
static int	taken[PGM_MAX_VACUUM_SLOTS];
static int64 taken_run[PGM_MAX_VACUUM_SLOTS];
static bool finalized[PGM_MAX_VACUUM_SLOTS];
static uint64 taken_generation[PGM_MAX_VACUUM_SLOTS];

static Size
vacuum_shmem_size(void)
{
	return MAXALIGN(sizeof(PgmVacuumShared));
}

/* registered with core (pgm_shmem_add): the request hook */
void
pgm_vacuum_shmem_request(void)
{
	RequestAddinShmemSpace(vacuum_shmem_size());
	RequestNamedLWLockTranche("pgmanage vacuum", 1);
}

/* the startup hook, AddinShmemInitLock held */
void
pgm_vacuum_shmem_startup(void)
{
	bool		found;

	pgm_vacuum = ShmemInitStruct("pgmanage vacuum", vacuum_shmem_size(), &found);
	if (!found)
	{
		memset(pgm_vacuum, 0, vacuum_shmem_size());
		pgm_vacuum->lock = &(GetNamedLWLockTranche("pgmanage vacuum"))->lock;
	}
}

/* the extension in this database, whose runs this process may write (in a transaction) */
static Oid
vacuum_extoid(void)
{
	return get_extension_oid("pgmanage", true);
}

/* was this slot's run launched by this database's current extension? */
static bool
vacuum_slot_ours(const PgmVacuumSlot *slot, Oid extoid)
{
	return slot->owner_dboid == MyDatabaseId && OidIsValid(extoid) &&
		slot->owner_extoid == extoid;
}

static bool
vacuum_alive(int64 run_id)
{
	bool		alive = false;
	Oid			extoid = vacuum_extoid();
	int			i;

	LWLockAcquire(pgm_vacuum->lock, LW_SHARED);
	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
		if (pgm_vacuum->slots[i].state != PGM_VSLOT_FREE &&
			pgm_vacuum->slots[i].run_id == run_id &&
			vacuum_slot_ours(&pgm_vacuum->slots[i], extoid))
			alive = true;
	LWLockRelease(pgm_vacuum->lock);
	return alive;
}

static void
vacuum_reset(void)
{
	npending = 0;
	memset(taken, 0, sizeof(taken));
	memset(taken_run, 0, sizeof(taken_run));
	memset(finalized, 0, sizeof(finalized));
}

static bool
vacuum_cancel(int64 run_id)
{
	int			pid = 0;
	bool		found = false;
	Oid			extoid = vacuum_extoid();
	int			i;

	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
	{
		PgmVacuumSlot *slot = &pgm_vacuum->slots[i];

		if ((slot->state == PGM_VSLOT_LAUNCHING || slot->state == PGM_VSLOT_RUNNING) &&
			slot->run_id == run_id && vacuum_slot_ours(slot, extoid))
		{
			if (!slot->cancel_requested)
				strlcpy(slot->cancel_reason, "cancelled by pgm_cancel_run()",
						sizeof(slot->cancel_reason));
			slot->cancel_requested = true;
			pid = slot->pid;
			found = true;
		}
	}
	LWLockRelease(pgm_vacuum->lock);
	if (pid != 0)
		kill(pid, SIGINT);		/* cancels the statement going on */
	return found;
}

/*
 * DROP DATABASE (utility_hook.c) of a database a VACUUM worker is connected
 * to: cancel those runs, as pgm_cancel_run() would, so that the worker
 * leaves; the run's error says what cancelled it.  Returns how many were
 * asked to stop.
 */
int
pgm_vacuum_release_database(const char *dbname)
{
	int			pids[PGM_MAX_VACUUM_SLOTS];
	int			n = 0;
	int			i;

	if (pgm_vacuum == NULL)
		return 0;
	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
	{
		PgmVacuumSlot *slot = &pgm_vacuum->slots[i];

		if ((slot->state == PGM_VSLOT_LAUNCHING || slot->state == PGM_VSLOT_RUNNING) &&
			strcmp(slot->params.dbname, dbname) == 0)
		{
			if (!slot->cancel_requested)
				snprintf(slot->cancel_reason, sizeof(slot->cancel_reason),
						 "cancelled: DROP DATABASE, ALTER DATABASE ... RENAME or CREATE DATABASE ... TEMPLATE needed database \"%.*s\" to itself",
						 NAMEDATALEN - 1, dbname);
			slot->cancel_requested = true;
			if (slot->pid != 0)
				pids[n++] = slot->pid;
		}
	}
	LWLockRelease(pgm_vacuum->lock);
	for (i = 0; i < n; i++)
		kill(pids[i], SIGINT);
	return n;
}

/* is a VACUUM worker connected to this database? */
bool
pgm_vacuum_in_database(const char *dbname)
{
	bool		found = false;
	int			i;

	if (pgm_vacuum == NULL)
		return false;
	LWLockAcquire(pgm_vacuum->lock, LW_SHARED);
	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
	{
		PgmVacuumSlot *slot = &pgm_vacuum->slots[i];

		if (slot->state == PGM_VSLOT_RUNNING && slot->pid != 0 &&
			strcmp(slot->params.dbname, dbname) == 0)
			found = true;
	}
	LWLockRelease(pgm_vacuum->lock);
	return found;
}

/* -------- start: a queued run becomes 'running' -------- */

static char *
vacuum_opt(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

static bool
vacuum_opt_bool(int col, bool dflt)
{
	char	   *v = vacuum_opt(col);

	return v ? (v[0] == 't') : dflt;
}

/*
 * The options (jsonb) into a PgmVacuumParams.  Returns false (with *why)
 * when the database does not exist.  A malformed value raises an ERROR,
 * which jobs.c turns into a failed run.
 */
static bool
vacuum_read_params(const PgmRunRequest *req, PgmVacuumParams *p, const char **why)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char	   *v;

	values[0] = CStringGetTextDatum(req->options);
	values[1] = CStringGetTextDatum(req->database);
	if (SPI_execute_with_args(
							  "SELECT o->>'strategy', (o->>'analyze')::boolean, (o->>'freeze')::boolean,"
							  " o->>'index_cleanup', (o->>'parallel')::integer, (o->>'skip_locked')::boolean,"
							  " (o->>'lock_timeout_ms')::integer,"
							  " (o->>'cost_limit')::integer, (o->>'cost_delay')::float8,"
							  " (o->>'reindex_bloated')::boolean,"
							  " LEAST((o->>'window_seconds')::float8 * 1000, 9e18)::bigint,"
							  " o->>'schema', o->>'pattern',"
							  " (SELECT pg_catalog.array_agg(x) FROM pg_catalog.jsonb_array_elements_text(o->'tables') x)::text,"
							  " (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) $2)"
							  " FROM (SELECT $1::jsonb AS o) s",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the run's options");

	memset(p, 0, sizeof(*p));
	v = vacuum_opt(15);
	if (v == NULL)
	{
		*why = psprintf("database \"%s\" does not exist", req->database);
		return false;
	}
	p->dboid = (Oid) strtoul(v, NULL, 10);
	strlcpy(p->dbname, req->database, NAMEDATALEN);
	v = vacuum_opt(1);
	p->strategy_all = v && strcmp(v, "all") == 0;
	p->analyze = vacuum_opt_bool(2, true);
	p->freeze = vacuum_opt_bool(3, false);
	v = vacuum_opt(4);
	strlcpy(p->index_cleanup, v ? v : "auto", sizeof(p->index_cleanup));
	v = vacuum_opt(5);
	p->parallel = v ? atoi(v) : -1;
	p->skip_locked = vacuum_opt_bool(6, true);
	v = vacuum_opt(7);
	p->lock_timeout_ms = v ? atoi(v) : 0;
	v = vacuum_opt(8);
	p->cost_limit = v ? atoi(v) : -1;
	v = vacuum_opt(9);
	p->cost_delay_ms = v ? strtod(v, NULL) : -1;
	p->reindex_bloated = vacuum_opt_bool(10, false);
	v = vacuum_opt(11);
	if (v != NULL && strtoll(v, NULL, 10) > 0)
	{
		TimestampTz now = GetCurrentTimestamp();
		int64		ms = strtoll(v, NULL, 10);

		/*
		 * A window ending beyond the last representable timestamp (a job
		 * stored before pgm_vacuum_options refused them) is no window, not
		 * a window end in the past.
		 */
		if (ms < (END_TIMESTAMP - now) / 1000)
			p->window_end = TimestampTzPlusMilliseconds(now, ms);
	}
	v = vacuum_opt(12);
	strlcpy(p->schema, v ? v : "", sizeof(p->schema));
	v = vacuum_opt(13);
	strlcpy(p->pattern, v ? v : "", sizeof(p->pattern));
	v = vacuum_opt(14);
	if (v != NULL && strlen(v) >= sizeof(p->tables))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the list of tables is longer than %d bytes", (int) sizeof(p->tables) - 1)));
	strlcpy(p->tables, v ? v : "", sizeof(p->tables));
	return true;
}

static int
vacuum_slots_in_use(void)
{
	int			n = 0;
	int			i;

	LWLockAcquire(pgm_vacuum->lock, LW_SHARED);
	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
		if (pgm_vacuum->slots[i].state != PGM_VSLOT_FREE)
			n++;
	LWLockRelease(pgm_vacuum->lock);
	return n;
}

static PgmRunStart
vacuum_start(PgmDutyContext *ctx, const PgmRunRequest *req)
{
	PgmVacuumParams params;
	const char *why = NULL;
	StringInfoData sql;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	if (vacuum_slots_in_use() + npending >= pgm_max_vacuum_workers)
		return PGM_RUN_DEFERRED;
	if (!vacuum_read_params(req, &params, &why))
	{
		pgm_run_finish(ctx, req->run_id, "failed", why);
		return PGM_RUN_FINISHED;
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE " PGM_SCHEMA ".pgm_job_run SET status = 'running', started = pg_catalog.now()"
					 " WHERE id OPERATOR(pg_catalog.=) $1");
	values[0] = Int64GetDatum(req->run_id);
	if (SPI_execute_with_args(sql.data, 1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgm_job_run");

	if (pending == NULL)
		pending = MemoryContextAlloc(TopMemoryContext, sizeof(VacuumPending) * PGM_MAX_VACUUM_SLOTS);
	pending[npending].run_id = req->run_id;
	pending[npending].extoid = vacuum_extoid();
	pending[npending].params = params;
	npending++;
	return PGM_RUN_STARTED;
}

/* after commit: take a free slot and start the process */
static void
vacuum_launch(const VacuumPending *pend)
{
	BackgroundWorker bgw;
	PgmVacuumSlot *slot = NULL;
	int			slotno;

	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	for (slotno = 0; slotno < PGM_MAX_VACUUM_SLOTS; slotno++)
		if (pgm_vacuum->slots[slotno].state == PGM_VSLOT_FREE)
		{
			slot = &pgm_vacuum->slots[slotno];
			memset(slot, 0, sizeof(PgmVacuumSlot));
			slot->state = PGM_VSLOT_LAUNCHING;
			slot->run_id = pend->run_id;
			slot->owner_dboid = MyDatabaseId;
			slot->owner_extoid = pend->extoid;
			slot->launched_at = GetCurrentTimestamp();
			slot->params = pend->params;
			break;
		}
	LWLockRelease(pgm_vacuum->lock);
	if (slot == NULL)
		return;					/* cannot happen (counted); jobs.c fails the run */
	written_generation[slotno] = 0;

	pgm_bgworker_init(&bgw, "pgm_vacuum_worker_main", "pgmanage vacuum",
					  BgWorkerStart_RecoveryFinished, BGW_NEVER_RESTART);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "pgmanage vacuum run %lld", (long long) pend->run_id);
	bgw.bgw_main_arg = Int32GetDatum(slotno);
	memcpy(bgw.bgw_extra, &pend->run_id, sizeof(int64));
	bgw.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&bgw, &slot_handle[slotno]))
	{
		slot_handle[slotno] = NULL;
		LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
		slot->state = PGM_VSLOT_DIED;
		strlcpy(slot->status, "failed", sizeof(slot->status));
		strlcpy(slot->error, "could not start a background worker: no free slot (raise max_worker_processes)",
				sizeof(slot->error));
		slot->generation++;
		LWLockRelease(pgm_vacuum->lock);
		pgm_wake_child(PGM_CHILD_WORKER);
	}
}

/* -------- collect: slots -> pgm_job_run -------- */

static void
vacuum_json_ts(StringInfo buf, const char *key, TimestampTz ts)
{
	char		tsbuf[MAXDATELEN + 1];

	appendStringInfo(buf, ", \"%s\": ", key);
	if (ts == 0)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "\"%s\"", JsonEncodeDateTime(tsbuf, TimestampTzGetDatum(ts), TIMESTAMPTZOID, NULL));
}

/*
 * Text from a VACUUM worker, valid in this database's encoding: cut at the
 * first byte that is not (the worker cuts on character boundaries of its
 * own database, which may have another encoding).
 */
static const char *
vacuum_valid_text(const char *s)
{
	int			len = strlen(s);
	int			valid = pg_encoding_verifymbstr(GetDatabaseEncoding(), s, len);

	return valid == len ? s : pnstrdup(s, valid);
}

static void
vacuum_json_int(StringInfo buf, const char *key, int64 v)
{
	if (v < 0)
		appendStringInfo(buf, ", \"%s\": null", key);
	else
		appendStringInfo(buf, ", \"%s\": %lld", key, (long long) v);
}

static void
vacuum_entry_json(StringInfo buf, const PgmVacuumEntry *e)
{
	appendStringInfoString(buf, "{\"relation\": ");
	escape_json(buf, vacuum_valid_text(e->relation));
	appendStringInfoString(buf, ", \"action\": ");
	escape_json(buf, vacuum_valid_text(e->action));
	appendStringInfoString(buf, ", \"outcome\": ");
	escape_json(buf, vacuum_valid_text(e->outcome));
	appendStringInfoString(buf, ", \"reason\": ");
	escape_json(buf, vacuum_valid_text(e->reason));
	appendStringInfoString(buf, ", \"detail\": ");
	if (e->error[0])
		escape_json(buf, vacuum_valid_text(e->error));
	else
		appendStringInfoString(buf, "null");
	vacuum_json_int(buf, "dead_tuples_before", e->dead_before);
	vacuum_json_int(buf, "dead_tuples_after", e->dead_after);
	vacuum_json_int(buf, "bytes_before", e->bytes_before);
	vacuum_json_int(buf, "bytes_after", e->bytes_after);
	vacuum_json_ts(buf, "started", e->started);
	vacuum_json_ts(buf, "finished", e->finished);
	appendStringInfoChar(buf, '}');
}

static void
vacuum_collect_slot(PgmDutyContext *ctx, int slotno, PgmVacuumSlot *s)
{
	StringInfoData json;
	StringInfoData sql;
	bool		final = (s->state == PGM_VSLOT_DONE || s->state == PGM_VSLOT_DIED);
	Oid			types[15] = {INT8OID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID,
	INT4OID, INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[15];
	char		nulls[15];
	int			i;

	initStringInfo(&json);
	appendStringInfoChar(&json, '[');
	for (i = 0; i < s->ring_count; i++)
	{
		if (i > 0)
			appendStringInfoString(&json, ", ");
		vacuum_entry_json(&json, &s->ring[(s->ring_head + i) % PGM_VACUUM_RING]);
	}
	appendStringInfoChar(&json, ']');

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(s->run_id);
	values[1] = Int32GetDatum(s->pid);
	nulls[1] = s->pid ? ' ' : 'n';
	values[2] = Int32GetDatum(s->tables_considered);
	values[3] = Int32GetDatum(s->tables_vacuumed);
	values[4] = Int32GetDatum(s->tables_analyzed);
	values[5] = Int32GetDatum(s->tables_skipped);
	values[6] = Int32GetDatum(s->tables_failed);
	values[7] = Int32GetDatum(s->indexes_rebuilt);
	values[8] = Int64GetDatum(s->dead_removed);
	values[9] = Int64GetDatum(s->bytes_before);
	values[10] = Int64GetDatum(s->bytes_after);
	values[11] = CStringGetTextDatum(final ? "" : vacuum_valid_text(s->current));
	nulls[11] = (final || s->current[0] == '\0') ? 'n' : ' ';
	values[12] = CStringGetTextDatum(json.data);
	if (final)
	{
		const char *status = s->status[0] ? s->status : "failed";
		const char *error = s->error[0] ? vacuum_valid_text(s->error)
			: (strcmp(status, "failed") == 0
			   ? "the VACUUM worker exited without reporting an outcome (see the server log)" : NULL);

		values[13] = CStringGetTextDatum(status);
		values[14] = error ? CStringGetTextDatum(error) : (Datum) 0;
		nulls[14] = error ? ' ' : 'n';
	}
	else
	{
		nulls[13] = 'n';
		nulls[14] = 'n';
	}
	if (s->entries_dropped > 0 && final)
	{
		char	   *e = psprintf("%s%s%llu table results were dropped (the worker was not draining them)",
								 nulls[14] == 'n' ? "" : TextDatumGetCString(values[14]),
								 nulls[14] == 'n' ? "" : "; ",
								 (unsigned long long) s->entries_dropped);

		values[14] = CStringGetTextDatum(e);
		nulls[14] = ' ';
	}

	/*
	 * The entries taken go into one new row of pgm_job_run_detail (WAL for
	 * these entries only); the trigger on pgm_job_run sets details from
	 * those rows when the status below becomes final.  Rewriting details on
	 * every pass instead wrote WAL quadratic in the number of tables.  A run
	 * already finished by another path keeps getting them in details.
	 */
	if (s->ring_count > 0)
	{
		Oid			dtypes[2] = {INT8OID, TEXTOID};
		Datum		dvalues[2];

		dvalues[0] = values[0];
		dvalues[1] = values[12];
		if (SPI_execute_with_args("INSERT INTO " PGM_SCHEMA ".pgm_job_run_detail (run_id, seq, entries)"
								  " SELECT r.id, COALESCE((SELECT pg_catalog.max(d.seq) FROM " PGM_SCHEMA ".pgm_job_run_detail d"
								  "   WHERE d.run_id OPERATOR(pg_catalog.=) r.id), 0) OPERATOR(pg_catalog.+) 1, $2::jsonb"
								  " FROM " PGM_SCHEMA ".pgm_job_run r WHERE r.id OPERATOR(pg_catalog.=) $1"
								  " AND r.status OPERATOR(pg_catalog.=) ANY ('{queued,running}'::text[])",
								  2, dtypes, dvalues, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into pgm_job_run_detail");
	}

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE " PGM_SCHEMA ".pgm_job_run SET pid = $2, tables_considered = $3, tables_vacuumed = $4,"
					 " tables_analyzed = $5, tables_skipped = $6, tables_failed = $7, indexes_rebuilt = $8,"
					 " dead_tuples_removed = $9, bytes_before = $10, bytes_after = $11, current_table = $12,"
					 " details = CASE WHEN status OPERATOR(pg_catalog.=) ANY ('{queued,running}'::text[])"
					 "   THEN details ELSE details OPERATOR(pg_catalog.||) $13::jsonb END,"
					 " status = COALESCE($14, status),"
					 " error = CASE WHEN $14 IS NULL THEN error ELSE $15 END,"
					 " finished = CASE WHEN $14 IS NULL THEN NULL ELSE pg_catalog.now() END"
					 " WHERE id OPERATOR(pg_catalog.=) $1");
	if (SPI_execute_with_args(sql.data, 15, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgm_job_run");

	taken[slotno] = s->ring_count;
	taken_run[slotno] = s->run_id;
	taken_generation[slotno] = s->generation;
	finalized[slotno] = final;
	if (final)
		ereport(LOG,
				(errmsg("pgmanage: vacuum run %lld %s: %d tables vacuumed, %d analyzed, %d skipped, %d failed",
						(long long) s->run_id, s->status[0] ? s->status : "failed",
						s->tables_vacuumed, s->tables_analyzed, s->tables_skipped, s->tables_failed)));
}

/*
 * A slot whose run this worker did not launch: its pgm_job_run row is
 * gone (DROP EXTENSION) or in another database (pgmanage.database
 * changed), and a row with the same id may now be another run.  Nothing
 * is written: a run going is cancelled, a finished one's slot is freed
 * (after this transaction, with the others).
 */
static void
vacuum_foreign_slot(int slotno, const PgmVacuumSlot *copy, TimestampTz now)
{
	PgmVacuumSlot *slot = &pgm_vacuum->slots[slotno];
	int			pid = 0;
	bool		final = false;

	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	if (slot->run_id == copy->run_id && slot->owner_extoid == copy->owner_extoid &&
		slot->owner_dboid == copy->owner_dboid)
	{
		final = (slot->state == PGM_VSLOT_DONE || slot->state == PGM_VSLOT_DIED ||
				 (slot->state == PGM_VSLOT_LAUNCHING &&
				  TimestampDifferenceExceeds(slot->launched_at, now, VACUUM_LAUNCH_TIMEOUT_MS)));
		if (!final && !slot->cancel_requested)
		{
			strlcpy(slot->cancel_reason,
					"cancelled: the pgmanage extension that started it was dropped, or pgmanage.database changed",
					sizeof(slot->cancel_reason));
			slot->cancel_requested = true;
			pid = slot->pid;
		}
		written_generation[slotno] = slot->generation;
	}
	LWLockRelease(pgm_vacuum->lock);
	if (pid != 0)
	{
		ereport(LOG,
				(errmsg("pgmanage: cancelling vacuum run %lld (pid %d): it was started by a pgmanage extension that was dropped since or in another database; its result is not recorded",
						(long long) copy->run_id, pid)));
		kill(pid, SIGINT);
	}
	if (final)
	{
		taken[slotno] = 0;
		taken_run[slotno] = copy->run_id;
		finalized[slotno] = true;
	}
}

static void
vacuum_collect(PgmDutyContext *ctx)
{
	PgmVacuumSlot *copy = palloc(sizeof(PgmVacuumSlot));
	Oid			extoid = vacuum_extoid();
	int			i;

	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
	{
		PgmVacuumSlot *slot = &pgm_vacuum->slots[i];
		bool		launch_lost = false;

		LWLockAcquire(pgm_vacuum->lock, LW_SHARED);
		if (slot->state == PGM_VSLOT_FREE ||
			(slot->state != PGM_VSLOT_DONE && slot->state != PGM_VSLOT_DIED &&
			 slot->generation == written_generation[i] && slot->state != PGM_VSLOT_LAUNCHING &&
			 (vacuum_slot_ours(slot, extoid) || slot->cancel_requested)))
		{
			LWLockRelease(pgm_vacuum->lock);
			continue;
		}
		memcpy(copy, slot, sizeof(PgmVacuumSlot));
		LWLockRelease(pgm_vacuum->lock);

		if (!vacuum_slot_ours(copy, extoid))
		{
			vacuum_foreign_slot(i, copy, ctx->now);
			continue;
		}
		if (copy->state == PGM_VSLOT_LAUNCHING)
		{
			pid_t		pid;

			/* never attached: the postmaster could not fork, or it is long gone */
			if (slot_handle[i] != NULL &&
				GetBackgroundWorkerPid(slot_handle[i], &pid) == BGWH_STOPPED)
				launch_lost = true;
			else if (slot_handle[i] == NULL &&
					 TimestampDifferenceExceeds(copy->launched_at, ctx->now, VACUUM_LAUNCH_TIMEOUT_MS))
				launch_lost = true;
			if (!launch_lost)
				continue;
			LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
			if (slot->state == PGM_VSLOT_LAUNCHING && slot->run_id == copy->run_id)
			{
				slot->state = PGM_VSLOT_DIED;
				strlcpy(slot->status, "failed", sizeof(slot->status));
				strlcpy(slot->error, "the VACUUM worker did not start (see the server log)", sizeof(slot->error));
			}
			memcpy(copy, slot, sizeof(PgmVacuumSlot));
			LWLockRelease(pgm_vacuum->lock);
			if (copy->state == PGM_VSLOT_LAUNCHING)
				continue;
		}
		vacuum_collect_slot(ctx, i, copy);
	}
	pfree(copy);
}

/* after commit: drop the entries written, free finished slots, launch */
static void
vacuum_after_commit(void)
{
	int			i;

	LWLockAcquire(pgm_vacuum->lock, LW_EXCLUSIVE);
	for (i = 0; i < PGM_MAX_VACUUM_SLOTS; i++)
	{
		PgmVacuumSlot *slot = &pgm_vacuum->slots[i];

		if (slot->state == PGM_VSLOT_FREE || slot->run_id != taken_run[i])
			continue;
		if (taken[i] > 0)
		{
			slot->ring_head = (slot->ring_head + taken[i]) % PGM_VACUUM_RING;
			slot->ring_count -= taken[i];
			if (slot->latch && slot->state == PGM_VSLOT_RUNNING)
				SetLatch(slot->latch);	/* room again */
		}
		written_generation[i] = taken_generation[i];
		if (finalized[i])
		{
			memset(slot, 0, sizeof(PgmVacuumSlot));
			if (slot_handle[i])
			{
				pfree(slot_handle[i]);
				slot_handle[i] = NULL;
			}
		}
	}
	LWLockRelease(pgm_vacuum->lock);
	memset(taken, 0, sizeof(taken));
	memset(taken_run, 0, sizeof(taken_run));
	memset(finalized, 0, sizeof(finalized));

	for (i = 0; i < npending; i++)
		vacuum_launch(&pending[i]);
	npending = 0;
}

const PgmJobKind pgm_vacuum_job_kind = {
	.name = "vacuum",
	.collect = vacuum_collect,
	.alive = vacuum_alive,
	.start = vacuum_start,
	.after_commit = vacuum_after_commit,
	.reset = vacuum_reset,
	.cancel = vacuum_cancel,
};

/* registered with core's utility hook: DROP DATABASE and the like */
const PgmDatabaseUser pgm_vacuum_database_user = {
	.release = pgm_vacuum_release_database,
	.in_database = pgm_vacuum_in_database,
};
