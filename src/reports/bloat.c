/*-------------------------------------------------------------------------
 * reports/bloat.c
 *		pgm_bloat(): estimated bloat of tables, materialized views and
 *		B-tree indexes, from the catalogs and the cumulative statistics
 *		(the page-packing model both modes share is in bloat_pack.c).
 *
 * "Bloat" is the number of bytes a freshly packed copy would not need: the
 * relation's main fork minus the size of the same live rows copied into a
 * new table with the same fillfactor (for an index: minus the same index
 * built on that copy).  Space that fillfactor reserves is therefore not
 * bloat.
 *
 * The estimate reads no user relation and takes no lock on one.  It makes
 * one pass over pg_class, pg_index, pg_attribute and pg_statistic into hash
 * tables, stat()s the relations' main-fork files, and for each relation
 * predicts the packed copy's size:
 *
 *	 - row width: walking the attributes in order with their alignment, the
 *	   average stored width (pg_statistic.stawidth, which analyze.c measures
 *	   on the datum as stored in the heap: a TOAST pointer counts 18 bytes,
 *	   an inline compressed value its compressed size) and the null
 *	   fraction, with the null bitmap in the rows that have a null;
 *	 - row count: the cumulative statistics' live tuples, which follow
 *	   DELETEs made after the last ANALYZE, falling back to reltuples;
 *	 - pages: the arithmetic of hio.c (heap) and nbtsort.c (B-tree build,
 *	   with deduplication into posting lists and the 70 % fill of upper
 *	   pages) applied to those sizes.
 *
 * The exact mode (bloat_exact.c) feeds real tuple sizes to the same
 * packers.  Locking: the estimate holds ACCESS SHARE on the catalogs it
 * scans only; the exact mode takes ACCESS SHARE on the relations it reads.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "access/nbtree.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_statistic.h"
#include "common/relpath.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufpage.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relmapper.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "reports/reports.h"

PG_FUNCTION_INFO_V1(pgm_bloat);

#define BLOAT_COLS 19

/* advice thresholds (documented in docs/functions/pgm_bloat.md) */
#define BLOAT_ADVICE_MIN_PCT		30.0
#define BLOAT_ADVICE_MIN_BYTES		(1024 * 1024)
#define BLOAT_VACUUM_MIN_DEAD		1000
#define BLOAT_VACUUM_DEAD_SHARE		0.2

/* one attribute of a table or an index, with its statistics if any */
typedef struct BloatColKey
{
	Oid			relid;
	int16		attnum;
} BloatColKey;

typedef struct BloatCol
{
	BloatColKey key;
	int16		attlen;
	char		attalign;
	bool		dropped;
	bool		has_stats;
	bool		const_width;	/* every sampled value has the same size */
	int			nsamples;		/* stored sizes of the MCVs or histogram */
	int16	   *samples;		/* bounds, when all fit a 1-byte header */
	float4		nullfrac;
	int32		width;			/* average stored width of non-null values */
	float4		ndistinct;		/* as pg_statistic.stadistinct */
} BloatCol;

/* what pg_index says about a B-tree index */
typedef struct BloatIndex
{
	Oid			indrelid;
	int			natts;
	int			nkeyatts;
	bool		unique;
	bool		partial;
	int16		keys[INDEX_MAX_KEYS];
	Oid			opclass[INDEX_MAX_KEYS];
	Oid			collation[INDEX_MAX_KEYS];
} BloatIndex;

typedef struct BloatRel
{
	Oid			relid;			/* hash key */
	Oid			nspoid;
	NameData	relname;
	char		relkind;
	Oid			relam;
	char		persistence;
	int16		relnatts;
	float4		reltuples;
	int32		relpages;
	int64		main_bytes;		/* -2 until stat()ed, -1 if no file */
	PgmRelFile	node;
	int			fillfactor;
	bool		dedup_items;	/* btree deduplicate_items */
	BloatIndex *index;			/* indexes only */
	bool		wanted;			/* named in relations[] (or its table was) */
} BloatRel;

/* one output row */
typedef struct BloatRow
{
	BloatRel   *rel;
	BloatRel   *table;			/* the table itself, or an index's table */
	int64		actual;
	int64		expected;		/* -1: unknown (ANALYZE first) */
	int64		live;
	int64		dead;			/* -1: unknown */
	int64		dead_bytes;		/* -1: not measured */
	int64		free_bytes;		/* -1: not measured */
	bool		exact;
} BloatRow;

/* a row-width prediction */
typedef struct BloatWidth
{
	double		bytes;			/* expected MAXALIGNed tuple size */
	double		key_bytes;		/* for an index: the same, its key part */
	bool		fixed;			/* every tuple has exactly this size */
	bool		known;			/* statistics exist for every column */
} BloatWidth;

static double
bloat_maxalign_d(double x)
{
	return ceil(x / MAXIMUM_ALIGNOF) * MAXIMUM_ALIGNOF;
}

/* ---------------------------------------------------------------------
 * Row widths from pg_attribute and pg_statistic
 * ---------------------------------------------------------------------
 */

static int
bloat_align_bytes(char attalign)
{
	switch (attalign)
	{
		case TYPALIGN_DOUBLE:
			return ALIGNOF_DOUBLE;
		case TYPALIGN_INT:
			return ALIGNOF_INT;
		case TYPALIGN_SHORT:
			return ALIGNOF_SHORT;
		default:
			return 1;
	}
}

