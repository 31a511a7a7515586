/*-------------------------------------------------------------------------
 *
 * cron.c
 *	  Cron expression parser and next-fire-time calculator for pgmanage.
 *
 * This file owns the implementation behind cron.h: tokenising and
 * validating expressions (five fields, @macros, "every N unit"), the
 * proleptic Gregorian calendar arithmetic, the field-skipping civil search,
 * and the DST rules that turn matching civil minutes into instants using
 * only the caller's to_local callback.  Pure C99: no PostgreSQL headers, no
 * global mutable state, no allocation, no libc time-zone calls.  Every loop
 * is bounded by a compile-time constant.
 *
 *-------------------------------------------------------------------------
 */
#include "cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define CRON_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CRON_PRINTF(f, a)
#endif

#define CRON_SECS_PER_DAY	INT64_C(86400)
/* offsets beyond this are treated as a broken time-zone callback */
#define CRON_MAX_OFFSET		(INT64_C(26) * 3600)
/* probe distance for DST transitions: it exceeds the largest offset, so
 * probes at u +/- CRON_PROBE bracket every instant whose local time is u;
 * transitions closer together than this are handled best-effort */
#define CRON_PROBE			(INT64_C(30) * 3600)
/* civil-search iterations: a few per month of the horizon */
#define CRON_SEARCH_STEPS	(CRON_HORIZON_YEARS * 12 * 6 + 100)
/* candidate civil minutes examined by cron_next (overlap/gap walking) */
#define CRON_NEXT_STEPS		3000
/* instants of years 1 and 9999 (with a day of slack for offsets) */
#define CRON_MIN_EPOCH		(INT64_C(-62135596800) + 2 * CRON_SECS_PER_DAY)
#define CRON_MAX_EPOCH		(INT64_C(253402300799) - 2 * CRON_SECS_PER_DAY)

#define CRON_ALL_HOURS		UINT32_C(0xFFFFFF)

/* ----------------------------------------------------------------------
 * Error reporting
 * ---------------------------------------------------------------------- */

static void cron_error(char *errbuf, size_t errlen, const char *fmt,...) CRON_PRINTF(3, 4);

static void
cron_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Copy user text for quoting in a message: at most 32 bytes, non-printable
 * or non-ASCII bytes replaced by '?', "..." appended when truncated.
 */
static void
cron_quote(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t		i;
	size_t		n = 0;
	size_t		max = 32;

	if (dstlen < max + 4)
		max = dstlen > 4 ? dstlen - 4 : 0;
	for (i = 0; i < len && n < max; i++)
	{
		unsigned char ch = (unsigned char) src[i];

		dst[n++] = (ch >= 0x20 && ch < 0x7f) ? (char) ch : '?';
	}
	if (i < len && dstlen >= n + 4)
	{
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	if (dstlen > 0)
		dst[n < dstlen ? n : dstlen - 1] = '\0';
}

/* ----------------------------------------------------------------------
 * Small character helpers (locale independent)
 * ---------------------------------------------------------------------- */

static bool
cron_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

static bool
cron_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
cron_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
cron_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* case-insensitive comparison of s[0..len) with NUL-terminated lowercase w */
static bool
cron_word_eq(const char *s, size_t len, const char *w)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (w[i] == '\0' || cron_lower(s[i]) != w[i])
			return false;
	}
	return w[len] == '\0';
}

/* ----------------------------------------------------------------------
 * Calendar arithmetic (proleptic Gregorian, days since 1970-01-01)
 * ---------------------------------------------------------------------- */

static int64_t
cron_floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static bool
cron_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
cron_days_in_month(int64_t y, int m)
{
	static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && cron_is_leap(y))
		return 29;
	return mdays[m];
}

static int64_t
cron_days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= (m <= 2);
	era = cron_floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
cron_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = cron_floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* weekday 0-6, Sunday = 0, of a day number */
static int
cron_weekday(int64_t days)
{
	return (int) (days - 7 * cron_floor_div(days + 4, 7) + 4);
}

static bool
cron_civil_valid(const CronCivil *c)
{
	if (c->year < CRON_MIN_YEAR || c->year > CRON_MAX_YEAR ||
		c->month < 1 || c->month > 12 ||
		c->hour < 0 || c->hour > 23 ||
		c->minute < 0 || c->minute > 59 ||
		c->second < 0 || c->second > 60)
		return false;
	return c->mday >= 1 && c->mday <= cron_days_in_month(c->year, c->month);
}

