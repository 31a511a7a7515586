/*-------------------------------------------------------------------------
 * timeouts/status.c
 *		pgm_status(): what pgmanage's background processes are doing;
 *		pgm_timeout_actions(): the signals sent, per kind of limit.
 *
 * One row for the launcher (timeout enforcement), one for the worker
 * (tables) and one for the sender (webhooks), read from shared memory; a
 * process that is not running has a NULL pid.  The sender's policy and
 * extension columns are NULL (the launcher's and worker's rows say them).
 * ERROR 55000 when pgmanage is not preloaded.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "timeouts/timeouts.h"

PG_FUNCTION_INFO_V1(pgm_status);

#define STATUS_COLS_2_1 18		/* the columns of 2.1's SQL definition */
#define STATUS_COLS 23
#define STATUS_COUNTERS 6

static void
status_emit(ReturnSetInfo *rsinfo, const char *name, const PgmProcStatus *st,
			const char *db, Datum *counters, bool *counter_nulls, int npolicies,
			int nskipped, bool show_policies, bool ext_found, bool show_ext,
			const PgmStopState *stop)
{
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	int			i;
	uint64		lost;

	memset(nulls, 0, sizeof(nulls));
	memset(values, 0, sizeof(values));
	values[0] = CStringGetTextDatum(name);
	values[1] = Int32GetDatum(st->pid);
	nulls[1] = (st->pid == 0);
	values[2] = TimestampTzGetDatum(st->started_at);
	nulls[2] = (st->started_at == 0);
	values[3] = db ? CStringGetTextDatum(db) : (Datum) 0;
	nulls[3] = (db == NULL);
	values[4] = CStringGetTextDatum(RecoveryInProgress() ? "standby" : "primary");
	values[5] = TimestampTzGetDatum(st->last_wake);
	nulls[5] = (st->last_wake == 0);
	values[6] = TimestampTzGetDatum(st->next_deadline);
	nulls[6] = (st->next_deadline == 0);
	values[7] = Int32GetDatum(npolicies);
	nulls[7] = !show_policies;
	values[8] = Int32GetDatum(nskipped);
	nulls[8] = !show_policies;
	values[9] = BoolGetDatum(ext_found);
	nulls[9] = !show_ext;
	for (i = 0; i < STATUS_COUNTERS; i++)
	{
		values[10 + i] = counters[i];
		nulls[10 + i] = counter_nulls[i];
	}
	values[16] = CStringGetTextDatum(st->last_error);
	nulls[16] = (st->last_error[0] == '\0');
	values[17] = TimestampTzGetDatum(st->last_error_at);
	nulls[17] = (st->last_error_at == 0);

	/*
	 * the previous stop of the server (launcher row only; core/stop_state.c):
	 * unclean stops counted, how it ended, when, what shared memory lost
	 */
	for (i = 18; i < STATUS_COLS; i++)
		nulls[i] = true;
	if (stop)
	{
		values[18] = Int64GetDatum(stop->unclean_stops);
		nulls[18] = false;
		values[19] = CStringGetTextDatum(stop->last_stop);
		nulls[19] = (stop->last_stop[0] == '\0');
		values[20] = TimestampTzGetDatum(stop->last_stop_at);
		nulls[20] = (stop->last_stop_at == 0);
		nulls[21] = !pgm_stop_state_lost(stop, "slow statements", &lost);
		values[21] = Int64GetDatum((int64) lost);
		nulls[22] = !pgm_stop_state_lost(stop, "kill records", &lost);
		values[22] = Int64GetDatum((int64) lost);
	}
	/* the 2.1 definition (library updated, ALTER EXTENSION UPDATE not run yet) */
	Assert(rsinfo->setDesc->natts == STATUS_COLS || rsinfo->setDesc->natts == STATUS_COLS_2_1);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
pgm_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgmProcStatus launcher;
	PgmProcStatus worker;
	PgmProcStatus sender;
	char		worker_db[NAMEDATALEN];
	int			npolicies;
	int			nskipped;
	int			pending;
	bool		ext_found;
	Datum		counters[STATUS_COUNTERS];
	bool		counter_nulls[STATUS_COUNTERS];
	PgmStopState stop;
	bool		have_stop;

	pgm_shmem_require();
	InitMaterializedSRF(fcinfo, 0);
	have_stop = pgm_stop_state_get(&stop);

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	launcher = pgm_shared->launcher;
	worker = pgm_shared->children[PGM_CHILD_WORKER];
	sender = pgm_shared->children[PGM_CHILD_SENDER];
	strlcpy(worker_db, pgm_shared->children[PGM_CHILD_WORKER].database, NAMEDATALEN);
	npolicies = pgm_timeouts->npolicies;
	nskipped = pgm_timeouts->policies_skipped;
	pending = pgm_timeouts->queue_count;
	ext_found = pgm_shared->extension_found;
	LWLockRelease(pgm_shared->lock);

	counters[0] = Int64GetDatum((int64) pg_atomic_read_u64(&pgm_timeouts->statements_cancelled));
	counters[1] = Int64GetDatum((int64) pg_atomic_read_u64(&pgm_timeouts->sessions_terminated));
	counters[2] = Int64GetDatum((int64) pg_atomic_read_u64(&pgm_timeouts->signals_failed));
	counters[3] = Int64GetDatum((int64) pg_atomic_read_u64(&pgm_timeouts->kill_log_written));
	counters[4] = Int64GetDatum((int64) pending);
	counters[5] = Int64GetDatum((int64) pg_atomic_read_u64(&pgm_timeouts->kill_log_dropped));

	/* launcher: the actions it took */
	counter_nulls[0] = counter_nulls[1] = counter_nulls[2] = false;
	counter_nulls[3] = counter_nulls[4] = counter_nulls[5] = true;
	status_emit(rsinfo, "launcher", &launcher, NULL, counters, counter_nulls,
				npolicies, nskipped, true, false, false, have_stop ? &stop : NULL);

	/* worker: the kill-log rows it wrote, has waiting, dropped */
	counter_nulls[0] = counter_nulls[1] = counter_nulls[2] = true;
	counter_nulls[3] = counter_nulls[4] = counter_nulls[5] = false;
	status_emit(rsinfo, "worker", &worker, worker_db[0] ? worker_db : pgm_database,
				counters, counter_nulls, npolicies, nskipped, true, ext_found, true, NULL);

	/*
	 * sender: its figures are in pgm_endpoint_status and pgm_events; it
	 * loads no policies and does not record its own check of the extension
	 * (the worker's row says it, for the same database): NULL there
	 */
	counter_nulls[3] = counter_nulls[4] = counter_nulls[5] = true;
	status_emit(rsinfo, "sender", &sender, sender.database[0] ? sender.database : pgm_database,
				counters, counter_nulls, npolicies, nskipped, false, false, false, NULL);
	return (Datum) 0;
}

