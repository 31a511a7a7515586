-- pgmanage 2.1 -> 2.2: the changes to the objects of 2.1, by topic.
-- make appends the files run whole (WHOLE_IN_2_2 in the Makefile)
-- and writes src/sql/pgmanage--2.1--2.2.sql; edit this file, not that one.
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.2'" to load this file. \quit
