/*-------------------------------------------------------------------------
 * timeouts/backends.c
 *		Reading other backends' status, who may signal whom, and the signal.
 *
 * Lock waits (pgm_lock_waits_copy) are read from the PGPROC array, not
 * from pg_locks: a backend sleeping on a heavyweight lock has a wait event
 * of class PG_WAIT_LOCK in PGPROC.wait_event_info (what pg_stat_activity
 * shows) and the moment its wait began in PGPROC.waitStart (an atomic since
 * PostgreSQL 14, what pg_locks.waitstart shows), written before it goes to
 * sleep.  Both are read without any lock, as pg_stat_activity reads the
 * wait event: no lock-manager partition lock, no heavyweight lock, one pass
 * over MaxBackends + auxiliary entries.  The same on 15, 17 and 18.
 *
 * pgm_kill_long() and the timeout-policy enforcer both end here.  The
 * permission rules are those of pg_cancel_backend() and
 * pg_terminate_backend(): a superuser's backend only by a superuser;
 * otherwise the caller must have the privileges of the target's role or
 * of pg_signal_backend.  Unlike those functions, a refusal here is an
 * answer (a reason string), not an ERROR, so one report can cover many
 * backends.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_authid.h"
#include "common/ip.h"
#include "libpq/pqcomm.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"

#include "core/compat.h"
#include "timeouts/timeouts.h"

/*
 * Parse an action name; ERROR (22023) on anything but cancel/terminate.
 */
PgmSignalAction
pgm_parse_action(const char *action)
{
	if (action == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action must not be NULL"),
				 errhint("Use 'cancel' or 'terminate'.")));
	if (pg_strcasecmp(action, "cancel") == 0)
		return PGM_ACTION_CANCEL;
	if (pg_strcasecmp(action, "terminate") == 0)
		return PGM_ACTION_TERMINATE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown action \"%s\"", action),
			 errhint("Use 'cancel' to cancel the statement or 'terminate' to end the session.")));
	return PGM_ACTION_CANCEL;	/* keep compiler quiet */
}

const char *
pgm_action_name(PgmSignalAction action)
{
	return action == PGM_ACTION_TERMINATE ? "terminate" : "cancel";
}

/*
 * May "caller" signal backend "pid", which runs as "target_role"?
 * Returns NULL if so, else the reason it may not.
 */
const char *
pgm_signal_refusal(Oid caller, int pid, Oid target_role)
{
	if (pid == MyProcPid)
		return "own backend";
	if (!OidIsValid(target_role) || superuser_arg(target_role))
	{
		if (!superuser_arg(caller))
			return "target is a superuser's backend; only a superuser may signal it";
	}
	else if (!has_privs_of_role(caller, target_role) &&
			 !has_privs_of_role(caller, ROLE_PG_SIGNAL_BACKEND))
		return "permission denied: caller is neither a member of the target's role nor of pg_signal_backend";
	return NULL;
}

/*
 * Send SIGINT (cancel) or SIGTERM (terminate) to a backend, after checking
 * that the pid still belongs to a PostgreSQL backend.  Returns true if the
 * signal was sent; otherwise *err holds errno (ESRCH if the backend is gone).
 */
bool
pgm_send_signal(int pid, PgmSignalAction action, int *err)
{
	int			sig = (action == PGM_ACTION_TERMINATE) ? SIGTERM : SIGINT;

	*err = 0;
	if (BackendPidGetProc(pid) == NULL)
	{
		*err = ESRCH;
		return false;
	}
	/* signal the process group, as pg_signal_backend() does */
#ifdef HAVE_SETSID
	if (kill(-pid, sig) == 0)
		return true;
#endif
	if (kill(pid, sig) == 0)
		return true;
	*err = errno;
	return false;
}

/*
 * A copy of a backend's query text, cut to PGM_QUERY_TEXT_MAX bytes on a
 * character boundary.
 */
char *
pgm_clip_query(const char *raw)
{
	char	   *clipped = pgstat_clip_activity(raw);
	int			len = strlen(clipped);

	if (len > PGM_QUERY_TEXT_MAX)
		clipped[pg_mbcliplen(clipped, len, PGM_QUERY_TEXT_MAX)] = '\0';
	return clipped;
}

/*
 * Is this a regular client backend (not autovacuum, a WAL sender, a
 * background or parallel worker)?
 */
bool
pgm_is_client_backend(const PgBackendStatus *be)
{
	return be->st_procpid > 0 && be->st_backendType == B_BACKEND;
}

/*
 * A backend's state as pg_stat_activity spells it.
 */
const char *
pgm_backend_state_name(BackendState state)
{
	if (pgm_backend_state_is_starting(state))
		return "starting";
	switch (state)
	{
		case STATE_IDLE:
			return "idle";
		case STATE_RUNNING:
			return "active";
		case STATE_IDLEINTRANSACTION:
			return "idle in transaction";
		case STATE_FASTPATH:
			return "fastpath function call";
		case STATE_IDLEINTRANSACTION_ABORTED:
			return "idle in transaction (aborted)";
		case STATE_DISABLED:
			return "disabled";
		case STATE_UNDEFINED:
		default:				/* STATE_STARTING (18), above */
			break;
	}
	return "unknown";
}


/* PGPROC entries to read for lock waits (every process, prepared transactions included) */
int
pgm_lock_waits_max(void)
{
	return (int) ProcGlobal->allProcCount;
}

static int
lock_wait_cmp(const void *a, const void *b)
{
	int			x = ((const PgmLockWait *) a)->pid;
	int			y = ((const PgmLockWait *) b)->pid;

	return (x > y) - (x < y);
}

/*
 * The processes sleeping on a heavyweight lock now, with the moment their
 * wait began, sorted by pid; at most max of them.  A wait whose start is
 * not written yet (waitStart is set without the partition lock, just
 * before the sleep) is left for the next pass; an entry whose pid changed
 * while it was read is skipped.
 */
int
pgm_lock_waits_copy(PgmLockWait *out, int max)
{
	uint32		count = ProcGlobal->allProcCount;
	uint32		i;
	int			n = 0;

	for (i = 0; i < count && n < max; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		int			pid = *((volatile int *) &proc->pid);
		uint32		wait;
		TimestampTz start;

		if (pid == 0)
			continue;
		wait = *((volatile uint32 *) &proc->wait_event_info);
		if ((wait & 0xFF000000U) != PG_WAIT_LOCK)
			continue;
		pg_read_barrier();
		start = (TimestampTz) pg_atomic_read_u64(&proc->waitStart);
		pg_read_barrier();
		if (start == 0 || *((volatile int *) &proc->pid) != pid)
			continue;
		out[n].pid = pid;
		out[n].wait_start = start;
		n++;
	}
	qsort(out, n, sizeof(PgmLockWait), lock_wait_cmp);
	return n;
}

const PgmLockWait *
pgm_lock_waits_find(const PgmLockWait *copy, int n, int pid)
{
	PgmLockWait key;

	if (n == 0)
		return NULL;
	key.pid = pid;
	return bsearch(&key, copy, n, sizeof(PgmLockWait), lock_wait_cmp);
}
