/*-------------------------------------------------------------------------
 * webhooks/addr.c
 *		Which addresses a webhook endpoint may reach.
 *
 * Refused by default: link-local addresses (169.254.0.0/16, fe80::/10) and
 * the cloud-metadata services (169.254.169.254 is in the first; AWS's IPv6
 * fd00:ec2::254, Alibaba's 100.100.100.200), which hand out the server's
 * cloud credentials to whoever asks from the machine.  IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) are judged as the IPv4 address they carry.
 * pgmanage.webhook_allow_addresses lists ranges allowed nevertheless,
 * pgmanage.webhook_deny_addresses ranges refused as well (it wins).
 * Loopback and private ranges are allowed unless denied there: receivers
 * commonly run on the same host or network (a backup runner), and only a
 * superuser can create an endpoint.
 *
 * The same rule is applied to an endpoint's URL when the row is stored
 * (an IP literal; a host name is judged once resolved) and by the sender
 * to every address libcurl is about to connect to, after DNS resolution
 * (CURLOPT_OPENSOCKETFUNCTION), redirects included.
 *
 * Also here, the other pure checks of an endpoint (its URL and its extra
 * headers), which the trigger on pgm_endpoint and the sender share.  This
 * file calls no server function (only libc and libcurl), so that
 * test/fuzz/ builds it without a server.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "webhooks/webhooks.h"

typedef struct AddrBuiltin
{
	int			family;
	uint8		addr[16];
	int			bits;
	const char *what;
} AddrBuiltin;

static const AddrBuiltin addr_builtin[] = {
	{4, {169, 254}, 16, "a link-local or cloud-metadata address"},
	{4, {100, 100, 100, 200}, 32, "a cloud-metadata address"},
	{6, {0xfe, 0x80}, 10, "a link-local address"},
	{6, {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128, "a cloud-metadata address"},
};

static bool
addr_in_range(int family, const uint8 *addr, int rfamily, const uint8 *raddr, int bits)
{
	int			full = bits / 8;
	int			rest = bits % 8;

	if (family != rfamily)
		return false;
	if (memcmp(addr, raddr, full) != 0)
		return false;
	if (rest != 0)
	{
		uint8		mask = (uint8) (0xff << (8 - rest));

		if ((addr[full] & mask) != (raddr[full] & mask))
			return false;
	}
	return true;
}

static bool
addr_in_list(int family, const uint8 *addr, const PgmAddrList *list)
{
	int			i;

	for (i = 0; i < list->n; i++)
		if (addr_in_range(family, addr, list->r[i].family, list->r[i].addr, list->r[i].bits))
			return true;
	return false;
}

/*
 * Is this address (family 4 or 6, network order) refused?  If so, *what
 * says why ("a link-local address", ...).
 */
bool
pgm_wh_addr_refused(int family, const uint8 *addr, const char **what)
{
	static const uint8 v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	int			i;

	if (family == 6 && memcmp(addr, v4mapped, 12) == 0)
	{
		family = 4;
		addr += 12;
	}
	if (addr_in_list(family, addr, pgm_webhook_deny_list))
	{
		*what = "an address listed in pgmanage.webhook_deny_addresses";
		return true;
	}
	for (i = 0; i < lengthof(addr_builtin); i++)
		if (addr_in_range(family, addr, addr_builtin[i].family, addr_builtin[i].addr, addr_builtin[i].bits))
		{
			if (addr_in_list(family, addr, pgm_webhook_allow_list))
				return false;
			*what = addr_builtin[i].what;
			return true;
		}
	return false;
}

/* the same for a socket address; "text" gets the address as text */
bool
pgm_wh_sockaddr_refused(const struct sockaddr *sa, char *text, size_t textlen, const char **what)
{
	text[0] = '\0';
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		inet_ntop(AF_INET, &in->sin_addr, text, textlen);
		return pgm_wh_addr_refused(4, (const uint8 *) &in->sin_addr, what);
	}
	if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, text, textlen);
		return pgm_wh_addr_refused(6, (const uint8 *) &in6->sin6_addr, what);
	}
	*what = "not an IP address";
	return true;
}

