/*-------------------------------------------------------------------------
 * webhooks/webhook.c
 *		The webhook outbox: endpoints' validation, putting events in the
 *		outbox (pgm_trigger_backup, pgm_emit_event and the C entry points),
 *		and waking the sender at commit (core's retention duty prunes it).
 *
 * pgm_event_enqueue() inserts one pgm_event row, whose JSON payload is
 * fixed there (it is the body of every attempt) with its webhook_id (the
 * webhook-id header of every attempt: "pgm_" and a random UUID from
 * gen_random_uuid(), 122 random bits, as 32 hex digits, so that no id
 * ever repeats, whatever happens to the event id sequence), and one
 * pgm_delivery row
 * per matching enabled endpoint (fan-out at enqueue time: an endpoint
 * added later does not receive older events).  It registers a transaction
 * callback that sets the sender's latch at COMMIT only: a rollback sends
 * nothing, and wakes nobody.
 *
 * pgm_endpoint rows are checked by a BEFORE trigger rather than CHECK or
 * NOT NULL constraints, because a constraint violation's DETAIL prints the
 * whole row, secret included, to the client and the server log.  Errors
 * here name the endpoint and the column, never a secret (nor the URL,
 * which may carry a token), and hide the statement from the server log
 * (errhidestmt), whose text holds the secret.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include <curl/curl.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "common/base64.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/compat.h"
#include "webhooks/webhooks.h"

PG_FUNCTION_INFO_V1(pgm_trigger_backup);
PG_FUNCTION_INFO_V1(pgm_emit_event);
PG_FUNCTION_INFO_V1(pgm_webhook_secret);
PG_FUNCTION_INFO_V1(pgm_webhook_signature);
PG_FUNCTION_INFO_V1(pgm_endpoint_check);
PG_FUNCTION_INFO_V1(pgm_webhook_wake);


/* statement trigger on pgm_endpoint: an endpoint enabled or fixed may have work */
Datum
pgm_webhook_wake(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgm_webhook_wake() must be called as a trigger")));
	pgm_wake_at_commit(PGM_CHILD_SENDER, NULL);
	return PointerGetDatum(NULL);
}

/* ---- the outbox ---- */

