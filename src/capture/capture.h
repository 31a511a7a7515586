/*-------------------------------------------------------------------------
 * capture/capture.h
 *		Slow-query capture: the entry a backend records, the shared-memory
 *		ring it goes through, and the hooks that fill it.
 *
 * Data path: executor / utility hooks (slowlog_hooks.c) -> secrets
 * redacted (slowlog_redact.c) -> server log and the ring (slowlog_ring.c)
 * -> the worker's duty (slowlog_store.c) -> table pgm_slow_queries, read
 * by other roles through the view pgm_slow_queries_visible.  Nothing goes
 * back.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CAPTURE_H
#define PGM_CAPTURE_H

#include "datatype/timestamp.h"
#include "libpq/pqcomm.h"
#include "storage/s_lock.h"
#include "tcop/utility.h"

#include "core/core.h"

/* bytes of query text and plan text an entry keeps (the log gets them whole) */
#define PGM_SLOW_QUERY_MAX 1024
#define PGM_SLOW_PLAN_MAX 8192

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

/* slowlog_hooks.c */
extern void pgm_slowlog_install_hooks(void);
extern void pgm_slowlog_utility(PlannedStmt *pstmt, const char *queryString,
								bool readOnlyTree, ProcessUtilityContext context,
								ParamListInfo params, QueryEnvironment *queryEnv,
								DestReceiver *dest, QueryCompletion *qc,
								PgmUtilityNext next);

/* slowlog_redact.c */
extern char *pgm_redact_statement(const char *text, bool force_all, bool *sensitive);
extern char *pgm_redact_plan(const char *plan, bool json);

/* slowlog_ring.c */
extern void pgm_slow_ring_shmem_request(void);
extern void pgm_slow_ring_shmem_startup(void);
extern bool pgm_slow_ring_available(void);
extern void pgm_slow_ring_push(const PgmSlowEntry *entry);
extern uint64 pgm_slow_ring_tail(void);
extern int	pgm_slow_ring_read(PgmSlowEntry *out, int max, uint64 *pos, uint64 *lost);
extern void pgm_slow_ring_release(uint64 next_pos, uint64 lost, uint64 written);
extern void pgm_slow_ring_stats(PgmSlowRingStats *stats);
extern uint64 pgm_slow_ring_pending(void);
extern uint64 pgm_slow_ring_capacity(void);

/* slowlog_store.c, pgss_history.c: the worker's duties */
extern void pgm_slow_queries_duty(PgmDutyContext *ctx);
extern void pgm_pgss_history_duty(PgmDutyContext *ctx);

#endif							/* PGM_CAPTURE_H */
