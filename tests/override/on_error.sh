#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The reaction to invalid frees in a program running on the preloaded
# library (preload_probe): by default one line on stderr starting with
# "mpcalloc: free(0x" (or "mpcalloc: realloc(0x"), then abort (SIGABRT);
# with MPCALLOC_ON_ERROR=warn the same line, and the program goes on (and its
# allocator still works). The same for the C23 sized frees given a size or
# an alignment the block cannot have (glibc_names, "mpcalloc: free_sized(0x"),
# where warn leaves the block allocated with its content.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

probe=$top_builddir/tests/override/preload_probe
[ -x "$probe" ] || fail "$probe not built"
check_mapped
preload "$probe" maps >"$tmp/probe-maps" || fail "preload_probe maps failed"
grep -qx mapped "$tmp/probe-maps" || fail "libmpcalloc is not mapped in preload_probe under LD_PRELOAD"

# no core files from the expected aborts (dash and bash have ulimit -c)
# shellcheck disable=SC3045
ulimit -c 0 2>/dev/null || true

failures=0
bad() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# check MODE PREFIX WORD
check() {
	mode=$1
	prefix=$2
	word=$3
	before=$failures
	# default: abort
	# In a subshell: some shells (dash) write their own "Aborted" report to
	# the stderr of the command that died.
	rc=0
	(exec env LD_PRELOAD="$MPCA_TEST_LIB" "$probe" "$mode" >"$tmp/out" 2>"$tmp/err") 2>/dev/null || rc=$?
	# 134 = 128 + SIGABRT as the shell reports it
	[ "$rc" -eq 134 ] || bad "$mode: exit status $rc, expected 134 (SIGABRT); stderr: $(cat "$tmp/err")"
	[ ! -s "$tmp/out" ] || bad "$mode: the program went on after the invalid call: $(cat "$tmp/out")"
	lines=$(awk 'END { print NR }' "$tmp/err")
	[ "$lines" -eq 1 ] || bad "$mode: $lines lines on stderr, expected 1: $(cat "$tmp/err")"
	head -n 1 "$tmp/err" | grep -q "^mpcalloc: $prefix(0x[0-9a-f]*): " ||
		bad "$mode: stderr does not start with 'mpcalloc: $prefix(0x...): ': $(cat "$tmp/err")"
	grep -q "$word" "$tmp/err" || bad "$mode: stderr does not say '$word': $(cat "$tmp/err")"
	[ "$failures" -ne "$before" ] || echo "ok: $mode aborts: $(cat "$tmp/err")"
	before=$failures

	# MPCALLOC_ON_ERROR=warn: report and go on
	rc=0
	(exec env MPCALLOC_ON_ERROR=warn LD_PRELOAD="$MPCA_TEST_LIB" "$probe" "$mode" >"$tmp/out" 2>"$tmp/err") \
		2>/dev/null || rc=$?
	[ "$rc" -eq 0 ] || bad "$mode with MPCALLOC_ON_ERROR=warn: exit status $rc; stderr: $(cat "$tmp/err")"
	[ "$(cat "$tmp/out")" = continued ] || bad "$mode with MPCALLOC_ON_ERROR=warn: output '$(cat "$tmp/out")'"
	lines=$(awk 'END { print NR }' "$tmp/err")
	[ "$lines" -eq 1 ] || bad "$mode with warn: $lines lines on stderr, expected 1: $(cat "$tmp/err")"
	head -n 1 "$tmp/err" | grep -q "^mpcalloc: $prefix(0x[0-9a-f]*): " ||
		bad "$mode with warn: stderr does not start with 'mpcalloc: $prefix(0x...): ': $(cat "$tmp/err")"
	[ "$failures" -ne "$before" ] || echo "ok: $mode with MPCALLOC_ON_ERROR=warn goes on: $(cat "$tmp/err")"
}

# free-stack and realloc-stack make the process's very first call into the
# allocator (the probe has not allocated yet); the others allocate first.
check free-stack free invalid
check free-interior-small free invalid
check free-interior-huge free invalid
check double-free-small free 'double free'
check double-free-medium free 'double free'
check realloc-stack realloc invalid
# double frees across threads: caught at the second free, before the block
# can be handed out twice (in warn mode the probe checks that it was not)
check xthread-owner-first free 'double free'
check xthread-other-first free 'double free'
check xthread-after-exit free 'double free'
check xthread-twice free 'double free'
check xthread-medium free 'double free'

probe=$top_builddir/tests/override/glibc_names
[ -x "$probe" ] || fail "$probe not built"
check free-sized-big free_sized 'size 200000 does not match the block (usable size'
check free-sized-small free_sized 'size 1000 does not match'
check free-aligned-sized-alignment free_aligned_sized 'alignment 96 is not a power of two'
check free-aligned-sized-misaligned free_aligned_sized 'block is not aligned to'

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
echo "invalid frees: all checks passed"
