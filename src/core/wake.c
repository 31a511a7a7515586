/*-------------------------------------------------------------------------
 * core/wake.c
 *		The one way to wake pgmanage's processes: now (pgm_wake_child,
 *		pgm_wake_launcher), or when, and only if, the current transaction
 *		commits (pgm_wake_at_commit).
 *
 * Work handed over in shared memory (a queue, a ring, a VACUUM slot) wakes
 * its process now; work written to a table wakes it at COMMIT.  A trigger or function that changed what a child works from (policies,
 * jobs, the webhook outbox) calls pgm_wake_at_commit(); at COMMIT the
 * optional flag is raised first, then the child's latch is set, so the
 * child sees the committed rows when it wakes.  A rollback wakes no one,
 * and neither does PREPARE TRANSACTION (its state is cleared there too).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/latch.h"

#include "core/core.h"

/* what to do at commit: a bit per child, and the flags to raise */
static uint32 wake_children = 0;
static pg_atomic_uint32 *raise_flags[4];
static int	nraise = 0;
static bool callback_registered = false;

static void
commit_wake_callback(XactEvent event, void *arg)
{
	int			i;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (pgm_shared != NULL)
			{
				for (i = 0; i < nraise; i++)
					pg_atomic_write_u32(raise_flags[i], 1);
				for (i = 0; i < PGM_NUM_CHILDREN; i++)
				{
					Latch	   *latch = pgm_shared->children[i].latch;

					if ((wake_children & (1U << i)) && latch)
						SetLatch(latch);
				}
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			break;
		case XACT_EVENT_PREPARE:
			/*
			 * PREPARE TRANSACTION: this session's transaction is over, its
			 * COMMIT PREPARED comes later (perhaps from another session,
			 * where no callback knows of it).  Forget the wake-up, so the
			 * session's next transaction does not inherit it; the child
			 * finds the change at its next periodic pass.
			 */
			break;
		default:
			return;
	}
	wake_children = 0;
	nraise = 0;
}

/* set a child's latch now (nothing happens when it is not running) */
void
pgm_wake_child(PgmChild child)
{
	Latch	   *latch;

	if (pgm_shared == NULL)
		return;
	latch = pgm_shared->children[child].latch;
	if (latch)
		SetLatch(latch);
}

/* set the launcher's latch now */
void
pgm_wake_launcher(void)
{
	Latch	   *latch;

	if (pgm_shared == NULL)
		return;
	latch = pgm_shared->launcher.latch;
	if (latch)
		SetLatch(latch);
}

/*
 * At COMMIT, raise *flag (if not NULL) and set the latch of the child.
 * Does nothing without pgmanage in shared_preload_libraries.
 */
void
pgm_wake_at_commit(PgmChild child, pg_atomic_uint32 *flag)
{
	int			i;

	if (pgm_shared == NULL)
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(commit_wake_callback, NULL);
		callback_registered = true;
	}
	wake_children |= 1U << child;
	if (flag == NULL)
		return;
	for (i = 0; i < nraise; i++)
		if (raise_flags[i] == flag)
			return;
	if (nraise < lengthof(raise_flags))
		raise_flags[nraise++] = flag;
}
