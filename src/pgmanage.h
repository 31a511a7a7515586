/*-------------------------------------------------------------------------
 * pgmanage.h
 *		Declarations shared across pgmanage's source files.
 *
 * Each C file in src/ owns one responsibility (see docs/architecture.md);
 * this header holds only what more than one of them needs: the GUC
 * variables, the module-wide constants and the entry points that one file
 * calls in another.
 *-------------------------------------------------------------------------
 */
#ifndef PGMANAGE_H
#define PGMANAGE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/backend_status.h"

#define PGMANAGE_VERSION "1.0"

/*
 * Query texts that pgmanage returns or stores are cut to this many bytes
 * (on a character boundary).  pg_stat_activity itself keeps at most
 * track_activity_query_size bytes (1024 by default).
 */
#define PGM_QUERY_TEXT_MAX 1024

/* the worker drains the slow-query ring at least this often */
#define PGM_DRAIN_INTERVAL_MS 1000

/* guc.c: settings */
extern char *pgm_database;
extern int	pgm_naptime_ms;
extern bool pgm_enforce_timeouts;
extern int	pgm_kill_log_retention_min;
extern int	pgm_max_concurrent_deliveries;
extern int	pgm_webhook_retention_min;
extern int	pgm_webhook_retry_min_ms;
extern int	pgm_webhook_retry_max_s;
extern int	pgm_disk_check_interval_s;
extern int	pgm_disk_alert_threshold;
extern int	pgm_backup_wal_threshold_mb;
extern int	pgm_backup_archive_max_age_s;
extern char *pgm_timezone;
extern bool pgm_enable_jobs;
extern int	pgm_job_run_retention_min;
extern int	pgm_max_vacuum_workers;
extern double pgm_vacuum_dead_fraction;
extern int	pgm_vacuum_min_dead_tuples;
extern double pgm_vacuum_analyze_fraction;
extern double pgm_vacuum_freeze_age_fraction;
extern double pgm_vacuum_bloat_pct;
extern double pgm_reindex_bloat_pct;
extern void pgm_define_gucs(void);

/* VACUUM runs at once, at most (the size of the slot array in shared memory) */
#define PGM_MAX_VACUUM_SLOTS 16

/* launcher.c and worker.c: the background processes */
struct BackgroundWorker;
extern void pgm_bgworker_init(struct BackgroundWorker *bgw, const char *function,
							  const char *name, int start, int restart_time);
extern void pgm_register_launcher(void);
extern PGDLLEXPORT void pgm_launcher_main(Datum arg);
extern PGDLLEXPORT void pgm_worker_main(Datum arg);
extern PGDLLEXPORT void pgm_sender_main(Datum arg);

/* policy_enforce.c: one pass of timeout enforcement; returns ms to sleep */
struct PgmKillRecord;
extern long pgm_enforce_tick(TimestampTz now);
extern void pgm_kill_record_fill(struct PgmKillRecord *rec, const PgBackendStatus *be, int64 ran_us);

/* policy_load.c: pgm_timeout_policy -> shared memory */
extern int	pgm_policy_load(const char *schema);
extern void pgm_policy_clear(void);

/* utility_hook.c: keeps the worker out of the way of DROP DATABASE */
extern void pgm_install_utility_hook(void);

/* backends.c: other backends' status, the rules of pg_cancel_backend, the signal */
typedef enum PgmSignalAction
{
	PGM_ACTION_CANCEL,
	PGM_ACTION_TERMINATE
} PgmSignalAction;

extern PgmSignalAction pgm_parse_action(const char *action);
extern const char *pgm_action_name(PgmSignalAction action);
extern const char *pgm_signal_refusal(Oid caller, int pid, Oid target_role);
extern bool pgm_send_signal(int pid, PgmSignalAction action, int *err);
extern char *pgm_clip_query(const char *raw);
extern bool pgm_is_client_backend(const PgBackendStatus *be);
extern const char *pgm_backend_state_name(BackendState state);
extern Datum pgm_client_addr_datum(const SockAddr *addr, bool *isnull);

/* disk.c: filesystem space */
typedef struct PgmDiskSpace
{
	uint64		total_bytes;
	uint64		avail_bytes;	/* available to unprivileged users */
	double		used_pct;		/* as df(1) computes it */
} PgmDiskSpace;

extern bool pgm_disk_space(const char *path, PgmDiskSpace *out);


/*
 * bloat.c: the page-packing model of pgm_bloat(), shared with bloat_exact.c.
 * Both modes predict the size of a freshly packed copy with the same
 * arithmetic; only where the tuple sizes come from differs (statistics or
 * the pages themselves).
 */
/* the largest posting list nbtsort.c builds: 1/10 of a page, see there */
#define PGM_BT_MAX_POSTING	(MAXALIGN_DOWN(BLCKSZ * 10 / 100) - sizeof(ItemIdData))

typedef struct PgmHeapPacker
{
	int			save_space;		/* bytes fillfactor keeps free per page */
	int64		pages;			/* pages finished or started */
	int			page_free;		/* pd_upper - pd_lower of the current page */
	int			page_items;		/* line pointers on the current page */
} PgmHeapPacker;

typedef struct PgmBtreePacker
{
	int			leaf_full;		/* leaf fillfactor as free-space target */
	int64		leaf_pages;
	double		page_space;		/* PageGetFreeSpace of the current leaf */
	int			page_items;
	Size		last_size;		/* last item added: moves right on a split */
	Size		last_extra;		/* its posting-list bytes (truncated away) */
	Size		last_base;		/* its key-only size: the future high key */
	double		hikey_bytes;	/* sum of leaf high keys (the pivots above) */
	int64		items;
} PgmBtreePacker;

extern void pgm_heap_pack_init(PgmHeapPacker *p, int fillfactor);
extern void pgm_heap_pack_add(PgmHeapPacker *p, Size tuple_len);
extern void pgm_btree_pack_init(PgmBtreePacker *p, int fillfactor);
extern void pgm_btree_pack_add(PgmBtreePacker *p, Size size, Size extra, Size base);
extern int64 pgm_btree_pack_finish(PgmBtreePacker *p);

/* bloat_exact.c: pgm_bloat(exact => true), reading the pages */
typedef struct PgmExactResult
{
	int64		actual_bytes;
	int64		expected_bytes;
	int64		live_tuples;	/* heap: live rows; index: live entries */
	int64		dead_tuples;	/* heap: dead rows; index: LP_DEAD items */
	int64		dead_bytes;
	int64		free_bytes;
} PgmExactResult;

extern void pgm_bloat_exact_heap(Oid relid, PgmExactResult *out);
extern void pgm_bloat_exact_btree(Oid indexrelid, PgmExactResult *out);

#endif							/* PGMANAGE_H */
