/*-------------------------------------------------------------------------
 * reports/bloat_exact.c
 *		pgm_bloat(exact => true): read a relation's pages and measure what a
 *		freshly packed copy would need, as pgstattuple reads them.
 *
 * Heap: every block is read through a BAS_BULKREAD ring (so the scan does
 * not push the working set out of shared buffers) under a share content
 * lock; each tuple is classified with HeapTupleSatisfiesVacuum against
 * the oldest non-removable xid.  Live tuples (and those whose insert or
 * delete is still in progress: a copy made now would keep them) are fed,
 * in physical order, to the heap packer of bloat.c, which places them as
 * a bulk INSERT into a new table with the same fillfactor would.
 *
 * B-tree: the heap is scanned as above to collect the TIDs of live tuples
 * (the root of a HOT chain, which is what the index points to); the leaf
 * level is then walked left to right, and every index entry whose heap TID
 * is live is fed, in key order, to a model of the index build: equal keys
 * are merged into posting lists as nbtsort.c does when the index can be
 * deduplicated, and the items are packed into leaves at the index's
 * fillfactor, upper pages at 70 %.
 *
 * Locking: ACCESS SHARE on the relation (and, for an index, its table),
 * buffer share locks one page at a time.  CHECK_FOR_INTERRUPTS between
 * pages.  Memory: the live-TID array is the only allocation that grows
 * with the relation (6 bytes per live row), freed before returning.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "reports/reports.h"

/* live heap TIDs, sorted, for the index walk */
typedef struct ExactTids
{
	ItemPointerData *tids;
	int64		count;
	int64		alloc;
} ExactTids;

/* the build model's pending posting list */
typedef struct ExactDedup
{
	bool		enabled;
	int			nhtids;			/* 0: nothing pending */
	Size		base;			/* key-only tuple size */
	bool		hasnulls;
	char		key[BLCKSZ];	/* bytes after IndexTupleData, up to base */
} ExactDedup;

static void
exact_add_tid(ExactTids *t, BlockNumber blk, OffsetNumber off)
{
	if (t->count >= t->alloc)
	{
		t->alloc = Max(t->alloc * 2, 1024);
		if (t->tids == NULL)
			t->tids = MemoryContextAllocHuge(CurrentMemoryContext,
											 t->alloc * sizeof(ItemPointerData));
		else
			t->tids = repalloc_huge(t->tids, t->alloc * sizeof(ItemPointerData));
	}
	ItemPointerSet(&t->tids[t->count], blk, off);
	t->count++;
}

static int
exact_cmp_tid(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * Read every block of a heap; count, measure and pack its live tuples.
 * When tids is given, also collect the TIDs an index would point to.
 */
static void
exact_scan_heap(Relation rel, PgmExactResult *out, ExactTids *tids)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	TransactionId oldest_xmin = GetOldestNonRemovableTransactionId(rel);
	PgmHeapPacker packer;
	OffsetNumber roots[MaxHeapTuplesPerPage];
	BlockNumber blk;

	memset(out, 0, sizeof(*out));
	pgm_heap_pack_init(&packer, RelationGetFillFactor(rel, HEAP_DEFAULT_FILLFACTOR));
	out->actual_bytes = (int64) nblocks * BLCKSZ;

	for (blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off,
					maxoff;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			out->free_bytes += BLCKSZ - SizeOfPageHeaderData;
			UnlockReleaseBuffer(buf);
			continue;
		}
		out->free_bytes += PageGetHeapFreeSpace(page);
		if (tids)
			heap_get_root_tuples(page, roots);
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			ItemId		itemid = PageGetItemId(page, off);
			HeapTupleData tuple;

			if (!ItemIdIsNormal(itemid))
				continue;
			tuple.t_data = (HeapTupleHeader) PageGetItem(page, itemid);
			tuple.t_len = ItemIdGetLength(itemid);
			tuple.t_tableOid = RelationGetRelid(rel);
			ItemPointerSet(&tuple.t_self, blk, off);
			switch (HeapTupleSatisfiesVacuum(&tuple, oldest_xmin, buf))
			{
				case HEAPTUPLE_LIVE:
				case HEAPTUPLE_INSERT_IN_PROGRESS:
				case HEAPTUPLE_DELETE_IN_PROGRESS:
					out->live_tuples++;
					pgm_heap_pack_add(&packer, tuple.t_len);
					if (tids)
						exact_add_tid(tids, blk,
									  OffsetNumberIsValid(roots[off - 1]) ? roots[off - 1] : off);
					break;
				case HEAPTUPLE_DEAD:
				case HEAPTUPLE_RECENTLY_DEAD:
					out->dead_tuples++;
					out->dead_bytes += tuple.t_len;
					break;
			}
		}
		UnlockReleaseBuffer(buf);
	}
	FreeAccessStrategy(strategy);
	out->expected_bytes = packer.pages * BLCKSZ;
}

void
pgm_bloat_exact_heap(Oid relid, PgmExactResult *out)
{
	Relation	rel = table_open(relid, AccessShareLock);

	exact_scan_heap(rel, out, NULL);
	table_close(rel, AccessShareLock);
}

/* hand the pending posting list (or plain tuple) to the leaf packer */
static void
exact_dedup_flush(ExactDedup *d, PgmBtreePacker *packer)
{
	Size		size;

	if (d->nhtids == 0)
		return;
	size = d->nhtids == 1 ? d->base :
		MAXALIGN(d->base + d->nhtids * sizeof(ItemPointerData));
	pgm_btree_pack_add(packer, size, size - d->base, d->base);
	d->nhtids = 0;
}

/*
 * One live index entry, in key order, as the build would see it: merged
 * into the pending posting list when its key is byte-for-byte the same
 * (what deduplication requires of an "equalimage" index) and the list
 * stays under the build's size limit.
 */