/*
 * Tuples without nulls whose width varies through one varlena column: lay
 * the tuple out for each sampled size of that column and average the
 * MAXALIGNed sizes, then move the mean to the column's stawidth (the
 * sample is the histogram, not a random draw).  False if the shape is not
 * that one or there is no sample.
 */
static bool
bloat_sampled_width(BloatCol **cols, int ncols, int hdr, double *bytes)
{
	int			var = -1;
	double		sum = 0;
	double		mean = 0;
	int			s;
	int			i;

	for (i = 0; i < ncols; i++)
	{
		if (cols[i]->nullfrac > 0)
			return false;
		if (cols[i]->attlen == -1 && !cols[i]->const_width)
		{
			if (var >= 0 || cols[i]->nsamples == 0)
				return false;
			var = i;
		}
	}
	if (var < 0)
		return false;
	for (s = 0; s < cols[var]->nsamples; s++)
	{
		int64		off = hdr;

		for (i = 0; i < ncols; i++)
		{
			BloatCol   *c = cols[i];
			int			width;
			int			align;

			if (i == var)
				width = c->samples[s];
			else
				width = c->attlen > 0 ? c->attlen : c->width;
			if (c->attlen > 0 || width > VARATT_SHORT_MAX)
				align = bloat_align_bytes(c->attalign);
			else
				align = 1;
			off = TYPEALIGN(align, off) + width;
		}
		sum += MAXALIGN(off);
		mean += cols[var]->samples[s];
	}
	*bytes = sum / cols[var]->nsamples +
		(cols[var]->width - mean / cols[var]->nsamples);
	return true;
}

/*
 * Expected size of a tuple whose attributes are cols[0..ncols-1], in order,
 * after a header of hdr_plain bytes (hdr_nulls when the tuple has a null
 * bitmap).  Padding is computed at each attribute's offset; a varlena that
 * fits a 1-byte header (stored width <= 127) is not aligned.  When every
 * tuple has the same layout (no nulls, no width variation) the result is
 * exact; otherwise the final MAXALIGN costs 3.5 bytes on average.
 */
static BloatWidth
bloat_tuple_width(BloatCol **cols, int ncols, int hdr_plain, int hdr_nulls,
				  bool force_bitmap)
{
	BloatWidth	w;
	double		p_nonull = 1.0;
	double		off = 0;
	double		hoff;
	int			i;

	w.fixed = true;
	w.known = true;
	for (i = 0; i < ncols; i++)
	{
		BloatCol   *c = cols[i];
		double		present;
		double		width;
		int			align;
		int64		at;
		double		pad;

		if (c == NULL || !c->has_stats)
		{
			w.known = false;
			continue;
		}
		present = 1.0 - c->nullfrac;
		p_nonull *= present;
		if (present <= 0)
			continue;
		if (present < 1.0)
			w.fixed = false;
		if (c->attlen > 0)
		{
			width = c->attlen;
			align = bloat_align_bytes(c->attalign);
		}
		else
		{
			width = c->width;
			align = (c->attlen == -1 && width <= VARATT_SHORT_MAX) ? 1 :
				bloat_align_bytes(c->attalign);
			if (!c->const_width)
				w.fixed = false;
		}
		at = (int64) rint(off);
		pad = (double) (TYPEALIGN(align, at) - at);
		off += present * (pad + width);
	}
	if (force_bitmap)
		p_nonull = 0;
	hoff = p_nonull * hdr_plain + (1.0 - p_nonull) * hdr_nulls;
	if (w.fixed && (p_nonull == 0 || p_nonull == 1))
		w.bytes = MAXALIGN((int64) rint(hoff + off));
	else if (w.known && p_nonull == 1 && bloat_sampled_width(cols, ncols, hdr_plain, &w.bytes))
		w.fixed = false;
	else
	{
		w.fixed = false;
		w.bytes = hoff + off + (MAXIMUM_ALIGNOF - 1) / 2.0;
	}
	w.key_bytes = w.bytes;
	return w;
}

/* ---------------------------------------------------------------------
 * The catalog pass
 * ---------------------------------------------------------------------
 */

typedef struct BloatCatalog
{
	HTAB	   *rels;			/* BloatRel by relid */
	HTAB	   *cols;			/* BloatCol by (relid, attnum) */
	HTAB	   *equalimage;		/* (opclass, collation) -> bool */
} BloatCatalog;

typedef struct BloatEqKey
{
	Oid			opclass;
	Oid			collation;
} BloatEqKey;

typedef struct BloatEqEntry
{
	BloatEqKey	key;
	bool		equalimage;
} BloatEqEntry;

static BloatCol *
bloat_col(BloatCatalog *cat, Oid relid, int16 attnum)
{
	BloatColKey key;

	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.attnum = attnum;
	return hash_search(cat->cols, &key, HASH_FIND, NULL);
}

/*
 * The sizes the sampled values of a varlena column take in a tuple: the
 * histogram bounds (else the MCV list) are the sample we have.  They tell
 * whether the width varies at all, and how the final MAXALIGN of a tuple
 * falls.  Kept only when every value fits a 1-byte header, i.e. is stored
 * as it is sampled (never compressed or moved to TOAST).
 */
