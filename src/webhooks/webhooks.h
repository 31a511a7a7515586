/*-------------------------------------------------------------------------
 * webhooks/webhooks.h
 *		Webhooks: the outbox (webhook.c), signatures (whsign.c), the
 *		sender process (sender.c) and its libcurl event loop (http_loop.c),
 *		alerts and event-driven backup triggers (alerts.c).
 *
 * Data path: a transaction calls pgm_event_enqueue() (SQL functions, the
 * worker's alert duty, the pgm_kill_log trigger, the scheduler), which
 * inserts one pgm_event row and one pgm_delivery row per matching enabled
 * endpoint, and sets the sender's latch when (and only if) it commits.
 * The sender reads due deliveries in a short transaction, transfers them
 * outside any transaction, and records the results in the next one.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_WEBHOOK_H
#define PGM_WEBHOOK_H

#include "postgres.h"

#include "core/core.h"
#include "jobs/jobs.h"

/* the HMAC-SHA256 key of a secret: "whsec_" (optional) + base64 of 24..64 bytes */
#define PGM_WH_KEY_MIN 24
#define PGM_WH_KEY_MAX 64
/* "v1," + base64 of 32 bytes + NUL */
#define PGM_WH_SIGNATURE_LEN (3 + 44 + 1)

/* the longest label of an event (bytes) */
#define PGM_WH_LABEL_MAX 1024

/* addr.c: addresses an endpoint may not reach (see there) */
struct sockaddr;
extern bool pgm_wh_addr_refused(int family, const uint8 *addr, const char **what);
extern bool pgm_wh_sockaddr_refused(const struct sockaddr *sa, char *text, size_t textlen,
									const char **what);
extern bool pgm_wh_host_refused(const char *host, const char **what);

/* addr.c: the other pure checks of an endpoint (built without a server by test/fuzz/) */
#define PGM_WH_URL_MAX 2048			/* bytes of an endpoint's URL */
#define PGM_WH_HEADER_MAX 4096		/* bytes of an extra header's value */
typedef enum PgmWhUrlCheck
{
	PGM_WH_URL_OK,
	PGM_WH_URL_TOO_LONG,
	PGM_WH_URL_NO_MEMORY,
	PGM_WH_URL_UNPARSABLE,		/* *curl_rc: libcurl's CURLUcode */
	PGM_WH_URL_SCHEME,			/* not http or https */
	PGM_WH_URL_NO_HOST,
	PGM_WH_URL_CREDENTIALS,		/* user[:password]@ */
	PGM_WH_URL_PORT,			/* port 0 */
	PGM_WH_URL_REFUSED			/* *what: why the host's address is refused */
} PgmWhUrlCheck;
extern PgmWhUrlCheck pgm_wh_url_check(const char *url, int *curl_rc, const char **what);
extern bool pgm_wh_header_name_ok(const char *s, size_t len);
extern bool pgm_wh_header_value_ok(const char *s, size_t len);

/* whsign.c */
extern int	pgm_wh_decode_secret(const char *secret, uint8 *key, int keymax);
extern bool pgm_wh_sign(const uint8 *key, int keylen, const char *msg_id, int64 timestamp,
						const char *body, size_t bodylen, char *out);

/*
 * webhook.c: put an event in the outbox (see there).  Must run inside a
 * transaction that may write (not on a standby).  "endpoint" NULL: every
 * enabled endpoint whose event_kinds include the kind.  "data_json" NULL
 * or a JSON text.  Returns the event id, or 0 when only_if_subscribed and
 * no endpoint matched (nothing is inserted then).
 */
extern int64 pgm_event_enqueue(const char *kind, const char *label,
							   const char *endpoint, const char *data_json,
							   bool only_if_subscribed);

/* a "backup" event (pgm_trigger_backup, the 'backup' job kind); "data_json" may be NULL */
extern int64 pgm_backup_enqueue(const char *label, const char *endpoint, const char *data_json);

/* wake the sender when the current transaction commits */

/* "pgmanage/<version>" */
#define PGM_USER_AGENT "pgmanage/" PGM_VERSION

/* alerts.c: the worker's duty */
extern void pgm_alerts_duty(PgmDutyContext *ctx);

/* backup_job.c: the 'backup' job kind */
extern const PgmJobKind pgm_backup_job_kind;

/* sender.c: the sender process */
extern PGDLLEXPORT void pgm_sender_main(Datum arg);

#endif							/* PGM_WEBHOOK_H */
