# PgmDocs: the SQL examples of README.md and docs/, for test/t/055_docs_examples.pl.
#
# A block is a ```sql fence, or a plain ``` fence whose lines carry a psql
# prompt ("=# ", "shop=# ").  Inside, a statement starts at a line that
# begins with an SQL keyword (or after a prompt) and runs to the line that
# ends with ";" (or \gx, \gset, \g), dollar quotes respected; the other lines
# are output.  A statement whose output starts with "ERROR:" must fail; any
# other must succeed.
#
# Markers, an HTML comment on the line before the fence (invisible on GitHub):
#   <!-- docs-test: skip REASON -->   not run; counted and listed with REASON
#   <!-- docs-test: fails -->         every statement of the block must fail
#
#   perl -Itest/perl -MPgmDocs -e 'PgmDocs::list(".")'   # what would run
package PgmDocs;
use strict;
use warnings;
use File::Find;

my $keyword = qr/^(?:SELECT|INSERT|UPDATE|DELETE|WITH|ALTER|CREATE|DROP|SET|RESET|SHOW|BEGIN|COMMIT|
	ROLLBACK|START|END|DO|CALL|GRANT|REVOKE|TRUNCATE|VACUUM|ANALYZE|EXPLAIN|COMMENT|TABLE|VALUES|
	REINDEX|CHECKPOINT|LISTEN|NOTIFY|SAVEPOINT|RELEASE|LOCK|REFRESH|DISCARD)\b/x;

# the markdown files: README.md and docs/**.md, sorted
sub files
{
	my ($root) = @_;
	my @f = ("$root/README.md");
	find({ wanted => sub { push @f, $File::Find::name if /\.md$/ }, no_chdir => 1 }, "$root/docs");
	return sort @f;
}

# output lines that look like keywords: command tags ("ALTER SYSTEM", "INSERT 0 1")
sub is_tag { return $_[0] =~ /^[A-Z][A-Z ]*(?: \d+)*$/ && $_[0] !~ /;/; }