static bool
webhook_valid_kind(const char *kind)
{
	int			i;

	if (kind[0] < 'a' || kind[0] > 'z')
		return false;
	for (i = 0; kind[i]; i++)
	{
		char		c = kind[i];

		if (i >= NAMEDATALEN - 1 ||
			!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/*
 * The sender delivers only what is queued in pgmanage.database: elsewhere
 * an event would wait forever, so queuing one is an error (as
 * pgm_schedule_backup refuses a job there).
 */
static void
webhook_check_database(void)
{
	char	   *db;

	if (pgm_database == NULL || !OidIsValid(MyDatabaseId))
		return;
	db = get_database_name(MyDatabaseId);
	if (db != NULL && strcmp(db, pgm_database) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgmanage webhook events are sent from database \"%s\", not \"%s\"",
						pgm_database, db),
				 errdetail("The sender delivers only the events queued in the database named by pgmanage.database."),
				 errhint("Connect to the database named by pgmanage.database.")));
}

static const char *
webhook_host_name(void)
{
	static char host[256];

	if (host[0] == '\0' && gethostname(host, sizeof(host) - 1) != 0)
		strlcpy(host, "unknown", sizeof(host));
	return host;
}

/*
 * See webhook.h.  Runs its statements through SPI (connecting a nested SPI
 * if the caller has one).  Nothing may depend on search_path: every name
 * is qualified.
 */
int64
pgm_event_enqueue(const char *kind, const char *label,
				  const char *endpoint, const char *data_json,
				  bool only_if_subscribed)
{
	char	   *requested_by;
	char		sql[3072];
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7];
	bool		isnull;
	int64		id;

	if (kind == NULL || !webhook_valid_kind(kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid event kind"),
				 errdetail("An event kind is a lowercase letter followed by at most 62 lowercase letters, digits or underscores.")));
	webhook_check_database();
	if (label != NULL && strlen(label) > PGM_WH_LABEL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label is too long"),
				 errdetail("A label is at most %d bytes.", PGM_WH_LABEL_MAX)));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot queue a webhook event during recovery"),
				 errhint("Queue events on the primary; a standby sends nothing until it is promoted.")));

	requested_by = GetUserNameFromId(GetOuterUserId(), true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (endpoint != NULL)
	{
		snprintf(sql, sizeof(sql),
				 "SELECT 1 FROM " PGM_SCHEMA ".pgm_endpoint WHERE name OPERATOR(pg_catalog.=) $1");
		values[0] = CStringGetTextDatum(endpoint);
		if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read pgm_endpoint");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("webhook endpoint \"%s\" does not exist", endpoint),
					 errhint("See the rows of pgm_endpoint.")));
	}
	else if (only_if_subscribed)
	{
		snprintf(sql, sizeof(sql),
				 "SELECT 1 FROM " PGM_SCHEMA ".pgm_endpoint WHERE enabled AND (event_kinds IS NULL"
				 " OR $1 OPERATOR(pg_catalog.=) ANY (event_kinds))");
		values[0] = CStringGetTextDatum(kind);
		if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read pgm_endpoint");
		if (SPI_processed == 0)
		{
			SPI_finish();
			return 0;
		}
	}

	/* the event: its payload is the body of every attempt */
	snprintf(sql, sizeof(sql),
			 "INSERT INTO " PGM_SCHEMA ".pgm_event (id, kind, payload, webhook_id)"
			 " SELECT n.id, $1, pg_catalog.jsonb_build_object("
			 "  'id', n.id, 'webhook_id', n.wid, 'kind', $1,"
			 "  'time', pg_catalog.to_char(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
			 "  'label', $2, 'requested_by', $3,"
			 "  'cluster', pg_catalog.jsonb_build_object("
			 "     'system_identifier', (pg_catalog.pg_control_system()).system_identifier::pg_catalog.text,"
			 "     'host', $4,"
			 "     'port', pg_catalog.current_setting('port')::pg_catalog.int4,"
			 "     'server_version', pg_catalog.current_setting('server_version'),"
			 "     'server_version_num', pg_catalog.current_setting('server_version_num')::pg_catalog.int4),"
			 "  'database', pg_catalog.current_database(),"
			 "  'wal_lsn', pg_catalog.pg_current_wal_lsn()::pg_catalog.text,"
			 "  'data', $5::pg_catalog.jsonb)"
			 "  OPERATOR(pg_catalog.||) CASE WHEN $1 OPERATOR(pg_catalog.=) 'backup'"
			 "   THEN pg_catalog.jsonb_build_object('database_size', pg_catalog.pg_database_size(pg_catalog.current_database()))"
			 "   ELSE '{}'::pg_catalog.jsonb END,"
			 "  n.wid"
			 " FROM (SELECT pg_catalog.nextval('" PGM_SCHEMA ".pgm_event_id_seq'::pg_catalog.regclass) AS id,"
			 "       'pgm_' OPERATOR(pg_catalog.||) pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text, '-', '') AS wid) n"
			 " RETURNING id");
	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(kind);
	values[1] = label ? CStringGetTextDatum(label) : (Datum) 0;
	nulls[1] = label ? ' ' : 'n';
	values[2] = requested_by ? CStringGetTextDatum(requested_by) : (Datum) 0;
	nulls[2] = requested_by ? ' ' : 'n';
	values[3] = CStringGetTextDatum(webhook_host_name());
	values[4] = data_json ? CStringGetTextDatum(data_json) : (Datum) 0;
	nulls[4] = data_json ? ' ' : 'n';
	if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not insert into pgm_event");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* fan-out: one delivery per endpoint */
	snprintf(sql, sizeof(sql),
			 "INSERT INTO " PGM_SCHEMA ".pgm_delivery (event_id, endpoint)"
			 " SELECT $1::pg_catalog.int8, name FROM " PGM_SCHEMA ".pgm_endpoint"
			 " WHERE CASE WHEN $3 IS NULL"
			 "  THEN enabled AND (event_kinds IS NULL OR $2 OPERATOR(pg_catalog.=) ANY (event_kinds))"
			 "  ELSE name OPERATOR(pg_catalog.=) $3 END");
	values[0] = CStringGetTextDatum(psprintf(INT64_FORMAT, id));
	values[1] = CStringGetTextDatum(kind);
	values[2] = endpoint ? CStringGetTextDatum(endpoint) : (Datum) 0;
	memset(nulls, ' ', sizeof(nulls));
	nulls[2] = endpoint ? ' ' : 'n';
	if (SPI_execute_with_args(sql, 3, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into pgm_delivery");
	if (SPI_processed > 0)
		pgm_wake_at_commit(PGM_CHILD_SENDER, NULL);
	SPI_finish();
	return id;
}

int64
pgm_backup_enqueue(const char *label, const char *endpoint, const char *data_json)
{
	return pgm_event_enqueue("backup", label, endpoint, data_json, false);
}

/* pgm_trigger_backup(label text, endpoint text) returns bigint */
Datum
pgm_trigger_backup(PG_FUNCTION_ARGS)
{
	char	   *label = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *endpoint = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_INT64(pgm_backup_enqueue(label, endpoint, NULL));
}

/* pgm_emit_event(kind text, data jsonb, label text, endpoint text) returns bigint */
Datum
pgm_emit_event(PG_FUNCTION_ARGS)
{
	char	   *kind = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *data = NULL;
	char	   *label = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *endpoint = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));

	if (!PG_ARGISNULL(1))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(1);

		data = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	PG_RETURN_INT64(pgm_event_enqueue(kind, label, endpoint, data, false));
}

