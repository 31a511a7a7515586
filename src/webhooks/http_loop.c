/*-------------------------------------------------------------------------
 * webhooks/http_loop.c
 *		libcurl's multi interface, driven by an epoll set of its own.
 *
 * PostgreSQL 15's WaitEventSet cannot remove a socket once added, and
 * libcurl opens and closes sockets as it pleases.  So curl's sockets go
 * into a private epoll set (CURLMOPT_SOCKETFUNCTION), and only that set's
 * descriptor goes into the caller's WaitEventSet, beside its latch and
 * postmaster death: the epoll descriptor is readable whenever one of
 * curl's sockets has an event.  curl's timer (CURLMOPT_TIMERFUNCTION)
 * becomes the wait's timeout (pgm_http_loop_timeout()).  After a wake, the
 * caller runs pgm_http_loop_run(), which never blocks: it hands the ready
 * sockets and an expired timer to curl_multi_socket_action() and reports
 * finished transfers.
 *
 * Nothing here allocates from PostgreSQL memory contexts or raises errors
 * while curl is inside a callback; failures of epoll_ctl() are reported
 * back to curl, which fails the transfer.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "webhooks/http_loop.h"

#define HTTP_LOOP_EVENTS 64

struct PgmHttpLoop
{
	CURLM	   *multi;
	int			epfd;
	TimestampTz timer_at;		/* 0: no timer */
};

/* CURLMOPT_SOCKETFUNCTION: keep the epoll set in step with curl's wishes */
static int
http_loop_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	PgmHttpLoop *loop = (PgmHttpLoop *) userp;
	struct epoll_event ev;

	if (what == CURL_POLL_REMOVE)
	{
		(void) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(loop->multi, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev.events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev.events |= EPOLLOUT;
	if (socketp != NULL)
	{
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) == 0)
			return 0;
		if (errno != ENOENT)
			return -1;
	}
	/* a new socket (or a reused descriptor number) */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, s, &ev) != 0 &&
		(errno != EEXIST || epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) != 0))
		return -1;
	curl_multi_assign(loop->multi, s, loop);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when curl wants to be called */
static int
http_loop_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	PgmHttpLoop *loop = (PgmHttpLoop *) userp;

	if (timeout_ms < 0)
		loop->timer_at = 0;
	else
		loop->timer_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	return 0;
}

/* curl_global_init() must have been called */
PgmHttpLoop *
pgm_http_loop_create(void)
{
	PgmHttpLoop *loop = MemoryContextAllocZero(TopMemoryContext, sizeof(PgmHttpLoop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		ereport(ERROR,
				(errcode_for_socket_access(),
				 errmsg("could not create an epoll descriptor for webhook deliveries: %m")));
	loop->multi = curl_multi_init();
	if (loop->multi == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, http_loop_socket_cb);
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, http_loop_timer_cb);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
	return loop;
}

/* connections kept open (idle, for reuse) and open to one host at once */
void
pgm_http_loop_set_limits(PgmHttpLoop *loop, int max_connections)
{
	curl_multi_setopt(loop->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) max_connections);
	curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, (long) max_connections * 2);
}

int
pgm_http_loop_fd(PgmHttpLoop *loop)
{
	return loop->epfd;
}

void
pgm_http_loop_add(PgmHttpLoop *loop, CURL *easy)
{
	CURLMcode	rc = curl_multi_add_handle(loop->multi, easy);

	if (rc != CURLM_OK)
		elog(ERROR, "could not add a transfer to the libcurl multi handle: %s",
			 curl_multi_strerror(rc));
}

/* milliseconds until curl's timer expires; -1: no timer */
long
pgm_http_loop_timeout(PgmHttpLoop *loop)
{
	long		secs;
	int			usecs;

	if (loop->timer_at == 0)
		return -1;
	TimestampDifference(GetCurrentTimestamp(), loop->timer_at, &secs, &usecs);
	return secs * 1000 + (usecs + 999) / 1000;
}

/*
 * Give curl the sockets that are ready and an expired timer; report the
 * transfers that finished.  Never blocks.  Returns how many finished.
 */
int
pgm_http_loop_run(PgmHttpLoop *loop, PgmHttpDone done, void *arg)
{
	struct epoll_event evs[HTTP_LOOP_EVENTS];
	int			running;
	int			n;
	int			i;
	int			rounds;
	int			finished = 0;
	CURLMsg    *msg;
	int			left;

	n = epoll_wait(loop->epfd, evs, HTTP_LOOP_EVENTS, 0);
	for (i = 0; i < n; i++)
	{
		int			flags = 0;

		if (evs[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(loop->multi, evs[i].data.fd, flags, &running);
	}
	/* the timer, possibly re-armed at 0 by curl itself: a few rounds */
	for (rounds = 0; rounds < 4; rounds++)
	{
		if (loop->timer_at == 0 || loop->timer_at > GetCurrentTimestamp())
			break;
		loop->timer_at = 0;
		curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(loop->multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE)
		{
			CURL	   *easy = msg->easy_handle;
			CURLcode	result = msg->data.result;

			curl_multi_remove_handle(loop->multi, easy);
			done(easy, result, arg);
			finished++;
		}
	}
	return finished;
}
