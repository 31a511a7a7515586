# Precedence of overlapping policies: a policy naming the role beats one
# naming the database, which beats one naming the application, which beats
# one naming the client address; on a tie the lower id wins; each kind of
# limit is resolved on its own.  Which policy acted is read from
# pgm_kill_log.policy_id.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('prec', tcp => 1);
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN; CREATE DATABASE other');

# all overlapping, all 1 s, none exempting superusers; the ids tell them apart
my %id;
for my $p (
	[ addr => q{client_addr => '127.0.0.1/32'} ],
	[ app  => q{application_name => 'prec%'} ],
	[ db   => q{database_name => 'postgres'} ],
	[ role => q{role_name => 'app'} ],
	[ app_tie => q{application_name => 'prec\_%'} ])
{
	my ($name, $match) = @$p;
	my ($col, $val) = split / => /, $match;
	$id{$name} = $node->safe_psql('postgres', qq{
		INSERT INTO pgm_timeout_policy ($col, statement_timeout, exempt_superusers, comment)
		VALUES ($val, '1 s', false, '$name') RETURNING id});
}
pgm_wait_policies($node, 5);

# each case: who connects, and which policy must win
my @cases = (
	# matches addr, app, app_tie, db, role
	[ 'prec_1', { user => 'app', tcp => 1 }, 'role', 'role beats database, application, address' ],
	# matches addr, app, app_tie, db
	[ 'prec_2', { tcp => 1 }, 'db', 'database beats application and address' ],
	# matches addr, app, app_tie (other database): tie between app and app_tie
	[ 'prec_3', { tcp => 1, dbname => 'other' }, 'app', 'application beats address; lower id wins a tie' ],
	# matches addr only
	[ 'zzz_4', { tcp => 1, dbname => 'other' }, 'addr', 'client address alone' ],
	# matches app and app_tie (Unix socket: no address)
	[ 'prec_5', { dbname => 'other' }, 'app', 'lower id wins a tie without the address' ],
);

my @sessions;
for my $c (@cases)
{
	my ($app, $opts) = @$c;
	my $s = pgm_session($node, $app, %$opts);
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	pgm_run($s, 'SELECT pg_sleep(60)');
	push @sessions, [ $s, $pid ];
}
for my $i (0 .. $#cases)
{
	my ($s, $pid) = @{ $sessions[$i] };
	my ($app, undef, $winner, $what) = @{ $cases[$i] };
	like(scalar pgm_result($s), qr/sqlstate=57014/, "$app: cancelled");
	$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid")
	  or die "no log row for $app";
	is($node->safe_psql('postgres', "SELECT policy_id FROM pgm_kill_log WHERE pid = $pid"),
		$id{$winner}, "$what ($app: policy '$winner')");
	$s->quit;
}

# no policy matches: the statement runs to its end
my $s = pgm_session($node, 'zzz_6', dbname => 'other');
pgm_run($s, 'SELECT pg_sleep(2)');
like(scalar pgm_result($s), qr/sqlstate=00000/, 'a session no policy matches is left alone');
$s->quit;

# disabling the winner hands the session to the next one
$node->safe_psql('postgres', "UPDATE pgm_timeout_policy SET enabled = false WHERE id = $id{role}");
pgm_wait_policies($node, 4);
$s = pgm_session($node, 'prec_7', user => 'app', tcp => 1);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'prec_7: cancelled');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid") or die;
is($node->safe_psql('postgres', "SELECT policy_id FROM pgm_kill_log WHERE pid = $pid"),
	$id{db}, 'a disabled policy does not count: the database policy wins');
$s->quit;

# limits are resolved one by one: a more specific policy that sets only an
# idle-in-transaction limit does not switch off a statement limit that a
# less specific policy sets
$node->safe_psql('postgres', "DELETE FROM pgm_timeout_policy");
my $idle_id = $node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (database_name, idle_in_transaction_timeout, exempt_superusers)
	VALUES ('postgres', '1 hour', false) RETURNING id});
my $stmt_id = $node->safe_psql('postgres', q{
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout, exempt_superusers)
	VALUES ('batch%', '1 s', false) RETURNING id});
pgm_wait_policies($node, 2);
$s = pgm_session($node, 'batch_8');
$pid = $s->query_safe('SELECT pg_backend_pid()');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/,
	'a database-wide idle limit does not switch off an application statement limit');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pgm_kill_log WHERE pid = $pid") or die;
is($node->safe_psql('postgres', "SELECT policy_id || ' ' || limit_kind FROM pgm_kill_log WHERE pid = $pid"),
	"$stmt_id statement_timeout", 'the statement limit came from the application policy');
$s->quit;

$node->stop;
done_testing();
