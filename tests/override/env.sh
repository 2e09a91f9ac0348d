#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# MPCALLOC_* environment variables, read by the preloaded library in a
# program that allocates (preload_probe). A bad value (unparsable, negative,
# fractional, too large, empty, out of range) or an unknown MPCALLOC_* name
# must give exactly one line on stderr, naming the variable (with a "did you
# mean" hint for a near miss), and the program must still run correctly: exit
# 0 with its normal output. Good values give no message.
# MPCALLOC_PRINT_CONFIG=1 prints "mpcalloc: MPCALLOC_<NAME>=<value>  (help)"
# lines, with the values in force.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

probe=$top_builddir/tests/override/preload_probe
[ -x "$probe" ] || fail "$probe not built"
check_mapped
preload "$probe" maps >"$tmp/probe-maps" || fail "preload_probe maps failed"
grep -qx mapped "$tmp/probe-maps" || fail "libmpcalloc is not mapped in preload_probe under LD_PRELOAD"

"$probe" >"$tmp/expected" || fail "preload_probe fails without libmpcalloc"
preload "$probe" >"$tmp/out" 2>"$tmp/err" || fail "preload_probe fails under libmpcalloc"
same "$tmp/expected" "$tmp/out" "preload_probe"
[ ! -s "$tmp/err" ] || fail "preload_probe printed on stderr with no MPCALLOC_* set: $(cat "$tmp/err")"

failures=0
bad() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run_with ASSIGNMENT: run the probe with ASSIGNMENT in its environment; sets
# $lines to the number of lines on stderr (a final line without a newline
# counts), checks exit status and output.
run_with() {
	# what the messages show of the assignment: at most 60 characters
	show=$(printf '%s' "$1" | cut -c 1-60)
	rc=0
	env "$1" LD_PRELOAD="$MPCA_TEST_LIB" "$probe" >"$tmp/out" 2>"$tmp/err" || rc=$?
	lines=$(awk 'END { print NR }' "$tmp/err")
	if [ "$rc" -ne 0 ]; then
		bad "with $show: exit status $rc; stderr: $(cat "$tmp/err")"
	elif ! cmp -s "$tmp/expected" "$tmp/out"; then
		bad "with $show: wrong output: $(cat "$tmp/out")"
	fi
}

# expect_one_line ASSIGNMENT NAME [TEXT]: one complete line naming NAME (and
# containing TEXT).
expect_one_line() {
	before=$failures
	run_with "$1"
	if [ "$lines" -ne 1 ]; then
		bad "with $show: $lines lines on stderr, expected 1:"
		sed 's/^/    | /' "$tmp/err" >&2
		return 0
	fi
	if [ "$(tail -c 1 "$tmp/err" | od -An -c | tr -d ' ')" != '\n' ]; then
		bad "with $show: the stderr line does not end with a newline: $(head -c 300 "$tmp/err")..."
	fi
	grep -q "$2" "$tmp/err" || bad "with $show: stderr does not name $2: $(cat "$tmp/err")"
	if [ $# -ge 3 ]; then
		grep -qF "$3" "$tmp/err" || bad "with $show: stderr does not say '$3': $(cat "$tmp/err")"
	fi
	grep -q '^mpcalloc: ' "$tmp/err" || bad "with $show: the line does not start with 'mpcalloc: '"
	[ "$failures" -ne "$before" ] || echo "ok: $show -> $(head -c 200 "$tmp/err")"
}

expect_silent() {
	before=$failures
	run_with "$1"
	[ "$lines" -eq 0 ] || bad "with $show (a valid setting): unexpected stderr: $(cat "$tmp/err")"
	[ "$failures" -ne "$before" ] || echo "ok: $show -> silent"
}

long_digits=$(awk 'BEGIN { for (i = 0; i < 2000; i++) printf "9"; }')
long_name=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "X"; }')

expect_one_line 'MPCALLOC_KEEP_MAX=12Q' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=-1' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=1.5G' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=99999999999999999999G' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=99999999999999999999' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=16M junk' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=0x100' MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MAX=999T' MPCALLOC_KEEP_MAX
expect_one_line "MPCALLOC_KEEP_MAX=$long_digits" MPCALLOC_KEEP_MAX
expect_one_line 'MPCALLOC_KEEP_MEM=lots' MPCALLOC_KEEP_MEM
expect_one_line 'MPCALLOC_RETAIN_MAX=-5G' MPCALLOC_RETAIN_MAX
expect_one_line 'MPCALLOC_ON_ERROR=explode' MPCALLOC_ON_ERROR
expect_one_line 'MPCALLOC_ON_ERROR=' MPCALLOC_ON_ERROR
expect_one_line 'MPCALLOC_PRINT_CONFIG=maybe' MPCALLOC_PRINT_CONFIG
expect_one_line 'MPCALLOC_KEEPMAX=1' MPCALLOC_KEEPMAX 'did you mean MPCALLOC_KEEP_MAX'
expect_one_line 'MPCALLOC_keep_max=1M' MPCALLOC_keep_max 'did you mean MPCALLOC_KEEP_MAX'
expect_one_line 'MPCALLOC_RETAINMAX=1G' MPCALLOC_RETAINMAX 'did you mean MPCALLOC_RETAIN_MAX'
expect_one_line 'MPCALLOC_ZZZZZZZZZZZZ=1' MPCALLOC_ZZZZZZZZZZZZ
expect_one_line "MPCALLOC_$long_name=1" MPCALLOC_XXXXXXXX
expect_one_line 'MPCALLOC_=1' MPCALLOC_
expect_one_line 'MPCALLOC_NUMA_NODE=64' MPCALLOC_NUMA_NODE 'out of range [0, 63]'
expect_one_line 'MPCALLOC_NUMA_NODE=-1' MPCALLOC_NUMA_NODE 'negative node'
expect_one_line 'MPCALLOC_NUMA_INTERLEAVE_MIN=1.5G' MPCALLOC_NUMA_INTERLEAVE_MIN 'fractions'
# a node this machine does not have, once the library has read the topology
# (a build with libnuma: the suite's machines have fewer than 40 nodes)
if grep -q '^#define HAVE_LIBNUMA 1' "$top_builddir/config.h"; then
	expect_one_line 'MPCALLOC_NUMA_NODE=40' MPCALLOC_NUMA_NODE "='40': no such NUMA node is online; using the default none"
