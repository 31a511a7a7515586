/*-------------------------------------------------------------------------
 * reports/bloat_pack.c
 *		The page-packing model of pgm_bloat(): how many pages a freshly
 *		packed copy of a heap or a B-tree index would need, given the
 *		sizes of its tuples.  Both modes use it: the estimate (bloat.c)
 *		with sizes predicted from statistics, the exact mode
 *		(bloat_exact.c) with the sizes read from the pages.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/itup.h"
#include "access/nbtree.h"
#include "storage/bufpage.h"

#include "reports/reports.h"

/* ---------------------------------------------------------------------
 * The packing model
 * ---------------------------------------------------------------------
 */

/* bytes free on an empty B-tree page, as PageGetFreeSpace reports them
 * once nbtsort.c has reserved the high key's line pointer */
#define BLOAT_BT_EMPTY_SPACE \
	(BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(BTPageOpaqueData)) - \
	 2 * sizeof(ItemIdData))

void
pgm_heap_pack_init(PgmHeapPacker *p, int fillfactor)
{
	p->save_space = BLCKSZ * (100 - fillfactor) / 100;
	p->pages = 0;
	p->page_free = 0;
	p->page_items = 0;
}

/*
 * Place one tuple as a bulk INSERT into a new table does (hio.c): on the
 * current page if the page's free space, less one line pointer, still
 * holds the tuple plus what fillfactor reserves; otherwise on a new page.
 */
void
pgm_heap_pack_add(PgmHeapPacker *p, Size tuple_len)
{
	int			size = MAXALIGN(tuple_len);

	if (p->pages > 0)
	{
		int			avail = 0;

		if (p->page_items < MaxHeapTuplesPerPage &&
			p->page_free >= (int) sizeof(ItemIdData))
			avail = p->page_free - sizeof(ItemIdData);
		if (avail >= size + p->save_space)
		{
			p->page_free -= size + sizeof(ItemIdData);
			p->page_items++;
			return;
		}
	}
	p->pages++;
	p->page_free = BLCKSZ - SizeOfPageHeaderData - size - sizeof(ItemIdData);
	p->page_items = 1;
}

void
pgm_btree_pack_init(PgmBtreePacker *p, int fillfactor)
{
	memset(p, 0, sizeof(*p));
	p->leaf_full = BLCKSZ * (100 - fillfactor) / 100;
}

/*
 * Add one leaf item as _bt_buildadd() does: the page is finished when the
 * item would not fit (with room for a heap TID in the high key), or when
 * the free space (plus what truncating the last item would give back) is
 * below the fillfactor target and the page has two items.  The last item
 * then moves to the new page and a copy of its key becomes the high key.
 */
void
pgm_btree_pack_add(PgmBtreePacker *p, Size size, Size extra, Size base)
{
	p->items++;
	if (p->page_items >= 1 &&
		(p->page_space < size + MAXALIGN(sizeof(ItemPointerData)) ||
		 (p->page_space + p->last_extra < p->leaf_full && p->page_items >= 2)))
	{
		p->leaf_pages++;
		p->hikey_bytes += p->last_base;
		p->page_space = BLOAT_BT_EMPTY_SPACE - (p->last_size + sizeof(ItemIdData));
		p->page_items = 1;
	}
	else if (p->page_items == 0)
		p->page_space = BLOAT_BT_EMPTY_SPACE;
	p->page_space -= size + sizeof(ItemIdData);
	p->page_items++;
	p->last_size = size;
	p->last_extra = extra;
	p->last_base = base;
}

/*
 * Items one B-tree page keeps when built from items of one size: what it
 * takes before the split rule fires, less the one that moves right.
 */
double
pgm_bt_items_per_page(double size, double extra, int full_target, bool leaf)
{
	double		space = BLOAT_BT_EMPTY_SPACE;
	int			n = 0;

	for (;;)
	{
		if (n >= 1 &&
			(space < size + (leaf ? MAXALIGN(sizeof(ItemPointerData)) : 0) ||
			 (space + extra < full_target && n >= 2)))
			break;
		if (n >= (int) MaxIndexTuplesPerPage)
			break;
		space -= size + sizeof(ItemIdData);
		n++;
	}
	return Max(n - 1, 1);
}

/* pages above the leaves: pivots fill upper pages to 70 % */
int64
pgm_bt_upper_pages(double children, double pivot_size)
{
	int			full = BLCKSZ * (100 - BTREE_NONLEAF_FILLFACTOR) / 100;
	double		per = pgm_bt_items_per_page(MAXALIGN((Size) ceil(pivot_size)), 0,
											  full, false);
	int64		total = 0;

	while (children > 1)
	{
		double		pages = ceil(children / per);

		total += (int64) pages;
		children = pages;
	}
	return total;
}

/* the pages of the index the packer has seen built: metapage, leaves, upper */
int64
pgm_btree_pack_finish(PgmBtreePacker *p)
{
	int64		leaves = p->leaf_pages + (p->page_items > 0 ? 1 : 0);
	double		pivot;

	if (p->items == 0)
		return 1;				/* an empty index is its metapage */
	pivot = p->leaf_pages > 0 ? p->hikey_bytes / p->leaf_pages : 0;
	return 1 + leaves + pgm_bt_upper_pages((double) leaves, pivot);
}

