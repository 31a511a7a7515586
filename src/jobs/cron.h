/*-------------------------------------------------------------------------
 *
 * cron.h
 *	  Cron expression parser and next-fire-time calculator for pgmanage.
 *
 * This module owns the schedule grammar, the in-memory schedule
 * representation (CronSchedule), the civil-calendar search and the rules
 * that map civil (wall-clock) times to instants across daylight-saving-time
 * transitions.  It is pure C99: it includes no PostgreSQL header, keeps no
 * global state, allocates nothing and never calls libc time-zone functions.
 * Time-zone knowledge comes from the caller through CronTzOps, so the server
 * can plug in PostgreSQL's pg_tz and the unit tests/fuzzer can plug in libc.
 * All instants are int64_t seconds since 1970-01-01 00:00:00 UTC.
 *
 * SYNTAX (case-insensitive; leading/trailing white space and runs of white
 * space between fields are ignored).  In this comment "* /S" stands for the
 * two characters '*' '/' followed by S: the space only keeps the C comment
 * from ending.
 *
 *	 1. Five fields:	minute hour day-of-month month day-of-week
 *			minute 0-59, hour 0-23, day-of-month 1-31,
 *			month 1-12 or jan..dec, day-of-week 0-7 or sun..sat (0 and 7 are
 *			both Sunday).  Each field is a comma-separated list of items:
 *			  *			every value
 *			  N			one value (a number, or a three-letter name)
 *			  N-M		inclusive range, N <= M (names allowed: mon-fri, jan-mar;
 *						a range ending in the name sun ends at 7: fri-sun)
 *			  * /S		every S-th value starting at the field minimum
 *			  N-M/S		every S-th value from N to M (1-10/3 = 1,4,7,10)
 *			  N/S		same as N-max/S
 *			S must be between 1 and the number of values in the field.
 *
 *		Day matching follows Vixie cron: a day-of-month or day-of-week field
 *		is "starred" when its text begins with '*' (that includes "* /2").
 *		If both fields are unstarred, a day matches when EITHER field
 *		matches ("0 0 13 * fri" = every 13th and every Friday).  Otherwise
 *		a day must match BOTH; with a plain '*' that means only the other
 *		field matters ("0 0 * * mon" = Mondays), and "0 0 * /2 * mon" means
 *		odd-numbered days that are Mondays (Vixie quirk, kept on purpose).
 *
 *	 2. Macros:	@hourly = "0 * * * *", @daily = @midnight = "0 0 * * *",
 *			@weekly = "0 0 * * 0", @monthly = "0 0 1 * *",
 *			@yearly = @annually = "0 0 1 1 *".  @reboot is rejected.
 *
 *	 3. Intervals:	"every N minute(s)" (1 <= N <= 525600),
 *			"every N hour(s)" (1 <= N <= 8760), "every N day(s)"
 *			(1 <= N <= 365).  Interval schedules fire at every instant that
 *			is a multiple of the interval counted from the Unix epoch, i.e.
 *			in UTC and independent of the time zone: "every 10 minutes"
 *			fires at :00, :10, :20 ...; "every 5 hours" at 00:00, 05:00 ...
 *			UTC of the epoch-aligned 5-hour grid (not reset at midnight);
 *			"every 7 days" fires on Thursdays 00:00 UTC.  Seconds are not
 *			supported.
 *
 * Expressions that can never fire are rejected by cron_parse: when the
 * day-of-week field is starred and no selected day-of-month exists in any
 * selected month ("0 0 30 2 *", "0 0 31 4,6 *").  Feb 29 counts as existing.
 * Every accepted schedule fires at least once in any 40-year window, so
 * cron_next never gives up for an accepted schedule except near year 9999.
 *
 * DST SEMANTICS (cron_next).  A schedule is "hourly" when its hour field
 * covers all 24 hours (e.g. "* /15 * * * *", "0 * * * *", "30 * 1 * *");
 * every other schedule is "fixed-time" (e.g. "30 2 * * *", "0 * /2 * * *").
 * Each matching civil minute maps to instants as follows, and the set of
 * firing instants is the union (an instant that several civil minutes map
 * to fires once); cron_next returns the smallest one strictly after the
 * given instant:
 *	 - a civil time that occurs exactly once: that instant;
 *	 - a civil time in a spring-forward gap (does not exist): fixed-time
 *	   schedules fire once at the end of the gap (the transition instant,
 *	   e.g. 03:00 local in Europe/Berlin; several gap minutes collapse into
 *	   that one firing); hourly schedules simply have no slot in the gap
 *	   ("30 * * * *" fires at 01:30 CET, then 03:30 CEST: one real hour);
 *	 - a civil time that occurs twice (fall-back overlap): fixed-time
 *	   schedules fire once, at the first occurrence; hourly schedules fire at
 *	   both occurrences (so "0 * * * *" keeps firing every real hour and
 *	   "* /15 * * * *" every real quarter hour through the repeated hour).
 * Jumps of any size work (whole skipped or repeated days, as in
 * Pacific/Apia 2011 or America/Juneau 1867, and offsets with seconds), but
 * two transitions less than ~30 hours apart (rare, historical only) are
 * handled on a best-effort basis.
 *
 * All functions are reentrant (no global state), never allocate, and are
 * bounded: cron_next makes a handful of to_local calls in the common case
 * (about 6-10, plus ~20 per binary search near a transition).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGMANAGE_CRON_H
#define PGMANAGE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Suggested size of the error buffer passed to cron_parse. */
#define CRON_ERRBUF_SIZE 256

