/*-------------------------------------------------------------------------
 * reports/size_report.c
 *		pgm_size_report(): the size of every table, materialized view and
 *		(optionally) index of the current database, largest first.
 *
 * Sizes come from the files, not from relation_open(): the database's
 * directories are listed once (base/<db> and each tablespace's), each file
 * is stat()ed once, and the bytes are attributed to relations through one
 * scan of pg_class and one of pg_index.  No relation lock is taken, so a
 * table held ACCESS EXCLUSIVE (VACUUM FULL, ALTER TABLE, CLUSTER) is still
 * reported, flagged in the note column; a relation dropped while the
 * report runs has no files left and is skipped.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_tablespace.h"
#include "common/relpath.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/relmapper.h"

#include "core/compat.h"
#include "reports/reports.h"

PG_FUNCTION_INFO_V1(pgm_size_report);

#define SIZE_REPORT_COLS 12

/* bytes found on disk for one relfilenode (all forks and segments) */
typedef struct FileBytesKey
{
	Oid			spcoid;
	Oid			relfilenode;
	bool		temp;
} FileBytesKey;

typedef struct FileBytes
{
	FileBytesKey key;
	int64		bytes;
} FileBytes;

/* one pg_class row that has storage or may own some */
typedef struct RelEntry
{
	Oid			relid;			/* hash key */
	Oid			nspoid;
	NameData	relname;
	char		relkind;
	bool		has_files;		/* at least one file was found */
	int64		own_bytes;		/* the relation's own forks */
	int64		index_bytes;	/* its indexes (tables only) */
	int64		toast_bytes;	/* its TOAST table and TOAST index */
	Oid			toastrelid;
	float4		reltuples;
	bool		locked;			/* another holds ACCESS EXCLUSIVE on it */
	int			locked_by;		/* its pid; 0 for a prepared transaction */
	char	   *nspname;		/* looked up once, when filtering */
} RelEntry;

/*
 * Parse a relation file name: "<relfilenode>[_<fork>][.<segment>]" or, for
 * temporary relations, "t<backend>_<relfilenode>...".  Returns false for
 * anything else (PG_VERSION, pg_filenode.map, pg_internal.init, ...).
 */
static bool
size_parse_filename(const char *name, Oid *relfilenode, bool *temp)
{
	const char *p = name;
	unsigned long node;
	char	   *end;

	*temp = false;
	if (*p == 't')
	{
		p++;
		if (!isdigit((unsigned char) *p))
			return false;
		while (isdigit((unsigned char) *p))
			p++;
		if (*p++ != '_')
			return false;
		*temp = true;
	}
	if (!isdigit((unsigned char) *p))
		return false;
	errno = 0;
	node = strtoul(p, &end, 10);
	if (errno != 0 || node == 0 || node > PG_UINT32_MAX)
		return false;
	if (*end != '\0' && *end != '_' && *end != '.')
		return false;
	*relfilenode = (Oid) node;
	return true;
}

/*
 * List one database directory and add every relation file's size to the
 * hash.  Files that vanish between readdir() and stat() are skipped.
 * Returns the total bytes of all files in the directory (as
 * pg_database_size counts them).
 */
static int64
size_scan_directory(const char *dirpath, Oid spcoid, HTAB *files)
{
	DIR		   *dir;
	struct dirent *de;
	int64		total = 0;

	dir = AllocateDir(dirpath);
	if (dir == NULL)
		return 0;				/* no such directory: nothing of ours there */
	while ((de = ReadDirExtended(dir, dirpath, DEBUG1)) != NULL)
	{
		char		path[MAXPGPATH];
		struct stat st;
		FileBytesKey key;
		FileBytes  *entry;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		total += st.st_size;

		memset(&key, 0, sizeof(key));
		key.spcoid = spcoid;
		if (!size_parse_filename(de->d_name, &key.relfilenode, &key.temp))
			continue;
		entry = hash_search(files, &key, HASH_ENTER, &found);
		if (!found)
			entry->bytes = 0;
		entry->bytes += st.st_size;
	}
	FreeDir(dir);
	return total;
}

/*
 * Scan the current database's directories in every tablespace.
 */
static int64
size_scan_database(HTAB *files)
{
	int64		total;
	char	   *path;
	DIR		   *dir;
	struct dirent *de;

	path = GetDatabasePath(MyDatabaseId, DEFAULTTABLESPACE_OID);
	total = size_scan_directory(path, DEFAULTTABLESPACE_OID, files);
	pfree(path);

	dir = AllocateDir("pg_tblspc");
	if (dir == NULL)
		return total;
	while ((de = ReadDirExtended(dir, "pg_tblspc", DEBUG1)) != NULL)
	{
		Oid			spcoid;
		char	   *end;

		CHECK_FOR_INTERRUPTS();
		spcoid = (Oid) strtoul(de->d_name, &end, 10);
		if (*end != '\0' || !OidIsValid(spcoid))
			continue;
		path = GetDatabasePath(MyDatabaseId, spcoid);
		total += size_scan_directory(path, spcoid, files);
		pfree(path);
	}
	FreeDir(dir);
	return total;
}

