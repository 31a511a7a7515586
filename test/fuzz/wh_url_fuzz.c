/*-------------------------------------------------------------------------
 *
 * wh_url_fuzz.c
 *	  libFuzzer target for the address and URL checks of webhook endpoints
 *	  (src/webhooks/addr.c: pgm_wh_url_check, pgm_wh_host_refused,
 *	  pgm_wh_sockaddr_refused, pgm_wh_addr_refused).
 *
 * The first byte picks the settings (three address-list configurations)
 * and the mode:
 *	 - a URL (the rest of the input, cut at a NUL): when pgm_wh_url_check
 *	   accepts it, libcurl parses it again as the sender does (a host and a
 *	   port), the scheme is http or https, there are no credentials, a host
 *	   that is an IP literal is not refused by the reference rule, and the
 *	   URL as libcurl normalizes it is accepted too, with the same address;
 *	   when it refuses the host, the host is an IP literal the reference
 *	   refuses, or longer than 255 bytes;
 *	 - an address (4 or 16 bytes) written in one of the forms URL parsers
 *	   accept (dotted, octal, hex, one integer, two or three parts, IPv6
 *	   compressed or full, IPv4-mapped, a zone id): the URL is refused if
 *	   and only if the reference refuses the address;
 *	 - a socket address: pgm_wh_sockaddr_refused agrees with the
 *	   reference and writes the address as text.
 * Any disagreement aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "wh_fuzz_common.h"

#include <curl/curl.h>

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	fuzz_lists_init();
	return 0;
}

/* an IP literal host as libcurl gives it: its family and address, or 0 */
static int
ref_literal(const char *host, unsigned char *addr)
{
	char		buf[2200];
	size_t		len = strlen(host);
	struct in_addr in;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf))
	{
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (strchr(buf, '%'))
			*strchr(buf, '%') = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1 ? 6 : 0;
	}
	if (inet_pton(AF_INET6, host, addr) == 1)
		return 6;
	if (len > 1 && host[len - 1] == '.' && len - 1 < sizeof(buf))
	{
		memcpy(buf, host, len - 1);
		buf[len - 1] = '\0';
		host = buf;
	}
	if (inet_aton(host, &in) == 1)
	{
		memcpy(addr, &in, 4);
		return 4;
	}
	return 0;
}

static char *
url_part(const char *url, CURLUPart part, unsigned int flags)
{
	CURLU	   *u = curl_url();
	char	   *v = NULL;
	char	   *copy = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, flags) == CURLUE_OK &&
		curl_url_get(u, part, &v, part == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) == CURLUE_OK)
		copy = strdup(v);
	curl_free(v);
	curl_url_cleanup(u);
	return copy;
}

