# pgm_status().last_error is cut to 255 bytes on a character boundary:
# a long error message of multibyte characters (here, from a trigger a
# superuser put on pgm_kill_log) never leaves half a character, which
# would make the value invalid UTF-8.
use strict;
use warnings;
use utf8;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('text', extension => 0, database => 'u', conf => "pgmanage.naptime = '100ms'\n");
$node->safe_psql('postgres', "CREATE DATABASE u ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('u', 'CREATE EXTENSION pgmanage');
pgm_wait_worker($node, 'u', 'u');
$node->safe_psql('u', q{
	CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION '%', repeat(U&'\00E9', 200);
	END $$;
	CREATE TRIGGER refuse BEFORE INSERT ON pgmanage.pgm_kill_log FOR EACH ROW EXECUTE FUNCTION refuse();
});

# a kill record for the worker to write: pgm_kill_long cancels a sleeper
my $s = pgm_session($node, 'sleeper', dbname => 'u');
pgm_run($s, 'SELECT pg_sleep(30)');
pgm_wait_active($node, 'sleeper', 1, 'u');
$node->safe_psql('u', "SELECT count(*) FROM pgm_kill_long('1 ms') WHERE application_name = 'sleeper'");
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the sleeper was cancelled');
$s->quit;

$node->poll_query_until('u', "SELECT last_error LIKE 'kill log: %' FROM pgm_status() WHERE process = 'worker'")
  or die 'the kill log duty did not fail';
is($node->safe_psql('u', "SELECT octet_length(last_error) FROM pgm_status() WHERE process = 'worker'"),
	'254', 'cut to 254 bytes: "kill log: " and 122 two-byte characters, not 255');
my ($ret, $out, $err) = $node->psql('u',
	"SELECT convert_from(textsend(last_error), 'UTF8') = last_error FROM pgm_status() WHERE process = 'worker'");
is($out, 't', 'last_error is valid UTF-8') or diag $err;

$node->stop;
done_testing();
