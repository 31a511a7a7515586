/*-------------------------------------------------------------------------
 * timeouts/backends.c
 *		Reading other backends' status, who may signal whom, and the signal.
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

