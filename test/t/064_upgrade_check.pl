# pgm_upgrade_check(): the findings that need a server configured for them
# (a prepared transaction, a logical slot), an extension with an update
# available, and columns in another database (the check is per database).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('upgrade_check', preload => 0, conf => q{
max_prepared_transactions = 2
wal_level = logical
});
my $major = int($node->safe_psql('postgres', 'SHOW server_version_num') / 10000);
my $next = $major + 1;

$node->safe_psql('postgres', q{
CREATE TABLE pending (x int);
SELECT 1 FROM pg_create_logical_replication_slot('sub_slot', 'pgoutput');  -- first: it waits for open transactions
BEGIN; INSERT INTO pending VALUES (1); PREPARE TRANSACTION 'migration 42';
CREATE EXTENSION pg_stat_statements VERSION '1.9';
CREATE DATABASE other;
});
$node->safe_psql('other', 'CREATE TABLE procs (f regprocedure)');

my %f;
for (split /\n/, $node->safe_psql('postgres', "SELECT finding, object, detail, fix FROM pgm_upgrade_check($next)"))
{
	my ($finding, $object, $detail, $fix) = split /\|/;
	$f{"$finding $object"} = [ $detail, $fix ];
}

ok($f{'prepared_transaction migration 42'}, 'the prepared transaction is found');
like($f{'prepared_transaction migration 42'}[1], qr/^COMMIT PREPARED 'migration 42' \(or ROLLBACK PREPARED 'migration 42'\), in database postgres$/,
	'its fix names it, quoted');

ok($f{'logical_slot sub_slot'}, 'the logical slot is found');
if ($major < 17)
{
	like($f{'logical_slot sub_slot'}[0], qr/does not carry logical slots over \(only from 17 on\)/, 'before 17 the slot is lost');
}
else
{
	like($f{'logical_slot sub_slot'}[0], qr/only if it has consumed all WAL/, 'from 17 on it must be caught up');
}

ok($f{'extension_update pg_stat_statements'}, 'pg_stat_statements 1.9 has an update');
is($f{'extension_update pg_stat_statements'}[1], 'ALTER EXTENSION pg_stat_statements UPDATE', 'and the fix applies it');
like($f{'extension_library pg_stat_statements'}[0], qr/must load \$libdir\/pg_stat_statements/,
	'its library must exist on the new server');
like($f{'extension_library pgmanage'}[0], qr/must load \$libdir\/pgmanage/, 'so must pgmanage\'s');
ok(!$f{'extension_library plpgsql'}, 'plpgsql always ships with the server');
ok(!grep({ /^reg_column/ } keys %f), 'no reg* column in this database');

$node->safe_psql('other', 'CREATE EXTENSION pgmanage');
is($node->safe_psql('other', "SELECT finding || ' ' || object FROM pgm_upgrade_check() WHERE finding = 'reg_column'"),
	'reg_column public.procs.f', 'the reg* column is found in its own database');
is($node->safe_psql('other', "SELECT count(*) FROM pgm_upgrade_check() WHERE finding = 'prepared_transaction'"),
	'1', 'prepared transactions are cluster-wide: seen from every database');

# the fixes clear the findings
$node->safe_psql('postgres', q{
COMMIT PREPARED 'migration 42';
SELECT pg_drop_replication_slot('sub_slot');
ALTER EXTENSION pg_stat_statements UPDATE;
});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgm_upgrade_check()
	WHERE finding IN ('prepared_transaction', 'logical_slot', 'extension_update')}), '0',
	'after the fixes nothing of these is left');

$node->stop;
done_testing();
