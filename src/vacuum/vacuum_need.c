/*-------------------------------------------------------------------------
 * vacuum/vacuum_need.c
 *		Which tables a VACUUM run handles, why, and in what order.
 *
 * Runs in the VACUUM worker, connected to the run's database, inside a
 * transaction with SPI connected.  Reads only the catalogs and the
 * cumulative statistics: no relation lock is taken, so a table that
 * another session holds exclusively is still listed (and skipped later).
 *
 * Tables considered: ordinary tables and materialized views of the
 * database, except temporary ones, TOAST tables (VACUUM handles them with
 * their table), and the system schemas (pg_*, information_schema) unless
 * named in the run's list; narrowed by the run's schema, list or pattern.
 * Names in the list were stored schema-qualified when the run targets the
 * database it was scheduled in; for another database an unqualified name
 * means schema public (this process pins search_path = pg_catalog, pg_temp,
 * so no database or role setting changes what a name resolves to).
 *
 * With strategy 'need' a table is picked when any of these holds (the
 * thresholds are settings, see docs/vacuum.md):
 *	 - wraparound: age(relfrozenxid) (of the table or its TOAST table)
 *	   reaches pgmanage.vacuum_freeze_age_fraction of
 *	   autovacuum_freeze_max_age, or its multixact age the same fraction of
 *	   autovacuum_multixact_freeze_max_age;
 *	 - dead tuples: n_dead_tup > pgmanage.vacuum_min_dead_tuples +
 *	   pgmanage.vacuum_dead_fraction * n_live_tup;
 *	 - bloat: the estimated bloat (pgm_bloat, tables of 1 MB or more) reaches
 *	   pgmanage.vacuum_bloat_pct and there are at least
 *	   pgmanage.vacuum_min_dead_tuples dead tuples (bloat without dead tuples
 *	   is VACUUM FULL's business, not VACUUM's); evaluated when the extension
 *	   is installed in the run's database (see need_load_bloat);
 *	 - statistics (only when the run analyzes): rows modified since the last
 *	   analyze > pgmanage.vacuum_min_dead_tuples +
 *	   pgmanage.vacuum_analyze_fraction * n_live_tup, or never analyzed
 *	   while it has rows.  A table picked for statistics only gets ANALYZE,
 *	   not VACUUM.
 * Order: wraparound risk first (oldest first), then the most estimated dead
 * space (dead tuples times the average tuple size), then statistics only
 * (most modifications first).  With strategy 'all' every table considered
 * is picked, in the same order.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "vacuum/vacuum.h"

/* class of a candidate: the first key of the order */
#define NEED_CLASS_WRAPAROUND 0
#define NEED_CLASS_VACUUM 1
#define NEED_CLASS_ANALYZE 2
#define NEED_CLASS_NONE 3

typedef struct NeedSort
{
	int			cls;
	PgmVacuumCandidate c;
} NeedSort;

/*
 * Estimated bloat (pgm_bloat(), in percent of the main fork) of the tables
 * and B-tree indexes of at least NEED_BLOAT_MIN_BYTES, loaded once per run
 * into need_bloat (relid -> percent).  pgm_bloat() is called through SQL,
 * so the criterion needs the extension in the run's database; without it
 * (or if the call fails) the criterion is not evaluated and the run says
 * so in its first entry's reason.
 */
#define NEED_BLOAT_MIN_BYTES (1024 * 1024)

typedef struct NeedBloat
{
	Oid			relid;
	double		pct;
} NeedBloat;

static HTAB *need_bloat = NULL;
static bool need_bloat_loaded = false;

static void
need_load_bloat(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	HASHCTL		ctl;

	need_bloat_loaded = true;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(NeedBloat);
	ctl.hcxt = TopMemoryContext;
	need_bloat = hash_create("pgmanage vacuum bloat", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		int			i;

		/* only the extension's own schema: nothing a database owner created */
		if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension e"
						" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
						" WHERE e.extname OPERATOR(pg_catalog.=) 'pgmanage'"
						" AND n.nspname OPERATOR(pg_catalog.=) '" PGM_SCHEMA "'", true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1 &&
			SPI_execute(psprintf("SELECT relid, bloat_pct::pg_catalog.float8 FROM " PGM_SCHEMA ".pgm_bloat(min_bytes => %d)"
								 " WHERE bloat_pct IS NOT NULL",
								 NEED_BLOAT_MIN_BYTES), true, 0) == SPI_OK_SELECT)
		{
			for (i = 0; i < SPI_processed; i++)
			{
				bool		isnull;
				Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
				NeedBloat  *b = hash_search(need_bloat, &relid, HASH_ENTER, NULL);

				b->pct = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			}
		}
		else
		{
			hash_destroy(need_bloat);
			need_bloat = NULL;
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ereport(LOG,
				(errmsg("pgmanage vacuum: bloat estimates unavailable: %s", edata->message)));
		FreeErrorData(edata);
		if (need_bloat)
			hash_destroy(need_bloat);
		need_bloat = NULL;
	}
	PG_END_TRY();
}