/* civil time read as if it were UTC, in seconds ("local seconds") */
static int64_t
cron_civil_to_secs(const CronCivil *c)
{
	return cron_days_from_civil(c->year, c->month, c->mday) * CRON_SECS_PER_DAY +
		c->hour * 3600 + c->minute * 60 + c->second;
}

static void
cron_secs_to_civil(int64_t secs, CronCivil *c)
{
	int64_t		days = cron_floor_div(secs, CRON_SECS_PER_DAY);
	int64_t		rem = secs - days * CRON_SECS_PER_DAY;
	int64_t		y;

	cron_civil_from_days(days, &y, &c->month, &c->mday);
	c->year = (int) y;
	c->hour = (int) (rem / 3600);
	c->minute = (int) (rem / 60 % 60);
	c->second = (int) (rem % 60);
}

/* ----------------------------------------------------------------------
 * Bit helpers
 * ---------------------------------------------------------------------- */

static int
cron_lowest_bit(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
	return __builtin_ctzll(v);
#else
	int			n = 0;

	while ((v & 1) == 0)
	{
		v >>= 1;
		n++;
	}
	return n;
#endif
}

/* bits >= from (from may be 0..64) */
static uint64_t
cron_bits_from(uint64_t v, int from)
{
	if (from >= 64)
		return 0;
	return v & ~((UINT64_C(1) << from) - 1);
}

/* ----------------------------------------------------------------------
 * Parsing
 * ---------------------------------------------------------------------- */

typedef struct CronFieldDef
{
	const char *name;			/* used in messages */
	int			min;			/* smallest value */
	int			max;			/* largest value accepted in the text */
	int			star_max;		/* largest value covered by '*' */
	const char *const *names;	/* three-letter names for min.. or NULL */
	const char *allowed;		/* human-readable allowed values */
} CronFieldDef;

static const char *const cron_month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const cron_day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

enum
{
	CRON_F_MINUTE, CRON_F_HOUR, CRON_F_MDAY, CRON_F_MONTH, CRON_F_WDAY, CRON_NFIELDS
};

static const CronFieldDef cron_fields[CRON_NFIELDS] = {
	{"minute", 0, 59, 59, NULL, "0-59"},
	{"hour", 0, 23, 23, NULL, "0-23"},
	{"day-of-month", 1, 31, 31, NULL, "1-31"},
	{"month", 1, 12, 12, cron_month_names, "1-12 or jan-dec"},
	{"day-of-week", 0, 7, 6, cron_day_names, "0-7 or sun-sat"},
};

/*
 * Parse one value (number or name) at text[*pos] within an item of length
 * len.  On success stores it and advances *pos.
 */
static bool
cron_parse_value(const CronFieldDef *f, const char *item, size_t len,
				 size_t *pos, int *value, char *errbuf, size_t errlen)
{
	size_t		start = *pos;
	size_t		p = start;
	char		q[48];

	if (p < len && cron_is_digit(item[p]))
	{
		int64_t		v = 0;

		while (p < len && cron_is_digit(item[p]))
		{
			if (v <= 1000000)
				v = v * 10 + (item[p] - '0');
			p++;
		}
		if (v < f->min || v > f->max)
		{
			cron_quote(q, sizeof(q), item + start, p - start);
			cron_error(errbuf, errlen, "invalid value \"%s\" in %s field (allowed %s)",
					   q, f->name, f->allowed);
			return false;
		}
		*value = (int) v;
		*pos = p;
		return true;
	}
	if (p < len && cron_is_alpha(item[p]))
	{
		int			i;

		while (p < len && cron_is_alpha(item[p]))
			p++;
		if (f->names != NULL)
		{
			for (i = 0; f->names[i] != NULL; i++)
			{
				if (cron_word_eq(item + start, p - start, f->names[i]))
				{
					*value = f->min + i;
					*pos = p;
					return true;
				}
			}
		}
		cron_quote(q, sizeof(q), item + start, p - start);
		cron_error(errbuf, errlen, "invalid value \"%s\" in %s field (allowed %s)",
				   q, f->name, f->allowed);
		return false;
	}
	cron_quote(q, sizeof(q), item, len);
	cron_error(errbuf, errlen, "invalid item \"%s\" in %s field (expected *, a value, a range or a step)",
			   q, f->name);
	return false;
}

