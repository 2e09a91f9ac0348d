#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# sort(1) under LD_PRELOAD=libmpcalloc on a generated file of 200,000 lines:
# plain, numeric on a field, unique, and with two threads and a large buffer
# (--parallel=2 -S 64M); each output must match the one sort produces on
# glibc's allocator.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

need sort
need awk
check_mapped

# Deterministic input: a linear congruential generator in awk.
awk 'BEGIN {
	x = 42
	for (i = 0; i < 200000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		w = ""
		n = 3 + x % 17
		for (j = 0; j < n; j++) {
			x = (x * 1103515245 + 12345) % 2147483648
			w = w sprintf("%c", 97 + int(x / 65536) % 26)
		}
		printf "%s %d %s\n", w, x % 100000, (i % 7 == 0 ? "dup" : w)
	}
}' >"$tmp/input"
[ "$(wc -l <"$tmp/input")" -eq 200000 ] || fail "input generation failed"

LC_ALL=C
export LC_ALL
n=0
while read -r opts; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # the options are meant to be split
	sort $opts -T "$tmp" "$tmp/input" >"$tmp/ref.$n" || fail "sort $opts failed without libmpcalloc"
	# shellcheck disable=SC2086
	preload sort $opts -T "$tmp" "$tmp/input" >"$tmp/out.$n" 2>"$tmp/err.$n" || {
		cat "$tmp/err.$n" >&2
		fail "sort $opts failed under libmpcalloc"
	}
	clean_stderr "$tmp/err.$n" "sort $opts"
	same "$tmp/ref.$n" "$tmp/out.$n" "sort $opts"
done <<EOF
-s
-k2,2n -k1,1
-u -k3,3
-r --parallel=2 -S 64M
--parallel=2 -S 1M -k1.2
EOF
echo "sort: $n variants, same output with libmpcalloc preloaded"
