/*-------------------------------------------------------------------------
 * shmem.h
 *		pgmanage's shared memory: process status, the timeout-policy cache
 *		and the queue of actions waiting to be written to pgm_kill_log.
 *
 * Locking: PgmShared->lock (an LWLock of our own tranche) protects every
 * field but the atomics.  Holders never do I/O, never wait on anything
 * else and never ereport(ERROR) while holding it.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_SHMEM_H
#define PGM_SHMEM_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "libpq/pqcomm.h"

#define PGM_MAX_POLICIES 256
#define PGM_KILL_QUEUE_SIZE 256
#define PGM_ERROR_LEN 256

/*
 * The launcher's children: dynamic background workers connected to
 * pgmanage.database (launcher.c keeps them running).
 */
typedef enum PgmChild
{
	PGM_CHILD_WORKER,			/* worker.c: tables, policies, logs */
	PGM_CHILD_SENDER,			/* sender.c: webhook deliveries */
	PGM_NUM_CHILDREN
} PgmChild;

/* which limit a policy action enforced */
typedef enum PgmLimitKind
{
	PGM_LIMIT_STATEMENT,
	PGM_LIMIT_IDLE_IN_XACT,
	PGM_LIMIT_TRANSACTION,
	PGM_LIMIT_KILL_LONG			/* pgm_kill_long() */
} PgmLimitKind;

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

typedef struct PgmProcStatus
{
	int			pid;
	Latch	   *latch;
	char		database[NAMEDATALEN];	/* connected to (children) */
	TimestampTz started_at;
	TimestampTz last_wake;
	TimestampTz next_deadline;	/* 0: none */
	char		last_error[PGM_ERROR_LEN];
	TimestampTz last_error_at;
} PgmProcStatus;

typedef struct PgmShared
{
	LWLock	   *lock;

	/* the launcher (no database) and the children it runs in pgmanage.database */
	PgmProcStatus launcher;
	PgmProcStatus children[PGM_NUM_CHILDREN];
	bool		extension_found;
	TimestampTz hold_worker_until;	/* DROP DATABASE in progress */

	/* policy cache, filled by the database worker */
	uint64		policy_generation;	/* bumped at each change */
	int			npolicies;
	PgmPolicy	policies[PGM_MAX_POLICIES];

	/* action counters since server start */
	pg_atomic_uint64 statements_cancelled;
	pg_atomic_uint64 sessions_terminated;
	pg_atomic_uint64 signals_failed;
	pg_atomic_uint64 kill_log_written;
	pg_atomic_uint64 kill_log_dropped;

	/* pgm_timeout_policy changed: reload (set at commit by the trigger) */
	pg_atomic_uint32 policy_reload_requested;

	/* ring of actions not yet written to pgm_kill_log */
	uint64		queue_next_seq;
	int			queue_head;		/* next to read */
	int			queue_count;
	PgmKillRecord queue[PGM_KILL_QUEUE_SIZE];
} PgmShared;

extern PgmShared *pgm_shared;

extern void pgm_shmem_install_hooks(void);
extern bool pgm_shmem_available(void);
extern void pgm_shmem_require(void);
extern void pgm_kill_queue_push(const PgmKillRecord *rec);
extern int	pgm_kill_queue_peek(PgmKillRecord *out, int max);
extern void pgm_kill_queue_consume(uint64 through_seq);
/* policy_enforce.c */
extern const char *pgm_limit_kind_name(PgmLimitKind kind);

/* commit_wake.c */
extern void pgm_wake_at_commit(PgmChild child, pg_atomic_uint32 *flag);

/* child.c */
extern PgmProcStatus *pgm_child_start(PgmChild which, const char *name);
extern void pgm_child_recover(MemoryContext cxt, const char *what);
extern void pgm_child_error_cleared(void);
extern char *pgm_extension_schema(void);

extern void pgm_proc_error(PgmProcStatus *st, const char *fmt,...) pg_attribute_printf(2, 3);

#endif							/* PGM_SHMEM_H */
