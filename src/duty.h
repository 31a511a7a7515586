/*-------------------------------------------------------------------------
 * duty.h
 *		The worker's duties: what it runs on each pass, and how.
 *
 * Each duty runs in its own short transaction with SPI connected and an
 * active snapshot; an ERROR aborts that duty's transaction only and is
 * logged once per distinct message.  A duty that hands work over from
 * shared memory (a queue) sets after_commit, which the worker calls once
 * the transaction has committed, so nothing leaves shared memory before
 * it is safely in a table.  To add a duty, write its run function in the
 * file that owns the feature and add a line to worker.c's duty table.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_DUTY_H
#define PGM_DUTY_H

#include "datatype/timestamp.h"

typedef struct PgmDutyContext
{
	const char *schema;			/* the extension's schema (unquoted) */
	TimestampTz now;			/* start of this pass */
	bool		standby;		/* RecoveryInProgress() */
	void		(*after_commit) (void *arg);
	void	   *after_commit_arg;
} PgmDutyContext;

typedef struct PgmDuty
{
	const char *name;
	bool		primary_only;	/* skipped on a standby (writes tables) */
	void		(*run) (PgmDutyContext *ctx);
} PgmDuty;

/* policy_load.c */
extern void pgm_policy_duty(PgmDutyContext *ctx);

/* jobs.c: the job scheduler */
extern void pgm_jobs_duty(PgmDutyContext *ctx);

/* store.c */
extern void pgm_kill_log_duty(PgmDutyContext *ctx);

/* slowlog_store.c */
extern void pgm_slow_queries_duty(PgmDutyContext *ctx);

/* pgss_history.c */
extern void pgm_pgss_history_duty(PgmDutyContext *ctx);

/* alerts.c: disk alerts and event-driven backup triggers */
extern void pgm_alerts_duty(PgmDutyContext *ctx);

/* webhook.c: prune delivered and dead events */
extern void pgm_webhook_prune_duty(PgmDutyContext *ctx);

#endif							/* PGM_DUTY_H */
