# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# A deterministic Perl workload for tests/override/perl.sh: hashes of many
# keys, sorting, regular expressions, string building, split/join; prints
# results that must be the same whatever allocator perl runs on.
use strict;
use warnings;

my $x = 12345;
sub rnd { $x = ($x * 1103515245 + 12345) % 2147483648; return $x >> 8; }

my @letters = ('a' .. 'z');
my @words;
for (1 .. 150000) {
    my $k = 1 + rnd() % 12;
    push @words, join('', map { $letters[rnd() % 26] } 1 .. $k);
}

my %count;
$count{$_}++ for @words;
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print "distinct: ", scalar(keys %count), "\n";
print "top: ", join(' ', map { "$_=$count{$_}" } @top), "\n";

my @sorted = sort @words;
print "sorted: @sorted[0 .. 4] ... @sorted[-3 .. -1]\n";
my @by_len = sort { length($a) <=> length($b) || reverse($a) cmp reverse($b) } keys %count;
print "by length: @by_len[0 .. 4]\n";

my ($vowels, $doubles, $subst) = (0, 0, 0);
my @changed;
for my $w (@words) {
    $vowels++ if $w =~ /^[aeiou]/;
    $doubles++ if $w =~ /(.)\1/;
    (my $c = $w) =~ s/([aeiou])/uc($1) . $1/ge;
    $subst += length $c;
    push @changed, $c if @changed < 5000;
}
print "vowel-initial: $vowels, doubled letters: $doubles, substituted length: $subst\n";

my %index;
for my $i (0 .. $#words) {
    push @{ $index{ substr($words[$i], 0, 2) } }, $i;
}
my $longest = (sort { @{ $index{$b} } <=> @{ $index{$a} } || $a cmp $b } keys %index)[0];
print "prefixes: ", scalar(keys %index), ", most common '$longest' x ", scalar(@{ $index{$longest} }), "\n";

my $big = '';
$big .= sprintf("%05d:%s;", $_, $words[$_]) for 0 .. 60000;
my @parts = split /;/, $big;
my $sum = 0;
$sum += length for @parts;
print "big string: ", length($big), " parts: ", scalar(@parts), " sum: $sum\n";
my $joined = join(',', reverse @changed);
my $cs = unpack('%32C*', $joined);
print "joined: ", length($joined), " checksum: $cs\n";

my @nums = map { rnd() } 1 .. 300000;
my @ns = sort { $a <=> $b } @nums;
print "numbers: $ns[0] $ns[150000] $ns[-1]\n";