static void
check_url(const char *url)
{
	int			rc;
	const char *what;
	PgmWhUrlCheck r = pgm_wh_url_check(url, &rc, &what);
	unsigned char addr[16];

	if (r == PGM_WH_URL_OK)
	{
		char	   *host = url_part(url, CURLUPART_HOST, 0);
		char	   *port = url_part(url, CURLUPART_PORT, 0);
		char	   *scheme = url_part(url, CURLUPART_SCHEME, 0);
		char	   *user = url_part(url, CURLUPART_USER, CURLU_NON_SUPPORT_SCHEME);
		char	   *norm = url_part(url, CURLUPART_URL, 0);
		int			family;
		long		p;

		if (strlen(url) > PGM_WH_URL_MAX)
			FUZZ_FAIL("accepted a URL of %zu bytes", strlen(url));
		if (host == NULL || host[0] == '\0' || port == NULL || scheme == NULL || norm == NULL)
			FUZZ_FAIL("accepted \"%s\", which the sender cannot parse", url);
		if (strlen(host) > 255)
			FUZZ_FAIL("accepted a host of %zu bytes", strlen(host));
		if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
			FUZZ_FAIL("accepted scheme \"%s\" in \"%s\"", scheme, url);
		if (user != NULL)
			FUZZ_FAIL("accepted credentials in \"%s\"", url);
		p = strtol(port, NULL, 10);
		if (p < 1 || p > 65535)
			FUZZ_FAIL("accepted port %s in \"%s\"", port, url);
		family = ref_literal(host, addr);
		if (family != 0 && ref_refused(family, addr))
			FUZZ_FAIL("accepted \"%s\": host %s is a refused address", url, host);
		if (strlen(norm) <= PGM_WH_URL_MAX)
		{
			char	   *nhost;

			if (pgm_wh_url_check(norm, &rc, &what) != PGM_WH_URL_OK)
				FUZZ_FAIL("accepted \"%s\" but not its normalized form \"%s\"", url, norm);
			unsigned char naddr[16];
			int			nfamily;

			/*
			 * libcurl may write the host differently once normalized (a
			 * percent-decoded "270407832" becomes "16.30.24.152"): the
			 * address must stay the same
			 */
			nhost = url_part(norm, CURLUPART_HOST, 0);
			if (nhost == NULL)
				FUZZ_FAIL("\"%s\": no host once normalized", url);
			nfamily = ref_literal(nhost, naddr);
			if (nfamily != family ||
				(family != 0 && memcmp(addr, naddr, family == 4 ? 4 : 16) != 0))
				FUZZ_FAIL("\"%s\": host \"%s\" becomes \"%s\", another address, once normalized", url, host, nhost);
			free(nhost);
		}
		free(host);
		free(port);
		free(scheme);
		free(norm);
	}
	else if (r == PGM_WH_URL_REFUSED)
	{
		char	   *host = url_part(url, CURLUPART_HOST, CURLU_NON_SUPPORT_SCHEME);
		int			family;

		if (what == NULL || what[0] == '\0')
			FUZZ_FAIL("refused \"%s\" without a reason", url);
		if (host == NULL)
			FUZZ_FAIL("refused the host of \"%s\", which has none", url);
		family = ref_literal(host, addr);
		if (strlen(host) <= 255 && (family == 0 || !ref_refused(family, addr)))
			FUZZ_FAIL("refused \"%s\" (%s): host %s is not a refused address", url, what, host);
		free(host);
	}
	else if (r == PGM_WH_URL_UNPARSABLE && rc == 0)
		FUZZ_FAIL("unparsable \"%s\" without libcurl's error", url);
}