/* ---- secrets and signatures ---- */

Datum
pgm_webhook_secret(PG_FUNCTION_ARGS)
{
	uint8		key[32];
	char		out[6 + 64 + 1];
	int			n;

	if (!pg_strong_random(key, sizeof(key)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a webhook secret")));
	memcpy(out, "whsec_", 6);
	n = pgm_b64_encode(key, sizeof(key), out + 6, sizeof(out) - 7);
	explicit_bzero(key, sizeof(key));
	if (n < 0)
		elog(ERROR, "could not encode a webhook secret");
	out[6 + n] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

static void
webhook_secret_invalid(const char *endpoint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errhidestmt(true),
			 endpoint ? errmsg("invalid secret for webhook endpoint \"%s\"", endpoint)
			 : errmsg("invalid webhook secret"),
			 errdetail("A secret is \"whsec_\" followed by the base64 encoding of %d to %d bytes.",
					   PGM_WH_KEY_MIN, PGM_WH_KEY_MAX),
			 errhint("Leave the column out to get one generated by pgm_webhook_secret().")));
}

/* pgm_webhook_signature(secret, msg_id, msg_timestamp, body): "v1,<base64>" */
Datum
pgm_webhook_signature(PG_FUNCTION_ARGS)
{
	char	   *secret = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *msg_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		ts = PG_GETARG_INT64(2);
	text	   *body = PG_GETARG_TEXT_PP(3);
	uint8		key[PGM_WH_KEY_MAX];
	int			keylen = pgm_wh_decode_secret(secret, key, sizeof(key));
	char		sig[PGM_WH_SIGNATURE_LEN];
	bool		ok;

	explicit_bzero(secret, strlen(secret));
	if (keylen < 0)
		webhook_secret_invalid(NULL);
	ok = pgm_wh_sign(key, keylen, msg_id, ts, VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), sig);
	explicit_bzero(key, sizeof(key));
	if (!ok)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not compute a webhook signature")));
	PG_RETURN_TEXT_P(cstring_to_text(sig));
}

/* ---- pgm_endpoint validation ---- */

static Datum
endpoint_column(TriggerData *tg, HeapTuple tup, const char *col, const char *name, bool required,
				bool *isnull)
{
	TupleDesc	desc = RelationGetDescr(tg->tg_relation);
	int			attno = SPI_fnumber(desc, col);
	Datum		d;

	if (attno <= 0)
		elog(ERROR, "pgm_endpoint has no column \"%s\"", col);
	d = heap_getattr(tup, attno, desc, isnull);
	if (*isnull && required)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errhidestmt(true),
				 name ? errmsg("column \"%s\" of webhook endpoint \"%s\" must not be null", col, name)
				 : errmsg("column \"%s\" of pgm_endpoint must not be null", col)));
	return d;
}

