#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Running valgrind's memcheck on a program that uses libmpcalloc, as
# mpcalloc(7) (DEBUGGING) tells: memcheck replaces libmpcalloc's malloc
# family with its own, for the library named by
# --soname-synonyms=somalloc=libmpcalloc.so* (preloaded or linked), and for
# the program itself with somalloc=NONE (libmpcalloc.a linked into a
# dynamically linked program). In each case the planted bugs of planted.c,
# a one-byte heap overflow and a leak of 4321 bytes, must be reported, and
# the program must run to its end with no invalid free (libmpcalloc's
# reallocarray, pvalloc and free_sized, which valgrind does not replace,
# use valgrind's realloc, memalign and free).
# Two cases are printed, not checked: preloaded without the option (recent
# valgrind replaces the first malloc the program finds anyway), and a fully
# static program (valgrind can replace no allocator there).
# Exit 0 pass, 77 skip (valgrind not installed), 1 fail.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

need valgrind
plain=$top_builddir/tests/override/planted
linked=$top_builddir/tests/override/planted_linked
[ -x "$plain" ] && [ -x "$linked" ] || fail "planted programs not built"
archive=$top_builddir/lib/.libs/libmpcalloc.a
cc=${MPCA_TEST_CC:-cc}

failures=0
bad() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# memcheck WHAT PROGRAM [VALGRIND OPTIONS]: the planted bugs are reported
# (valgrind exits 99) and the program ran to its end.
memcheck() {
	what=$1 prog=$2
	shift 2
	before=$failures
	rc=0
	valgrind --leak-check=full --error-exitcode=99 "$@" "$prog" >"$tmp/out" 2>"$tmp/vg" || rc=$?
	[ "$rc" -eq 99 ] || bad "$what: valgrind exit status $rc, expected 99 (errors found)"
	grep -qx 'planted: done' "$tmp/out" || bad "$what: the program did not run to its end"
	grep -q 'Invalid write of size 1' "$tmp/vg" || bad "$what: the heap overflow is not reported"
	grep -q '0 bytes after a block of size 24 alloc' "$tmp/vg" || bad "$what: the overflow is not tied to the 24-byte block"
	grep -q '4,321 bytes in 1 blocks are definitely lost' "$tmp/vg" || bad "$what: the leak of 4321 bytes is not reported"
	grep -q 'mpcalloc:' "$tmp/vg" && bad "$what: libmpcalloc complained"
	grep -q 'Invalid free' "$tmp/vg" && bad "$what: a block went to the wrong allocator"
	if [ "$failures" -ne "$before" ]; then
		sed 's/^/    | /' "$tmp/vg" >&2
	else
		echo "ok: $what: overflow and leak reported"
	fi
}

# reports PROGRAM [VALGRIND OPTIONS]: what memcheck saw, for the notes
reports() {
	valgrind --leak-check=full "$@" >/dev/null 2>"$tmp/vg" || true
	if grep -q '4,321 bytes in 1 blocks are definitely lost' "$tmp/vg"; then
		echo "the leak reported"
	else
		echo "no heap error reported ($(grep -o 'total heap usage: [0-9,]* allocs' "$tmp/vg"))"
	fi
}

LD_PRELOAD=$MPCA_TEST_LIB
export LD_PRELOAD
memcheck "LD_PRELOAD, --soname-synonyms=somalloc=libmpcalloc.so*" "$plain" --soname-synonyms='somalloc=libmpcalloc.so*'
echo "note: LD_PRELOAD without --soname-synonyms: $(reports "$plain")"
unset LD_PRELOAD
memcheck "-lmpcalloc, --soname-synonyms=somalloc=libmpcalloc.so*" "$linked" --soname-synonyms='somalloc=libmpcalloc.so*'

if [ -f "$archive" ] && "$cc" -o "$tmp/planted_archive" "$srcdir/tests/override/planted.c" "$archive" -lpthread \
	2>"$tmp/cc.err"; then
	memcheck "libmpcalloc.a in the program, --soname-synonyms=somalloc=NONE" "$tmp/planted_archive" \
		--soname-synonyms=somalloc=NONE
	if "$cc" -static -o "$tmp/planted_static" "$srcdir/tests/override/planted.c" "$archive" -lpthread 2>"$tmp/cc.err"; then
		echo "note: cc -static, --soname-synonyms=somalloc=NONE: $(reports --soname-synonyms=somalloc=NONE "$tmp/planted_static")"
	fi
else
	echo "NOTE: no libmpcalloc.a (configure --disable-static): the archive case is not checked"
fi

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
exit 0
