/*-------------------------------------------------------------------------
 * core/compat.h
 *		The one place that knows which PostgreSQL major version pgmanage is
 *		built against (15, 17 and 18 are built and tested).  Every
 *		PG_VERSION_NUM check in the tree is here; the rest of src/ calls
 *		the pgm_* wrappers and macros below and reads the same on every
 *		version.
 *
 * Include it after the PostgreSQL headers a file already needs.  Each
 * entry says which version changed what; 16 is not built or tested, but
 * the boundaries are where the change happened, so that 16 would build.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_COMPAT_H
#define PGM_COMPAT_H

#include "postgres.h"

#include "catalog/pg_database.h"
#include "common/base64.h"
#include "common/string.h"
#include "common/file_utils.h"
#include "common/relpath.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "tcop/pquery.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/relmapper.h"
#include "utils/wait_event.h"
#include "miscadmin.h"
#include "utils/acl.h"
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#else
#include "storage/backendid.h"
#endif

#if PG_VERSION_NUM < 150000
#error "pgmanage needs PostgreSQL 15 or later"
#endif

/* ---- module magic -------------------------------------------------------
 * 18: PG_MODULE_MAGIC_EXT also records the module's name and version, which
 * pg_get_loaded_modules() shows.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "pgmanage", .version = PGM_VERSION)
#else
#define PGM_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/* ---- relation files -----------------------------------------------------
 * 16: RelFileNode {spcNode, dbNode, relNode} became RelFileLocator {spcOid,
 * dbOid, relNumber}; RelationMapOidToFilenode became
 * RelationMapOidToFilenumber.
 * 18: relpathperm() returns a RelPathStr (a struct holding the path)
 * instead of a palloc'd string.
 */
#if PG_VERSION_NUM >= 160000
#include "storage/relfilelocator.h"
typedef RelFileLocator PgmRelFile;

static inline void
pgm_relfile_set(PgmRelFile *f, Oid spcoid, Oid dboid, Oid relnumber)
{
	f->spcOid = spcoid;
	f->dbOid = dboid;
	f->relNumber = relnumber;
}
#define pgm_relation_map_filenumber(relid, shared) \
	((Oid) RelationMapOidToFilenumber((relid), (shared)))
#else
#include "storage/relfilenode.h"
typedef RelFileNode PgmRelFile;

static inline void
pgm_relfile_set(PgmRelFile *f, Oid spcoid, Oid dboid, Oid relnumber)
{
	f->spcNode = spcoid;
	f->dbNode = dboid;
	f->relNode = relnumber;
}
#define pgm_relation_map_filenumber(relid, shared) \
	RelationMapOidToFilenode((relid), (shared))
#endif

/* the path of a relation's fork, relative to the data directory, into buf */
static inline void
pgm_relpath_perm(PgmRelFile f, ForkNumber fork, char *buf, size_t len)
{
#if PG_VERSION_NUM >= 180000
	RelPathStr	p = relpathperm(f, fork);

	strlcpy(buf, p.str, len);
#else
	char	   *p = relpathperm(f, fork);

	strlcpy(buf, p, len);
	pfree(p);
#endif
}

/* ---- temporary files ----------------------------------------------------
 * 16: PG_TEMP_FILES_DIR moved from storage/fd.h to common/file_utils.h
 * (both are included above, so it is defined on every version).
 */

/* ---- table statistics ---------------------------------------------------
 * 16: PgStat_StatTabEntry's fields were renamed: n_live_tuples ->
 * live_tuples, n_dead_tuples -> dead_tuples, vacuum_timestamp ->
 * last_vacuum_time, autovac_vacuum_timestamp -> last_autovacuum_time,
 * analyze_timestamp -> last_analyze_time, autovac_analyze_timestamp ->
 * last_autoanalyze_time.
 */
