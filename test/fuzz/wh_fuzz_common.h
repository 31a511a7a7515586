/*-------------------------------------------------------------------------
 *
 * wh_fuzz_common.h
 *	  What the webhook fuzz targets share: the server's headers without
 *	  the server (src/webhooks/addr.c is built with them, and calls no
 *	  server function), the two address lists of the settings, and a
 *	  reference implementation of "is this address refused" written
 *	  independently of addr.c (bit by bit, not byte and mask).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WH_FUZZ_COMMON_H
#define WH_FUZZ_COMMON_H

#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "webhooks/webhooks.h"

/* port.h maps these to libpgport, which the fuzz targets do not link */
#undef printf
#undef fprintf
#undef snprintf
#undef vsnprintf
#undef sprintf
#undef vfprintf
#undef strerror

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* core/guc.c's lists (pgmanage.webhook_allow_addresses / _deny_addresses) */
const PgmAddrList *pgm_webhook_allow_list;
const PgmAddrList *pgm_webhook_deny_list;

#define FUZZ_FAIL(...) \
	do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

static inline PgmAddrList *
fuzz_list(int n, const PgmAddrRange *r)
{
	PgmAddrList *l = malloc(offsetof(PgmAddrList, r) + sizeof(PgmAddrRange) * (n + 1));

	l->n = n;
	if (n > 0)
		memcpy(l->r, r, sizeof(PgmAddrRange) * n);
	return l;
}

/*
 * Three configurations of the settings: none; an allowed metadata address
 * with a denied private range and loopback; every IPv4 address denied.
 */
static const PgmAddrList *fuzz_lists[3][2];	/* [config][0 allow, 1 deny] */

static inline void
fuzz_lists_init(void)
{
	static const PgmAddrRange allow1[] = {{4, {169, 254, 169, 254}, 32}};
	static const PgmAddrRange deny1[] = {{4, {10}, 8}, {6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128}};
	static const PgmAddrRange deny2[] = {{4, {0}, 0}};

	fuzz_lists[0][0] = fuzz_list(0, NULL);
	fuzz_lists[0][1] = fuzz_list(0, NULL);
	fuzz_lists[1][0] = fuzz_list(1, allow1);
	fuzz_lists[1][1] = fuzz_list(2, deny1);
	fuzz_lists[2][0] = fuzz_list(0, NULL);
	fuzz_lists[2][1] = fuzz_list(1, deny2);
}

static inline void
fuzz_use_lists(int config)
{
	pgm_webhook_allow_list = fuzz_lists[config % 3][0];
	pgm_webhook_deny_list = fuzz_lists[config % 3][1];
}

/* the reference: is bit i (0 = most significant of byte 0) of a set? */
static inline int
ref_bit(const unsigned char *a, int i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

static inline bool
ref_match(int family, const unsigned char *a, int rfamily, const unsigned char *r, int bits)
{
	if (family != rfamily)
		return false;
	for (int i = 0; i < bits; i++)
		if (ref_bit(a, i) != ref_bit(r, i))
			return false;
	return true;
}

static inline bool
ref_in_list(int family, const unsigned char *a, const PgmAddrList *l)
{
	for (int i = 0; i < l->n; i++)
		if (ref_match(family, a, l->r[i].family, l->r[i].addr, l->r[i].bits))
			return true;
	return false;
}

/* the rule of docs/webhooks.md, from scratch */
static inline bool
ref_refused(int family, const unsigned char *addr)
{
	static const unsigned char ll4[4] = {169, 254, 0, 0};
	static const unsigned char ali[4] = {100, 100, 100, 200};
	static const unsigned char ll6[16] = {0xfe, 0x80};
	static const unsigned char aws[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
	unsigned char a[16];
	bool		builtin;

	memcpy(a, addr, family == 4 ? 4 : 16);
	if (family == 6)
	{
		bool		mapped = true;

		for (int i = 0; i < 10; i++)
			mapped = mapped && a[i] == 0;
		mapped = mapped && a[10] == 0xff && a[11] == 0xff;
		if (mapped)
		{
			memmove(a, a + 12, 4);
			family = 4;
		}
	}
	if (ref_in_list(family, a, pgm_webhook_deny_list))
		return true;
	builtin = family == 4
		? (ref_match(4, a, 4, ll4, 16) || ref_match(4, a, 4, ali, 32))
		: (ref_match(6, a, 6, ll6, 10) || ref_match(6, a, 6, aws, 128));
	return builtin && !ref_in_list(family, a, pgm_webhook_allow_list);
}

#endif							/* WH_FUZZ_COMMON_H */
