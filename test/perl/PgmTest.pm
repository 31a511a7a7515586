# PgmTest: helpers shared by pgmanage's TAP tests (test/t/*.pl), and the one
# place that makes their nodes.
#
#   my $node = pgm_node('primary');            # started, extension created, worker ready
#   my $standby = pgm_standby($node, 'standby'); # a streaming standby of it, started
#   my $s = pgm_session($node, 'myapp');       # a psql session (BackgroundPsql) named myapp
#   pgm_run($s, 'SELECT pg_sleep(60)');        # start a statement, do not wait for it
#   pgm_wait_active($node, 'myapp');           # until it runs
#   my $out = $s->query('SELECT 1');           # output after the statement ended
#
# Sessions run psql with VERBOSITY=verbose (errors show their SQLSTATE) and
# ON_ERROR_STOP off, so a cancelled statement leaves the session usable.
#
# Every node has search_path = '"$user", public, pgmanage' in its
# postgresql.conf, the setting the README gives the DBA: tests name pgm_*
# objects unqualified, whether the extension lives in public (1.x) or in
# its own schema (2.0).
package PgmTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(pgm_node pgm_standby pgm_wait_worker pgm_wait_policies pgm_session pgm_run
  pgm_result pgm_quit pgm_wait_active pgm_pid_of pgm_status_field pgm_log_count);

# What shared_preload_libraries holds unless a test says otherwise.
our $default_preload = 'pg_stat_statements, pgmanage';

# A node with pgmanage's settings.  Options:
#   conf => '...'         more postgresql.conf lines (appended last: they win)
#   preload => 1          shared_preload_libraries = $default_preload (the default);
#              0          no shared_preload_libraries line (pgmanage not loaded);
#              'a, b'     this list
#   database => 'postgres'  pgmanage.database
#   extension => 1        CREATE EXTENSION pgmanage in "postgres" once started
#                         (the default; 0: do not)
#   wait_worker => 1      then wait until the worker has found it (the default
#                         when pgmanage is preloaded and database is "postgres")
#   start => 1            start the node (the default; 0: only initialize it)
#   tcp => 1              also listen on 127.0.0.1
#   allows_streaming => 1 initialize for streaming replication (see pgm_standby)
#   init => { ... }       more options for init()
#   install_path => dir   binaries of a private installation
#                         (PostgreSQL::Test::Cluster->new's install_path)
sub pgm_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name,
		$o{install_path} ? (install_path => $o{install_path}) : ());
	my %init = %{ $o{init} || {} };
	$init{allows_streaming} = $o{allows_streaming} if exists $o{allows_streaming};
	$node->init(%init);

	my $preload = $o{preload} // 1;
	$preload = $default_preload if $preload eq '1';
	my $database = $o{database} // 'postgres';
	my $conf = qq{search_path = '"\$user", public, pgmanage'\n};
	$conf .= "shared_preload_libraries = '$preload'\n" if $preload;
	$conf .= "pgmanage.database = '$database'\n";
	$conf .= "max_worker_processes = 16\n";
	$conf .= "listen_addresses = '127.0.0.1'\n" if $o{tcp};
	$node->append_conf('postgresql.conf', $conf . ($o{conf} // ''));

	return $node if defined $o{start} && !$o{start};
	$node->start;
	if ($o{extension} // 1)
	{
		$node->safe_psql('postgres', 'CREATE EXTENSION pgmanage');
		my $wait = $o{wait_worker}
		  // ($preload && $preload =~ /\bpgmanage\b/ && $database eq 'postgres');
		pgm_wait_worker($node) if $wait;
	}
	return $node;
}

# A streaming standby of $primary (made with allows_streaming => 1), from a
# new base backup; it inherits the primary's postgresql.conf.  Options:
# conf (more lines), start (default 1).
sub pgm_standby
{
	my ($primary, $name, %o) = @_;
	my $backup = "${name}_base";
	$primary->backup($backup);
	my $standby = PostgreSQL::Test::Cluster->new($name,
		$primary->install_path ? (install_path => $primary->install_path) : ());
	$standby->init_from_backup($primary, $backup, has_streaming => 1);
	$standby->append_conf('postgresql.conf', $o{conf}) if defined $o{conf};
	$standby->start unless defined $o{start} && !$o{start};
	return $standby;
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
