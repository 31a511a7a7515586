/*-------------------------------------------------------------------------
 * core/guc.c
 *		pgmanage's settings (pgmanage.*).
 *
 * Every setting has a unit, a range and, where a value can be wrong in a
 * way the range cannot express, a check hook, so a bad value is refused
 * when it is set and never discovered by a worker at run time.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <arpa/inet.h>

#include "pgtime.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "core/core.h"
#include "core/compat.h"

/* database the pgmanage worker connects to and keeps its tables in */
char	   *pgm_database = NULL;

/* longest sleep of the launcher and the worker when nothing is due */
int			pgm_naptime_ms = 1000;

/* master switch for timeout-policy enforcement */
bool		pgm_enforce_timeouts = true;

/* pgm_kill_log rows older than this are pruned by the worker */
int			pgm_kill_log_retention_min = 7 * 24 * 60;

/*
 * Slow-query capture (slowlog_hooks.c); superuser-settable, like
 * log_min_duration_statement, so that a user cannot hide a statement.
 */

/* statements running at least this long are logged and captured; -1: off */
int			pgm_log_min_duration_ms = -1;

/* also capture the plan of a slow statement: off, text or json */
int			pgm_log_plan = PGM_LOG_PLAN_OFF;

/* also capture statements run inside functions, DO and CALL */
bool		pgm_log_nested_statements = false;

/* also capture utility statements (DDL, VACUUM, COPY, ...) */
bool		pgm_log_utility = false;

/* fraction of top-level statements considered */
double		pgm_sample_rate = 1.0;

/* shared memory for the capture ring (read at server start) */
int			pgm_capture_buffer_kb = 4096;

/* pgm_slow_queries rows older than this are pruned by the worker */
int			pgm_slow_queries_retention_min = 7 * 24 * 60;

/* pg_stat_statements history (pgss_history.c): interval, 0 = off */
int			pgm_pgss_snapshot_interval_s = 300;

/* pgm_pgss_snapshot rows (and their deltas) older than this are pruned */
int			pgm_pgss_history_retention_min = 7 * 24 * 60;

static const struct config_enum_entry guc_log_plan_options[] = {
	{"off", PGM_LOG_PLAN_OFF, false},
	{"text", PGM_LOG_PLAN_TEXT, false},
	{"json", PGM_LOG_PLAN_JSON, false},
	{"false", PGM_LOG_PLAN_OFF, true},
	{"no", PGM_LOG_PLAN_OFF, true},
	{"0", PGM_LOG_PLAN_OFF, true},
	{NULL, 0, false}
};

/* deliveries the sender runs at once */
int			pgm_max_concurrent_deliveries = 16;

/* delivered and dead events older than this are pruned by the worker */
int			pgm_webhook_retention_min = 7 * 24 * 60;

/* first retry delay, doubled at each failed attempt up to the maximum */
int			pgm_webhook_retry_min_ms = 1000;
int			pgm_webhook_retry_max_s = 3600;

/* address ranges the sender may reach despite its built-in refusals, and more it refuses */
char	   *pgm_webhook_allow_addresses = NULL;
char	   *pgm_webhook_deny_addresses = NULL;
static const PgmAddrList guc_no_addresses = {0};
const PgmAddrList *pgm_webhook_allow_list = &guc_no_addresses;
const PgmAddrList *pgm_webhook_deny_list = &guc_no_addresses;

/* the sender's circuit breaker: failures in a row that open it (0: off), probe interval */
int			pgm_webhook_circuit_failures = 5;
int			pgm_webhook_circuit_probe_interval_ms = 500;

/* how often the worker checks the data directory's and pg_wal's filesystems; 0: never */
int			pgm_disk_check_interval_s = 60;

/* used space (percent) above which disk_alert is sent */
int			pgm_disk_alert_threshold = 85;

/* WAL since the last backup event above which a backup event is sent; -1: off */
int			pgm_backup_wal_threshold_mb = -1;

/* age of the last archived WAL file above which a backup event is sent; -1: off */
int			pgm_backup_archive_max_age_s = -1;

/* time zone of cron schedules; '' = the server's log_timezone (schedule.c) */
char	   *pgm_timezone = NULL;

/* master switch for scheduled jobs and queued runs (jobs.c) */
bool		pgm_enable_jobs = true;

/* finished pgm_job_run rows older than this are pruned by the worker */
int			pgm_job_run_retention_min = 30 * 24 * 60;

