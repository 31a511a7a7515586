# PgmTest: helpers shared by pgmanage's TAP tests (test/t/*.pl).
#
#   my $node = pgm_node('primary');            # started, extension created, worker ready
#   my $s = pgm_session($node, 'myapp');       # a psql session (BackgroundPsql) named myapp
#   pgm_run($s, 'SELECT pg_sleep(60)');        # start a statement, do not wait for it
#   pgm_wait_active($node, 'myapp');           # until it runs
#   my $out = $s->query('SELECT 1');           # output after the statement ended
#
# Sessions run psql with VERBOSITY=verbose (errors show their SQLSTATE) and
# ON_ERROR_STOP off, so a cancelled statement leaves the session usable.
package PgmTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(pgm_node pgm_wait_worker pgm_wait_policies pgm_session pgm_run
  pgm_result pgm_quit pgm_wait_active pgm_pid_of pgm_status_field pgm_log_count);

# A started node with pgmanage preloaded.  Options: conf (more
# postgresql.conf lines), no_extension (do not CREATE EXTENSION), tcp
# (also listen on 127.0.0.1), init (hash for init()).
sub pgm_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $o{init} || {} });
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'pg_stat_statements, pgmanage'
pgmanage.database = 'postgres'
compute_query_id = on
max_worker_processes = 16
} . ($o{tcp} ? "listen_addresses = '127.0.0.1'\n" : '') . ($o{conf} // ''));
	$node->start unless $o{no_start};
	if (!$o{no_extension} && !$o{no_start})
	{
		$node->safe_psql('postgres', 'CREATE EXTENSION pgmanage');
		pgm_wait_worker($node);
	}
	return $node;
}

# Until the worker runs in $db (default postgres) and has found the extension.
sub pgm_wait_worker
{
	my ($node, $db, $statusdb) = @_;
	$db //= 'postgres';
	$node->poll_query_until($statusdb // 'postgres',
		"SELECT pid IS NOT NULL AND extension_found AND database_name = '$db'"
		  . " FROM pgm_status() WHERE process = 'worker'")
	  or die "the pgmanage worker did not start in $db";
}

# Until the launcher has $n policies loaded.
sub pgm_wait_policies
{
	my ($node, $n, $db) = @_;
	$node->poll_query_until($db // 'postgres',
		"SELECT policies_loaded = $n FROM pgm_status() WHERE process = 'launcher'")
	  or die "policies_loaded never reached $n";
}

# A psql session named $app.  Options: dbname, user, tcp (connect to 127.0.0.1).
sub pgm_session
{
	my ($node, $app, %o) = @_;
	my $connstr = $node->connstr($o{dbname} // 'postgres') . " application_name=$app";
	$connstr .= " user=$o{user}" if $o{user};
	$connstr .= " host=127.0.0.1" if $o{tcp};
	my @cmd = ($node->installed_command('psql'), '-XAtq', '-v', 'VERBOSITY=verbose',
		'-d', $connstr, '-f', '-');
	local %ENV = $node->_get_env();
	return PgmTest::Session->start(\@cmd);
}

# BackgroundPsql accepts only Cluster's subclasses as its callers; this
# one exists so that a session can have its own connection string.
package PgmTest::Session;
our @ISA = ('PostgreSQL::Test::Cluster');
sub start { my ($class, $cmd) = @_; return PostgreSQL::Test::BackgroundPsql->new(0, $cmd, undef, 1); }
package PgmTest;

# Send a statement to a session without waiting for it; then print the
# SQLSTATE it ended with (read it with a later query()).
sub pgm_run
{
	my ($s, $sql) = @_;
	$s->{stdin} .= "$sql;\n\\echo sqlstate=:LAST_ERROR_SQLSTATE\n";
	$s->{run}->pump_nb();
}

# Wait for what pgm_run started to end; returns (stdout, stderr) of it
# (stdout has "sqlstate=XXXXX"), and clears both for the next query.
sub pgm_result
{
	my ($s) = @_;
	my $out = $s->query('SELECT 1');
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return wantarray ? ($out, $err) : $out;
}

# End a session that may already be gone (psql exits when its connection
# is terminated); returns everything it wrote to stderr.
sub pgm_quit
{
	my ($s) = @_;
	eval { $s->{run}->finish; };
	return $s->{stderr};
}

# Until $n sessions named $app run a statement (not counting pgmanage's own).
sub pgm_wait_active
{
	my ($node, $app, $n, $db) = @_;
	$n //= 1;
	$node->poll_query_until($db // 'postgres',
		"SELECT count(*) = $n FROM pg_stat_activity WHERE application_name = '$app'"
		  . " AND state = 'active' AND backend_type = 'client backend'")
	  or die "$app is not running a statement";
}

# The pid of the client backend named $app, or '' if there is none.
sub pgm_pid_of
{
	my ($node, $app) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = '$app'"
		  . " AND backend_type = 'client backend'");
}

# One column of pgm_status() for 'launcher' or 'worker'.
sub pgm_status_field
{
	my ($node, $process, $col, $db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SELECT $col FROM pgm_status() WHERE process = '$process'");
}

# How many lines of the server log match $re.
sub pgm_log_count
{
	my ($node, $re) = @_;
	my $log = slurp_file($node->logfile);
	my $n = () = $log =~ /$re/g;
	return $n;
}

1;
