/*-------------------------------------------------------------------------
 * pgmanage.c
 *		Module entry point: PG_MODULE_MAGIC and _PG_init, the one file that
 *		knows every capability.
 *
 * core/ offers the processes (the launcher and its children), shared
 * memory, the worker's duty loop, retention, waking at commit and the
 * utility hook; each capability above it (reports, timeouts, capture,
 * jobs, vacuum, webhooks) is plugged in here, and only here: its settings,
 * its shared memory, its hooks, its worker duties, its retention rules,
 * its job kinds.  Capabilities never name each other.
 *
 * The settings are defined whatever the load path, except those that only
 * server start can set (PGC_POSTMASTER: pgmanage.capture_buffer_size),
 * which PostgreSQL refuses to create later (a FATAL that would end the
 * session of CREATE EXTENSION or LOAD).  Everything else needs
 * shared_preload_libraries; the report functions work without it, since
 * they need nothing from here but the library being loaded, and the rest
 * says so (ERROR 55000, or a NOTICE for a policy that will not be enforced).
 * In pg_upgrade's servers (binary-upgrade mode) only the settings exist.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "core/compat.h"
#include "core/core.h"
#include "capture/capture.h"
#include "health/health.h"
#include "jobs/jobs.h"
#include "reports/reports.h"
#include "timeouts/timeouts.h"
#include "vacuum/vacuum.h"
#include "webhooks/webhooks.h"

PGM_MODULE_MAGIC;

void		_PG_init(void);

/*
 * The worker's duties, in the order of each pass: policies first (the
 * launcher enforces from them), then what hands work over from shared
 * memory, then what reads or writes tables on a schedule.
 */
static const PgmDuty duties[] = {
	{.name = "timeout policies", .primary_only = false,
	 .run = pgm_policy_duty, .disabled = pgm_policy_clear},
	{.name = "kill log", .primary_only = true, .run = pgm_kill_log_duty, .at_shutdown = true},
	{.name = "slow queries", .primary_only = true, .run = pgm_slow_queries_duty, .at_shutdown = true},
	{.name = "pg_stat_statements history", .primary_only = true, .run = pgm_pgss_history_duty},
	{.name = "alerts", .primary_only = true, .run = pgm_alerts_duty},
	{.name = "health checks", .primary_only = true, .run = pgm_health_duty},
	{.name = "jobs", .primary_only = true, .run = pgm_jobs_duty},
	{.name = "retention", .primary_only = true, .run = pgm_retention_duty},
};

/* the tables the worker keeps, how long, and how many rows (core/retention.c) */
static const PgmRetention retention[] = {
	{"pgm_kill_log", "logged_at", &pgm_kill_log_retention_min, NULL,
	 &pgm_kill_log_max_rows, "pgmanage.kill_log_max_rows"},
	{"pgm_slow_queries", "captured_at", &pgm_slow_queries_retention_min, NULL,
	 &pgm_slow_queries_max_rows, "pgmanage.slow_queries_max_rows"},
	/* a snapshot's rows go with it (ON DELETE CASCADE): the cap counts those */
	{"pgm_pgss_snapshot", "taken_at", &pgm_pgss_history_retention_min, NULL,
	 &pgm_pgss_history_max_rows, "pgmanage.pgss_history_max_rows",
	 .cap_weight = "coalesce(t.delta_rows, 0)"},
	/*
	 * texts no history row needs any more: among those last seen by the
	 * oldest snapshot left or before, the ones no row of pgm_pgss_history
	 * names (one hashed pass over it, after the cap deleted snapshots)
	 */
	{"pgm_pgss_query", "last_seen", &pgm_pgss_history_retention_min, NULL,
	 &pgm_pgss_history_max_rows, "pgmanage.pgss_history_max_rows",
	 .cap_orphan = "t.queryid OPERATOR(pg_catalog.=) ANY (ARRAY("
	 "SELECT c.queryid FROM " PGM_SCHEMA ".pgm_pgss_query c WHERE c.last_seen OPERATOR(pg_catalog.<=)"
	 " (SELECT coalesce(pg_catalog.min(s.taken_at), 'infinity') FROM " PGM_SCHEMA ".pgm_pgss_snapshot s)"
	 " EXCEPT SELECT h.queryid FROM " PGM_SCHEMA ".pgm_pgss_history h))"},
	{"pgm_job_run", "finished", &pgm_job_run_retention_min,
	 "t.status OPERATOR(pg_catalog.=) ANY ('{queued,running}')",
	 &pgm_job_run_max_rows, "pgmanage.job_run_max_rows"},
	/* an event with a pending delivery is never pruned; its deliveries go with it */
	{"pgm_event", "created_at", &pgm_webhook_retention_min,
	 "EXISTS (SELECT 1 FROM " PGM_SCHEMA ".pgm_delivery d"
	 " WHERE d.event_id OPERATOR(pg_catalog.=) t.id AND d.status OPERATOR(pg_catalog.=) 'pending')",
	 &pgm_webhook_max_rows, "pgmanage.webhook_max_rows"},
};

void
_PG_init(void)
{
	int			i;

	pgm_define_gucs(process_shared_preload_libraries_in_progress);

	if (!process_shared_preload_libraries_in_progress)
		return;

	/*
	 * pg_upgrade runs both servers in binary-upgrade mode (-b) while it
	 * restores the schema: no process of ours may connect and write into
	 * tables being restored, and no hook is needed.  The settings above stay
	 * defined, so postgresql.conf's pgmanage.* lines are still valid.
	 */
	if (IsBinaryUpgrade)
	{
		ereport(LOG,
				(errmsg("pgmanage: binary-upgrade mode (pg_upgrade): no pgmanage process, hook or shared memory in this server")));
		return;
	}

	/* shared memory: core's process registry, then each capability's */
	pgm_shmem_install_hooks();
	pgm_shmem_add(pgm_timeouts_shmem_request, pgm_timeouts_shmem_startup);
	pgm_shmem_add(pgm_slow_ring_shmem_request, pgm_slow_ring_shmem_startup);
	pgm_shmem_add(pgm_vacuum_shmem_request, pgm_vacuum_shmem_startup);
	/* last: its exit callback runs first, while the others' memory is there */
	pgm_stop_state_add("slow statements", pgm_slow_ring_pending, pgm_slow_ring_capacity);
	pgm_stop_state_add("kill records", pgm_kill_queue_pending, pgm_kill_queue_capacity);
	pgm_stop_state_install();

	/* hooks: one utility hook (core) wrapping capture; capture's executor hooks */
	pgm_install_utility_hook();
	pgm_utility_set_wrapper(pgm_slowlog_utility);
	pgm_utility_add_database_user(&pgm_vacuum_database_user);
	pgm_slowlog_install_hooks();
	/* timeouts: each backend's startup application_name, and why it was signalled */
	pgm_backend_slots_install_hooks();

	/* the launcher enforces timeout policies between its sleeps */
	pgm_launcher_set_tick(pgm_enforce_tick);

	/* the worker's duties, retention rules and job kinds */
	for (i = 0; i < lengthof(duties); i++)
		pgm_worker_add_duty(&duties[i]);
	for (i = 0; i < lengthof(retention); i++)
		pgm_retention_add(&retention[i]);
	pgm_jobs_add_kind(&pgm_vacuum_job_kind);
	pgm_jobs_add_kind(&pgm_backup_job_kind);

	pgm_register_launcher();
}
