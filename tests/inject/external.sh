#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Failures from outside the allocator (see inject_external.c): the workload
# through the exported functions with a preloaded mmap/mremap/madvise that
# fails the n-th call for every n, every call from the n-th, every k-th
# call; then under RLIMIT_AS with 0 to 64 MiB of address space left. Each run must end with
# nothing leaked, no lock held and a clean second run. Exit 0 pass, 1 fail.
# shellcheck source=tests/override/common.sh
. "$srcdir/tests/override/common.sh"

prog=$top_builddir/tests/inject/inject_external
shim=$top_builddir/tests/inject/.libs/mmap_shim.so
[ -x "$prog" ] || fail "$prog not built"
[ -f "$shim" ] || fail "$shim not built"

failures=0
# run WHAT COMMAND...: one run, its last line shown, its output on failure.
run() {
	what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "$what: $(tail -n 1 "$tmp/out")"
		clean_stderr "$tmp/out" "$what"
	else
		echo "FAIL: $what (exit $?):" >&2
		sed 's/^/    | /' "$tmp/out" >&2
		failures=$((failures + 1))
	fi
}

if env LD_PRELOAD="$shim" "$prog" shim >"$tmp/out" 2>&1; then
	sed 's/^/mmap shim: /' "$tmp/out"
	clean_stderr "$tmp/out" "mmap shim"
else
	echo "FAIL: mmap shim (exit $?):" >&2
	sed 's/^/    | /' "$tmp/out" >&2
	failures=$((failures + 1))
fi
for mib in 0 1 2 4 8 16 32 64; do
	run "RLIMIT_AS + $mib MiB" "$prog" rlimit "$mib"
done
[ "$failures" -eq 0 ]
