/*-------------------------------------------------------------------------
 * webhooks/alerts.c
 *		Disk alerts and event-driven backup triggers: a worker duty that
 *		turns threshold crossings into webhook events, one per crossing.
 *
 *   disk_alert / disk_ok   used space of the data directory's filesystem
 *                          (and pg_wal's, when it is another one) rises to
 *                          pgmanage.disk_alert_threshold / falls one point
 *                          below it; checked every pgmanage.disk_check_interval
 *   backup (wal_threshold) WAL written since the last backup event passes
 *                          pgmanage.backup_wal_threshold
 *   backup (archive_age)   pg_stat_archiver's last archived WAL is older than
 *                          pgmanage.backup_archive_max_age
 *
 * The state of each check (ok / alert, the LSN of the last backup event)
 * lives in pgm_alert_state, written in the same transaction as the event:
 * a restart or a crash neither repeats nor loses a crossing.  Events go to
 * the outbox only if an enabled endpoint subscribes to their kind; the
 * state advances either way.  Runs on the primary only (a standby cannot
 * write the state or send anything).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "webhooks/webhooks.h"

/* disk_ok once usage is this many points below the threshold */
#define ALERTS_DISK_HYSTERESIS 1.0

/*
 * The state of a check (palloc'd), or NULL if never checked; for the WAL
 * trigger, also the LSN and event id of its detail.
 */
static char *
alerts_get_state(const char *name, char **detail_lsn, char **detail_event)
{
	char		sql[512];
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};

	snprintf(sql, sizeof(sql),
			 "SELECT state, detail OPERATOR(pg_catalog.->>) 'lsn', detail OPERATOR(pg_catalog.->>) 'event_id'"
			 " FROM " PGM_SCHEMA ".pgm_alert_state WHERE name OPERATOR(pg_catalog.=) $1");
	if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_alert_state");
	if (SPI_processed == 0)
		return NULL;
	if (detail_lsn)
		*detail_lsn = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (detail_event)
		*detail_event = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

static void
alerts_set_state(const char *name, const char *state, const char *detail_json)
{
	char		sql[768];
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	snprintf(sql, sizeof(sql),
			 "INSERT INTO " PGM_SCHEMA ".pgm_alert_state AS a (name, state, detail, changed_at, checked_at)"
			 " VALUES ($1, $2, $3::pg_catalog.jsonb, pg_catalog.now(), pg_catalog.now())"
			 " ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, detail = EXCLUDED.detail,"
			 " checked_at = EXCLUDED.checked_at,"
			 " changed_at = CASE WHEN a.state OPERATOR(pg_catalog.=) EXCLUDED.state THEN a.changed_at"
			 "  ELSE EXCLUDED.changed_at END");
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(state);
	values[2] = detail_json ? CStringGetTextDatum(detail_json) : (Datum) 0;
	nulls[2] = detail_json ? ' ' : 'n';
	if (SPI_execute_with_args(sql, 3, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write pgm_alert_state");
}

static void
alerts_check_area(const char *area, const char *path)
{
	PgmDiskSpace space;
	char		name[64];
	char	   *state;
	char	   *detail;
	char	   *resolved;
	bool		over;

	if (!pgm_disk_space(path, &space))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read the filesystem of \"%s\": %m", path)));
	snprintf(name, sizeof(name), "disk:%s", area);
	state = alerts_get_state(name, NULL, NULL);
	over = space.used_pct >= pgm_disk_alert_threshold;
	resolved = realpath(path, NULL);
	{
		/* a JSON string for the path */
		StringInfoData js;

		initStringInfo(&js);
		escape_json(&js, resolved ? resolved : path);
		detail = psprintf("{\"area\": \"%s\", \"path\": %s, \"used_pct\": %.1f, \"threshold_pct\": %d,"
						  " \"total_bytes\": " UINT64_FORMAT ", \"available_bytes\": " UINT64_FORMAT "}",
						  area, js.data, space.used_pct, pgm_disk_alert_threshold,
						  space.total_bytes, space.avail_bytes);
	}
	free(resolved);

	if (over && (state == NULL || strcmp(state, "alert") != 0))
	{
		(void) pgm_event_enqueue("disk_alert", area, NULL, detail, true);
		alerts_set_state(name, "alert", detail);
	}
	else if (!over && state != NULL && strcmp(state, "alert") == 0 &&
			 space.used_pct < pgm_disk_alert_threshold - ALERTS_DISK_HYSTERESIS)
	{
		(void) pgm_event_enqueue("disk_ok", area, NULL, detail, true);
		alerts_set_state(name, "ok", detail);
	}
	else
		alerts_set_state(name, state ? state : "ok", detail);	/* no crossing: record the check */
}

