# Metrics, end to end: real events (a policy cancel, a pgm_kill_long
# terminate, a slow statement, a pg_stat_statements snapshot, a VACUUM run,
# a webhook delivered and one pending, a tablespace whose name needs
# escaping) show in pgm_metrics(); pgm_metrics_text() parses with the
# official Python parser (prometheus_client) into the same samples;
# prometheus-postgres-exporter, connected as a pg_monitor member with the
# queries file shipped in contrib/prometheus/, serves every family with its
# type on 127.0.0.1; the Grafana dashboard and docs/metrics.md name only
# (dashboard) and all (docs) the families pgm_metrics() has; reading does
# not wait for a lock on a user table; without preload it still answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Path qw(make_path);
use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(usleep);
use PgmTest;
use PgmWebhook;

my $src = $ENV{PGM_SRC} // '.';
my $python = '/usr/bin/python3';
my $exporter = '/usr/bin/prometheus-postgres-exporter';
my $has_parser = -x $python
  && system($python, '-c', 'import prometheus_client.parser') == 0;

my $secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
my $node = pgm_node('metrics', conf => $webhook_conf . q{
pgmanage.pgss_snapshot_interval = 0
});
my $r = start_receiver(secret => $secret);

# the rows of pgm_metrics(), as { "metric{labels-json}" => [type, value] }
sub metrics
{
	my $json = $node->safe_psql('postgres', q{
		SELECT coalesce(jsonb_agg(jsonb_build_object('m', metric, 't', type, 'l', labels, 'v', value)), '[]')
		FROM pgm_metrics()});
	my %m;
	for my $row (@{ decode_json($json) })
	{
		my $labels = join(',', map { "$_=$row->{l}{$_}" } sort keys %{ $row->{l} });
		$m{"$row->{m}\{$labels}"} = [ $row->{t}, $row->{v} ];
	}
	return \%m;
}
sub value { my ($m, $key) = @_; return defined $m->{$key} ? $m->{$key}[1] : undef; }

# ---- 1. things happen
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_stat_statements;
	CREATE ROLE metrics_app LOGIN;
	CREATE ROLE metrics_exporter LOGIN IN ROLE pg_monitor;
	INSERT INTO pgm_timeout_policy (application_name, statement_timeout, action, comment)
	VALUES ('metrics_cancel', '1 s', 'cancel', 'test: metrics')});
pgm_wait_policies($node, 1);

my $before = metrics();
is(value($before, 'pgmanage_timeout_actions_total{action=cancel,limit=statement_timeout}'), 0,
	'no cancel counted yet');

# a policy cancels a statement
my $s = pgm_session($node, 'metrics_cancel', user => 'metrics_app');
pgm_run($s, 'SELECT pg_sleep(60)');
like(scalar pgm_result($s), qr/sqlstate=57014/, 'the policy cancelled the statement');
$s->quit;

# pgm_kill_long terminates a session
$s = pgm_session($node, 'metrics_victim', user => 'metrics_app');
pgm_run($s, 'SELECT pg_sleep(60)');
pgm_wait_active($node, 'metrics_victim');
sleep 1;
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pgm_kill_long('0.5 s', 'terminate') WHERE application_name = 'metrics_victim' AND signalled"),
	'1', 'pgm_kill_long terminated the session');
pgm_quit($s);

# a slow statement is captured
$node->safe_psql('postgres', 'SET pgmanage.log_min_duration = 100; SELECT pg_sleep(0.3)');
$node->poll_query_until('postgres', 'SELECT written >= 1 FROM pgm_slow_query_stats()')
  or die 'slow statement not written';

# a pg_stat_statements snapshot
$node->safe_psql('postgres', 'SELECT pgm_pgss_snapshot()');

# a VACUUM run of a table (a scheduled job that has not fired, run once
# by hand through its own kind)
$node->safe_psql('postgres', q{
	CREATE TABLE metrics_t AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 20000) g;
	DELETE FROM metrics_t WHERE id % 2 = 0;
	SELECT pgm_schedule_vacuum('metrics job "q" \ x', '0 3 1 1 *', tables => ARRAY['metrics_t'], strategy => 'all')});
