/*-------------------------------------------------------------------------
 * webhooks/whsign.c
 *		Standard Webhooks signatures (https://www.standardwebhooks.com/).
 *
 * A secret is "whsec_" followed by the base64 of the key (the prefix is
 * optional, as in the reference libraries); the signature of a message is
 *     v1,<base64 of HMAC-SHA256(key, "<msg_id>.<timestamp>.<body>")>
 * sent in the webhook-signature header beside webhook-id and
 * webhook-timestamp.  PostgreSQL's own HMAC (common/hmac.h) does the work.
 * Nothing here logs or reports a secret: callers get a status, not text.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/hmac.h"
#include "common/sha2.h"

#include "core/compat.h"
#include "webhooks/webhooks.h"

/*
 * Decode a secret into key (at most keymax bytes).  Returns the key length,
 * or -1 if the secret is not base64 of PGM_WH_KEY_MIN..PGM_WH_KEY_MAX bytes.
 */
int
pgm_wh_decode_secret(const char *secret, uint8 *key, int keymax)
{
	const char *b64 = secret;
	int			len;
	uint8		buf[128];
	int			n;

	if (strncmp(b64, "whsec_", 6) == 0)
		b64 += 6;
	len = strlen(b64);
	if (len == 0 || len > 100 || len % 4 != 0 || pg_b64_dec_len(len) > (int) sizeof(buf))
		return -1;
	n = pgm_b64_decode(b64, len, buf, sizeof(buf));
	if (n < PGM_WH_KEY_MIN || n > PGM_WH_KEY_MAX || n > keymax)
	{
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(key, buf, n);
	explicit_bzero(buf, sizeof(buf));
	return n;
}

/*
 * Sign a message; "out" gets "v1,<base64>" (PGM_WH_SIGNATURE_LEN bytes).
 * Returns false if the HMAC could not be computed (out of memory).
 */
bool
pgm_wh_sign(const uint8 *key, int keylen, const char *msg_id, int64 timestamp,
			const char *body, size_t bodylen, char *out)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		ts[32];
	int			n;
	bool		ok;

	if (ctx == NULL)
		return false;
	snprintf(ts, sizeof(ts), "." INT64_FORMAT ".", timestamp);
	ok = pg_hmac_init(ctx, key, keylen) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) msg_id, strlen(msg_id)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) ts, strlen(ts)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) body, bodylen) == 0 &&
		pg_hmac_final(ctx, mac, sizeof(mac)) == 0;
	pg_hmac_free(ctx);
	if (!ok)
		return false;
	memcpy(out, "v1,", 3);
	n = pgm_b64_encode(mac, sizeof(mac), out + 3, PGM_WH_SIGNATURE_LEN - 4);
	if (n < 0)
		return false;
	out[3 + n] = '\0';
	return true;
}
