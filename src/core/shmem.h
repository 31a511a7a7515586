/*-------------------------------------------------------------------------
 * core/shmem.h
 *		pgmanage's shared memory: the process registry (the launcher and
 *		its children, their status and last error) and the registration
 *		through which each capability asks for a segment of its own.
 *
 * Locking: PgmShared->lock (an LWLock of our own tranche) protects every
 * field of PgmShared; capabilities may use it for their own small
 * segments (timeouts does), under the same rules: holders never do I/O,
 * never wait on anything else and never ereport(ERROR) while holding it.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CORE_SHMEM_H
#define PGM_CORE_SHMEM_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#define PGM_ERROR_LEN 256

/*
 * The launcher's children: dynamic background workers connected to
 * pgmanage.database (core/launcher.c keeps them running).
 */
typedef enum PgmChild
{
	PGM_CHILD_WORKER,			/* core/worker.c: the duties (tables, policies, logs) */
	PGM_CHILD_SENDER,			/* webhooks/sender.c: webhook deliveries */
	PGM_NUM_CHILDREN
} PgmChild;

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
	TimestampTz initialized_at; /* server start or crash restart */

	/* the launcher (no database) and the children it runs in pgmanage.database */
	PgmProcStatus launcher;
	PgmProcStatus children[PGM_NUM_CHILDREN];
	bool		extension_found;
	TimestampTz hold_worker_until;	/* DROP DATABASE in progress */
} PgmShared;

extern PgmShared *pgm_shared;

/*
 * A capability's shared memory: "request" runs in the shmem_request hook
 * (RequestAddinShmemSpace, RequestNamedLWLockTranche), "startup" in the
 * shmem_startup hook with AddinShmemInitLock held (ShmemInitStruct).
 * Registered from _PG_init, before the hooks run.
 */
extern void pgm_shmem_add(void (*request) (void), void (*startup) (void));
extern void pgm_shmem_install_hooks(void);
extern bool pgm_shmem_available(void);
extern void pgm_shmem_require(void);
extern TimestampTz pgm_shmem_initialized_at(void);

extern void pgm_proc_error(PgmProcStatus *st, const char *fmt,...) pg_attribute_printf(2, 3);

#endif							/* PGM_CORE_SHMEM_H */
