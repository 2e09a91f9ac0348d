#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# perl under LD_PRELOAD=libmpcalloc: a workload of hashes, sorting, regular
# expressions and string building (workload.pl) must print exactly what it
# prints on glibc's allocator.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

need perl
script=$srcdir/tests/override/workload.pl

# shellcheck disable=SC2016 # perl code, not shell
check_mapped perl -e 'open(my $f, "<", "/proc/self/maps") or die; print while <$f>;'

perl "$script" >"$tmp/ref" || fail "perl workload failed without libmpcalloc"
preload perl "$script" >"$tmp/out" 2>"$tmp/err" || {
	cat "$tmp/err" >&2
	fail "perl failed under libmpcalloc"
}
clean_stderr "$tmp/err" perl
same "$tmp/ref" "$tmp/out" perl
echo "perl: same output with libmpcalloc preloaded ($(wc -l <"$tmp/ref") lines)"
