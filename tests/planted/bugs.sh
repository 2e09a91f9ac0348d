#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The planted heap bugs of tests/planted/bugs.c under the library just
# built: each one must end as this build promises (MPCA_TEST_BUILD, set by
# the test harness: default or hardened), and what the library catches
# must be reported in one line starting "mpcalloc: ", then SIGABRT.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh
. "$srcdir/tests/override/common.sh"

bugs=$top_builddir/tests/planted/bugs
[ -x "$bugs" ] || fail "$bugs not built"
check_mapped
build=${MPCA_TEST_BUILD:-default}
preload "$bugs" --expect "$build" >"$tmp/out" 2>&1 || {
	cat "$tmp/out"
	fail "planted bugs: not what the $build build promises"
}
cat "$tmp/out"
