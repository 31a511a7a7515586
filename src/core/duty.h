/*-------------------------------------------------------------------------
 * core/duty.h
 *		The worker's duties: what it runs on each pass, and how; and the
 *		retention table its one pruning duty works from.
 *
 * Each duty runs in its own short transaction with SPI connected and an
 * active snapshot; an ERROR aborts that duty's transaction only and is
 * logged once per distinct message.  A duty that hands work over from
 * shared memory (a queue) sets after_commit, which the worker calls once
 * the transaction has committed, so nothing leaves shared memory before
 * it is safely in a table.  Capabilities register their duties (and
 * retention rules) from _PG_init, in src/pgmanage.c.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CORE_DUTY_H
#define PGM_CORE_DUTY_H

#include "datatype/timestamp.h"

/* lock_timeout of every duty's transaction (a duty may SET LOCAL its own) */
#define PGM_DUTY_LOCK_TIMEOUT_MS 500

typedef struct PgmDutyContext
{
	TimestampTz now;			/* start of this pass */
	bool		standby;		/* RecoveryInProgress() */
	uint64		config_generation;	/* bumped at each config reload */
	void		(*after_commit) (void *arg);
	void	   *after_commit_arg;
} PgmDutyContext;

typedef struct PgmDuty
{
	const char *name;
	bool		primary_only;	/* skipped on a standby (writes tables) */
	void		(*run) (PgmDutyContext *ctx);
	/* the extension is missing: drop what the duty derived from it (may be NULL) */
	void		(*disabled) (void);
	/* run once more when the worker stops on SIGTERM (it empties shared memory) */
	bool		at_shutdown;
} PgmDuty;

/* the final pass at SIGTERM: each at_shutdown duty with this statement_timeout */
#define PGM_SHUTDOWN_DRAIN_TIMEOUT_MS 5000

/* core/worker.c: duties run in the order they were added */
extern void pgm_worker_add_duty(const PgmDuty *duty);

/*
 * A table the worker prunes: rows whose "column" (a timestamptz) is older
 * than *retention_min minutes, and for which "keep" (an SQL condition on
 * alias t, or NULL) is false, are deleted in batches.
 */
typedef struct PgmRetention
{
	const char *table;			/* in schema pgmanage */
	const char *column;
	const int  *retention_min;
	const char *keep;
} PgmRetention;

/* core/retention.c */
extern void pgm_retention_add(const PgmRetention *rule);
extern void pgm_retention_duty(PgmDutyContext *ctx);

#endif							/* PGM_CORE_DUTY_H */
