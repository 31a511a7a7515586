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
 *
 * One bad row never disables the others: a limit that cannot be
 * represented (the table's CHECK constraints refuse them, but a row may
 * predate them) and enabled policies beyond the first PGM_MAX_POLICIES
 * (the BEFORE trigger pgm_policy_check refuses them at INSERT) are skipped
 * and counted (pgm_status().policies_skipped); what was skipped is logged
 * once, when it changes, not at every reload.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/int.h"
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
 * The launcher enforces the policies of pgmanage.database only: an INSERT
 * anywhere else would never be enforced, so it is refused (55000, as
 * pgm_endpoint refuses an endpoint there), except in an extension script
 * and by COPY (a dump restored under another name: a WARNING that they are
 * not enforced); see pgm_store_database.  UPDATE and DELETE stay allowed,
 * so that such rows can be fixed or removed.
 */
static void
policy_check_database(void)
{
	char	   *db;

	switch (pgm_store_database(&db))
	{
		case PGM_DB_HERE:
			return;
		case PGM_DB_RESTORE:
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errhidestmt(true),
					 errmsg("timeout policies are stored in database \"%s\", where the launcher does not read them", db),
					 errdetail("The launcher enforces only the policies of database \"%s\" (pgmanage.database).",
							   pgm_database),
					 errhint("Restore the policies into that database, or set pgmanage.database to \"%s\".", db)));
			return;
		case PGM_DB_ELSEWHERE:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errhidestmt(true),
					 errmsg("timeout policies are read from database \"%s\", not \"%s\"", pgm_database, db),
					 errdetail("The launcher enforces only the policies of the database named by pgmanage.database; a policy stored here would never be enforced."),
					 errhint("Connect to database \"%s\" and insert the policy there.", pgm_database)));
	}
}

/*
 * Statement trigger on pgm_timeout_policy: refuse an INSERT outside
 * pgmanage.database (policy_check_database); ask the worker to reload the
 * policies when (and only if) this transaction commits.
 */
Datum
pgm_policy_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgm_policy_changed() must be called as a trigger")));
	if (TRIGGER_FIRED_BY_INSERT(((TriggerData *) fcinfo->context)->tg_event))
		policy_check_database();
	if (pgm_timeouts != NULL)
		pgm_wake_at_commit(PGM_CHILD_WORKER, &pgm_timeouts->policy_reload_requested);
	else
		ereport(NOTICE,
				(errmsg("pgmanage is not loaded through shared_preload_libraries: timeout policies are not enforced"),
				 errhint("Add pgmanage to shared_preload_libraries in postgresql.conf and restart the server.")));
	return PointerGetDatum(NULL);
}

/* the longest limit the loader accepts (the table's CHECK says 100 years) */
#define POLICY_MAX_US ((int64) 200 * 31557600 * USECS_PER_SEC)

/*
 * An interval column in microseconds, as date_part('epoch', ...) counts it
 * (a year is 365.25 days, a month 30 days); 0 when NULL.  False when it
 * does not fit or is beyond POLICY_MAX_US.
 */
