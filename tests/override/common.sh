# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Sourced by the tests/override scripts. Finds the preloadable library
# (MPCA_TEST_LIB, exported by the test harness), makes a scratch directory
# removed on exit, and runs programs with or without libmpcalloc preloaded.
# LD_PRELOAD is set only on the command line of the program under test,
# never exported to the script itself.
# shellcheck shell=sh

set -eu

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

: "${top_builddir:=.}"
: "${MPCA_TEST_LIB:=$top_builddir/lib/.libs/libmpcalloc.so}"
[ -f "$MPCA_TEST_LIB" ] || fail "preloadable library not found: $MPCA_TEST_LIB"
case $MPCA_TEST_LIB in
/*) ;;
*) MPCA_TEST_LIB=$(cd "$(dirname "$MPCA_TEST_LIB")" && pwd)/$(basename "$MPCA_TEST_LIB") ;;
esac
# No MPCALLOC_* setting from the caller's environment may change the runs.
for v in $(env | sed -n 's/^\(MPCALLOC_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-test.XXXXXX") || fail "mktemp -d failed"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# preload PROGRAM ARGS...: run PROGRAM with libmpcalloc preloaded.
preload() {
	env LD_PRELOAD="$MPCA_TEST_LIB" "$@"
}

# need PROGRAM: skip the test when PROGRAM is not installed.
need() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

# check_mapped [PROGRAM ARGS...]: the preloaded library is really mapped in
# a process started like the ones under test (default: cat /proc/self/maps).
check_mapped() {
	if [ $# -eq 0 ]; then
		set -- cat /proc/self/maps
	fi
	preload "$@" >"$tmp/maps" 2>"$tmp/maps.err" || fail "$* failed under LD_PRELOAD: $(cat "$tmp/maps.err")"
	grep -q '/libmpcalloc\.so' "$tmp/maps" || fail "libmpcalloc is not mapped in '$*' under LD_PRELOAD"
}

# clean_stderr FILE WHAT: the run printed no allocator report and the
# dynamic loader did not refuse the preload.
clean_stderr() {
	if grep -e 'mpcalloc:' -e 'cannot be preloaded' "$1" >&2; then
		fail "$2: unexpected messages on stderr (above)"
	fi
}

# same FILE1 FILE2 WHAT: the outputs are identical.
same() {
	if ! cmp -s "$1" "$2"; then
		diff -u "$1" "$2" | head -40 >&2 || true
		fail "$3: output differs with libmpcalloc preloaded"
	fi
}
