# The launcher enforces the timeout policies of pgmanage.database only: an
# INSERT into pgm_timeout_policy in another database is refused (55000,
# with a hint naming pgmanage.database), as an INSERT into pgm_endpoint is
# (092_endpoint_database.pl), while COPY (how pg_dump's data is restored)
# keeps the rows with a WARNING, so that a dump of pgmanage.database
# restores into a database of another name.  UPDATE and DELETE stay
# allowed there, to fix or remove such rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('poldb', conf => "pgmanage.naptime = '200ms'\npgmanage.pgss_snapshot_interval = 0\n");
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION pgmanage');

# in pgmanage.database: stored
$node->safe_psql('postgres',
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout, comment) VALUES ('here_%', '1 h', 'here')");
is($node->safe_psql('postgres', 'SELECT comment FROM pgm_timeout_policy'), 'here', 'a policy in pgmanage.database');

# elsewhere: refused, saying where (one row, several rows, INSERT ... SELECT)
for my $sql (
	"INSERT INTO pgm_timeout_policy (application_name, statement_timeout) VALUES ('there_%', '1 h')",
	"INSERT INTO pgm_timeout_policy (role_name, statement_timeout) VALUES ('a', '1 h'), ('b', '2 h')",
	"INSERT INTO pgm_timeout_policy (statement_timeout) SELECT '1 h'")
{
	my ($ret, $out, $err) = $node->psql('other', $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  55000: timeout policies are read from database "postgres", not "other"/,
		"refused in another database: $sql");
	like($err, qr/HINT:  Connect to database "postgres" and insert the policy there/, 'with a hint naming it');
}
is($node->safe_psql('other', 'SELECT count(*) FROM pgm_timeout_policy'), '0', 'nothing stored');

# COPY (a restore): stored, with a WARNING
my ($ret, $out, $err) = $node->psql('other',
	"COPY pgm_timeout_policy (application_name, statement_timeout, comment) FROM stdin;\ncopied_%\t1 h\tcopied\n\\.\n",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
is($ret, 0, 'COPY in another database succeeds');
like($err, qr/WARNING:  55000: timeout policies are stored in database "other", where the launcher does not read them/,
	'with a WARNING');
is($node->safe_psql('other', 'SELECT comment FROM pgm_timeout_policy'), 'copied', 'the row is stored');
# and such a row can be fixed or removed there
$node->safe_psql('other', "UPDATE pgm_timeout_policy SET enabled = false, comment = 'fixed'");
is($node->safe_psql('other', 'SELECT comment FROM pgm_timeout_policy WHERE NOT enabled'), 'fixed',
	'UPDATE in another database works');
$node->safe_psql('other', 'DELETE FROM pgm_timeout_policy');
is($node->safe_psql('other', 'SELECT count(*) FROM pgm_timeout_policy'), '0', 'DELETE in another database works');

# pg_dump of pgmanage.database, pg_restore into a database of another name
my $file = $PostgreSQL::Test::Utils::tmp_check . '/poldb.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $file, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
my ($stdout, $stderr) = ('', '');
# (--verbose: pg_restore shows the server's warnings only then)
my $ok = IPC::Run::run([ 'pg_restore', '--verbose', '--exit-on-error', '-d', $node->connstr('restored'), $file ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore into a database of another name succeeds') or diag($stderr);
like($stderr, qr/timeout policies are stored in database "restored"/, 'and warns about the policies');
is($node->safe_psql('restored', 'SELECT comment FROM pgm_timeout_policy'), 'here', 'the policy is restored');

# the same dump restored into pgmanage.database itself: no warning
$node->safe_psql('postgres', 'DROP EXTENSION pgmanage CASCADE');
$node->safe_psql('postgres', 'DROP SCHEMA pgmanage');    # (not a member of the extension)
$node->safe_psql('postgres', 'DROP DATABASE other');
($stdout, $stderr) = ('', '');
$ok = IPC::Run::run([ 'pg_restore', '--verbose', '--exit-on-error', '-d', $node->connstr('postgres'), $file ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore into pgmanage.database itself') or diag($stderr);
unlike($stderr, qr/timeout policies are stored/, 'without a warning');
is($node->safe_psql('postgres', 'SELECT comment FROM pgm_timeout_policy'), 'here', 'the policy is back');

done_testing();