static bool
policy_get_usecs(HeapTuple tup, TupleDesc desc, int col, int64 *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	Interval   *iv;
	int64		years_us;
	int64		days_us;
	int64		us;

	*out = 0;
	if (isnull)
		return true;
	iv = DatumGetIntervalP(d);
	if (pg_mul_s64_overflow((int64) (iv->month / MONTHS_PER_YEAR),
							(int64) 31557600 * USECS_PER_SEC, &years_us) ||
		pg_mul_s64_overflow((int64) iv->day + (int64) (iv->month % MONTHS_PER_YEAR) * DAYS_PER_MONTH,
							USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(years_us, days_us, &us) ||
		pg_add_s64_overflow(us, iv->time, &us) ||
		us > POLICY_MAX_US)
		return false;
	*out = us;
	return true;
}

/* what the last load skipped, as logged (logged again only when it changes) */
static char skipped_logged[PGM_ERROR_LEN];

/*
 * Read the enabled policies (in id order) and publish them.  Runs inside
 * the worker's transaction, with SPI connected.  Returns the number loaded.
 */
static int
policy_load(void)
{
	StringInfoData sql;
	StringInfoData bad;
	PgmPolicy  *loaded;
	int			n = 0;
	int			nbad = 0;
	int			nover = 0;
	uint64		i;
	bool		changed;
	char		summary[PGM_ERROR_LEN];

	initStringInfo(&sql);
	initStringInfo(&bad);
	appendStringInfo(&sql,
					 "SELECT id, role_name::text, database_name::text, application_name, client_addr,"
					 " statement_timeout, idle_in_transaction_timeout, transaction_timeout,"
					 " action OPERATOR(pg_catalog.=) 'terminate', exempt_superusers,"
					 " lock_wait_timeout, cancel_blockers_after"
					 " FROM " PGM_SCHEMA ".pgm_timeout_policy WHERE enabled ORDER BY id");
	if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_timeout_policy");

	loaded = palloc0(sizeof(PgmPolicy) * PGM_MAX_POLICIES);
	for (i = 0; i < SPI_processed; i++)
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

		if (n >= PGM_MAX_POLICIES)
		{
			nover++;
			continue;
		}
		memset(pol, 0, sizeof(PgmPolicy));
		pol->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		if (!policy_get_usecs(tup, desc, 6, &pol->statement_us) ||
			!policy_get_usecs(tup, desc, 7, &pol->idle_xact_us) ||
			!policy_get_usecs(tup, desc, 8, &pol->xact_us) ||
			!policy_get_usecs(tup, desc, 11, &pol->lock_wait_us) ||
			!policy_get_usecs(tup, desc, 12, &pol->cancel_blockers_us))
		{
			/* unrepresentable: skip this row, keep the others */
			appendStringInfo(&bad, "%s%d", nbad > 0 ? ", " : "", pol->id);
			nbad++;
			continue;
		}
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
		pol->terminate = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
		pol->exempt_superusers = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
		pol->specificity = (role ? 8 : 0) + (db ? 4 : 0) + (app ? 2 : 0) + (pol->match_addr ? 1 : 0);
		n++;
	}

	/* say what was skipped, once per change */
	summary[0] = '\0';
	if (nbad > 0)
		snprintf(summary, sizeof(summary),
				 "timeout policies not enforced: limit out of range in polic%s %s",
				 nbad > 1 ? "ies" : "y", bad.data);
	else if (nover > 0)
		snprintf(summary, sizeof(summary),
				 "timeout policies not enforced: %d enabled beyond the first %d",
				 nover, PGM_MAX_POLICIES);
	if (nbad > 0 && nover > 0)
		snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary),
				 "; %d enabled beyond the first %d", nover, PGM_MAX_POLICIES);
	if (strcmp(summary, skipped_logged) != 0)
	{
		if (summary[0] != '\0')
		{
			ereport(WARNING,
					(errmsg("pgmanage: %s", summary),
					 errdetail("The other policies are enforced."),
					 errhint("Fix or disable the policies named; at most %d enabled policies are enforced.",
							 PGM_MAX_POLICIES)));
			pgm_proc_error(&pgm_shared->children[PGM_CHILD_WORKER], "%s", summary);
		}
		else if (skipped_logged[0] != '\0')
			ereport(LOG, (errmsg("pgmanage: every enabled timeout policy is enforced again")));
		strlcpy(skipped_logged, summary, sizeof(skipped_logged));
	}

	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	pgm_timeouts->policies_skipped = nbad + nover;
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
	pfree(bad.data);
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
	pgm_timeouts->policies_skipped = 0;
	LWLockRelease(pgm_shared->lock);
	skipped_logged[0] = '\0';
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
