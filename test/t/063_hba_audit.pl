# pgm_hba_audit(): rules written into pg_hba.conf (trust over the network,
# clear-text and md5 passwords, every address, a line with an error), read
# after a reload; and who may call it (it reads superuser-only catalogs as
# its owner).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;

my $node = pgm_node('hba_audit', preload => 0, tcp => 1);
$node->safe_psql('postgres', q{
CREATE ROLE app LOGIN;
CREATE ROLE watcher LOGIN IN ROLE pg_monitor;
CREATE ROLE stats LOGIN IN ROLE pg_read_all_stats;
});
pgm_grant_usage($node, 'app');

# the file as the test node has it (local trust, for the test's own
# connections), then the rules to judge
my $first = 1 + scalar(() = slurp_file($node->data_dir . '/pg_hba.conf') =~ /\n/g);
$node->append_conf('pg_hba.conf', join("\n",
	'host    all      all      0.0.0.0/0        trust',                # +0 high: trust, anywhere
	'host    shop     app      10.1.0.0/16      password',             # +1 high: clear text, unencrypted
	'hostssl shop     app      10.2.0.0/16      password',             # +2 high: an error (no SSL here)
	'host    all      all      ::/0             md5',                  # +3 medium: md5, every address; low: all/all
	'host    shop     app      192.168.1.0/24   scram-sha-256',        # +4 ok
	'host    shop     app      10.3.0.0/16      ident',                # +5 high
	'host    all      all      10.0.0.1/33      scram-sha-256',        # +6 error
	'host    shop     app      10.4.0.0/16      reject',               # +7 ok
	''));
$node->reload;

my $out = $node->safe_psql('postgres', qq{
	SELECT line_number - $first, type, database, user_name, auth_method, risk
	FROM pgm_hba_audit() WHERE line_number >= $first ORDER BY line_number});
is($out, join("\n",
	'0|host|{all}|{all}|trust|high',
	'1|host|{shop}|{app}|password|high',
	'2|hostssl|{shop}|{app}|password|high',
	'3|host|{all}|{all}|md5|medium',
	'4|host|{shop}|{app}|scram-sha-256|ok',
	'5|host|{shop}|{app}|ident|high',
	'6|||||high',
	'7|host|{shop}|{app}|reject|ok'),
	'each rule gets its risk');

my %reason = map { split /\|/, $_, 2 } split /\n/, $node->safe_psql('postgres', qq{
	SELECT line_number - $first, reason FROM pgm_hba_audit() WHERE line_number >= $first});
like($reason{0}, qr/^trust over the network: .*; open to every address \(0\.0\.0\.0\/0\); every database and every role$/,
	'trust from anywhere: every reason, the worst first');
like($reason{1}, qr/clear text over an unencrypted connection/, 'password over plain TCP');
like($reason{2}, qr/^the line has an error.*SSL is disabled; password sends the password in clear text to the server/,
	'hostssl without SSL is an error; password over TLS still sends it in clear to the server');
like($reason{3}, qr/^md5: use scram-sha-256.*; open to every address \(::\/0\); every database and every role$/,
	'md5 from every IPv6 address');
is($reason{4}, '', 'a SCRAM rule for one network has no reason');
like($reason{6}, qr/the line has an error.*invalid CIDR mask/i, 'the error line says what is wrong');

# the server refused the file with the error line, and still accepts
# connections over TCP under the rules it had
ok($node->wait_for_log(qr/pg_hba.conf was not reloaded/), 'the reload was refused (the error line)');

# the rows beside the lines
is($node->safe_psql('postgres', "SELECT risk FROM pgm_hba_audit() WHERE type = 'setting'"), 'ok',
	'password_encryption is scram-sha-256');
$node->safe_psql('postgres',
	"SET client_min_messages = error; SET password_encryption = 'md5'; ALTER ROLE app PASSWORD 'app secret'");
is($node->safe_psql('postgres', "SELECT user_name, auth_method, risk FROM pgm_hba_audit() WHERE type = 'role'"),
	'{app}|md5|medium', 'a role with an MD5 hash is named, the hash is not shown');

# who may call it
$out = $node->psql('postgres', 'SELECT count(*) FROM pgmanage.pgm_hba_audit()',
	extra_params => [ '-U', 'app' ], on_error_stop => 0, stderr => \my $err);
like($err, qr/permission denied for function pgm_hba_audit/, 'a role with only USAGE may not call it');
$node->psql('postgres', 'SELECT count(*) FROM pgmanage.pgm_hba_audit()',
	extra_params => [ '-U', 'stats' ], on_error_stop => 0, stderr => \$err);
like($err, qr/permission denied for function pgm_hba_audit/, 'pg_read_all_stats may not either');
is($node->safe_psql('postgres', "SELECT count(*) > 0 FROM pgm_hba_audit() WHERE risk = 'high'",
	extra_params => [ '-U', 'watcher' ]), 't', 'a member of pg_monitor may (SECURITY DEFINER)');
$node->psql('postgres', 'SELECT count(*) FROM pg_hba_file_rules',
	extra_params => [ '-U', 'watcher' ], on_error_stop => 0, stderr => \$err);
like($err, qr/permission denied/, 'while pg_hba_file_rules itself stays closed to it');

$node->stop;
done_testing();