static void
bloat_stats_samples(HeapTuple statup, BloatCol *col)
{
	static const int kinds[] = {STATISTIC_KIND_HISTOGRAM, STATISTIC_KIND_MCV};
	int			k;

	col->const_width = false;
	col->nsamples = 0;
	col->samples = NULL;
	for (k = 0; k < lengthof(kinds); k++)
	{
		AttStatsSlot sslot;
		bool		same = true;
		int			i;

		if (!get_attstatsslot(&sslot, statup, kinds[k], InvalidOid, ATTSTATSSLOT_VALUES))
			continue;
		if (sslot.nvalues == 0)
		{
			free_attstatsslot(&sslot);
			continue;
		}
		col->samples = palloc(sizeof(int16) * sslot.nvalues);
		for (i = 0; i < sslot.nvalues; i++)
		{
			Size		len = VARSIZE_ANY_EXHDR(DatumGetPointer(sslot.values[i]));

			if (len + VARHDRSZ_SHORT > VARATT_SHORT_MAX)
				break;
			col->samples[i] = (int16) (len + VARHDRSZ_SHORT);
			if (col->samples[i] != col->samples[0])
				same = false;
		}
		if (i == sslot.nvalues)
		{
			col->nsamples = sslot.nvalues;
			col->const_width = same;
		}
		free_attstatsslot(&sslot);
		return;
	}
}

