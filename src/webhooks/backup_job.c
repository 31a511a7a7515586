/*-------------------------------------------------------------------------
 * webhooks/backup_job.c
 *		The 'backup' job kind (pgm_schedule_backup): at each slot of the
 *		job, put a 'backup' event in the webhook outbox.
 *
 * start() runs in the scheduler's transaction (jobs.c, primary only): it
 * enqueues the event with pgm_backup_enqueue(), so the event exists if and
 * only if the run's outcome is committed, and finishes the run at once:
 * 'succeeded' with the event id in the run's details, or 'failed' (by
 * jobs.c, with the error) when the event cannot be queued, e.g. because
 * the job's endpoint was deleted.  Delivery itself is the sender's
 * business: follow details->0->>'event_id' to pgm_events.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "webhooks/webhooks.h"

static PgmRunStart
backup_start(PgmDutyContext *ctx, const PgmRunRequest *req)
{
	StringInfoData sql;
	Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	char	   *endpoint;
	char	   *label;
	char	   *data;
	int64		event_id;

	/* the job's options: {"endpoint": ..., "label": ...}, both optional */
	values[0] = CStringGetTextDatum(req->options ? req->options : "{}");
	if (SPI_execute_with_args("SELECT $1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'endpoint',"
							  " $1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'label'",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the options of run " INT64_FORMAT, req->run_id);
	endpoint = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	label = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

	/* the job and run, for the receiver (the payload's "data") */
	values[0] = req->job ? CStringGetTextDatum(req->job) : (Datum) 0;
	nulls[0] = req->job ? ' ' : 'n';
	values[1] = Int64GetDatum(req->run_id);
	if (SPI_execute_with_args("SELECT pg_catalog.jsonb_build_object('job', $1::pg_catalog.text,"
							  " 'run_id', $2::pg_catalog.int8)::pg_catalog.text",
							  2, types, values, nulls, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not build the data of run " INT64_FORMAT, req->run_id);
	data = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	event_id = pgm_backup_enqueue(label, endpoint, data);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE " PGM_SCHEMA ".pgm_job_run SET status = 'succeeded',"
					 " started = pg_catalog.now(), finished = pg_catalog.now(),"
					 " details = pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object("
					 "   'outcome', 'enqueued', 'event_id', $2::pg_catalog.int8,"
					 "   'endpoint', $3::pg_catalog.text))"
					 " WHERE id OPERATOR(pg_catalog.=) $1::pg_catalog.int8");
	types[0] = INT8OID;
	values[0] = Int64GetDatum(req->run_id);
	nulls[0] = ' ';
	values[1] = Int64GetDatum(event_id);
	values[2] = endpoint ? CStringGetTextDatum(endpoint) : (Datum) 0;
	nulls[2] = endpoint ? ' ' : 'n';
	if (SPI_execute_with_args(sql.data, 3, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgm_job_run");
	return PGM_RUN_FINISHED;
}

const PgmJobKind pgm_backup_job_kind = {
	.name = "backup",
	.start = backup_start,
};
