/*-------------------------------------------------------------------------
 * core/core.h
 *		What core/ offers the capabilities above it: the extension's
 *		schema and version, the processes (launcher, children, their start
 *		and error recovery), waking a child at COMMIT, the registrations
 *		through which capabilities plug into the launcher, the worker and
 *		the utility hook, and a few helpers several capabilities share.
 *
 * Dependencies run one way: capabilities include core/, core/ includes no
 * capability.  src/pgmanage.c (_PG_init) is the one file that knows them
 * all and registers each with core.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CORE_H
#define PGM_CORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "libpq/pqcomm.h"
#include "tcop/utility.h"

#include "core/duty.h"
#include "core/guc.h"
#include "core/shmem.h"

/* the one name of the extension's schema (control file: schema = pgmanage) */
#define PGM_SCHEMA "pgmanage"

/* the version, from the control file's default_version (Makefile) */
#ifndef PGM_VERSION
#error "PGM_VERSION is defined by the Makefile from pgmanage.control"
#endif

/* the search_path every pgmanage process pins, whatever the settings say */
#define PGM_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Query texts that pgmanage returns or stores are cut to this many bytes
 * (on a character boundary).  pg_stat_activity itself keeps at most
 * track_activity_query_size bytes (1024 by default).
 */
#define PGM_QUERY_TEXT_MAX 1024

/* the worker makes a pass at least this often (captured statements wait in a ring) */
#define PGM_DRAIN_INTERVAL_MS 1000

/* VACUUM runs at once, at most (the size of the slot array in shared memory) */
#define PGM_MAX_VACUUM_SLOTS 16

/* ---- processes (core/child.c, core/launcher.c, core/worker.c) ---- */

/* true in pgmanage's own processes: their statements are never captured */
extern bool pgm_internal_process;

struct BackgroundWorker;
extern void pgm_bgworker_init(struct BackgroundWorker *bgw, const char *function,
							  const char *name, int start, int restart_time);
extern void pgm_process_pin_search_path(void);
extern void pgm_register_launcher(void);
extern PGDLLEXPORT void pgm_launcher_main(Datum arg);
extern PGDLLEXPORT void pgm_worker_main(Datum arg);

/* the launcher's work between two sleeps; returns ms until it is due again */
typedef long (*PgmLauncherTick) (TimestampTz now);
extern void pgm_launcher_set_tick(PgmLauncherTick tick);

extern PgmProcStatus *pgm_child_start(PgmChild which, const char *name);
struct ErrorData;
extern struct ErrorData *pgm_error_recover(MemoryContext cxt, bool emit);
extern void pgm_child_recover(MemoryContext cxt, const char *what);
extern void pgm_child_error_cleared(void);
extern void pgm_process_report_stats(void);
extern bool pgm_extension_ready(char *problem, int problem_len);

/* ---- waking processes (core/wake.c) ---- */
extern void pgm_wake_child(PgmChild child);
extern void pgm_wake_launcher(void);
extern void pgm_wake_at_commit(PgmChild child, pg_atomic_uint32 *flag);

/* ---- the utility hook (core/utility_hook.c) ---- */
typedef void (*PgmUtilityNext) (PlannedStmt *pstmt, const char *queryString,
								bool readOnlyTree, ProcessUtilityContext context,
								ParamListInfo params, QueryEnvironment *queryEnv,
								DestReceiver *dest, QueryCompletion *qc);
/* wraps the rest of the chain (capture times statements with it) */
typedef void (*PgmUtilityWrapper) (PlannedStmt *pstmt, const char *queryString,
								   bool readOnlyTree, ProcessUtilityContext context,
								   ParamListInfo params, QueryEnvironment *queryEnv,
								   DestReceiver *dest, QueryCompletion *qc,
								   PgmUtilityNext next);
/* processes other than core's children that work in a database */
typedef struct PgmDatabaseUser
{
	/* ask them to leave database "dbname"; returns how many were asked */
	int			(*release) (const char *dbname);
	/* is one still there? */
	bool		(*in_database) (const char *dbname);
} PgmDatabaseUser;

extern void pgm_install_utility_hook(void);
extern void pgm_utility_set_wrapper(PgmUtilityWrapper wrapper);
extern void pgm_utility_add_database_user(const PgmDatabaseUser *user);

/* ---- how the previous stop ended, what it lost (core/stop_state.c) ---- */

#define PGM_STOP_MAX_COUNTERS 4

typedef struct PgmStopState
{
	int64		unclean_stops;	/* crash, immediate, unknown: in this data directory */
	char		last_stop[16];	/* clean, crash, immediate, unknown; "": none known */
	TimestampTz last_stop_at;	/* 0: unknown */
	uint64		lost[PGM_STOP_MAX_COUNTERS];	/* per registered counter */
	bool		lost_known[PGM_STOP_MAX_COUNTERS];
	bool		was_running;	/* (the file's state while reading it) */
} PgmStopState;

/*
 * A memory whose unwritten entries a stop loses: pending() says how many
 * it holds (called by the postmaster as it exits or reinitializes, every
 * other process gone: no lock), capacity() the most it can hold.  Call
 * from _PG_init, then pgm_stop_state_install() once.
 */
extern void pgm_stop_state_add(const char *name, uint64 (*pending) (void), uint64 (*capacity) (void));
extern void pgm_stop_state_install(void);
extern bool pgm_stop_state_get(PgmStopState *out);
extern bool pgm_stop_state_lost(const PgmStopState *st, const char *name, uint64 *lost);

/* ---- helpers (core/util.c) ---- */
typedef struct PgmDiskSpace
{
	uint64		total_bytes;
	uint64		avail_bytes;	/* available to unprivileged users */
	double		used_pct;		/* as df(1) computes it */
} PgmDiskSpace;

extern bool pgm_disk_space(const char *path, PgmDiskSpace *out);
extern Datum pgm_client_addr_datum(const SockAddr *addr, bool *isnull);

/* is a row being stored in pgmanage.database? (pgm_endpoint, pgm_timeout_policy) */
typedef enum PgmDbWhere
{
	PGM_DB_HERE,				/* yes (or an extension script, or no database) */
	PGM_DB_RESTORE,				/* elsewhere, by COPY (a dump restored): warn */
	PGM_DB_ELSEWHERE			/* elsewhere: refuse (55000) */
} PgmDbWhere;
extern PgmDbWhere pgm_store_database(char **db);

/*
 * A role or database name (anyone with CREATEROLE or CREATEDB chooses one)
 * for a line of the server log: control characters written as \n, \t,
 * \xNN, so that a name cannot split the line or send escape codes to the
 * terminal of whoever reads the log.  Returns "name" itself when it has
 * none, else "buf" (PGM_LOG_NAME_BUF bytes: any name fits).
 */
#define PGM_LOG_NAME_BUF (NAMEDATALEN * 4)
extern const char *pgm_log_name(const char *name, char *buf);

#endif							/* PGM_CORE_H */
