/*-------------------------------------------------------------------------
 * webhooks/sender.c
 *		The pgmanage sender: a child of the launcher, connected to
 *		pgmanage.database, that delivers webhook events (see webhook.h).
 *
 * Its loop waits on ONE WaitEventSet holding its latch, postmaster death
 * and the epoll descriptor of its libcurl event loop (http_loop.c), with
 * the earliest of curl's timer, the next due retry and pgmanage.naptime as
 * the timeout: SIGTERM, SIGHUP and postmaster death are seen at once, even
 * in the middle of a slow transfer.
 *
 * No transfer runs inside a transaction.  A "sync" is one short
 * transaction that records the results of finished transfers (one UPDATE
 * for the batch), moves the endpoints' circuits, and reads the next due
 * deliveries (up to SENDER_PREFETCH times the slots, at least
 * SENDER_BATCH_MIN), signing each body;
 * the transfers start after it commits, as slots are free (the rest wait
 * prepared in memory and start as transfers end, without a sync).  A sync
 * runs when the latch was set (an event was committed, an endpoint
 * changed), when the prepared transfers run low and more are due, to
 * record results (nothing in flight, the room but two slots, a failure, or
 * SENDER_RESULT_WAIT_MS), when a retry or a probe falls due, and at least
 * once per naptime.
 *
 * Circuit breaker, per endpoint (state in pgm_endpoint_circuit, read and
 * written in the sync, so it survives restarts and failovers):
 * closed --N failures in a row--> open --probe due--> half_open (one
 * probe out) --answer--> closed (its whole backlog due now), --failure-->
 * open.  A failure: connection, timeout, DNS, TLS, 408, 429, 5xx; any
 * other answer resets the count.  While open, nothing but the probe goes
 * and nothing waits in a slot; a failed probe does not count as an attempt
 * (an open circuit alone never makes a delivery dead) and moves its
 * delivery's next attempt on, so probes rotate over the backlog.
 *
 * At-least-once: a delivery is marked delivered only after a 2xx was
 * received and recorded; if the process or the server stops before the
 * result is recorded, the delivery is still pending and is sent again.
 * Receivers deduplicate on webhook-id.  For the same reason the sender's
 * own transactions commit with synchronous_commit = off: a result lost in
 * a crash means at worst one more delivery, never a lost one (the events
 * themselves are committed by their producers, synchronously).
 *
 * Outcome of an attempt:
 *   2xx                                   delivered
 *   408, 429, 5xx, timeouts, connection,  retried after an exponential
 *   DNS and TLS failures                  backoff with jitter (at least
 *                                         Retry-After), dead after the
 *                                         endpoint's max_attempts
 *   other 1xx/3xx/4xx, a redirect to a    dead at once
 *   refused protocol, a malformed URL,
 *   a redirect to another host or from
 *   https to http, a refused address
 *   (addr.c, checked after DNS resolution)
 *   extra headers that fail the check     retried (the row may be fixed)
 *   before use (sender_header_ok)
 *
 * Answers are read up to SENDER_BODY_MAX bytes (the status counts, the
 * rest is not read); what reaches last_error is cleaned (sender_clean_text).
 *
 * On a standby nothing is sent: pending deliveries wait for promotion.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "webhooks/http_loop.h"
#include "webhooks/webhooks.h"

#define SENDER_ERROR_MAX 200	/* bytes of an error kept in last_error */
#define SENDER_SNIPPET 120		/* bytes of a refusing response body kept */
#define SENDER_BODY_MAX (64 * 1024) /* bytes of a response read, at most */
#define SENDER_RETRY_AFTER_MAX (24 * 3600)	/* seconds */
#define SENDER_NAME_MAX 64
/*
 * A sync reads up to this many times pgmanage.max_concurrent_deliveries
 * transfers, and at least SENDER_BATCH_MIN: those beyond the free slots
 * wait prepared in memory and start as slots free up, without a sync each
 * (a backlog drains in batches; a sync's fixed cost, a transaction and
 * its statements, is shared by a hundred deliveries or more).
 */
#define SENDER_PREFETCH 4
#define SENDER_BATCH_MIN 256
/* results wait at most this long to be recorded while transfers keep going */
#define SENDER_RESULT_WAIT_MS 100

typedef enum SenderOutcome
{
	OUTCOME_DELIVERED,
	OUTCOME_RETRY,
	OUTCOME_DEAD
} SenderOutcome;

/* one transfer in flight */
typedef struct SenderTransfer
{
	int64		event_id;
	char		msg_id[SENDER_NAME_MAX];	/* webhook-id */
	char		endpoint[SENDER_NAME_MAX];
	int			attempts;		/* before this one */
	int			max_attempts;
	bool		probe;			/* the one probe of an open circuit */
	bool		started;		/* handed to curl (else prepared, waiting for a slot) */
	CURL	   *easy;
	struct curl_slist *headers;
	char	   *body;
	char		errbuf[CURL_ERROR_SIZE];
	char		snippet[SENDER_SNIPPET + 1];
	int			snippet_len;
	size_t		body_read;		/* bytes of the response body read */
	bool		body_capped;	/* stopped reading at SENDER_BODY_MAX */
	/* the URL's origin: a redirect may not leave it (nor downgrade https) */
	char	   *url;
	char		host[256];
	long		port;
	bool		https;
	char		refused[INET6_ADDRSTRLEN + 128];	/* a refused address and why */
	char		redirect_refused[300];	/* a refused redirect, why */
	char		bad_header[80]; /* an extra header refused before use */
} SenderTransfer;

/* the result of an attempt, waiting to be recorded */
typedef struct SenderResult
{
	int64		event_id;
	char		endpoint[SENDER_NAME_MAX];
	SenderOutcome outcome;
	TimestampTz at;
	TimestampTz next_at;		/* OUTCOME_RETRY */
	int			http_status;	/* 0: none */
	char		error[SENDER_ERROR_MAX + 1];	/* "": none */
	bool		counts;			/* counts as an attempt (not a failed probe) */
	int			health;			/* the endpoint: 1 answered, -1 failed, 0 unknown */
} SenderResult;

/* wait event of the sender's one wait (named on 17+, core/compat.h) */
static uint32 sender_wait_event = 0;

static PgmProcStatus *sender_status;
static PgmHttpLoop *sender_loop;
static MemoryContext sender_cxt;

/* transfers taken from the outbox: started (nstarted of them) or waiting for a slot */
static SenderTransfer **inflight;
static int	ninflight = 0;
static int	nstarted = 0;
static int	inflight_cap = 0;
/* transfers read ahead per slot (inflight_cap / slots, at least SENDER_PREFETCH) */
static int	sender_prefetch = SENDER_PREFETCH;
/* slots one endpoint may use, from the last fetch */
static int	sender_share = 1;
/* when the oldest result not yet recorded came */
static TimestampTz results_since = 0;
/* a result not yet recorded says its endpoint failed (sync at once) */
static bool results_failed = false;

static SenderResult *results;
static int	nresults = 0;
static int	results_cap = 0;

static CURL **idle_handles;
static int	nidle = 0;


/* ---- transfers ---- */

