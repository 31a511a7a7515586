/*-------------------------------------------------------------------------
 * core/stop_state.c
 *		How the server's previous run ended, and what shared memory held
 *		that nobody wrote: the launcher's stop columns of pgm_status().
 *
 * The postmaster does all of it, never a backend, and nothing happens per
 * captured statement or per drain:
 *	- at each shared-memory initialization (server start, and each crash
 *	  restart) it reads $PGDATA/pg_stat/pgmanage_stop.state, copies it to
 *	  shared memory for pgm_status(), logs one line if the previous stop
 *	  lost anything, and writes the file back marked "running";
 *	- in an on_shmem_exit callback (server exit, and the reinitialization
 *	  of a crash restart, both with the old shared memory still attached;
 *	  an exit is clean when the control file says shut down) it asks each registered counter how much its memory still holds
 *	  (the slow-query ring's entries not yet stored, the kill records not
 *	  yet written: exact, every process is gone by then) and writes that,
 *	  with the kind of stop, to the file.
 * A file still marked "running" at start means the postmaster itself did
 * not exit (kill -9, power loss): the loss is unknown, at most each
 * counter's capacity.  A data directory from a base backup or pg_rewind
 * (backup_label present) carries the source's file: its previous stop is
 * not this server's and is not counted.
 *
 * Shared memory: one small struct written only by the postmaster, read
 * without a lock (a torn read shows a mixed figure for one call at most).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "core/core.h"

#define STOP_STATE_FILE PGSTAT_STAT_PERMANENT_DIRECTORY "/pgmanage_stop.state"
#define STOP_STATE_MAGIC "pgmanage stop state 1"

static struct
{
	const char *name;
	uint64		(*pending) (void);
	uint64		(*capacity) (void);
}			counters[PGM_STOP_MAX_COUNTERS];
static int	ncounters = 0;

static PgmStopState *shared_state = NULL;

/* the postmaster's copy across crash restarts */
static PgmStopState pm_state;

void
pgm_stop_state_add(const char *name, uint64 (*pending) (void), uint64 (*capacity) (void))
{
	if (ncounters >= PGM_STOP_MAX_COUNTERS)
		elog(ERROR, "pgmanage: too many stop-state counters");
	counters[ncounters].name = name;
	counters[ncounters].pending = pending;
	counters[ncounters].capacity = capacity;
	ncounters++;
}

static void
stop_state_read(PgmStopState *st)
{
	FILE	   *f;
	char		line[128];
	char		running[16] = "";

	memset(st, 0, sizeof(*st));
	f = AllocateFile(STOP_STATE_FILE, "r");
	if (f == NULL)
		return;					/* first start with pgmanage preloaded */
	if (fgets(line, sizeof(line), f) == NULL ||
		strncmp(line, STOP_STATE_MAGIC, strlen(STOP_STATE_MAGIC)) != 0)
	{
		FreeFile(f);
		ereport(LOG,
				(errmsg("pgmanage: ignoring \"%s\": not a stop-state file of this version", STOP_STATE_FILE)));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		long long	v;
		char		word[32];
		int			i;

		/* (a literal's trailing space matches none: "last_stop_at" first) */
		if (sscanf(line, "state %15s", running) == 1)
			continue;
		if (sscanf(line, "unclean_stops %lld", &v) == 1)
			st->unclean_stops = v;
		else if (sscanf(line, "last_stop_at %lld", &v) == 1)
			st->last_stop_at = (TimestampTz) v;
		else if (sscanf(line, "last_stop %15s", word) == 1)
			strlcpy(st->last_stop, word, sizeof(st->last_stop));
		else if (sscanf(line, "lost %d %lld", &i, &v) == 2 && i >= 0 && i < PGM_STOP_MAX_COUNTERS)
		{
			st->lost[i] = v;
			st->lost_known[i] = true;
		}
	}
	FreeFile(f);
	st->was_running = (strcmp(running, "running") == 0);
}

static void
stop_state_write(const PgmStopState *st, bool running)
{
	char		tmp[MAXPGPATH];
	FILE	   *f;
	int			i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", STOP_STATE_FILE);
	f = AllocateFile(tmp, "w");
	if (f == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pgmanage: could not write \"%s\": %m", tmp)));
		return;
	}
	fprintf(f, "%s\nstate %s\nunclean_stops %lld\n", STOP_STATE_MAGIC,
			running ? "running" : "stopped", (long long) st->unclean_stops);
	if (st->last_stop[0])
		fprintf(f, "last_stop %s\nlast_stop_at %lld\n", st->last_stop, (long long) st->last_stop_at);
	for (i = 0; i < PGM_STOP_MAX_COUNTERS; i++)
		if (st->lost_known[i])
			fprintf(f, "lost %d %lld\n", i, (long long) st->lost[i]);
	if (FreeFile(f) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pgmanage: could not write \"%s\": %m", tmp)));
		unlink(tmp);
		return;
	}
	(void) durable_rename(tmp, STOP_STATE_FILE, LOG);
}