my $run = $node->safe_psql('postgres', q{
	INSERT INTO pgm_job_run (job, kind, database_name, options, trigger, status)
	SELECT name, kind, database_name, options, 'manual', 'queued' FROM pgm_job WHERE name = 'metrics job "q" \ x'
	RETURNING id});
$node->poll_query_until('postgres', "SELECT status = 'succeeded' FROM pgm_job_run WHERE id = $run")
  or die 'the VACUUM run did not succeed';

# webhooks: one endpoint delivers, one points at a closed port (pending)
my $closed = PostgreSQL::Test::Cluster::get_free_port();
$node->safe_psql('postgres', qq{
	INSERT INTO pgm_endpoint (name, url, secret, timeout)
	VALUES ('metrics_ok', 'http://127.0.0.1:$r->{port}/hook', '$secret', '2s');
	INSERT INTO pgm_endpoint (name, url, secret, timeout)
	VALUES ('metrics_down', 'http://127.0.0.1:$closed/hook', '$secret', '1s')});
my $ev = $node->safe_psql('postgres', q{SELECT pgm_emit_event('metrics_test', '{"n": 1}', 'metrics')});
$node->poll_query_until('postgres',
	"SELECT status = 'delivered' FROM pgm_delivery WHERE event_id = $ev AND endpoint = 'metrics_ok'")
  or die 'the event was not delivered';

# a tablespace whose name holds a quote, a backslash and a newline
my $tsdir = $node->basedir . '/ts_metrics';
make_path($tsdir);
my $tsname = qq{ts "q" \\ x\ny};
(my $tsident = $tsname) =~ s/"/""/g;
$node->safe_psql('postgres', qq{CREATE TABLESPACE "$tsident" LOCATION '$tsdir'});

# ---- 2. pgm_metrics() saw it
my $m = metrics();
is(value($m, 'pgmanage_timeout_actions_total{action=cancel,limit=statement_timeout}'), 1,
	'pgmanage_timeout_actions_total: the policy cancel, by limit and action');
is(value($m, 'pgmanage_timeout_actions_total{action=terminate,limit=pgm_kill_long}'), 1,
	'pgmanage_timeout_actions_total: the pgm_kill_long terminate');
is(value($m, 'pgmanage_timeout_actions_total{action=terminate,limit=statement_timeout}'), 0,
	'and nothing else');
is($m->{'pgmanage_timeout_actions_total{action=cancel,limit=statement_timeout}'}[0], 'counter', 'a counter');
is(value($m, 'pgmanage_kill_log_dropped_total{}'), 0, 'no kill record dropped');
$node->poll_query_until('postgres',
	"SELECT value = 2 FROM pgm_metrics() WHERE metric = 'pgmanage_kill_log_written_total'")
  or die 'kill records not written';
pass('pgmanage_kill_log_written_total reaches 2');
cmp_ok(value($m, 'pgmanage_slow_statements_captured_total{}'), '>=', 1, 'a slow statement captured');
is(value($m, 'pgmanage_slow_statements_dropped_total{}'), 0, 'none dropped');
cmp_ok(value($m, 'pgmanage_pgss_snapshots_total{}'), '>=', 1, 'a pg_stat_statements snapshot counted');
my $age = value($m, 'pgmanage_pgss_last_snapshot_age_seconds{}');
ok(defined $age && $age >= 0 && $age < 300, 'and its age');
is(value($m, 'pgmanage_job_runs{kind=vacuum,status=succeeded}'), 1, 'the VACUUM run, by kind and status');
is(value($m, 'pgmanage_job_runs{kind=backup,status=failed}'), 0, 'series of other kinds and statuses are 0');
ok(defined value($m, 'pgmanage_vacuum_reclaimed_bytes{}'), 'reclaimed bytes reported');
cmp_ok(value($m, 'pgmanage_vacuum_tables{outcome=vacuumed}'), '>=', 1, 'the table vacuumed');
ok(defined value($m, 'pgmanage_job_last_success_timestamp_seconds{job=metrics job "q" \ x,kind=vacuum}'),
	'the job\'s last success');
