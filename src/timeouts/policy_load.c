/*-------------------------------------------------------------------------
 * timeouts/policy_load.c
 *		From the table pgm_timeout_policy to the policy cache in shared
 *		memory, where the launcher reads it.
 *
 * The worker's policy duty reloads when a change was committed (the
 * statement trigger pgm_policy_changed() asks for a reload at COMMIT, and
 * wakes the worker) and, as a safety net that also covers standbys (where
 * the trigger fires on the primary only), once per naptime.  Names are
 * resolved to OIDs here, so the launcher matches backends without any
 * catalog access; a policy naming a role or database that does not exist
 * matches nothing.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "timeouts/timeouts.h"

PG_FUNCTION_INFO_V1(pgm_policy_changed);

/*
 * Statement trigger on pgm_timeout_policy: ask the worker to reload the
 * policies when (and only if) this transaction commits.
 */
Datum
pgm_policy_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgm_policy_changed() must be called as a trigger")));
	if (pgm_timeouts != NULL)
		pgm_wake_at_commit(PGM_CHILD_WORKER, &pgm_timeouts->policy_reload_requested);
	return PointerGetDatum(NULL);
}

static int64
policy_get_int64(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * Read the enabled policies (in id order) and publish them.  Runs inside
 * the worker's transaction, with SPI connected.  Returns the number loaded.
 */
static int
policy_load(void)
{
	StringInfoData sql;
	PgmPolicy  *loaded;
	int			n = 0;
	uint64		i;
	bool		changed;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT id, role_name::text, database_name::text, application_name, client_addr,"
					 " (pg_catalog.date_part('epoch', statement_timeout) * 1000000)::int8,"
					 " (pg_catalog.date_part('epoch', idle_in_transaction_timeout) * 1000000)::int8,"
					 " (pg_catalog.date_part('epoch', transaction_timeout) * 1000000)::int8,"
					 " action OPERATOR(pg_catalog.=) 'terminate', exempt_superusers"
					 " FROM " PGM_SCHEMA ".pgm_timeout_policy WHERE enabled ORDER BY id");
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_timeout_policy");

	loaded = palloc0(sizeof(PgmPolicy) * PGM_MAX_POLICIES);
	for (i = 0; i < SPI_processed && n < PGM_MAX_POLICIES; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		PgmPolicy  *pol = &loaded[n];
		char	   *role = SPI_getvalue(tup, desc, 2);
		char	   *db = SPI_getvalue(tup, desc, 3);
		char	   *app = SPI_getvalue(tup, desc, 4);
		bool		isnull;
		bool		addr_isnull;
		Datum		addr = SPI_getbinval(tup, desc, 5, &addr_isnull);

		memset(pol, 0, sizeof(PgmPolicy));
		pol->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		if (role)
		{
			pol->roleid = get_role_oid(role, true);
			if (!OidIsValid(pol->roleid))
				continue;		/* no such role: matches nothing */
		}
		if (db)
		{
			pol->dbid = get_database_oid(db, true);
			if (!OidIsValid(pol->dbid))
				continue;
		}
		if (app)
		{
			pol->match_app = true;
			strlcpy(pol->app_pattern, app, NAMEDATALEN);
		}
		if (!addr_isnull)
		{
			inet	   *ip = DatumGetInetPP(addr);

			pol->match_addr = true;
			pol->addr_family = ip_family(ip);
			pol->addr_bits = ip_bits(ip);
			memcpy(pol->addr, ip_addr(ip), ip_addrsize(ip));
		}
		pol->statement_us = policy_get_int64(tup, desc, 6);
		pol->idle_xact_us = policy_get_int64(tup, desc, 7);
		pol->xact_us = policy_get_int64(tup, desc, 8);
		pol->terminate = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
		pol->exempt_superusers = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
		pol->specificity = (role ? 8 : 0) + (db ? 4 : 0) + (app ? 2 : 0) + (pol->match_addr ? 1 : 0);
		n++;
	}
	if (SPI_processed > PGM_MAX_POLICIES)
		ereport(WARNING,
				(errmsg("pgmanage: only the first %d enabled timeout policies are enforced", PGM_MAX_POLICIES)));

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	changed = (n != pgm_timeouts->npolicies ||
			   memcmp(loaded, pgm_timeouts->policies, sizeof(PgmPolicy) * n) != 0);
	if (changed)
	{
		memcpy(pgm_timeouts->policies, loaded, sizeof(PgmPolicy) * n);
		pgm_timeouts->npolicies = n;
		pgm_timeouts->policy_generation++;
	}
	LWLockRelease(pgm_shared->lock);
	if (changed)
		pgm_wake_launcher();
	pfree(loaded);
	return n;
}

/* the extension is gone: enforce nothing */
void
pgm_policy_clear(void)
{
	bool		changed;

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	changed = (pgm_timeouts->npolicies != 0);
	if (changed)
	{
		pgm_timeouts->npolicies = 0;
		pgm_timeouts->policy_generation++;
	}
	LWLockRelease(pgm_shared->lock);
	/* called on every pass while the extension is missing: wake only on a change */
	if (changed)
		pgm_wake_launcher();
}

/*
 * Worker duty: reload when a change was committed, and at least once per
 * naptime (standbys get no trigger call: changes arrive by replay).
 */
void
pgm_policy_duty(PgmDutyContext *ctx)
{
	static TimestampTz next_poll = 0;
	static uint64 loaded_generation = 0;

	if (pg_atomic_exchange_u32(&pgm_timeouts->policy_reload_requested, 0) != 0 ||
		ctx->config_generation != loaded_generation || ctx->now >= next_poll)
	{
		loaded_generation = ctx->config_generation;
		policy_load();
		next_poll = TimestampTzPlusMilliseconds(ctx->now, pgm_naptime_ms);
	}
}
