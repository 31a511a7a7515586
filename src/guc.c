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

	MarkGUCPrefixReserved("pgmanage");
}
