# webhook-id never repeats: a random id stored with the event at enqueue,
# the same on every attempt of that event, and new after DROP and CREATE
# EXTENSION (the event id sequence starts again there, the ids do not).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgmTest;
use PgmWebhook;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('webhook_ids', conf => $webhook_conf);
my $r = start_receiver(secret => $secret);

sub add_endpoint
{
	$node->safe_psql('postgres', qq{
		INSERT INTO pgm_endpoint (name, url, secret, timeout)
		VALUES ('hook', 'http://127.0.0.1:$r->{port}/hook', '$secret', '2s')});
}

# queue $n events, wait until all are delivered; returns their ids (event ids)
sub send_events
{
	my ($n, $label) = @_;
	my @ids = split /\n/, $node->safe_psql('postgres',
		"SELECT pgm_emit_event('test', pg_catalog.jsonb_build_object('i', i), '$label') FROM generate_series(1, $n) i");
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) = $n FROM pgm_delivery WHERE status = 'delivered' AND event_id IN ("
			  . join(',', @ids) . ')'),
		"$label: $n events delivered");
	return @ids;
}

sub header_ids
{
	my ($label) = @_;
	return map { $_->{headers}{'webhook-id'} }
	  grep { $_->{json} && ($_->{json}{label} // '') eq $label } receiver_requests($r);
}

add_endpoint();

# 1. DROP and CREATE EXTENSION: the event ids start again, the webhook ids do not repeat
my @first_ids = send_events(20, 'before');
my @before = header_ids('before');
$node->safe_psql('postgres', 'DROP EXTENSION pgmanage; CREATE EXTENSION pgmanage;');
add_endpoint();
my @second_ids = send_events(20, 'after');
my @after = header_ids('after');
my %first = map { $_ => 1 } @first_ids;
ok(scalar(grep { $first{$_} } @second_ids) > 0, 'event ids were reused after DROP/CREATE EXTENSION');
is(scalar(@before) + scalar(@after), 40, 'every event was received once');
my %seen;
$seen{$_}++ for @before, @after;
is(scalar(grep { $seen{$_} > 1 } keys %seen), 0, 'no webhook-id was used for two different events');
is(scalar(keys %seen), 40, '40 events, 40 webhook ids');

# 2. a retry keeps the id, and the id is the one stored with the event
set_plan($r, [ { status => 503 } ]);
my $id = $node->safe_psql('postgres', "SELECT pgm_emit_event('test', NULL, 'retried')");
ok( $node->poll_query_until('postgres',
		"SELECT status = 'delivered' AND attempts = 2 FROM pgm_delivery WHERE event_id = $id"),
	'503 then 200: delivered at the second attempt');
my @retried = header_ids('retried');
is(scalar(@retried), 2, 'two attempts');
is($retried[0], $retried[1], 'the retry has the same webhook-id');
my $stored = $node->safe_psql('postgres', "SELECT webhook_id FROM pgm_event WHERE id = $id");
is($retried[0], $stored, 'webhook-id is pgm_event.webhook_id');
like($stored, qr/^pgm_[0-9a-f]{32}$/, 'a random UUID (pgm_ + 32 hex digits)');
is($node->safe_psql('postgres', "SELECT payload->>'webhook_id' FROM pgm_event WHERE id = $id"),
	$stored, 'the payload carries it too');

stop_receiver($r);
$node->stop;
done_testing();
