/*-------------------------------------------------------------------------
 * pgmanage.c
 *		Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init registers pgmanage's settings and, when the library is loaded
 * through shared_preload_libraries, its shared memory and background
 * processes.  The report functions work without preloading: they need
 * nothing from here but the library being loaded.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "pgmanage.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	MarkGUCPrefixReserved("pgmanage");
}
