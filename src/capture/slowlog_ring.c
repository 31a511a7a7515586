/*-------------------------------------------------------------------------
 * capture/slowlog_ring.c
 *		The shared-memory ring through which backends hand slow statements
 *		to the worker.
 *
 * A fixed array of slots, each holding one PgmSlowEntry, sized at server
 * start from pgmanage.capture_buffer_size.  Every entry gets a position
 * (a 64-bit counter that only grows) and lives in slot position % nslots.
 *
 * Locking, and why a backend never waits on I/O:
 *	- A backend reserves its position with one atomic fetch-and-add on
 *	  "head": no lock at all.
 *	- It then copies its entry into the slot under the slot's own spinlock.
 *	  The spinlock is held only for that copy (at most one entry, about
 *	  9 kB, no system call, no allocation, no ereport), and is contended
 *	  only by the worker copying the same slot out, or by another backend
 *	  when the ring has wrapped all the way round during the copy.
 *	- When the ring is full the new entry simply overwrites the oldest
 *	  one: nobody waits for space.  A backend that finds its slot already
 *	  holding a newer position (it was lapped while descheduled) drops its
 *	  own entry instead.
 *	- The worker (single reader) keeps "tail", the first position not yet
 *	  committed to pgm_slow_queries.  It copies entries out, inserts them,
 *	  and advances tail only after its transaction commits
 *	  (pgm_slow_ring_release), so a failed insert loses nothing that is
 *	  still in the ring.
 *	- Every position is accounted for exactly once: stored, or counted in
 *	  "dropped" (overwritten before it was stored).  Overwritten positions
 *	  the worker has not reached yet are reported live by
 *	  pgm_slow_ring_stats().
 *	- A backend wakes the worker when the ring becomes half full, so a
 *	  burst is drained before it wraps if the worker can keep up; otherwise
 *	  the worker drains at least once a second (core/worker.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "capture/capture.h"

typedef struct SlowSlot
{
	slock_t		mutex;
	uint64		pos_plus1;		/* position + 1 of the entry held; 0: none */
	PgmSlowEntry entry;
} SlowSlot;

typedef struct PgmSlowRing
{
	int			nslots;
	pg_atomic_uint64 head;		/* next position to hand out */
	pg_atomic_uint64 tail;		/* first position not yet stored (worker) */
	pg_atomic_uint64 written;	/* entries committed to the table */
	pg_atomic_uint64 dropped;	/* entries lost, counted by the worker */
	SlowSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} PgmSlowRing;

static PgmSlowRing *ring = NULL;

static int
ring_nslots(void)
{
	Size		bytes = (Size) pgm_capture_buffer_kb * 1024;

	return Max(1, (int) (bytes / sizeof(SlowSlot)));
}

static Size
ring_shmem_size(void)
{
	return MAXALIGN(add_size(offsetof(PgmSlowRing, slots),
							 mul_size(sizeof(SlowSlot), ring_nslots())));
}

/* registered with core (pgm_shmem_add): the request hook */
void
pgm_slow_ring_shmem_request(void)
{
	RequestAddinShmemSpace(ring_shmem_size());
}

/* the startup hook, with AddinShmemInitLock held */
void
pgm_slow_ring_shmem_startup(void)
{
	bool		found;
	int			i;

	ring = ShmemInitStruct("pgmanage slow-query ring", ring_shmem_size(), &found);
	if (found)
		return;
	ring->nslots = ring_nslots();
	pg_atomic_init_u64(&ring->head, 0);
	pg_atomic_init_u64(&ring->tail, 0);
	pg_atomic_init_u64(&ring->written, 0);
	pg_atomic_init_u64(&ring->dropped, 0);
	for (i = 0; i < ring->nslots; i++)
	{
		SpinLockInit(&ring->slots[i].mutex);
		ring->slots[i].pos_plus1 = 0;
	}
}

bool
pgm_slow_ring_available(void)
{
	return ring != NULL;
}

/* copy the used part of an entry (header, then the two texts) */
static inline void
ring_copy_entry(PgmSlowEntry *dst, const PgmSlowEntry *src)
{
	memcpy(dst, src, offsetof(PgmSlowEntry, query));
	memcpy(dst->query, src->query, src->query_len);
	dst->query[src->query_len] = '\0';
	memcpy(dst->plan, src->plan, src->plan_len);
	dst->plan[src->plan_len] = '\0';
}

