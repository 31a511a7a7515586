/*-------------------------------------------------------------------------
 *
 * cron_fuzz.c
 *	  libFuzzer target for src/cron.c.
 *
 * This file owns the fuzzing harness of the cron parser and calculators.
 * Each input is NUL-terminated and parsed.  Rejected inputs must produce a
 * non-empty printable-ASCII message.  Accepted schedules are evaluated from
 * several instants in several zones (UTC, a fixed odd offset, synthetic DST
 * zones with 30-minute to 24-hour jumps, and libc's Europe/Berlin), and the
 * results are checked against invariants:
 *	 - cron_next succeeds (every accepted schedule fires within the horizon),
 *	 - the result is strictly after the start,
 *	 - it matches the schedule when re-checked in local time (or is the
 *	   instant of a spring-forward transition: a gap end),
 *	 - cron_next from just before it, and from the midpoint, returns it,
 *	 - in zones without DST it agrees with cron_next_civil,
 *	 - interval schedules land on the epoch-aligned grid within one period.
 * Any violation aborts.  Termination is the library's responsibility: an
 * unbounded search shows up as a libFuzzer timeout.
 *
 *-------------------------------------------------------------------------
 */
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/cron.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------------------------------
 * Zones
 * --------------------------------------------------------------------- */

static int64_t
fdiv(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if (a % b != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era,
				yoe,
				doy;

	y -= m <= 2;
	era = fdiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void
local_secs_to_civil(int64_t secs, CronCivil *c)
{
	int64_t		z = fdiv(secs, 86400);
	int64_t		rem = secs - z * 86400;
	int64_t		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = fdiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->mday = (int) (doy - (153 * mp + 2) / 5 + 1);
	c->month = (int) (mp < 10 ? mp + 3 : mp - 9);
	c->year = (int) (yoe + era * 400 + (c->month <= 2));
	c->hour = (int) (rem / 3600);
	c->minute = (int) (rem / 60 % 60);
	c->second = (int) (rem % 60);
}

/*
 * A synthetic zone: standard offset 'base'; from day 'on' to day 'off' of
 * each UTC year (at 01:00 UTC) the offset is base + jump.  jump < 0 gives
 * an inverted pattern (fold first).
 */
typedef struct SynthZone
{
	int64_t		base;
	int64_t		jump;
	int			on;
	int			off;
	bool		dst;
} SynthZone;

static int64_t
synth_offset(const SynthZone *z, int64_t t)
{
	CronCivil	c;
	int64_t		ys;

	if (!z->dst)
		return z->base;
	local_secs_to_civil(t, &c);
	ys = days_from_civil(c.year, 1, 1) * 86400 + 3600;
	if (t >= ys + z->on * INT64_C(86400) && t < ys + z->off * INT64_C(86400))
		return z->base + z->jump;
	return z->base;
}

static bool
synth_to_local(int64_t epoch, CronCivil *out, void *arg)
{
	const SynthZone *z = arg;

	local_secs_to_civil(epoch + synth_offset(z, epoch), out);
	return true;
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

static int64_t
offset_of(const CronTzOps *tz, int64_t t)
{
	CronCivil	c;

	if (!tz->to_local(t, &c, tz->arg))
		abort();
	return days_from_civil(c.year, c.month, c.mday) * 86400 +
		c.hour * 3600 + c.minute * 60 + c.second - t;
}

/* ---------------------------------------------------------------------
 * Checks
 * --------------------------------------------------------------------- */

static const char *cur_expr;

static void
fail(const char *what, const char *zone, int64_t a, int64_t n)
{
	fprintf(stderr, "INVARIANT VIOLATED: %s\n  expr \"%s\" zone %s after %lld got %lld\n",
			what, cur_expr, zone, (long long) a, (long long) n);
	abort();
}

/*
 * Minimality (short distances only): no instant in (a, n) at which the
 * documented rules require a firing.  An instant t whose local time is a
 * whole minute must fire when its civil minute matches and the schedule is
 * hourly or t is that civil minute's first occurrence.  (Gap-end firings
 * are covered by the unit tests.)
 */
static void
check_minimal(const CronSchedule *s, const CronTzOps *ops, const char *zone,
			  int64_t a, int64_t n)
{
	bool		hourly = (s->hours & 0xFFFFFF) == 0xFFFFFF;
	int64_t		t = a + 1;
	int			guard = 0;

	if (n - a > 4 * 3600)
		return;
	while (t < n && guard++ < 2000)
	{
		int64_t		o = offset_of(ops, t);
		int64_t		r = ((t + o) % 60 + 60) % 60;
		CronCivil	c;

		if (r != 0)
		{
			t += 60 - r;
			continue;
		}
		if (!ops->to_local(t, &c, ops->arg))
			abort();
		if (cron_matches(s, &c))
		{
			bool		repeated = false;
			int64_t		back[2];
			int			k;

			back[0] = offset_of(ops, t - 30 * 3600);
			back[1] = offset_of(ops, t - 3 * 3600);
			for (k = 0; k < 2; k++)
			{
				int64_t		d = back[k] - o;

				if (d > 0 && offset_of(ops, t - d) == back[k])
					repeated = true;
			}
			if (hourly || !repeated)
				fail("a required firing before the result was skipped", zone, a, n);
		}
		t += 60;
	}
}

static void
check_calendar(const CronSchedule *s, const CronTzOps *tz, const char *zone,
			   bool no_dst, int64_t a)
{
	static SynthZone utc_zone = {0, 0, 0, 0, false};
	static const CronTzOps utc_ops = {synth_to_local, &utc_zone};
	const CronTzOps *ops = tz != NULL ? tz : &utc_ops;
	int64_t		n;
	int64_t		n2;
	CronCivil	c;

	if (!cron_next(s, a, tz, &n))
		fail("cron_next failed", zone, a, 0);
	if (n <= a)
		fail("result not after start", zone, a, n);
	if (!ops->to_local(n, &c, ops->arg))
		fail("to_local failed on result", zone, a, n);
	if (!cron_matches(s, &c))
	{
		/* only allowed for the end of a spring-forward gap */
		if (!(offset_of(ops, n) > offset_of(ops, n - 1)))
			fail("result does not match the schedule", zone, a, n);
	}
	check_minimal(s, ops, zone, a, n);
	if (!cron_next(s, n - 1, tz, &n2) || n2 != n)
		fail("cron_next(n - 1) != n", zone, a, n);
	if (!cron_next(s, a + (n - a) / 2, tz, &n2) || n2 != n)
		fail("cron_next(midpoint) != n", zone, a, n);
	if (no_dst)
	{
		CronCivil	ca;
		CronCivil	cn;

		if (!ops->to_local(a, &ca, ops->arg) || !cron_next_civil(s, &ca, &cn))
			fail("cron_next_civil failed", zone, a, n);
		if (cn.year != c.year || cn.month != c.month || cn.mday != c.mday ||
			cn.hour != c.hour || cn.minute != c.minute || c.second != 0)
			fail("cron_next disagrees with cron_next_civil", zone, a, n);
	}
}

static void
check_interval(const CronSchedule *s, int64_t a)
{
	int64_t		n;
	int64_t		iv = s->interval_seconds;

	if (!cron_next(s, a, NULL, &n))
		fail("interval cron_next failed", "-", a, 0);
	if (n <= a || n - a > iv || n % iv != 0)
		fail("interval result off the grid", "-", a, n);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *expr;
	CronSchedule s;
	CronSchedule s2;
	char		err[CRON_ERRBUF_SIZE];
	char		err2[CRON_ERRBUF_SIZE];
	bool		res;
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;
	int64_t		starts[8];
	int			nstarts = 0;

	if (size > 4096)
		return 0;
	expr = malloc(size + 1);
	if (expr == NULL)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	cur_expr = expr;

	res = cron_parse(expr, &s, err, sizeof(err));
	if (cron_parse(expr, &s2, err2, sizeof(err2)) != res ||
		memcmp(&s, &s2, sizeof(s)) != 0 || strcmp(err, err2) != 0)
		fail("cron_parse is not deterministic", "-", 0, 0);
	if (!res)
	{
		if (err[0] == '\0')
			fail("rejected without a message", "-", 0, 0);
		for (i = 0; err[i] != '\0'; i++)
			if ((unsigned char) err[i] < 0x20 || (unsigned char) err[i] >= 0x7f)
				fail("non-printable byte in error message", "-", 0, 0);
		free(expr);
		return 0;
	}

	/* FNV-1a of the input: pseudo-random but reproducible start instants */
	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	starts[nstarts++] = INT64_C(1711846800) - 1800 - (int64_t) (h % 7);	/* Berlin spring */
	starts[nstarts++] = INT64_C(1729990800) - 2700 + (int64_t) (h % 5400);	/* Berlin fall */
	starts[nstarts++] = 0;
	starts[nstarts++] = -1;
	/* 1900..2400 */
	starts[nstarts++] = INT64_C(-2208988800) + (int64_t) ((h >> 8) % UINT64_C(15778800000));
	starts[nstarts++] = INT64_C(946684800) + (int64_t) ((h >> 3) % UINT64_C(1577880000));

	if (s.interval_seconds > 0)
	{
		int			k;

		for (k = 0; k < nstarts; k++)
			check_interval(&s, starts[k]);
		check_interval(&s, INT64_C(4000000000000));
		check_interval(&s, INT64_C(-4000000000000));
		free(expr);
		return 0;
	}

	{
		/* zone parameters from the hash as well */
		SynthZone	fixed = {0, 0, 0, 0, false};
		SynthZone	dst = {3600, 3600, 89, 300, true};
		SynthZone	odd = {0, 0, 0, 0, true};
		static const int64_t jumps[] = {1800, 3600, 7200, 86400, -3600, -86400, 2700};
		CronTzOps	tz_fixed = {synth_to_local, &fixed};
		CronTzOps	tz_dst = {synth_to_local, &dst};
		CronTzOps	tz_odd = {synth_to_local, &odd};
		CronTzOps	tz_libc = {libc_to_local, NULL};
		int			k;

		fixed.base = (int64_t) ((h >> 20) % 105) * 900 - 12 * 3600;	/* -12h..+14h */
		odd.jump = jumps[(h >> 40) % 7];
		if (odd.jump == 86400)
			odd.base = -10 * 3600;	/* -10h <-> +14h, like Pacific/Apia */
		else if (odd.jump == -86400)
			odd.base = 12 * 3600;	/* +12h <-> -12h */
		else
			odd.base = (int64_t) ((h >> 30) % 20) * 3600 - 10 * 3600;
		odd.base += (int64_t) ((h >> 56) % 60);	/* LMT-like odd seconds */
		/* transitions at least 3 days apart (see cron.h) */
		odd.on = (int) ((h >> 44) % 180);
		odd.off = odd.on + 3 + (int) ((h >> 52) % 180);

		for (k = 0; k < nstarts; k++)
		{
			check_calendar(&s, NULL, "UTC", true, starts[k]);
			check_calendar(&s, &tz_fixed, "fixed", true, starts[k]);
			check_calendar(&s, &tz_dst, "synthetic-dst", false, starts[k]);
			check_calendar(&s, &tz_odd, "synthetic-odd", false, starts[k]);
			check_calendar(&s, &tz_libc, "Europe/Berlin", false, starts[k]);
		}
		/* the days around the synthetic transitions */
		for (k = 0; k < 4; k++)
		{
			CronCivil	c;
			int64_t		ys;
			int64_t		t;

			local_secs_to_civil(starts[5], &c);
			ys = days_from_civil(c.year, 1, 1) * 86400 + 3600;
			t = ys + (k < 2 ? odd.on : odd.off) * INT64_C(86400) +
				(k % 2 ? 1 : -1) * (int64_t) ((h >> (8 * k)) % 90000);
			check_calendar(&s, &tz_odd, "synthetic-odd", false, t);
			t = ys + (k < 2 ? dst.on : dst.off) * INT64_C(86400) +
				(k % 2 ? 1 : -1) * (int64_t) ((h >> (8 * k)) % 9000);
			check_calendar(&s, &tz_dst, "synthetic-dst", false, t);
		}
	}
	free(expr);
	return 0;
}
