# pgmanage: PGXS build.
#
# C sources live in src/ (one file per responsibility); the extension's
# install and upgrade scripts live in src/sql/ so that the top-level sql/
# directory holds only pg_regress tests, as pg_regress expects.

EXTENSION = pgmanage
MODULE_big = pgmanage
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA = $(sort $(wildcard src/sql/pgmanage--*.sql))
PGFILEDESC = "pgmanage - DBA toolbox: reports, policies, capture, scheduling"

# pg_regress tests, one file per topic, in this order.
REGRESS = init size_report bloat kill_long timeout_policy status slow_queries webhook cron vacuum_jobs backup_jobs privileges upgrade
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf

SHLIB_LINK += -lcurl
PG_CPPFLAGS += -I$(srcdir)/src

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The regression test list, for scripts/test.sh.
print-regress:
	@echo $(REGRESS)
.PHONY: print-regress
