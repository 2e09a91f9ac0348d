#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The C compiler under LD_PRELOAD=libmpcalloc (driver, compiler proper,
# assembler and linker all inherit it): a generated C file of a few thousand
# functions is compiled at -O2 with and without the preload; the object files
# must be identical, and the linked programs must print the same result.
# Uses the compiler the package was configured with (MPCA_TEST_CC).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

: "${MPCA_TEST_CC:=cc}"
# shellcheck disable=SC2086 # the first word of CC is the program
set -- $MPCA_TEST_CC
need "$1"
CC=$MPCA_TEST_CC
check_mapped

awk 'BEGIN {
	n = 400
	print "#include <stdio.h>"
	print "#include <string.h>"
	print "static unsigned table[" n "];"
	for (i = 0; i < n; i++) {
		printf "unsigned f%d(unsigned x) {\n", i
		printf "  unsigned r = x * %du + %du;\n", 2 * i + 1, i * 7 + 3
		printf "  for (unsigned k = 0; k < %d; k++) r = (r << %d) ^ (r >> %d) ^ table[(k + %d) %% %d];\n", i % 9 + 1, i % 5 + 1, i % 7 + 2, i, n
		printf "  switch (r %% 5) { case 0: r += %d; break; case 1: r ^= %d; break; case 2: r *= 3; break; default: r -= x; }\n", i, i * 3
		printf "  return r;\n}\n"
	}
	print "typedef unsigned (*fn)(unsigned);"
	printf "static const fn fns[] = {"
	for (i = 0; i < n; i++)
		printf "%sf%d", (i ? ", " : ""), i
	print "};"
	print "int main(void) {"
	print "  for (unsigned i = 0; i < " n "; i++) table[i] = i * 2654435761u;"
	print "  unsigned s = 0;"
	print "  for (unsigned i = 0; i < sizeof fns / sizeof *fns; i++) s = fns[i](s + i);"
	print "  printf(\"checksum %u\\n\", s);"
	print "  return 0;"
	print "}"
}' >"$tmp/gen.c"

cd "$tmp" || exit 1
# shellcheck disable=SC2086 # CC may hold several words
$CC -O2 -c gen.c -o ref.o || fail "$CC failed without libmpcalloc"
# shellcheck disable=SC2086
preload $CC -O2 -c gen.c -o pre.o 2>err.c || {
	cat err.c >&2
	fail "$CC failed under libmpcalloc"
}
clean_stderr err.c "$CC -c"
cmp ref.o pre.o || fail "the object file differs when the compiler runs on libmpcalloc"

# shellcheck disable=SC2086
$CC -O2 gen.c -o ref || fail "$CC failed to link without libmpcalloc"
# shellcheck disable=SC2086
preload $CC -O2 gen.c -o pre 2>err.l || {
	cat err.l >&2
	fail "$CC failed to compile and link under libmpcalloc"
}
clean_stderr err.l "$CC (link)"
./ref >out.ref || fail "reference program failed"
./pre >out.pre || fail "program built under libmpcalloc failed"
same out.ref out.pre "the program compiled under libmpcalloc"
echo "$CC: identical object file and program output with libmpcalloc preloaded ($(cat out.ref))"
