/*-------------------------------------------------------------------------
 *
 * addrlist_fuzz.c
 *	  libFuzzer target for src/core/addrlist.c, the parser of
 *	  pgmanage.webhook_allow_addresses and pgmanage.webhook_deny_addresses.
 *
 * Each input, cut at a NUL, is parsed as core/guc.c's check hook does: a
 * first pass counts, a list is allocated for exactly that many ranges
 * (ASan sees any write past it), a second pass fills it.  Checked against
 * a reference written independently (tokens split on commas and white
 * space, "address[/digits]", each part checked on its own):
 *	 - the parser accepts the list if and only if the reference does, with
 *	   the same number of ranges, and the same family, address and prefix
 *	   length for each;
 *	 - the count fits the documented bound (strlen / 2 + 1);
 *	 - with room for one range fewer, the parser refuses, writing nothing
 *	   past that room;
 *	 - the list written back as text ("addr/bits", separated by a comma
 *	   and white space) parses to the same list.
 * Any disagreement aborts.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addrlist.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...) \
	do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

/* the reference: one token, "address" or "address/digits" */
static int
ref_item(const char *tok, PgmAddrRange *r)
{
	char	   *copy = strdup(tok);
	char	   *slash = strchr(copy, '/');
	int			ok = 1;

	memset(r, 0, sizeof(*r));
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, copy, r->addr) == 1)
		r->family = 4, r->bits = 32;
	else if (inet_pton(AF_INET6, copy, r->addr) == 1)
		r->family = 6, r->bits = 128;
	else
		ok = 0;
	if (ok && slash)
	{
		const char *d = slash + 1;
		size_t		nd = strspn(d, "0123456789");

		if (nd < 1 || nd > 3 || d[nd] != '\0' || atoi(d) > r->bits)
			ok = 0;
		else
			r->bits = atoi(d);
	}
	free(copy);
	return ok;
}

/* the reference list: -1 when a token is bad */
static int
ref_parse(const char *s, PgmAddrRange *out, int room)
{
	char	   *copy = strdup(s);
	char	   *save = NULL;
	int			n = 0;

	for (char *tok = strtok_r(copy, ", \t\n\r\f\v", &save); tok; tok = strtok_r(NULL, ", \t\n\r\f\v", &save))
	{
		PgmAddrRange r;

		if (!ref_item(tok, &r))
		{
			n = -1;
			break;
		}
		if (n < room)
			out[n] = r;
		n++;
	}
	free(copy);
	return n;
}

static int
same_range(const PgmAddrRange *a, const PgmAddrRange *b)
{
	return a->family == b->family && a->bits == b->bits &&
		memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	size_t		len;
	int			n,
				want;
	PgmAddrRange *ref;
	PgmAddrList *list;

	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);
	ref = malloc(sizeof(PgmAddrRange) * (len / 2 + 1));

	n = pgm_addrlist_parse(s, NULL, 0);
	want = ref_parse(s, ref, len / 2 + 1);
	if (n != want)
		FUZZ_FAIL("\"%s\": %d ranges, the reference says %d", s, n, want);
	if (n < 0)
		goto done;
	if ((size_t) n > len / 2 + 1)
		FUZZ_FAIL("\"%s\": %d ranges in %zu bytes", s, n, len);

	/* exactly the room counted */
	list = malloc(PGM_ADDRLIST_SIZE(n));
	if (pgm_addrlist_parse(s, list, n) != n || list->n != n)
		FUZZ_FAIL("\"%s\": the second pass disagrees with the first", s);
	for (int i = 0; i < n; i++)
	{
		const PgmAddrRange *r = &list->r[i];

		if (!(r->family == 4 && r->bits >= 0 && r->bits <= 32) &&
			!(r->family == 6 && r->bits >= 0 && r->bits <= 128))
			FUZZ_FAIL("\"%s\": range %d has family %d, %d bits", s, i, r->family, r->bits);
		if (!same_range(r, &ref[i]))
			FUZZ_FAIL("\"%s\": range %d differs from the reference", s, i);
	}

	/* one range fewer: refused, nothing written past the room */
	if (n > 0)
	{
		PgmAddrList *small = malloc(PGM_ADDRLIST_SIZE(n - 1));

		if (pgm_addrlist_parse(s, small, n - 1) != -1)
			FUZZ_FAIL("\"%s\": accepted with room for %d ranges of %d", s, n - 1, n);
		free(small);
	}

	/* written back as text, it parses to the same list */
	{
		char	   *text = malloc((size_t) n * 64 + 1);
		char	   *p = text;
		PgmAddrList *again;

		*p = '\0';
		for (int i = 0; i < n; i++)
		{
			char		a[INET6_ADDRSTRLEN];

			inet_ntop(list->r[i].family == 4 ? AF_INET : AF_INET6, list->r[i].addr, a, sizeof(a));
			p += sprintf(p, "%s%s/%d", i == 0 ? "" : (i % 2 ? ", " : ",\t"), a, list->r[i].bits);
		}
		again = malloc(PGM_ADDRLIST_SIZE(n));
		if (pgm_addrlist_parse(text, again, n) != n)
			FUZZ_FAIL("\"%s\": its list written as \"%s\" does not parse", s, text);
		for (int i = 0; i < n; i++)
			if (!same_range(&list->r[i], &again->r[i]))
				FUZZ_FAIL("\"%s\": range %d changes once written as \"%s\"", s, i, text);
		free(again);
		free(text);
	}
	free(list);
done:
	free(ref);
	free(s);
	return 0;
}