/*
 * The host of a URL, as libcurl gives it ("[...]" around IPv6): refused if
 * it is an IP address that is refused.  A host name passes (it is judged
 * after resolution, at connect time).  inet_aton() also reads the forms
 * 2852039166, 0xa9fea9fe and 0251.0376.0251.0376 that URL parsers accept.
 */
bool
pgm_wh_host_refused(const char *host, const char **what)
{
	char		buf[INET6_ADDRSTRLEN + 1];
	char		name[256];
	uint8		addr[16];
	size_t		len = strlen(host);
	struct in_addr in;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
	{
		char	   *pct;

		if (len - 2 >= sizeof(buf))
			return false;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		pct = strchr(buf, '%');
		if (pct)
			*pct = '\0';
		if (inet_pton(AF_INET6, buf, addr) == 1)
			return pgm_wh_addr_refused(6, addr, what);
		return false;
	}
	if (inet_pton(AF_INET6, host, addr) == 1)
		return pgm_wh_addr_refused(6, addr, what);
	/*
	 * "169.254.169.254." (the DNS root's dot) is that address too, and so
	 * is "0000...0001." however many zeros it has: a host name is at most
	 * 253 bytes, a longer host is refused.
	 */
	if (len > 255)
	{
		*what = "a host name longer than 255 bytes";
		return true;
	}
	if (len > 1 && host[len - 1] == '.')
	{
		memcpy(name, host, len - 1);
		name[len - 1] = '\0';
		host = name;
	}
	if (inet_aton(host, &in) == 1)
		return pgm_wh_addr_refused(4, (const uint8 *) &in, what);
	return false;
}

/*
 * An extra header's name: an RFC 9110 token (ASCII letters, digits and
 * !#$%&'*+-.^_`|~), whatever the server's locale says is alphanumeric.
 */
bool
pgm_wh_header_name_ok(const char *s, size_t len)
{
	size_t		i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
			return false;
	}
	return true;
}

/*
 * An extra header's value: at most PGM_WH_HEADER_MAX bytes, no control
 * character but tab (no line break: nothing can be appended to the request).
 */
bool
pgm_wh_header_value_ok(const char *s, size_t len)
{
	size_t		i;

	if (len > PGM_WH_HEADER_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static bool
addr_ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
	{
		char		x = (*a >= 'A' && *a <= 'Z') ? *a + ('a' - 'A') : *a;
		char		y = (*b >= 'A' && *b <= 'Z') ? *b + ('a' - 'A') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

/*
 * An endpoint's URL: at most PGM_WH_URL_MAX bytes, parsed by libcurl, http
 * or https, a host, no credentials, a port from 1 to 65535 (libcurl takes
 * port 0, to which nothing can connect), a host that is not a refused address.
 * *curl_rc gets libcurl's error for PGM_WH_URL_UNPARSABLE, *what the reason
 * for PGM_WH_URL_REFUSED (see pgm_wh_addr_refused).
 */
PgmWhUrlCheck
pgm_wh_url_check(const char *url, int *curl_rc, const char **what)
{
	CURLU	   *u;
	CURLUcode	rc;
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *user = NULL;
	char	   *port = NULL;
	PgmWhUrlCheck result = PGM_WH_URL_OK;

	*curl_rc = 0;
	*what = NULL;
	if (strlen(url) > PGM_WH_URL_MAX)
		return PGM_WH_URL_TOO_LONG;
	u = curl_url();
	if (u == NULL)
		return PGM_WH_URL_NO_MEMORY;
	rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK)
	{
		*curl_rc = (int) rc;
		result = PGM_WH_URL_UNPARSABLE;
	}
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 !(addr_ascii_caseeq(scheme, "http") || addr_ascii_caseeq(scheme, "https")))
		result = PGM_WH_URL_SCHEME;
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		result = PGM_WH_URL_NO_HOST;
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		result = PGM_WH_URL_CREDENTIALS;
	else if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
			 strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
			 atoi(port) < 1 || atoi(port) > 65535)
		result = PGM_WH_URL_PORT;
	else if (pgm_wh_host_refused(host, what))
		result = PGM_WH_URL_REFUSED;
	curl_free(scheme);
	curl_free(port);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return result;
}
