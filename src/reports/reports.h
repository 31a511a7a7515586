/*-------------------------------------------------------------------------
 * reports/reports.h
 *		The reports: pgm_size_report, pgm_database_sizes, pgm_disk_usage,
 *		pgm_bloat (estimate, exact, and the packing model they share).
 *		Read-only functions for psql and pgAdmin; they work without
 *		preloading and start no process.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_REPORTS_H
#define PGM_REPORTS_H

#include "storage/itemid.h"

#include "core/core.h"

/*
 * bloat_pack.c: the page-packing model of pgm_bloat(), shared by bloat.c and
 * bloat_exact.c.
 * Both modes predict the size of a freshly packed copy with the same
 * arithmetic; only where the tuple sizes come from differs (statistics or
 * the pages themselves).
 */
/* the largest posting list nbtsort.c builds: 1/10 of a page, see there */
#define PGM_BT_MAX_POSTING	(MAXALIGN_DOWN(BLCKSZ * 10 / 100) - sizeof(ItemIdData))

typedef struct PgmHeapPacker
{
	int			save_space;		/* bytes fillfactor keeps free per page */
	int64		pages;			/* pages finished or started */
	int			page_free;		/* pd_upper - pd_lower of the current page */
	int			page_items;		/* line pointers on the current page */
} PgmHeapPacker;

typedef struct PgmBtreePacker
{
	int			leaf_full;		/* leaf fillfactor as free-space target */
	int64		leaf_pages;
	double		page_space;		/* PageGetFreeSpace of the current leaf */
	int			page_items;
	Size		last_size;		/* last item added: moves right on a split */
	Size		last_extra;		/* its posting-list bytes (truncated away) */
	Size		last_base;		/* its key-only size: the future high key */
	double		hikey_bytes;	/* sum of leaf high keys (the pivots above) */
	int64		items;
} PgmBtreePacker;

extern void pgm_heap_pack_init(PgmHeapPacker *p, int fillfactor);
extern void pgm_heap_pack_add(PgmHeapPacker *p, Size tuple_len);
extern void pgm_btree_pack_init(PgmBtreePacker *p, int fillfactor);
extern void pgm_btree_pack_add(PgmBtreePacker *p, Size size, Size extra, Size base);
extern int64 pgm_btree_pack_finish(PgmBtreePacker *p);
extern double pgm_bt_items_per_page(double size, double extra, int full_target, bool leaf);
extern int64 pgm_bt_upper_pages(double children, double pivot_size);

/* bloat_exact.c: pgm_bloat(exact => true), reading the pages */
typedef struct PgmExactResult
{
	int64		actual_bytes;
	int64		expected_bytes;
	int64		live_tuples;	/* heap: live rows; index: live entries */
	int64		dead_tuples;	/* heap: dead rows; index: LP_DEAD items */
	int64		dead_bytes;
	int64		free_bytes;
} PgmExactResult;

extern void pgm_bloat_exact_heap(Oid relid, PgmExactResult *out);
extern void pgm_bloat_exact_btree(Oid indexrelid, PgmExactResult *out);

#endif							/* PGM_REPORTS_H */