is(value($m, 'pgmanage_webhook_deliveries{endpoint=metrics_ok,status=delivered}'), 1, 'delivered, by endpoint');
is(value($m, 'pgmanage_webhook_deliveries{endpoint=metrics_down,status=pending}'), 1, 'pending, by endpoint');
my $lat = value($m, 'pgmanage_webhook_delivery_latency_seconds{endpoint=metrics_ok}');
ok(defined $lat && $lat >= 0 && $lat < 60, 'delivery latency');
ok(defined value($m, 'pgmanage_webhook_oldest_pending_age_seconds{endpoint=metrics_down}'), 'oldest pending age');
is(value($m, 'pgmanage_process_up{process=worker}'), 1, 'the worker is up');
is(value($m, 'pgmanage_process_up{process=sender}'), 1, 'the sender is up');
my $ratio = value($m, "pgmanage_disk_used_ratio{area=tablespace $tsname}");
ok(defined $ratio && $ratio > 0 && $ratio <= 1, 'the tablespace\'s disk ratio');

# ---- 3. the text format parses with the official parser into the same samples
SKIP:
{
	skip 'python3-prometheus-client is not installed', 4 unless $has_parser;
	my $text = $node->safe_psql('postgres', 'SELECT pgm_metrics_text()');
	$text .= "\n";    # (safe_psql strips the last newline)
	my $py = <<'PY';
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        out.append({'family': f.name, 'type': f.type, 'name': s.name, 'labels': s.labels, 'value': s.value})
print(json.dumps(out))
PY
	my ($out, $err);
	my $ok = IPC::Run::run([ $python, '-c', $py ], '<', \$text, '>', \$out, '2>', \$err);
	ok($ok, 'prometheus_client parses pgm_metrics_text()') or diag($err);
	my $parsed = $ok ? decode_json($out) : [];
	my $m2 = metrics();
	my (%got, @wrong);
	for my $s (@$parsed)
	{
		my $labels = join(',', map { "$_=$s->{labels}{$_}" } sort keys %{ $s->{labels} });
		$got{"$s->{name}\{$labels}"} = [ $s->{type}, $s->{value} ];
	}
	for my $k (sort keys %$m2)
	{
		next unless defined $m2->{$k}[1];
		my $g = $got{$k};
		# (ages and latencies move between the two reads)
		push @wrong, $k
		  unless $g && $g->[0] eq $m2->{$k}[0]
		  && ($k =~ /age_seconds|fill_ratio|available_bytes|used_ratio|area_bytes|last_error/
			|| abs($g->[1] - $m2->{$k}[1]) <= 1e-9 * abs($m2->{$k}[1]));
	}
	is_deeply(\@wrong, [], 'every sample of pgm_metrics() parsed back with its name, labels, type and value');
	# (a process may record its first error between the two reads)
	is(scalar(grep { !/last_error/ } keys %got), scalar(grep { defined $m2->{$_}[1] && !/last_error/ } keys %$m2),
		'and nothing else');
	ok(exists $got{"pgmanage_disk_used_ratio{area=tablespace $tsname}"},
		'a label value with a quote, a backslash and a newline round-trips');
}

# ---- 4. a scrape through prometheus-postgres-exporter and the shipped queries file
SKIP:
{
	skip 'prometheus-postgres-exporter is not installed', 6 unless -x $exporter;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $dsn = 'host=' . $node->host . ' port=' . $node->port
	  . ' dbname=postgres user=metrics_exporter sslmode=disable';
	my $log = $node->basedir . '/exporter.log';
	my $h = IPC::Run::start(
		[ $exporter, "--web.listen-address=127.0.0.1:$port",
		  "--extend.query-path=$src/contrib/prometheus/pgmanage-queries.yaml",
		  '--disable-default-metrics', '--disable-settings-metrics', '--log.level=warn' ],
		init => sub { $ENV{DATA_SOURCE_NAME} = $dsn; },
		'>', $log, '2>&1');
	my $http = HTTP::Tiny->new(timeout => 10);
	my $res;
	for (my $i = 0; $i < 10 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		$res = $http->get("http://127.0.0.1:$port/metrics");
		last if $res->{success} && $res->{content} =~ /^pgmanage_/m;
		usleep(100_000);
	}
	ok($res->{success}, "the exporter answers on 127.0.0.1:$port") or diag(slurp_file($log));
	my $body = $res->{content} // '';
	like($body, qr/^pg_exporter_user_queries_load_error\{[^}]*\} 0$/m, 'the queries file loads');
	like($body, qr/^pg_exporter_last_scrape_error 0$/m, 'the scrape has no error');

	my %exported;
	$exported{$1} = $2 while $body =~ /^# TYPE (pgmanage_\S+) (\S+)$/mg;
	my $families = $node->safe_psql('postgres',
		'SELECT string_agg(DISTINCT metric || \' \' || type, E\'\n\') FROM pgm_metrics()');
	my @missing;
	for my $line (split /\n/, $families)
	{
		my ($name, $type) = split / /, $line;
		# (a process may record its first error after the scrape)
		next if $name =~ /last_error/ && !exists $exported{$name};
		push @missing, "$name $type (exported: " . ($exported{$name} // 'none') . ')'
		  unless ($exported{$name} // '') eq $type && $body =~ /^\Q$name\E[{ ]/m;
	}
	is_deeply(\@missing, [], 'every family of pgm_metrics() is scraped, with its type');
	like($body, qr/^pgmanage_timeout_actions_total\{action="cancel",limit="statement_timeout",[^}]*\} 1$/m,
		'with its labels and value (the policy cancel)');
	like($body, qr/^pgmanage_webhook_deliveries\{endpoint="metrics_down",[^}]*status="pending"\} 1$/m,
		'the pending delivery');
	$h->kill_kill;
	$h->finish;
}

