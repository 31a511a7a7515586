# Hostile names: roles, databases, schemas, tables and application names
# with quotes, backslashes, spaces, "%s", newlines, tabs, terminal escape
# codes, Unicode, SQL injection attempts and more than 63 bytes, through
# timeout policies and the kill log, slow-query capture, the reports, a
# VACUUM run and pgm_status, with pgmanage.database itself a hostile name.
# Every value comes back exactly as PostgreSQL stored it (compared in SQL,
# byte for byte), nothing is executed that a name spells, and pgmanage's
# lines in the server log stay one line each, control characters escaped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

# (this file is UTF-8 and read as bytes: names are byte strings, as psql sends them)
my $pgm_db = q{pgm "db" 'x' \ %s ☃};    # pgmanage.database (no newline: a setting cannot hold one)
my $db = "db \"q\" 'x'\n\\ %s%n \x1b[31mred ☃ ; DROP DATABASE postgres; --";
my $schema = "sch'ema \"x\"\n%s \\ ünï";
my $table = q{tab"; DROP TABLE victim; --};
my $table2 = "t\tab\nle ☃ %s'\\";
my $app = q{app "q" \ %s%n {"x": 1} '); --};
my %roles = (
	quote => q{o'brien "the" \admin %s%n},
	newline => "line\nbreak\tand\x1b[31mred",
	unicode => 'ünïcødé ☃ роль',
	inject => q{x'); DROP TABLE victim; --},
	long => 'r' x 70,
);

sub qi { my ($s) = @_; return '"' . ($s =~ s/"/""/gr) . '"'; }
sub ql { my ($s) = @_; return "'" . ($s =~ s/'/''/gr) . "'"; }
# a libpq conninfo value
sub qc { my ($s) = @_; return "'" . ($s =~ s/([\\'])/\\$1/gr) . "'"; }
# a postgresql.conf string
sub qconf { my ($s) = @_; return "'" . ($s =~ s/\\/\\\\/gr =~ s/'/''/gr) . "'"; }

my $node = pgm_node('hostile', start => 0,
	conf => "pgmanage.naptime = '200ms'\n"
	  . "pgmanage.log_min_duration = '100ms'\n"
	  . "pgmanage.pgss_snapshot_interval = 0\n"
	  . "pgmanage.disk_check_interval = 0\n"
	  . "log_statement = none\nlog_connections = off\nlog_disconnections = off\n");
$node->append_conf('postgresql.conf', 'pgmanage.database = ' . qconf($pgm_db) . "\n");
$node->start;
is($node->safe_psql('postgres', 'SHOW pgmanage.database'), $pgm_db, 'pgmanage.database is the hostile name');

my $host = $node->host;
my $port = $node->port;
sub conn
{
	my ($dbname, %o) = @_;
	my $c = "host=$host port=$port dbname=" . qc($dbname);
	$c .= ' user=' . qc($o{user}) if defined $o{user};
	$c .= ' application_name=' . qc($o{app}) if defined $o{app};
	return $c;
}
sub sql_in
{
	my ($dbname, $sql) = @_;
	return $node->safe_psql('postgres', $sql, connstr => conn($dbname));
}

$node->safe_psql('postgres', 'CREATE DATABASE ' . qi($pgm_db));
$node->safe_psql('postgres', 'CREATE DATABASE ' . qi($db));
sql_in($pgm_db, 'CREATE EXTENSION pgmanage');
ok($node->poll_query_until($pgm_db,
		"SELECT count(*) = 1 FROM pgmanage.pgm_status() WHERE process = 'worker' AND pid IS NOT NULL AND extension_found AND database_name = "
		  . ql($pgm_db)),
	'pgm_status: the worker runs in the database of that name, and found the extension');

# ---- roles (the 70-byte name is cut to 63 bytes, as PostgreSQL does)
my $long63 = substr($roles{long}, 0, 63);
for my $k (sort keys %roles)
{
	my ($ret, $out, $err) = $node->psql('postgres', 'CREATE ROLE ' . qi($roles{$k}) . ' LOGIN');
	is($ret, 0, "CREATE ROLE ($k)");
}
$roles{long} = $long63;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = '$long63'"), '1',
	'the overlong role name is cut to 63 bytes');

# ---- objects in the hostile database: a victim the names try to drop
sql_in($db, join(";\n",
	'CREATE EXTENSION pgmanage',
	'CREATE TABLE victim (i int)',
	'CREATE SCHEMA ' . qi($schema),
	'CREATE TABLE ' . qi($schema) . '.' . qi($table) . ' (i int, t text)',
	'CREATE TABLE ' . qi($schema) . '.' . qi($table2) . ' (i int)',
	'INSERT INTO ' . qi($schema) . '.' . qi($table) . " SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g",
	'DELETE FROM ' . qi($schema) . '.' . qi($table) . ' WHERE i % 2 = 0',
	'GRANT USAGE ON SCHEMA ' . qi($schema) . ' TO PUBLIC',
	'GRANT SELECT ON ALL TABLES IN SCHEMA ' . qi($schema) . ' TO PUBLIC'));

# ---- reports return the names exactly
is( sql_in($db,
		'SELECT count(*) FROM pgm_size_report() WHERE schema_name = ' . ql($schema)
		  . ' AND relation_name IN (' . ql($table) . ', ' . ql($table2) . ')'),
	'2', 'pgm_size_report: both tables, schema and names exact');
is( sql_in($db,
		'SELECT count(*) FROM pgm_bloat(relations => ARRAY[' . ql(qi($schema) . '.' . qi($table)) . '::regclass]) '
		  . 'WHERE schema_name = ' . ql($schema) . ' AND relation_name = ' . ql($table)),
	'1', 'pgm_bloat: the table, schema and name exact');
is(sql_in($pgm_db, 'SELECT count(*) FROM pgm_database_sizes() WHERE database_name = ' . ql($db)),
	'1', 'pgm_database_sizes: the hostile database by its exact name');

# ---- a policy per role; each role's statement in the hostile database,
# with the hostile application name, is cancelled and logged
for my $k (sort keys %roles)
{
	sql_in($pgm_db, 'INSERT INTO pgm_timeout_policy (role_name, statement_timeout, comment) VALUES ('
		  . ql($roles{$k}) . ", '300ms', " . ql("for $roles{$k}") . ')');
}
ok($node->poll_query_until($pgm_db,
		"SELECT policies_loaded = 5 FROM pgmanage.pgm_status() WHERE process = 'launcher'"),
	'the five policies are loaded');
for my $k (sort keys %roles)
{
	my ($ret, $out, $err) = $node->psql('postgres',
		'SELECT pg_sleep(30) FROM ' . qi($schema) . '.' . qi($table) . ' LIMIT 1',
		connstr => conn($db, user => $roles{$k}, app => $app),
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/57014/, "the statement of role $k is cancelled (57014)");
}
ok( $node->poll_query_until($pgm_db,
		'SELECT count(*) = 5 FROM pgm_kill_log WHERE source = \'policy\' AND database_name = ' . ql($db)
		  . ' AND application_name = ' . ql($app) . ' AND role_name IN ('
		  . join(', ', map { ql($_) } values %roles) . ')'),
	'pgm_kill_log: five rows, each role, database and application name exact');
is( sql_in($pgm_db,
		'SELECT count(*) FROM pgm_kill_log k JOIN pgm_timeout_policy p ON p.id = k.policy_id '
		  . "WHERE p.comment = 'for ' || k.role_name"),
	'5', 'each row names the policy of its role');

# ---- slow-query capture: the same statements, with the names exact
$node->psql('postgres', 'SELECT pg_sleep(0.2), count(*) FROM ' . qi($schema) . '.' . qi($table2),
	connstr => conn($db, user => $roles{unicode}, app => $app));
ok( $node->poll_query_until($pgm_db,
		'SELECT count(*) > 0 FROM pgm_slow_queries WHERE role_name = ' . ql($roles{unicode})
		  . ' AND database_name = ' . ql($db) . ' AND application_name = ' . ql($app)
		  . ' AND strpos(statement, ' . ql(qi($schema) . '.' . qi($table2)) . ') > 0'),
	'pgm_slow_queries: role, database, application and statement exact');

# ---- a VACUUM run in the hostile database, on the hostile tables
my $run = sql_in($pgm_db,
	'SELECT pgm_vacuum_now(database => ' . ql($db) . ', schema_name => ' . ql($schema)
	  . ", strategy => 'all')");
ok( $node->poll_query_until($pgm_db,
		"SELECT status NOT IN ('queued', 'running') FROM pgm_job_run WHERE id = $run"),
	'the VACUUM run ends');
is(sql_in($pgm_db, "SELECT status FROM pgm_job_run WHERE id = $run"), 'succeeded', 'and succeeds');
is( sql_in($pgm_db,
		"SELECT count(DISTINCT e->>'relation') FROM pgm_job_run, jsonb_array_elements(details) e WHERE id = $run "
		  . "AND e->>'relation' IN (" . ql("$schema.$table") . ', ' . ql("$schema.$table2") . ')'),
	'2', 'its details name both tables exactly (schema.table)');
is(sql_in($db, "SELECT count(*) FROM pg_class WHERE relname = 'victim'"), '1', 'the victim table is still there');
is( sql_in($db,
		"SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = " . ql($table)),
	't', 'the table was vacuumed');

# ---- the server log: pgmanage's lines about these names, one line each
my $log = slurp_file($node->logfile);
like($log, qr/of role "line\\nbreak\\tand\\x1b\[31mred" after/,
	'the kill line writes the newline, tab and escape of a role name as \n, \t, \x1b');
unlike($log, qr/of role "line\n/, 'and no kill line is split by it');
like($log, qr/\Q$roles{quote}\E/, 'a role name with quotes and %s is written as it is');
like($log, qr/vacuum run $run started in database "db "q" 'x'\\n\\ %s%n \\x1b\[31mred/,
	'the VACUUM worker writes the database name with its control characters escaped');
my @esc = grep { /pgmanage/ && /\x1b/ } split /\n/, $log;
is(scalar(@esc), 0, 'no pgmanage line holds a raw escape character') or diag(join("\n", @esc));

done_testing();