#if PG_VERSION_NUM >= 160000
#define PGM_TAB_LIVE_TUPLES(e)			((e)->live_tuples)
#define PGM_TAB_DEAD_TUPLES(e)			((e)->dead_tuples)
#define PGM_TAB_LAST_VACUUM(e)			((e)->last_vacuum_time)
#define PGM_TAB_LAST_AUTOVACUUM(e)		((e)->last_autovacuum_time)
#define PGM_TAB_LAST_ANALYZE(e)			((e)->last_analyze_time)
#define PGM_TAB_LAST_AUTOANALYZE(e)		((e)->last_autoanalyze_time)
#else
#define PGM_TAB_LIVE_TUPLES(e)			((e)->n_live_tuples)
#define PGM_TAB_DEAD_TUPLES(e)			((e)->n_dead_tuples)
#define PGM_TAB_LAST_VACUUM(e)			((e)->vacuum_timestamp)
#define PGM_TAB_LAST_AUTOVACUUM(e)		((e)->autovac_vacuum_timestamp)
#define PGM_TAB_LAST_ANALYZE(e)			((e)->analyze_timestamp)
#define PGM_TAB_LAST_AUTOANALYZE(e)		((e)->autovac_analyze_timestamp)
#endif

/* ---- backend status -----------------------------------------------------
 * 16: pgstat_fetch_stat_local_beentry(i) became
 * pgstat_get_local_beentry_by_index(i); both take a 1-based index up to
 * pgstat_fetch_stat_numbackends().
 * 18: a new BackendState, STATE_STARTING (authenticating), which
 * pg_stat_activity shows as "starting".
 */
#if PG_VERSION_NUM >= 160000
#define pgm_local_beentry(i)	pgstat_get_local_beentry_by_index(i)
#else
#define pgm_local_beentry(i)	pgstat_fetch_stat_local_beentry(i)
#endif

#if PG_VERSION_NUM >= 180000
#define pgm_backend_state_is_starting(s)	((s) == STATE_STARTING)
#else
#define pgm_backend_state_is_starting(s)	((void) (s), false)
#endif

/* ---- wait event sets ----------------------------------------------------
 * 17: CreateWaitEventSet takes a ResourceOwner (NULL: not owned, lives
 * until freed) instead of a memory context.
 */
static inline WaitEventSet *
pgm_create_wait_event_set(int nevents)
{
#if PG_VERSION_NUM >= 170000
	return CreateWaitEventSet(NULL, nevents);
#else
	return CreateWaitEventSet(TopMemoryContext, nevents);
#endif
}

/* ---- wait events ----------------------------------------------------------
 * 17: an extension can name its wait events (WaitEventExtensionNew), so
 * pg_stat_activity.wait_event says "PgmanageLauncherMain" rather than
 * "Extension".  On 15 every wait is PG_WAIT_EXTENSION.
 *
 * pgm_wait_event(&cache, "Name"): the event's id, registered (in shared
 * memory, so it needs a process attached to it) the first time a process
 * asks and remembered in *cache afterwards.
 */
static inline uint32
pgm_wait_event(uint32 *cache, const char *name)
{
	if (*cache == 0)
	{
#if PG_VERSION_NUM >= 170000
		*cache = WaitEventExtensionNew(name);
#else
		(void) name;
		*cache = PG_WAIT_EXTENSION;
#endif
	}
	return *cache;
}

/* ---- executor hooks ------------------------------------------------------
 * 18: ExecutorRun (and its hook, and standard_ExecutorRun) lost the
 * execute_once argument.  A hook is written
 *
 *		static void my_run(PGM_EXECUTOR_RUN_PARAMS) { ...
 *			PGM_EXECUTOR_RUN_CALL(standard_ExecutorRun); ... }
 *
 * with queryDesc, direction and count as the parameters' names.
 */
#if PG_VERSION_NUM >= 180000
#define PGM_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define PGM_EXECUTOR_RUN_CALL(fn)	(fn) (queryDesc, direction, count)
#else
#define PGM_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define PGM_EXECUTOR_RUN_CALL(fn)	(fn) (queryDesc, direction, count, execute_once)
#endif

