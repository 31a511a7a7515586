/*-------------------------------------------------------------------------
 * timeouts/limit_kinds.c
 *		The names of the kinds of limit (PgmLimitKind): as pgm_kill_log's
 *		limit_kind and pgm_status() spell them, and the column of
 *		pgm_timeout_policy that sets each (the client's message).  Depends
 *		on nothing, so the enforcer, the backend slots, the kill log and
 *		pgm_status() all take the names from here.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "timeouts/timeouts.h"

/* the name of a kind of limit, as pgm_kill_log.limit_kind spells it */
const char *
pgm_limit_kind_name(PgmLimitKind kind)
{
	switch (kind)
	{
		case PGM_LIMIT_STATEMENT:
			return "statement_timeout";
		case PGM_LIMIT_IDLE_IN_XACT:
			return "idle_in_transaction_timeout";
		case PGM_LIMIT_TRANSACTION:
			return "transaction_timeout";
		case PGM_LIMIT_LOCK_WAIT:
			return "lock_wait";
		case PGM_LIMIT_BLOCKING:
			return "blocking";
		case PGM_LIMIT_KILL_LONG:
			break;
	}
	return "pgm_kill_long";
}

/* the column of pgm_timeout_policy that sets a kind of limit (client messages) */
const char *
pgm_limit_column_name(PgmLimitKind kind)
{
	switch (kind)
	{
		case PGM_LIMIT_LOCK_WAIT:
			return "lock_wait_timeout";
		case PGM_LIMIT_BLOCKING:
			return "cancel_blockers_after";
		default:
			break;
	}
	return pgm_limit_kind_name(kind);
}
