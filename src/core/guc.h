/*-------------------------------------------------------------------------
 * core/guc.h
 *		pgmanage's settings (pgmanage.*), defined in core/guc.c.
 *
 * Every capability reads its settings from here; core/guc.c is the one
 * place that defines them, with their units, ranges and check hooks.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CORE_GUC_H
#define PGM_CORE_GUC_H

/* pgmanage.log_plan */
typedef enum PgmLogPlan
{
	PGM_LOG_PLAN_OFF,
	PGM_LOG_PLAN_TEXT,
	PGM_LOG_PLAN_JSON
} PgmLogPlan;

/* core */
extern char *pgm_database;
extern int	pgm_naptime_ms;

/* timeouts */
extern bool pgm_enforce_timeouts;
extern int	pgm_kill_log_retention_min;

/* capture */
extern int	pgm_log_min_duration_ms;
extern int	pgm_log_plan;
extern bool pgm_log_nested_statements;
extern bool pgm_log_utility;
extern double pgm_sample_rate;
extern int	pgm_capture_buffer_kb;
extern int	pgm_slow_queries_retention_min;
extern int	pgm_pgss_snapshot_interval_s;
extern int	pgm_pgss_history_retention_min;

/* webhooks and alerts */
extern int	pgm_max_concurrent_deliveries;
extern int	pgm_webhook_retention_min;
extern int	pgm_webhook_retry_min_ms;
extern int	pgm_webhook_retry_max_s;
extern int	pgm_webhook_circuit_failures;
extern int	pgm_webhook_circuit_probe_interval_ms;
/*
 * pgmanage.webhook_allow_addresses / webhook_deny_addresses, parsed by the
 * check hook: address ranges (IPv4 in family 4, IPv6 in family 6, addr in
 * network order, bits the prefix length); the lists are never NULL.
 */
typedef struct PgmAddrRange
{
	int			family;			/* 4 or 6 */
	uint8		addr[16];
	int			bits;
} PgmAddrRange;
typedef struct PgmAddrList
{
	int			n;
	PgmAddrRange r[FLEXIBLE_ARRAY_MEMBER];
} PgmAddrList;
extern char *pgm_webhook_allow_addresses;
extern char *pgm_webhook_deny_addresses;
extern const PgmAddrList *pgm_webhook_allow_list;
extern const PgmAddrList *pgm_webhook_deny_list;
extern int	pgm_disk_check_interval_s;
extern int	pgm_disk_alert_threshold;
extern int	pgm_backup_wal_threshold_mb;
extern int	pgm_backup_archive_max_age_s;

/* jobs */
extern char *pgm_timezone;
extern bool pgm_enable_jobs;
extern int	pgm_job_run_retention_min;

/* vacuum */
extern int	pgm_max_vacuum_workers;
extern double pgm_vacuum_dead_fraction;
extern int	pgm_vacuum_min_dead_tuples;
extern double pgm_vacuum_analyze_fraction;
extern double pgm_vacuum_freeze_age_fraction;
extern double pgm_vacuum_bloat_pct;
extern double pgm_reindex_bloat_pct;

/* health checks (health/): the order of pgm_health()'s rows */
#define PGM_HEALTH_NCHECKS 12
typedef struct PgmHealthThreshold
{
	const char *check;			/* pgm_health().check_name */
	const char *value_unit;		/* of pgm_health().value: percent, seconds, bytes, count, transactions */
	const char *what;			/* what the value measures */
	int			unit;			/* GUC_UNIT_S, GUC_UNIT_MB or 0 (percent, count) */
	int			max;
	int			boot_warning;
	int			boot_critical;
	int			warning;		/* pgmanage.health_<check>_warning; -1 = off */
	int			critical;		/* pgmanage.health_<check>_critical; -1 = off */
} PgmHealthThreshold;
extern int	pgm_health_check_interval_s;
extern int	pgm_health_hysteresis_pct;
extern PgmHealthThreshold pgm_health_levels[PGM_HEALTH_NCHECKS];

/* row caps of the history tables (core/retention.c); 0: no cap */
extern int	pgm_kill_log_max_rows;
extern int	pgm_slow_queries_max_rows;
extern int	pgm_pgss_history_max_rows;
extern int	pgm_webhook_max_rows;
extern int	pgm_job_run_max_rows;

extern void pgm_define_gucs(bool preloading);

#endif							/* PGM_CORE_GUC_H */