/* CURLOPT_WRITEFUNCTION: keep the start of the response, for last_error */
static size_t
sender_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	SenderTransfer *t = (SenderTransfer *) userdata;
	size_t		len = size * nmemb;
	size_t		room = SENDER_SNIPPET - t->snippet_len;
	size_t		i;

	for (i = 0; i < len && i < room; i++)
		t->snippet[t->snippet_len++] = ptr[i];	/* cleaned by sender_clean_text */
	t->snippet[t->snippet_len] = '\0';
	t->body_read += len;
	if (t->body_read > SENDER_BODY_MAX)
	{
		/* enough: the status is known; stop reading (the connection is closed) */
		t->body_capped = true;
		return 0;
	}
	return len;
}

/*
 * Make "s" fit for last_error, in place: control characters become spaces,
 * valid UTF-8 is kept in a UTF-8 database (other bytes become '?'), and it
 * is cut on a character boundary to at most "max" bytes.
 */
static void
sender_clean_text(char *s, int max)
{
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);
	int			in = 0;
	int			out = 0;
	int			len = strlen(s);

	while (in < len)
	{
		unsigned char c = s[in];
		int			n = 1;

		if (c >= 0x80)
		{
			n = pg_utf_mblen((const unsigned char *) s + in);
			if (!utf8 || in + n > len || !pg_utf8_islegal((const unsigned char *) s + in, n))
			{
				n = 1;
				c = '?';
			}
		}
		else if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (out + n > max)
			break;
		if (n == 1)
			s[out++] = c;
		else
		{
			memmove(s + out, s + in, n);
			out += n;
		}
		in += n;
	}
	s[out] = '\0';
}

/* CURLOPT_OPENSOCKETFUNCTION: refuse link-local and metadata addresses after DNS */
static curl_socket_t
sender_opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	SenderTransfer *t = (SenderTransfer *) clientp;
	char		text[INET6_ADDRSTRLEN];
	const char *what = NULL;

	if (pgm_wh_sockaddr_refused(&address->addr, text, sizeof(text), &what))
	{
		snprintf(t->refused, sizeof(t->refused), "refused to connect to %s: %s", text, what);
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/*
 * CURLOPT_PREREQFUNCTION, before each request (a redirect's too): the
 * request must stay on the URL's host (custom headers and the signature are
 * never sent to another host; an http URL may move to https on the same
 * host), and the connected address is checked again (a reused connection).
 */
static int
sender_prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
				 int conn_primary_port, int conn_local_port)
{
	SenderTransfer *t = (SenderTransfer *) clientp;
	char	   *url = NULL;
	CURLU	   *u;
	char	   *host = NULL;
	char	   *scheme = NULL;
	char	   *port = NULL;
	bool		ok = false;
	uint8		addr[16];
	const char *what = NULL;

	if (inet_pton(AF_INET, conn_primary_ip, addr) == 1 ? pgm_wh_addr_refused(4, addr, &what) :
		inet_pton(AF_INET6, conn_primary_ip, addr) == 1 ? pgm_wh_addr_refused(6, addr, &what) : false)
	{
		snprintf(t->refused, sizeof(t->refused), "refused to send to %s: %s", conn_primary_ip, what);
		return CURL_PREREQFUNC_ABORT;
	}
	if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == NULL)
		return CURL_PREREQFUNC_ABORT;
	/* the URL itself (no redirect): its origin is known, no need to parse it again */
	if (t->port >= 0 && strcmp(url, t->url) == 0)
		return CURL_PREREQFUNC_OK;
	u = curl_url();
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
	{
		bool		now_https = pg_strcasecmp(scheme, "https") == 0;
		long		now_port = strtol(port, NULL, 10);

		ok = pg_strcasecmp(host, t->host) == 0 &&
			(now_port == t->port || (!t->https && now_https && t->port == 80 && now_port == 443)) &&
			(now_https || !t->https);
		if (!ok)
			snprintf(t->redirect_refused, sizeof(t->redirect_refused),
					 "redirect to %s://%.200s:%ld refused: only the URL's own host is followed",
					 now_https ? "https" : "http", host, now_port);
	}
	curl_free(host);
	curl_free(scheme);
	curl_free(port);
	if (u)
		curl_url_cleanup(u);
	return ok ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

/*
 * The URL's host, port and scheme, for sender_prereq_cb; the last URL's
 * are kept (a backlog is mostly one endpoint's: parsed once, not per
 * delivery).
 */
static void
sender_origin(SenderTransfer *t, const char *url)
{
	static char last_url[PGM_WH_URL_MAX + 1];
	static char last_host[256];
	static long last_port = -1;
	static bool last_https = false;
	CURLU	   *u;
	char	   *host = NULL;
	char	   *scheme = NULL;
	char	   *port = NULL;

	t->url = MemoryContextStrdup(sender_cxt, url);
	if (last_port >= 0 && strcmp(url, last_url) == 0)
	{
		strlcpy(t->host, last_host, sizeof(t->host));
		t->port = last_port;
		t->https = last_https;
		return;
	}
	t->host[0] = '\0';
	t->port = -1;
	u = curl_url();
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
	{
		strlcpy(t->host, host, sizeof(t->host));
		t->port = strtol(port, NULL, 10);
		t->https = pg_strcasecmp(scheme, "https") == 0;
		if (strlen(url) < sizeof(last_url))
		{
			strlcpy(last_url, url, sizeof(last_url));
			strlcpy(last_host, t->host, sizeof(last_host));
			last_port = t->port;
			last_https = t->https;
		}
	}
	curl_free(host);
	curl_free(scheme);
	curl_free(port);
	if (u)
		curl_url_cleanup(u);
}

/*
 * An extra header line "Name: value", checked again before use (the trigger
 * on pgm_endpoint checks it when stored, but a row can bypass triggers):
 * the name an HTTP token, the value without control characters but tab,
 * at most PGM_WH_HEADER_MAX bytes (addr.c, shared with the trigger).
 */
static bool
sender_header_ok(const char *name, const char *value)
{
	return pgm_wh_header_name_ok(name, strlen(name)) &&
		pgm_wh_header_value_ok(value, strlen(value));
}

static void
sender_ensure_capacity(void)
{
	int			want = Max(pgm_max_concurrent_deliveries * SENDER_PREFETCH, SENDER_BATCH_MIN);

	if (inflight_cap >= want)
	{
		sender_prefetch = Max(SENDER_PREFETCH, inflight_cap / pgm_max_concurrent_deliveries);
		return;
	}
	if (inflight == NULL)
	{
		inflight = MemoryContextAllocZero(sender_cxt, sizeof(SenderTransfer *) * want);
		idle_handles = MemoryContextAllocZero(sender_cxt, sizeof(CURL *) * want);
		results = MemoryContextAllocZero(sender_cxt, sizeof(SenderResult) * want);
	}
	else
	{
		inflight = repalloc(inflight, sizeof(SenderTransfer *) * want);
		idle_handles = repalloc(idle_handles, sizeof(CURL *) * want);
		results = repalloc(results, sizeof(SenderResult) * want);
	}
	inflight_cap = results_cap = want;
	sender_prefetch = Max(SENDER_PREFETCH, inflight_cap / pgm_max_concurrent_deliveries);
}

