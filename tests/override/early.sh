#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Allocation before main (a constructor) and from a library's own set-up
# (libnuma, when configure found it), under LD_PRELOAD: the program must
# print the same as without the preload.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

prog=$top_builddir/tests/override/early
[ -x "$prog" ] || fail "$prog not built"
check_mapped
"$prog" >"$tmp/plain.out" || fail "early failed without the preload"
preload "$prog" >"$tmp/preload.out" 2>"$tmp/preload.err" || fail "early failed under LD_PRELOAD: $(cat "$tmp/preload.err")"
[ -s "$tmp/preload.err" ] && fail "unexpected stderr under LD_PRELOAD: $(cat "$tmp/preload.err")"
cmp -s "$tmp/plain.out" "$tmp/preload.out" || fail "output differs: $(cat "$tmp/preload.out")"
cat "$tmp/preload.out"
exit 0
