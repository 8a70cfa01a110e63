# The pre-tokenizer regular expressions of LLaMA 3 and GPT-2, as Perl runs
# them (\p{L}, \p{N}): the oracle of test_tokenizer.py. Reads strings
# separated by U+001E; prints the lengths of the pieces of each, one line each.
use strict; use warnings;
binmode(STDIN, ':utf8'); binmode(STDOUT, ':utf8');  # core layers: perl-base has no Encode
my $which = shift;
my $llama3 = qr/(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/;
my $gpt2 = qr/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/;
my $re = $which eq 'gpt2' ? $gpt2 : $llama3;
local $/ = "\x{1e}";
while (my $s = <STDIN>) {
  chomp $s;
  my @p;
  while ($s =~ /$re/g) { push @p, length($&); }
  print join(',', @p), "\n";
}