/* true when the bloat criterion can be evaluated in this database */
bool
pgm_vacuum_bloat_available(void)
{
	return need_bloat != NULL;
}

static bool
need_lookup_bloat(Oid relid, double *pct)
{
	NeedBloat  *b;

	if (need_bloat == NULL)
		return false;
	b = hash_search(need_bloat, &relid, HASH_FIND, NULL);
	if (b == NULL)
		return false;
	*pct = b->pct;
	return true;
}

/* estimated bloat of a table (percent), if known */
static bool
need_table_bloat(Oid relid, double *pct)
{
	return need_lookup_bloat(relid, pct);
}

/* the same for a B-tree index (for reindex_bloated) */
bool
pgm_vacuum_index_bloat(Oid indexrelid, double *pct)
{
	return need_lookup_bloat(indexrelid, pct);
}

static int
need_cmp(const void *a, const void *b)
{
	const NeedSort *x = a;
	const NeedSort *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->c.urgency != y->c.urgency)
		return x->c.urgency > y->c.urgency ? -1 : 1;
	return strcmp(x->c.display, y->c.display);
}

static void
need_add_reason(StringInfo buf, const char *fmt,...) pg_attribute_printf(2, 3);

static void
need_add_reason(StringInfo buf, const char *fmt,...)
{
	va_list		ap;
	char		tmp[PGM_VACUUM_REASON_LEN];

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (buf->len > 0)
		appendStringInfoString(buf, "; ");
	appendStringInfoString(buf, tmp);
}

