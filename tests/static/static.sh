#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The static archive lib/.libs/libmpcalloc.a:
#  - it defines, as global symbols, only the standard allocation names (the
#    list of tests/abi/exported-symbols.txt), the mpc_alloc_* API and the
#    library's internal mpca_* names: nothing that could clash with another
#    library linked into the same program;
#  - `cc -static static_prog.c -lmpcalloc -lpthread` links (no multiple
#    definition: glibc's malloc object is never pulled from libc.a, and
#    none of its internals such as _int_malloc or main_arena is in the
#    program), and the program runs on libmpcalloc (static_prog.c);
#  - the library's constructor runs there too (MPCALLOC_PRINT_CONFIG), and
#    its report at exit, also in a program that never calls the API.
# Exit 0 pass, 77 skip (no archive: --disable-static; no static C library),
# 1 fail.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

archive=$top_builddir/lib/.libs/libmpcalloc.a
[ -f "$archive" ] || skip "$archive not built (configure --disable-static)"
cc=${MPCA_TEST_CC:-cc}
need nm

# the archive's global symbols
nm -g --defined-only "$archive" | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u >"$tmp/globals"
[ -s "$tmp/globals" ] || fail "no global symbol read from $archive"
grep -v '^#' "$srcdir/tests/abi/exported-symbols.txt" | sed -e '/^$/d' -e 's/@.*//' | grep -v '^MPCALLOC_' |
	LC_ALL=C sort -u >"$tmp/exported"
if grep -v '^mpca_' "$tmp/globals" | LC_ALL=C comm -23 - "$tmp/exported" >"$tmp/extra" && [ -s "$tmp/extra" ]; then
	fail "$archive defines global names that are neither exported API nor mpca_*: $(tr '\n' ' ' <"$tmp/extra")"
fi
LC_ALL=C comm -13 "$tmp/globals" "$tmp/exported" >"$tmp/missing"
[ -s "$tmp/missing" ] && fail "$archive lacks exported names: $(tr '\n' ' ' <"$tmp/missing")"
echo "ok: $archive defines $(wc -l <"$tmp/exported") API names and $(grep -c '^mpca_' "$tmp/globals") mpca_* names"

printf 'int main(void) { return 0; }\n' >"$tmp/empty.c"
"$cc" -static -o "$tmp/empty" "$tmp/empty.c" 2>"$tmp/cc.err" ||
	skip "$cc -static cannot link a program (no static C library): $(head -3 "$tmp/cc.err")"

# The command line of the manual, with the build tree's directories.
if ! "$cc" -static -I"$srcdir/include" -o "$tmp/prog" "$srcdir/tests/static/static_prog.c" \
	-L"$top_builddir/lib/.libs" -lmpcalloc -lpthread 2>"$tmp/link.err"; then
	cat "$tmp/link.err" >&2
	fail "cc -static ... -lmpcalloc -lpthread does not link"
fi
[ -s "$tmp/link.err" ] && grep -i 'multiple definition' "$tmp/link.err" >&2 && fail "multiple definitions"
if readelf -l "$tmp/prog" 2>/dev/null | grep -q 'INTERP'; then
	fail "the program is not statically linked"
fi
nm "$tmp/prog" | awk '{ print $NF }' | grep -x -e _int_malloc -e main_arena -e tcache_init >"$tmp/glibc" &&
	fail "glibc's malloc is linked into the static program: $(tr '\n' ' ' <"$tmp/glibc")"
"$tmp/prog" >"$tmp/out" 2>"$tmp/err" || fail "static program failed: $(cat "$tmp/err")"
grep -qx 'static: ok' "$tmp/out" || fail "static program: $(cat "$tmp/out" "$tmp/err")"
[ -s "$tmp/err" ] && fail "static program wrote on stderr: $(cat "$tmp/err")"
echo "ok: cc -static ... -lmpcalloc -lpthread links, glibc's malloc is absent, the program runs on libmpcalloc"

env MPCALLOC_PRINT_CONFIG=1 MPCALLOC_STATS=text "$tmp/prog" >/dev/null 2>"$tmp/err" || fail "static program with MPCALLOC_PRINT_CONFIG=1 failed"
grep -q '^mpcalloc: MPCALLOC_PRINT_CONFIG=1  (' "$tmp/err" || fail "no configuration printed: $(cat "$tmp/err")"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/err" || fail "no report at exit: $(cat "$tmp/err")"
echo "ok: MPCALLOC_PRINT_CONFIG and MPCALLOC_STATS in the static program"

# A static program that calls no function of the API still gets the report
# at exit (its destructor must come with malloc, not with the API).
printf '#include <stdlib.h>\nint main(void) { free(malloc(100)); return 0; }\n' >"$tmp/plain.c"
"$cc" -static -o "$tmp/plain" "$tmp/plain.c" -L"$top_builddir/lib/.libs" -lmpcalloc -lpthread 2>"$tmp/link.err" ||
	fail "a plain program does not link statically: $(cat "$tmp/link.err")"
env MPCALLOC_STATS=text "$tmp/plain" >/dev/null 2>"$tmp/err" || fail "the plain static program failed"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/err" || fail "no report at exit without the API: $(cat "$tmp/err")"
echo "ok: MPCALLOC_STATS in a static program that never calls the API"
exit 0