/* an address written as a URL parser may read it */
static void
check_address_form(int family, const unsigned char *a, int form, unsigned int port)
{
	char		host[128];
	char		url[256];
	int			rc;
	const char *what;
	bool		want = ref_refused(family, a);
	bool		got;
	PgmWhUrlCheck r;

	if (family == 4)
	{
		uint32_t	v = ((uint32_t) a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];

		switch (form % 8)
		{
			case 0:
				snprintf(host, sizeof(host), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
				break;
			case 1:
				snprintf(host, sizeof(host), "0%o.0%o.0%o.0%o", a[0], a[1], a[2], a[3]);
				break;
			case 2:
				snprintf(host, sizeof(host), "0x%x.0x%X.0x%x.0x%X", a[0], a[1], a[2], a[3]);
				break;
			case 3:
				snprintf(host, sizeof(host), "%u", v);
				break;
			case 4:
				snprintf(host, sizeof(host), "0x%08x", v);
				break;
			case 5:
				snprintf(host, sizeof(host), "%u.%u", a[0], v & 0xffffff);
				break;
			case 6:
				snprintf(host, sizeof(host), "%u.%u.%u", a[0], a[1], v & 0xffff);
				break;
			default:
				snprintf(host, sizeof(host), "[::ffff:%u.%u.%u.%u]", a[0], a[1], a[2], a[3]);
				break;
		}
	}
	else
	{
		char		text[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, a, text, sizeof(text));
		switch (form % 4)
		{
			case 0:
				snprintf(host, sizeof(host), "[%s]", text);
				break;
			case 1:
				snprintf(host, sizeof(host), "[%x:%x:%x:%x:%x:%x:%x:%x]",
						 (a[0] << 8) | a[1], (a[2] << 8) | a[3], (a[4] << 8) | a[5], (a[6] << 8) | a[7],
						 (a[8] << 8) | a[9], (a[10] << 8) | a[11], (a[12] << 8) | a[13], (a[14] << 8) | a[15]);
				break;
			case 2:
				for (char *c = text; *c; c++)
					if (*c >= 'a' && *c <= 'f')
						*c -= 'a' - 'A';
				snprintf(host, sizeof(host), "[%s]", text);
				break;
			default:
				snprintf(host, sizeof(host), "[%s%%25eth0]", text);
				break;
		}
	}
	snprintf(url, sizeof(url), "%s://%s:%u/hook?x=1", form & 8 ? "https" : "http", host, port % 65535 + 1);
	r = pgm_wh_url_check(url, &rc, &what);
	if (r == PGM_WH_URL_UNPARSABLE || r == PGM_WH_URL_NO_HOST)
		return;					/* libcurl refuses that form (a zone id on a global address, ...) */
	got = r == PGM_WH_URL_REFUSED;
	if (r != PGM_WH_URL_OK && !got)
		FUZZ_FAIL("\"%s\": unexpected result %d", url, (int) r);
	if (got != want)
		FUZZ_FAIL("\"%s\" is %s by the check, %s by the rule", url,
				  got ? "refused" : "accepted", want ? "refused" : "accepted");
	check_url(url);
}

static void
check_sockaddr(int family, const unsigned char *a)
{
	struct sockaddr_storage ss;
	char		text[INET6_ADDRSTRLEN];
	char		want_text[INET6_ADDRSTRLEN];
	const char *what = NULL;
	bool		got;

	memset(&ss, 0, sizeof(ss));
	if (family == 4)
	{
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		inet_ntop(AF_INET, a, want_text, sizeof(want_text));
	}
	else
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		inet_ntop(AF_INET6, a, want_text, sizeof(want_text));
	}
	got = pgm_wh_sockaddr_refused((struct sockaddr *) &ss, text, sizeof(text), &what);
	if (got != ref_refused(family, a))
		FUZZ_FAIL("socket address %s: %s by the check, not by the rule", want_text, got ? "refused" : "accepted");
	if (got && (what == NULL || what[0] == '\0'))
		FUZZ_FAIL("socket address %s refused without a reason", want_text);
	if (strcmp(text, want_text) != 0)
		FUZZ_FAIL("socket address %s written as \"%s\"", want_text, text);
	if (pgm_wh_addr_refused(family, a, &what) != got)
		FUZZ_FAIL("socket address %s: pgm_wh_addr_refused disagrees", want_text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char a[16] = {0};

	if (size < 1)
		return 0;
	fuzz_use_lists(data[0] % 3);
	switch ((data[0] / 3) % 4)
	{
		case 0:
		case 1:
			{
				char	   *url = malloc(size);

				memcpy(url, data + 1, size - 1);
				url[size - 1] = '\0';
				check_url(url);
				free(url);
				break;
			}
		case 2:
			{
				/* byte 1: form; bytes 2..3: port; then the address */
				int			family;
				size_t		n;

				if (size < 4)
					return 0;
				family = (data[1] & 0x80) ? 6 : 4;
				n = size - 4 < (family == 4 ? 4 : 16) ? size - 4 : (family == 4 ? 4 : 16);
				memcpy(a, data + 4, n);
				/* bias toward the interesting ranges */
				if (family == 4 && (data[1] & 0x40))
					a[0] = 169, a[1] = 254;
				if (family == 6 && (data[1] & 0x40))
					a[0] = 0xfe, a[1] = (a[1] & 0x3f) | 0x80;
				if (family == 6 && (data[1] & 0x20))
					memset(a, 0, 10), a[10] = a[11] = 0xff;
				check_address_form(family, a, data[1] & 0x1f, (data[2] << 8) | data[3]);
				break;
			}
		default:
			{
				int			family = (size > 5) ? 6 : 4;

				memcpy(a, data + 1, size - 1 < 16 ? size - 1 : 16);
				check_sockaddr(family, a);
				break;
			}
	}
	return 0;
}
