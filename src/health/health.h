/*-------------------------------------------------------------------------
 * health/health.h
 *		Health checks: pgm_health() and the functions it reads
 *		(pgm_replication, pgm_replication_slots, pgm_wraparound,
 *		pgm_xmin_horizon; SQL, src/sql/health.sql), the thresholds it
 *		compares with (health.c: pgm_health_thresholds(), from the
 *		pgmanage.health_<check>_warning / _critical settings of core/guc.c),
 *		and the worker duty that evaluates it on a schedule and turns
 *		changes of status into health_alert / health_ok events
 *		(health_duty.c).
 *
 * Data path: catalogs and statistics views -> pgm_health() (SQL) -> the
 * duty -> pgm_alert_state (one row "health:<check>") and, on a change of
 * status, pgmanage.pgm_emit_event() for the endpoints that subscribe.
 * The duty reaches the outbox through SQL, as the pgm_kill_log and
 * pgm_job_run triggers do, so health/ names no other capability.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_HEALTH_H
#define PGM_HEALTH_H

#include "core/core.h"

/* health_duty.c: the worker's duty (primary only) */
extern void pgm_health_duty(PgmDutyContext *ctx);

#endif							/* PGM_HEALTH_H */