/* the data directory's filesystem, and pg_wal's if it is another one */
static void
alerts_check_disk(void)
{
	struct stat data_st;
	struct stat wal_st;

	if (stat(DataDir, &data_st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat the data directory: %m")));
	alerts_check_area("data_directory", DataDir);
	if (stat(XLOGDIR, &wal_st) == 0 && wal_st.st_dev != data_st.st_dev)
		alerts_check_area("pg_wal", XLOGDIR);
}

/*
 * WAL since the last backup event: the baseline is the LSN of the newest
 * backup event (whatever sent it), or where we first looked.
 */
static void
alerts_check_wal(void)
{
	char		sql[1024];
	char	   *lsn_text = NULL;
	char	   *last_id = NULL;
	char	   *state = alerts_get_state("backup_wal", &lsn_text, &last_id);
	XLogRecPtr	now_lsn = GetXLogWriteRecPtr();
	XLogRecPtr	base;
	uint64		written;
	uint64		threshold = (uint64) pgm_backup_wal_threshold_mb * 1024 * 1024;

	/* a newer backup event moves the baseline */
	snprintf(sql, sizeof(sql),
			 "SELECT id, payload OPERATOR(pg_catalog.->>) 'wal_lsn' FROM " PGM_SCHEMA ".pgm_event"
			 " WHERE kind OPERATOR(pg_catalog.=) 'backup' AND id OPERATOR(pg_catalog.>) %s"
			 " ORDER BY id DESC LIMIT 1", last_id ? last_id : "0");
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_event");
	if (SPI_processed == 1)
	{
		char	   *id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *lsn = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		alerts_set_state("backup_wal", "ok",
						 psprintf("{\"lsn\": \"%s\", \"event_id\": %s}", lsn, id));
		return;
	}
	if (state == NULL || lsn_text == NULL)
	{
		alerts_set_state("backup_wal", "ok",
						 psprintf("{\"lsn\": \"%X/%X\", \"event_id\": 0}", LSN_FORMAT_ARGS(now_lsn)));
		return;
	}
	base = DatumGetLSN(DirectFunctionCall1(pg_lsn_in, CStringGetDatum(lsn_text)));
	written = now_lsn > base ? now_lsn - base : 0;
	if (written > threshold)
	{
		char	   *data = psprintf("{\"trigger\": \"wal_threshold\", \"wal_bytes\": " UINT64_FORMAT
									", \"threshold_bytes\": " UINT64_FORMAT ", \"since_lsn\": \"%s\"}",
									written, threshold, lsn_text);
		int64		id = pgm_event_enqueue("backup", "wal_threshold", NULL, data, true);

		alerts_set_state("backup_wal", "ok",
						 psprintf("{\"lsn\": \"%X/%X\", \"event_id\": " INT64_FORMAT "}",
								  LSN_FORMAT_ARGS(now_lsn), id > 0 ? id : (int64) strtoi64(last_id ? last_id : "0", NULL, 10)));
	}
}

/* the last archived WAL file: older than the limit is a crossing */
static void
alerts_check_archive(void)
{
	char	   *state = alerts_get_state("archive_age", NULL, NULL);
	char		sql[512];
	bool		stale;
	char	   *data;

	snprintf(sql, sizeof(sql),
			 "SELECT last_archived_wal, last_archived_time,"
			 " pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) last_archived_time)::pg_catalog.int8"
			 " OPERATOR(pg_catalog.>) %d"
			 " FROM pg_catalog.pg_stat_archiver WHERE last_archived_time IS NOT NULL",
			 pgm_backup_archive_max_age_s);
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_stat_archiver");
	if (SPI_processed == 0)
		return;					/* nothing archived yet (or archiving off) */
	stale = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3), "t") == 0;
	data = psprintf("{\"trigger\": \"archive_age\", \"last_archived_wal\": \"%s\","
					" \"last_archived_time\": \"%s\", \"max_age_s\": %d}",
					SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
					SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
					pgm_backup_archive_max_age_s);
	if (stale && (state == NULL || strcmp(state, "stale") != 0))
	{
		(void) pgm_event_enqueue("backup", "archive_age", NULL, data, true);
		alerts_set_state("archive_age", "stale", data);
	}
	else if (!stale && (state == NULL || strcmp(state, "ok") != 0))
		alerts_set_state("archive_age", "ok", data);
}

/*
 * Worker duty (primary only): the disk check every
 * pgmanage.disk_check_interval, the backup triggers on every pass (each
 * is one or two small queries) when they are on.
 */
void
pgm_alerts_duty(PgmDutyContext *ctx)
{
	static TimestampTz next_disk_check = 0;
	static int	last_interval = -1;

	if (last_interval != pgm_disk_check_interval_s)
	{
		next_disk_check = 0;	/* changed by a reload: check now */
		last_interval = pgm_disk_check_interval_s;
	}
	if (pgm_disk_check_interval_s > 0 && ctx->now >= next_disk_check)
	{
		next_disk_check = TimestampTzPlusMilliseconds(ctx->now, pgm_disk_check_interval_s * 1000L);
		alerts_check_disk();
	}
	if (pgm_backup_wal_threshold_mb >= 0)
		alerts_check_wal();
	if (pgm_backup_archive_max_age_s >= 0)
		alerts_check_archive();
}
