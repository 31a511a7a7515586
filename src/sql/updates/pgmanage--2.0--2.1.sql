-- pgmanage 2.0 -> 2.1: changes only (the full definitions are in src/sql/<capability>.sql;
-- the upgrade tests compare a fresh 2.1 with 1.0 -> ... -> 2.0 -> 2.1).
\echo Use "ALTER EXTENSION pgmanage UPDATE TO '2.1'" to load this file. \quit
