/*-------------------------------------------------------------------------
 * timeouts/policy_enforce.c
 *		Timeout-policy enforcement, run by the launcher on each wake.
 *
 * Each pass reads the backend status array once (the source of
 * pg_stat_activity; no SQL), finds for each client backend the most
 * specific enabled policy that matches it, and computes its deadline:
 *   statement_timeout            from the start of the current statement
 *   idle_in_transaction_timeout  from the moment it went idle in transaction
 *   transaction_timeout          from the start of the transaction
 *   lock_wait_timeout            from the moment the statement began to wait
 *                                on a heavyweight lock (backends.c reads it
 *                                from PGPROC, without taking any lock)
 *   cancel_blockers_after        the same moment; the action falls on the
 *                                sessions it waits for (pg_blocking_pids),
 *                                not on the waiter
 * Backends past a deadline are re-read (to be sure it is still the same
 * statement, transaction or lock wait), then cancelled or terminated;
 * everything else contributes its deadline, and the launcher sleeps until
 * the earliest one.
 *
 * Precedence, for each kind of limit separately: among the matching
 * policies that set that limit, one naming the role beats any that does
 * not; then one naming the database; then the application pattern; then
 * the client address (specificity 8 + 4 + 2 + 1).  Ties go to the lower id.
 *
 * Never touched: anything that is not a client backend (autovacuum, WAL
 * senders, background and parallel workers: a parallel query is stopped
 * through its leader), pgmanage's own processes, and superusers' backends
 * when the policy exempts them.  For cancel_blockers_after the same rules
 * apply to each blocker: a client backend only, and a superuser's only if
 * the waiter's policy does not exempt superusers; a blocker running a
 * statement is cancelled (terminated if the policy's action says so), one
 * idle in (or outside) a transaction is terminated, since it has no
 * statement to cancel and only its end releases its locks.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "timeouts/timeouts.h"

/* a signal already sent for this (pid, since, kind) is not repeated for this long */
#define ENFORCE_RESIGNAL_MS 10000
#define ENFORCE_MAX_DUE 1024
/* the policy limits: statement .. blocking (PgmLimitKind 0..4) */
#define ENFORCE_KINDS PGM_LIMIT_KILL_LONG

typedef struct EnforceDue
{
	int			pid;
	TimestampTz since;
	PgmLimitKind kind;
	int			policy;			/* index into policies[] */
	TimestampTz acted_at;		/* for the acted list */
} EnforceDue;

static PgmPolicy policies[PGM_MAX_POLICIES];
static int	npolicies = 0;
static uint64 policies_generation = PG_UINT64_MAX;
static int64 shortest_limit_us = 0;
static bool have_lock_limits = false;	/* some policy sets a lock-wait limit */

static EnforceDue acted[ENFORCE_MAX_DUE];
static int	nacted = 0;

static MemoryContext enforce_cxt = NULL;

/*
 * The application_name each backend connected with (backend_slots.c),
 * copied once per pass: application policies match it, not the name a
 * session gives itself later.
 */
static PgmBackendSlotCopy *slot_copy = NULL;
static int	nslot_copy = 0;

static const char *
enforce_appname(const PgBackendStatus *be)
{
	const PgmBackendSlotCopy *c = pgm_backend_slots_find(slot_copy, nslot_copy, be->st_procpid);

	/* no slot (it authenticated before the library was preloaded?): the current name */
	return c ? c->appname : be->st_appname;
}

/*
 * The backends waiting on a heavyweight lock, copied from PGPROC once per
 * pass (and again before acting), only while a policy sets a lock limit.
 */
static PgmLockWait *lock_waits = NULL;
static int	nlock_waits = 0;

static void
enforce_copy_lock_waits(void)
{
	nlock_waits = 0;
	if (have_lock_limits && lock_waits != NULL)
		nlock_waits = pgm_lock_waits_copy(lock_waits, pgm_lock_waits_max());
}

/* roles as read this pass (lazily), for superuser status and names */
typedef struct EnforceRole
{
	Oid			oid;
	bool		super;
	NameData	name;
} EnforceRole;

static EnforceRole *roles = NULL;
static int	nroles = 0;

