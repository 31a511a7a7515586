-- pgmanage 2.1 -> 2.2: the changes to the objects of 2.1, by topic.
-- make appends the files run whole (WHOLE_IN_2_2 in the Makefile)
-- and writes src/sql/pgmanage--2.1--2.2.sql; edit this file, not that one.
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.2'" to load this file. \quit

-- ==== row caps of the history tables (pgmanage.*_max_rows, core/retention.c)
-- retention and the row cap prune pgm_pgss_query by last_seen (was a sequential scan)
CREATE INDEX pgm_pgss_query_last_seen ON pgmanage.pgm_pgss_query (last_seen);