/* ---- EXPLAIN --------------------------------------------------------------
 * 18: ExplainState and NewExplainState moved to commands/explain_state.h,
 * ExplainBeginOutput/ExplainEndOutput to commands/explain_format.h.
 */
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif

/* ---- portals ---------------------------------------------------------------
 * 18: PortalRun lost run_once (a portal is always run once, to completion,
 * by pgmanage).
 */
static inline bool
pgm_portal_run(Portal portal, long count, bool isTopLevel,
			   DestReceiver *dest, DestReceiver *altdest, QueryCompletion *qc)
{
#if PG_VERSION_NUM >= 180000
	return PortalRun(portal, count, isTopLevel, dest, altdest, qc);
#else
	return PortalRun(portal, count, isTopLevel, true, dest, altdest, qc);
#endif
}

/* ---- base64 ----------------------------------------------------------------
 * 18: pg_b64_encode's source and pg_b64_decode's destination are uint8.
 */
static inline int
pgm_b64_encode(const uint8 *src, int len, char *dst, int dstlen)
{
#if PG_VERSION_NUM >= 180000
	return pg_b64_encode(src, len, dst, dstlen);
#else
	return pg_b64_encode((const char *) src, len, dst, dstlen);
#endif
}

static inline int
pgm_b64_decode(const char *src, int len, uint8 *dst, int dstlen)
{
#if PG_VERSION_NUM >= 180000
	return pg_b64_decode(src, len, dst, dstlen);
#else
	return pg_b64_decode(src, len, (char *) dst, dstlen);
#endif
}

/* ---- ownership checks -----------------------------------------------------
 * 16: pg_database_ownercheck() and its siblings became
 * object_ownercheck(classid, objectid, roleid).
 */
static inline bool
pgm_database_ownercheck(Oid dboid, Oid roleid)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(DatabaseRelationId, dboid, roleid);
#else
	return pg_database_ownercheck(dboid, roleid);
#endif
}

/* ---- this backend's slot among MaxBackends ----------------------------------
 * 17: BackendId (1-based, MyBackendId) became ProcNumber (0-based,
 * MyProcNumber); regular backends have 0 .. MaxBackends - 1 either way.
 * -1 when the process has none yet.
 */
static inline int
pgm_my_backend_slot(void)
{
#if PG_VERSION_NUM >= 170000
	return MyProcNumber == INVALID_PROC_NUMBER ? -1 : (int) MyProcNumber;
#else
	return MyBackendId == InvalidBackendId ? -1 : (int) MyBackendId - 1;
#endif
}

/* ---- cleaning a client-supplied name ---------------------------------------
 * 16: pg_clean_ascii(str) (in place) became pg_clean_ascii(str, flags),
 * returning a palloc'd copy (non-ASCII bytes as \xNN instead of '?').
 * pgm_clean_ascii cleans buf in place (it holds at most len - 1 bytes).
 */
static inline void
pgm_clean_ascii(char *buf, int len)
{
#if PG_VERSION_NUM >= 160000
	char	   *clean = pg_clean_ascii(buf, 0);

	strlcpy(buf, clean, len);
	pfree(clean);
#else
	(void) len;
	pg_clean_ascii(buf);
#endif
}

/*
 * Memory for a GUC check hook's *extra: malloc'd up to 15; from 16 on the
 * GUC machinery frees it with guc_free (pfree from its own context), so it
 * must come from guc_malloc.
 */
#if PG_VERSION_NUM >= 160000
#include "utils/guc.h"
#define pgm_guc_malloc(size) guc_malloc(LOG, (size))
#define pgm_guc_free(ptr) guc_free(ptr)
#else
#define pgm_guc_malloc(size) malloc(size)
#define pgm_guc_free(ptr) free(ptr)
#endif

#endif							/* PGM_COMPAT_H */