static int
enforce_role_cmp(const void *a, const void *b)
{
	Oid			x = ((const EnforceRole *) a)->oid;
	Oid			y = ((const EnforceRole *) b)->oid;

	return (x > y) - (x < y);
}

/*
 * The role, read by a plain heap scan of pg_authid once per pass: the
 * launcher has no database, and the relcache may not be able to open
 * catalog indexes (so no syscache).  pg_authid is small.
 */
static const EnforceRole *
enforce_role(Oid roleid)
{
	EnforceRole key;

	if (roles == NULL)
	{
		Relation	rel = table_open(AuthIdRelationId, AccessShareLock);
		TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
		HeapTuple	tup;
		int			cap = 64;

		roles = palloc(sizeof(EnforceRole) * cap);
		nroles = 0;
		while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
		{
			Form_pg_authid form = (Form_pg_authid) GETSTRUCT(tup);

			if (nroles == cap)
			{
				cap *= 2;
				roles = repalloc(roles, sizeof(EnforceRole) * cap);
			}
			roles[nroles].oid = form->oid;
			roles[nroles].super = form->rolsuper;
			roles[nroles].name = form->rolname;
			nroles++;
		}
		table_endscan(scan);
		table_close(rel, AccessShareLock);
		qsort(roles, nroles, sizeof(EnforceRole), enforce_role_cmp);
	}
	key.oid = roleid;
	return bsearch(&key, roles, nroles, sizeof(EnforceRole), enforce_role_cmp);
}

/*
 * SQL LIKE: % any string, _ any character, backslash escapes.  Matches
 * bytes, which is exact for the ASCII application names clients send.
 * Linear backtracking to the last %, so no pattern is exponential.
 */
static bool
enforce_like(const char *s, const char *p)
{
	const char *star_p = NULL;
	const char *star_s = NULL;

	while (*s)
	{
		if (*p == '%')
		{
			star_p = ++p;
			star_s = s;
			continue;
		}
		if (*p == '\\' && p[1] != '\0')
		{
			if (p[1] == *s)
			{
				p += 2;
				s++;
				continue;
			}
		}
		else if (*p == '_' || (*p != '\0' && *p == *s))
		{
			p++;
			s++;
			continue;
		}
		if (star_p == NULL)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '%')
		p++;
	return *p == '\0';
}

/* is the client address inside the policy's cidr? */
static bool
enforce_addr_match(const PgmPolicy *pol, const SockAddr *addr)
{
	const unsigned char *bytes;
	int			nbytes;
	int			bits = pol->addr_bits;
	int			i;

	if (addr->addr.ss_family == AF_INET && pol->addr_family == PGSQL_AF_INET)
	{
		bytes = (const unsigned char *) &((const struct sockaddr_in *) &addr->addr)->sin_addr;
		nbytes = 4;
	}
	else if (addr->addr.ss_family == AF_INET6 && pol->addr_family == PGSQL_AF_INET6)
	{
		bytes = (const unsigned char *) &((const struct sockaddr_in6 *) &addr->addr)->sin6_addr;
		nbytes = 16;
	}
	else
		return false;

	for (i = 0; i < nbytes && bits > 0; i++, bits -= 8)
	{
		unsigned char mask = bits >= 8 ? 0xFF : (unsigned char) (0xFF << (8 - bits));

		if ((bytes[i] & mask) != (pol->addr[i] & mask))
			return false;
	}
	return true;
}

/* a policy's limit of one kind, 0 if it sets none */
static int64
enforce_limit_us(const PgmPolicy *pol, PgmLimitKind kind)
{
	switch (kind)
	{
		case PGM_LIMIT_STATEMENT:
			return pol->statement_us;
		case PGM_LIMIT_IDLE_IN_XACT:
			return pol->idle_xact_us;
		case PGM_LIMIT_TRANSACTION:
			return pol->xact_us;
		case PGM_LIMIT_LOCK_WAIT:
			return pol->lock_wait_us;
		case PGM_LIMIT_BLOCKING:
			return pol->cancel_blockers_us;
		case PGM_LIMIT_KILL_LONG:
			break;
	}
	return 0;
}

/*
 * For each kind of limit, the most specific enabled policy that matches the
 * backend and sets that limit (-1 if none).  Limits are resolved one by one,
 * so a database-wide idle-in-transaction policy does not switch off a more
 * general statement limit.
 */
