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
  pgm_result pgm_quit pgm_wait_active pgm_pid_of pgm_status_field pgm_log_count
  pgm_grant_usage pgm_catalog pgm_same_lines);

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
	# no scheduled health checks (their events would join other tests' counts); 067 turns them on
	$conf .= "pgmanage.health_check_interval = 0\n";
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

# GRANT USAGE on the extension's schema (pgmanage in 2.0, public before)
# to roles, as a DBA does for the roles it grants pgmanage's functions or
# tables to: without it they cannot even name them.
sub pgm_grant_usage
{
	my ($node, @roles) = @_;
	my $schema = $node->safe_psql('postgres',
		"SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'pgmanage'");
	$node->safe_psql('postgres', "GRANT USAGE ON SCHEMA $schema TO " . join(', ', @roles));
	return;
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

# The extension as the catalogs hold it, one line per fact, sorted: the
# extension (version, schema), its pg_extension_config_dump registrations,
# every member object, each function's full definition (one line per line
# of pg_get_functiondef), owner and ACL, each relation's kind, options,
# owner and ACL, its columns in order with types, defaults, NOT NULL,
# identity, collation and column ACLs, constraints, indexes, triggers,
# policies and view definitions, sequences' parameters and owners, types,
# event triggers, the schema's owner and ACL, pg_init_privs and comments.
# Names are schema-qualified, no OIDs: two clusters compare line by line
# (pgm_same_lines).
my $catalog_sql = q{
SET search_path = pg_catalog, pg_temp;  -- every name comes schema-qualified
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'pgmanage'),
mem AS (SELECT d.classid, d.objid FROM pg_depend d, ext
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rel AS (SELECT c.* FROM pg_class c JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = c.oid),
fn AS (SELECT p.* FROM pg_proc p JOIN mem ON mem.classid = 'pg_proc'::regclass AND mem.objid = p.oid),
facts(k, v) AS (
  SELECT 'extension', format('version=%s schema=%s relocatable=%s owner=%s', extversion,
         extnamespace::regnamespace, extrelocatable, extowner::regrole) FROM ext
  UNION ALL
  SELECT 'extension depends on', pg_describe_object(d.refclassid, d.refobjid, 0) || ' ' || d.deptype::text
  FROM pg_depend d, ext WHERE d.classid = 'pg_extension'::regclass AND d.objid = ext.oid
  UNION ALL
  SELECT 'config_dump ' || c::regclass::text, 'condition=' || coalesce(quote_literal(cond), 'NULL')
  FROM ext, unnest(ext.extconfig, ext.extcondition) AS u(c, cond)
  UNION ALL
  SELECT 'member', pg_describe_object(classid, objid, 0) FROM mem
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text,
         format('kind=%s owner=%s acl=%s', p.prokind, p.proowner::regrole, coalesce(p.proacl::text, 'default'))
  FROM fn p
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || ' line ' || lpad(l.n::text, 4, '0'), l.line
  FROM fn p, regexp_split_to_table(CASE WHEN p.prokind IN ('a', 'w') THEN 'aggregate'
                                        ELSE pg_get_functiondef(p.oid) END, E'\n')
       WITH ORDINALITY AS l(line, n)
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text,
         format('kind=%s persistence=%s owner=%s acl=%s options=%s rls=%s/%s replident=%s',
                c.relkind, c.relpersistence, c.relowner::regrole, coalesce(c.relacl::text, 'default'),
                coalesce(c.reloptions::text, ''), c.relrowsecurity, c.relforcerowsecurity, c.relreplident)
  FROM rel c
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' column ' || lpad((row_number() OVER w)::text, 3, '0'),
         format('%s %s%s%s%s%s%s acl=%s', a.attname, format_type(a.atttypid, a.atttypmod),
                CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END,
                CASE WHEN a.attgenerated <> '' THEN ' generated ' || a.attgenerated::text ELSE '' END,
                CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                     THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END,
                coalesce(a.attacl::text, 'default'))
  FROM rel c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  WINDOW w AS (PARTITION BY c.oid ORDER BY a.attnum)
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' constraint ' || co.conname,
         pg_get_constraintdef(co.oid) || ' validated=' || co.convalidated
  FROM rel c JOIN pg_constraint co ON co.conrelid = c.oid
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' index', pg_get_indexdef(i.indexrelid)
         || ' ' || coalesce((SELECT reloptions::text FROM pg_class WHERE oid = i.indexrelid), '')
  FROM rel c JOIN pg_index i ON i.indrelid = c.oid
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' trigger ' || t.tgname,
         pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM rel c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' policy ' || po.polname,
         format('%s %s to=%s using=%s check=%s', po.polcmd, po.polpermissive, po.polroles::regrole[]::text,
                pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
  FROM rel c JOIN pg_policy po ON po.polrelid = c.oid
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' view', pg_get_viewdef(c.oid, true)
  FROM rel c WHERE c.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'relation ' || c.oid::regclass::text || ' sequence',
         format('%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
                s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                (SELECT string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) || ' ' || d.deptype::text, ', ')
                 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
  FROM rel c JOIN pg_sequence s ON s.seqrelid = c.oid
  UNION ALL
  SELECT 'type ' || t.oid::regtype::text,
         format('type=%s owner=%s acl=%s labels=%s base=%s', t.typtype, t.typowner::regrole,
                coalesce(t.typacl::text, 'default'),
                (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid),
                CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END)
  FROM pg_type t JOIN mem ON mem.classid = 'pg_type'::regclass AND mem.objid = t.oid
  UNION ALL
  SELECT 'event trigger ' || e.evtname,
         format('%s %s owner=%s enabled=%s tags=%s', e.evtevent, e.evtfoid::regprocedure, e.evtowner::regrole,
                e.evtenabled, coalesce(e.evttags::text, ''))
  FROM pg_event_trigger e JOIN mem ON mem.classid = 'pg_event_trigger'::regclass AND mem.objid = e.oid
  UNION ALL
  SELECT 'schema ' || n.nspname, format('owner=%s acl=%s', n.nspowner::regrole, coalesce(n.nspacl::text, 'default'))
  FROM pg_namespace n WHERE n.oid = (SELECT extnamespace FROM ext)
     OR n.oid IN (SELECT objid FROM mem WHERE classid = 'pg_namespace'::regclass)
  UNION ALL
  SELECT 'init_privs ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
         ip.privtype::text || ' ' || ip.initprivs::text
  FROM pg_init_privs ip
  WHERE (ip.classoid, ip.objoid) IN (SELECT classid, objid FROM mem)
     OR (ip.classoid = 'pg_namespace'::regclass AND ip.objoid = (SELECT extnamespace FROM ext))
  UNION ALL
  SELECT 'comment ' || pg_describe_object(de.classoid, de.objoid, de.objsubid), de.description
  FROM pg_description de
  WHERE (de.classoid, de.objoid) IN (SELECT classid, objid FROM mem)
)
SELECT k || ': ' || replace(coalesce(v, '<null>'), E'\n', ' ') FROM facts
};

sub pgm_catalog
{
	my ($node, $db) = @_;
	return [ sort split /\n/, $node->safe_psql($db // "postgres", $catalog_sql) ];
}

# Whether two lists of lines hold the same lines (as multisets); if not,
# fails with the lines found only in one or the other.
sub pgm_same_lines
{
	my ($got, $expected, $name, $got_name, $expected_name) = @_;
	my %n;
	$n{$_}++ for @$got;
	$n{$_}-- for @$expected;
	my @only_got = grep { $n{$_} > 0 } sort keys %n;
	my @only_exp = grep { $n{$_} < 0 } sort keys %n;
	my $ok = ok(!@only_got && !@only_exp && @$got > 0, $name);
	if (!$ok)
	{
		diag("only in " . ($got_name // 'got') . ":\n  " . join("\n  ", @only_got)) if @only_got;
		diag("only in " . ($expected_name // 'expected') . ":\n  " . join("\n  ", @only_exp)) if @only_exp;
		diag("(nothing to compare)") unless @$got;
	}
	return $ok;
}

1;
