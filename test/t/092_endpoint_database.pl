# An endpoint is read by the sender in pgmanage.database only: an INSERT
# into pgm_endpoint in another database is refused (55000, with a hint
# naming pgmanage.database), while COPY (how pg_dump's data is restored)
# keeps the rows with a WARNING, so that a dump of pgmanage.database
# restores into a database of another name.  UPDATE and DELETE stay
# allowed there, to fix or remove such rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('epdb', conf => "pgmanage.naptime = '200ms'\npgmanage.pgss_snapshot_interval = 0\n");
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION pgmanage');

# in pgmanage.database: stored
$node->safe_psql('postgres',
	"INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('here', 'http://127.0.0.1:9/', false)");
is($node->safe_psql('postgres', 'SELECT name FROM pgm_endpoint'), 'here', 'an endpoint in pgmanage.database');

# elsewhere: refused, saying where
my ($ret, $out, $err) = $node->psql('other',
	"INSERT INTO pgm_endpoint (name, url, enabled) VALUES ('there', 'http://127.0.0.1:9/', false)",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  55000: webhook endpoints are read from database "postgres", not "other"/,
	'INSERT in another database: 55000');
like($err, qr/HINT:  Connect to database "postgres" and insert the endpoint there/, 'with a hint naming it');
is($node->safe_psql('other', 'SELECT count(*) FROM pgm_endpoint'), '0', 'nothing stored');

# COPY (a restore): stored, with a WARNING
($ret, $out, $err) = $node->psql('other',
	"COPY pgm_endpoint (name, url, enabled) FROM stdin;\ncopied\thttp://127.0.0.1:9/\tf\n\\.\n",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
is($ret, 0, 'COPY in another database succeeds');
like($err, qr/WARNING:  55000: webhook endpoint "copied" is stored in database "other", where the sender does not read it/,
	'with a WARNING');
is($node->safe_psql('other', 'SELECT name FROM pgm_endpoint'), 'copied', 'the row is stored');
# and such a row can be fixed or removed there
$node->safe_psql('other', "UPDATE pgm_endpoint SET comment = 'fixed' WHERE name = 'copied'");
is($node->safe_psql('other', 'SELECT comment FROM pgm_endpoint'), 'fixed', 'UPDATE in another database works');

# pg_dump of pgmanage.database, pg_restore into a database of another name
my $file = $PostgreSQL::Test::Utils::tmp_check . '/epdb.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $file, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
my ($stdout, $stderr) = ('', '');
# (--verbose: pg_restore shows the server's warnings only then)
my $ok = IPC::Run::run([ 'pg_restore', '--verbose', '--exit-on-error', '-d', $node->connstr('restored'), $file ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore into a database of another name succeeds') or diag($stderr);
like($stderr, qr/webhook endpoint "here" is stored in database "restored"/, 'and warns about the endpoint');
is($node->safe_psql('restored', 'SELECT name FROM pgm_endpoint'), 'here', 'the endpoint is restored');

# the same dump restored into pgmanage.database itself: no warning
$node->safe_psql('postgres', 'DROP EXTENSION pgmanage CASCADE');
$node->safe_psql('postgres', 'DROP SCHEMA pgmanage');    # (not a member of the extension)
$node->safe_psql('postgres', 'DROP DATABASE other');
($stdout, $stderr) = ('', '');
$ok = IPC::Run::run([ 'pg_restore', '--verbose', '--exit-on-error', '-d', $node->connstr('postgres'), $file ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore into pgmanage.database itself') or diag($stderr);
unlike($stderr, qr/webhook endpoint/, 'without a warning');
is($node->safe_psql('postgres', 'SELECT name FROM pgm_endpoint'), 'here', 'the endpoint is back');

done_testing();
