/*-------------------------------------------------------------------------
 * timeouts/timeouts.h
 *		Timeout policies and pgm_kill_long: the policy cache and the queue
 *		of actions waiting for pgm_kill_log (shared memory of timeouts/),
 *		the per-backend slots (startup application_name, signal reason),
 *		the enforcer the launcher runs, the worker's duties, and the rules
 *		of pg_cancel_backend that both ways of signalling follow.
 *
 * Locking: the segment is protected by core's PgmShared->lock, under the
 * rules of core/shmem.h; the counters are atomics.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_TIMEOUTS_H
#define PGM_TIMEOUTS_H

#include "core/core.h"
#include "utils/backend_status.h"

#define PGM_MAX_POLICIES 256
#define PGM_KILL_QUEUE_SIZE 256

/*
 * Which limit a policy action enforced.  The policy limits come first
 * (policy_enforce.c loops over them), pgm_kill_long last.
 */
typedef enum PgmLimitKind
{
	PGM_LIMIT_STATEMENT,
	PGM_LIMIT_IDLE_IN_XACT,
	PGM_LIMIT_TRANSACTION,
	PGM_LIMIT_LOCK_WAIT,		/* the waiter, past lock_wait_timeout */
	PGM_LIMIT_BLOCKING,			/* a blocker, past cancel_blockers_after */
	PGM_LIMIT_KILL_LONG			/* pgm_kill_long() */
} PgmLimitKind;

/*
 * Room for the per-kind action counters (pgm_timeout_actions): at least the
 * number of PgmLimitKind values.  A kind added to the enum needs no change
 * here while it fits (status.c lists the kinds by their names).
 */
#define PGM_LIMIT_KIND_SLOTS 8

/* one enabled row of pgm_timeout_policy, resolved to OIDs */
typedef struct PgmPolicy
{
	int32		id;
	Oid			roleid;			/* InvalidOid: any role */
	Oid			dbid;			/* InvalidOid: any database */
	bool		match_app;
	char		app_pattern[NAMEDATALEN];	/* LIKE pattern */
	bool		match_addr;
	int			addr_family;	/* AF_INET or AF_INET6 */
	int			addr_bits;
	unsigned char addr[16];
	int64		statement_us;	/* 0: no limit */
	int64		idle_xact_us;
	int64		xact_us;
	int64		lock_wait_us;	/* lock_wait_timeout */
	int64		cancel_blockers_us; /* cancel_blockers_after */
	bool		terminate;		/* action for statements */
	bool		exempt_superusers;
	int			specificity;	/* higher wins; see policy_enforce.c */
} PgmPolicy;

/* an action taken, waiting to be written to pgm_kill_log */
typedef struct PgmKillRecord
{
	uint64		seq;			/* assigned by pgm_kill_queue_push */
	TimestampTz at;
	int			pid;
	Oid			roleid;
	Oid			dbid;
	char		appname[NAMEDATALEN];
	SockAddr	clientaddr;
	char		state[32];
	int64		ran_us;
	int64		query_id;
	int32		policy_id;		/* 0 for pgm_kill_long */
	PgmLimitKind limit_kind;
	bool		terminate;
	bool		succeeded;
	char		detail[64];
	char		query[1024 + 1];
} PgmKillRecord;

typedef struct PgmTimeoutsShared
{
	/* policy cache, filled by the worker's policy duty */
	uint64		policy_generation;	/* bumped at each change */
	int			npolicies;
	int			policies_skipped;	/* enabled rows not loaded: bad limit, over the cap */
	PgmPolicy	policies[PGM_MAX_POLICIES];

	/* action counters since server start */
	pg_atomic_uint64 statements_cancelled;
	pg_atomic_uint64 sessions_terminated;
	pg_atomic_uint64 signals_failed;
	pg_atomic_uint64 kill_log_written;
	pg_atomic_uint64 kill_log_dropped;
	/* signals sent, by PgmLimitKind and action (0 cancel, 1 terminate) */
	pg_atomic_uint64 actions[PGM_LIMIT_KIND_SLOTS][2];

	/* pgm_timeout_policy changed: reload (set at commit by the trigger) */
	pg_atomic_uint32 policy_reload_requested;

	/* ring of actions not yet written to pgm_kill_log */
	uint64		queue_next_seq;
	int			queue_head;		/* next to read */
	int			queue_count;
	PgmKillRecord queue[PGM_KILL_QUEUE_SIZE];
} PgmTimeoutsShared;

extern PgmTimeoutsShared *pgm_timeouts;

/* one per backend id (backend_slots.c says who writes what) */
typedef struct PgmBackendSlot
{
	int			pid;			/* 0: free; written last */
	char		startup_appname[NAMEDATALEN];	/* application_name at connection */
	/* why the launcher signals it: set before the signal, flag last */
	pg_atomic_uint32 reason_flag;
	int32		reason_policy;
	int32		reason_kind;	/* PgmLimitKind */
	int64		reason_limit_us;
	bool		reason_terminate;
	int			reason_waiter;	/* PGM_LIMIT_BLOCKING: the pid that waited */
	TimestampTz reason_at;
} PgmBackendSlot;

/* the launcher's copy of one slot in use */
typedef struct PgmBackendSlotCopy
{
	int			pid;
	int			slot;
	char		appname[NAMEDATALEN];
} PgmBackendSlotCopy;

/* backend_slots.c */
extern Size pgm_backend_slots_size(void);
extern void pgm_backend_slots_startup(void);
extern void pgm_backend_slots_install_hooks(void);
extern int	pgm_backend_slots_copy(PgmBackendSlotCopy *out);
extern const PgmBackendSlotCopy *pgm_backend_slots_find(const PgmBackendSlotCopy *copy, int n, int pid);
extern void pgm_backend_slots_set_reason(int slot, int pid, int32 policy_id, PgmLimitKind kind,
										 int64 limit_us, bool terminate, int waiter);

/* timeouts_shmem.c */
extern void pgm_timeouts_shmem_request(void);
extern void pgm_timeouts_shmem_startup(void);
extern void pgm_kill_queue_push(const PgmKillRecord *rec);
extern int	pgm_kill_queue_peek(PgmKillRecord *out, int max);
extern void pgm_kill_queue_consume(uint64 through_seq);
extern uint64 pgm_kill_queue_pending(void);
extern uint64 pgm_kill_queue_capacity(void);

/* policy_enforce.c: one pass of timeout enforcement (the launcher's tick) */
extern long pgm_enforce_tick(TimestampTz now);
extern void pgm_kill_record_fill(PgmKillRecord *rec, const PgBackendStatus *be, int64 ran_us);
extern const char *pgm_limit_kind_name(PgmLimitKind kind);
extern const char *pgm_limit_column_name(PgmLimitKind kind);

/* policy_load.c: pgm_timeout_policy -> shared memory (a worker duty) */
extern void pgm_policy_duty(PgmDutyContext *ctx);
extern void pgm_policy_clear(void);

/* kill_log.c: queued records -> pgm_kill_log (a worker duty) */
extern void pgm_kill_log_duty(PgmDutyContext *ctx);

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

/* a backend waiting on a heavyweight lock, read from its PGPROC (no lock taken) */
typedef struct PgmLockWait
{
	int			pid;
	TimestampTz wait_start;		/* PGPROC.waitStart */
} PgmLockWait;

extern int	pgm_lock_waits_copy(PgmLockWait *out, int max);
extern const PgmLockWait *pgm_lock_waits_find(const PgmLockWait *copy, int n, int pid);
extern int	pgm_lock_waits_max(void);

#endif							/* PGM_TIMEOUTS_H */