static int64
need_int8(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * The tables of the run, picked or not, in the order to handle them.
 * The array is allocated in TopMemoryContext.
 */
PgmVacuumCandidate *
pgm_vacuum_candidates(const PgmVacuumParams *p, int *ncand)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	NeedSort   *rows;
	PgmVacuumCandidate *out;
	double		xid_limit = pgm_vacuum_freeze_age_fraction * autovacuum_freeze_max_age;
	double		mxid_limit = pgm_vacuum_freeze_age_fraction * autovacuum_multixact_freeze_max_age;
	int			n;
	int			i;

	if (!need_bloat_loaded && (!p->strategy_all || p->reindex_bloated))
		need_load_bloat();

	values[0] = p->schema[0] ? CStringGetTextDatum(p->schema) : (Datum) 0;
	nulls[0] = p->schema[0] ? ' ' : 'n';
	values[1] = p->tables[0] ? CStringGetTextDatum(p->tables) : (Datum) 0;
	nulls[1] = p->tables[0] ? ' ' : 'n';
	values[2] = p->pattern[0] ? CStringGetTextDatum(p->pattern) : (Datum) 0;
	nulls[2] = p->pattern[0] ? ' ' : 'n';
	if (SPI_execute_with_args(
							  "SELECT c.oid, n.nspname::text, c.relname::text,"
							  " pg_catalog.pg_stat_get_live_tuples(c.oid),"
							  " pg_catalog.pg_stat_get_dead_tuples(c.oid),"
							  " pg_catalog.pg_stat_get_mod_since_analyze(c.oid),"
							  " (pg_catalog.pg_stat_get_last_analyze_time(c.oid) IS NULL AND"
							  "  pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid) IS NULL),"
							  " GREATEST(pg_catalog.age(c.relfrozenxid), pg_catalog.age(t.relfrozenxid))::int8,"
							  " GREATEST(pg_catalog.mxid_age(c.relminmxid), pg_catalog.mxid_age(t.relminmxid))::int8,"
							  " c.relpages::int8, c.reltuples::float8"
							  " FROM pg_catalog.pg_class c"
							  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
							  " LEFT JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) c.reltoastrelid"
							  " WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,m}')"
							  "   AND c.relpersistence OPERATOR(pg_catalog.<>) 't'"
							  "   AND ($2 IS NOT NULL OR (n.nspname OPERATOR(pg_catalog.<>) 'information_schema'"
							  "        AND n.nspname OPERATOR(pg_catalog.!~) '^pg_'))"
							  "   AND ($1 IS NULL OR n.nspname OPERATOR(pg_catalog.=) $1)"
							  "   AND ($2 IS NULL OR c.oid OPERATOR(pg_catalog.=) ANY (SELECT pg_catalog.to_regclass("
							  "          CASE WHEN pg_catalog.cardinality(pg_catalog.parse_ident(x)) OPERATOR(pg_catalog.=) 1"
							  "          THEN 'public.' OPERATOR(pg_catalog.||) x ELSE x END)::oid"
							  "        FROM pg_catalog.unnest($2::text[]) x))"
							  "   AND ($3 IS NULL OR c.relname OPERATOR(pg_catalog.~~) $3"
							  "        OR (n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) c.relname) OPERATOR(pg_catalog.~~) $3)",
							  3, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the tables to vacuum");

	n = SPI_processed;
	rows = palloc0(sizeof(NeedSort) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		NeedSort   *r = &rows[i];
		PgmVacuumCandidate *c = &r->c;
		char	   *nsp = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *rel = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		bool		isnull;
		int64		live = need_int8(i, 4);
		int64		dead = need_int8(i, 5);
		int64		mods = need_int8(i, 6);
		bool		never_analyzed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 7, &isnull));
		int64		xid_age = need_int8(i, 8);
		int64		mxid_age = need_int8(i, 9);
		int64		relpages = need_int8(i, 10);
		double		tuple_bytes;
		double		bloat_pct;
		bool		vacuum = false;
		bool		analyze = false;
		StringInfoData why;

		CHECK_FOR_INTERRUPTS();
		c->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		snprintf(c->qualname, sizeof(c->qualname), "%s", quote_qualified_identifier(nsp, rel));
		snprintf(c->display, sizeof(c->display), "%s.%s", nsp, rel);
		c->live = live;
		c->dead = dead;
		tuple_bytes = (relpages > 0 && live + dead > 0) ? (double) relpages * BLCKSZ / (live + dead) : 100.0;
		initStringInfo(&why);

		if (xid_age >= xid_limit)
		{
			need_add_reason(&why, "transaction ID age %lld >= %.0f%% of autovacuum_freeze_max_age (%d)",
							(long long) xid_age, pgm_vacuum_freeze_age_fraction * 100, autovacuum_freeze_max_age);
			c->wraparound = true;
		}
		if (mxid_age >= mxid_limit)
		{
			need_add_reason(&why, "multixact age %lld >= %.0f%% of autovacuum_multixact_freeze_max_age (%d)",
							(long long) mxid_age, pgm_vacuum_freeze_age_fraction * 100,
							autovacuum_multixact_freeze_max_age);
			c->wraparound = true;
		}
		if (dead > pgm_vacuum_min_dead_tuples + pgm_vacuum_dead_fraction * live)
		{
			need_add_reason(&why, "%lld dead tuples > %d + %g x %lld live",
							(long long) dead, pgm_vacuum_min_dead_tuples, pgm_vacuum_dead_fraction,
							(long long) live);
			vacuum = true;
		}
		if (need_table_bloat(c->relid, &bloat_pct) && bloat_pct >= pgm_vacuum_bloat_pct &&
			dead >= pgm_vacuum_min_dead_tuples)
		{
			/* bloat without dead tuples is not VACUUM's to fix (VACUUM FULL's) */
			need_add_reason(&why, "estimated bloat %.0f%% >= %g%% with %lld dead tuples",
							bloat_pct, pgm_vacuum_bloat_pct, (long long) dead);
			vacuum = true;
		}
		if (p->analyze && never_analyzed && live + dead > 0)
		{
			need_add_reason(&why, "never analyzed");
			analyze = true;
		}
		else if (p->analyze && mods > pgm_vacuum_min_dead_tuples + pgm_vacuum_analyze_fraction * live)
		{
			need_add_reason(&why, "%lld rows modified since the last analyze > %d + %g x %lld live",
							(long long) mods, pgm_vacuum_min_dead_tuples, pgm_vacuum_analyze_fraction,
							(long long) live);
			analyze = true;
		}

		if (c->wraparound)
		{
			r->cls = NEED_CLASS_WRAPAROUND;
			c->urgency = Max((double) xid_age / Max(xid_limit, 1), (double) mxid_age / Max(mxid_limit, 1));
		}
		else if (vacuum || p->strategy_all)
		{
			r->cls = NEED_CLASS_VACUUM;
			c->urgency = dead * tuple_bytes;
		}
		else if (analyze)
		{
			r->cls = NEED_CLASS_ANALYZE;
			c->urgency = mods;
		}
		else
			r->cls = NEED_CLASS_NONE;

		c->picked = r->cls != NEED_CLASS_NONE;
		c->analyze_only = (r->cls == NEED_CLASS_ANALYZE);
		if (p->strategy_all)
		{
			StringInfoData all;

			initStringInfo(&all);
			appendStringInfoString(&all, "strategy all");
			if (why.len > 0)
				appendStringInfo(&all, " (%s)", why.data);
			strlcpy(c->reason, all.data, sizeof(c->reason));
		}
		else if (c->picked)
			strlcpy(c->reason, why.data, sizeof(c->reason));
		else
			snprintf(c->reason, sizeof(c->reason),
					 "%lld dead / %lld live tuples, %lld modified since analyze, transaction ID age %lld: under every threshold",
					 (long long) dead, (long long) live, (long long) mods, (long long) xid_age);
	}
	qsort(rows, n, sizeof(NeedSort), need_cmp);

	out = MemoryContextAllocZero(TopMemoryContext, sizeof(PgmVacuumCandidate) * Max(n, 1));
	for (i = 0; i < n; i++)
		out[i] = rows[i].c;
	*ncand = n;
	return out;
}
