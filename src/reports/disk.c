/*-------------------------------------------------------------------------
 * reports/disk.c
 *		pgm_disk_usage(): the filesystems PostgreSQL writes to, and how much
 *		of them WAL and temporary files take.
 *
 * One row per area: the data directory, pg_wal (often a symlink to its own
 * filesystem), temporary files (base/pgsql_tmp and each tablespace's), and
 * each tablespace.  Filesystem figures come from statvfs() and are computed
 * as df(1) does: used = blocks - free, used % = used / (used + available to
 * unprivileged users).  pgm_disk_space() is also the probe behind the
 * worker's disk alerts.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/xlog_internal.h"
#include "catalog/pg_tablespace.h"
#include "commands/tablespace.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "core/compat.h"
#include "reports/reports.h"

PG_FUNCTION_INFO_V1(pgm_disk_usage);

#define DISK_USAGE_COLS 8
#define DISK_MAX_DEPTH 8

/*
 * Bytes of the regular files under a directory (recursively, to a bounded
 * depth); files that vanish while we look are skipped.
 */
static int64
disk_dir_bytes(const char *dirpath, int depth)
{
	DIR		   *dir;
	struct dirent *de;
	int64		total = 0;

	if (depth > DISK_MAX_DEPTH)
		return 0;
	dir = AllocateDir(dirpath);
	if (dir == NULL)
		return 0;
	while ((de = ReadDirExtended(dir, dirpath, DEBUG1)) != NULL)
	{
		char		path[MAXPGPATH];
		struct stat st;

		CHECK_FOR_INTERRUPTS();
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISREG(st.st_mode))
			total += st.st_size;
		else if (S_ISDIR(st.st_mode))
			total += disk_dir_bytes(path, depth + 1);
	}
	FreeDir(dir);
	return total;
}

/*
 * One row: "path" is shown, "fs_path" (an existing directory on the same
 * filesystem, usually the same path) is measured.
 */
static void
disk_emit(ReturnSetInfo *rsinfo, const char *area, const char *path,
		  const char *fs_path, bool has_bytes, int64 bytes)
{
	Datum		values[DISK_USAGE_COLS];
	bool		nulls[DISK_USAGE_COLS];
	char	   *resolved;
	PgmDiskSpace space;

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(area);
	resolved = realpath(path, NULL);	/* malloc'd; NULL if unresolvable */
	values[1] = CStringGetTextDatum(resolved ? resolved : path);
	free(resolved);
	if (pgm_disk_space(fs_path, &space))
	{
		values[2] = Int64GetDatum((int64) space.total_bytes);
		values[3] = Int64GetDatum((int64) space.avail_bytes);
		values[4] = Int64GetDatum((int64) (space.total_bytes - space.avail_bytes));
		values[5] = DirectFunctionCall2(numeric_round,
										DirectFunctionCall1(float8_numeric,
															Float8GetDatum(space.used_pct)),
										Int32GetDatum(1));
	}
	else
		nulls[2] = nulls[3] = nulls[4] = nulls[5] = true;
	if (has_bytes)
	{
		values[6] = Int64GetDatum(bytes);
		values[7] = DirectFunctionCall1(pg_size_pretty, Int64GetDatum(bytes));
	}
	else
		nulls[6] = nulls[7] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
pgm_disk_usage(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		temp_bytes;
	DIR		   *dir;
	struct dirent *de;

	InitMaterializedSRF(fcinfo, 0);

	disk_emit(rsinfo, "data_directory", DataDir, DataDir, false, 0);
	disk_emit(rsinfo, "pg_wal", XLOGDIR, XLOGDIR, true, disk_dir_bytes(XLOGDIR, DISK_MAX_DEPTH));

	/* temporary files: base/pgsql_tmp and each tablespace's pgsql_tmp */
	temp_bytes = disk_dir_bytes("base/" PG_TEMP_FILES_DIR, 0);
	dir = AllocateDir("pg_tblspc");
	while (dir && (de = ReadDirExtended(dir, "pg_tblspc", DEBUG1)) != NULL)
	{
		char		path[MAXPGPATH];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "pg_tblspc/%s/%s/%s", de->d_name,
				 TABLESPACE_VERSION_DIRECTORY, PG_TEMP_FILES_DIR);
		temp_bytes += disk_dir_bytes(path, 0);
	}
	if (dir)
		FreeDir(dir);
	/* base/pgsql_tmp exists only once a temporary file was written */
	disk_emit(rsinfo, "temp_files", "base/" PG_TEMP_FILES_DIR, "base", true, temp_bytes);

	/* each tablespace's filesystem */
	dir = AllocateDir("pg_tblspc");
	while (dir && (de = ReadDirExtended(dir, "pg_tblspc", DEBUG1)) != NULL)
	{
		char		path[MAXPGPATH];
		char	   *end;
		Oid			spcoid = (Oid) strtoul(de->d_name, &end, 10);
		char	   *spcname;

		if (*end != '\0' || !OidIsValid(spcoid))
			continue;
		spcname = get_tablespace_name(spcoid);
		snprintf(path, sizeof(path), "pg_tblspc/%s", de->d_name);
		disk_emit(rsinfo, psprintf("tablespace %s", spcname ? spcname : de->d_name),
				  path, path, false, 0);
	}
	if (dir)
		FreeDir(dir);
	return (Datum) 0;
}