static void
enforce_match(const PgBackendStatus *be, int best[ENFORCE_KINDS])
{
	int			i;
	int			k;

	for (k = 0; k < ENFORCE_KINDS; k++)
		best[k] = -1;
	for (i = 0; i < npolicies; i++)
	{
		const PgmPolicy *pol = &policies[i];

		if (OidIsValid(pol->roleid) && pol->roleid != be->st_userid)
			continue;
		if (OidIsValid(pol->dbid) && pol->dbid != be->st_databaseid)
			continue;
		if (pol->match_app && !enforce_like(enforce_appname(be), pol->app_pattern))
			continue;
		if (pol->match_addr && !enforce_addr_match(pol, &be->st_clientaddr))
			continue;
		/* policies[] is in id order, so ">" keeps the lower id on a tie */
		for (k = 0; k < ENFORCE_KINDS; k++)
			if (enforce_limit_us(pol, (PgmLimitKind) k) > 0 &&
				(best[k] < 0 || pol->specificity > policies[best[k]].specificity))
				best[k] = i;
	}
}

/* copy the policy cache out of shared memory when it changed */
static void
enforce_refresh_policies(void)
{
	int			i;

	LWLockAcquire(pgm_shared->lock, LW_SHARED);
	if (pgm_timeouts->policy_generation != policies_generation)
	{
		npolicies = pgm_timeouts->npolicies;
		memcpy(policies, pgm_timeouts->policies, sizeof(PgmPolicy) * npolicies);
		policies_generation = pgm_timeouts->policy_generation;
	}
	LWLockRelease(pgm_shared->lock);

	shortest_limit_us = 0;
	have_lock_limits = false;
	for (i = 0; i < npolicies; i++)
	{
		int			k;

		for (k = 0; k < ENFORCE_KINDS; k++)
		{
			int64		lim = enforce_limit_us(&policies[i], (PgmLimitKind) k);

			if (lim > 0 && (shortest_limit_us == 0 || lim < shortest_limit_us))
				shortest_limit_us = lim;
			if (lim > 0 && (k == PGM_LIMIT_LOCK_WAIT || k == PGM_LIMIT_BLOCKING))
				have_lock_limits = true;
		}
	}
}

static bool enforce_already_acted(int pid, TimestampTz since, PgmLimitKind kind);

/*
 * The earliest deadline that applies to a backend, or 0 if none; with the
 * moment it counts from, its kind and the policy that set it.  Superusers'
 * backends escape the limits whose policy exempts them (for
 * cancel_blockers_after the exemption is checked on each blocker).  A limit
 * already acted on for the same start is passed over, so that the next one
 * (a lock_wait_timeout after cancel_blockers_after) still counts.
 */
static TimestampTz
enforce_deadline(const PgBackendStatus *be, const int best[ENFORCE_KINDS],
				 TimestampTz *since, PgmLimitKind *kind, int *policy)
{
	TimestampTz deadline = 0;
	bool		active = (be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH);
	bool		idle_xact = (be->st_state == STATE_IDLEINTRANSACTION ||
							 be->st_state == STATE_IDLEINTRANSACTION_ABORTED);
	int			super = -1;		/* unknown yet */
	int			k;

	for (k = 0; k < ENFORCE_KINDS; k++)
	{
		TimestampTz from;
		TimestampTz d;

		if (best[k] < 0)
			continue;
		if (k == PGM_LIMIT_STATEMENT)
			from = active ? be->st_activity_start_timestamp : 0;
		else if (k == PGM_LIMIT_IDLE_IN_XACT)
			from = idle_xact ? be->st_state_start_timestamp : 0;
		else if (k == PGM_LIMIT_TRANSACTION)
			from = (active || idle_xact) ? be->st_xact_start_timestamp : 0;
		else
		{
			/* a lock wait of the current statement (not a stale waitStart) */
			const PgmLockWait *lw = active ? pgm_lock_waits_find(lock_waits, nlock_waits,
																 be->st_procpid) : NULL;

			from = (lw != NULL && lw->wait_start >= be->st_activity_start_timestamp)
				? lw->wait_start : 0;
		}
		if (from == 0 || enforce_already_acted(be->st_procpid, from, (PgmLimitKind) k))
			continue;
		if (policies[best[k]].exempt_superusers && k != PGM_LIMIT_BLOCKING)
		{
			if (super < 0)
			{
				const EnforceRole *role = enforce_role(be->st_userid);

				/* a role being dropped counts as exempt: never guess */
				super = (role == NULL || role->super) ? 1 : 0;
			}
			if (super)
				continue;
		}
		d = from + enforce_limit_us(&policies[best[k]], (PgmLimitKind) k);
		if (deadline == 0 || d < deadline)
		{
			deadline = d;
			*since = from;
			*kind = (PgmLimitKind) k;
			*policy = best[k];
		}
	}
	return deadline;
}

