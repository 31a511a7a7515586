/*-------------------------------------------------------------------------
 * vacuum/vacuum.h
 *		Scheduled VACUUM: the slots in shared memory through which the
 *		pgmanage worker (vacuum_run.c) and the VACUUM background workers
 *		(vacuum_worker.c) talk, and the candidate list (vacuum_need.c).
 *
 * One slot per run in progress, at most pgmanage.max_vacuum_workers in use.
 * Life of a slot (state):
 *	 FREE -> LAUNCHING	the worker, after committing the run as 'running',
 *						fills in the parameters and registers the process;
 *	 LAUNCHING -> RUNNING	the VACUUM worker attached (pid set);
 *	 RUNNING -> DONE		it finished and left its outcome in the slot;
 *	 any -> DIED			it exited without an outcome (or never started);
 *	 DONE/DIED -> FREE	the worker wrote the outcome to pgm_job_run and
 *						committed.
 * Only the pgmanage worker frees slots, so a run is 'running' in the table
 * exactly while a slot holds its id, until the worker has recorded the end.
 * A server crash reinitializes the memory: runs still 'running' are then
 * recognized as lost (jobs.c).
 *
 * Per-table results go through a small ring per slot: the VACUUM worker
 * appends, the pgmanage worker copies them into the run's details and
 * removes them after its transaction committed.  When the ring is full the
 * VACUUM worker wakes the pgmanage worker and waits (bounded) for room.
 *
 * Locking: PgmVacuumShared->lock protects every slot field; holders do no
 * I/O and never ereport.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_VACUUM_H
#define PGM_VACUUM_H

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "core/core.h"
#include "jobs/jobs.h"

#define PGM_VACUUM_RING 128
#define PGM_VACUUM_TABLES_TEXT 4096
#define PGM_VACUUM_REASON_LEN 200
#define PGM_VACUUM_QUALNAME_LEN (2 * NAMEDATALEN + 8)

typedef enum PgmVacuumSlotState
{
	PGM_VSLOT_FREE = 0,
	PGM_VSLOT_LAUNCHING,
	PGM_VSLOT_RUNNING,
	PGM_VSLOT_DONE,
	PGM_VSLOT_DIED
} PgmVacuumSlotState;

/* what a run does: the options of pgm_schedule_vacuum / pgm_vacuum_now */
typedef struct PgmVacuumParams
{
	Oid			dboid;
	char		dbname[NAMEDATALEN];
	bool		strategy_all;	/* false: 'need' */
	bool		analyze;
	bool		freeze;
	char		index_cleanup[8];	/* auto, on, off */
	int			parallel;		/* -1: not given */
	bool		skip_locked;
	int			lock_timeout_ms;	/* 0: none */
	int			cost_limit;		/* -1: the server's */
	double		cost_delay_ms;	/* -1: the server's */
	bool		reindex_bloated;
	TimestampTz window_end;		/* 0: no window */
	char		schema[NAMEDATALEN];	/* "": any */
	char		pattern[256];	/* "": any */
	char		tables[PGM_VACUUM_TABLES_TEXT];	/* text[] literal, "": any */
} PgmVacuumParams;

/* one table (or index) handled or skipped, for the run's details */
typedef struct PgmVacuumEntry
{
	char		relation[PGM_VACUUM_QUALNAME_LEN];	/* schema.name, unquoted */
	char		action[12];		/* vacuum, analyze, reindex, drop index, none */
	char		outcome[12];	/* done, skipped, failed, not needed */
	char		reason[PGM_VACUUM_REASON_LEN];	/* why picked / skipped */
	char		error[PGM_VACUUM_REASON_LEN];	/* outcome's explanation */
	int64		dead_before;	/* -1: unknown */
	int64		dead_after;
	int64		bytes_before;
	int64		bytes_after;
	TimestampTz started;		/* 0: not started */
	TimestampTz finished;
} PgmVacuumEntry;

typedef struct PgmVacuumSlot
{
	PgmVacuumSlotState state;
	int64		run_id;
	/*
	 * Whose run it is: run ids repeat after DROP/CREATE EXTENSION (a new
	 * sequence) and in another pgmanage.database, so a result is written
	 * only by a worker in the database (OID) and extension (OID) that
	 * launched it.
	 */
	Oid			owner_dboid;
	Oid			owner_extoid;
	int			pid;
	Latch	   *latch;			/* the VACUUM worker's, set when the ring drained */
	TimestampTz launched_at;
	bool		cancel_requested;
	char		cancel_reason[PGM_VACUUM_REASON_LEN];	/* what asked, for the run's error */
	PgmVacuumParams params;

	/* progress, written by the VACUUM worker */
	uint64		generation;		/* bumped at each change */
	int			tables_considered;
	int			tables_vacuumed;
	int			tables_analyzed;
	int			tables_skipped;
	int			tables_failed;
	int			indexes_rebuilt;
	int64		dead_removed;
	int64		bytes_before;
	int64		bytes_after;
	char		current[PGM_VACUUM_QUALNAME_LEN];
	uint64		entries_dropped;

	/* outcome (DONE / DIED) */
	char		status[12];		/* succeeded, failed, cancelled */
	char		error[PGM_VACUUM_REASON_LEN];

	int			ring_head;
	int			ring_count;
	PgmVacuumEntry ring[PGM_VACUUM_RING];
} PgmVacuumSlot;

typedef struct PgmVacuumShared
{
	LWLock	   *lock;
	PgmVacuumSlot slots[PGM_MAX_VACUUM_SLOTS];
} PgmVacuumShared;

extern PgmVacuumShared *pgm_vacuum;

/* vacuum_run.c */
extern void pgm_vacuum_shmem_request(void);
extern void pgm_vacuum_shmem_startup(void);
extern const PgmJobKind pgm_vacuum_job_kind;
extern const PgmDatabaseUser pgm_vacuum_database_user;
extern PGDLLEXPORT void pgm_vacuum_worker_main(Datum arg);
extern int	pgm_vacuum_release_database(const char *dbname);
extern bool pgm_vacuum_in_database(const char *dbname);

/* vacuum_need.c: what to vacuum, most urgent first */
typedef struct PgmVacuumCandidate
{
	Oid			relid;
	char		qualname[PGM_VACUUM_QUALNAME_LEN * 2];	/* quoted, for SQL */
	char		display[PGM_VACUUM_QUALNAME_LEN];	/* schema.name */
	bool		picked;			/* needs work */
	bool		analyze_only;	/* picked for statistics only */
	bool		wraparound;		/* xid/mxid age near the limit */
	double		urgency;		/* larger first (within wraparound class) */
	int64		live;
	int64		dead;
	char		reason[PGM_VACUUM_REASON_LEN];
} PgmVacuumCandidate;

extern PgmVacuumCandidate *pgm_vacuum_candidates(const PgmVacuumParams *p, int *ncand);
extern bool pgm_vacuum_index_bloat(Oid indexrelid, double *pct);
extern bool pgm_vacuum_bloat_available(void);

#endif							/* PGM_VACUUM_H */
