/*-------------------------------------------------------------------------
 * pgmanage.c
 *		Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init registers pgmanage's settings and, when the library is loaded
 * through shared_preload_libraries, its shared memory, its hooks (the
 * utility hook, and the executor hooks of slow-query capture) and the
 * launcher process.  The report functions work without preloading: they
 * need nothing from here but the library being loaded.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "pgmanage.h"
#include "shmem.h"
#include "slowlog.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	pgm_define_gucs();

	if (!process_shared_preload_libraries_in_progress)
		return;

	pgm_shmem_install_hooks();
	pgm_install_utility_hook();
	pgm_slowlog_install_hooks();
	pgm_register_launcher();
}
