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

#include "pgtime.h"
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

/* time zone of cron schedules; '' = the server's log_timezone (schedule.c) */
char	   *pgm_timezone = NULL;

/* master switch for scheduled jobs and queued runs (jobs.c) */
bool		pgm_enable_jobs = true;

/* finished pgm_job_run rows older than this are pruned by the worker */
int			pgm_job_run_retention_min = 30 * 24 * 60;

/* VACUUM runs at once, across the cluster (vacuum_run.c) */
int			pgm_max_vacuum_workers = 2;

/* strategy 'need' thresholds (vacuum_need.c) */
double		pgm_vacuum_dead_fraction = 0.1;
int			pgm_vacuum_min_dead_tuples = 1000;
double		pgm_vacuum_analyze_fraction = 0.1;
double		pgm_vacuum_freeze_age_fraction = 0.8;
double		pgm_vacuum_bloat_pct = 30.0;
double		pgm_reindex_bloat_pct = 40.0;

/* a zone PostgreSQL knows and can use (not a leap-second zone) */
static bool
guc_check_timezone(char **newval, void **extra, GucSource source)
{
	pg_tz	   *tz;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	tz = pg_tzset(*newval);
	if (tz == NULL)
	{
		GUC_check_errdetail("Time zone \"%s\" is unknown.", *newval);
		GUC_check_errhint("Use a name from pg_timezone_names, for example \"Europe/Berlin\" or \"UTC\", or '' for the server's log_timezone.");
		return false;
	}
	if (!pg_tz_acceptable(tz))
	{
		GUC_check_errdetail("Time zone \"%s\" uses leap seconds, which PostgreSQL does not support.", *newval);
		return false;
	}
	return true;
}

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

	DefineCustomStringVariable("pgmanage.timezone",
							   "Time zone in which cron schedules of pgmanage jobs are evaluated.",
							   "Empty (the default) means the server's log_timezone, which every session sees alike.",
							   &pgm_timezone,
							   "",
							   PGC_SIGHUP,
							   0,
							   guc_check_timezone, NULL, NULL);

	DefineCustomBoolVariable("pgmanage.enable_jobs",
							 "Start scheduled and queued pgmanage jobs.",
							 "Turn off to pause every job at once; runs already going continue.",
							 &pgm_enable_jobs,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.job_run_retention",
							"How long finished rows of pgm_job_run are kept.",
							NULL,
							&pgm_job_run_retention_min,
							30 * 24 * 60, 1, INT_MAX / 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.max_vacuum_workers",
							"Most VACUUM runs of pgmanage going at once in the cluster.",
							"Each run is one background worker process (counted in max_worker_processes).",
							&pgm_max_vacuum_workers,
							2, 1, PGM_MAX_VACUUM_SLOTS,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("pgmanage.vacuum_dead_fraction",
							 "Strategy need: vacuum a table whose dead tuples exceed this fraction of its live tuples.",
							 "And pgmanage.vacuum_min_dead_tuples.",
							 &pgm_vacuum_dead_fraction,
							 0.1, 0.0, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.vacuum_min_dead_tuples",
							"Strategy need: fewest dead tuples (or modifications) that make a table worth vacuuming (or analyzing).",
							NULL,
							&pgm_vacuum_min_dead_tuples,
							1000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("pgmanage.vacuum_analyze_fraction",
							 "Strategy need: analyze a table modified since its last analyze by more than this fraction of its rows.",
							 NULL,
							 &pgm_vacuum_analyze_fraction,
							 0.1, 0.0, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pgmanage.vacuum_freeze_age_fraction",
							 "Strategy need: vacuum a table whose transaction ID age reaches this fraction of autovacuum_freeze_max_age.",
							 "The same fraction of autovacuum_multixact_freeze_max_age applies to multixact age.",
							 &pgm_vacuum_freeze_age_fraction,
							 0.8, 0.05, 1.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pgmanage.vacuum_bloat_pct",
							 "Strategy need: vacuum a table whose estimated bloat (pgm_bloat) reaches this percentage.",
							 NULL,
							 &pgm_vacuum_bloat_pct,
							 30.0, 1.0, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pgmanage.reindex_bloat_pct",
							 "Jobs with reindex_bloated: rebuild a B-tree index whose estimated bloat (pgm_bloat) reaches this percentage.",
							 NULL,
							 &pgm_reindex_bloat_pct,
							 40.0, 1.0, 100.0,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("pgmanage");
}