/* Parse one comma-separated item into *bits. */
static bool
cron_parse_item(const CronFieldDef *f, const char *item, size_t len,
				uint64_t *bits, char *errbuf, size_t errlen)
{
	size_t		p = 0;
	int			lo;
	int			hi;
	int			step = 1;
	int			v;
	char		q[48];

	if (len == 0)
	{
		cron_error(errbuf, errlen, "empty list item in %s field", f->name);
		return false;
	}
	if (item[0] == '*')
	{
		lo = f->min;
		hi = f->star_max;
		p = 1;
	}
	else
	{
		if (!cron_parse_value(f, item, len, &p, &lo, errbuf, errlen))
			return false;
		hi = lo;
		if (p < len && item[p] == '-')
		{
			bool		named;

			p++;
			named = p < len && cron_is_alpha(item[p]);
			if (!cron_parse_value(f, item, len, &p, &hi, errbuf, errlen))
				return false;
			/* "fri-sun": a range ending in the name sun ends at 7 */
			if (named && f->names == cron_day_names && hi == 0)
				hi = 7;
			if (lo > hi)
			{
				cron_quote(q, sizeof(q), item, len);
				cron_error(errbuf, errlen, "invalid range \"%s\" in %s field (start is greater than end)",
						   q, f->name);
				return false;
			}
		}
		else if (p < len && item[p] == '/')
			hi = lo > f->star_max ? lo : f->star_max;	/* "N/S" = "N-max/S" */
	}
	if (p < len && item[p] == '/')
	{
		int64_t		s = 0;
		size_t		start = ++p;
		int			nvals = f->star_max - f->min + 1;

		while (p < len && cron_is_digit(item[p]))
		{
			if (s <= 1000000)
				s = s * 10 + (item[p] - '0');
			p++;
		}
		if (p == start)
		{
			cron_quote(q, sizeof(q), item, len);
			cron_error(errbuf, errlen, "missing step after \"/\" in \"%s\" in %s field",
					   q, f->name);
			return false;
		}
		if (s < 1 || s > nvals)
		{
			cron_quote(q, sizeof(q), item + start, p - start);
			cron_error(errbuf, errlen, "invalid step \"%s\" in %s field (allowed 1-%d)",
					   q, f->name, nvals);
			return false;
		}
		step = (int) s;
	}
	if (p != len)
	{
		cron_quote(q, sizeof(q), item, len);
		cron_error(errbuf, errlen, "invalid item \"%s\" in %s field (expected *, a value, a range or a step)",
				   q, f->name);
		return false;
	}
	for (v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return true;
}

/* Parse a whole field (comma-separated items) into *bits. */
static bool
cron_parse_field(const CronFieldDef *f, const char *text, size_t len,
				 uint64_t *bits, char *errbuf, size_t errlen)
{
	size_t		start = 0;
	size_t		i;

	*bits = 0;
	for (i = 0; i <= len; i++)
	{
		if (i == len || text[i] == ',')
		{
			if (!cron_parse_item(f, text + start, i - start, bits, errbuf, errlen))
				return false;
			start = i + 1;
		}
	}
	return true;
}

typedef struct CronToken
{
	const char *s;
	size_t		len;
} CronToken;

/* Split on white space; returns the total number of tokens, stores <= max. */
static int
cron_tokenize(const char *expr, CronToken *tok, int max)
{
	const char *p = expr;
	int			n = 0;

	for (;;)
	{
		const char *start;

		while (*p != '\0' && cron_is_space(*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !cron_is_space(*p))
			p++;
		if (n < max)
		{
			tok[n].s = start;
			tok[n].len = (size_t) (p - start);
		}
		if (n < 1000000)
			n++;
	}
	return n;
}

static bool cron_parse_internal(const char *expr, CronSchedule *out,
								char *errbuf, size_t errlen, int depth);

static bool
cron_parse_macro(const CronToken *tok, int ntok, CronSchedule *out,
				 char *errbuf, size_t errlen, int depth)
{
	static const struct
	{
		const char *name;
		const char *expansion;
	}			macros[] = {
		{"@hourly", "0 * * * *"},
		{"@daily", "0 0 * * *"},
		{"@midnight", "0 0 * * *"},
		{"@weekly", "0 0 * * 0"},
		{"@monthly", "0 0 1 * *"},
		{"@yearly", "0 0 1 1 *"},
		{"@annually", "0 0 1 1 *"},
	};
	size_t		i;
	char		q[48];

	cron_quote(q, sizeof(q), tok[0].s, tok[0].len);
	if (cron_word_eq(tok[0].s, tok[0].len, "@reboot"))
	{
		cron_error(errbuf, errlen, "@reboot is not supported");
		return false;
	}
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
	{
		if (cron_word_eq(tok[0].s, tok[0].len, macros[i].name))
		{
			if (ntok != 1)
			{
				cron_error(errbuf, errlen, "unexpected text after %s", macros[i].name);
				return false;
			}
			return cron_parse_internal(macros[i].expansion, out, errbuf, errlen,
									   depth + 1);
		}
	}
	cron_error(errbuf, errlen,
			   "unknown macro \"%s\" (expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)",
			   q);
	return false;
}

static bool
cron_parse_interval(const CronToken *tok, int ntok, CronSchedule *out,
					char *errbuf, size_t errlen)
{
	static const char *const usage =
		"expected \"every N minutes\", \"every N hours\" or \"every N days\"";
	int64_t		n = 0;
	int64_t		unit;
	int64_t		maxn;
	size_t		i;
	char		q[48];

	if (ntok != 3)
	{
		cron_error(errbuf, errlen, "invalid interval: %s", usage);
		return false;
	}
	for (i = 0; i < tok[1].len; i++)
	{
		if (!cron_is_digit(tok[1].s[i]))
		{
			cron_quote(q, sizeof(q), tok[1].s, tok[1].len);
			cron_error(errbuf, errlen, "invalid interval count \"%s\": %s", q, usage);
			return false;
		}
		if (n <= INT64_C(100000000))
			n = n * 10 + (tok[1].s[i] - '0');
	}
	if (cron_word_eq(tok[2].s, tok[2].len, "minute") ||
		cron_word_eq(tok[2].s, tok[2].len, "minutes"))
		unit = 60;
	else if (cron_word_eq(tok[2].s, tok[2].len, "hour") ||
			 cron_word_eq(tok[2].s, tok[2].len, "hours"))
		unit = 3600;
	else if (cron_word_eq(tok[2].s, tok[2].len, "day") ||
			 cron_word_eq(tok[2].s, tok[2].len, "days"))
		unit = CRON_SECS_PER_DAY;
	else if (cron_word_eq(tok[2].s, tok[2].len, "second") ||
			 cron_word_eq(tok[2].s, tok[2].len, "seconds"))
	{
		cron_error(errbuf, errlen, "intervals in seconds are not supported (the smallest unit is minutes)");
		return false;
	}
	else
	{
		cron_quote(q, sizeof(q), tok[2].s, tok[2].len);
		cron_error(errbuf, errlen, "invalid interval unit \"%s\": %s", q, usage);
		return false;
	}
	maxn = CRON_MAX_INTERVAL_SECONDS / unit;
	if (n < 1 || n > maxn)
	{
		cron_quote(q, sizeof(q), tok[1].s, tok[1].len);
		cron_error(errbuf, errlen, "invalid interval count \"%s\" (allowed 1-%lld %s)",
				   q, (long long) maxn,
				   unit == 60 ? "minutes" : unit == 3600 ? "hours" : "days");
		return false;
	}
	out->interval_seconds = n * unit;
	return true;
}

/*
 * Does the schedule fire at all?  Only possible failure: day-of-week starred
 * (so days must satisfy day-of-month) and no selected day exists in any
 * selected month.  In AND mode with both starred, day 1 is always selected.
 */
static bool
cron_some_day_exists(const CronSchedule *s)
{
	int			m;

	if (!s->dow_star)
		return true;			/* OR mode: every weekday occurs every month */
	for (m = 1; m <= 12; m++)
	{
		uint32_t	valid;

		if (!(s->months & (UINT32_C(1) << m)))
			continue;
		valid = ((UINT32_C(1) << cron_days_in_month(2000, m)) - 1) << 1;
		if (s->mdays & valid)
			return true;
	}
	return false;
}

static bool
cron_parse_internal(const char *expr, CronSchedule *out,
					char *errbuf, size_t errlen, int depth)
{
	CronToken	tok[CRON_NFIELDS];
	int			ntok;
	int			i;
	uint64_t	bits[CRON_NFIELDS];
	char		q1[48];
	char		q2[48];

	if (out == NULL)
	{
		cron_error(errbuf, errlen, "no output schedule given");
		return false;
	}
	memset(out, 0, sizeof(*out));
	if (expr == NULL)
	{
		cron_error(errbuf, errlen, "cron expression is NULL");
		return false;
	}
	ntok = cron_tokenize(expr, tok, CRON_NFIELDS);
	if (ntok == 0)
	{
		cron_error(errbuf, errlen, "cron expression is empty");
		return false;
	}
	if (tok[0].s[0] == '@' && depth == 0)
		return cron_parse_macro(tok, ntok, out, errbuf, errlen, depth);
	if (cron_word_eq(tok[0].s, tok[0].len, "every"))
		return cron_parse_interval(tok, ntok, out, errbuf, errlen);
	if (ntok != CRON_NFIELDS)
	{
		cron_error(errbuf, errlen,
				   "cron expression has %d field%s, expected 5 (minute hour day-of-month month day-of-week)",
				   ntok, ntok == 1 ? "" : "s");
		return false;
	}
	for (i = 0; i < CRON_NFIELDS; i++)
	{
		if (!cron_parse_field(&cron_fields[i], tok[i].s, tok[i].len, &bits[i],
							  errbuf, errlen))
		{
			memset(out, 0, sizeof(*out));
			return false;
		}
	}
	out->minutes = bits[CRON_F_MINUTE];
	out->hours = (uint32_t) bits[CRON_F_HOUR];
	out->mdays = (uint32_t) bits[CRON_F_MDAY];
	out->months = (uint32_t) bits[CRON_F_MONTH];
	/* weekday 7 is Sunday */
	out->wdays = (uint32_t) ((bits[CRON_F_WDAY] | (bits[CRON_F_WDAY] >> 7)) & 0x7F);
	out->dom_star = tok[CRON_F_MDAY].s[0] == '*';
	out->dow_star = tok[CRON_F_WDAY].s[0] == '*';
	if (!cron_some_day_exists(out))
	{
		cron_quote(q1, sizeof(q1), tok[CRON_F_MDAY].s, tok[CRON_F_MDAY].len);
		cron_quote(q2, sizeof(q2), tok[CRON_F_MONTH].s, tok[CRON_F_MONTH].len);
		memset(out, 0, sizeof(*out));
		cron_error(errbuf, errlen,
				   "schedule never fires: day-of-month \"%s\" never occurs in month \"%s\"",
				   q1, q2);
		return false;
	}
	return true;
}

bool
cron_parse(const char *expr, CronSchedule *out, char *errbuf, size_t errlen)
{
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	return cron_parse_internal(expr, out, errbuf, errlen, 0);
}

/* ----------------------------------------------------------------------
 * Matching and civil search
 * ---------------------------------------------------------------------- */

static bool
cron_schedule_valid(const CronSchedule *s)
{
	if (s == NULL)
		return false;
	if (s->interval_seconds != 0)
		return s->interval_seconds > 0 &&
			s->interval_seconds <= CRON_MAX_INTERVAL_SECONDS;
	return (s->minutes & ((UINT64_C(1) << 60) - 1)) != 0 &&
		(s->hours & CRON_ALL_HOURS) != 0 &&
		(s->mdays & UINT32_C(0xFFFFFFFE)) != 0 &&
		(s->months & UINT32_C(0x1FFE)) != 0 &&
		(s->wdays & 0x7F) != 0;
}

/* bitmask (bit d = day d) of matching days of month m of year y */
static uint32_t
cron_day_mask(const CronSchedule *s, int64_t y, int m)
{
	int			ndays = cron_days_in_month(y, m);
	uint32_t	valid = ((UINT32_C(1) << ndays) - 1) << 1;
	int			wd1 = cron_weekday(cron_days_from_civil(y, m, 1));
	uint32_t	dow = 0;
	uint32_t	dom = s->mdays & valid;
	int			w;

	for (w = 0; w < 7; w++)
	{
		int			d;

		if (!(s->wdays & (UINT32_C(1) << w)))
			continue;
		for (d = 1 + (w - wd1 + 7) % 7; d <= 31; d += 7)
			dow |= UINT32_C(1) << d;
	}
	dow &= valid;
	if (s->dom_star || s->dow_star)
		return dom & dow;
	return dom | dow;
}

bool
cron_matches(const CronSchedule *s, const CronCivil *c)
{
	if (!cron_schedule_valid(s) || s->interval_seconds != 0 ||
		c == NULL || !cron_civil_valid(c))
		return false;
	return (s->minutes & (UINT64_C(1) << c->minute)) &&
		(s->hours & (UINT32_C(1) << c->hour)) &&
		(s->months & (UINT32_C(1) << c->month)) &&
		(cron_day_mask(s, c->year, c->month) & (UINT32_C(1) << c->mday));
}

/*
 * First matching civil minute at or after local second "from" (rounded up
 * to a whole minute).  Result in local seconds.  Skips whole months, days
 * and hours that cannot match.  False if none within the horizon.
 */
static bool
cron_search(const CronSchedule *s, int64_t from, int64_t *result)
{
	int64_t		mins = cron_floor_div(from + 59, 60);
	int64_t		days = cron_floor_div(mins, 1440);
	int			rem = (int) (mins - days * 1440);
	int64_t		y;
	int64_t		start_year;
	int			m;
	int			d;
	int			h = rem / 60;
	int			mi = rem % 60;
	int			iter;

	cron_civil_from_days(days, &y, &m, &d);
	start_year = y;
	for (iter = 0; iter < CRON_SEARCH_STEPS; iter++)
	{
		uint32_t	dmask;
		uint64_t	hmask;
		uint64_t	mmask;
		bool		next_month = false;

		if (y > start_year + CRON_HORIZON_YEARS || y > CRON_MAX_YEAR)
			return false;
		if (!(s->months & (UINT32_C(1) << m)))
			next_month = true;
		else if (d > cron_days_in_month(y, m))
			next_month = true;
		else
		{
			dmask = (uint32_t) cron_bits_from(cron_day_mask(s, y, m), d);
			if (dmask == 0)
				next_month = true;
			else
			{
				int			nd = cron_lowest_bit(dmask);

				if (nd != d)
				{
					d = nd;
					h = 0;
					mi = 0;
				}
				hmask = cron_bits_from(s->hours & CRON_ALL_HOURS, h);
				if (hmask == 0)
				{
					d++;
					h = 0;
					mi = 0;
					continue;
				}
				if (cron_lowest_bit(hmask) != h)
				{
					h = cron_lowest_bit(hmask);
					mi = 0;
				}
				mmask = cron_bits_from(s->minutes & ((UINT64_C(1) << 60) - 1), mi);
				if (mmask == 0)
				{
					h++;
					mi = 0;
					if (h > 23)
					{
						d++;
						h = 0;
					}
					continue;
				}
				mi = cron_lowest_bit(mmask);
				*result = cron_days_from_civil(y, m, d) * CRON_SECS_PER_DAY +
					h * 3600 + mi * 60;
				return true;
			}
		}
		if (next_month)
		{
			/* jump to the next selected month */
			uint32_t	later = (uint32_t) cron_bits_from(s->months & UINT32_C(0x1FFE), m + 1);

			if (later != 0)
				m = cron_lowest_bit(later);
			else
			{
				y++;
				m = cron_lowest_bit(s->months & UINT32_C(0x1FFE));
			}
			d = 1;
			h = 0;
			mi = 0;
		}
	}
	return false;
}

bool
cron_next_civil(const CronSchedule *s, const CronCivil *after, CronCivil *next)
{
	int64_t		from;
	int64_t		res;

	if (!cron_schedule_valid(s) || s->interval_seconds != 0 ||
		after == NULL || next == NULL || !cron_civil_valid(after))
		return false;
	from = cron_civil_to_secs(after);
	from = cron_floor_div(from, 60) * 60 + 60;
	if (!cron_search(s, from, &res))
		return false;
	cron_secs_to_civil(res, next);
	return true;
}

/* ----------------------------------------------------------------------
 * Time-zone handling
 * ---------------------------------------------------------------------- */

static bool
cron_utc_to_local(int64_t epoch, CronCivil *out, void *arg)
{
	(void) arg;
	cron_secs_to_civil(epoch, out);
	return true;
}

/* UTC offset (local seconds - epoch) in effect at instant t */
static bool
cron_offset(const CronTzOps *tz, int64_t t, int64_t *off)
{
	CronCivil	c;

	if (t < CRON_MIN_EPOCH - 2 * CRON_PROBE || t > CRON_MAX_EPOCH + 2 * CRON_PROBE)
		return false;
	memset(&c, 0, sizeof(c));
	if (!tz->to_local(t, &c, tz->arg))
		return false;
	if (c.month < 1 || c.month > 12 || c.mday < 1 ||
		c.mday > cron_days_in_month(c.year, c.month) ||
		c.hour < 0 || c.hour > 23 || c.minute < 0 || c.minute > 59 ||
		c.second < 0 || c.second > 60 ||
		c.year < CRON_MIN_YEAR - 1 || c.year > CRON_MAX_YEAR + 1)
		return false;
	*off = cron_civil_to_secs(&c) - t;
	return *off >= -CRON_MAX_OFFSET && *off <= CRON_MAX_OFFSET;
}

typedef enum CronLocalKind
{
	CRON_LOCAL_NONE,			/* unresolvable (odd transitions): skip */
	CRON_LOCAL_UNIQUE,			/* exists once: first */
	CRON_LOCAL_AMBIGUOUS,		/* exists twice: first < second */
	CRON_LOCAL_GAP				/* does not exist: gap_end */
} CronLocalKind;

typedef struct CronLocal
{
	CronLocalKind kind;
	int64_t		first;
	int64_t		second;
	int64_t		gap_end;		/* transition instant ending the gap */
} CronLocal;

/*
 * Map local seconds u to instants.  Solutions t satisfy t + off(t) = u; the
 * candidate offsets are the ones in effect CRON_PROBE before and after u
 * plus the offsets found at the candidate instants (which covers any single
 * transition, and most double ones, within the probe window).
 */
static bool
cron_resolve(const CronTzOps *tz, int64_t u, CronLocal *r)
{
	int64_t		cand[4];
	int			ncand = 0;
	int64_t		olo;
	int64_t		ohi;
	int			nsol = 0;
	int			i;

	memset(r, 0, sizeof(*r));
	if (!cron_offset(tz, u - CRON_PROBE, &olo) ||
		!cron_offset(tz, u + CRON_PROBE, &ohi))
		return false;
	cand[ncand++] = olo;
	if (ohi != olo)
		cand[ncand++] = ohi;
	for (i = 0; i < ncand; i++)
	{
		int64_t		t = u - cand[i];
		int64_t		o;

		if (!cron_offset(tz, t, &o))
			return false;
		if (o == cand[i])
		{
			if (nsol == 0)
				r->first = r->second = t;
			else if (t < r->first)
				r->first = t;
			else if (t > r->second)
				r->second = t;
			nsol++;
		}
		else if (ncand < 4)
		{
			int			j;
			bool		seen = false;

			for (j = 0; j < ncand; j++)
				seen = seen || cand[j] == o;
			if (!seen)
				cand[ncand++] = o;
		}
	}
	if (nsol > 0)
	{
		r->kind = r->first == r->second ? CRON_LOCAL_UNIQUE : CRON_LOCAL_AMBIGUOUS;
		return true;
	}
	if (ohi > olo)
	{
		/* spring-forward gap: find the first t with t + off(t) > u */
		int64_t		lo = u - ohi;
		int64_t		hi = u - olo;
		int64_t		o;

		if (!cron_offset(tz, hi, &o))
			return false;
		if (hi + o <= u)
			return true;		/* NONE */
		if (!cron_offset(tz, lo, &o))
			return false;
		if (lo + o > u)
			return true;		/* NONE */
		while (hi - lo > 1)
		{
			int64_t		mid = lo + (hi - lo) / 2;

			if (!cron_offset(tz, mid, &o))
				return false;
			if (mid + o > u)
				hi = mid;
			else
				lo = mid;
		}
		r->kind = CRON_LOCAL_GAP;
		r->gap_end = hi;
	}
	return true;
}

typedef struct CronFold
{
	bool		present;
	int64_t		t;				/* transition instant */
	int64_t		o_old;			/* offset before (larger) */
	int64_t		o_new;			/* offset after (smaller) */
} CronFold;

/*
 * Smallest t in (lo, hi] whose offset is below o_lo, given off(lo) = o_lo
 * and off(hi) < o_lo (assumes a single transition in between).
 */
static bool
cron_find_drop(const CronTzOps *tz, int64_t lo, int64_t hi, int64_t o_lo,
			   int64_t *t)
{
	while (hi - lo > 1)
	{
		int64_t		mid = lo + (hi - lo) / 2;
		int64_t		o;

		if (!cron_offset(tz, mid, &o))
			return false;
		if (o < o_lo)
			hi = mid;
		else
			lo = mid;
	}
	*t = hi;
	return true;
}

/*
 * Find a fall-back transition near 'after' (offset o0) whose repeated
 * civil range matters: one within CRON_PROBE ahead, or one within
 * CRON_PROBE behind (then 'after' may lie in the second pass).
 */
static bool
cron_find_fold(const CronTzOps *tz, int64_t after, int64_t o0, CronFold *f)
{
	int64_t		o;

	memset(f, 0, sizeof(*f));
	if (!cron_offset(tz, after + CRON_PROBE, &o))
		return false;
	if (o < o0)
	{
		if (!cron_find_drop(tz, after, after + CRON_PROBE, o0, &f->t))
			return false;
		f->o_old = o0;
	}
	else
	{
		if (!cron_offset(tz, after - CRON_PROBE, &o))
			return false;
		if (o <= o0)
			return true;
		if (!cron_find_drop(tz, after - CRON_PROBE, after, o, &f->t))
			return false;
		f->o_old = o;
	}
	if (!cron_offset(tz, f->t, &f->o_new))
		return false;
	f->present = f->o_new < f->o_old;
	return true;
}

bool
cron_next(const CronSchedule *s, int64_t after_epoch, const CronTzOps *tz,
		  int64_t *next_epoch)
{
	static const CronTzOps utc = {cron_utc_to_local, NULL};
	int64_t		o0;
	int64_t		cu;
	int64_t		best = 0;
	bool		found = false;
	bool		hourly;
	int			step;
	CronFold	fold;

	if (!cron_schedule_valid(s) || next_epoch == NULL)
		return false;
	if (s->interval_seconds > 0)
	{
		int64_t		iv = s->interval_seconds;

		if (after_epoch > INT64_MAX - iv || after_epoch < INT64_MIN + iv)
			return false;
		*next_epoch = cron_floor_div(after_epoch, iv) * iv + iv;
		return true;
	}
	if (tz == NULL)
		tz = &utc;
	if (tz->to_local == NULL)
		return false;
	if (after_epoch < CRON_MIN_EPOCH || after_epoch > CRON_MAX_EPOCH)
		return false;
	if (!cron_offset(tz, after_epoch, &o0))
		return false;
	if (!cron_find_fold(tz, after_epoch, o0, &fold))
		return false;
	hourly = (s->hours & CRON_ALL_HOURS) == CRON_ALL_HOURS;

	/*
	 * First occurrences.  Walk matching civil minutes in civil order from
	 * after's own minute.  The earliest instant of a civil minute (its first
	 * occurrence, or the gap end for a gap minute) is non-decreasing in civil
	 * order, so the first one beyond 'after' is the earliest.  If 'after' is
	 * in the second pass of an overlap, the rest of the repeated civil range
	 * has its first occurrences behind us: skip it.
	 */
	cu = cron_floor_div(after_epoch + o0, 60) * 60;
	if (fold.present && fold.t <= after_epoch &&
		after_epoch + o0 < fold.t + fold.o_old)
		cu = fold.t + fold.o_old;
	for (step = 0; step < CRON_NEXT_STEPS && !found; step++)
	{
		int64_t		c;
		CronLocal	r;

		if (!cron_search(s, cu, &c))
			break;
		if (!cron_resolve(tz, c, &r))
			return false;
		cu = c + 60;
		switch (r.kind)
		{
			case CRON_LOCAL_UNIQUE:
			case CRON_LOCAL_AMBIGUOUS:
				if (r.first > after_epoch)
				{
					best = r.first;
					found = true;
				}
				break;
			case CRON_LOCAL_GAP:
				if (!hourly)
				{
					if (r.gap_end > after_epoch)
					{
						best = r.gap_end;
						found = true;
					}
				}
				else
				{
					/* no slots in the gap: resume at the gap's civil end */
					int64_t		o;

					if (!cron_offset(tz, r.gap_end, &o))
						return false;
					if (r.gap_end + o > cu)
						cu = r.gap_end + o;
				}
				break;
			case CRON_LOCAL_NONE:
				break;
		}
	}

	/*
	 * Second occurrences (hourly schedules only): the first matching civil
	 * minute of the repeated range whose second occurrence is after 'after'.
	 */
	if (hourly && fold.present)
	{
		int64_t		from = fold.t + fold.o_new;
		int64_t		c;

		if (after_epoch + fold.o_new + 1 > from)
			from = after_epoch + fold.o_new + 1;
		if (cron_search(s, from, &c) && c < fold.t + fold.o_old)
		{
			int64_t		t = c - fold.o_new;

			if (t > after_epoch && (!found || t < best))
			{
				best = t;
				found = true;
			}
		}
	}
	if (!found)
		return false;
	*next_epoch = best;
	return true;
}