static void
bloat_read_catalogs(BloatCatalog *cat)
{
	HASHCTL		ctl;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(BloatRel);
	ctl.hcxt = CurrentMemoryContext;
	cat->rels = hash_create("pgmanage bloat relations", 4096, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(BloatColKey);
	ctl.entrysize = sizeof(BloatCol);
	ctl.hcxt = CurrentMemoryContext;
	cat->cols = hash_create("pgmanage bloat columns", 16384, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(BloatEqKey);
	ctl.entrysize = sizeof(BloatEqEntry);
	ctl.hcxt = CurrentMemoryContext;
	cat->equalimage = hash_create("pgmanage bloat equalimage", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* pg_class: tables, materialized views and B-tree indexes */
	rel = table_open(RelationRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);
		BloatRel   *entry;
		Datum		reloptions;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (form->relkind != RELKIND_RELATION && form->relkind != RELKIND_MATVIEW &&
			!(form->relkind == RELKIND_INDEX && form->relam == BTREE_AM_OID))
			continue;
		entry = hash_search(cat->rels, &form->oid, HASH_ENTER, NULL);
		entry->nspoid = form->relnamespace;
		entry->relname = form->relname;
		entry->relkind = form->relkind;
		entry->relam = form->relam;
		entry->persistence = form->relpersistence;
		entry->relnatts = form->relnatts;
		entry->reltuples = form->reltuples;
		entry->relpages = form->relpages;
		entry->main_bytes = -2;
		pgm_relfile_set(&entry->node,
						OidIsValid(form->reltablespace) ?
						form->reltablespace : MyDatabaseTableSpace,
						form->relisshared ? InvalidOid : MyDatabaseId,
						OidIsValid(form->relfilenode) ? form->relfilenode :
						pgm_relation_map_filenumber(form->oid, form->relisshared));
		entry->index = NULL;
		entry->wanted = false;
		entry->dedup_items = true;
		entry->fillfactor = form->relkind == RELKIND_INDEX ?
			BTREE_DEFAULT_FILLFACTOR : HEAP_DEFAULT_FILLFACTOR;
		reloptions = heap_getattr(tup, Anum_pg_class_reloptions,
								  RelationGetDescr(rel), &isnull);
		if (!isnull)
		{
			if (form->relkind == RELKIND_INDEX)
			{
				BTOptions  *opts = (BTOptions *) btoptions(reloptions, false);

				if (opts)
				{
					entry->fillfactor = opts->fillfactor;
					entry->dedup_items = opts->deduplicate_items;
				}
			}
			else
			{
				StdRdOptions *opts = (StdRdOptions *)
					heap_reloptions(RELKIND_RELATION, reloptions, false);

				if (opts)
					entry->fillfactor = opts->fillfactor;
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* pg_index: what each B-tree index holds */
	rel = table_open(IndexRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_index form = (Form_pg_index) GETSTRUCT(tup);
		BloatRel   *entry = hash_search(cat->rels, &form->indexrelid, HASH_FIND, NULL);
		BloatIndex *ix;
		Datum		d;
		bool		isnull;
		oidvector  *classes;
		oidvector  *colls;
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (entry == NULL || entry->relkind != RELKIND_INDEX)
			continue;
		if (!form->indisvalid || !form->indisready)
		{
			hash_search(cat->rels, &form->indexrelid, HASH_REMOVE, NULL);
			continue;
		}
		ix = palloc0(sizeof(BloatIndex));
		ix->indrelid = form->indrelid;
		ix->natts = form->indnatts;
		ix->nkeyatts = form->indnkeyatts;
		ix->unique = form->indisunique;
		ix->partial = !heap_attisnull(tup, Anum_pg_index_indpred, NULL);
		d = heap_getattr(tup, Anum_pg_index_indclass, RelationGetDescr(rel), &isnull);
		classes = (oidvector *) DatumGetPointer(d);
		d = heap_getattr(tup, Anum_pg_index_indcollation, RelationGetDescr(rel), &isnull);
		colls = (oidvector *) DatumGetPointer(d);
		for (i = 0; i < ix->natts && i < INDEX_MAX_KEYS; i++)
		{
			ix->keys[i] = form->indkey.values[i];
			if (i < ix->nkeyatts)
			{
				ix->opclass[i] = classes->values[i];
				ix->collation[i] = colls->values[i];
			}
		}
		entry->index = ix;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* pg_attribute: the layout of every relation we kept */
	rel = table_open(AttributeRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_attribute form = (Form_pg_attribute) GETSTRUCT(tup);
		BloatColKey key;
		BloatCol   *col;

		CHECK_FOR_INTERRUPTS();
		if (form->attnum <= 0 ||
			hash_search(cat->rels, &form->attrelid, HASH_FIND, NULL) == NULL)
			continue;
		memset(&key, 0, sizeof(key));
		key.relid = form->attrelid;
		key.attnum = form->attnum;
		col = hash_search(cat->cols, &key, HASH_ENTER, NULL);
		col->attlen = form->attlen;
		col->attalign = form->attalign;
		col->dropped = form->attisdropped;
		col->has_stats = false;
		col->const_width = false;
		col->nsamples = 0;
		col->samples = NULL;
		col->nullfrac = 0;
		col->width = 0;
		col->ndistinct = 0;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* pg_statistic: widths, null fractions, distinct counts */
	rel = table_open(StatisticRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_statistic form = (Form_pg_statistic) GETSTRUCT(tup);
		BloatCol   *col;

		CHECK_FOR_INTERRUPTS();
		if (form->stainherit)
			continue;
		col = bloat_col(cat, form->starelid, form->staattnum);
		if (col == NULL)
			continue;
		col->has_stats = true;
		col->nullfrac = form->stanullfrac;
		col->width = form->stawidth;
		col->ndistinct = form->stadistinct;
		if (col->attlen == -1)
			bloat_stats_samples(tup, col);
		else
			col->const_width = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * Can a B-tree build deduplicate this index?  As _bt_allequalimage(): no
 * INCLUDE columns, and every key column's opclass has an equalimage
 * support function that says yes for its collation.  Cached per opclass.
 */
static bool
bloat_equalimage(BloatCatalog *cat, const BloatIndex *ix)
{
	int			i;

	if (ix->natts != ix->nkeyatts)
		return false;
	for (i = 0; i < ix->nkeyatts; i++)
	{
		BloatEqKey	key;
		BloatEqEntry *e;
		bool		found;

		memset(&key, 0, sizeof(key));
		key.opclass = ix->opclass[i];
		key.collation = ix->collation[i];
		e = hash_search(cat->equalimage, &key, HASH_ENTER, &found);
		if (!found)
		{
			Oid			opfamily = get_opclass_family(key.opclass);
			Oid			opcintype = get_opclass_input_type(key.opclass);
			Oid			proc = get_opfamily_proc(opfamily, opcintype, opcintype,
												 BTEQUALIMAGE_PROC);

			e->equalimage = OidIsValid(proc) &&
				DatumGetBool(OidFunctionCall1Coll(proc, key.collation,
												  ObjectIdGetDatum(opcintype)));
		}
		if (!e->equalimage)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * The estimates
 * ---------------------------------------------------------------------
 */

/* bytes of a relation's main fork, from its segment files; -1 if none */
static int64
bloat_main_fork_bytes(BloatRel *rel)
{
	char		path[MAXPGPATH];
	int			seg;

	if (rel->main_bytes != -2)
		return rel->main_bytes;
	pgm_relpath_perm(rel->node, MAIN_FORKNUM, path, sizeof(path));
	rel->main_bytes = -1;
	for (seg = 0;; seg++)
	{
		char		segpath[MAXPGPATH];
		struct stat st;

		if (seg == 0)
			strlcpy(segpath, path, sizeof(segpath));
		else
			snprintf(segpath, sizeof(segpath), "%s.%d", path, seg);
		if (stat(segpath, &st) != 0)
			break;
		rel->main_bytes = Max(rel->main_bytes, 0) + st.st_size;
	}
	return rel->main_bytes;
}

/*
 * Rows a table holds now.  The cumulative statistics' live tuples follow
 * DELETEs made since the last ANALYZE; reltuples does not.  But a bulk
 * load whose counts are flushed after an ANALYZE in the same session is
 * counted twice there (the ANALYZE sets the count, the late flush adds the
 * load again): so the count is capped by the density ANALYZE or VACUUM
 * saw (reltuples / relpages) over the table's current pages, which grows
 * with the table but never doubles it.
 */
static double
bloat_table_rows(BloatRel *table, PgStat_StatTabEntry *stats)
{
	double		rows;

	if (stats && (PGM_TAB_LIVE_TUPLES(stats) > 0 || table->reltuples <= 0))
		rows = (double) PGM_TAB_LIVE_TUPLES(stats);
	else
		rows = table->reltuples > 0 ? table->reltuples : 0;
	if (table->relpages > 0 && table->reltuples >= 0)
	{
		int64		bytes = bloat_main_fork_bytes(table);
		double		by_density = table->reltuples / table->relpages *
			ceil((double) Max(bytes, 0) / BLCKSZ);

		rows = Min(rows, ceil(by_density));
	}
	return rows;
}

static void
bloat_estimate_table(BloatCatalog *cat, BloatRow *row, PgStat_StatTabEntry *stats)
{
	BloatRel   *rel = row->rel;
	BloatCol  **cols = palloc0(sizeof(BloatCol *) * Max(rel->relnatts, 1));
	int			ncols = 0;
	bool		dropped = false;
	double		rows = bloat_table_rows(rel, stats);
	BloatWidth	w;
	double		per_page;
	double		avail;
	int			i;

	for (i = 1; i <= rel->relnatts; i++)
	{
		BloatCol   *c = bloat_col(cat, rel->relid, i);

		if (c && c->dropped)
		{
			dropped = true;		/* stored as null: every tuple has a bitmap */
			continue;
		}
		cols[ncols++] = c;
	}
	w = bloat_tuple_width(cols, ncols, MAXALIGN(SizeofHeapTupleHeader),
						  MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(rel->relnatts)),
						  dropped);
	row->live = (int64) rows;
	row->dead = stats ? PGM_TAB_DEAD_TUPLES(stats) : -1;
	if (!w.known && !(rows == 0 && rel->reltuples == 0))
	{
		row->expected = -1;		/* never analyzed: no made-up number */
		return;
	}
	if (rows <= 0)
	{
		row->expected = 0;
		return;
	}
	avail = BLCKSZ - SizeOfPageHeaderData - sizeof(ItemIdData) -
		BLCKSZ * (100 - rel->fillfactor) / 100;
	if (w.fixed)
		per_page = floor(avail / (w.bytes + sizeof(ItemIdData)));
	else
		per_page = avail / (w.bytes + sizeof(ItemIdData)) - 0.5;
	per_page = Min(Max(per_page, 1), MaxHeapTuplesPerPage);
	row->expected = (int64) ceil(rows / per_page) * BLCKSZ;
}

/* leaf items and their bytes when a group of n equal keys is deduplicated */
static void
bloat_posting_group(int64 n, double base, int64 cap, double *items, double *bytes)
{
	int64		full = n / cap;
	int64		rem = n % cap;

	if (cap < 2)
	{
		*items = n;
		*bytes = n * base;
		return;
	}
	*items = full + (rem > 0 ? 1 : 0);
	*bytes = full * bloat_maxalign_d(base + cap * sizeof(ItemPointerData));
	if (rem == 1)
		*bytes += base;
	else if (rem > 1)
		*bytes += bloat_maxalign_d(base + rem * sizeof(ItemPointerData));
}

/* TIDs in the largest posting list with a key of this size */
static int64
bloat_posting_cap(double base)
{
	return (int64) floor((MAXALIGN_DOWN(PGM_BT_MAX_POSTING) - base) /
						 sizeof(ItemPointerData));
}

/* the same for a group size that is an average: between its neighbours */
static void
bloat_posting_avg(double g, double base, int64 cap, double *items, double *bytes)
{
	int64		lo = (int64) floor(g);
	double		frac = g - lo;
	double		i1,
				b1,
				i2,
				b2;

	if (lo < 1)
	{
		lo = 1;
		frac = 0;
	}
	if (cap < 2)
		cap = 1;				/* no posting list fits: plain tuples */
	bloat_posting_group(lo, base, cap, &i1, &b1);
	bloat_posting_group(lo + 1, base, cap, &i2, &b2);
	*items = i1 * (1 - frac) + i2 * frac;
	*bytes = b1 * (1 - frac) + b2 * frac;
}

static void
bloat_estimate_index(BloatCatalog *cat, BloatRow *row, PgStat_StatTabEntry *stats)
{
	BloatRel   *rel = row->rel;
	BloatIndex *ix = rel->index;
	BloatRel   *table = row->table;
	BloatCol   *cols[INDEX_MAX_KEYS];
	BloatCol	merged[INDEX_MAX_KEYS];
	double		table_rows = bloat_table_rows(table, stats);
	double		rows;
	double		distinct = 1;
	bool		distinct_known = true;
	BloatWidth	w;
	double		items,
				bytes,
				size,
				extra,
				leaves;
	int			i;

	/* entries: the table's rows, or for a partial index its own count */
	if (ix->partial)
	{
		if (rel->reltuples < 0)
			rows = -1;
		else if (table->reltuples > 0)
			rows = rel->reltuples * (table_rows / table->reltuples);
		else
			rows = rel->reltuples;
	}
	else
		rows = table_rows;

	/* each column: layout from the index, statistics from where they are */
	for (i = 0; i < ix->natts; i++)
	{
		BloatCol   *layout = bloat_col(cat, rel->relid, i + 1);
		BloatCol   *stat = ix->keys[i] != 0 ?
			bloat_col(cat, ix->indrelid, ix->keys[i]) :
			bloat_col(cat, rel->relid, i + 1);

		cols[i] = NULL;
		if (layout == NULL || stat == NULL || !stat->has_stats)
			continue;
		merged[i] = *stat;
		merged[i].attlen = layout->attlen;
		merged[i].attalign = layout->attalign;

		/*
		 * ANALYZE measures an expression's value as computed, with a 4-byte
		 * varlena header; the index stores a short one when it fits.
		 */
		if (ix->keys[i] == 0 && layout->attlen == -1 &&
			stat->width - (VARHDRSZ - VARHDRSZ_SHORT) <= VARATT_SHORT_MAX)
			merged[i].width = Max(stat->width - (VARHDRSZ - VARHDRSZ_SHORT), 0);
		cols[i] = &merged[i];
		if (i < ix->nkeyatts)
		{
			double		d = stat->ndistinct;

			if (d < 0)
				d = -d * (ix->keys[i] != 0 ? table_rows : rows);
			if (d <= 0)
				distinct_known = false;
			distinct *= Max(d, 1);
		}
	}
	w = bloat_tuple_width(cols, ix->natts, MAXALIGN(sizeof(IndexTupleData)),
						  MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData)),
						  false);
	row->live = rows < 0 ? 0 : (int64) rows;
	row->dead = -1;

	/*
	 * An index of a table that ANALYZE or VACUUM found empty (reltuples 0;
	 * -1 means never analyzed) has no column statistics to estimate with,
	 * and needs none: it is a metapage.
	 */
	if (rows >= 0 && rows < 1 &&
		(ix->partial ? rel->reltuples : table->reltuples) >= 0)
	{
		row->expected = BLCKSZ;
		return;
	}
	if (!w.known || rows < 0)
	{
		row->expected = -1;
		return;
	}
	if (rows < 1)
	{
		row->expected = BLCKSZ;	/* the metapage */
		return;
	}

	/* leaf items: one per row, or posting lists when the build dedups */
	items = rows;
	bytes = rows * w.bytes;
	if (distinct_known && !ix->unique && rel->dedup_items &&
		bloat_equalimage(cat, ix))
	{
		double		base = w.bytes;
		double		nonnull = rows;
		double		nullrows = 0;
		double		gi,
					gb;

		/* one key column with nulls: the nulls are one more group */
		if (ix->nkeyatts == 1 && ix->natts == 1 && cols[0]->nullfrac > 0)
		{
			BloatCol	nn = *cols[0];
			BloatCol   *nnp = &nn;

			nn.nullfrac = 0;
			base = bloat_tuple_width(&nnp, 1, MAXALIGN(sizeof(IndexTupleData)),
									 MAXALIGN(sizeof(IndexTupleData)), false).bytes;
			nullrows = rows * cols[0]->nullfrac;
			nonnull = rows - nullrows;
			items = nonnull;
			bytes = nonnull * base;
		}
		distinct = Min(distinct, nonnull);
		if (distinct >= 1 && distinct < nonnull &&
			bloat_posting_cap(base) >= 2)
		{
			bloat_posting_avg(nonnull / distinct, base, bloat_posting_cap(base), &gi, &gb);
			items = distinct * gi;
			bytes = distinct * gb;
		}
		if (nullrows >= 1)
		{
			double		nullbase = MAXALIGN(sizeof(IndexTupleData) +
											sizeof(IndexAttributeBitMapData));

			bloat_posting_avg(nullrows, nullbase, bloat_posting_cap(nullbase), &gi, &gb);
			items += gi;
			bytes += gb;
		}
	}
	size = bytes / items;
	extra = Max(size - w.bytes, 0);
	leaves = ceil(items / pgm_bt_items_per_page(size, extra,
												  BLCKSZ * (100 - rel->fillfactor) / 100,
												  true));
	row->expected = (1 + (int64) leaves + pgm_bt_upper_pages(leaves, w.key_bytes)) *
		(int64) BLCKSZ;
}

/* ---------------------------------------------------------------------
 * Arguments, filters and output
 * ---------------------------------------------------------------------
 */

static const char *
bloat_kind_name(char relkind)
{
	switch (relkind)
	{
		case RELKIND_RELATION:
			return "table";
		case RELKIND_MATVIEW:
			return "materialized view";
		default:
			return "index";
	}
}

/* may the caller read this relation's pages (exact mode)? */
static bool
bloat_may_scan(Oid relid, Oid table_relid)
{
	Oid			caller = GetUserId();

	return has_privs_of_role(caller, ROLE_PG_STAT_SCAN_TABLES) ||
		pg_class_aclcheck(table_relid, caller, ACL_SELECT) == ACLCHECK_OK;
}

/*
 * Check relations[] and return its OIDs.  Every element must be a
 * table, materialized view or B-tree index of this session's reach.
 */
static Oid *
bloat_check_relations(ArrayType *arr, bool exact, int *count)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	Oid		   *oids;

	if (ARR_ELEMTYPE(arr) != REGCLASSOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("relations must be an array of regclass")));
	deconstruct_array(arr, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relations must not be empty"),
				 errhint("Pass NULL to report every relation.")));
	oids = palloc(sizeof(Oid) * n);
	for (i = 0; i < n; i++)
	{
		Oid			relid;
		HeapTuple	tup;
		Form_pg_class form;
		Oid			table_relid;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("relations must not contain NULL")));
		relid = DatumGetObjectId(elems[i]);
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (!HeapTupleIsValid(tup))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", relid)));
		form = (Form_pg_class) GETSTRUCT(tup);
		if (form->relkind != RELKIND_RELATION && form->relkind != RELKIND_MATVIEW &&
			!(form->relkind == RELKIND_INDEX && form->relam == BTREE_AM_OID))
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table, materialized view or B-tree index",
							NameStr(form->relname)),
					 errhint("Partitioned tables have no storage of their own: name their partitions.")));
		if (form->relpersistence == RELPERSISTENCE_TEMP)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("\"%s\" is a temporary relation", NameStr(form->relname)),
					 errhint("pgm_bloat() reports permanent and unlogged relations only.")));
		table_relid = relid;
		if (form->relkind == RELKIND_INDEX)
			table_relid = IndexGetRelation(relid, false);
		if (exact && !bloat_may_scan(relid, table_relid))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to read \"%s\"", NameStr(form->relname)),
					 errhint("The exact mode needs SELECT on the table or membership in pg_stat_scan_tables.")));
		ReleaseSysCache(tup);
		oids[i] = relid;
	}
	*count = n;
	return oids;
}