static bool
sender_is_inflight(int64 event_id, const char *endpoint)
{
	int			i;

	for (i = 0; i < ninflight; i++)
		if (inflight[i]->event_id == event_id && strcmp(inflight[i]->endpoint, endpoint) == 0)
			return true;
	return false;
}

static struct curl_slist *
sender_add_header(struct curl_slist *list, const char *h)
{
	struct curl_slist *n = curl_slist_append(list, h);

	if (n == NULL)
	{
		curl_slist_free_all(list);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	return n;
}

/*
 * Prepare one transfer from a row of the sync query (in a transaction;
 * nothing is sent yet).  The secret is decoded, used and wiped here.
 */
static SenderTransfer *
sender_prepare(int64 event_id, const char *msg_id, const char *endpoint, int attempts, int max_attempts,
			   const char *body, const char *url, const char *secret, int64 timeout_ms,
			   int nheaders, char **hnames, char **hvalues, bool follow, const char *ca_file)
{
	SenderTransfer *t = MemoryContextAllocZero(sender_cxt, sizeof(SenderTransfer));
	uint8		key[PGM_WH_KEY_MAX];
	int			keylen = pgm_wh_decode_secret(secret, key, sizeof(key));
	char		sig[PGM_WH_SIGNATURE_LEN];
	char		hdr[256];
	int64		now_s = (int64) time(NULL);
	CURL	   *easy;

	t->event_id = event_id;
	strlcpy(t->msg_id, msg_id, sizeof(t->msg_id));
	strlcpy(t->endpoint, endpoint, sizeof(t->endpoint));
	t->attempts = attempts;
	t->max_attempts = max_attempts;
	t->body = MemoryContextStrdup(sender_cxt, body);

	if (keylen < 0 || !pgm_wh_sign(key, keylen, t->msg_id, now_s, t->body, strlen(t->body), sig))
		sig[0] = '\0';
	explicit_bzero(key, sizeof(key));

	t->headers = sender_add_header(NULL, "Content-Type: application/json");
	t->headers = sender_add_header(t->headers, "Expect:");
	snprintf(hdr, sizeof(hdr), "webhook-id: %s", t->msg_id);
	t->headers = sender_add_header(t->headers, hdr);
	snprintf(hdr, sizeof(hdr), "webhook-timestamp: " INT64_FORMAT, now_s);
	t->headers = sender_add_header(t->headers, hdr);
	if (sig[0])
	{
		snprintf(hdr, sizeof(hdr), "webhook-signature: %s", sig);
		t->headers = sender_add_header(t->headers, hdr);
	}
	for (int i = 0; i < nheaders; i++)
	{
		char	   *line;

		if (!sender_header_ok(hnames[i], hvalues[i]))
		{
			/* not sent: the delivery fails (and is retried) with this error */
			snprintf(t->bad_header, sizeof(t->bad_header), "%.60s", hnames[i]);
			continue;
		}
		line = psprintf("%s: %s", hnames[i], hvalues[i]);
		t->headers = sender_add_header(t->headers, line);
		explicit_bzero(line, strlen(line));
		pfree(line);
	}

	easy = nidle > 0 ? idle_handles[--nidle] : curl_easy_init();
	if (easy == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not create a libcurl handle")));
	t->easy = easy;
	sender_origin(t, url);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* never from https to http */
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, t->https ? "https" : "http,https");
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, sender_opensocket_cb);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t);
	curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, sender_prereq_cb);
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, t);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(easy, CURLOPT_POSTREDIR, (long) CURL_REDIR_POST_ALL);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) strlen(t->body));
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, PGM_USER_AGENT);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sender_write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	return t;
}

/* delay before the next attempt, after "failed" failed attempts */
static int64
sender_backoff_ms(int failed, int64 retry_after_s)
{
	double		delay = pgm_webhook_retry_min_ms;
	double		cap = (double) pgm_webhook_retry_max_s * 1000.0;
	int			i;

	for (i = 1; i < failed && delay < cap; i++)
		delay *= 2;
	delay = Min(delay, cap);
	delay = delay / 2 + pg_prng_double(&pg_global_prng_state) * delay / 2;	/* equal jitter */
	if (retry_after_s > 0)
		delay = Max(delay, (double) Min(retry_after_s, SENDER_RETRY_AFTER_MAX) * 1000.0);
	return (int64) delay;
}

static bool
sender_retryable_curl_error(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_TOO_MANY_REDIRECTS:
		case CURLE_NOT_BUILT_IN:
			return false;
		default:
			return true;
	}
}

