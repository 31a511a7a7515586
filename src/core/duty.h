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
 *
 * And its row cap (max_rows NULL, or *max_rows = 0: none), one of:
 * - cap_weight and cap_orphan NULL: the table's newest *max_rows rows by
 *   "id" (a bigserial primary key) are kept, older ones deleted unless
 *   "keep" holds for them (those are counted and reported instead);
 * - cap_weight, an SQL expression on t: how many rows of a table deleted
 *   with the row (ON DELETE CASCADE) it stands for; the newest rows by id
 *   whose weights sum to at most *max_rows are kept;
 * - cap_orphan, an SQL condition on t: the rows no capped row needs any
 *   more (run after the rules before it in the table), deleted.
 */
typedef struct PgmRetention
{
	const char *table;			/* in schema pgmanage */
	const char *column;
	const int  *retention_min;
	const char *keep;
	const int  *max_rows;
	const char *max_rows_setting;	/* its name, for the log */
	const char *cap_weight;
	const char *cap_orphan;
} PgmRetention;

/* core/retention.c */
extern void pgm_retention_add(const PgmRetention *rule);
extern void pgm_retention_duty(PgmDutyContext *ctx);

#endif							/* PGM_CORE_DUTY_H */