static Datum
bloat_timestamp(TimestampTz ts, bool *isnull)
{
	*isnull = (ts == 0);
	return TimestampTzGetDatum(ts);
}

static const char *
bloat_advice(const BloatRow *row, double pct)
{
	int64		bloat = row->actual - row->expected;

	if (row->expected < 0)
		return "ANALYZE first";
	if (row->rel->relkind == RELKIND_INDEX)
		return (pct >= BLOAT_ADVICE_MIN_PCT && bloat >= BLOAT_ADVICE_MIN_BYTES) ?
			"REINDEX" : NULL;
	if (row->dead >= BLOAT_VACUUM_MIN_DEAD &&
		row->dead >= BLOAT_VACUUM_DEAD_SHARE * (row->dead + row->live))
		return "VACUUM";
	if (pct >= BLOAT_ADVICE_MIN_PCT && bloat >= BLOAT_ADVICE_MIN_BYTES)
		return "VACUUM FULL or pg_repack";
	return NULL;
}

static int
bloat_cmp_rows(const void *a, const void *b)
{
	const BloatRow *ra = (const BloatRow *) a;
	const BloatRow *rb = (const BloatRow *) b;
	int64		ba = ra->expected < 0 ? 0 : Max(ra->actual - ra->expected, 0);
	int64		bb = rb->expected < 0 ? 0 : Max(rb->actual - rb->expected, 0);

	if (ba != bb)
		return ba > bb ? -1 : 1;
	if (ra->actual != rb->actual)
		return ra->actual > rb->actual ? -1 : 1;
	return strcmp(NameStr(ra->rel->relname), NameStr(rb->rel->relname));
}