/* a transfer finished: turn it into a result, recycle its handle */
static void
sender_done(CURL *easy, CURLcode rc, void *arg)
{
	SenderTransfer *t = NULL;
	SenderResult *r;
	long		http = 0;
	curl_off_t	retry_after = -1;
	bool		retry;
	int			i;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);
	if (nresults == 0)
		results_since = GetCurrentTimestamp();
	r = &results[nresults++];
	memset(r, 0, sizeof(*r));
	r->event_id = t->event_id;
	strlcpy(r->endpoint, t->endpoint, sizeof(r->endpoint));
	r->at = GetCurrentTimestamp();
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
	r->http_status = (int) http;

	/* a response body too long to read: its status stands */
	if (rc == CURLE_WRITE_ERROR && t->body_capped && http > 0)
		rc = CURLE_OK;

	r->outcome = OUTCOME_DEAD;
	r->counts = true;
	r->health = 0;				/* our own refusals say nothing of the endpoint */
	if (t->bad_header[0])
	{
		retry = true;
		snprintf(r->error, sizeof(r->error),
				 "header \"%s\" of the endpoint has an invalid name or value: not sent (fix pgm_endpoint.headers)",
				 t->bad_header);
	}
	else if (t->refused[0] && rc != CURLE_OK)
	{
		retry = false;
		snprintf(r->error, sizeof(r->error), "%s (see pgmanage.webhook_allow_addresses)", t->refused);
	}
	else if (t->redirect_refused[0] && rc != CURLE_OK)
	{
		/* the endpoint answered (with a redirect we do not follow): it is up */
		retry = false;
		r->health = 1;
		snprintf(r->error, sizeof(r->error), "%s", t->redirect_refused);
	}
	else if (rc == CURLE_UNSUPPORTED_PROTOCOL && t->https)
	{
		/* the URL itself is https: only a redirect can lead elsewhere */
		retry = false;
		r->health = 1;
		snprintf(r->error, sizeof(r->error), "%s%s",
				 "redirect refused: an https URL is never followed to another protocol; ",
				 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
	}
	else if (rc == CURLE_OK && http >= 200 && http < 300)
	{
		r->outcome = OUTCOME_DELIVERED;
		r->health = 1;
		retry = false;
	}
	else if (rc == CURLE_OK)
	{
		retry = (http == 408 || http == 429 || (http >= 500 && http < 600));
		/* an endpoint that answers 4xx is up (the event is at fault), one that answers 5xx is not */
		r->health = retry ? -1 : 1;
		if (http >= 300 && http < 400)
			snprintf(r->error, sizeof(r->error), "HTTP %ld: redirect not followed (follow_redirects is off)", http);
		else
		{
			sender_clean_text(t->snippet, SENDER_SNIPPET);
			snprintf(r->error, sizeof(r->error), "HTTP %ld%s%s", http,
					 t->snippet[0] ? ": " : "", t->snippet);
		}
		curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
	}
	else
	{
		retry = sender_retryable_curl_error(rc);
		/* refused, reset, timed out, not resolved, TLS: the endpoint is not reachable */
		r->health = retry ? -1 : 0;
		snprintf(r->error, sizeof(r->error), "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
	}
	sender_clean_text(r->error, SENDER_ERROR_MAX);
	if (r->health < 0)
		results_failed = true;
	if (t->probe && r->health < 0)
	{
		/*
		 * A failed probe of an open circuit: the endpoint is still down,
		 * which says nothing of this event.  It does not count as an
		 * attempt (an open circuit alone never makes a delivery dead); its
		 * next attempt moves on, so the next probe takes another delivery.
		 */
		r->outcome = OUTCOME_RETRY;
		r->counts = false;
		r->next_at = TimestampTzPlusMilliseconds(r->at,
												 sender_backoff_ms(t->attempts + 1, (int64) retry_after));
	}
	else if (r->outcome != OUTCOME_DELIVERED && retry && t->attempts + 1 < t->max_attempts)
	{
		r->outcome = OUTCOME_RETRY;
		r->next_at = TimestampTzPlusMilliseconds(r->at,
												 sender_backoff_ms(t->attempts + 1, (int64) retry_after));
	}

	/* forget the transfer, keep the handle (its connection stays in the multi's pool) */
	for (i = 0; i < ninflight; i++)
		if (inflight[i] == t)
		{
			memmove(&inflight[i], &inflight[i + 1], sizeof(SenderTransfer *) * (ninflight - i - 1));
			ninflight--;
			break;
		}
	if (t->started)
		nstarted--;
	curl_easy_reset(easy);
	if (nidle < inflight_cap)
		idle_handles[nidle++] = easy;
	else
		curl_easy_cleanup(easy);
	curl_slist_free_all(t->headers);
	pfree(t->body);
	if (t->url)
		pfree(t->url);
	pfree(t);
}

/* a transfer that will not be started: free it, keep its handle */
static void
sender_free_transfer(SenderTransfer *t)
{
	curl_easy_reset(t->easy);
	if (nidle < inflight_cap)
		idle_handles[nidle++] = t->easy;
	else
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	pfree(t->body);
	if (t->url)
		pfree(t->url);
	pfree(t);
}

/*
 * Start prepared transfers while slots are free, in the order they were
 * read, each endpoint within its share (a probe always goes).
 */
static void
sender_start_queued(void)
{
	int			i;

	for (i = 0; i < ninflight && nstarted < pgm_max_concurrent_deliveries; i++)
	{
		SenderTransfer *t = inflight[i];
		int			busy = 0;
		int			j;

		if (t->started)
			continue;
		for (j = 0; j < ninflight; j++)
			if (inflight[j]->started && strcmp(inflight[j]->endpoint, t->endpoint) == 0)
				busy++;
		if (busy >= sender_share && !t->probe)
			continue;
		/* its endpoint just failed: wait for the sync that may open its circuit */
		for (j = 0; j < nresults; j++)
			if (results[j].health < 0 && strcmp(results[j].endpoint, t->endpoint) == 0)
				break;
		if (j < nresults)
			continue;
		t->started = true;
		nstarted++;
		if (t->bad_header[0])
		{
			sender_done(t->easy, CURLE_BAD_FUNCTION_ARGUMENT, NULL);	/* never sent */
			i--;				/* sender_done removed it from inflight[] */
		}
		else
			pgm_http_loop_add(sender_loop, t->easy);
	}
}

/* ---- the sync transaction ---- */

/*
 * The sync's statements, prepared once per process (SPI_keepplan): a
 * backlog drains in many syncs, and parsing and planning them in each was
 * a tenth of the sender's CPU.  Those whose only good plan is the same
 * whatever the tables hold keep a generic plan; the UPDATE of the results
 * is planned again each time (a custom plan that knows the batch's size),
 * see sender_record_results.  The plan cache re-plans them when a table
 * they read changes (DROP/CREATE EXTENSION included).
 */
typedef enum SenderPlan
{
	PLAN_ENDPOINTS,
	PLAN_FETCH,
	PLAN_NEXT_DUE,
	PLAN_RECORD,
	PLAN_COUNT
} SenderPlan;

static SPIPlanPtr sender_plans[PLAN_COUNT];

static SPIPlanPtr
sender_plan(SenderPlan which, const char *sql, int nargs, Oid *types, int cursor_options)
{
	if (sender_plans[which] == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, cursor_options);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "pgmanage sender: could not prepare a statement: %s",
				 SPI_result_code_string(SPI_result));
		sender_plans[which] = plan;
	}
	return sender_plans[which];
}

/*
 * Plan by the primary keys and the due index, whatever the statistics say.
 * Right after a burst of events they say the outbox is nearly empty, and
 * the planner joined the batch's results to a bitmap scan of every pending
 * delivery (a hash join), so each sync read the whole backlog: O(backlog)
 * per sync.  Every statement of the sync is a lookup by key or an ordered
 * range of the due index, joined by nested loops; these settings (for the
 * sync's transaction only) leave the planner no other kind of scan or join.
 */
static void
sender_planner_settings(void)
{
	static const char *const off[] = {"enable_seqscan", "enable_bitmapscan", "enable_hashjoin",
	"enable_mergejoin"};
	int			i;

	for (i = 0; i < lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
}

static ArrayType *
sender_array(Datum *elems, bool *nulls, int n, Oid type)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		byval;
	char		align;

	get_typlenbyvalalign(type, &typlen, &byval, &align);
	return construct_md_array(elems, nulls, 1, dims, lbs, type, typlen, byval, align);
}

/*
 * Record the results (one UPDATE); the caller's transaction commits them.
 * Each row is found by its primary key, whatever the statistics say: the
 * "pending" condition is compared with an uncorrelated subquery, not a
 * literal, so the planner cannot prove the due index's predicate and read
 * the backlog from it (right after a burst the statistics say nothing is
 * pending; each sync then read every pending row, O(backlog) per sync),
 * and the plan is made for each batch (it knows the batch's size).  Where
 * the statistics say the table is empty (reltuples 0 after a VACUUM that
 * could not truncate it), the planner may still scan the table and probe
 * the batch for each row: "event_id = ANY" keeps that scan to the batch's
 * own rows (measured: 29 ms for 128 results in 20,000 pending rows, where
 * the scan of all of them took 4.2 s).
 */