static bool
enforce_already_acted(int pid, TimestampTz since, PgmLimitKind kind)
{
	int			i;

	for (i = 0; i < nacted; i++)
		if (acted[i].pid == pid && acted[i].since == since && acted[i].kind == kind)
			return true;
	return false;
}

static void
enforce_forget_old_actions(TimestampTz now)
{
	int			i,
				keep = 0;

	for (i = 0; i < nacted; i++)
		if (!TimestampDifferenceExceeds(acted[i].acted_at, now, ENFORCE_RESIGNAL_MS))
			acted[keep++] = acted[i];
	nacted = keep;
}

/*
 * Fill a kill record from a backend's status (also used by pgm_kill_long).
 */
void
pgm_kill_record_fill(PgmKillRecord *rec, const PgBackendStatus *be, int64 ran_us)
{
	memset(rec, 0, sizeof(PgmKillRecord));
	rec->at = GetCurrentTimestamp();
	rec->pid = be->st_procpid;
	rec->roleid = be->st_userid;
	rec->dbid = be->st_databaseid;
	strlcpy(rec->appname, be->st_appname, sizeof(rec->appname));
	rec->clientaddr = be->st_clientaddr;
	strlcpy(rec->state, pgm_backend_state_name(be->st_state), sizeof(rec->state));
	rec->ran_us = ran_us;
	rec->query_id = (int64) be->st_query_id;
	strlcpy(rec->query, pgm_clip_query(be->st_activity_raw), sizeof(rec->query));
}

/* signal one backend for a policy, record it (pgm_kill_log, LOG line) */
static void
enforce_signal(const PgBackendStatus *be, const PgmPolicy *pol, PgmLimitKind kind,
			   bool terminate, int64 ran_us, int waiter)
{
	PgmKillRecord rec;
	int			err = 0;
	const EnforceRole *role;
	const PgmBackendSlotCopy *c;
	char		logname[PGM_LOG_NAME_BUF];

	pgm_kill_record_fill(&rec, be, ran_us);
	rec.policy_id = pol->id;
	rec.limit_kind = kind;
	rec.terminate = terminate;
	/* the backend's error message will say why (backend_slots.c) */
	c = pgm_backend_slots_find(slot_copy, nslot_copy, be->st_procpid);
	if (c != NULL)
		pgm_backend_slots_set_reason(c->slot, c->pid, pol->id, kind,
									 enforce_limit_us(pol, kind), terminate, waiter);
	rec.succeeded = pgm_send_signal(be->st_procpid,
									terminate ? PGM_ACTION_TERMINATE : PGM_ACTION_CANCEL,
									&err);
	if (!rec.succeeded)
		strlcpy(rec.detail, err == ESRCH ? "backend exited" : strerror(err), sizeof(rec.detail));
	else if (kind == PGM_LIMIT_BLOCKING)
		snprintf(rec.detail, sizeof(rec.detail), "blocked pid %d", waiter);

	if (rec.succeeded)
		pg_atomic_fetch_add_u64(terminate ? &pgm_timeouts->sessions_terminated
								: &pgm_timeouts->statements_cancelled, 1);
	else
		pg_atomic_fetch_add_u64(&pgm_timeouts->signals_failed, 1);
	pgm_kill_queue_push(&rec);

	role = enforce_role(be->st_userid);
	if (kind == PGM_LIMIT_BLOCKING)
		ereport(LOG,
				(errmsg("pgmanage: %s backend %d of role \"%s\", which blocked backend %d for %.3f s: policy %d %s (query id %lld)%s",
						terminate ? "terminated" : "cancelled the statement of",
						be->st_procpid, role ? pgm_log_name(NameStr(role->name), logname) : "?", waiter,
						ran_us / 1000000.0, pol->id,
						pgm_limit_kind_name(kind), (long long) be->st_query_id,
						rec.succeeded ? "" : ": signal failed")));
	else
		ereport(LOG,
				(errmsg("pgmanage: %s backend %d of role \"%s\" after %.3f s: policy %d %s (query id %lld)%s",
						terminate ? "terminated" : "cancelled the statement of",
						be->st_procpid, role ? pgm_log_name(NameStr(role->name), logname) : "?",
						ran_us / 1000000.0, pol->id,
						pgm_limit_kind_name(kind), (long long) be->st_query_id,
						rec.succeeded ? "" : ": signal failed")));
}

