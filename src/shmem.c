/*-------------------------------------------------------------------------
 * shmem.c
 *		Allocation of pgmanage's shared memory and its small accessors:
 *		the kill-record queue and the per-process error slot.
 *
 * The queue is a fixed ring: when it is full (say on a standby, where
 * nothing can be written), the oldest record is dropped and counted in
 * kill_log_dropped, so a backend or the launcher never waits for space.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "pgmanage.h"
#include "shmem.h"
#include "slowlog.h"
#include "vacuum.h"

PgmShared  *pgm_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
pgm_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgm_shared = ShmemInitStruct("pgmanage", sizeof(PgmShared), &found);
	if (!found)
	{
		memset(pgm_shared, 0, sizeof(PgmShared));
		pgm_shared->lock = &(GetNamedLWLockTranche("pgmanage"))->lock;
		pg_atomic_init_u64(&pgm_shared->statements_cancelled, 0);
		pg_atomic_init_u64(&pgm_shared->sessions_terminated, 0);
		pg_atomic_init_u64(&pgm_shared->signals_failed, 0);
		pg_atomic_init_u64(&pgm_shared->kill_log_written, 0);
		pg_atomic_init_u64(&pgm_shared->kill_log_dropped, 0);
		pg_atomic_init_u32(&pgm_shared->policy_reload_requested, 0);
	}
	pgm_slow_ring_shmem_init();
	pgm_vacuum_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

static void
pgm_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgmShared)));
	RequestAddinShmemSpace(pgm_slow_ring_shmem_size());
	RequestNamedLWLockTranche("pgmanage", 1);
	pgm_vacuum_shmem_request();
}

/* called from _PG_init while preloading */
void
pgm_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgm_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgm_shmem_startup;
}

bool
pgm_shmem_available(void)
{
	return pgm_shared != NULL;
}

/* ERROR (55000) unless pgmanage was preloaded */
void
pgm_shmem_require(void)
{
	if (pgm_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgmanage is not loaded through shared_preload_libraries"),
				 errhint("Add pgmanage to shared_preload_libraries in postgresql.conf and restart the server.")));
}

void
pgm_kill_queue_push(const PgmKillRecord *rec)
{
	int			slot;

	if (pgm_shared == NULL)
		return;
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (pgm_shared->queue_count == PGM_KILL_QUEUE_SIZE)
	{
		/* full: drop the oldest, count it */
		pgm_shared->queue_head = (pgm_shared->queue_head + 1) % PGM_KILL_QUEUE_SIZE;
		pgm_shared->queue_count--;
		pg_atomic_fetch_add_u64(&pgm_shared->kill_log_dropped, 1);
	}
	slot = (pgm_shared->queue_head + pgm_shared->queue_count) % PGM_KILL_QUEUE_SIZE;
	memcpy(&pgm_shared->queue[slot], rec, sizeof(PgmKillRecord));
	pgm_shared->queue[slot].seq = ++pgm_shared->queue_next_seq;
	pgm_shared->queue_count++;
	LWLockRelease(pgm_shared->lock);
	if (pgm_shared->children[PGM_CHILD_WORKER].latch)
		SetLatch(pgm_shared->children[PGM_CHILD_WORKER].latch);
}

/* copy up to max of the oldest records, without removing them */
int
pgm_kill_queue_peek(PgmKillRecord *out, int max)
{
	int			n;
	int			i;

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	n = Min(max, pgm_shared->queue_count);
	for (i = 0; i < n; i++)
		memcpy(&out[i], &pgm_shared->queue[(pgm_shared->queue_head + i) % PGM_KILL_QUEUE_SIZE],
			   sizeof(PgmKillRecord));
	LWLockRelease(pgm_shared->lock);
	return n;
}

/*
 * Remove the records up to and including through_seq once they are
 * committed to the table.  A full queue may have dropped some of them
 * meanwhile; newer records stay.
 */
void
pgm_kill_queue_consume(uint64 through_seq)
{
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	while (pgm_shared->queue_count > 0 &&
		   pgm_shared->queue[pgm_shared->queue_head].seq <= through_seq)
	{
		pgm_shared->queue_head = (pgm_shared->queue_head + 1) % PGM_KILL_QUEUE_SIZE;
		pgm_shared->queue_count--;
	}
	LWLockRelease(pgm_shared->lock);
}

/* remember a process's last error (shown by pgm_status) */
void
pgm_proc_error(PgmProcStatus *st, const char *fmt,...)
{
	va_list		ap;
	char		buf[PGM_ERROR_LEN];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	strlcpy(st->last_error, buf, sizeof(st->last_error));
	st->last_error_at = GetCurrentTimestamp();
	LWLockRelease(pgm_shared->lock);
}
