# Hostile text in webhook payloads: labels, event data, role and
# application names with quotes, backslashes, newlines, tabs, terminal
# escape codes, JSON specials ("}, ]"), "%s", Unicode and U+2028 reach the
# receiver as valid JSON (parsed by a strict parser: no raw control
# character, no invalid UTF-8), with the values intact and signed; an
# overlong label and hostile endpoint names are refused.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Encode ();
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_' . 'aG9zdGlsZS1wYXlsb2Fkcy10ZXN0LTA5MS0xMjM0';
my $node = pgm_node('payloads', conf => $webhook_conf . "log_statement = none\n");
my $r = start_receiver(secret => $secret);

sub ql { my ($s) = @_; return "'" . ($s =~ s/'/''/gr) . "'"; }
sub qi { my ($s) = @_; return '"' . ($s =~ s/"/""/gr) . '"'; }

# (byte strings: this file is UTF-8, read as bytes)
my @labels = (
	q{quote ' double " backslash \ end},
	"newline\nand\r\ncarriage\ttab",
	"escape \x1b[31mred\x1b[0m bell \x07 del \x7f",
	q(json "} ] , {"x": 1} \u0000 \n),
	'%s %n %d %x',
	"unicode ☃ ünï роль \xe2\x80\xa8 line separator",
	q{'); DROP TABLE pgm_endpoint; --},
);
my $role = "victim \"q\" '\n\\ ☃";
my $app = q{app "} . '\\' . q{" %s {"x"} ]};

$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret) VALUES ('hook', 'http://127.0.0.1:$r->{port}/', '$secret');
	CREATE ROLE } . qi($role) . qq{ LOGIN;
	INSERT INTO pgm_timeout_policy (role_name, statement_timeout) VALUES (} . ql($role) . q{, '300ms');});

# hostile endpoint names are refused
for my $name ('ho"stile', "a\nb", 'ünï', q{x'; --}, 'a b', 'n' x 64, '')
{
	my ($ret, $out, $err) = $node->psql('postgres',
		'INSERT INTO pgm_endpoint (name, url) VALUES (' . ql($name) . ", 'http://127.0.0.1:9/')",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/22023.*invalid webhook endpoint name/s, 'endpoint name refused: ' . ($name =~ s/\n/\\n/gr));
}

# an overlong label is refused
my ($ret, $out, $err) = $node->psql('postgres', "SELECT pgm_emit_event('test', NULL, repeat('x', 1025))",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/22023/, 'a label over 1024 bytes is refused (22023)');

# one event per label, the label also inside the data
my $i = 0;
for my $l (@labels)
{
	$i++;
	$node->safe_psql('postgres',
		"SELECT pgm_emit_event('hostile', jsonb_build_object('n', $i, 'text', " . ql($l) . ', '
		  . ql($l) . ', ' . ql($l) . '), ' . ql($l) . ')');
}
# and a policy kill of the hostile role, with the hostile application name
my $connstr = $node->connstr('postgres') . " user='" . ($role =~ s/([\\'])/\\$1/gr) . "'"
  . " application_name='" . ($app =~ s/([\\'])/\\$1/gr) . "'";
$node->poll_query_until('postgres', "SELECT policies_loaded = 1 FROM pgm_status() WHERE process = 'launcher'");
$node->psql('postgres', 'SELECT pg_sleep(30)', connstr => $connstr);

my @reqs = wait_for_requests($r, scalar(@labels) + 1, 'hostile events');
is(scalar(@reqs), scalar(@labels) + 1, 'every event delivered');
my $strict = JSON::PP->new;    # not relaxed: raw control characters are errors
my (%got, $kill);
for my $req (@reqs)
{
	ok($req->{verified}, 'signed: the body arrived as it was signed');
	unlike($req->{body}, qr/[\x00-\x1f]/, 'no raw control character in the body');
	unlike($req->{body}, qr/\x{fffd}/, 'valid UTF-8 (nothing replaced by the receiver)');
	my $json = eval { $strict->decode($req->{body}) };
	ok($json, 'the body parses as strict JSON') or diag($@);
	next unless $json;
	if ($json->{kind} eq 'timeout_kill') { $kill = $json; next; }
	$got{ $json->{data}{n} } = $json;
}
$i = 0;
for my $l (@labels)
{
	$i++;
	my $want = Encode::decode_utf8($l);
	my $j = $got{$i};
	my $show = $l =~ s/([\x00-\x1f\x7f])/sprintf('\\x%02x', ord $1)/ger;
	is($j->{label}, $want, "label intact: $show");
	is($j->{data}{text}, $want, 'and as a value in data');
	is($j->{data}{$want}, $want, 'and as a key');
}
ok($kill, 'the timeout_kill event arrived');
is($kill->{data}{role_name}, Encode::decode_utf8($role), 'with the role name intact');
is($kill->{data}{application_name}, $app, 'and the application name');

done_testing();