/* Civil years supported by the calculators. */
#define CRON_MIN_YEAR 1
#define CRON_MAX_YEAR 9999

/* cron_next_civil/cron_next search at most this many years ahead. */
#define CRON_HORIZON_YEARS 50

/* Longest interval accepted by "every N ..." (365 days), in seconds. */
#define CRON_MAX_INTERVAL_SECONDS ((int64_t) 365 * 86400)

/* A parsed schedule.  Plain data without pointers: may be copied and kept
 * in shared memory.  Produce it with cron_parse only. */
typedef struct CronSchedule
{
	uint64_t	minutes;		/* bit m set: minute m matches (0-59) */
	uint32_t	hours;			/* bit h: hour h (0-23) */
	uint32_t	mdays;			/* bit d: day of month d (1-31); bit 0 unused */
	uint32_t	months;			/* bit m: month m (1-12); bit 0 unused */
	uint32_t	wdays;			/* bit w: weekday w (0-6, 0 = Sunday) */
	bool		dom_star;		/* day-of-month field began with '*' */
	bool		dow_star;		/* day-of-week field began with '*' */
	int64_t		interval_seconds;	/* > 0: interval form, the fields above
										 * are unused; 0: five-field form */
} CronSchedule;

/* A civil (local wall-clock) time.  Full year (e.g. 2024), month 1-12, day
 * 1-31, hour 0-23, minute 0-59, second 0-60.  No weekday: it is computed. */
typedef struct CronCivil
{
	int			year;
	int			month;
	int			mday;
	int			hour;
	int			minute;
	int			second;
} CronCivil;

/*
 * Time-zone callback: convert an instant to the local civil time of the
 * zone (what libc localtime_r or PostgreSQL pg_localtime do).  Return false
 * if the conversion fails; cron_next then fails too.  The UTC offset is
 * derived as (civil time read as UTC) - epoch and must stay within +/-26h.
 * The callback must be a pure function of its inputs; it is also called for
 * instants up to ~60 hours before/after the one passed to cron_next.  Note
 * that struct tm/pg_tm count years from 1900 and months from 0: convert.
 */
typedef bool (*CronToLocalFn) (int64_t epoch, CronCivil *out, void *arg);

typedef struct CronTzOps
{
	CronToLocalFn to_local;
	void	   *arg;			/* passed through to to_local */
} CronTzOps;

/*
 * Parse expr into *out.  Returns true on success.  On failure returns false,
 * leaves *out zeroed and writes a NUL-terminated message naming the faulty
 * field into errbuf (if errbuf != NULL and errlen > 0), e.g.
 *	 invalid value "61" in minute field (allowed 0-59)
 *	 cron expression has 4 fields, expected 5 (minute hour day-of-month month day-of-week)
 * Quoted user text is truncated and non-printable bytes are shown as '?'.
 */
extern bool cron_parse(const char *expr, CronSchedule *out,
					   char *errbuf, size_t errlen);

/*
 * Does the civil minute *c match a five-field schedule?  Seconds are
 * ignored; the weekday is computed from the date.  Always false for
 * interval schedules and for out-of-range civil times.
 */
extern bool cron_matches(const CronSchedule *s, const CronCivil *c);

/*
 * Civil-time search, no time zone involved: the first matching civil minute
 * strictly after *after (so from after's minute + 1, seconds of the result
 * are 0).  Returns false for interval schedules, invalid input, or when
 * nothing matches within CRON_HORIZON_YEARS / before year CRON_MAX_YEAR+1.
 */
extern bool cron_next_civil(const CronSchedule *s, const CronCivil *after,
							CronCivil *next);

/*
 * The first firing instant strictly after after_epoch, using the DST rules
 * described above (five-field form) or the epoch-aligned grid (interval
 * form; tz is not used).  tz == NULL means UTC.  Returns false when the time
 * zone callback fails or returns nonsense, when nothing fires within
 * CRON_HORIZON_YEARS (never happens for accepted schedules, see above) or
 * before year CRON_MAX_YEAR+1, or on overflow.  The search is bounded: a
 * few thousand steps at most, typically a handful of to_local calls.
 */
extern bool cron_next(const CronSchedule *s, int64_t after_epoch,
					  const CronTzOps *tz, int64_t *next_epoch);

#endif							/* PGMANAGE_CRON_H */
