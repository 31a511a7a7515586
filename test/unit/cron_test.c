/*-------------------------------------------------------------------------
 *
 * cron_test.c
 *	  Standalone unit tests for src/cron.c (TAP output, no framework).
 *
 * This file owns the table-driven tests of the cron parser and next-fire
 * calculator: accepted and rejected expressions with their messages,
 * expected firing sequences from fixed instants (month ends, leap years,
 * DOM/DOW OR semantics, steps, names, macros, intervals), DST transitions
 * in Europe/Berlin, America/New_York and Australia/Lord_Howe using libc
 * (setenv("TZ") + tzset + localtime_r; test only), and brute-force cross
 * checks of cron_next against an independent minute-by-minute scan.
 *
 * Prints "ok N - ..." / "not ok N - ..." and a final "1..N"; exits 1 on any
 * failure.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/cron.h"

static int	test_count = 0;
static int	fail_count = 0;

static void ok(int cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
ok(int cond, const char *fmt,...)
{
	va_list		ap;

	test_count++;
	if (!cond)
		fail_count++;
	printf("%s %d - ", cond ? "ok" : "not ok", test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void diag(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---------------------------------------------------------------------
 * Time helpers (independent of cron.c)
 * --------------------------------------------------------------------- */

static long long
days_from_civil(long long y, int m, int d)
{
	long long	era;
	long long	yoe;
	long long	doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* "YYYY-MM-DDTHH:MM[:SS]" followed by "Z" or "+HH:MM"/"-HH:MM" */
static long long
iso(const char *s)
{
	int			y,
				mo,
				d,
				h,
				mi,
				sec = 0,
				n = 0,
				oh = 0,
				om = 0;
	const char *p;
	long long	t;
	int			sign = 0;

	if (sscanf(s, "%d-%d-%dT%d:%d%n", &y, &mo, &d, &h, &mi, &n) != 5)
	{
		fprintf(stderr, "bad test instant %s\n", s);
		exit(2);
	}
	p = s + n;
	if (*p == ':')
	{
		sec = atoi(p + 1);
		p += 3;
	}
	if (*p == '+' || *p == '-')
	{
		sign = *p == '+' ? 1 : -1;
		if (sscanf(p + 1, "%d:%d", &oh, &om) != 2)
		{
			fprintf(stderr, "bad offset in %s\n", s);
			exit(2);
		}
	}
	else if (*p != 'Z')
	{
		fprintf(stderr, "missing zone in %s\n", s);
		exit(2);
	}
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return t - sign * (oh * 3600 + om * 60);
}

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* format an instant in the current TZ, with its offset */
static const char *
fmt(long long t)
{
	static char buf[4][64];
	static int	which = 0;
	char	   *b = buf[which++ % 4];
	time_t		tt = (time_t) t;
	struct tm	tm;
	long		off;

	if (localtime_r(&tt, &tm) == NULL)
		return "(out of range)";
	off = tm.tm_gmtoff;
	snprintf(b, 64, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
			 labs(off) / 3600, labs(off) / 60 % 60);
	return b;
}

static bool
libc_to_local(int64_t epoch, CronCivil *out, void *arg)
{
	time_t		t = (time_t) epoch;
	struct tm	tm;

	(void) arg;
	if (localtime_r(&t, &tm) == NULL)
		return false;
	out->year = tm.tm_year + 1900;
	out->month = tm.tm_mon + 1;
	out->mday = tm.tm_mday;
	out->hour = tm.tm_hour;
	out->minute = tm.tm_min;
	out->second = tm.tm_sec;
	return true;
}

static const CronTzOps libc_tz = {libc_to_local, NULL};

static bool
failing_to_local(int64_t epoch, CronCivil *out, void *arg)
{
	(void) epoch;
	(void) out;
	(void) arg;
	return false;
}

static long
offset_at(long long t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	localtime_r(&tt, &tm);
	return tm.tm_gmtoff;
}

static void
civil_at(long long t, CronCivil *c)
{
	libc_to_local(t, c, NULL);
}

/* ---------------------------------------------------------------------
 * Rejected expressions
 * --------------------------------------------------------------------- */

typedef struct BadCase
{
	const char *expr;
	const char *msg;			/* expected substring of the error */
} BadCase;

static const BadCase bad_cases[] = {
	{"", "cron expression is empty"},
	{"   \t ", "cron expression is empty"},
	{"* * * *", "cron expression has 4 fields, expected 5 (minute hour day-of-month month day-of-week)"},
	{"*", "has 1 field, expected 5"},
	{"* * * * * *", "has 6 fields, expected 5"},
	{"0 0 * * * garbage", "has 6 fields"},
	{"0 0 1 jan mon tue", "has 6 fields"},
	{"60 * * * *", "invalid value \"60\" in minute field (allowed 0-59)"},
	{"61 * * * *", "invalid value \"61\" in minute field (allowed 0-59)"},
	{"* 24 * * *", "invalid value \"24\" in hour field (allowed 0-23)"},
	{"* * 0 * *", "invalid value \"0\" in day-of-month field (allowed 1-31)"},
	{"* * 32 * *", "invalid value \"32\" in day-of-month field"},
	{"* * * 0 *", "invalid value \"0\" in month field (allowed 1-12 or jan-dec)"},
	{"* * * 13 *", "invalid value \"13\" in month field"},
	{"* * * * 8", "invalid value \"8\" in day-of-week field (allowed 0-7 or sun-sat)"},
	{"99999999999 * * * *", "invalid value \"99999999999\" in minute field"},
	{"0 99999999999999999999999 * * *", "invalid value \"99999999999999999999999\" in hour field"},
	{"-1 * * * *", "invalid item \"-1\" in minute field"},
	{"*/0 * * * *", "invalid step \"0\" in minute field (allowed 1-60)"},
	{"*/61 * * * *", "invalid step \"61\" in minute field"},
	{"0 0 * * 1-5/8", "invalid step \"8\" in day-of-week field (allowed 1-7)"},
	{"0 0 * * mon/0", "invalid step \"0\" in day-of-week field"},
	{"5-1 * * * *", "invalid range \"5-1\" in minute field (start is greater than end)"},
	{"0 0 * * 7-1", "invalid range \"7-1\" in day-of-week field"},
	{"0 0 * dec-jan *", "invalid range \"dec-jan\" in month field"},
	{"a * * * *", "invalid value \"a\" in minute field"},
	{"* * * foo *", "invalid value \"foo\" in month field"},
	{"* * * january *", "invalid value \"january\" in month field"},
	{"* * * * funday", "invalid value \"funday\" in day-of-week field"},
	{"* * * * sunday", "invalid value \"sunday\" in day-of-week field"},
	{"mon * * * *", "invalid value \"mon\" in minute field"},
	{"0 0 jan * *", "invalid value \"jan\" in day-of-month field"},
	{"* * * * mon-", "invalid item \"mon-\" in day-of-week field"},
	{"1,,2 * * * *", "empty list item in minute field"},
	{"1, * * * *", "empty list item in minute field"},
	{",1 * * * *", "empty list item in minute field"},
	{"*/ * * * *", "missing step after \"/\" in \"*/\" in minute field"},
	{"1-5/ * * * *", "missing step"},
	{"** * * * *", "invalid item \"**\" in minute field"},
	{"*-5 * * * *", "invalid item \"*-5\" in minute field"},
	{"1-2-3 * * * *", "invalid item \"1-2-3\" in minute field"},
	{"1/2/3 * * * *", "invalid item \"1/2/3\" in minute field"},
	{"1.5 * * * *", "invalid item \"1.5\" in minute field"},
	{"*/1x * * * *", "invalid item \"*/1x\" in minute field"},
	{"0 0 * * 1\x01", "invalid item \"1?\" in day-of-week field"},
	{"\xc3\xb8 * * * *", "invalid item \"??\" in minute field"},
	{"0 0 30 2 *", "schedule never fires: day-of-month \"30\" never occurs in month \"2\""},
	{"0 0 31 2 *", "never fires"},
	{"0 0 30,31 feb *", "never fires: day-of-month \"30,31\" never occurs in month \"feb\""},
	{"0 0 31 4,6,9,11 *", "never fires"},
	{"0 0 31 apr-jun/2 *", "never fires"},
	{"0 0 30-31 2 */2", "never fires"},
	{"@reboot", "@reboot is not supported"},
	{"@REBOOT", "@reboot is not supported"},
	{"@fortnightly", "unknown macro \"@fortnightly\""},
	{"@", "unknown macro"},
	{"@daily 5", "unexpected text after @daily"},
	{"every 0 minutes", "invalid interval count \"0\" (allowed 1-525600 minutes)"},
	{"every -5 minutes", "invalid interval count \"-5\""},
	{"every 525601 minutes", "invalid interval count \"525601\" (allowed 1-525600 minutes)"},
	{"every 8761 hours", "(allowed 1-8760 hours)"},
	{"every 366 days", "(allowed 1-365 days)"},
	{"every 99999999999999999999 days", "invalid interval count"},
	{"every 10 seconds", "intervals in seconds are not supported"},
	{"every 10 fortnights", "invalid interval unit \"fortnights\""},
	{"every ten minutes", "invalid interval count \"ten\""},
	{"every 10", "invalid interval: expected \"every N minutes\""},
	{"every", "invalid interval"},
	{"every 10 minutes please", "invalid interval"},
	{"every 1.5 hours", "invalid interval count \"1.5\""},
};

static void
test_bad(void)
{
	size_t		i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
	{
		const BadCase *bc = &bad_cases[i];
		CronSchedule s;
		char		err[CRON_ERRBUF_SIZE];
		bool		res;
		CronSchedule zero;

		memset(&zero, 0, sizeof(zero));
		memset(&s, 0x5a, sizeof(s));
		res = cron_parse(bc->expr, &s, err, sizeof(err));
		ok(!res && strstr(err, bc->msg) != NULL &&
		   memcmp(&s, &zero, sizeof(s)) == 0,
		   "reject \"%s\"", bc->expr);
		if (res || strstr(err, bc->msg) == NULL)
			diag("  got %s: \"%s\", want \"%s\"", res ? "success" : "error",
				 err, bc->msg);
	}
}

static void
test_errbuf(void)
{
	CronSchedule s;
	char		small[8];
	char		longexpr[400];

	ok(!cron_parse("61 * * * *", &s, NULL, 0), "reject with NULL errbuf");
	memset(small, 'x', sizeof(small));
	ok(!cron_parse("61 * * * *", &s, small, sizeof(small)) &&
	   strlen(small) == sizeof(small) - 1, "error message truncated to errlen");
	ok(!cron_parse(NULL, &s, small, sizeof(small)), "reject NULL expression");

	memset(longexpr, '7', sizeof(longexpr) - 1);
	memcpy(longexpr + sizeof(longexpr) - 9, " * * * *", 9);
	{
		char		err[CRON_ERRBUF_SIZE];

		ok(!cron_parse(longexpr, &s, err, sizeof(err)) &&
		   strstr(err, "...\" in minute field") != NULL &&
		   strlen(err) < 120,
		   "long token is truncated in the message");
	}
	{
		char		err[CRON_ERRBUF_SIZE];

		ok(cron_parse("0 0 * * *", &s, err, sizeof(err)) && err[0] == '\0',
		   "success clears errbuf");
	}
}

/* ---------------------------------------------------------------------
 * Accepted expressions: structure checks
 * --------------------------------------------------------------------- */

static uint64_t
bits(const int *v, int n)
{
	uint64_t	b = 0;
	int			i;

	for (i = 0; i < n; i++)
		b |= UINT64_C(1) << v[i];
	return b;
}

static void
test_structure(void)
{
	CronSchedule s;
	CronSchedule t;
	char		err[CRON_ERRBUF_SIZE];

	{
		static const int v[] = {1, 4, 7, 10};

		ok(cron_parse("1-10/3 * * * *", &s, err, sizeof(err)) &&
		   s.minutes == bits(v, 4), "1-10/3 = 1,4,7,10");
	}
	{
		static const int v[] = {0, 15, 30, 45};

		ok(cron_parse("*/15 * * * *", &s, err, sizeof(err)) &&
		   s.minutes == bits(v, 4) && s.hours == 0xFFFFFF,
		   "*/15 = 0,15,30,45");
	}
	{
		static const int v[] = {10, 30, 50};

		ok(cron_parse("10-50/20 * * * *", &s, err, sizeof(err)) &&
		   s.minutes == bits(v, 3), "10-50/20 = 10,30,50");
	}
	{
		static const int v[] = {5, 25, 45};

		ok(cron_parse("5/20 * * * *", &s, err, sizeof(err)) &&
		   s.minutes == bits(v, 3), "5/20 = 5-59/20");
	}
	{
		static const int v[] = {1, 2, 3};

		ok(cron_parse("0 0 * jan-mar *", &s, err, sizeof(err)) &&
		   s.months == bits(v, 3), "jan-mar");
		ok(cron_parse("0 0 * JAN-Mar *", &t, err, sizeof(err)) &&
		   memcmp(&s, &t, sizeof(s)) == 0, "names are case-insensitive");
	}
	{
		static const int v[] = {1, 2, 3, 4, 5};

		ok(cron_parse("0 0 * * mon-fri", &s, err, sizeof(err)) &&
		   s.wdays == bits(v, 5) && !s.dow_star && s.dom_star,
		   "mon-fri = 1-5");
		ok(cron_parse("0 0 * * 1-5", &t, err, sizeof(err)) &&
		   memcmp(&s, &t, sizeof(s)) == 0, "mon-fri equals 1-5");
		ok(cron_parse("0 0 * * Mon-FRI", &t, err, sizeof(err)) &&
		   memcmp(&s, &t, sizeof(s)) == 0, "Mon-FRI equals 1-5");
		ok(cron_parse("0 0 * * 1-fri", &t, err, sizeof(err)) &&
		   memcmp(&s, &t, sizeof(s)) == 0, "mixed number/name range");
	}
	ok(cron_parse("0 0 * * 0", &s, err, sizeof(err)) && s.wdays == 1,
	   "weekday 0 = Sunday");
	ok(cron_parse("0 0 * * 7", &t, err, sizeof(err)) &&
	   memcmp(&s, &t, sizeof(s)) == 0, "weekday 7 = Sunday");
	ok(cron_parse("0 0 * * sun", &t, err, sizeof(err)) &&
	   memcmp(&s, &t, sizeof(s)) == 0, "sun = 0");
	ok(cron_parse("0 0 * * 5-7", &s, err, sizeof(err)) &&
	   s.wdays == ((1u << 5) | (1u << 6) | 1u), "5-7 = fri,sat,sun");
	ok(cron_parse("0 0 * * 0-7", &s, err, sizeof(err)) && s.wdays == 0x7F,
	   "0-7 = all weekdays");
	ok(cron_parse("0 0 * * */2", &s, err, sizeof(err)) &&
	   s.wdays == (1u | 4u | 16u | 64u) && s.dow_star, "*/2 weekdays = 0,2,4,6 and starred");
	ok(cron_parse("* * * * *", &s, err, sizeof(err)) &&
	   s.minutes == (UINT64_C(1) << 60) - 1 && s.hours == 0xFFFFFF &&
	   s.mdays == 0xFFFFFFFE && s.months == 0x1FFE && s.wdays == 0x7F &&
	   s.dom_star && s.dow_star && s.interval_seconds == 0,
	   "* * * * * sets every bit");
	ok(cron_parse("  0   12\t*  *  *  \n", &s, err, sizeof(err)) &&
	   cron_parse("0 12 * * *", &t, err, sizeof(err)) &&
	   memcmp(&s, &t, sizeof(s)) == 0, "extra white space is ignored");
	ok(cron_parse("1,2,5 * * * *", &s, err, sizeof(err)) &&
	   s.minutes == 0x26, "list 1,2,5");
	ok(cron_parse("0-4,*/30,59 * * * *", &s, err, sizeof(err)) &&
	   s.minutes == (0x1F | (UINT64_C(1) << 30) | (UINT64_C(1) << 59)),
	   "mixed list of range, step and value");
	ok(cron_parse("0 0 13 * fri", &s, err, sizeof(err)) &&
	   !s.dom_star && !s.dow_star, "13 * fri: neither starred");
	ok(cron_parse("0 0 */2 * mon", &s, err, sizeof(err)) &&
	   s.dom_star && !s.dow_star, "*/2 DOM counts as starred (Vixie)");
	ok(cron_parse("0 0 29 2 *", &s, err, sizeof(err)), "Feb 29 accepted");
	ok(cron_parse("0 0 30 2 mon", &s, err, sizeof(err)),
	   "Feb 30 accepted when DOW is restricted (OR: fires on Mondays)");
	ok(cron_parse("0 0 31 2,3 *", &s, err, sizeof(err)),
	   "31 accepted when one selected month has 31 days");
	ok(cron_parse("59 23 31 12 7", &s, err, sizeof(err)), "maximum values");
	ok(cron_parse("0 0 1 1 0", &s, err, sizeof(err)), "minimum values");

	{
		static const char *const macros[][2] = {
			{"@hourly", "0 * * * *"},
			{"@daily", "0 0 * * *"},
			{"@midnight", "0 0 * * *"},
			{"@weekly", "0 0 * * 0"},
			{"@monthly", "0 0 1 * *"},
			{"@yearly", "0 0 1 1 *"},
			{"@annually", "0 0 1 1 *"},
			{"  @DAILY  ", "0 0 * * *"},
		};
		size_t		i;

		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			ok(cron_parse(macros[i][0], &s, err, sizeof(err)) &&
			   cron_parse(macros[i][1], &t, err, sizeof(err)) &&
			   memcmp(&s, &t, sizeof(s)) == 0,
			   "%s = %s", macros[i][0], macros[i][1]);
	}
	{
		static const struct
		{
			const char *expr;
			int64_t		secs;
		}			iv[] = {
			{"every 1 minute", 60},
			{"every 10 minutes", 600},
			{"EVERY 10 MINUTES", 600},
			{"  every   2   hours  ", 7200},
			{"every 1 hour", 3600},
			{"every 1 day", 86400},
			{"Every 7 Days", 7 * 86400},
			{"every 525600 minutes", 31536000},
			{"every 8760 hours", 31536000},
			{"every 365 days", 31536000},
			{"every 0010 minutes", 600},
		};
		size_t		i;

		for (i = 0; i < sizeof(iv) / sizeof(iv[0]); i++)
			ok(cron_parse(iv[i].expr, &s, err, sizeof(err)) &&
			   s.interval_seconds == iv[i].secs,
			   "\"%s\" = %lld s", iv[i].expr, (long long) iv[i].secs);
	}
}

/* ---------------------------------------------------------------------
 * Firing sequences
 * --------------------------------------------------------------------- */

typedef struct SeqCase
{
	const char *tz;
	const char *expr;
	const char *start;
	const char *expect[8];		/* NULL-terminated */
	const char *what;
} SeqCase;

static const SeqCase seq_cases[] = {
	/* basics, UTC; 2024-01-01 is a Monday */
	{"UTC", "* * * * *", "2024-01-01T00:00Z",
	{"2024-01-01T00:01Z", "2024-01-01T00:02Z"}, "every minute"},
	{"UTC", "* * * * *", "2024-01-01T00:00:30Z",
	{"2024-01-01T00:01Z"}, "strictly after, seconds truncated"},
	{"UTC", "*/15 * * * *", "2024-01-01T00:00Z",
	{"2024-01-01T00:15Z", "2024-01-01T00:30Z", "2024-01-01T00:45Z", "2024-01-01T01:00Z"}, "*/15"},
	{"UTC", "1-10/3 * * * *", "2024-01-01T00:00Z",
	{"2024-01-01T00:01Z", "2024-01-01T00:04Z", "2024-01-01T00:07Z", "2024-01-01T00:10Z", "2024-01-01T01:01Z"}, "step on range"},
	{"UTC", "10-50/20 * * * *", "2024-01-01T00:00Z",
	{"2024-01-01T00:10Z", "2024-01-01T00:30Z", "2024-01-01T00:50Z", "2024-01-01T01:10Z"}, "step on range 10-50/20"},
	{"UTC", "0 */6 * * *", "2024-01-01T00:00Z",
	{"2024-01-01T06:00Z", "2024-01-01T12:00Z", "2024-01-01T18:00Z", "2024-01-02T00:00Z"}, "hour step"},
	{"UTC", "0 9-17/4 * * *", "2024-01-01T00:00Z",
	{"2024-01-01T09:00Z", "2024-01-01T13:00Z", "2024-01-01T17:00Z", "2024-01-02T09:00Z"}, "hour range step"},
	{"UTC", "30 4 1,15 * *", "2024-01-01T00:00Z",
	{"2024-01-01T04:30Z", "2024-01-15T04:30Z", "2024-02-01T04:30Z"}, "day list"},
	{"UTC", "59 23 31 12 *", "2024-12-31T23:59Z",
	{"2025-12-31T23:59Z"}, "last minute of year, strictly after"},
	{"UTC", "0 0 * * *", "2024-12-31T23:59:59Z",
	{"2025-01-01T00:00Z", "2025-01-02T00:00Z"}, "year rollover"},
	/* month ends */
	{"UTC", "0 0 31 * *", "2024-04-01T00:00Z",
	{"2024-05-31T00:00Z", "2024-07-31T00:00Z", "2024-08-31T00:00Z", "2024-10-31T00:00Z", "2024-12-31T00:00Z", "2025-01-31T00:00Z"}, "31st skips 30-day months"},
	{"UTC", "0 0 30 * *", "2024-01-31T00:00Z",
	{"2024-03-30T00:00Z", "2024-04-30T00:00Z"}, "30th skips February"},
	{"UTC", "0 0 31 4,5 *", "2024-01-01T00:00Z",
	{"2024-05-31T00:00Z", "2025-05-31T00:00Z"}, "31st only in May of Apr,May"},
	{"UTC", "0 12 28-31 2 *", "2027-02-27T00:00Z",
	{"2027-02-28T12:00Z", "2028-02-28T12:00Z", "2028-02-29T12:00Z", "2029-02-28T12:00Z"}, "end of February, leap and common"},
	{"UTC", "0 0 29-31 2 *", "2023-01-01T00:00Z",
	{"2024-02-29T00:00Z", "2028-02-29T00:00Z"}, "Feb 29-31 = Feb 29 only"},
	/* leap years */
	{"UTC", "0 0 29 2 *", "2027-03-01T00:00Z",
	{"2028-02-29T00:00Z", "2032-02-29T00:00Z"}, "Feb 29 from 2027 -> 2028"},
	{"UTC", "0 0 29 2 *", "2028-02-28T23:59Z",
	{"2028-02-29T00:00Z"}, "Feb 29 2028 from the eve"},
	{"UTC", "0 0 29 2 *", "2096-03-01T00:00Z",
	{"2104-02-29T00:00Z"}, "2100 is not a leap year"},
	{"UTC", "0 0 29 2 *", "1999-03-01T00:00Z",
	{"2000-02-29T00:00Z"}, "2000 is a leap year"},
	{"UTC", "0 0 29 2 */7", "2024-03-01T00:00Z",
	{"2032-02-29T00:00Z", "2060-02-29T00:00Z"}, "Feb 29 AND Sunday (starred DOW)"},
	{"UTC", "0 0 29 2 */7", "2088-03-01T00:00Z",
	{"2128-02-29T00:00Z"}, "40-year gap is within the horizon"},
	/* day-of-month / day-of-week */
	{"UTC", "0 0 * * mon", "2024-01-01T00:00Z",
	{"2024-01-08T00:00Z", "2024-01-15T00:00Z"}, "DOM * -> DOW only"},
	{"UTC", "0 0 13 * *", "2024-01-01T00:00Z",
	{"2024-01-13T00:00Z", "2024-02-13T00:00Z"}, "DOW * -> DOM only"},
	{"UTC", "0 0 13 * fri", "2024-09-01T00:00Z",
	{"2024-09-06T00:00Z", "2024-09-13T00:00Z", "2024-09-20T00:00Z", "2024-09-27T00:00Z", "2024-10-04T00:00Z", "2024-10-11T00:00Z", "2024-10-13T00:00Z"}, "13th OR Friday"},
	{"UTC", "0 0 1 * mon", "2024-01-01T00:00Z",
	{"2024-01-08T00:00Z", "2024-01-15T00:00Z", "2024-01-22T00:00Z", "2024-01-29T00:00Z", "2024-02-01T00:00Z", "2024-02-05T00:00Z"}, "1st OR Monday"},
	{"UTC", "0 0 30 2 mon", "2024-01-31T00:00Z",
	{"2024-02-05T00:00Z", "2024-02-12T00:00Z"}, "Feb 30 OR Monday fires on Mondays"},
	{"UTC", "0 0 */2 * mon", "2024-01-01T00:00Z",
	{"2024-01-15T00:00Z", "2024-01-29T00:00Z", "2024-02-05T00:00Z", "2024-02-19T00:00Z"}, "*/2 DOM is starred: odd days AND Monday"},
	{"UTC", "0 0 1 * */2", "2024-01-01T00:00Z",
	{"2024-02-01T00:00Z", "2024-06-01T00:00Z", "2024-08-01T00:00Z"}, "1st AND (sun,tue,thu,sat)"},
	{"UTC", "0 0 * * 0", "2024-01-01T00:00Z",
	{"2024-01-07T00:00Z", "2024-01-14T00:00Z"}, "Sunday as 0"},
	{"UTC", "0 0 * * 7", "2024-01-01T00:00Z",
	{"2024-01-07T00:00Z", "2024-01-14T00:00Z"}, "Sunday as 7"},
	{"UTC", "0 0 * * SUN", "2024-01-01T00:00Z",
	{"2024-01-07T00:00Z"}, "Sunday as SUN"},
	{"UTC", "0 0 * * 5-7", "2024-01-01T00:00Z",
	{"2024-01-05T00:00Z", "2024-01-06T00:00Z", "2024-01-07T00:00Z", "2024-01-12T00:00Z"}, "5-7 = fri-sun"},
	{"UTC", "0 0 * * fri-sun", "2024-01-01T00:00Z",
	{"2024-01-05T00:00Z", "2024-01-06T00:00Z", "2024-01-07T00:00Z", "2024-01-12T00:00Z"}, "fri-sun"},
	{"UTC", "0 0 * * mon-fri", "2024-01-01T00:00Z",
	{"2024-01-02T00:00Z", "2024-01-03T00:00Z", "2024-01-04T00:00Z", "2024-01-05T00:00Z", "2024-01-08T00:00Z"}, "mon-fri"},
	/* names */
	{"UTC", "0 0 1 jan-mar *", "2024-01-01T00:00Z",
	{"2024-02-01T00:00Z", "2024-03-01T00:00Z", "2025-01-01T00:00Z"}, "jan-mar"},
	{"UTC", "0 0 1 JAN,Jul *", "2024-01-01T00:00Z",
	{"2024-07-01T00:00Z", "2025-01-01T00:00Z"}, "JAN,Jul"},
	{"UTC", "0 9 * Jan-MAR Mon-Fri", "2024-03-29T10:00Z",
	{"2025-01-01T09:00Z", "2025-01-02T09:00Z"}, "weekdays in Q1 only"},
	/* macros */
	{"UTC", "@hourly", "2024-01-01T00:00Z",
	{"2024-01-01T01:00Z", "2024-01-01T02:00Z"}, "@hourly"},
	{"UTC", "@daily", "2024-01-01T00:00Z",
	{"2024-01-02T00:00Z"}, "@daily"},
	{"UTC", "@weekly", "2024-01-01T00:00Z",
	{"2024-01-07T00:00Z", "2024-01-14T00:00Z"}, "@weekly = Sunday midnight"},
	{"UTC", "@monthly", "2024-01-31T12:00Z",
	{"2024-02-01T00:00Z", "2024-03-01T00:00Z"}, "@monthly"},
	{"UTC", "@yearly", "2024-01-01T00:00Z",
	{"2025-01-01T00:00Z"}, "@yearly"},
	/* intervals: epoch-aligned in UTC */
	{"UTC", "every 10 minutes", "2024-01-01T00:03Z",
	{"2024-01-01T00:10Z", "2024-01-01T00:20Z"}, "every 10 minutes"},
	{"UTC", "every 10 minutes", "2024-01-01T00:10Z",
	{"2024-01-01T00:20Z"}, "every 10 minutes, on a boundary"},
	{"UTC", "every 2 hours", "2024-01-01T01:00Z",
	{"2024-01-01T02:00Z", "2024-01-01T04:00Z"}, "every 2 hours"},
	{"UTC", "every 5 hours", "2024-01-01T00:00Z",
	{"2024-01-01T03:00Z", "2024-01-01T08:00Z"}, "every 5 hours: epoch grid, not midnight"},
	{"UTC", "every 7 days", "2024-01-01T00:00Z",
	{"2024-01-04T00:00Z", "2024-01-11T00:00Z"}, "every 7 days = Thursdays"},
	{"UTC", "every 3 days", "2024-01-01T00:00Z",
	{"2024-01-03T00:00Z"}, "every 3 days"},
	{"UTC", "every 10 minutes", "1969-12-31T23:55Z",
	{"1970-01-01T00:00Z", "1970-01-01T00:10Z"}, "interval before the epoch"},
	{"Europe/Berlin", "every 10 minutes", "2024-01-01T00:03+01:00",
	{"2024-01-01T00:10+01:00"}, "interval in Berlin"},
	{"Europe/Berlin", "every 1 day", "2024-01-01T00:03+01:00",
	{"2024-01-01T01:00+01:00"}, "every day = 00:00 UTC, not local midnight"},
	{"Europe/Berlin", "every 1 hour", "2024-10-27T01:30+02:00",
	{"2024-10-27T02:00+02:00", "2024-10-27T02:00+01:00", "2024-10-27T03:00+01:00"}, "every hour through fall-back"},
	{"America/New_York", "every 1 hour", "2024-03-10T01:30-05:00",
	{"2024-03-10T03:00-04:00", "2024-03-10T04:00-04:00"}, "every hour through spring-forward"},
	/* time zone without DST */
	{"Asia/Kolkata", "30 9 * * *", "2024-01-01T00:00+05:30",
	{"2024-01-01T09:30+05:30", "2024-01-02T09:30+05:30"}, "fixed +05:30 zone"},
	{"Asia/Kolkata", "0 0 1 1 *", "2023-12-31T23:00+05:30",
	{"2024-01-01T00:00+05:30"}, "local new year in +05:30"},

	/* Europe/Berlin spring forward: 2024-03-31 02:00 CET -> 03:00 CEST */
	{"Europe/Berlin", "30 2 * * *", "2024-03-30T12:00+01:00",
	{"2024-03-31T03:00+02:00", "2024-04-01T02:30+02:00"}, "Berlin gap: 02:30 fires at 03:00"},
	{"Europe/Berlin", "0 2 * * *", "2024-03-30T12:00+01:00",
	{"2024-03-31T03:00+02:00", "2024-04-01T02:00+02:00"}, "Berlin gap: 02:00 fires at 03:00"},
	{"Europe/Berlin", "59 2 * * *", "2024-03-31T00:00+01:00",
	{"2024-03-31T03:00+02:00"}, "Berlin gap: 02:59 fires at 03:00"},
	{"Europe/Berlin", "0,30 2 * * *", "2024-03-31T00:00+01:00",
	{"2024-03-31T03:00+02:00", "2024-04-01T02:00+02:00", "2024-04-01T02:30+02:00"}, "Berlin gap: two slots fire once"},
	{"Europe/Berlin", "* 2 * * *", "2024-03-31T01:59+01:00",
	{"2024-03-31T03:00+02:00", "2024-04-01T02:00+02:00"}, "Berlin gap: 60 slots fire once"},
	{"Europe/Berlin", "15 2,3 * * *", "2024-03-31T00:00+01:00",
	{"2024-03-31T03:00+02:00", "2024-03-31T03:15+02:00", "2024-04-01T02:15+02:00"}, "Berlin gap end then 03:15"},
	{"Europe/Berlin", "0 3 * * *", "2024-03-30T12:00+01:00",
	{"2024-03-31T03:00+02:00", "2024-04-01T03:00+02:00"}, "Berlin 03:00 unaffected"},
	{"Europe/Berlin", "*/20 1-3 * * *", "2024-03-31T01:30+01:00",
	{"2024-03-31T01:40+01:00", "2024-03-31T03:00+02:00", "2024-03-31T03:20+02:00", "2024-03-31T03:40+02:00"}, "Berlin gap: fixed-hour */20"},
	{"Europe/Berlin", "*/15 * * * *", "2024-03-31T01:40+01:00",
	{"2024-03-31T01:45+01:00", "2024-03-31T03:00+02:00", "2024-03-31T03:15+02:00"}, "Berlin gap: */15 has no slots in the gap"},
	{"Europe/Berlin", "30 * * * *", "2024-03-31T01:40+01:00",
	{"2024-03-31T03:30+02:00"}, "Berlin gap: hourly :30 skips 02:30"},
	{"Europe/Berlin", "0 * * * *", "2024-03-31T00:30+01:00",
	{"2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00", "2024-03-31T04:00+02:00"}, "Berlin gap: hourly"},
	{"Europe/Berlin", "@daily", "2024-03-30T12:00+01:00",
	{"2024-03-31T00:00+01:00", "2024-04-01T00:00+02:00"}, "Berlin gap: @daily"},
	/* Europe/Berlin fall back: 2024-10-27 03:00 CEST -> 02:00 CET */
	{"Europe/Berlin", "30 2 * * *", "2024-10-26T12:00+02:00",
	{"2024-10-27T02:30+02:00", "2024-10-28T02:30+01:00"}, "Berlin overlap: daily 02:30 once"},
	{"Europe/Berlin", "30 2 * * *", "2024-10-27T02:10+01:00",
	{"2024-10-28T02:30+01:00"}, "Berlin overlap: daily 02:30 not again in second pass"},
	{"Europe/Berlin", "30 2 * * *", "2024-10-27T02:45+02:00",
	{"2024-10-28T02:30+01:00"}, "Berlin overlap: daily 02:30 not again after first pass"},
	{"Europe/Berlin", "0 2 * * *", "2024-10-26T12:00+02:00",
	{"2024-10-27T02:00+02:00", "2024-10-28T02:00+01:00"}, "Berlin overlap: daily 02:00 once"},
	{"Europe/Berlin", "15 1-3 * * *", "2024-10-27T00:00+02:00",
	{"2024-10-27T01:15+02:00", "2024-10-27T02:15+02:00", "2024-10-27T03:15+01:00"}, "Berlin overlap: fixed hours once"},
	{"Europe/Berlin", "*/15 * * * *", "2024-10-27T02:40+02:00",
	{"2024-10-27T02:45+02:00", "2024-10-27T02:00+01:00", "2024-10-27T02:15+01:00", "2024-10-27T02:30+01:00", "2024-10-27T02:45+01:00", "2024-10-27T03:00+01:00"}, "Berlin overlap: */15 every real quarter hour"},
	{"Europe/Berlin", "*/15 * * * *", "2024-10-27T02:50+02:00",
	{"2024-10-27T02:00+01:00"}, "Berlin overlap: from end of first pass"},
	{"Europe/Berlin", "*/15 * * * *", "2024-10-26T03:00+02:00",
	{"2024-10-26T03:15+02:00"}, "Berlin: fold a day ahead does not interfere"},
	{"Europe/Berlin", "0 * * * *", "2024-10-27T00:30+02:00",
	{"2024-10-27T01:00+02:00", "2024-10-27T02:00+02:00", "2024-10-27T02:00+01:00", "2024-10-27T03:00+01:00"}, "Berlin overlap: hourly fires twice at 02:00"},
	{"Europe/Berlin", "*/30 * * * *", "2024-10-27T02:10+01:00",
	{"2024-10-27T02:30+01:00", "2024-10-27T03:00+01:00"}, "Berlin overlap: from second pass"},
	{"Europe/Berlin", "45 * 27 10 *", "2024-10-27T02:50+02:00",
	{"2024-10-27T02:45+01:00", "2024-10-27T03:45+01:00"}, "Berlin overlap: hourly on one day"},

	/* America/New_York: 2024-03-10 02:00 EST -> 03:00 EDT */
	{"America/New_York", "30 2 * * *", "2024-03-09T12:00-05:00",
	{"2024-03-10T03:00-04:00", "2024-03-11T02:30-04:00"}, "New York gap: 02:30 fires at 03:00"},
	{"America/New_York", "@daily", "2024-03-09T12:00-05:00",
	{"2024-03-10T00:00-05:00", "2024-03-11T00:00-04:00"}, "New York gap: @daily"},
	{"America/New_York", "*/30 * * * *", "2024-03-10T01:15-05:00",
	{"2024-03-10T01:30-05:00", "2024-03-10T03:00-04:00", "2024-03-10T03:30-04:00"}, "New York gap: */30"},
	/* 2024-11-03 02:00 EDT -> 01:00 EST */
	{"America/New_York", "30 1 * * *", "2024-11-02T12:00-04:00",
	{"2024-11-03T01:30-04:00", "2024-11-04T01:30-05:00"}, "New York overlap: daily 01:30 once"},
	{"America/New_York", "*/30 * * * *", "2024-11-03T00:45-04:00",
	{"2024-11-03T01:00-04:00", "2024-11-03T01:30-04:00", "2024-11-03T01:00-05:00", "2024-11-03T01:30-05:00", "2024-11-03T02:00-05:00"}, "New York overlap: */30"},
	{"America/New_York", "0 0 * * *", "2024-11-02T12:00-04:00",
	{"2024-11-03T00:00-04:00", "2024-11-04T00:00-05:00"}, "New York overlap: midnight"},
	{"America/New_York", "0 12 * * sun", "2024-11-02T12:00-04:00",
	{"2024-11-03T12:00-05:00", "2024-11-10T12:00-05:00"}, "New York: Sunday noon after change"},

	/* Australia/Lord_Howe: 30-minute DST (2024-10-06 02:00 -> 02:30, 2024-04-07 02:00 -> 01:30) */
	{"Australia/Lord_Howe", "15 2 * * *", "2024-10-05T12:00+10:30",
	{"2024-10-06T02:30+11:00", "2024-10-07T02:15+11:00"}, "Lord Howe 30-minute gap"},
	{"Australia/Lord_Howe", "*/15 * * * *", "2024-10-06T01:50+10:30",
	{"2024-10-06T02:30+11:00", "2024-10-06T02:45+11:00"}, "Lord Howe gap: */15"},
	{"Australia/Lord_Howe", "*/15 * * * *", "2024-04-07T01:40+11:00",
	{"2024-04-07T01:45+11:00", "2024-04-07T01:30+10:30", "2024-04-07T01:45+10:30", "2024-04-07T02:00+10:30"}, "Lord Howe 30-minute overlap: */15"},
	{"Australia/Lord_Howe", "45 1 * * *", "2024-04-06T12:00+11:00",
	{"2024-04-07T01:45+11:00", "2024-04-08T01:45+10:30"}, "Lord Howe overlap: daily once"},

	/* historical oddities: whole days skipped or repeated */
	{"Pacific/Apia", "0 12 * * *", "2011-12-29T13:00-10:00",
	{"2011-12-31T00:00+14:00", "2011-12-31T12:00+14:00"}, "Apia: skipped 2011-12-30, daily noon fires at gap end"},
	{"Pacific/Apia", "0 * * * *", "2011-12-29T22:30-10:00",
	{"2011-12-29T23:00-10:00", "2011-12-31T00:00+14:00", "2011-12-31T01:00+14:00"}, "Apia: hourly skips the missing day"},
	{"America/Juneau", "0 12 * * *", "1867-10-18T00:00Z",
	{"1867-10-18T20:57:41Z", "1867-10-20T20:57:41Z"}, "Juneau 1867: repeated day, daily fires once"},
	{"America/Juneau", "0 * * * *", "1867-10-19T00:35Z",
	{"1867-10-19T00:57:41Z", "1867-10-19T01:57:41Z"}, "Juneau 1867: 24h fold, odd-second offsets, hourly second pass"},
};

static void
test_sequences(void)
{
	size_t		i;

	for (i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++)
	{
		const SeqCase *sc = &seq_cases[i];
		CronSchedule s;
		char		err[CRON_ERRBUF_SIZE];
		long long	t;
		int			k;
		int			good = 1;

		set_tz(sc->tz);
		if (!cron_parse(sc->expr, &s, err, sizeof(err)))
		{
			ok(0, "%s: \"%s\" [%s]", sc->what, sc->expr, sc->tz);
			diag("  parse error: %s", err);
			continue;
		}
		t = iso(sc->start);
		for (k = 0; sc->expect[k] != NULL; k++)
		{
			int64_t		n = 0;
			long long	want = iso(sc->expect[k]);

			if (!cron_next(&s, t, &libc_tz, &n) || n != want)
			{
				good = 0;
				diag("  after %s: got %s, want %s", fmt(t),
					 n ? fmt(n) : "(none)", fmt(want));
				break;
			}
			t = n;
		}
		ok(good, "%s: \"%s\" [%s]", sc->what, sc->expr, sc->tz);
	}
	set_tz("UTC");
}

/* ---------------------------------------------------------------------
 * Miscellaneous API behaviour
 * --------------------------------------------------------------------- */

static void
test_api(void)
{
	CronSchedule s;
	CronCivil	c;
	CronCivil	n;
	int64_t		out = 0;
	char		err[CRON_ERRBUF_SIZE];
	CronTzOps	bad = {failing_to_local, NULL};

	cron_parse("30 2 * * *", &s, err, sizeof(err));
	ok(cron_next(&s, iso("2024-01-01T00:00Z"), NULL, &out) &&
	   out == iso("2024-01-01T02:30Z"), "tz NULL means UTC");
	ok(!cron_next(&s, 0, &bad, &out), "failing to_local -> false");
	ok(!cron_next(NULL, 0, NULL, &out), "NULL schedule -> false");
	ok(!cron_next(&s, iso("9999-12-30T00:00Z"), NULL, &out),
	   "no firing before year 10000 -> false");
	ok(!cron_next(&s, INT64_MAX, NULL, &out) && !cron_next(&s, INT64_MIN, NULL, &out),
	   "extreme instants -> false");
	{
		CronSchedule zero;

		memset(&zero, 0, sizeof(zero));
		ok(!cron_next(&zero, 0, NULL, &out), "zeroed schedule -> false");
	}

	c.year = 2024;
	c.month = 2;
	c.mday = 29;
	c.hour = 2;
	c.minute = 30;
	c.second = 59;
	ok(cron_matches(&s, &c), "cron_matches ignores seconds");
	c.minute = 31;
	ok(!cron_matches(&s, &c), "cron_matches minute mismatch");
	c.mday = 30;
	ok(!cron_matches(&s, &c), "cron_matches rejects Feb 30");

	c.mday = 29;
	c.minute = 30;
	ok(cron_next_civil(&s, &c, &n) && n.year == 2024 && n.month == 3 &&
	   n.mday == 1 && n.hour == 2 && n.minute == 30 && n.second == 0,
	   "cron_next_civil strictly after");
	cron_parse("0 0 29 2 *", &s, err, sizeof(err));
	c.year = 2027;
	c.month = 3;
	c.mday = 1;
	ok(cron_next_civil(&s, &c, &n) && n.year == 2028 && n.month == 2 &&
	   n.mday == 29 && n.hour == 0, "cron_next_civil leap year");
	c.year = 9997;
	ok(!cron_next_civil(&s, &c, &n), "cron_next_civil: nothing before 10000");

	cron_parse("0 0 13 * fri", &s, err, sizeof(err));
	c.year = 2024;
	c.month = 10;
	c.mday = 13;				/* Sunday the 13th */
	c.hour = 0;
	c.minute = 0;
	c.second = 0;
	ok(cron_matches(&s, &c), "cron_matches OR: 13th that is a Sunday");
	c.mday = 18;				/* Friday */
	ok(cron_matches(&s, &c), "cron_matches OR: Friday the 18th");
	c.mday = 14;
	ok(!cron_matches(&s, &c), "cron_matches OR: Monday the 14th");

	cron_parse("every 10 minutes", &s, err, sizeof(err));
	ok(!cron_matches(&s, &c), "cron_matches false for intervals");
	ok(!cron_next_civil(&s, &c, &n), "cron_next_civil false for intervals");
	ok(cron_next(&s, 0, &bad, &out) && out == 600,
	   "interval ignores the time zone");
	ok(!cron_next(&s, INT64_MAX - 10, NULL, &out), "interval overflow -> false");
}

/* ---------------------------------------------------------------------
 * Brute-force cross checks
 * --------------------------------------------------------------------- */

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned long long
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char *const brute_exprs[] = {
	"* * * * *", "*/15 * * * *", "30 * * * *", "0 * * * *", "*/7 * * * *",
	"30 2 * * *", "0 2 * * *", "15 1-3 * * *", "*/20 1,2 * * *",
	"0,30 1-2 * * *", "* 2 * * *", "59 1 * * *", "0 3 * * *",
	"45 0-23/2 * * *", "0 0 * * *", "*/10 2 * * sun", "5 1,2,3 * * *",
	"0 12 13 * fri", "0 0 */2 * mon", "17 */5 1-10/3 * 2-4", "0 0 31 * *",
	"1-10/3 4 * * *", "* * 29 2 *", "0 6 * jan-mar mon-fri",
};

/*
 * UTC: compare cron_next with a minute-by-minute scan using cron_matches
 * over up to 40 days.
 */
static void
test_brute_utc(void)
{
	size_t		e;

	set_tz("UTC");
	for (e = 0; e < sizeof(brute_exprs) / sizeof(brute_exprs[0]); e++)
	{
		CronSchedule s;
		char		err[CRON_ERRBUF_SIZE];
		int			trial;
		int			good = 1;

		if (!cron_parse(brute_exprs[e], &s, err, sizeof(err)))
		{
			ok(0, "brute UTC \"%s\": parse: %s", brute_exprs[e], err);
			continue;
		}
		for (trial = 0; trial < 12 && good; trial++)
		{
			/* 1901..2199 */
			long long	start = -2145916800LL + (long long) (rng() % 9467280000ULL);
			long long	t;
			long long	limit = start + 40LL * 86400;
			long long	expect = 0;
			bool		have = false;
			int64_t		got = 0;
			bool		res;

			start += (long long) (rng() % 60);
			for (t = start - ((start % 60) + 60) % 60 + 60; t <= limit; t += 60)
			{
				CronCivil	c;

				civil_at(t, &c);
				if (cron_matches(&s, &c))
				{
					expect = t;
					have = true;
					break;
				}
			}
			res = cron_next(&s, start, NULL, &got);
			if (have ? (!res || got != expect) : (!res || got <= limit))
			{
				good = 0;
				diag("  after %s: got %s, want %s", fmt(start),
					 res ? fmt(got) : "(none)",
					 have ? fmt(expect) : "(beyond 40 days)");
			}
		}
		ok(good, "brute UTC \"%s\"", brute_exprs[e]);
	}
}

/*
 * DST: an independent, real-time formulation of the documented rules.
 * Walk every minute instant t of a window: t fires when its civil minute
 * matches and (the schedule is hourly or this is the civil minute's first
 * occurrence); additionally, for fixed-time schedules, a spring-forward
 * transition instant fires when any civil minute inside the gap matches.
 * Compare with the chain of cron_next calls over the same window.
 */
static int
brute_dst_window(const CronSchedule *s, long long from, long long to,
				 const char *label)
{
	static long long ref[8000];
	int			nref = 0;
	bool		hourly = (s->hours & 0xFFFFFF) == 0xFFFFFF;
	long long	t;
	int			i;

	for (t = (from / 60 + 1) * 60; t <= to; t += 60)
	{
		CronCivil	c;
		long		o = offset_at(t);
		long		ob = offset_at(t - 60);
		bool		fires = false;

		civil_at(t, &c);
		if (cron_matches(s, &c))
		{
			bool		repeated = false;
			static const long ds[] = {1800, 3600, 7200};
			size_t		k;

			for (k = 0; k < 3; k++)
				repeated = repeated || offset_at(t - ds[k]) == o + ds[k];
			fires = hourly || !repeated;
		}
		if (!fires && !hourly && o > ob)
		{
			long long	u;

			/* gap civil minutes: [t + ob, t + o) */
			for (u = t + ob; u < t + o; u += 60)
			{
				CronCivil	g;
				long long	days = u >= 0 ? u / 86400 : (u - 86399) / 86400;
				long long	rem = u - days * 86400;
				long long	y;
				int			m,
							d;

				/* civil from local seconds, via days_from_civil search */
				for (y = 1900; days_from_civil(y + 1, 1, 1) <= days; y++)
					;
				for (m = 1; m < 12 && days_from_civil(y, m + 1, 1) <= days; m++)
					;
				d = (int) (days - days_from_civil(y, m, 1)) + 1;
				g.year = (int) y;
				g.month = m;
				g.mday = d;
				g.hour = (int) (rem / 3600);
				g.minute = (int) (rem / 60 % 60);
				g.second = 0;
				if (cron_matches(s, &g))
					fires = true;
			}
		}
		if (fires && nref < 8000)
			ref[nref++] = t;
	}

	t = from;
	for (i = 0;; i++)
	{
		int64_t		n;

		if (!cron_next(s, t, &libc_tz, &n))
		{
			diag("  %s: cron_next failed after %s", label, fmt(t));
			return 0;
		}
		if (n > to)
		{
			if (i != nref)
			{
				diag("  %s: reference has extra firing %s", label, fmt(ref[i]));
				return 0;
			}
			return 1;
		}
		if (i >= nref || n != ref[i])
		{
			diag("  %s: after %s got %s, reference %s", label, fmt(t), fmt(n),
				 i < nref ? fmt(ref[i]) : "(none)");
			return 0;
		}
		t = n;
	}
}

static void
test_brute_dst(void)
{
	static const struct
	{
		const char *zone;
		const char *year_start;
		int			ntrans;
	}			zones[] = {
		{"Europe/Berlin", "2024-01-01T00:00Z", 2},
		{"America/New_York", "2024-01-01T00:00Z", 2},
		{"Australia/Lord_Howe", "2024-01-01T00:00Z", 2},	/* 30 minutes */
		{"America/St_Johns", "2024-01-01T00:00Z", 2},	/* -03:30 */
		{"Antarctica/Troll", "2024-01-01T00:00Z", 2},	/* 2 hours */
		{"Pacific/Apia", "2011-01-01T00:00Z", 3},	/* skipped 2011-12-30 */
		{"Pacific/Kwajalein", "1993-01-01T00:00Z", 1},	/* skipped a day */
	};
	size_t		z;

	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++)
	{
		long long	trans[16];
		int			ntrans = 0;
		long long	t;
		long long	year_start = iso(zones[z].year_start);
		int			k;

		set_tz(zones[z].zone);
		for (t = year_start; t < year_start + 366LL * 86400 && ntrans < 16; t += 900)
		{
			if (offset_at(t) != offset_at(t + 900))
			{
				long long	lo = t,
							hi = t + 900;

				while (hi - lo > 1)
				{
					long long	mid = (lo + hi) / 2;

					if (offset_at(mid) == offset_at(t))
						lo = mid;
					else
						hi = mid;
				}
				trans[ntrans++] = hi;
			}
		}
		ok(ntrans == zones[z].ntrans, "%s has %d transition(s) in the year of %s",
		   zones[z].zone, zones[z].ntrans, zones[z].year_start);
		for (k = 0; k < ntrans; k++)
		{
			size_t		e;

			for (e = 0; e < sizeof(brute_exprs) / sizeof(brute_exprs[0]); e++)
			{
				CronSchedule s;
				char		err[CRON_ERRBUF_SIZE];
				char		label[160];

				cron_parse(brute_exprs[e], &s, err, sizeof(err));
				snprintf(label, sizeof(label), "brute %s %s \"%s\"", zones[z].zone,
						 fmt(trans[k]), brute_exprs[e]);
				ok(brute_dst_window(&s, trans[k] - 36 * 3600 - 17,
									trans[k] + 36 * 3600, label), "%s", label);
			}
		}
	}
	set_tz("UTC");
}

