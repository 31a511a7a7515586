/*-------------------------------------------------------------------------
 * core/addrlist.h
 *		The address-range lists of pgmanage.webhook_allow_addresses and
 *		pgmanage.webhook_deny_addresses: their type and their parser.
 *
 * core/addrlist.c owns the parser.  It uses nothing of the server (only
 * the C library's inet_pton), so test/fuzz/addrlist_fuzz.c links it alone;
 * core/guc.c's check hook calls it and allocates the list as the GUC
 * machinery requires.
 *-------------------------------------------------------------------------
 */
#ifndef PGM_CORE_ADDRLIST_H
#define PGM_CORE_ADDRLIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * An address range: IPv4 in family 4 (addr[0..3]), IPv6 in family 6, addr
 * in network order, bits the prefix length (0..32 or 0..128; bits beyond
 * the prefix are kept as written and never compared).
 */
typedef struct PgmAddrRange
{
	int			family;			/* 4 or 6 */
	uint8_t		addr[16];
	int			bits;
} PgmAddrRange;

typedef struct PgmAddrList
{
	int			n;
	PgmAddrRange r[];
} PgmAddrList;

/* the size of a list of n ranges */
#define PGM_ADDRLIST_SIZE(n) (offsetof(PgmAddrList, r) + sizeof(PgmAddrRange) * (size_t) (n))

/* longest item: an IPv6 address in its longest text form, "/", 3 digits */
#define PGM_ADDRLIST_ITEM_MAX (45 + 4)

extern int	pgm_addrlist_parse(const char *s, PgmAddrList *list, int max);

#endif							/* PGM_CORE_ADDRLIST_H */
