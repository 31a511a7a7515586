/*-------------------------------------------------------------------------
 * webhooks/http_loop.h
 *		libcurl's multi interface driven from one epoll descriptor and one
 *		timer, so that a process can wait on them beside its latch.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_HTTP_LOOP_H
#define PGM_HTTP_LOOP_H

#include <curl/curl.h>

typedef struct PgmHttpLoop PgmHttpLoop;

/* called for each finished transfer, after it left the multi handle */
typedef void (*PgmHttpDone) (CURL *easy, CURLcode result, void *arg);

extern PgmHttpLoop *pgm_http_loop_create(void);
extern void pgm_http_loop_set_limits(PgmHttpLoop *loop, int max_connections);
extern int	pgm_http_loop_fd(PgmHttpLoop *loop);
extern void pgm_http_loop_add(PgmHttpLoop *loop, CURL *easy);
extern long pgm_http_loop_timeout(PgmHttpLoop *loop);
extern int	pgm_http_loop_run(PgmHttpLoop *loop, PgmHttpDone done, void *arg);

#endif							/* PGM_HTTP_LOOP_H */
