/*-------------------------------------------------------------------------
 * timeouts/backend_slots.c
 *		What the launcher knows of each client backend beyond the backend
 *		status array: the application_name the client connected with, and
 *		why the launcher is about to signal it.
 *
 * One slot per backend (MaxBackends of them, by backend id; core/compat.h), in shared memory of
 * timeouts/.  Each slot is written by two parties, each owning its fields:
 *
 * - the backend itself, once, at authentication (ClientAuthentication_hook):
 *   its pid and the application_name of its startup packet (the
 *   application_name connection parameter, or -c application_name in the
 *   options parameter; the same cleaning and length as pg_stat_activity).
 *   Application policies match this name, not what SET application_name,
 *   set_config() or a function's SET clause say later, so a session cannot
 *   leave a policy by renaming itself.  The slot is cleared at exit.
 *
 * - the launcher, just before it signals the backend for a policy: the
 *   policy, the kind of limit and the limit (reason_*; for a blocker
 *   cancelled for a lock waiter, also the waiter's pid), then reason_flag.
 *   The backend's emit_log_hook, on the 57014 / 57P01 error that the
 *   signal causes, rewrites its message to name pgmanage's policy, and
 *   clears the flag.  A flag older than SLOT_REASON_MAX_AGE_MS is stale
 *   (the signal found the backend idle and was discarded) and ignored.
 *
 * No lock: the pid is written last (after a write barrier) and read first
 * and last by the launcher, which ignores a slot whose pid changed while
 * it copied the name; the reason fields are written before the flag.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/string.h"
/*
 * libpq-be.h includes <gssapi/gssapi.h> when the server was built with
 * GSSAPI, a header this build does not need: without ENABLE_GSS, Port keeps
 * the same layout (its gss member is a pointer either way, "to keep struct
 * offsets the same (for extension ABI compatibility)"), and we read only
 * the startup packet's fields.
 */
#undef ENABLE_GSS
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/elog.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "timeouts/timeouts.h"

/* a reason not used within this long is stale */
#define SLOT_REASON_MAX_AGE_MS 5000

static PgmBackendSlot *slots = NULL;
static PgmBackendSlot *my_slot = NULL;

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

Size
pgm_backend_slots_size(void)
{
	return mul_size(MaxBackends, sizeof(PgmBackendSlot));
}

/* with AddinShmemInitLock held */
void
pgm_backend_slots_startup(void)
{
	bool		found;
	int			i;

	slots = ShmemInitStruct("pgmanage backends", pgm_backend_slots_size(), &found);
	if (!found)
	{
		memset(slots, 0, pgm_backend_slots_size());
		for (i = 0; i < MaxBackends; i++)
			pg_atomic_init_u32(&slots[i].reason_flag, 0);
	}
}

/* the application_name the startup packet gives, or NULL */
static char *
slot_startup_appname(Port *port)
{
	char	   *found = NULL;
	ListCell   *lc;

	/* options=-c application_name=... (applied first, so overridden below) */
	if (port->cmdline_options != NULL)
	{
		int			maxac = 2 + (strlen(port->cmdline_options) + 1) / 2;
		char	  **av = palloc(maxac * sizeof(char *));
		int			ac = 0;
		int			i;

		pg_split_opts(av, &ac, port->cmdline_options);
		for (i = 0; i < ac; i++)
		{
			const char *opt = NULL;

			if (strcmp(av[i], "-c") == 0 && i + 1 < ac)
				opt = av[++i];
			else if (strncmp(av[i], "-c", 2) == 0)
				opt = av[i] + 2;
			else if (strncmp(av[i], "--", 2) == 0)
				opt = av[i] + 2;
			if (opt != NULL)
			{
				char	   *name = pstrdup(opt);
				char	   *eq = strchr(name, '=');
				char	   *p;

				if (eq == NULL)
					continue;
				*eq = '\0';
				for (p = name; *p; p++)
					if (*p == '-')
						*p = '_';
				if (pg_strcasecmp(name, "application_name") == 0)
					found = eq + 1;
			}
		}
	}
	/* the startup packet's own parameters (the last one wins) */
	for (lc = list_head(port->guc_options); lc != NULL; lc = lnext(port->guc_options, lc))
	{
		const char *name = lfirst(lc);

		lc = lnext(port->guc_options, lc);
		if (lc == NULL)
			break;
		if (pg_strcasecmp(name, "application_name") == 0)
			found = lfirst(lc);
	}
	return found;
}

static void
slot_on_exit(int code, Datum arg)
{
	if (my_slot != NULL)
	{
		my_slot->pid = 0;
		pg_write_barrier();
		my_slot = NULL;
	}
}

