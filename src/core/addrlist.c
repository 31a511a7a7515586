/*-------------------------------------------------------------------------
 * core/addrlist.c
 *		The parser of the address-range lists (pgmanage.webhook_allow_addresses,
 *		pgmanage.webhook_deny_addresses): "a.b.c.d[/n]" or "x:y::z[/n]",
 *		separated by commas or white space.
 *
 * It calls no server function (test/fuzz/addrlist_fuzz.c links it alone):
 * core/guc.c's check hook calls it twice, once to count and validate, once
 * to fill a list allocated for exactly that many ranges.
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/addrlist.h"

/* separators: a comma or ASCII white space (the C locale's isspace) */
static int
addrlist_is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Parse one item (len bytes at s, no separator in it) into *r.  The prefix
 * length is 1 to 3 decimal digits, nothing else (no sign, no white space),
 * at most 32 (IPv4) or 128 (IPv6).
 */
static int
addrlist_parse_item(const char *s, size_t len, PgmAddrRange *r)
{
	char		item[PGM_ADDRLIST_ITEM_MAX + 1];
	char	   *slash;
	int			max;

	if (len > PGM_ADDRLIST_ITEM_MAX)
		return 0;
	memcpy(item, s, len);
	item[len] = '\0';
	slash = strchr(item, '/');
	if (slash)
		*slash = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, item, r->addr) == 1)
		r->family = 4, max = 32;
	else if (inet_pton(AF_INET6, item, r->addr) == 1)
		r->family = 6, max = 128;
	else
		return 0;
	r->bits = max;
	if (slash)
	{
		const char *d = slash + 1;
		int			bits = 0;
		int			ndigits = 0;

		for (; *d >= '0' && *d <= '9' && ndigits < 3; d++, ndigits++)
			bits = bits * 10 + (*d - '0');
		if (ndigits == 0 || *d != '\0' || bits > max)
			return 0;
		r->bits = bits;
	}
	return 1;
}

/*
 * Parse s.  With list NULL, only count and validate; otherwise fill list
 * (room for max ranges: the count of a first call) and set list->n.
 * Returns the number of ranges, or -1 when an item is not an address or a
 * range (or there are more than max).
 */
int
pgm_addrlist_parse(const char *s, PgmAddrList *list, int max)
{
	int			n = 0;

	while (*s)
	{
		size_t		len = 0;
		PgmAddrRange r;

		if (addrlist_is_sep(*s))
		{
			s++;
			continue;
		}
		while (s[len] && !addrlist_is_sep(s[len]))
			len++;
		if (!addrlist_parse_item(s, len, &r))
			return -1;
		s += len;
		if (list)
		{
			if (n >= max)
				return -1;
			list->r[n] = r;
		}
		n++;
	}
	if (list)
		list->n = n;
	return n;
}