/*
 * Consistency: for random instants around transitions, cron_next(n - 1) and
 * cron_next(midpoint) must both return n.
 */
static void
test_consistency(void)
{
	static const char *const zones[] = {"Europe/Berlin", "America/New_York", "UTC"};
	size_t		z;

	for (z = 0; z < 3; z++)
	{
		size_t		e;
		int			good = 1;

		set_tz(zones[z]);
		for (e = 0; e < sizeof(brute_exprs) / sizeof(brute_exprs[0]) && good; e++)
		{
			CronSchedule s;
			char		err[CRON_ERRBUF_SIZE];
			int			trial;

			cron_parse(brute_exprs[e], &s, err, sizeof(err));
			for (trial = 0; trial < 40 && good; trial++)
			{
				long long	a = iso("2024-03-29T00:00Z") + (long long) (rng() % (4 * 86400));
				int64_t		n,
							n2,
							n3;

				if (trial % 2)
					a += iso("2024-10-25T00:00Z") - iso("2024-03-29T00:00Z");
				if (!cron_next(&s, a, &libc_tz, &n) ||
					!cron_next(&s, n - 1, &libc_tz, &n2) ||
					!cron_next(&s, a + (n - a) / 2, &libc_tz, &n3) ||
					n <= a || n2 != n || n3 != n)
				{
					good = 0;
					diag("  \"%s\" after %s", brute_exprs[e], fmt(a));
				}
			}
		}
		ok(good, "consistency of cron_next in %s", zones[z]);
	}
	set_tz("UTC");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	set_tz("UTC");
	test_bad();
	test_errbuf();
	test_structure();
	test_sequences();
	test_api();
	test_brute_utc();
	test_brute_dst();
	test_consistency();
	printf("1..%d\n", test_count);
	if (fail_count > 0)
	{
		printf("# %d of %d tests failed\n", fail_count, test_count);
		return 1;
	}
	return 0;
}
