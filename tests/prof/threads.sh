#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The heap profiler with threads and processes (tests/prof/prof_threads,
# libmpcalloc preloaded, MPCALLOC_PROF=1, one sample every 16 KiB (4 KiB for
# fork), seeded):
#  - threads that exit with blocks still allocated (their heaps adopted by
#    later threads): the live profile the main thread dumps holds their
#    blocks, within 10 %;
#  - 20 profiles dumped while three threads allocate and free (also each
#    other's blocks, small to huge): each one whole and consistent (the
#    header's totals are the sum of its stacks);
#  - fork: the child writes its own profiles at exit, with what it
#    inherited and what it allocated, the parent its own;
#  - the stress tests of threads (cross-thread frees and reallocs of
#    sampled blocks, content checked) and of fork, with profiling on.
# About 30 s on 2 cores. Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
need python3
prog=$top_builddir/tests/prof/prof_threads
report="$top_builddir/tools/mpcalloc report --prof"
[ -x "$prog" ] || fail "$prog not built"

prof() {
	env MPCALLOC_PROF=1 MPCALLOC_PROF_SAMPLE=16K MPCALLOC_PROF_SEED=3 MPCALLOC_PROF_FILE="$tmp/%p" \
		LD_PRELOAD="$MPCA_TEST_LIB" "$@"
}

# site NAME REPORT.json: the estimated bytes of the site NAME
site() {
	python3 -c 'import json, sys
print(sum(s["bytes"] for s in json.load(open(sys.argv[2]))["sites"] if s["site"].split(" ")[0] == sys.argv[1]))' "$1" "$2"
}

# within EST TRUE WHAT: EST within 10 % of TRUE
within() {
	python3 -c 'import sys
e, t = int(sys.argv[1]), int(sys.argv[2])
print("%s: %d estimated, %d true, %+.1f%%" % (sys.argv[3], e, t, 100.0 * (e / t - 1)))
sys.exit(0 if abs(e / t - 1) <= 0.10 else 1)' "$1" "$2" "$3"
}

# 1. threads that exit
prof "$prog" exit "$tmp/exit.heap" >"$tmp/truth" 2>"$tmp/err" || fail "prof_threads exit failed: $(cat "$tmp/err")"
clean_stderr "$tmp/err" "prof_threads exit"
$report --json "$tmp/exit.heap" >"$tmp/exit.json" || fail "mpcalloc report --prof failed"
within "$(site site_thread "$tmp/exit.json")" "$(awk '{ print $4 }' "$tmp/truth")" "blocks of exited threads" ||
	fail "the blocks left by exited threads are off by more than 10 %"

# 2. dumps while other threads allocate
mkdir "$tmp/dumps"
prof "$prog" dump "$tmp/dumps" 2>"$tmp/err" || fail "prof_threads dump failed: $(cat "$tmp/err")"
clean_stderr "$tmp/err" "prof_threads dump"
python3 - "$tmp/dumps" <<'EOF_PY' || fail "a profile dumped while threads allocate is not whole (above)"
import os, re, sys
d = sys.argv[1]
files = sorted(os.listdir(d))
assert len(files) == 20, files
head = re.compile(r"^heap profile: (\d+): (\d+) \[ *(\d+): (\d+)\] @ heapprofile$")
entry = re.compile(r"^(\d+): (\d+) \[(\d+): (\d+)\] @( 0x[0-9a-f]+)+$")
workers = 0
for f in files:
    lines = open(os.path.join(d, f)).read().split("\n")
    h = head.match(lines[0])
    assert h, (f, lines[0])
    sums = [0, 0, 0, 0]
    i = 1
    while not lines[i].startswith("MAPPED_LIBRARIES:"):
        ln = lines[i]
        i += 1
        if ln.startswith("#") or ln == "":
            continue
        m = entry.match(ln)
        assert m, (f, ln)
        for k in range(4):
            sums[k] += int(m.group(k + 1))
    assert sums == [int(h.group(k + 1)) for k in range(4)], (f, sums, lines[0])
    assert any(" r-xp " in ln for ln in lines[i:]), (f, "no maps")
    workers += sums[1] > 0
assert workers >= 15, workers
print("%d dumps whole, their totals the sums of their stacks" % len(files))
EOF_PY
$report --json "$tmp/dumps/dump-20.heap" >"$tmp/dump.json" || fail "mpcalloc report --prof on a dump failed"
[ "$(site site_worker "$tmp/dump.json")" -gt 0 ] || fail "site_worker is not in the last dump"

# 3. fork
mkdir "$tmp/fork"
env MPCALLOC_PROF=1 MPCALLOC_PROF_SAMPLE=4K MPCALLOC_PROF_SEED=3 MPCALLOC_PROF_FILE="$tmp/fork/%p" \
	LD_PRELOAD="$MPCA_TEST_LIB" "$prog" fork >"$tmp/truth" 2>"$tmp/err" || fail "prof_threads fork failed: $(cat "$tmp/err")"
clean_stderr "$tmp/err" "prof_threads fork"
n=$(ls "$tmp"/fork/*.peak.heap | wc -l)
[ "$n" -eq 2 ] || fail "not two peak profiles (parent, child): $(ls "$tmp/fork")"
parent_truth=$(awk '$2 == "site_parent" { print $4 }' "$tmp/truth")
child_truth=$(awk '$2 == "site_child" { print $4 }' "$tmp/truth")
for f in "$tmp"/fork/*.peak.heap; do
	$report --json "$f" >"$tmp/f.json" || fail "mpcalloc report --prof $f failed"
	p=$(site site_parent "$tmp/f.json")
	c=$(site site_child "$tmp/f.json")
	within "$p" "$parent_truth" "site_parent at the peak of $(basename "$f")" || fail "site_parent is off"
	if [ "$c" -gt 0 ]; then
		within "$c" "$child_truth" "site_child at the child's peak" || fail "site_child is off"
		child=${f%.peak.heap}
	fi
done
[ -n "${child:-}" ] || fail "no profile of the child holds site_child"
$report --json "$child.exit.heap" >"$tmp/f.json" || fail "mpcalloc report --prof on the child's exit profile failed"
[ "$(site site_parent "$tmp/f.json")" -eq 0 ] || fail "the child freed the parent's blocks, its exit profile still has them"
within "$(site site_child "$tmp/f.json")" "$child_truth" "site_child left at the child's exit" || fail "site_child is off"

# 4. the stress tests, profiling on (they link the library)
for t in stress_threads stress_fork; do
	env MPCALLOC_PROF=1 MPCALLOC_PROF_SAMPLE=4K MPCALLOC_PROF_FILE="$tmp/stress-%p" \
		"$top_builddir/tests/stress/$t" >"$tmp/$t.out" 2>&1 || {
		cat "$tmp/$t.out"
		fail "$t failed with profiling on"
	}
	clean_stderr "$tmp/$t.out" "$t with profiling on"
done
ls "$tmp"/stress-*.peak.heap >/dev/null || fail "the stress tests wrote no profile"
echo "PASS: heap profiles with threads that exit, dumps while threads allocate, fork, the stress tests"
