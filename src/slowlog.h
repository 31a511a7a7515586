/*-------------------------------------------------------------------------
 * slowlog.h
 *		Slow-query capture: the entry a backend records, the shared-memory
 *		ring it goes through, and the hooks that fill it.
 *
 * Data path: executor / utility hooks (slowlog_hooks.c) -> server log and
 * the ring (slowlog_ring.c) -> the worker's duty (slowlog_store.c) ->
 * table pgm_slow_queries.  Nothing goes back.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_SLOWLOG_H
#define PGM_SLOWLOG_H

#include "datatype/timestamp.h"
#include "libpq/pqcomm.h"
#include "storage/s_lock.h"
#include "tcop/utility.h"

/* bytes of query text and plan text an entry keeps (the log gets them whole) */
#define PGM_SLOW_QUERY_MAX 1024
#define PGM_SLOW_PLAN_MAX 8192

/* pgmanage.log_plan */
typedef enum PgmLogPlan
{
	PGM_LOG_PLAN_OFF,
	PGM_LOG_PLAN_TEXT,
	PGM_LOG_PLAN_JSON
} PgmLogPlan;

/* one slow statement, as a backend records it */
typedef struct PgmSlowEntry
{
	TimestampTz captured_at;	/* when it ended */
	double		duration_ms;
	int64		queryid;		/* 0: none computed */
	uint64		rows;
	Oid			userid;
	Oid			dbid;
	int			pid;
	int16		nesting_level;	/* 0: top level */
	bool		utility;
	uint8		plan_format;	/* PgmLogPlan; OFF: no plan */
	char		appname[NAMEDATALEN];
	SockAddr	clientaddr;
	uint16		query_len;
	uint16		plan_len;
	char		query[PGM_SLOW_QUERY_MAX + 1];
	char		plan[PGM_SLOW_PLAN_MAX + 1];
} PgmSlowEntry;

/* counters of the ring, for pgm_slow_query_stats() */
typedef struct PgmSlowRingStats
{
	uint64		captured;		/* entries ever pushed */
	uint64		written;		/* committed to pgm_slow_queries */
	uint64		dropped;		/* overwritten before the worker stored them */
	uint64		pending;		/* in the ring, not yet stored */
	int			slots;
	Size		bytes;			/* shared memory the ring takes */
} PgmSlowRingStats;

/* guc.c */
extern int	pgm_log_min_duration_ms;
extern int	pgm_log_plan;
extern bool pgm_log_nested_statements;
extern bool pgm_log_utility;
extern double pgm_sample_rate;
extern int	pgm_capture_buffer_kb;
extern int	pgm_slow_queries_retention_min;
extern int	pgm_pgss_snapshot_interval_s;
extern int	pgm_pgss_history_retention_min;

/* slowlog_hooks.c */
typedef void (*PgmUtilityNext) (PlannedStmt *pstmt, const char *queryString,
								bool readOnlyTree, ProcessUtilityContext context,
								ParamListInfo params, QueryEnvironment *queryEnv,
								DestReceiver *dest, QueryCompletion *qc);
extern bool pgm_slowlog_exempt;
extern void pgm_slowlog_install_hooks(void);
extern void pgm_slowlog_utility(PlannedStmt *pstmt, const char *queryString,
								bool readOnlyTree, ProcessUtilityContext context,
								ParamListInfo params, QueryEnvironment *queryEnv,
								DestReceiver *dest, QueryCompletion *qc,
								PgmUtilityNext next);

/* slowlog_ring.c */
extern Size pgm_slow_ring_shmem_size(void);
extern void pgm_slow_ring_shmem_init(void);
extern bool pgm_slow_ring_available(void);
extern void pgm_slow_ring_push(const PgmSlowEntry *entry);
extern uint64 pgm_slow_ring_tail(void);
extern int	pgm_slow_ring_read(PgmSlowEntry *out, int max, uint64 *pos, uint64 *lost);
extern void pgm_slow_ring_release(uint64 next_pos, uint64 lost, uint64 written);
extern void pgm_slow_ring_stats(PgmSlowRingStats *stats);

#endif							/* PGM_SLOWLOG_H */