static void
endpoint_invalid(const char *name, const char *col, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errhidestmt(true),
			 errmsg("invalid %s for webhook endpoint \"%s\"", col, name),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

static bool
endpoint_valid_name(const char *name)
{
	int			i;

	if (name[0] == '\0')
		return false;
	for (i = 0; name[i]; i++)
	{
		char		c = name[i];

		if (i >= NAMEDATALEN - 1 ||
			!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* the URL: http or https, a host, no credentials (see docs/tables/pgm_endpoint.md) */
static void
endpoint_check_url(const char *name, const char *url)
{
	int			curl_rc;
	const char *what;
	const char *problem = NULL;

	switch (pgm_wh_url_check(url, &curl_rc, &what))
	{
		case PGM_WH_URL_OK:
			return;
		case PGM_WH_URL_TOO_LONG:
			endpoint_invalid(name, "url", "The URL is longer than 2048 bytes.", NULL);
			break;
		case PGM_WH_URL_NO_MEMORY:
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
			break;
		case PGM_WH_URL_REFUSED:
			endpoint_invalid(name, "url", psprintf("The host is %s, which webhooks may not reach.", what),
							 "Link-local and cloud-metadata addresses are refused unless pgmanage.webhook_allow_addresses lists them.");
			break;
		case PGM_WH_URL_UNPARSABLE:
			problem = psprintf("libcurl cannot parse it: %s.", curl_url_strerror((CURLUcode) curl_rc));
			break;
		case PGM_WH_URL_SCHEME:
			problem = "Only http and https URLs are allowed.";
			break;
		case PGM_WH_URL_NO_HOST:
			problem = "The URL has no host.";
			break;
		case PGM_WH_URL_CREDENTIALS:
			problem = "Credentials in the URL are not allowed.";
			break;
		case PGM_WH_URL_PORT:
			problem = "The port must be between 1 and 65535.";
			break;
	}
	endpoint_invalid(name, "url", problem,
					 "Use an http:// or https:// URL with a host; put credentials in headers, e.g. {\"Authorization\": \"Bearer ...\"}.");
}

static void
endpoint_check_kinds(const char *name, ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	if (ARR_NDIM(arr) > 1)
		endpoint_invalid(name, "event_kinds", "event_kinds must be a one-dimensional array.", NULL);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		endpoint_invalid(name, "event_kinds", "An empty list would receive nothing.",
						 "Use NULL for every kind, or set enabled = false.");
	for (i = 0; i < n; i++)
		if (nulls[i] || !webhook_valid_kind(TextDatumGetCString(elems[i])))
			endpoint_invalid(name, "event_kinds",
							 "Each kind is a lowercase letter followed by lowercase letters, digits or underscores (backup, disk_alert, disk_ok, timeout_kill, ...).",
							 NULL);
}

static void
endpoint_check_headers(const char *name, Jsonb *jb)
{
	static const char *const reserved[] = {
		"content-type", "content-length", "host", "transfer-encoding", "connection",
		"expect", "webhook-id", "webhook-timestamp", "webhook-signature", NULL
	};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		endpoint_invalid(name, "headers", "headers must be a JSON object of strings.", NULL);
	it = JsonbIteratorInit(&jb->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (r == WJB_KEY)
		{
			int			i;

			if (!pgm_wh_header_name_ok(v.val.string.val, v.val.string.len))
				endpoint_invalid(name, "headers", "A header name is an HTTP token (letters, digits, -, _ ...).", NULL);
			for (i = 0; reserved[i]; i++)
				if (v.val.string.len == strlen(reserved[i]) &&
					pg_strncasecmp(v.val.string.val, reserved[i], v.val.string.len) == 0)
					endpoint_invalid(name, "headers",
									 psprintf("The header \"%s\" is set by pgmanage.", reserved[i]), NULL);
		}
		else if (r == WJB_VALUE)
		{
			if (v.type != jbvString)
				endpoint_invalid(name, "headers", "Header values must be JSON strings.", NULL);
			/* the sender checks the same again before use (sender_header_ok) */
			if (!pgm_wh_header_value_ok(v.val.string.val, v.val.string.len))
				endpoint_invalid(name, "headers",
								 "Header values are at most 4096 bytes, without line breaks or other control characters.", NULL);
		}
	}
}

/*
 * The sender reads endpoints in pgmanage.database only: a row inserted
 * anywhere else would never receive anything, so the INSERT is refused
 * (55000, as pgm_emit_event and pgm_schedule_backup refuse there), except
 * in an extension script and by COPY (a dump restored under another name:
 * a WARNING that they are not used there); see pgm_store_database.  UPDATE
 * and DELETE stay allowed, so that such rows can be fixed or removed.
 */
static void
endpoint_check_database(const char *name)
{
	char	   *db;

	switch (pgm_store_database(&db))
	{
		case PGM_DB_HERE:
			return;
		case PGM_DB_RESTORE:
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errhidestmt(true),
					 errmsg("webhook endpoint \"%s\" is stored in database \"%s\", where the sender does not read it",
							name, db),
					 errdetail("The sender reads only the endpoints of database \"%s\" (pgmanage.database).",
							   pgm_database),
					 errhint("Restore the endpoints into that database, or set pgmanage.database to \"%s\".", db)));
			return;
		case PGM_DB_ELSEWHERE:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errhidestmt(true),
					 errmsg("webhook endpoints are read from database \"%s\", not \"%s\"", pgm_database, db),
					 errdetail("The sender reads only the endpoints of the database named by pgmanage.database; endpoint \"%s\" would never receive an event here.",
							   name),
					 errhint("Connect to database \"%s\" and insert the endpoint there.", pgm_database)));
	}
}

