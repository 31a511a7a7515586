/*-------------------------------------------------------------------------
 * guc.c
 *		pgmanage's settings (pgmanage.*).
 *
 * Every setting has a unit, a range and, where a value can be wrong in a
 * way the range cannot express, a check hook, so a bad value is refused
 * when it is set and never discovered by a worker at run time.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "pgmanage.h"

/* database the pgmanage worker connects to and keeps its tables in */
char	   *pgm_database = NULL;

/* longest sleep of the launcher and the worker when nothing is due */
int			pgm_naptime_ms = 1000;

/* master switch for timeout-policy enforcement */
bool		pgm_enforce_timeouts = true;

/* pgm_kill_log rows older than this are pruned by the worker */
int			pgm_kill_log_retention_min = 7 * 24 * 60;

/* deliveries the sender runs at once */
int			pgm_max_concurrent_deliveries = 16;

/* delivered and dead events older than this are pruned by the worker */
int			pgm_webhook_retention_min = 7 * 24 * 60;

/* first retry delay, doubled at each failed attempt up to the maximum */
int			pgm_webhook_retry_min_ms = 1000;
int			pgm_webhook_retry_max_s = 3600;

/* how often the worker checks the data directory's and pg_wal's filesystems; 0: never */
int			pgm_disk_check_interval_s = 60;

/* used space (percent) above which disk_alert is sent */
int			pgm_disk_alert_threshold = 85;

/* WAL since the last backup event above which a backup event is sent; -1: off */
int			pgm_backup_wal_threshold_mb = -1;

/* age of the last archived WAL file above which a backup event is sent; -1: off */
int			pgm_backup_archive_max_age_s = -1;

static bool
guc_check_database(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("pgmanage.database must name a database.");
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("Database names are at most %d bytes long.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

void
pgm_define_gucs(void)
{
	DefineCustomStringVariable("pgmanage.database",
							   "Database in which the pgmanage worker runs and keeps its tables.",
							   "The extension must be created in this database for policies, logs and jobs to work.",
							   &pgm_database,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   guc_check_database, NULL, NULL);

	DefineCustomIntVariable("pgmanage.naptime",
							"Longest sleep of the pgmanage processes when no deadline is due.",
							"New statements are discovered at least this often (and at least as often as the shortest policy limit).",
							&pgm_naptime_ms,
							1000, 10, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pgmanage.enforce_timeouts",
							 "Enforce the policies of pgm_timeout_policy.",
							 "Turn off to stop all enforcement at once without touching the policies.",
							 &pgm_enforce_timeouts,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.kill_log_retention",
							"How long rows of pgm_kill_log are kept.",
							NULL,
							&pgm_kill_log_retention_min,
							7 * 24 * 60, 1, INT_MAX / 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.max_concurrent_deliveries",
							"Webhook deliveries the sender runs at once.",
							"Connections to an endpoint are kept open and reused.",
							&pgm_max_concurrent_deliveries,
							16, 1, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.webhook_retention",
							"How long delivered and dead webhook events are kept.",
							"Events with a pending delivery are never pruned.",
							&pgm_webhook_retention_min,
							7 * 24 * 60, 1, INT_MAX / 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.webhook_retry_min",
							"Delay before the first retry of a failed webhook delivery.",
							"Doubled at each further failure, up to pgmanage.webhook_retry_max, with jitter; a Retry-After header can only lengthen it.",
							&pgm_webhook_retry_min_ms,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.webhook_retry_max",
							"Longest delay between two attempts of a webhook delivery (but see Retry-After).",
							NULL,
							&pgm_webhook_retry_max_s,
							3600, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.disk_check_interval",
							"How often the worker checks the filesystems of the data directory and pg_wal.",
							"0 turns disk alerts off.",
							&pgm_disk_check_interval_s,
							60, 0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.disk_alert_threshold",
							"Used space, in percent, above which a disk_alert event is sent.",
							"disk_ok is sent when usage falls one point below it again.",
							&pgm_disk_alert_threshold,
							85, 1, 99,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.backup_wal_threshold",
							"WAL written since the last backup event above which a backup event is sent.",
							"-1 turns this trigger off.",
							&pgm_backup_wal_threshold_mb,
							-1, -1, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.backup_archive_max_age",
							"Age of the last archived WAL file (pg_stat_archiver) above which a backup event is sent.",
							"-1 turns this trigger off.",
							&pgm_backup_archive_max_age_s,
							-1, -1, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pgmanage");
}
