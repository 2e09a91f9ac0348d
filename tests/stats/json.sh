#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# mpc_alloc_stats_print(3) through the real library: the JSON parses
# (python3), has every documented key, its per-node figures add up to the
# totals, and a known workload shows (N blocks of S bytes: in use grows by
# at least N*S and returns to its start value once they are freed), for
# small, medium and huge blocks. The text form has its per-class rows.
# Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
need python3

dump=$top_builddir/tests/stats/stats_dump
[ -x "$dump" ] || fail "$dump not built"
checker=$srcdir/tests/stats/check_json.py

for workload in "5000 24" "3000 1000" "200 5000" "40 200000" "3 5000000"; do
	# shellcheck disable=SC2086 # two numbers
	set -- $workload
	"$dump" "$1" "$2" "$tmp/start.json" "$tmp/during.json" "$tmp/after.json" ||
		fail "stats_dump $1 $2 failed"
	python3 "$checker" --workload "$1" "$2" "$tmp/start.json" "$tmp/during.json" "$tmp/after.json" ||
		fail "statistics of $1 blocks of $2 bytes (JSON in $tmp, shown above)"
done

"$dump" 1000 100 "$tmp/start.txt" "$tmp/during.txt" "$tmp/after.txt" text || fail "stats_dump text failed"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/during.txt" || fail "text form: no heading"
grep -q '^  class  size ' "$tmp/during.txt" || fail "text form: no size-class table"
# 1000 blocks of 100 bytes land in the 112-byte class
grep -Eq '^ +[0-9]+ +112 +1000 +112000 ' "$tmp/during.txt" || {
	cat "$tmp/during.txt" >&2
	fail "text form: no row for 1000 blocks of class 112"
}
grep -q '^  unbound ' "$tmp/during.txt" || fail "text form: no row for the unbound source"
echo "PASS: JSON and text statistics are consistent"