static void
sender_record_results(void)
{
	Datum	   *ids = palloc(sizeof(Datum) * nresults);
	Datum	   *eps = palloc(sizeof(Datum) * nresults);
	Datum	   *sts = palloc(sizeof(Datum) * nresults);
	Datum	   *ats = palloc(sizeof(Datum) * nresults);
	Datum	   *nexts = palloc(sizeof(Datum) * nresults);
	Datum	   *https = palloc(sizeof(Datum) * nresults);
	Datum	   *errs = palloc(sizeof(Datum) * nresults);
	bool	   *next_nulls = palloc(sizeof(bool) * nresults);
	bool	   *http_nulls = palloc(sizeof(bool) * nresults);
	bool	   *err_nulls = palloc(sizeof(bool) * nresults);
	Datum	   *cnts = palloc(sizeof(Datum) * nresults);
	Oid			types[8] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
	TIMESTAMPTZARRAYOID, INT4ARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	SPIPlanPtr	plan;
	Datum		values[8];
	int			i;

	for (i = 0; i < nresults; i++)
	{
		SenderResult *r = &results[i];

		ids[i] = Int64GetDatum(r->event_id);
		eps[i] = CStringGetTextDatum(r->endpoint);
		sts[i] = CStringGetTextDatum(r->outcome == OUTCOME_DELIVERED ? "delivered" :
									 r->outcome == OUTCOME_DEAD ? "dead" : "pending");
		ats[i] = TimestampTzGetDatum(r->at);
		nexts[i] = TimestampTzGetDatum(r->next_at);
		next_nulls[i] = (r->outcome != OUTCOME_RETRY);
		https[i] = Int32GetDatum(r->http_status);
		http_nulls[i] = (r->http_status == 0);
		/* curl's messages are ASCII; keep only what the database encoding accepts */
		errs[i] = CStringGetTextDatum(r->error);
		err_nulls[i] = (r->error[0] == '\0');
		cnts[i] = Int32GetDatum(r->counts ? 1 : 0);
	}
	values[0] = PointerGetDatum(sender_array(ids, NULL, nresults, INT8OID));
	values[1] = PointerGetDatum(sender_array(eps, NULL, nresults, TEXTOID));
	values[2] = PointerGetDatum(sender_array(sts, NULL, nresults, TEXTOID));
	values[3] = PointerGetDatum(sender_array(ats, NULL, nresults, TIMESTAMPTZOID));
	values[4] = PointerGetDatum(sender_array(nexts, next_nulls, nresults, TIMESTAMPTZOID));
	values[5] = PointerGetDatum(sender_array(https, http_nulls, nresults, INT4OID));
	values[6] = PointerGetDatum(sender_array(errs, err_nulls, nresults, TEXTOID));
	values[7] = PointerGetDatum(sender_array(cnts, NULL, nresults, INT4OID));

	plan = sender_plan(PLAN_RECORD,
					   "UPDATE " PGM_SCHEMA ".pgm_delivery d SET status = r.status,"
			 " attempts = d.attempts OPERATOR(pg_catalog.+) r.counts,"
			 " last_attempt_at = r.at,"
			 " next_attempt_at = COALESCE(r.next_at, d.next_attempt_at),"
			 " last_http_status = r.http,"
			 " last_error = r.err,"
			 " delivered_at = CASE WHEN r.status OPERATOR(pg_catalog.=) 'delivered' THEN r.at END"
			  " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
			 "  pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7),"
			 "  pg_catalog.unnest($8))"
			 "  AS r(event_id, endpoint, status, at, next_at, http, err, counts)"
			 " WHERE d.event_id OPERATOR(pg_catalog.=) r.event_id AND d.endpoint OPERATOR(pg_catalog.=) r.endpoint"
			 " AND d.status OPERATOR(pg_catalog.=) (SELECT 'pending'::pg_catalog.text)"
			 " AND d.event_id OPERATOR(pg_catalog.=) ANY ($1)",
					   8, types, CURSOR_OPT_CUSTOM_PLAN);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update pgm_delivery");
}

/* circuit states (pgm_endpoint_circuit.circuit) */
typedef enum SenderCircuit
{
	CIRCUIT_CLOSED,
	CIRCUIT_OPEN,
	CIRCUIT_HALF_OPEN
} SenderCircuit;

static const char *const sender_circuit_names[] = {"closed", "open", "half_open"};

/* an endpoint with its circuit, as read at the start of a sync */
typedef struct SenderEndpoint
{
	char	   *name;
	bool		enabled;
	char	   *url;
	char	   *secret;
	int64		timeout_ms;
	int			nheaders;		/* extra headers: names and values */
	char	  **hnames;
	char	  **hvalues;
	bool		follow;
	char	   *ca_file;		/* or NULL */
	int			max_attempts;
	/* its circuit (no row: closed) */
	SenderCircuit circuit;
	int			failures;		/* consecutive failed attempts */
	TimestampTz opened_at;		/* 0: NULL */
	TimestampTz next_probe_at;	/* 0: NULL */
	TimestampTz last_failure_at;	/* 0: NULL */
	char		last_error[SENDER_ERROR_MAX + 1];
	bool		dirty;			/* to be written back */
	bool		release;		/* closed again: make its backlog due now */
} SenderEndpoint;

static int	sender_rotation = 0;

static char *
sender_value(HeapTuple tup, TupleDesc desc, int col)
{
	return SPI_getvalue(tup, desc, col);	/* NULL for NULL */
}

