#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The library's layers (doc/DESIGN.md, "Which file is which layer"): the
# graph of `#include "mpca_<x>.h"` between the files of lib/ (a header
# stands for its .c file; mpca_common.h, mpca_types.h and mpca_list.h are
# the floor) must have no cycle (known upward edges may be listed below
# while they are being removed: there is none), so that a lower file never
# includes a higher header; and the statistics counting leaf
# (stats.c, mpca_stats.h) includes nothing but the floor.
# Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v python3 >/dev/null 2>&1 || {
	echo "SKIP: python3 is not installed"
	exit 77
}
exec python3 - "$srcdir/lib" <<'EOF_PY'
import glob, os, re, sys

lib = sys.argv[1]
FLOOR = {"common", "types", "list"}
# Known upward edges (file, the file whose header it includes): remove an
# entry once the call is gone.
KNOWN = []
LEAF = "stats"

include = re.compile(r'^\s*#\s*include\s+"mpca_(\w+)\.h"', re.M)
modules = {os.path.basename(p)[:-2] for p in glob.glob(os.path.join(lib, "*.c"))}


def deps(path):
    with open(path, encoding="utf-8") as f:
        return set(include.findall(f.read()))


graph = {m: set() for m in modules}
seen_known = set()
failures = 0
for m in sorted(modules):
    files = [os.path.join(lib, m + ".c")]
    header = os.path.join(lib, "mpca_" + m + ".h")
    if os.path.exists(header):
        files.append(header)
    for f in files:
        for d in deps(f):
            if d in FLOOR or d == m:
                continue
            if m == LEAF:
                print(f"FAIL: {os.path.basename(f)} includes mpca_{d}.h: the counting leaf may include only "
                      f"mpca_common.h, mpca_types.h, mpca_list.h")
                failures += 1
            if d in modules and (m, d) not in KNOWN:
                graph[m].add(d)
            elif (m, d) in KNOWN:
                seen_known.add((m, d))
            elif not os.path.exists(os.path.join(lib, f"mpca_{d}.h")):
                print(f"FAIL: {os.path.basename(f)} includes mpca_{d}.h, which does not exist")
                failures += 1

# strongly connected components (Tarjan)
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in sorted(graph[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        comps.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(graph):
    if v not in index:
        visit(v)
for comp in comps:
    if len(comp) < 2:
        continue
    edges = [f"{a}.c -> mpca_{b}.h" for a in comp for b in sorted(graph[a]) if b in comp]
    print(f"FAIL: the files {', '.join(c + '.c' for c in comp)} call each other (a lower file includes a "
          f"higher header): {'; '.join(edges)}")
    failures += 1
for a, b in KNOWN:
    if (a, b) in seen_known:
        print(f"known upward edge: {a}.c -> mpca_{b}.h")
    else:
        print(f"note: {a}.c no longer includes mpca_{b}.h: remove it from KNOWN in tests/layers/layers.sh")
if failures:
    sys.exit(1)
print(f"PASS: {len(modules)} files of lib/ in layers, no cycle once the known upward edges are set aside")
EOF_PY