# a statement's text is complete: ends with ; or a \g command, outside dollar quotes
sub complete
{
	my ($text) = @_;
	my $n = () = $text =~ /\$[A-Za-z_]*\$/g;
	return 0 if $n % 2;
	(my $last = $text) =~ s/\s*--[^'\n]*$//;
	return $last =~ /(?:;|\\gx|\\gset(?: \w+)?|\\g)\s*$/;
}

# blocks of one file: { file, line, skip, fails, statements => [{ sql, line, must_fail }] }
sub blocks
{
	my ($file) = @_;
	open my $fh, '<', $file or die "$file: $!";
	my @lines = <$fh>;
	close $fh;
	chomp @lines;
	my @blocks;
	for (my $i = 0; $i < @lines; $i++)
	{
		next unless $lines[$i] =~ /^```(\w*)\s*$/;
		my $lang = $1;
		my $start = $i;
		my $marker = $i > 0 ? $lines[$i - 1] : '';
		my @body;
		for ($i++; $i < @lines && $lines[$i] !~ /^```\s*$/; $i++) { push @body, [ $lines[$i], $i + 1 ]; }
		my $prompted = grep { $_->[0] =~ /^\w*=# / } @body;
		next unless $lang eq 'sql' || ($lang eq '' && $prompted);
		my %b = (file => $file, line => $start + 1, statements => []);
		$b{skip} = $1 if $marker =~ /<!--\s*docs-test:\s*skip\s*(.*?)\s*-->/;
		$b{fails} = 1 if $marker =~ /<!--\s*docs-test:\s*fails\s*-->/;
		my $cur;
		for my $l (@body)
		{
			my ($text, $no) = @$l;
			my $had_prompt = $text =~ s/^\w*=# //;
			if ($cur)
			{
				$text =~ s/^\w*-# //;
				$cur->{sql} .= "\n$text";
				if (complete($cur->{sql})) { push @{ $b{statements} }, $cur; undef $cur; }
				next;
			}
			if ($text =~ /^\\/ && ($had_prompt || $lang eq 'sql'))
			{
				push @{ $b{statements} }, { sql => $text, line => $no, meta => 1 };
				next;
			}
			my $starts = $had_prompt || ($lang eq 'sql' && $text =~ $keyword && !is_tag($text));
			if ($starts)
			{
				$cur = { sql => $text, line => $no };
				if (complete($text)) { push @{ $b{statements} }, $cur; undef $cur; }
				next;
			}
			# output: an ERROR right after a statement says it must fail
			if ($text =~ /^(?:psql:\S* )?ERROR:/ && @{ $b{statements} })
			{
				my $s = $b{statements}[-1];
				$s->{must_fail} = 1 unless $s->{meta} || $s->{output_seen};
			}
			$b{statements}[-1]{output_seen} = 1 if @{ $b{statements} } && $text ne '';
		}
		if ($cur) { $cur->{sql} .= ';'; $cur->{unterminated} = 1; push @{ $b{statements} }, $cur; }
		if ($b{fails}) { $_->{must_fail} = 1 for grep { !$_->{meta} } @{ $b{statements} }; }
		push @blocks, \%b;
	}
	return @blocks;
}

# The psql script of a block: each statement, then a line saying how it went.
sub script
{
	my ($b) = @_;
	my $sql = "\\set ON_ERROR_STOP 0\n\\set VERBOSITY default\n";
	my $n = 0;
	for my $s (@{ $b->{statements} })
	{
		$n++;
		$sql .= "$s->{sql}\n";
		next if $s->{meta};
		$sql .= "\\if :ERROR\n\\echo '\@\@R $n fail' :LAST_ERROR_SQLSTATE :LAST_ERROR_MESSAGE\n"
		  . "\\else\n\\echo '\@\@R $n ok'\n\\endif\n";
	}
	return $sql;
}

# Run every block with $exec->($psql_script) (returns psql's stdout).
# Returns (\@problems, \%counts, \@skipped): a problem is a string naming
# the file, line and statement that did not do what the docs show.
sub run
{
	my ($root, $exec, $after_file) = @_;
	my (@problems, @skipped);
	my %count = (files => 0, blocks => 0, statements => 0, must_fail => 0,
				 skipped => 0, no_statement => 0);
	for my $f (files($root))
	{
		my @blocks = blocks($f);
		next unless @blocks;
		$count{files}++;
		(my $rel = $f) =~ s{^\Q$root\E/}{};
		for my $b (@blocks)
		{
			if (defined $b->{skip})
			{
				$count{skipped}++;
				push @skipped, "$rel:$b->{line}: $b->{skip}";
				next;
			}
			if (!@{ $b->{statements} }) { $count{no_statement}++; next; }
			$count{blocks}++;
			my $out = $exec->(script($b));
			my %got;
			$got{$1} = [ $2, $3 // '' ] while $out =~ /^\@\@R (\d+) (ok|fail)(?: (.*))?$/mg;
			my $n = 0;
			for my $s (@{ $b->{statements} })
			{
				$n++;
				next if $s->{meta};
				$count{statements}++;
				$count{must_fail}++ if $s->{must_fail};
				my ($st, $err) = @{ $got{$n} // [ 'not run', '' ] };
				my $want = $s->{must_fail} ? 'fail' : 'ok';
				next if $st eq $want;
				my $what = $st eq 'fail' ? "failed: $err" : $st eq 'ok' ? 'succeeded, but the docs show an ERROR' : 'did not run';
				push @problems, "$rel:$s->{line}: $what\n    " . ($s->{sql} =~ s/\n/\n    /gr);
			}
		}
		$after_file->($rel) if $after_file;
	}
	return (\@problems, \%count, \@skipped);
}

sub list
{
	my ($root) = @_;
	for my $f (files($root))
	{
		for my $b (blocks($f))
		{
			printf "== %s:%d%s\n", $b->{file}, $b->{line}, $b->{skip} ? " (skip: $b->{skip})" : '';
			printf "  %s%s\n", ($_->{must_fail} ? '[fails] ' : ''), $_->{sql} =~ s/\n/\n  /gr
			  for @{ $b->{statements} };
		}
	}
	return;
}

1;