/* a backend of the current status snapshot by pid, or NULL */
static PgBackendStatus *
enforce_find_backend(int pid)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgm_local_beentry(i);

		if (local != NULL && local->backendStatus.st_procpid == pid)
			return &local->backendStatus;
	}
	return NULL;
}

/*
 * cancel_blockers_after: signal the sessions the waiter waits for, as
 * pg_blocking_pids() names them (it reads the lock manager under its
 * partition LWLocks, in shared mode, and takes no heavyweight lock; only
 * done for a waiter past its limit).  Parallel workers are named by their
 * leader there; prepared transactions (pid 0) cannot be signalled.
 */
static void
enforce_cancel_blockers(const PgBackendStatus *waiter, const PgmPolicy *pol,
						TimestampTz since, TimestampTz now)
{
	int			waiter_pid = waiter->st_procpid;
	ArrayType  *arr;
	int32	   *pids;
	int			nb;
	int			j;

	arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids, Int32GetDatum(waiter_pid)));
	nb = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	pids = (int32 *) ARR_DATA_PTR(arr);
	for (j = 0; j < nb; j++)
	{
		int			pid = pids[j];
		PgBackendStatus *be;
		const EnforceRole *role;
		bool		active;
		bool		dup = false;
		int			k;

		for (k = 0; k < j; k++)
			dup |= (pids[k] == pid);
		if (pid == 0 || pid == waiter_pid || pid == MyProcPid || dup)
			continue;
		be = enforce_find_backend(pid);
		if (be == NULL || !pgm_is_client_backend(be))
			continue;			/* autovacuum, a WAL sender, a worker: never touched */
		role = enforce_role(be->st_userid);
		if (pol->exempt_superusers && (role == NULL || role->super))
		{
			ereport(LOG,
					(errmsg("pgmanage: backend %d waits for a lock held by superuser backend %d, left alone: policy %d exempts superusers",
							waiter_pid, pid, pol->id)));
			continue;
		}
		active = (be->st_state == STATE_RUNNING || be->st_state == STATE_FASTPATH);
		enforce_signal(be, pol, PGM_LIMIT_BLOCKING, !active || pol->terminate, now - since, waiter_pid);
	}
}

/*
 * Act on one due backend, after checking in a fresh read of the status
 * array (and of the lock waits) that it is still the same statement / idle
 * spell / transaction / lock wait.
 */
static void
enforce_act(const EnforceDue *due, TimestampTz now)
{
	PgBackendStatus *be = enforce_find_backend(due->pid);
	const PgmPolicy *pol;
	int			best[ENFORCE_KINDS];
	int			p = -1;
	TimestampTz since = 0;
	PgmLimitKind kind = PGM_LIMIT_STATEMENT;

	if (be == NULL)
		return;
	enforce_match(be, best);
	if (enforce_deadline(be, best, &since, &kind, &p) == 0 ||
		since != due->since || kind != due->kind || p != due->policy)
		return;					/* moved on meanwhile: nothing to do */
	pol = &policies[p];

	if (kind == PGM_LIMIT_BLOCKING)
		enforce_cancel_blockers(be, pol, since, now);
	else
		enforce_signal(be, pol, kind,
					   kind == PGM_LIMIT_IDLE_IN_XACT || kind == PGM_LIMIT_TRANSACTION || pol->terminate,
					   now - since, 0);

	if (nacted < ENFORCE_MAX_DUE)
	{
		acted[nacted] = *due;
		acted[nacted].acted_at = now;
		nacted++;
	}
}