/*
 * Mark relations of this database on which another session or a prepared
 * transaction holds ACCESS EXCLUSIVE, from one snapshot of the lock table
 * (what pg_locks shows).
 */
static void
size_mark_locked(HTAB *rels)
{
	LockData   *locks = GetLockStatusData();
	int			i;

	for (i = 0; i < locks->nelements; i++)
	{
		LockInstanceData *inst = &locks->locks[i];
		RelEntry   *rel;

		if (inst->locktag.locktag_type != LOCKTAG_RELATION ||
			inst->locktag.locktag_field1 != MyDatabaseId ||
			!(inst->holdMask & LOCKBIT_ON(AccessExclusiveLock)) ||
			inst->pid == MyProcPid)
			continue;
		rel = hash_search(rels, &inst->locktag.locktag_field2, HASH_FIND, NULL);
		if (rel)
		{
			rel->locked = true;
			rel->locked_by = inst->pid;
		}
	}
}

static const char *
size_kind_name(char relkind)
{
	switch (relkind)
	{
		case RELKIND_RELATION:
			return "table";
		case RELKIND_MATVIEW:
			return "materialized view";
		case RELKIND_INDEX:
			return "index";
		default:
			return "other";
	}
}

static int
size_cmp_desc(const void *a, const void *b)
{
	const RelEntry *ra = *(RelEntry *const *) a;
	const RelEntry *rb = *(RelEntry *const *) b;
	int64		ta = ra->own_bytes + ra->index_bytes + ra->toast_bytes;
	int64		tb = rb->own_bytes + rb->index_bytes + rb->toast_bytes;

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return strcmp(NameStr(ra->relname), NameStr(rb->relname));
}

