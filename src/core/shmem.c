/*-------------------------------------------------------------------------
 * core/shmem.c
 *		Allocation of pgmanage's shared memory: the process registry of
 *		core, and the segments capabilities registered (pgm_shmem_add).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "core/shmem.h"

#define PGM_MAX_SEGMENTS 8

PgmShared  *pgm_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static struct
{
	void		(*request) (void);
	void		(*startup) (void);
}			segments[PGM_MAX_SEGMENTS];
static int	nsegments = 0;

void
pgm_shmem_add(void (*request) (void), void (*startup) (void))
{
	if (nsegments >= PGM_MAX_SEGMENTS)
		elog(ERROR, "pgmanage: too many shared memory segments");
	segments[nsegments].request = request;
	segments[nsegments].startup = startup;
	nsegments++;
}

static void
pgm_shmem_startup(void)
{
	bool		found;
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgm_shared = ShmemInitStruct("pgmanage", sizeof(PgmShared), &found);
	if (!found)
	{
		memset(pgm_shared, 0, sizeof(PgmShared));
		pgm_shared->lock = &(GetNamedLWLockTranche("pgmanage"))->lock;
		pgm_shared->initialized_at = GetCurrentTimestamp();
	}
	for (i = 0; i < nsegments; i++)
		segments[i].startup();
	LWLockRelease(AddinShmemInitLock);
}

static void
pgm_shmem_request(void)
{
	int			i;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgmShared)));
	RequestNamedLWLockTranche("pgmanage", 1);
	for (i = 0; i < nsegments; i++)
		segments[i].request();
}

/* called from _PG_init while preloading */
void
pgm_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgm_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgm_shmem_startup;
}

bool
pgm_shmem_available(void)
{
	return pgm_shared != NULL;
}

/* ERROR (55000) unless pgmanage was preloaded */
void
pgm_shmem_require(void)
{
	if (pgm_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgmanage is not loaded through shared_preload_libraries"),
				 errhint("Add pgmanage to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* when shared memory was last initialized: server start or crash restart */
TimestampTz
pgm_shmem_initialized_at(void)
{
	return pgm_shared ? pgm_shared->initialized_at : 0;
}

/*
 * Remember a process's last error (shown by pgm_status), cut to
 * PGM_ERROR_LEN - 1 bytes on a character boundary of the database
 * encoding, so pgm_status() never returns half a character.
 */
void
pgm_proc_error(PgmProcStatus *st, const char *fmt,...)
{
	va_list		ap;
	char		buf[PGM_ERROR_LEN * 4];
	int			len;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strlen(buf);
	if (len >= PGM_ERROR_LEN)
		buf[pg_mbcliplen(buf, len, PGM_ERROR_LEN - 1)] = '\0';
	LWLockAcquire(pgm_shared->lock, LW_EXCLUSIVE);
	strlcpy(st->last_error, buf, sizeof(st->last_error));
	st->last_error_at = GetCurrentTimestamp();
	LWLockRelease(pgm_shared->lock);
}