/*
 * Row caps of the tables the worker keeps (core/retention.c): beyond this
 * many rows the oldest are deleted, whatever their age; 0: no cap.  Work
 * not yet done (a pending event, a queued or running run) is never deleted.
 */
int			pgm_kill_log_max_rows = 100000;
int			pgm_slow_queries_max_rows = 100000;
int			pgm_pgss_history_max_rows = 1000000;	/* rows of pgm_pgss_history */
int			pgm_webhook_max_rows = 100000;	/* events (their deliveries go with them) */
int			pgm_job_run_max_rows = 100000;

/* VACUUM runs at once, across the cluster (vacuum_run.c) */
int			pgm_max_vacuum_workers = 2;

/* strategy 'need' thresholds (vacuum_need.c) */
double		pgm_vacuum_dead_fraction = 0.1;
int			pgm_vacuum_min_dead_tuples = 1000;
double		pgm_vacuum_analyze_fraction = 0.1;
double		pgm_vacuum_freeze_age_fraction = 0.8;
double		pgm_vacuum_bloat_pct = 30.0;
double		pgm_reindex_bloat_pct = 40.0;

/*
 * Health checks (health/, pgm_health()): how often the worker evaluates
 * them, the band against flapping, and each check's two thresholds.
 * The table is the storage of the pgmanage.health_<check>_warning and
 * _critical settings (-1: that level off); its order is pgm_health()'s.
 */
int			pgm_health_check_interval_s = 60;
int			pgm_health_hysteresis_pct = 5;

PgmHealthThreshold pgm_health_levels[PGM_HEALTH_NCHECKS] = {
	{"disk", "percent", "used space of the fullest filesystem (data directory, pg_wal, tablespaces), percent",
	 0, 100, 80, 90},
	{"wraparound", "percent", "oldest datfrozenxid / datminmxid age of a database, percent of autovacuum_(multixact_)freeze_max_age",
	 0, 1000, 110, 125},
	{"replication_lag", "seconds", "replay lag of the slowest standby (on a standby: its own)",
	 GUC_UNIT_S, INT_MAX, 60, 300},
	{"slot_retention", "bytes", "WAL retained by the replication slot that keeps most",
	 GUC_UNIT_MB, INT_MAX, 1024, 10240},
	{"connections", "percent", "client connections, percent of max_connections less the reserved ones",
	 0, 1000, 80, 95},
	{"invalid_indexes", "count", "invalid indexes of the current database (a failed CREATE INDEX CONCURRENTLY)",
	 0, INT_MAX, 1, -1},
	{"sequences", "percent", "the sequence of the current database nearest to its end (or to its column type's), percent used",
	 0, 100, 75, 90},
	{"long_transactions", "seconds", "duration of the oldest open transaction of a client backend",
	 GUC_UNIT_S, INT_MAX, 1800, 7200},
	{"xmin_horizon", "transactions", "age in transactions of the oldest xmin holder (backend, prepared transaction, slot, standby feedback)",
	 0, INT_MAX, 10000000, 100000000},
	{"prepared_transactions", "seconds", "age of the oldest prepared transaction",
	 GUC_UNIT_S, INT_MAX, 300, 3600},
	{"pg_hba", "count", "high-risk pg_hba.conf lines (errors, trust over the network, clear-text password without SSL)",
	 0, INT_MAX, 1, -1},
	{"archive", "seconds", "age of the oldest WAL file waiting to be archived",
	 GUC_UNIT_S, INT_MAX, 600, 3600},
};

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

/*
 * A list of address ranges, "a.b.c.d[/n]" or "x:y::z[/n]", separated by
 * commas or spaces, parsed into *extra (a PgmAddrList, allocated as the GUC
 * machinery requires).
 */
static bool
guc_check_addresses(char **newval, void **extra, GucSource source)
{
	const char *s = *newval ? *newval : "";
	PgmAddrList *list = pgm_guc_malloc(offsetof(PgmAddrList, r) + sizeof(PgmAddrRange) * (strlen(s) / 2 + 1));

	if (list == NULL)
		return false;
	list->n = 0;
	while (*s)
	{
		char		item[INET6_ADDRSTRLEN + 8];
		int			len = strcspn(s, ", \t");
		char	   *slash;
		PgmAddrRange *r = &list->r[list->n];
		int			max;

		if (len == 0)
		{
			s++;
			continue;
		}
		if (len >= (int) sizeof(item))
			goto bad;
		memcpy(item, s, len);
		item[len] = '\0';
		s += len;
		slash = strchr(item, '/');
		if (slash)
			*slash = '\0';
		memset(r, 0, sizeof(*r));
		if (inet_pton(AF_INET, item, r->addr) == 1)
			r->family = 4, max = 32;
		else if (inet_pton(AF_INET6, item, r->addr) == 1)
			r->family = 6, max = 128;
		else
			goto bad;
		r->bits = max;
		if (slash)
		{
			char	   *end;
			long		bits = strtol(slash + 1, &end, 10);

			if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > max)
				goto bad;
			r->bits = (int) bits;
		}
		list->n++;
	}
	*extra = list;
	return true;