static void
slot_client_auth(Port *port, int status)
{
	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);
	if (status != STATUS_OK || slots == NULL ||
		pgm_my_backend_slot() < 0 || pgm_my_backend_slot() >= MaxBackends)
		return;
	{
		PgmBackendSlot *slot = &slots[pgm_my_backend_slot()];
		char		name[NAMEDATALEN];
		char	   *app = slot_startup_appname(port);
		int			len;

		/* as the application_name setting cleans it, and as pgstat clips it */
		name[0] = '\0';
		if (app != NULL)
		{
			strlcpy(name, app, sizeof(name));
			pgm_clean_ascii(name, sizeof(name));
			len = strlen(name);
			name[pg_mbcliplen(name, len, NAMEDATALEN - 1)] = '\0';
		}
		slot->pid = 0;
		pg_write_barrier();
		strlcpy(slot->startup_appname, name, NAMEDATALEN);
		pg_atomic_write_u32(&slot->reason_flag, 0);
		pg_write_barrier();
		slot->pid = MyProcPid;
		my_slot = slot;
		before_shmem_exit(slot_on_exit, (Datum) 0);
	}
}

/*
 * The launcher's copy of the slots in use, sorted by pid (pgm_enforce_tick
 * takes it once per pass when a policy matches application names).
 */
static int
slot_copy_cmp(const void *a, const void *b)
{
	int			x = ((const PgmBackendSlotCopy *) a)->pid;
	int			y = ((const PgmBackendSlotCopy *) b)->pid;

	return (x > y) - (x < y);
}

int
pgm_backend_slots_copy(PgmBackendSlotCopy *out)
{
	int			n = 0;
	int			i;

	if (slots == NULL)
		return 0;
	for (i = 0; i < MaxBackends; i++)
	{
		int			pid = slots[i].pid;

		if (pid == 0)
			continue;
		pg_read_barrier();
		strlcpy(out[n].appname, slots[i].startup_appname, NAMEDATALEN);
		pg_read_barrier();
		if (slots[i].pid != pid)
			continue;			/* changed meanwhile */
		out[n].pid = pid;
		out[n].slot = i;
		n++;
	}
	qsort(out, n, sizeof(PgmBackendSlotCopy), slot_copy_cmp);
	return n;
}

const PgmBackendSlotCopy *
pgm_backend_slots_find(const PgmBackendSlotCopy *copy, int n, int pid)
{
	PgmBackendSlotCopy key;

	key.pid = pid;
	return bsearch(&key, copy, n, sizeof(PgmBackendSlotCopy), slot_copy_cmp);
}

/*
 * Launcher: say why backend "pid" (in slot "slot") is about to be
 * signalled.  Ignored if the slot no longer belongs to it.
 */
void
pgm_backend_slots_set_reason(int slot, int pid, int32 policy_id, PgmLimitKind kind,
							 int64 limit_us, bool terminate, int waiter)
{
	PgmBackendSlot *s;

	if (slots == NULL || slot < 0 || slot >= MaxBackends)
		return;
	s = &slots[slot];
	if (s->pid != pid)
		return;
	s->reason_policy = policy_id;
	s->reason_kind = (int32) kind;
	s->reason_limit_us = limit_us;
	s->reason_terminate = terminate;
	s->reason_waiter = waiter;
	s->reason_at = GetCurrentTimestamp();
	pg_write_barrier();
	pg_atomic_write_u32(&s->reason_flag, 1);
}

/* a limit as the message shows it: "1 s", "1.5 s", "2 min" */
static char *
slot_format_limit(int64 us)
{
	if (us % (60 * USECS_PER_SEC) == 0 && us >= 60 * USECS_PER_SEC)
		return psprintf("%lld min", (long long) (us / (60 * USECS_PER_SEC)));
	if (us % USECS_PER_SEC == 0)
		return psprintf("%lld s", (long long) (us / USECS_PER_SEC));
	return psprintf("%.3f s", us / 1000000.0);
}

/*
 * In the backend that received the signal: the cancel (57014) or the
 * termination (57P01) it causes names pgmanage's policy.  SQLSTATEs stay.
 */
static void
slot_emit_log(ErrorData *edata)
{
	if (my_slot != NULL && edata->elevel >= ERROR &&
		(edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		 edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN) &&
		pg_atomic_read_u32(&my_slot->reason_flag) != 0 &&
		pg_atomic_exchange_u32(&my_slot->reason_flag, 0) != 0)
	{
		PgmBackendSlot *s = my_slot;

		pg_read_barrier();
		if (!TimestampDifferenceExceeds(s->reason_at, GetCurrentTimestamp(), SLOT_REASON_MAX_AGE_MS) &&
			(edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN) == s->reason_terminate)
		{
			const char *limit = slot_format_limit(s->reason_limit_us);
			const char *kind = pgm_limit_column_name((PgmLimitKind) s->reason_kind);

			edata->message = s->reason_terminate
				? psprintf("terminating connection due to pgmanage timeout policy %d (%s of %s)",
						   s->reason_policy, kind, limit)
				: psprintf("canceling statement due to pgmanage timeout policy %d (%s of %s)",
						   s->reason_policy, kind, limit);
			if (s->reason_kind == PGM_LIMIT_BLOCKING)
				edata->detail = psprintf("This session held a lock that process %d waited for longer than the limit set by row %d of pgmanage.pgm_timeout_policy.",
										 s->reason_waiter, s->reason_policy);
			else
				edata->detail = psprintf("The limit is set by row %d of pgmanage.pgm_timeout_policy.",
										 s->reason_policy);
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* from _PG_init, while preloading */
void
pgm_backend_slots_install_hooks(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = slot_client_auth;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = slot_emit_log;
}