/* "3 slow statements and 0 kill records" (or "up to ..." when unknown) */
static void
stop_state_describe(const PgmStopState *st, char *buf, size_t len)
{
	int			i;

	buf[0] = '\0';
	for (i = 0; i < ncounters; i++)
	{
		char		part[96];

		if (st->lost_known[i])
			snprintf(part, sizeof(part), "%llu %s", (unsigned long long) st->lost[i], counters[i].name);
		else
			snprintf(part, sizeof(part), "up to %llu %s", (unsigned long long) counters[i].capacity(),
					 counters[i].name);
		if (i > 0)
			strlcat(buf, i == ncounters - 1 ? " and " : ", ", len);
		strlcat(buf, part, len);
	}
}

/*
 * Whether the control file says the server was shut down (the shutdown
 * checkpoint written).  The exit code cannot tell: an immediate shutdown
 * also exits with 0 on 15.  Read directly, no ereport (we are exiting).
 */
static bool
stop_state_shut_down(void)
{
	ControlFileData cf;
	int			fd = open("global/pg_control", O_RDONLY | PG_BINARY, 0);
	bool		ok;

	if (fd < 0)
		return false;
	ok = (read(fd, &cf, sizeof(cf)) == sizeof(cf));
	close(fd);
	return ok && (cf.state == DB_SHUTDOWNED || cf.state == DB_SHUTDOWNED_IN_RECOVERY);
}

/*
 * on_shmem_exit in the postmaster: proc_exit (clean when the control file
 * says shut down; otherwise immediate or abnormal), or the
 * reinitialization after a crash (not inside proc_exit).  Every other
 * process is gone: what the counters say is what was never written.
 */
static void
stop_state_at_exit(int code, Datum arg)
{
	PgmStopState st = pm_state;
	int			i;

	if (!proc_exit_inprogress)
		strlcpy(st.last_stop, "crash", sizeof(st.last_stop));
	else if (stop_state_shut_down())
		strlcpy(st.last_stop, "clean", sizeof(st.last_stop));
	else
		strlcpy(st.last_stop, "immediate", sizeof(st.last_stop));
	if (strcmp(st.last_stop, "clean") != 0)
		st.unclean_stops++;
	st.last_stop_at = GetCurrentTimestamp();
	for (i = 0; i < PGM_STOP_MAX_COUNTERS; i++)
	{
		st.lost_known[i] = (i < ncounters);
		st.lost[i] = (i < ncounters) ? Min(counters[i].pending(), counters[i].capacity()) : 0;
	}
	st.was_running = false;
	stop_state_write(&st, false);
	pm_state = st;
}

static void
stop_state_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgmStopState)));
}

static void
stop_state_shmem_startup(void)
{
	bool		found;
	PgmStopState st;
	char		lost[256];
	struct stat sb;

	shared_state = ShmemInitStruct("pgmanage stop state", sizeof(PgmStopState), &found);
	if (found || IsUnderPostmaster)
		return;

	stop_state_read(&st);
	if (stat("backup_label", &sb) == 0)
	{
		/* a base backup or pg_rewind: the file is the source's */
		memset(&st, 0, sizeof(st));
	}
	else if (st.was_running)
	{
		/* the last postmaster never reached its exit callback */
		st.unclean_stops++;
		strlcpy(st.last_stop, "unknown", sizeof(st.last_stop));
		st.last_stop_at = 0;
		memset(st.lost_known, 0, sizeof(st.lost_known));
	}
	st.was_running = false;

	if (st.last_stop[0] && strcmp(st.last_stop, "clean") != 0)
	{
		stop_state_describe(&st, lost, sizeof(lost));
		if (strcmp(st.last_stop, "unknown") == 0)
			ereport(LOG,
					(errmsg("pgmanage: the previous stop of the server was not clean (the postmaster did not exit): %s held in shared memory may have been lost",
							lost),
					 errdetail("pgm_status() counts %lld unclean stops of this data directory.",
							   (long long) st.unclean_stops)));
		else
			ereport(LOG,
					(errmsg("pgmanage: the previous stop of the server was not clean (%s): %s held in shared memory were lost",
							st.last_stop, lost),
					 errdetail("pgm_status() counts %lld unclean stops of this data directory.",
							   (long long) st.unclean_stops)));
	}
	else if (st.last_stop[0])
	{
		int			i;
		bool		any = false;

		for (i = 0; i < ncounters; i++)
			any |= (st.lost_known[i] && st.lost[i] > 0);
		if (any)
		{
			stop_state_describe(&st, lost, sizeof(lost));
			ereport(LOG,
					(errmsg("pgmanage: the previous clean stop left %s unwritten in shared memory", lost),
					 errdetail("They were captured after the worker's last drain.")));
		}
	}

	pm_state = st;
	*shared_state = st;
	stop_state_write(&st, true);
	on_shmem_exit(stop_state_at_exit, (Datum) 0);
}

void
pgm_stop_state_install(void)
{
	pgm_shmem_add(stop_state_shmem_request, stop_state_shmem_startup);
}

bool
pgm_stop_state_get(PgmStopState *out)
{
	if (shared_state == NULL)
		return false;
	*out = *shared_state;
	return true;
}

/* the loss of the previous stop for the counter called name; false: unknown */
bool
pgm_stop_state_lost(const PgmStopState *st, const char *name, uint64 *lost)
{
	int			i;

	for (i = 0; i < ncounters; i++)
		if (strcmp(counters[i].name, name) == 0)
		{
			*lost = st->lost[i];
			return st->lost_known[i];
		}
	return false;
}