bad:
	pgm_guc_free(list);
	GUC_check_errdetail("Expected a list of IP addresses or ranges (a.b.c.d/n, x:y::z/n) separated by commas.");
	return false;
}

static void
guc_assign_allow_addresses(const char *newval, void *extra)
{
	pgm_webhook_allow_list = extra ? (const PgmAddrList *) extra : &guc_no_addresses;
}

static void
guc_assign_deny_addresses(const char *newval, void *extra)
{
	pgm_webhook_deny_list = extra ? (const PgmAddrList *) extra : &guc_no_addresses;
}

/* a threshold is -1 (off) or at least the check's smallest meaningful value */
static bool
guc_check_health_threshold(int *newval, void **extra, GucSource source)
{
	if (*newval == 0)
	{
		GUC_check_errdetail("A health threshold is -1 (off) or a positive value.");
		GUC_check_errhint("Use -1 to turn this level of the check off.");
		return false;
	}
	return true;
}

/*
 * Define every pgmanage.* setting.  The PGC_POSTMASTER ones only while
 * preloading: PostgreSQL refuses to create them after startup with a
 * FATAL, which would end the session of a CREATE EXTENSION, a LOAD or the
 * first call of a report function in a server without the preload.
 */
void
pgm_define_gucs(bool preloading)
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

	DefineCustomIntVariable("pgmanage.log_min_duration",
							"Statements running at least this long are logged and kept in pgm_slow_queries.",
							"-1 turns capture off; 0 captures every statement.",
							&pgm_log_min_duration_ms,
							-1, -1, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pgmanage.log_plan",
							 "Capture the plan of slow statements, with actual row counts: off, text or json.",
							 "Switches on per-node row counting (not timing) for sampled statements.",
							 &pgm_log_plan,
							 PGM_LOG_PLAN_OFF,
							 guc_log_plan_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pgmanage.log_nested_statements",
							 "Also capture statements run inside functions, DO blocks and procedures.",
							 NULL,
							 &pgm_log_nested_statements,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pgmanage.log_utility",
							 "Also capture utility statements (DDL, VACUUM, COPY, ...).",
							 NULL,
							 &pgm_log_utility,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pgmanage.sample_rate",
							 "Fraction of top-level statements that slow-query capture considers.",
							 "Nested statements follow their top-level statement.",
							 &pgm_sample_rate,
							 1.0, 0.0, 1.0,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	if (preloading)
		DefineCustomIntVariable("pgmanage.capture_buffer_size",
								"Shared memory for slow statements waiting to be written to pgm_slow_queries.",
								"Each entry takes about 9.5 kB; when the buffer is full the oldest entry is dropped and counted.",
								&pgm_capture_buffer_kb,
								4096, 64, 1024 * 1024,
								PGC_POSTMASTER,
								GUC_UNIT_KB,
								NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.slow_queries_retention",
							"How long rows of pgm_slow_queries are kept.",
							NULL,
							&pgm_slow_queries_retention_min,
							7 * 24 * 60, 1, INT_MAX / 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.pgss_snapshot_interval",
							"How often the worker snapshots pg_stat_statements into pgm_pgss_history.",
							"0 turns history off.",
							&pgm_pgss_snapshot_interval_s,
							300, 0, 7 * 24 * 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.pgss_history_retention",
							"How long pg_stat_statements snapshots are kept.",
							"Accepts days, e.g. '7d'.",
							&pgm_pgss_history_retention_min,
							7 * 24 * 60, 60, INT_MAX / 60,
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

	DefineCustomStringVariable("pgmanage.webhook_allow_addresses",
							   "Link-local and cloud-metadata addresses webhook endpoints may use nevertheless.",
							   "IP addresses or ranges (a.b.c.d/n, x:y::z/n), comma-separated; checked when an endpoint is stored and after DNS resolution, before each connection.",
							   &pgm_webhook_allow_addresses,
							   "",
							   PGC_SIGHUP,
							   0,
							   guc_check_addresses, guc_assign_allow_addresses, NULL);

	DefineCustomStringVariable("pgmanage.webhook_deny_addresses",
							   "More addresses webhook endpoints may not use (e.g. loopback or private ranges).",
							   "IP addresses or ranges, comma-separated; they are refused even when pgmanage.webhook_allow_addresses lists them.",
							   &pgm_webhook_deny_addresses,
							   "",
							   PGC_SIGHUP,
							   0,
							   guc_check_addresses, guc_assign_deny_addresses, NULL);

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

	/*
	 * The webhook sender's circuit breaker (webhooks/sender.c): after this
	 * many failed attempts in a row (connection, timeout, 408, 429, 5xx) an
	 * endpoint's circuit opens and only one probe at a time goes to it,
	 * every probe interval; 0 turns the breaker off.
	 */
	DefineCustomIntVariable("pgmanage.webhook_circuit_failures",
							"Failed webhook attempts in a row that open an endpoint's circuit (0: no circuit breaker).",
							"While the circuit is open, the endpoint's deliveries wait (they are never made dead by it) and one probe at a time goes to it every pgmanage.webhook_circuit_probe_interval.",
							&pgm_webhook_circuit_failures,
							5, 0, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.webhook_circuit_probe_interval",
							"Delay between two probes of an endpoint whose circuit is open.",
							"The first success closes the circuit and makes the endpoint's whole backlog due at once.",
							&pgm_webhook_circuit_probe_interval_ms,
							500, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/* health checks (health/) */
	DefineCustomIntVariable("pgmanage.health_check_interval",
							"How often the worker evaluates pgm_health() and sends health_alert / health_ok events.",
							"0 turns the scheduled evaluation off (pgm_health() still answers).",
							&pgm_health_check_interval_s,
							60, 0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.health_hysteresis",
							"Band, in percent of a check's warning threshold, its value must fall below before health_ok is sent.",
							"Keeps a value that hovers around a threshold from sending an event at each evaluation.",
							&pgm_health_hysteresis_pct,
							5, 0, 50,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	for (int i = 0; i < PGM_HEALTH_NCHECKS; i++)
	{
		PgmHealthThreshold *t = &pgm_health_levels[i];
		const char *lvl[2] = {"warning", "critical"};

		for (int j = 0; j < 2; j++)
		{
			int		   *var = j == 0 ? &t->warning : &t->critical;
			int			boot = j == 0 ? t->boot_warning : t->boot_critical;

			*var = boot;
			DefineCustomIntVariable(MemoryContextStrdup(TopMemoryContext,
														psprintf("pgmanage.health_%s_%s", t->check, lvl[j])),
									MemoryContextStrdup(TopMemoryContext,
														psprintf("pgm_health() check %s is %s from this value on: %s.",
																 t->check, lvl[j], t->what)),
									"-1 turns this level of the check off.",
									var,
									boot, -1, t->max,
									PGC_SUSET,
									t->unit,
									guc_check_health_threshold, NULL, NULL);
		}
	}

	/* row caps of the history tables (core/retention.c) */
	DefineCustomIntVariable("pgmanage.kill_log_max_rows",
							"Most rows kept in pgm_kill_log; the oldest beyond it are deleted.",
							"0 turns the cap off (pgmanage.kill_log_retention alone applies).",
							&pgm_kill_log_max_rows,
							100000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.slow_queries_max_rows",
							"Most rows kept in pgm_slow_queries; the oldest beyond it are deleted.",
							"0 turns the cap off (pgmanage.slow_queries_retention alone applies).",
							&pgm_slow_queries_max_rows,
							100000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.pgss_history_max_rows",
							"Most rows kept in pgm_pgss_history; the oldest snapshots beyond it are deleted.",
							"0 turns the cap off (pgmanage.pgss_history_retention alone applies).",
							&pgm_pgss_history_max_rows,
							1000000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.webhook_max_rows",
							"Most events kept in pgm_event; the oldest delivered and dead ones beyond it are deleted.",
							"0 turns the cap off (pgmanage.webhook_retention alone applies). Events with a pending delivery are never deleted.",
							&pgm_webhook_max_rows,
							100000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgmanage.job_run_max_rows",
							"Most rows kept in pgm_job_run; the oldest finished runs beyond it are deleted.",
							"0 turns the cap off (pgmanage.job_run_retention alone applies). Queued and running runs are never deleted.",
							&pgm_job_run_max_rows,
							100000, 0, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pgmanage");
}