# ---- 5. the dashboard uses only names pgm_metrics() has; docs/metrics.md names them all
my %family = map { $_ => 1 } split /\n/,
  $node->safe_psql('postgres', 'SELECT DISTINCT metric FROM pgm_metrics() ORDER BY 1');
$family{pgmanage_process_last_error_timestamp_seconds} = 1;    # (only once a process had an error)
my $dash = decode_json(slurp_file("$src/docs/grafana/pgmanage.json"));
my %used;
my $walk;
$walk = sub {
	my ($x) = @_;
	if (ref $x eq 'HASH')
	{
		for my $k (keys %$x)
		{
			if (($k eq 'expr' || $k eq 'query' || $k eq 'definition') && !ref $x->{$k})
			{
				$used{$1} = 1 while $x->{$k} =~ /\b(pgmanage_[a-z0-9_]+)/g;
			}
			$walk->($x->{$k});
		}
	}
	elsif (ref $x eq 'ARRAY') { $walk->($_) for @$x; }
};
$walk->($dash);
cmp_ok(scalar(keys %used), '>=', 15, 'the dashboard queries pgmanage\'s metrics');
is_deeply([ grep { !$family{$_} } sort keys %used ], [], 'every metric the dashboard uses exists in pgm_metrics()');
my $doc = slurp_file("$src/docs/metrics.md");
is_deeply([ grep { $doc !~ /`\Q$_\E`/ } sort keys %family ], [], 'docs/metrics.md documents every family');

# ---- 6. reading does not wait for a lock on a user table
$s = pgm_session($node, 'metrics_locker');
$s->query_safe('BEGIN');
$s->query_safe('LOCK TABLE metrics_t IN ACCESS EXCLUSIVE MODE');
is($node->safe_psql('postgres', q{SET lock_timeout = '2s'; SELECT count(*) > 0 FROM pgm_metrics()}),
	't', 'pgm_metrics() answers while a user table is locked ACCESS EXCLUSIVE');
$s->query_safe('ROLLBACK');
$s->quit;

# ---- 7. without shared_preload_libraries: the table metrics, and preloaded = 0
my $plain = pgm_node('metrics_plain', preload => 0);
is($plain->safe_psql('postgres', q{
	SELECT string_agg(metric || '=' || value, ',' ORDER BY metric) FROM pgm_metrics()
	WHERE metric IN ('pgmanage_preloaded', 'pgmanage_process_up', 'pgmanage_job_runs_created_total')}),
	'pgmanage_job_runs_created_total=0,pgmanage_preloaded=0', 'without preload: no process metrics, preloaded 0');
like($plain->safe_psql('postgres', 'SELECT pgm_metrics_text()'), qr/^pgmanage_preloaded 0$/m, 'and the text says so');
is($plain->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE value IS NULL) || ' ' || max(labels->>'database') FILTER (WHERE metric = 'pgmanage_info')
	FROM pgm_metrics()}), '0 postgres', 'every sample has a value, pgmanage_info names pgmanage.database');

stop_receiver($r);
$node->stop;
$plain->stop;
done_testing();