/*
 * Put an entry in the ring.  Never waits for space and never fails; the
 * lengths must already be within PGM_SLOW_QUERY_MAX / PGM_SLOW_PLAN_MAX.
 */
void
pgm_slow_ring_push(const PgmSlowEntry *entry)
{
	uint64		pos;
	uint64		pending;
	SlowSlot   *slot;
	int			half;

	if (ring == NULL)
		return;
	Assert(entry->query_len <= PGM_SLOW_QUERY_MAX && entry->plan_len <= PGM_SLOW_PLAN_MAX);

	pos = pg_atomic_fetch_add_u64(&ring->head, 1);
	slot = &ring->slots[pos % ring->nslots];
	SpinLockAcquire(&slot->mutex);
	if (slot->pos_plus1 <= pos)
	{
		ring_copy_entry(&slot->entry, entry);
		slot->pos_plus1 = pos + 1;
	}
	/* else: lapped by a newer entry; ours counts as dropped */
	SpinLockRelease(&slot->mutex);

	/* half full (and every further half): wake the worker */
	half = Max(1, ring->nslots / 2);
	pending = pos + 1 - pg_atomic_read_u64(&ring->tail);
	if (pending >= (uint64) half && pending % half == 0)
		pgm_wake_child(PGM_CHILD_WORKER);
}

/* Worker: the first position not yet stored, where reading starts. */
uint64
pgm_slow_ring_tail(void)
{
	return pg_atomic_read_u64(&ring->tail);
}

/*
 * Worker: copy up to max entries, reading from position *pos on (start at
 * pgm_slow_ring_tail(), then pass the same variables again to read on).
 * Returns how many were copied; *pos is advanced past them, and *lost is
 * increased by the positions in between that were overwritten.
 */
int
pgm_slow_ring_read(PgmSlowEntry *out, int max, uint64 *pos, uint64 *lost)
{
	uint64		head = pg_atomic_read_u64(&ring->head);
	uint64		r = *pos;
	int			n = 0;

	if (head - r > (uint64) ring->nslots)
	{
		*lost += head - ring->nslots - r;
		r = head - ring->nslots;
	}
	while (r < head && n < max)
	{
		SlowSlot   *slot = &ring->slots[r % ring->nslots];
		bool		stop = false;

		SpinLockAcquire(&slot->mutex);
		if (slot->pos_plus1 == r + 1)
			ring_copy_entry(&out[n++], &slot->entry);
		else if (slot->pos_plus1 > r + 1)
			(*lost)++;			/* overwritten */
		else
			stop = true;		/* reserved, being written: next pass */
		SpinLockRelease(&slot->mutex);
		if (stop)
			break;
		r++;
	}
	*pos = r;
	return n;
}

/* Worker, after commit: positions before next_pos are done. */
void
pgm_slow_ring_release(uint64 next_pos, uint64 lost, uint64 written)
{
	pg_atomic_write_u64(&ring->tail, next_pos);
	if (lost > 0)
		pg_atomic_fetch_add_u64(&ring->dropped, lost);
	if (written > 0)
		pg_atomic_fetch_add_u64(&ring->written, written);
}

void
pgm_slow_ring_stats(PgmSlowRingStats *stats)
{
	uint64		head = pg_atomic_read_u64(&ring->head);
	uint64		tail = pg_atomic_read_u64(&ring->tail);
	uint64		behind = head > tail ? head - tail : 0;
	uint64		overwritten = behind > (uint64) ring->nslots ? behind - ring->nslots : 0;

	stats->captured = head;
	stats->written = pg_atomic_read_u64(&ring->written);
	stats->dropped = pg_atomic_read_u64(&ring->dropped) + overwritten;
	stats->pending = behind - overwritten;
	stats->slots = ring->nslots;
	stats->bytes = ring_shmem_size();
}

/*
 * What a stop loses (core/stop_state.c, in the postmaster once every other
 * process is gone): the entries not yet stored, and at most how many.
 */
uint64
pgm_slow_ring_pending(void)
{
	PgmSlowRingStats st;

	if (!pgm_slow_ring_available())
		return 0;
	pgm_slow_ring_stats(&st);
	return st.pending;
}

uint64
pgm_slow_ring_capacity(void)
{
	return pgm_slow_ring_available() ? (uint64) ring->nslots : 0;
}
