#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The mpcalloc(1) launcher of the build tree: --help, --version, usage
# errors, and real programs run with the library preloaded, their exit
# status kept, the options turned into MPCALLOC_* variables, the statistics
# produced at exit. Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
need python3
checker=$srcdir/tests/stats/check_json.py
launcher=$top_builddir/tools/mpcalloc
[ -x "$launcher" ] || fail "$launcher not built (configure makes it)"

"$launcher" --help >"$tmp/help" || fail "--help failed"
grep -q -- '--stats' "$tmp/help" || fail "--help does not mention --stats"
"$launcher" --version >"$tmp/version" || fail "--version failed"
grep -Eq '^mpcalloc \(libmpcalloc\) [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/version" || fail "--version: $(cat "$tmp/version")"
set +e
"$launcher" --bogus -- true 2>"$tmp/err"
rc=$?
"$launcher" 2>>"$tmp/err"
rc2=$?
set -e
[ $rc -eq 2 ] || fail "an unknown option: exit status $rc, not 2"
[ $rc2 -eq 2 ] || fail "no program: exit status $rc2, not 2"
grep -q "unknown option '--bogus'" "$tmp/err" || fail "no message for an unknown option: $(cat "$tmp/err")"

# the library of the build tree is found without help, and is preloaded
"$launcher" cat /proc/self/maps >"$tmp/maps" || fail "launcher cat failed"
grep -q libmpcalloc "$tmp/maps" || fail "libmpcalloc not mapped in a program run by the launcher"
# and the same with an explicit library
"$launcher" --library="$MPCA_TEST_LIB" -- cat /proc/self/maps >"$tmp/maps" || fail "--library failed"
grep -q libmpcalloc "$tmp/maps" || fail "--library: libmpcalloc not mapped"

# exit status of the program
set +e
"$launcher" -- sh -c 'exit 7'
rc=$?
set -e
[ $rc -eq 7 ] || fail "exit status 7 came back as $rc"

# options become variables, which the program (and the library) sees
"$launcher" --keep-max=64M --retain-max=1G --purge-delay=30s --on-error=warn --numa-interleave-min=64M \
	--numa-node=1 -- env >"$tmp/env" || fail "launcher env failed"
grep -qx 'MPCALLOC_NUMA_INTERLEAVE_MIN=64M' "$tmp/env" || fail "--numa-interleave-min not passed"
grep -qx 'MPCALLOC_NUMA_NODE=1' "$tmp/env" || fail "--numa-node not passed"
grep -qx 'MPCALLOC_KEEP_MAX=64M' "$tmp/env" || fail "--keep-max not passed"
grep -qx 'MPCALLOC_RETAIN_MAX=1G' "$tmp/env" || fail "--retain-max not passed"
grep -qx 'MPCALLOC_PURGE_DELAY=30s' "$tmp/env" || fail "--purge-delay not passed"
grep -qx 'MPCALLOC_ON_ERROR=warn' "$tmp/env" || fail "--on-error not passed"
# (sort allocates and ends with exit(3); /bin/true may never allocate, and
# dash ends with _exit(2), so neither would print anything)
"$launcher" --print-config --keep-max=64M -- sort /dev/null 2>"$tmp/err" || fail "--print-config failed"
grep -q 'MPCALLOC_KEEP_MAX=64M' "$tmp/err" || fail "--print-config: $(cat "$tmp/err")"

# a real program with JSON statistics, to a file named after its pid
"$launcher" --stats=json --stats-file="$tmp/py.%p.json" -- env OUT="$tmp/pid" \
	python3 -c 'import os; open(os.environ["OUT"], "w").write(str(os.getpid())); x = [bytearray(5000) for _ in range(2000)]' \
	2>"$tmp/err" || fail "python3 under the launcher failed: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "python3 under the launcher printed on stderr: $(cat "$tmp/err")"
pid=$(cat "$tmp/pid")
[ -s "$tmp/py.$pid.json" ] || fail "no statistics file $tmp/py.$pid.json: $(ls "$tmp")"
python3 "$checker" "$tmp/py.$pid.json" || fail "statistics of python3 under the launcher"
# text statistics on stderr
"$launcher" --stats -- sort /dev/null 2>"$tmp/err" || fail "--stats failed"
grep -q '^mpcalloc .* statistics' "$tmp/err" || fail "--stats: no report on stderr: $(cat "$tmp/err")"
echo "PASS: launcher"