/*
 * pgm_timeout_actions(): the signals sent since server start, per kind of
 * limit (its pgm_kill_log.limit_kind name) and action; every pair, zeros
 * included, so a monitoring system sees each series from the start.  The
 * kinds are listed by name: slots whose kind pgm_limit_kind_name() does
 * not know repeat a name already listed and are left out.
 */
PG_FUNCTION_INFO_V1(pgm_timeout_actions);

Datum
pgm_timeout_actions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *listed[PGM_LIMIT_KIND_SLOTS];
	int			nlisted = 0;
	int			k;

	pgm_shmem_require();
	InitMaterializedSRF(fcinfo, 0);

	for (k = 0; k < PGM_LIMIT_KIND_SLOTS; k++)
	{
		const char *name = pgm_limit_kind_name((PgmLimitKind) k);
		bool		seen = false;
		int			i;
		int			a;

		for (i = 0; i < nlisted; i++)
			if (strcmp(listed[i], name) == 0)
				seen = true;
		if (seen)
			continue;
		listed[nlisted++] = name;
		for (a = 0; a < 2; a++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			values[0] = CStringGetTextDatum(name);
			values[1] = CStringGetTextDatum(a ? "terminate" : "cancel");
			values[2] = Int64GetDatum((int64) pg_atomic_read_u64(&pgm_timeouts->actions[k][a]));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
