/*-------------------------------------------------------------------------
 * jobs/jobs.h
 *		Scheduled jobs: the generic scheduler (jobs.c), the one writer of
 *		pgm_job_run's status, and the interface of the kinds of job it
 *		dispatches runs to (registered from _PG_init: vacuum/, webhooks/).
 *
 * A job (a row of pgm_job) has a kind, a schedule and options (jsonb).
 * When it is due, the scheduler inserts a run (a row of pgm_job_run,
 * status 'queued'); pgm_vacuum_now() and the like insert queued runs too.
 * The scheduler then offers each queued run to its kind's start function,
 * which either starts it (status 'running', executed elsewhere), finishes
 * it at once (status set by the kind), or defers it (no capacity: the run
 * stays queued).  Every pass, each kind's collect function writes the
 * progress and outcome of its running runs; a 'running' run that its kind
 * says is not alive was lost (crash, restart) and is marked failed.
 *
 * To add a kind (e.g. 'backup'): allow it in pgm_job's kind constraint,
 * write a PgmJobKind in the capability's folder and register it in
 * _PG_init (src/pgmanage.c) with pgm_jobs_add_kind().  All callbacks run in the worker's duty transaction with SPI
 * connected, on a primary, except after_commit.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_JOBS_H
#define PGM_JOBS_H

#include "datatype/timestamp.h"
#include "pgtime.h"

#include "core/core.h"
#include "jobs/cron.h"

/* a queued run offered to its kind */
typedef struct PgmRunRequest
{
	int64		run_id;
	const char *job;			/* NULL for a run asked for by hand */
	const char *database;		/* the run's target database */
	const char *options;		/* jsonb as text */
} PgmRunRequest;

typedef enum PgmRunStart
{
	PGM_RUN_DEFERRED,			/* no capacity now: stays queued */
	PGM_RUN_STARTED,			/* the kind set status 'running' */
	PGM_RUN_FINISHED			/* the kind set a final status */
} PgmRunStart;

typedef struct PgmJobKind
{
	const char *name;			/* pgm_job.kind */
	/* write progress and outcomes of running runs (may be NULL) */
	void		(*collect) (PgmDutyContext *ctx);
	/* is this 'running' run still alive? (NULL: never lost) */
	bool		(*alive) (int64 run_id);
	/* start a queued run */
	PgmRunStart (*start) (PgmDutyContext *ctx, const PgmRunRequest *req);
	/* after the duty's transaction committed (may be NULL) */
	void		(*after_commit) (void);
	/* the transaction aborted: forget what collect/start prepared (may be NULL) */
	void		(*reset) (void);
	/* ask a running run to stop, from any backend; false if not running here */
	bool		(*cancel) (int64 run_id);
} PgmJobKind;

/* schedule.c: cron schedules in PostgreSQL time zones */
extern int64 pgm_timestamptz_to_epoch(TimestampTz ts);
extern TimestampTz pgm_epoch_to_timestamptz(int64 epoch);
extern pg_tz *pgm_schedule_tz(const char *zone_name);
extern const char *pgm_schedule_tz_name(void);
extern void pgm_schedule_parse(const char *expr, CronSchedule *out);
extern bool pgm_schedule_next(const CronSchedule *s, TimestampTz after,
							  pg_tz *tz, TimestampTz *next);

/* jobs.c: helpers for kinds */
extern void pgm_run_finish(PgmDutyContext *ctx, int64 run_id, const char *status,
						   const char *error);

/* jobs.c: registration (from _PG_init) and the scheduler duty */
extern void pgm_jobs_add_kind(const PgmJobKind *kind);
extern void pgm_jobs_duty(PgmDutyContext *ctx);

#endif							/* PGM_JOBS_H */