static int64
endpoint_interval_ms(Interval *iv)
{
	return iv->time / 1000 + ((int64) iv->day + (int64) iv->month * DAYS_PER_MONTH) * (USECS_PER_DAY / 1000);
}

/* BEFORE INSERT OR UPDATE trigger on pgm_endpoint */
Datum
pgm_endpoint_check(PG_FUNCTION_ARGS)
{
	TriggerData *tg = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	bool		isnull;
	Datum		d;
	char	   *name;
	char	   *secret;
	uint8		key[PGM_WH_KEY_MAX];
	int			keylen;
	int64		timeout_ms;
	int32		max_attempts;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(tg->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(tg->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("pgm_endpoint_check() must be called as a BEFORE ROW trigger")));
	tup = TRIGGER_FIRED_BY_UPDATE(tg->tg_event) ? tg->tg_newtuple : tg->tg_trigtuple;

	d = endpoint_column(tg, tup, "name", NULL, true, &isnull);
	name = TextDatumGetCString(d);
	if (!endpoint_valid_name(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errhidestmt(true),
				 errmsg("invalid webhook endpoint name"),
				 errdetail("An endpoint name is 1 to 63 letters, digits, \"_\", \"-\" or \".\".")));
	if (TRIGGER_FIRED_BY_INSERT(tg->tg_event))
		endpoint_check_database(name);

	d = endpoint_column(tg, tup, "url", name, true, &isnull);
	endpoint_check_url(name, TextDatumGetCString(d));

	d = endpoint_column(tg, tup, "secret", name, true, &isnull);
	secret = TextDatumGetCString(d);
	keylen = pgm_wh_decode_secret(secret, key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	explicit_bzero(secret, strlen(secret));
	if (keylen < 0)
		webhook_secret_invalid(name);

	d = endpoint_column(tg, tup, "event_kinds", name, false, &isnull);
	if (!isnull)
		endpoint_check_kinds(name, DatumGetArrayTypeP(d));

	d = endpoint_column(tg, tup, "timeout", name, true, &isnull);
	timeout_ms = endpoint_interval_ms(DatumGetIntervalP(d));
	if (timeout_ms < 100 || timeout_ms > 5 * 60 * 1000)
		endpoint_invalid(name, "timeout", "The timeout must be between 100 ms and 5 min.", NULL);

	d = endpoint_column(tg, tup, "max_attempts", name, true, &isnull);
	max_attempts = DatumGetInt32(d);
	if (max_attempts < 1 || max_attempts > 1000)
		endpoint_invalid(name, "max_attempts", "max_attempts must be between 1 and 1000.", NULL);

	d = endpoint_column(tg, tup, "headers", name, true, &isnull);
	endpoint_check_headers(name, DatumGetJsonbP(d));

	(void) endpoint_column(tg, tup, "enabled", name, true, &isnull);
	(void) endpoint_column(tg, tup, "follow_redirects", name, true, &isnull);
	(void) endpoint_column(tg, tup, "created_at", name, true, &isnull);

	d = endpoint_column(tg, tup, "ca_file", name, false, &isnull);
	if (!isnull)
	{
		char	   *ca = TextDatumGetCString(d);

		if (!is_absolute_path(ca) || strlen(ca) >= MAXPGPATH)
			endpoint_invalid(name, "ca_file", "ca_file must be an absolute path to a PEM file of CA certificates.", NULL);
	}
	return PointerGetDatum(tup);
}