long
pgm_enforce_tick(TimestampTz now)
{
	EnforceDue *due;
	int			ndue = 0;
	TimestampTz next = 0;
	long		timeout_ms = pgm_naptime_ms;
	int			n;
	int			i;
	MemoryContext oldcxt;

	enforce_refresh_policies();
	enforce_forget_old_actions(now);
	if (!pgm_enforce_timeouts || npolicies == 0)
	{
		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		pgm_shared->launcher.next_deadline = 0;
		LWLockRelease(pgm_shared->lock);
		return timeout_ms;
	}

	if (enforce_cxt == NULL)
		enforce_cxt = AllocSetContextCreate(TopMemoryContext, "pgmanage enforcer",
											ALLOCSET_DEFAULT_SIZES);

	/* a transaction for catalog lookups (superuser status, role names) */
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	oldcxt = MemoryContextSwitchTo(enforce_cxt);
	roles = NULL;
	due = palloc(sizeof(EnforceDue) * ENFORCE_MAX_DUE);
	slot_copy = palloc(sizeof(PgmBackendSlotCopy) * MaxBackends);
	nslot_copy = pgm_backend_slots_copy(slot_copy);
	lock_waits = have_lock_limits ? palloc(sizeof(PgmLockWait) * pgm_lock_waits_max()) : NULL;

	pgstat_clear_backend_activity_snapshot();
	enforce_copy_lock_waits();
	n = pgstat_fetch_stat_numbackends();
	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgm_local_beentry(i);
		PgBackendStatus *be;
		int			best[ENFORCE_KINDS];
		int			p = -1;
		TimestampTz since = 0;
		PgmLimitKind kind = PGM_LIMIT_STATEMENT;
		TimestampTz deadline;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (!pgm_is_client_backend(be) || be->st_procpid == MyProcPid)
			continue;
		enforce_match(be, best);
		deadline = enforce_deadline(be, best, &since, &kind, &p);
		if (deadline == 0 || enforce_already_acted(be->st_procpid, since, kind))
			continue;
		if (deadline <= now)
		{
			if (ndue < ENFORCE_MAX_DUE)
			{
				due[ndue].pid = be->st_procpid;
				due[ndue].since = since;
				due[ndue].kind = kind;
				due[ndue].policy = p;
				ndue++;
			}
		}
		else if (next == 0 || deadline < next)
			next = deadline;
	}

	if (ndue > 0)
	{
		/* re-read the status array and the lock waits once, then act on each due backend */
		pgstat_clear_backend_activity_snapshot();
		enforce_copy_lock_waits();
		for (i = 0; i < ndue; i++)
			enforce_act(&due[i], GetCurrentTimestamp());
	}
	pgstat_clear_backend_activity_snapshot();

	MemoryContextSwitchTo(oldcxt);
	CommitTransactionCommand();
	MemoryContextReset(enforce_cxt);
	roles = NULL;
	slot_copy = NULL;
	nslot_copy = 0;
	lock_waits = NULL;
	nlock_waits = 0;

	/* sleep until the next deadline, no longer than naptime or the shortest limit */
	if (shortest_limit_us > 0 && shortest_limit_us / 1000 < timeout_ms)
		timeout_ms = Max(1, shortest_limit_us / 1000);
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_shared->launcher.next_deadline = next;
	LWLockRelease(pgm_shared->lock);
	if (next != 0)
	{
		int64		until_us = next - GetCurrentTimestamp();

		/*
		 * WaitLatch counts in whole milliseconds: rounding up would make
		 * every action up to 1 ms late.  Wake at most 1 ms early instead,
		 * then sleep the remaining microseconds here (a bounded sleep of
		 * less than 1 ms) and come back for another pass at once.
		 */
		if (until_us <= 0)
			timeout_ms = 0;
		else if (until_us < 1000)
		{
			pg_usleep(until_us);
			timeout_ms = 0;
		}
		else
			timeout_ms = Min(timeout_ms, (long) (until_us / 1000));
	}
	return timeout_ms;
}
