#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# python3 under LD_PRELOAD=libmpcalloc: a workload of dicts, lists, JSON,
# sorting, strings and threads (workload.py) must print exactly what it
# prints on glibc's allocator, with Python's own small-object allocator and
# with PYTHONMALLOC=malloc (every object through malloc/free).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

need python3
PYTHON=$(command -v python3)
script=$srcdir/tests/override/workload.py

check_mapped "$PYTHON" -c 'import sys; sys.stdout.write(open("/proc/self/maps").read())'

PYTHONHASHSEED=0
export PYTHONHASHSEED
"$PYTHON" "$script" >"$tmp/ref" || fail "python3 workload failed without libmpcalloc"
for mode in pymalloc malloc; do
	preload env PYTHONMALLOC="$mode" "$PYTHON" "$script" >"$tmp/out.$mode" 2>"$tmp/err.$mode" ||
		{
			cat "$tmp/err.$mode" >&2
			fail "python3 (PYTHONMALLOC=$mode) failed under libmpcalloc"
		}
	clean_stderr "$tmp/err.$mode" "python3 (PYTHONMALLOC=$mode)"
	same "$tmp/ref" "$tmp/out.$mode" "python3 (PYTHONMALLOC=$mode)"
done
echo "python3: same output with libmpcalloc preloaded ($(wc -l <"$tmp/ref") lines)"
