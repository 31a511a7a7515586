# Helpers for pgmanage's webhook TAP tests (test/t/04*.pl): the settings
# their nodes add to PgmTest's pgm_node, and the test receiver
# (test/webhook_receiver.py).
#
#   my $node = pgm_node('hook', conf => $webhook_conf);
#   my $r = start_receiver(secret => $secret);
package PgmWebhook;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw($webhook_conf start_receiver stop_receiver receiver_requests
  wait_for_requests set_plan receiver_replies);

# the test receiver, beside the t/ directory
my $receiver_py = dirname(__FILE__) . '/../webhook_receiver.py';

# short naptime and retry delays, and the sender's messages in the log
our $webhook_conf = q{
pgmanage.naptime = '200ms'
pgmanage.webhook_retry_min = '100ms'
pgmanage.webhook_retry_max = '2s'
log_min_messages = info
};

# every receiver started, stopped at exit even when a test dies before
# its stop_receiver (a receiver left running outlives the test)
my @receivers;
END
{
	local $?;    # the test's exit status stays
	for my $h (@receivers) { eval { $h->kill_kill if $h->pumpable; }; }
}

# Start a receiver; returns a hash: port, log, plan, secret, handle.
#   start_receiver(secret => 'whsec_...', plan => [...], port => N, tls => [cert, key])
sub start_receiver
{
	my (%o) = @_;
	my $dir = $o{dir} // PostgreSQL::Test::Utils::tempdir();
	my $r = {
		dir => $dir,
		log => "$dir/requests.jsonl",
		plan => "$dir/plan.json",
		port_file => "$dir/port",
		secret => $o{secret},
	};
	unlink $r->{port_file};
	set_plan($r, $o{plan} // []);
	my @cmd = ('python3', $receiver_py, '--port-file', $r->{port_file},
		'--log', $r->{log}, '--secret', $o{secret}, '--plan', $r->{plan},
		'--port', $o{port} // 0, '--replies', "$dir/replies.jsonl");
	push @cmd, '--tls-cert', $o{tls}[0], '--tls-key', $o{tls}[1] if $o{tls};
	$r->{handle} = IPC::Run::start(\@cmd, '>', "$dir/receiver.out", '2>', "$dir/receiver.err");
	push @receivers, $r->{handle};
	# wait for the receiver to write its port (it does so once listening)
	for (my $i = 0; $i < 100 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		last if -s $r->{port_file};
		usleep(10_000);
	}
	die "receiver did not start: " . slurp_file("$dir/receiver.err") unless -s $r->{port_file};
	$r->{port} = slurp_file($r->{port_file});
	chomp $r->{port};
	return $r;
}

sub stop_receiver
{
	my ($r) = @_;
	$r->{handle}->kill_kill;
	$r->{handle}->finish;
}

# the answers to give next (consumed in order, then 200)
sub set_plan
{
	my ($r, $plan) = @_;
	open my $fh, '>', "$r->{plan}.tmp" or die;
	print $fh encode_json($plan);
	close $fh;
	rename "$r->{plan}.tmp", $r->{plan} or die;
}

# the requests received so far, each decoded, its body decoded as "json" when it parses
sub receiver_requests
{
	my ($r) = @_;
	return () unless -e $r->{log};
	my @out;
	open my $fh, '<', $r->{log} or die;
	while (my $line = <$fh>)
	{
		next unless $line =~ /\n$/;
		my $e = decode_json($line);
		$e->{json} = eval { decode_json($e->{body}) };
		push @out, $e;
	}
	close $fh;
	return @out;
}

# the answers sent so far: {path, bytes, complete} (complete: written whole)
sub receiver_replies
{
	my ($r) = @_;
	my $file = "$r->{dir}/replies.jsonl";
	return () unless -e $file;
	open my $fh, '<', $file or die;
	my @out = map { decode_json($_) } grep { /\n$/ } <$fh>;
	close $fh;
	return @out;
}

# wait until $pred (default: at least $n requests) holds; returns the requests
sub wait_for_requests
{
	my ($r, $n, $what) = @_;
	my @reqs;
	for (my $i = 0; $i < 10 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		@reqs = receiver_requests($r);
		return @reqs if @reqs >= $n;
		usleep(100_000);
	}
	diag("timed out waiting for $n requests ($what); got " . scalar(@reqs));
	return @reqs;
}

1;
