/*-------------------------------------------------------------------------
 * core/util.c
 *		Small helpers that several capabilities share: the free space of
 *		a filesystem (reports' pgm_disk_usage, webhooks' disk alerts) and a
 *		client address as an inet Datum (kill log, slow queries, reports);
 *		a name made safe for a line of the server log; whether a row is
 *		being stored in pgmanage.database (pgm_store_database).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/statvfs.h>

#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "common/ip.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/inet.h"

#include "core/core.h"

/*
 * statvfs() of a path; false (with errno) if it cannot be read.
 */
bool
pgm_disk_space(const char *path, PgmDiskSpace *out)
{
	struct statvfs fs;
	uint64		used;

	if (statvfs(path, &fs) != 0)
		return false;
	out->total_bytes = (uint64) fs.f_blocks * fs.f_frsize;
	out->avail_bytes = (uint64) fs.f_bavail * fs.f_frsize;
	used = (uint64) (fs.f_blocks - fs.f_bfree) * fs.f_frsize;
	out->used_pct = (used + out->avail_bytes) > 0
		? 100.0 * used / (used + out->avail_bytes) : 0.0;
	return true;
}

/*
 * A backend's client address as an inet Datum, as pg_stat_activity shows
 * it; *isnull for Unix-socket and internal connections.
 */
Datum
pgm_client_addr_datum(const SockAddr *addr, bool *isnull)
{
	SockAddr	copy = *addr;
	char		host[NI_MAXHOST];
	int			ret;

	*isnull = true;
	if (copy.addr.ss_family != AF_INET && copy.addr.ss_family != AF_INET6)
		return (Datum) 0;
	host[0] = '\0';
	ret = pg_getnameinfo_all(&copy.addr, copy.salen, host, sizeof(host),
							 NULL, 0, NI_NUMERICHOST | NI_NUMERICSERV);
	if (ret != 0)
		return (Datum) 0;
	clean_ipv6_addr(copy.addr.ss_family, host);
	*isnull = false;
	return DirectFunctionCall1(inet_in, CStringGetDatum(host));
}

/* see core.h */
const char *
pgm_log_name(const char *name, char *buf)
{
	const unsigned char *p;
	size_t		n = 0;

	for (p = (const unsigned char *) name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			break;
	if (*p == '\0')
		return name;
	for (p = (const unsigned char *) name; *p && n + 5 < PGM_LOG_NAME_BUF; p++)
	{
		if (*p == '\n')
			buf[n++] = '\\', buf[n++] = 'n';
		else if (*p == '\t')
			buf[n++] = '\\', buf[n++] = 't';
		else if (*p == '\r')
			buf[n++] = '\\', buf[n++] = 'r';
		else if (*p < 0x20 || *p == 0x7f)
			n += snprintf(buf + n, PGM_LOG_NAME_BUF - n, "\\x%02x", *p);
		else
			buf[n++] = (char) *p;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * Where a row of a table that pgmanage's processes read in pgmanage.database
 * only (pgm_endpoint, pgm_timeout_policy) is being stored.  PGM_DB_HERE: in
 * pgmanage.database, or in an extension script (CREATE/ALTER EXTENSION runs
 * in every database that has the extension), or with no database or no
 * pgmanage.database to compare.  PGM_DB_RESTORE: in another database, by
 * COPY (how pg_dump's data is restored: a dump of pgmanage.database
 * restored under another name; pg_upgrade copies data files and fires no
 * trigger): the caller warns.  PGM_DB_ELSEWHERE: in another database
 * otherwise: the caller refuses (55000, with a hint naming
 * pgmanage.database).  For those two, *db is the current database's name.
 */
PgmDbWhere
pgm_store_database(char **db)
{
	const char *q = debug_query_string;

	*db = NULL;
	if (pgm_database == NULL || !OidIsValid(MyDatabaseId) || creating_extension)
		return PGM_DB_HERE;
	*db = get_database_name(MyDatabaseId);
	if (*db == NULL || strcmp(*db, pgm_database) == 0)
		return PGM_DB_HERE;
	while (q && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
		q++;
	if (q && pg_strncasecmp(q, "copy", 4) == 0 && (q[4] == ' ' || q[4] == '\t' || q[4] == '\n'))
		return PGM_DB_RESTORE;
	return PGM_DB_ELSEWHERE;
}