static void
exact_dedup_add(ExactDedup *d, PgmBtreePacker *packer, IndexTuple itup, Size base)
{
	bool		hasnulls = IndexTupleHasNulls(itup);
	Size		keylen = base - sizeof(IndexTupleData);

	if (!d->enabled)
	{
		pgm_btree_pack_add(packer, base, 0, base);
		return;
	}
	if (d->nhtids > 0 && d->base == base && d->hasnulls == hasnulls &&
		memcmp(d->key, (char *) itup + sizeof(IndexTupleData), keylen) == 0 &&
		MAXALIGN(base + (d->nhtids + 1) * sizeof(ItemPointerData)) <= PGM_BT_MAX_POSTING)
	{
		d->nhtids++;
		return;
	}
	exact_dedup_flush(d, packer);
	d->base = base;
	d->hasnulls = hasnulls;
	memcpy(d->key, (char *) itup + sizeof(IndexTupleData), keylen);
	d->nhtids = 1;
}

/* the leftmost leaf: follow the first downlink from the root */
static BlockNumber
exact_leftmost_leaf(Relation irel, BufferAccessStrategy strategy)
{
	Buffer		buf;
	Page		page;
	BTMetaPageData *meta;
	BlockNumber blk;

	buf = ReadBufferExtended(irel, MAIN_FORKNUM, BTREE_METAPAGE, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	meta = BTPageGetMeta(page);
	blk = meta->btm_root;
	UnlockReleaseBuffer(buf);

	while (blk != P_NONE)
	{
		BTPageOpaque opaque;
		BlockNumber child;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(irel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		opaque = BTPageGetOpaque(page);
		if (P_ISLEAF(opaque) || P_IGNORE(opaque) ||
			PageGetMaxOffsetNumber(page) < P_FIRSTDATAKEY(opaque))
		{
			UnlockReleaseBuffer(buf);
			return blk;
		}
		child = BTreeTupleGetDownLink((IndexTuple)
									  PageGetItem(page, PageGetItemId(page, P_FIRSTDATAKEY(opaque))));
		UnlockReleaseBuffer(buf);
		blk = child;
	}
	return P_NONE;
}

void
pgm_bloat_exact_btree(Oid indexrelid, PgmExactResult *out)
{
	Oid			heapid = IndexGetRelation(indexrelid, false);
	Relation	heap = table_open(heapid, AccessShareLock);
	Relation	irel = index_open(indexrelid, AccessShareLock);
	PgmExactResult heapres;
	ExactTids	tids = {0};
	ExactDedup *dedup = palloc0(sizeof(ExactDedup));
	PgmBtreePacker packer;
	BufferAccessStrategy strategy;
	BlockNumber blk;

	if (irel->rd_rel->relam != BTREE_AM_OID)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a B-tree index", RelationGetRelationName(irel))));

	exact_scan_heap(heap, &heapres, &tids);
	if (tids.count > 1)
		qsort(tids.tids, tids.count, sizeof(ItemPointerData), exact_cmp_tid);

	memset(out, 0, sizeof(*out));
	out->actual_bytes = (int64) RelationGetNumberOfBlocks(irel) * BLCKSZ;
	dedup->enabled = !irel->rd_index->indisunique && BTGetDeduplicateItems(irel) &&
		_bt_allequalimage(irel, false);
	pgm_btree_pack_init(&packer, BTGetFillFactor(irel));
	strategy = GetAccessStrategy(BAS_BULKREAD);

	blk = out->actual_bytes > 0 ? exact_leftmost_leaf(irel, strategy) : P_NONE;
	while (blk != P_NONE)
	{
		Buffer		buf;
		Page		page;
		BTPageOpaque opaque;
		OffsetNumber off,
					maxoff;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(irel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		opaque = BTPageGetOpaque(page);
		if (!P_IGNORE(opaque))
		{
			out->free_bytes += PageGetFreeSpace(page);
			maxoff = PageGetMaxOffsetNumber(page);
			for (off = P_FIRSTDATAKEY(opaque); off <= maxoff; off = OffsetNumberNext(off))
			{
				ItemId		iid = PageGetItemId(page, off);
				IndexTuple	itup = (IndexTuple) PageGetItem(page, iid);
				bool		posting = BTreeTupleIsPosting(itup);
				int			n = posting ? BTreeTupleGetNPosting(itup) : 1;
				Size		base = posting ? BTreeTupleGetPostingOffset(itup) : IndexTupleSize(itup);
				int			j;

				if (ItemIdIsDead(iid))
				{
					out->dead_tuples += n;
					out->dead_bytes += ItemIdGetLength(iid);
					continue;
				}
				for (j = 0; j < n; j++)
				{
					ItemPointer tid = posting ? BTreeTupleGetPostingN(itup, j) : &itup->t_tid;

					if (tids.count > 0 &&
						bsearch(tid, tids.tids, tids.count, sizeof(ItemPointerData),
								exact_cmp_tid) != NULL)
					{
						out->live_tuples++;
						exact_dedup_add(dedup, &packer, itup, base);
					}
					else
					{
						out->dead_tuples++;
						out->dead_bytes += posting ? sizeof(ItemPointerData) : IndexTupleSize(itup);
					}
				}
			}
		}
		blk = opaque->btpo_next;
		UnlockReleaseBuffer(buf);
	}
	exact_dedup_flush(dedup, &packer);
	FreeAccessStrategy(strategy);
	out->expected_bytes = pgm_btree_pack_finish(&packer) * BLCKSZ;

	if (tids.tids)
		pfree(tids.tids);
	pfree(dedup);
	index_close(irel, AccessShareLock);
	table_close(heap, AccessShareLock);
}