static void
bloat_emit(ReturnSetInfo *rsinfo, const BloatRow *row, PgStat_StatTabEntry *stats)
{
	Datum		values[BLOAT_COLS];
	bool		nulls[BLOAT_COLS];
	double		pct = 0;
	const char *advice;
	char	   *nsp = get_namespace_name(row->rel->nspoid);

	if (nsp == NULL)
		return;					/* schema dropped meanwhile */
	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(nsp);
	values[1] = CStringGetTextDatum(NameStr(row->rel->relname));
	values[2] = CStringGetTextDatum(bloat_kind_name(row->rel->relkind));
	if (row->rel->relkind == RELKIND_INDEX)
		values[3] = CStringGetTextDatum(NameStr(row->table->relname));
	else
		nulls[3] = true;
	values[4] = Int64GetDatum(row->actual);
	if (row->expected >= 0)
	{
		int64		bloat = Max(row->actual - row->expected, 0);

		pct = row->actual > 0 ? 100.0 * bloat / row->actual : 0;
		values[5] = Int64GetDatum(row->expected);
		values[6] = Int64GetDatum(bloat);
		values[7] = DirectFunctionCall2(numeric_round,
										DirectFunctionCall1(float8_numeric, Float8GetDatum(pct)),
										Int32GetDatum(1));
	}
	else
		nulls[5] = nulls[6] = nulls[7] = true;
	values[8] = Int64GetDatum(row->live);
	values[9] = Int64GetDatum(row->dead);
	nulls[9] = row->dead < 0;
	values[10] = Int64GetDatum(row->dead_bytes);
	nulls[10] = row->dead_bytes < 0;
	values[11] = Int64GetDatum(row->free_bytes);
	nulls[11] = row->free_bytes < 0;
	if (stats)
	{
		values[12] = bloat_timestamp(PGM_TAB_LAST_VACUUM(stats), &nulls[12]);
		values[13] = bloat_timestamp(PGM_TAB_LAST_AUTOVACUUM(stats), &nulls[13]);
		values[14] = bloat_timestamp(PGM_TAB_LAST_ANALYZE(stats), &nulls[14]);
		values[15] = bloat_timestamp(PGM_TAB_LAST_AUTOANALYZE(stats), &nulls[15]);
	}
	else
		nulls[12] = nulls[13] = nulls[14] = nulls[15] = true;
	advice = bloat_advice(row, pct);
	if (advice)
		values[16] = CStringGetTextDatum(advice);
	else
		nulls[16] = true;
	values[17] = CStringGetTextDatum(row->exact ? "exact" : "estimate");
	values[18] = ObjectIdGetDatum(row->rel->relid);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
pgm_bloat(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *schema_pattern = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	int64		min_bytes = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	bool		exact;
	Oid		   *wanted = NULL;
	int			nwanted = 0;
	bool		see_all;
	Oid			own_nspoid;
	BloatCatalog cat;
	HASH_SEQ_STATUS seq;
	BloatRel   *rel;
	BloatRow   *rows;
	int			nrows = 0;
	int			i;

	if (min_bytes < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_bytes must not be negative"),
				 errhint("Pass 0 to report every relation.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("exact must not be null"),
				 errhint("Pass false for the estimate, true to read the pages.")));
	exact = PG_GETARG_BOOL(2);
	if (!PG_ARGISNULL(3))
		wanted = bloat_check_relations(PG_GETARG_ARRAYTYPE_P(3), exact, &nwanted);

	InitMaterializedSRF(fcinfo, 0);
	see_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	own_nspoid = get_namespace_oid(PGM_SCHEMA, true);
	bloat_read_catalogs(&cat);

	/* relations[]: the named relations, and the indexes of named tables */
	for (i = 0; i < nwanted; i++)
	{
		rel = hash_search(cat.rels, &wanted[i], HASH_FIND, NULL);
		if (rel)
			rel->wanted = true;
	}
	if (nwanted > 0)
	{
		hash_seq_init(&seq, cat.rels);
		while ((rel = hash_seq_search(&seq)) != NULL)
		{
			BloatRel   *table;

			if (rel->index == NULL || rel->wanted)
				continue;
			table = hash_search(cat.rels, &rel->index->indrelid, HASH_FIND, NULL);
			if (table && table->wanted && table->relkind != RELKIND_INDEX)
			{
				int			j;

				for (j = 0; j < nwanted; j++)
					if (wanted[j] == table->relid)
						rel->wanted = true;
			}
		}
	}

	rows = palloc0(sizeof(BloatRow) * (hash_get_num_entries(cat.rels) + 1));
	hash_seq_init(&seq, cat.rels);
	while ((rel = hash_seq_search(&seq)) != NULL)
	{
		BloatRow   *row;
		BloatRel   *table = rel;
		char	   *nspname;

		CHECK_FOR_INTERRUPTS();
		if (rel->persistence == RELPERSISTENCE_TEMP)
			continue;
		if (rel->relkind == RELKIND_INDEX)
		{
			if (rel->index == NULL)
				continue;		/* invalid, or not in pg_index any more */
			table = hash_search(cat.rels, &rel->index->indrelid, HASH_FIND, NULL);
			if (table == NULL || table->relkind == RELKIND_INDEX)
				continue;		/* an index of a TOAST table or partitioned table */
		}
		if (nwanted > 0 && !rel->wanted)
			continue;
		nspname = get_namespace_name(rel->nspoid);
		if (nspname == NULL)
			continue;
		/* system schemas and pgmanage's own: only when named */
		if (schema_pattern == NULL && nwanted == 0 &&
			(IsCatalogNamespace(rel->nspoid) || IsToastNamespace(rel->nspoid) ||
			 rel->nspoid == own_nspoid ||
			 strcmp(nspname, "information_schema") == 0))
			continue;
		if (schema_pattern &&
			!DatumGetBool(DirectFunctionCall2Coll(textlike, C_COLLATION_OID,
												  CStringGetTextDatum(nspname),
												  PointerGetDatum(schema_pattern))))
			continue;
		if (!see_all &&
			pg_class_aclcheck(table->relid, GetUserId(),
							  ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE |
							  ACL_TRUNCATE | ACL_REFERENCES | ACL_TRIGGER) != ACLCHECK_OK)
			continue;

		row = &rows[nrows];
		row->rel = rel;
		row->table = table;
		row->dead_bytes = -1;
		row->free_bytes = -1;
		row->actual = bloat_main_fork_bytes(rel);
		if (row->actual < 0 || row->actual < min_bytes)
			continue;			/* no file (dropped meanwhile), or too small */
		nrows++;
	}

	for (i = 0; i < nrows; i++)
	{
		BloatRow   *row = &rows[i];
		PgStat_StatTabEntry *stats = pgstat_fetch_stat_tabentry(row->table->relid);

		CHECK_FOR_INTERRUPTS();
		if (exact && bloat_may_scan(row->rel->relid, row->table->relid))
		{
			PgmExactResult res;

			if (row->rel->relkind == RELKIND_INDEX)
				pgm_bloat_exact_btree(row->rel->relid, &res);
			else
				pgm_bloat_exact_heap(row->rel->relid, &res);
			row->exact = true;
			row->actual = res.actual_bytes;
			row->expected = res.expected_bytes;
			row->live = res.live_tuples;
			row->dead = res.dead_tuples;
			row->dead_bytes = res.dead_bytes;
			row->free_bytes = res.free_bytes;
		}
		else if (row->rel->relkind == RELKIND_INDEX)
			bloat_estimate_index(&cat, row, stats);
		else
			bloat_estimate_table(&cat, row, stats);
	}

	qsort(rows, nrows, sizeof(BloatRow), bloat_cmp_rows);
	for (i = 0; i < nrows; i++)
		bloat_emit(rsinfo, &rows[i],
				   pgstat_fetch_stat_tabentry(rows[i].table->relid));
	return (Datum) 0;
}