fi

expect_silent 'MPCALLOC_KEEP_MAX=256M'
expect_silent 'MPCALLOC_KEEP_MAX=0'
expect_silent 'MPCALLOC_KEEP_MEM=1G'
expect_silent 'MPCALLOC_RETAIN_MAX=64MiB'
expect_silent 'MPCALLOC_ON_ERROR=warn'
expect_silent 'MPCALLOC_PRINT_CONFIG=0'
expect_silent 'MPCALLOC_NUMA_NODE=0'
expect_silent 'MPCALLOC_NUMA_NODE=none'
expect_silent 'MPCALLOC_NUMA_INTERLEAVE_MIN=64M'

# MPCALLOC_PRINT_CONFIG=1: every line has the documented form, KEEP_MAX is
# there with the value in force.
run_with 'MPCALLOC_PRINT_CONFIG=1'
if [ "$lines" -lt 1 ]; then
	bad "MPCALLOC_PRINT_CONFIG=1 printed nothing"
fi
if grep -v -E '^mpcalloc: MPCALLOC_[A-Z0-9_]+=[^ ]*  \(.+\)$' "$tmp/err" >"$tmp/odd"; then
	bad "MPCALLOC_PRINT_CONFIG=1: lines not of the form 'mpcalloc: MPCALLOC_<NAME>=<value>  (...)':"
	sed 's/^/    | /' "$tmp/odd" >&2
fi
for name in KEEP_MAX KEEP_MEM RETAIN_MAX ON_ERROR PRINT_CONFIG NUMA_INTERLEAVE_MIN NUMA_NODE; do
	grep -q "^mpcalloc: MPCALLOC_$name=" "$tmp/err" || bad "MPCALLOC_PRINT_CONFIG=1 does not show MPCALLOC_$name"
done
grep -q '^mpcalloc: MPCALLOC_PRINT_CONFIG=1  (' "$tmp/err" ||
	bad "MPCALLOC_PRINT_CONFIG=1 does not show its own value 1"
echo "ok: MPCALLOC_PRINT_CONFIG=1 -> $lines lines"
rc=0
env MPCALLOC_PRINT_CONFIG=1 MPCALLOC_NUMA_INTERLEAVE_MIN=64M MPCALLOC_NUMA_NODE=0 LD_PRELOAD="$MPCA_TEST_LIB" \
	"$probe" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 0 ] || bad "MPCALLOC_PRINT_CONFIG=1 with NUMA policies: exit status $rc"
grep -q '^mpcalloc: MPCALLOC_NUMA_INTERLEAVE_MIN=64M  (' "$tmp/err" ||
	bad "MPCALLOC_PRINT_CONFIG=1 does not show MPCALLOC_NUMA_INTERLEAVE_MIN=64M: $(cat "$tmp/err")"
grep -q '^mpcalloc: MPCALLOC_NUMA_NODE=0  (' "$tmp/err" ||
	bad "MPCALLOC_PRINT_CONFIG=1 does not show MPCALLOC_NUMA_NODE=0: $(cat "$tmp/err")"

rc=0
env MPCALLOC_PRINT_CONFIG=1 MPCALLOC_KEEP_MAX=256M MPCALLOC_ON_ERROR=warn LD_PRELOAD="$MPCA_TEST_LIB" "$probe" \
	>"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 0 ] || bad "MPCALLOC_PRINT_CONFIG=1 with settings: exit status $rc"
grep -q '^mpcalloc: MPCALLOC_KEEP_MAX=256M  (' "$tmp/err" ||
	bad "MPCALLOC_PRINT_CONFIG=1 does not show MPCALLOC_KEEP_MAX=256M: $(cat "$tmp/err")"
grep -q '^mpcalloc: MPCALLOC_ON_ERROR=warn  (' "$tmp/err" ||
	bad "MPCALLOC_PRINT_CONFIG=1 does not show MPCALLOC_ON_ERROR=warn: $(cat "$tmp/err")"

# A bad value and the configuration print: one complaint, then the table
# showing the default kept.
rc=0
env MPCALLOC_PRINT_CONFIG=1 MPCALLOC_KEEP_MAX=12Q LD_PRELOAD="$MPCA_TEST_LIB" "$probe" >"$tmp/out" \
	2>"$tmp/err" || rc=$?
[ "$rc" -eq 0 ] || bad "MPCALLOC_KEEP_MAX=12Q with PRINT_CONFIG: exit status $rc"
[ "$(grep -c '12Q' "$tmp/err")" -eq 1 ] ||
	bad "MPCALLOC_KEEP_MAX=12Q with PRINT_CONFIG: expected one complaint: $(cat "$tmp/err")"
grep -q '^mpcalloc: MPCALLOC_KEEP_MAX=12Q  (' "$tmp/err" &&
	bad "MPCALLOC_KEEP_MAX=12Q was taken as the value in force"

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
echo "environment: all checks passed"
