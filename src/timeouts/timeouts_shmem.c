/*-------------------------------------------------------------------------
 * timeouts/timeouts_shmem.c
 *		The shared memory of timeouts/: the policy cache, the action
 *		counters (those per kind of limit are counted as records are
 *		queued), the queue of kill records waiting for pgm_kill_log, and
 *		(allocated here, kept by backend_slots.c) the per-backend slots.
 *
 * The queue is a fixed ring: when it is full (say on a standby, where
 * nothing can be written), the oldest record is dropped and counted in
 * kill_log_dropped, so a backend or the launcher never waits for space.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/ipc.h"
#include "storage/shmem.h"

#include "timeouts/timeouts.h"

PgmTimeoutsShared *pgm_timeouts = NULL;

void
pgm_timeouts_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgmTimeoutsShared)));
	RequestAddinShmemSpace(MAXALIGN(pgm_backend_slots_size()));
}

/* with AddinShmemInitLock held */
void
pgm_timeouts_shmem_startup(void)
{
	bool		found;

	pgm_timeouts = ShmemInitStruct("pgmanage timeouts", sizeof(PgmTimeoutsShared), &found);
	if (!found)
	{
		memset(pgm_timeouts, 0, sizeof(PgmTimeoutsShared));
		pg_atomic_init_u64(&pgm_timeouts->statements_cancelled, 0);
		pg_atomic_init_u64(&pgm_timeouts->sessions_terminated, 0);
		pg_atomic_init_u64(&pgm_timeouts->signals_failed, 0);
		pg_atomic_init_u64(&pgm_timeouts->kill_log_written, 0);
		pg_atomic_init_u64(&pgm_timeouts->kill_log_dropped, 0);
		for (int k = 0; k < PGM_LIMIT_KIND_SLOTS; k++)
		{
			pg_atomic_init_u64(&pgm_timeouts->actions[k][0], 0);
			pg_atomic_init_u64(&pgm_timeouts->actions[k][1], 0);
		}
		/* the worker loads the policies at its first pass */
		pg_atomic_init_u32(&pgm_timeouts->policy_reload_requested, 1);
	}
	pgm_backend_slots_startup();
}

void
pgm_kill_queue_push(const PgmKillRecord *rec)
{
	int			slot;

	if (pgm_timeouts == NULL)
		return;
	/* every action passes here: count it by kind of limit and action */
	if (rec->succeeded && (int) rec->limit_kind >= 0 && (int) rec->limit_kind < PGM_LIMIT_KIND_SLOTS)
		pg_atomic_fetch_add_u64(&pgm_timeouts->actions[rec->limit_kind][rec->terminate ? 1 : 0], 1);
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	if (pgm_timeouts->queue_count == PGM_KILL_QUEUE_SIZE)
	{
		/* full: drop the oldest, count it */
		pgm_timeouts->queue_head = (pgm_timeouts->queue_head + 1) % PGM_KILL_QUEUE_SIZE;
		pgm_timeouts->queue_count--;
		pg_atomic_fetch_add_u64(&pgm_timeouts->kill_log_dropped, 1);
	}
	slot = (pgm_timeouts->queue_head + pgm_timeouts->queue_count) % PGM_KILL_QUEUE_SIZE;
	memcpy(&pgm_timeouts->queue[slot], rec, sizeof(PgmKillRecord));
	pgm_timeouts->queue[slot].seq = ++pgm_timeouts->queue_next_seq;
	pgm_timeouts->queue_count++;
	LWLockRelease(pgm_shared->lock);
	pgm_wake_child(PGM_CHILD_WORKER);
}

/* copy up to max of the oldest records, without removing them */
int
pgm_kill_queue_peek(PgmKillRecord *out, int max)
{
	int			n;
	int			i;

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	n = Min(max, pgm_timeouts->queue_count);
	for (i = 0; i < n; i++)
		memcpy(&out[i], &pgm_timeouts->queue[(pgm_timeouts->queue_head + i) % PGM_KILL_QUEUE_SIZE],
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
	while (pgm_timeouts->queue_count > 0 &&
		   pgm_timeouts->queue[pgm_timeouts->queue_head].seq <= through_seq)
	{
		pgm_timeouts->queue_head = (pgm_timeouts->queue_head + 1) % PGM_KILL_QUEUE_SIZE;
		pgm_timeouts->queue_count--;
	}
	LWLockRelease(pgm_shared->lock);
}


/*
 * What a stop loses (core/stop_state.c, in the postmaster once every other
 * process is gone): the kill records not yet written, and at most how many.
 */
uint64
pgm_kill_queue_pending(void)
{
	return pgm_timeouts ? (uint64) Max(pgm_timeouts->queue_count, 0) : 0;
}

uint64
pgm_kill_queue_capacity(void)
{
	return PGM_KILL_QUEUE_SIZE;
}
