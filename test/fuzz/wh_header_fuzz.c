/*-------------------------------------------------------------------------
 *
 * wh_header_fuzz.c
 *	  libFuzzer target for the checks of an endpoint's extra headers
 *	  (src/webhooks/addr.c: pgm_wh_header_name_ok, pgm_wh_header_value_ok),
 *	  which the trigger on pgm_endpoint applies when a row is stored and
 *	  the sender again before each request.
 *
 * The input is a name and a value (split at the first ':', or all name),
 * any bytes, NULs included.  The checks must agree with RFC 9110 as
 * written here (a name is a non-empty token of ASCII letters, digits and
 * !#$%&'*+-.^_`|~; a value has at most 4096 bytes and no control
 * character but tab), whatever the locale; the sender's view of the same
 * strings (cut at a NUL, as C strings) must never accept what the
 * trigger's view (with lengths) refuses; and an accepted header line
 * "name: value" is one line that splits back into the same name and value.
 * Any disagreement aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "wh_fuzz_common.h"

#include <locale.h>

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* a single-byte locale where isalnum() is true for bytes over 0x7f, if any */
	if (setlocale(LC_CTYPE, "en_US.ISO-8859-1") == NULL &&
		setlocale(LC_CTYPE, "de_DE.ISO-8859-1") == NULL)
		setlocale(LC_CTYPE, "C.UTF-8");
	return 0;
}

static bool
ref_name_ok(const unsigned char *s, size_t n)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = s[i];
		bool		ok = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');

		for (size_t j = 0; !ok && j < sizeof(tchar) - 1; j++)
			ok = c == (unsigned char) tchar[j];
		if (!ok)
			return false;
	}
	return true;
}

static bool
ref_value_ok(const unsigned char *s, size_t n)
{
	if (n > 4096)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == 0x7f || (s[i] < 0x20 && s[i] != '\t'))
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *colon = memchr(data, ':', size);
	size_t		nlen = colon ? (size_t) (colon - data) : size;
	const char *name = (const char *) data;
	const char *value = colon ? (const char *) colon + 1 : "";
	size_t		vlen = colon ? size - nlen - 1 : 0;
	bool		name_ok = pgm_wh_header_name_ok(name, nlen);
	bool		value_ok = pgm_wh_header_value_ok(value, vlen);
	char	   *cname;
	char	   *cvalue;

	if (name_ok != ref_name_ok((const unsigned char *) name, nlen))
		FUZZ_FAIL("header name of %zu bytes: the check says %d, RFC 9110 %d", nlen, name_ok, !name_ok);
	if (value_ok != ref_value_ok((const unsigned char *) value, vlen))
		FUZZ_FAIL("header value of %zu bytes: the check says %d, the rule %d", vlen, value_ok, !value_ok);

	/* the sender's view: C strings, cut at the first NUL */
	cname = strndup(name, nlen);
	cvalue = strndup(value, vlen);
	if ((name_ok && value_ok) &&
		!(pgm_wh_header_name_ok(cname, strlen(cname)) && pgm_wh_header_value_ok(cvalue, strlen(cvalue))))
		FUZZ_FAIL("the trigger accepts a header the sender refuses");
	if (strlen(cname) != nlen && name_ok)
		FUZZ_FAIL("a header name with a NUL was accepted");
	if (strlen(cvalue) != vlen && value_ok)
		FUZZ_FAIL("a header value with a NUL was accepted");

	if (name_ok && value_ok)
	{
		size_t		len = nlen + 2 + vlen;
		char	   *line = malloc(len + 1);
		char	   *sep;

		memcpy(line, name, nlen);
		memcpy(line + nlen, ": ", 2);
		memcpy(line + nlen + 2, value, vlen);
		line[len] = '\0';
		if (strlen(line) != len || strpbrk(line, "\r\n") != NULL)
			FUZZ_FAIL("an accepted header is more than one line");
		sep = strchr(line, ':');
		if (sep == NULL || (size_t) (sep - line) != nlen ||
			memcmp(sep + 2, value, vlen) != 0)
			FUZZ_FAIL("an accepted header does not split back into its name and value");
		free(line);
	}
	free(cname);
	free(cvalue);
	return 0;
}