/* a text[] (never NULL, no NULL elements) as C strings */
static void
sender_text_array(Datum d, char ***out, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	*out = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		(*out)[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
}

static TimestampTz
sender_ts_or_zero(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetTimestampTz(d);
}

/* every endpoint with its circuit, by name */
static SenderEndpoint *
sender_read_endpoints(int *neps)
{
	SenderEndpoint *eps;
	uint64		i;
	bool		isnull;
	SPIPlanPtr	plan;

	plan = sender_plan(PLAN_ENDPOINTS,
					   "SELECT ep.name, ep.url, ep.secret,"
					" (pg_catalog.date_part('epoch', ep.timeout) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8,"
					" ARRAY(SELECT h.key FROM pg_catalog.jsonb_each_text(ep.headers) h ORDER BY h.key),"
					" ARRAY(SELECT h.value FROM pg_catalog.jsonb_each_text(ep.headers) h ORDER BY h.key),"
					" ep.follow_redirects, ep.ca_file, ep.max_attempts, ep.enabled,"
					" c.circuit, c.consecutive_failures, c.opened_at, c.next_probe_at, c.last_failure_at,"
					" c.last_error"
					" FROM " PGM_SCHEMA ".pgm_endpoint ep"
					" LEFT JOIN " PGM_SCHEMA ".pgm_endpoint_circuit c ON c.endpoint OPERATOR(pg_catalog.=) ep.name"
					" ORDER BY ep.name", 0, NULL, CURSOR_OPT_GENERIC_PLAN);

	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pgm_endpoint");
	*neps = (int) SPI_processed;
	eps = palloc0(sizeof(SenderEndpoint) * Max(*neps, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SenderEndpoint *ep = &eps[i];
		char	   *circuit;
		char	   *err;

		ep->name = sender_value(tup, desc, 1);
		ep->url = sender_value(tup, desc, 2);
		ep->secret = sender_value(tup, desc, 3);
		ep->timeout_ms = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		sender_text_array(SPI_getbinval(tup, desc, 5, &isnull), &ep->hnames, &ep->nheaders);
		sender_text_array(SPI_getbinval(tup, desc, 6, &isnull), &ep->hvalues, &ep->nheaders);
		ep->follow = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		ep->ca_file = sender_value(tup, desc, 8);
		ep->max_attempts = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		ep->enabled = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
		circuit = sender_value(tup, desc, 11);
		ep->circuit = circuit == NULL ? CIRCUIT_CLOSED :
			strcmp(circuit, "open") == 0 ? CIRCUIT_OPEN :
			strcmp(circuit, "half_open") == 0 ? CIRCUIT_HALF_OPEN : CIRCUIT_CLOSED;
		ep->failures = DatumGetInt32(SPI_getbinval(tup, desc, 12, &isnull));
		if (isnull)
			ep->failures = 0;
		ep->opened_at = sender_ts_or_zero(tup, desc, 13);
		ep->next_probe_at = sender_ts_or_zero(tup, desc, 14);
		ep->last_failure_at = sender_ts_or_zero(tup, desc, 15);
		err = sender_value(tup, desc, 16);
		strlcpy(ep->last_error, err ? err : "", sizeof(ep->last_error));
		/* the breaker turned off: every circuit is closed */
		if (pgm_webhook_circuit_failures == 0 && ep->circuit != CIRCUIT_CLOSED)
		{
			ep->circuit = CIRCUIT_CLOSED;
			ep->opened_at = ep->next_probe_at = 0;
			ep->dirty = ep->release = true;
		}
	}
	return eps;
}

static SenderEndpoint *
sender_find_endpoint(SenderEndpoint *eps, int neps, const char *name)
{
	int			lo = 0;
	int			hi = neps - 1;

	/* sorted by name (ORDER BY name, C collation not assumed: linear fallback) */
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(eps[mid].name, name);

		if (c == 0)
			return &eps[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	for (lo = 0; lo < neps; lo++)
		if (strcmp(eps[lo].name, name) == 0)
			return &eps[lo];
	return NULL;
}

/*
 * Move the circuits by the results about to be recorded, in the order the
 * transfers ended: an answer closes a circuit (and releases its backlog),
 * a failure counts, the Nth in a row opens it, a failed probe opens it
 * again.  Transitions to and from open are logged once each.
 */
static void
sender_circuit_apply(SenderEndpoint *eps, int neps)
{
	int			i;

	for (i = 0; i < nresults; i++)
	{
		SenderResult *r = &results[i];
		SenderEndpoint *ep;

		if (r->health == 0 || (ep = sender_find_endpoint(eps, neps, r->endpoint)) == NULL)
			continue;
		if (r->health > 0)
		{
			if (ep->circuit != CIRCUIT_CLOSED)
			{
				ereport(LOG,
						(errmsg("pgmanage sender: endpoint \"%s\" answers again: circuit closed, its backlog is due now",
								ep->name)));
				ep->circuit = CIRCUIT_CLOSED;
				ep->opened_at = ep->next_probe_at = 0;
				ep->release = true;
				ep->dirty = true;
			}
			if (ep->failures != 0)
			{
				ep->failures = 0;
				ep->dirty = true;
			}
			continue;
		}
		/* a failure */
		if (ep->failures < INT_MAX)
			ep->failures++;
		ep->last_failure_at = r->at;
		strlcpy(ep->last_error, r->error, sizeof(ep->last_error));
		ep->dirty = true;
		if (pgm_webhook_circuit_failures == 0)
			continue;
		if (ep->circuit == CIRCUIT_HALF_OPEN ||
			(ep->circuit == CIRCUIT_CLOSED && ep->failures >= pgm_webhook_circuit_failures))
		{
			if (ep->circuit == CIRCUIT_CLOSED)
			{
				ereport(LOG,
						(errmsg("pgmanage sender: endpoint \"%s\" failed %d times in a row: circuit open, one probe every %d ms",
								ep->name, ep->failures, pgm_webhook_circuit_probe_interval_ms),
						 errdetail("Last error: %s", r->error[0] ? r->error : "(none)"),
						 errhint("Its deliveries wait; see pgm_endpoint_circuits().")));
				ep->opened_at = r->at;
			}
			ep->circuit = CIRCUIT_OPEN;
			ep->next_probe_at = TimestampTzPlusMilliseconds(r->at, pgm_webhook_circuit_probe_interval_ms);
		}
		/* open already: a late result of a transfer started before it opened */
	}
}

/* write the circuits that changed, release the backlogs of those closed again */
static void
sender_circuit_write(SenderEndpoint *eps, int neps, bool releases_only)
{
	int			k;

	for (k = 0; k < neps; k++)
	{
		SenderEndpoint *ep = &eps[k];
		Oid			types[7] = {TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TEXTOID};
		Datum		values[7];
		char		nulls[7];

		if (releases_only)
		{
			if (!ep->release)
				continue;
			ep->release = false;
			values[0] = CStringGetTextDatum(ep->name);
			if (SPI_execute_with_args("UPDATE " PGM_SCHEMA ".pgm_delivery SET next_attempt_at = pg_catalog.now()"
									  " WHERE endpoint OPERATOR(pg_catalog.=) $1"
									  " AND status OPERATOR(pg_catalog.=) 'pending'"
									  " AND next_attempt_at OPERATOR(pg_catalog.>) pg_catalog.now()",
									  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update pgm_delivery");
			continue;
		}
		if (!ep->dirty)
			continue;
		ep->dirty = false;
		memset(nulls, ' ', sizeof(nulls));
		values[0] = CStringGetTextDatum(ep->name);
		values[1] = CStringGetTextDatum(sender_circuit_names[ep->circuit]);
		values[2] = Int32GetDatum(ep->failures);
		values[3] = TimestampTzGetDatum(ep->opened_at);
		nulls[3] = ep->opened_at ? ' ' : 'n';
		values[4] = TimestampTzGetDatum(ep->next_probe_at);
		nulls[4] = ep->next_probe_at ? ' ' : 'n';
		values[5] = TimestampTzGetDatum(ep->last_failure_at);
		nulls[5] = ep->last_failure_at ? ' ' : 'n';
		values[6] = CStringGetTextDatum(ep->last_error);
		nulls[6] = ep->last_error[0] ? ' ' : 'n';
		if (SPI_execute_with_args("INSERT INTO " PGM_SCHEMA ".pgm_endpoint_circuit AS c"
								  " (endpoint, circuit, consecutive_failures, opened_at, next_probe_at,"
								  "  last_failure_at, last_error, changed_at)"
								  " SELECT $1, $2, $3, $4, $5, $6, $7, pg_catalog.now()"
								  " WHERE EXISTS (SELECT 1 FROM " PGM_SCHEMA ".pgm_endpoint"
								  "               WHERE name OPERATOR(pg_catalog.=) $1)"
								  " ON CONFLICT (endpoint) DO UPDATE SET circuit = EXCLUDED.circuit,"
								  " consecutive_failures = EXCLUDED.consecutive_failures,"
								  " opened_at = EXCLUDED.opened_at, next_probe_at = EXCLUDED.next_probe_at,"
								  " last_failure_at = EXCLUDED.last_failure_at, last_error = EXCLUDED.last_error,"
								  " changed_at = CASE WHEN c.circuit OPERATOR(pg_catalog.=) EXCLUDED.circuit"
								  "   THEN c.changed_at ELSE EXCLUDED.changed_at END",
								  7, types, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write pgm_endpoint_circuit");
	}
}

/* prepared transfers of endpoints now open, disabled or gone are not started */
static void
sender_drop_queued(SenderEndpoint *eps, int neps)
{
	int			i;

	for (i = 0; i < ninflight; i++)
	{
		SenderTransfer *t = inflight[i];
		SenderEndpoint *ep;

		if (t->started || t->probe)
			continue;
		ep = sender_find_endpoint(eps, neps, t->endpoint);
		if (ep != NULL && ep->enabled && ep->circuit == CIRCUIT_CLOSED)
			continue;
		memmove(&inflight[i], &inflight[i + 1], sizeof(SenderTransfer *) * (ninflight - i - 1));
		ninflight--;
		i--;
		sender_free_transfer(t);
	}
}

/*
 * Read up to "room" due deliveries that are not in flight and prepare
 * their transfers into *out; return how many.  Endpoints are served in
 * turn (the first one rotates), each from its own ordered index range, so
 * a backlog on one endpoint costs the others nothing and each read is
 * O(batch), whatever the backlog.  An endpoint whose circuit is open gets
 * nothing until its next probe is due, then one probe (its circuit goes
 * half_open) and nothing more while that probe is in flight.  *next_due:
 * when the next pending delivery or probe falls due (0: none known); "now"
 * when more are due already.
 */
static int
sender_fetch(SenderEndpoint *eps, int neps, int room, SenderTransfer **out, TimestampTz *next_due)
{
	SPIPlanPtr	plan;
	SPIPlanPtr	nx_plan;
	Oid			types[3] = {TEXTOID, INT4OID, TIMESTAMPTZOID};
	Oid			ntypes[2] = {TEXTOID, TIMESTAMPTZOID};
	int			nactive = 0;
	int			share;			/* slots one endpoint may hold */
	int			n = 0;
	int			k;
	uint64		i;
	bool		isnull;
	TimestampTz now = GetCurrentTimestamp();

	*next_due = 0;
	for (k = 0; k < neps; k++)
		if (eps[k].enabled && eps[k].circuit == CIRCUIT_CLOSED)
			nactive++;
	if (neps == 0)
		return 0;
	/* (an open circuit holds one slot at most: it takes no share from the others) */
	share = Max(1, pgm_max_concurrent_deliveries - Min(Max(nactive, 1) - 1, pgm_max_concurrent_deliveries / 2));
	sender_share = share;

	/* the due deliveries of one endpoint, from the partial index, then their bodies */
	plan = sender_plan(PLAN_FETCH,
					   "SELECT d.event_id, d.attempts, e.body, e.webhook_id"
			 " FROM (SELECT event_id, attempts, next_attempt_at FROM " PGM_SCHEMA ".pgm_delivery"
			 "       WHERE status OPERATOR(pg_catalog.=) 'pending' AND endpoint OPERATOR(pg_catalog.=) $1"
			 "       AND next_attempt_at OPERATOR(pg_catalog.<=) $3"
			 "       ORDER BY next_attempt_at, event_id LIMIT $2) d,"
			 " LATERAL (SELECT payload::pg_catalog.text AS body, webhook_id FROM " PGM_SCHEMA ".pgm_event"
			 "          WHERE id OPERATOR(pg_catalog.=) d.event_id OFFSET 0) e"
			 " ORDER BY d.next_attempt_at, d.event_id", 3, types, CURSOR_OPT_GENERIC_PLAN);
	nx_plan = sender_plan(PLAN_NEXT_DUE,
						  "SELECT next_attempt_at FROM " PGM_SCHEMA ".pgm_delivery"
			 " WHERE status OPERATOR(pg_catalog.=) 'pending' AND endpoint OPERATOR(pg_catalog.=) $1"
			 " AND next_attempt_at OPERATOR(pg_catalog.>) $2"
			 " ORDER BY next_attempt_at LIMIT 1", 2, ntypes, CURSOR_OPT_GENERIC_PLAN);

	for (k = 0; k < neps && n < room; k++)
	{
		SenderEndpoint *ep = &eps[(k + sender_rotation) % neps];
		Datum		values[3];
		int			busy = 0;
		int			before;
		int			take;
		int			limit;
		int			j;
		uint64		got;
		bool		probe = false;

		if (!ep->enabled)
			continue;
		for (j = 0; j < ninflight; j++)
			if (strcmp(inflight[j]->endpoint, ep->name) == 0)
				busy++;
		values[0] = CStringGetTextDatum(ep->name);
		values[2] = TimestampTzGetDatum(now);
		if (ep->circuit != CIRCUIT_CLOSED)
		{
			/*
			 * Open: nothing until the probe is due, nor while a transfer is
			 * still out (one started before it opened, or the probe: its end
			 * brings a sync).  Then the first pending delivery, due or not,
			 * is the probe.
			 */
			if (busy > 0)
				continue;
			if (ep->circuit == CIRCUIT_OPEN && ep->next_probe_at > now)
			{
				if (*next_due == 0 || ep->next_probe_at < *next_due)
					*next_due = ep->next_probe_at;
				continue;
			}
			probe = true;
			take = 1;
			limit = 1;
			values[2] = TimestampTzGetDatum(DT_NOEND);
		}
		else
		{
			/*
			 * Its share: every slot but one per other endpoint (but at least
			 * half of them), so a slow or dead endpoint never holds the slot
			 * another one needs, and many idle endpoints do not throttle a
			 * busy one.  An endpoint at its share is looked at again when one
			 * of its transfers ends (not "now": that would spin).  It may
			 * have sender_prefetch times its share read ahead (started as
			 * its slots free up, sender_start_queued).
			 */
			take = Min(room - n, share * sender_prefetch - busy);
			if (take <= 0)
				continue;
			limit = take + busy;
		}
		values[1] = Int32GetDatum(limit);
		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read pgm_delivery");
		got = SPI_processed;
		before = n;
		for (i = 0; i < got && n < room && n - before < take; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			int64		event_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));

			if (sender_is_inflight(event_id, ep->name))
				continue;
			out[n] = sender_prepare(event_id, sender_value(tup, desc, 4), ep->name,
									DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull)),
									ep->max_attempts, sender_value(tup, desc, 3),
									ep->url, ep->secret, ep->timeout_ms,
									ep->nheaders, ep->hnames, ep->hvalues,
									ep->follow, ep->ca_file);
			out[n]->probe = probe;
			n++;
		}
		if (probe)
		{
			if (n > before && ep->circuit == CIRCUIT_OPEN)
			{
				ep->circuit = CIRCUIT_HALF_OPEN;
				ep->dirty = true;
			}
			continue;			/* nothing pending: the circuit stays as it is */
		}
		if ((got == (uint64) limit || i < got) && busy + (n - before) < share * sender_prefetch)
			*next_due = now;	/* more are due already */
		else if (got == (uint64) limit || i < got)
			;					/* at its share: again when a transfer ends */
		else if (*next_due != now)
		{
			/* all that is due was seen: when is this endpoint's next one? */
			Datum		nvalues[2] = {values[0], values[2]};

			if (SPI_execute_plan(nx_plan, nvalues, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read pgm_delivery");
			if (SPI_processed == 1)
			{
				TimestampTz at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
																   SPI_tuptable->tupdesc, 1, &isnull));

				if (*next_due == 0 || at < *next_due)
					*next_due = at;
			}
		}
	}
	if (n >= room && k < neps)
		*next_due = now;		/* endpoints not looked at this time */
	sender_rotation = (sender_rotation + 1) % neps;
	return n;
}

/* wipe the secrets read with the endpoints */
static void
sender_wipe_endpoints(SenderEndpoint *eps, int neps)
{
	int			k;
	int			i;

	for (k = 0; k < neps; k++)
		if (eps[k].secret)
		{
			explicit_bzero(eps[k].secret, strlen(eps[k].secret));
			for (i = 0; i < eps[k].nheaders; i++)
				explicit_bzero(eps[k].hvalues[i], strlen(eps[k].hvalues[i]));
		}
}

/*
 * One sync: record results, read what is due.  Returns false on error (the
 * results are kept for the next try).  *next_due as in sender_fetch; the
 * new transfers are started after the commit.
 */
static bool
sender_sync(TimestampTz *next_due)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	SenderTransfer **fresh = palloc(sizeof(SenderTransfer *) * Max(inflight_cap, 1));
	volatile int nfresh = 0;
	volatile bool ok = true;
	volatile bool found = true;
	int			i;

	*next_due = 0;
	PG_TRY();
	{
		char		problem[PGM_ERROR_LEN];

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "webhook sync");
		sender_planner_settings();

		if (!pgm_extension_ready(problem, sizeof(problem)))
			found = false;
		else
		{
			int			neps;
			SenderEndpoint *eps = sender_read_endpoints(&neps);

			if (nresults > 0)
			{
				sender_circuit_apply(eps, neps);
				sender_record_results();
				sender_circuit_write(eps, neps, true);	/* released backlogs: due now */
			}
			sender_drop_queued(eps, neps);
			if (ninflight < inflight_cap)
				nfresh = sender_fetch(eps, neps, inflight_cap - ninflight, fresh, next_due);
			sender_circuit_write(eps, neps, false);
			sender_wipe_endpoints(eps, neps);
		}
		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		pgm_child_recover(oldcxt, NULL);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	pgstat_report_activity(STATE_IDLE, NULL);

	if (!ok)
	{
		/* prepared transfers of a failed sync are not started */
		for (i = 0; i < nfresh; i++)
			sender_free_transfer(fresh[i]);
		pfree(fresh);
		return false;
	}
	/* committed: the results are recorded (or their rows are gone with the extension) */
	nresults = 0;
	results_failed = false;
	if (found)
		pgm_child_error_cleared();
	for (i = 0; i < nfresh; i++)
		inflight[ninflight++] = fresh[i];
	pfree(fresh);
	sender_start_queued();
	return true;
}

/* ---- the process ---- */

static long
sender_ms_until(TimestampTz now, TimestampTz at)
{
	long		secs;
	int			usecs;

	if (at <= now)
		return 0;
	TimestampDifference(now, at, &secs, &usecs);
	return secs * 1000 + (usecs + 999) / 1000;
}

void
pgm_sender_main(Datum arg)
{
	WaitEventSet *wes;
	TimestampTz next_poll = 0;
	TimestampTz next_due = 0;
	TimestampTz sync_blocked_until = 0;
	bool		woken = true;

	sender_status = pgm_child_start(PGM_CHILD_SENDER, "pgmanage sender");
	/* a result lost in a crash only means one more delivery: no WAL flush wait */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	sender_cxt = AllocSetContextCreate(TopMemoryContext, "pgmanage sender", ALLOCSET_DEFAULT_SIZES);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("pgmanage sender: could not initialize libcurl")));
	sender_loop = pgm_http_loop_create();
	pgm_http_loop_set_limits(sender_loop, pgm_max_concurrent_deliveries);
	sender_ensure_capacity();

	wes = pgm_create_wait_event_set(3);
	AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(wes, WL_SOCKET_READABLE, pgm_http_loop_fd(sender_loop), NULL, NULL);

	for (;;)
	{
		WaitEvent	events[3];
		TimestampTz now;
		long		timeout;
		long		curl_ms;
		int			nev;
		int			i;
		int			nqueued;
		bool		refill;
		bool		record;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			sender_ensure_capacity();
			pgm_http_loop_set_limits(sender_loop, pgm_max_concurrent_deliveries);
			woken = true;
		}

		if (pgm_http_loop_run(sender_loop, sender_done, NULL) > 0)
			sender_start_queued();	/* freed slots: no sync needed to fill them */
		now = GetCurrentTimestamp();

		/*
		 * Sync when woken (an event committed), at the poll, to read ahead
		 * when fewer than a slot's worth of prepared transfers are left and
		 * more are due, and to record results: once nothing is in flight,
		 * when the room is results but for two slots' worth (at least half
		 * of it: one sync per ~200 deliveries of a backlog, not per ~100),
		 * at once when one is a failure (its
		 * endpoint's circuit may open: its prepared transfers wait for
		 * that), or after SENDER_RESULT_WAIT_MS.
		 */
		nqueued = ninflight - nstarted;
		refill = next_due != 0 && now >= next_due && ninflight < inflight_cap &&
			nqueued < pgm_max_concurrent_deliveries;
		record = nresults > 0 &&
			(nstarted == 0 ||
			 nresults >= Max(inflight_cap / 2, inflight_cap - 2 * pgm_max_concurrent_deliveries) ||
			 refill || results_failed ||
			 now >= TimestampTzPlusMilliseconds(results_since, SENDER_RESULT_WAIT_MS));

		if (RecoveryInProgress())
		{
			/* a standby sends nothing; pending deliveries wait for promotion */
			next_due = 0;
			next_poll = TimestampTzPlusMilliseconds(now, pgm_naptime_ms);
		}
		else if (now >= sync_blocked_until && (woken || now >= next_poll || refill || record))
		{
			if (nresults > 0 || ninflight < inflight_cap)
			{
				next_poll = TimestampTzPlusMilliseconds(now, pgm_naptime_ms);
				if (!sender_sync(&next_due))
				{
					/* retry the sync (results kept) after a naptime, not before */
					next_due = 0;
					sync_blocked_until = next_poll;
				}
			}
			woken = false;
		}

		LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
		sender_status->last_wake = now;
		sender_status->next_deadline = next_due;
		LWLockRelease(pgm_shared->lock);

		/* sleep until the latch, a socket, curl's timer, a due retry or the poll */
		now = GetCurrentTimestamp();
		timeout = sender_ms_until(now, next_poll);
		if (next_due != 0 && ninflight < inflight_cap &&
			ninflight - nstarted < pgm_max_concurrent_deliveries)
			timeout = Min(timeout, sender_ms_until(now, next_due));
		if (nresults > 0)
			timeout = Min(timeout, sender_ms_until(now, TimestampTzPlusMilliseconds(results_since,
																					SENDER_RESULT_WAIT_MS)));
		curl_ms = pgm_http_loop_timeout(sender_loop);
		if (curl_ms >= 0)
			timeout = Min(timeout, curl_ms);

		nev = WaitEventSetWait(wes, timeout, events, lengthof(events),
							   pgm_wait_event(&sender_wait_event, "PgmanageSenderMain"));
		for (i = 0; i < nev; i++)
			if (events[i].events & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				woken = true;
			}
	}
}