Datum
pgm_size_report(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *schema_pattern = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	int64		min_bytes = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	bool		include_indexes = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	bool		include_system = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	/* pgmanage's own tables count as system ones: left out unless asked */
	Oid			own_nspoid = get_namespace_oid(PGM_SCHEMA, true);
	Oid			caller = GetUserId();
	bool		see_all;
	HASHCTL		ctl;
	HTAB	   *files;
	HTAB	   *rels;
	HTAB	   *toast_owner;
	int64		db_bytes;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	HASH_SEQ_STATUS seq;
	RelEntry   *entry;
	RelEntry  **sorted;
	int			nsorted = 0;
	int			i;

	if (min_bytes < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_bytes must not be negative"),
				 errhint("Pass 0 to report every relation.")));

	InitMaterializedSRF(fcinfo, 0);
	see_all = has_privs_of_role(caller, ROLE_PG_READ_ALL_STATS);

	/* 1. bytes per relfilenode, from the files */
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(FileBytesKey);
	ctl.entrysize = sizeof(FileBytes);
	ctl.hcxt = CurrentMemoryContext;
	files = hash_create("pgmanage size files", 4096, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	db_bytes = size_scan_database(files);

	/* 2. relations, from one scan of pg_class */
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(RelEntry);
	ctl.hcxt = CurrentMemoryContext;
	rels = hash_create("pgmanage size relations", 4096, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = 2 * sizeof(Oid);	/* toast relid -> owning table */
	ctl.hcxt = CurrentMemoryContext;
	toast_owner = hash_create("pgmanage size toast", 1024, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	rel = table_open(RelationRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);
		FileBytesKey key;
		FileBytes  *fb;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		if (!RELKIND_HAS_STORAGE(form->relkind) || form->relisshared)
			continue;
		memset(&key, 0, sizeof(key));
		key.spcoid = OidIsValid(form->reltablespace) ? form->reltablespace : MyDatabaseTableSpace;
		key.relfilenode = OidIsValid(form->relfilenode) ? form->relfilenode
			: pgm_relation_map_filenumber(form->oid, false);
		key.temp = (form->relpersistence == RELPERSISTENCE_TEMP);
		fb = hash_search(files, &key, HASH_FIND, NULL);

		entry = hash_search(rels, &form->oid, HASH_ENTER, &found);
		entry->nspoid = form->relnamespace;
		entry->relname = form->relname;
		entry->relkind = form->relkind;
		entry->has_files = (fb != NULL);
		entry->own_bytes = fb ? fb->bytes : 0;
		entry->index_bytes = 0;
		entry->toast_bytes = 0;
		entry->toastrelid = form->reltoastrelid;
		entry->reltuples = form->reltuples;
		entry->locked = false;
		entry->locked_by = 0;
		if (OidIsValid(form->reltoastrelid))
		{
			Oid		   *owner = hash_search(toast_owner, &form->reltoastrelid, HASH_ENTER, NULL);

			owner[1] = form->oid;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* 3. indexes to their tables, TOAST indexes to the TOAST's owner */
	rel = table_open(IndexRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_index form = (Form_pg_index) GETSTRUCT(tup);
		RelEntry   *index = hash_search(rels, &form->indexrelid, HASH_FIND, NULL);
		RelEntry   *table;
		Oid		   *owner;

		CHECK_FOR_INTERRUPTS();
		if (index == NULL)
			continue;
		owner = hash_search(toast_owner, &form->indrelid, HASH_FIND, NULL);
		if (owner)
		{
			table = hash_search(rels, &owner[1], HASH_FIND, NULL);
			if (table)
				table->toast_bytes += index->own_bytes;
		}
		else
		{
			table = hash_search(rels, &form->indrelid, HASH_FIND, NULL);
			if (table)
				table->index_bytes += index->own_bytes;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* TOAST heaps to their owners */
	hash_seq_init(&seq, rels);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (OidIsValid(entry->toastrelid))
		{
			RelEntry   *toast = hash_search(rels, &entry->toastrelid, HASH_FIND, NULL);

			if (toast)
				entry->toast_bytes += toast->own_bytes;
		}
	}

	size_mark_locked(rels);

	/* 4. filter, sort, emit */
	sorted = palloc(sizeof(RelEntry *) * (hash_get_num_entries(rels) + 1));
	hash_seq_init(&seq, rels);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		char	   *nspname;

		CHECK_FOR_INTERRUPTS();
		if (entry->relkind != RELKIND_RELATION && entry->relkind != RELKIND_MATVIEW &&
			!(include_indexes && entry->relkind == RELKIND_INDEX))
			continue;
		if (!entry->has_files)
			continue;			/* dropped while we looked */
		if (entry->own_bytes + entry->index_bytes + entry->toast_bytes < min_bytes)
			continue;
		if (!include_system && (IsCatalogNamespace(entry->nspoid) ||
								IsToastNamespace(entry->nspoid) ||
								entry->nspoid == own_nspoid))
			continue;
		nspname = get_namespace_name(entry->nspoid);
		if (nspname == NULL)
			continue;			/* schema dropped meanwhile */
		if (!include_system && strcmp(nspname, "information_schema") == 0)
			continue;
		entry->nspname = nspname;
		if (schema_pattern &&
			!DatumGetBool(DirectFunctionCall2Coll(textlike, C_COLLATION_OID,
												  CStringGetTextDatum(nspname),
												  PointerGetDatum(schema_pattern))))
			continue;
		if (!see_all)
		{
			bool		is_missing = false;

			/*
			 * The catalog snapshot may have moved on since the pg_class scan
			 * (opening pg_index accepts invalidations): a relation dropped
			 * meanwhile is skipped here rather than raising 42P01.
			 */
			if (pg_class_aclcheck_ext(entry->relid, caller,
									  ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE |
									  ACL_TRUNCATE | ACL_REFERENCES | ACL_TRIGGER,
									  &is_missing) != ACLCHECK_OK || is_missing)
				continue;
		}
		sorted[nsorted++] = entry;
	}
	qsort(sorted, nsorted, sizeof(RelEntry *), size_cmp_desc);

	for (i = 0; i < nsorted; i++)
	{
		Datum		values[SIZE_REPORT_COLS];
		bool		nulls[SIZE_REPORT_COLS];
		int64		total;

		entry = sorted[i];
		total = entry->own_bytes + entry->index_bytes + entry->toast_bytes;
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(entry->nspname);
		values[1] = CStringGetTextDatum(NameStr(entry->relname));
		values[2] = CStringGetTextDatum(size_kind_name(entry->relkind));
		values[3] = Int64GetDatum(entry->own_bytes);
		values[4] = Int64GetDatum(entry->index_bytes);
		values[5] = Int64GetDatum(entry->toast_bytes);
		values[6] = Int64GetDatum(total);
		values[7] = DirectFunctionCall1(pg_size_pretty, Int64GetDatum(total));
		if (entry->reltuples >= 0)
			values[8] = Int64GetDatum((int64) entry->reltuples);
		else
			nulls[8] = true;	/* never vacuumed or analyzed */
		if (db_bytes > 0)
			values[9] = DirectFunctionCall2(numeric_round,
											DirectFunctionCall1(float8_numeric,
																Float8GetDatum(100.0 * total / db_bytes)),
											Int32GetDatum(2));
		else
			nulls[9] = true;
		values[10] = ObjectIdGetDatum(entry->relid);
		if (entry->locked && entry->locked_by != 0)
			values[11] = CStringGetTextDatum(psprintf("ACCESS EXCLUSIVE lock held by pid %d: size read from files, a rewrite may be in progress",
													  entry->locked_by));
		else if (entry->locked)
			values[11] = CStringGetTextDatum("ACCESS EXCLUSIVE lock held by a prepared transaction: size read from files");
		else
			nulls[11] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
