#!/usr/bin/env python3
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Validates statistics printed as JSON by libmpcalloc (mpc_alloc_stats(3)):
# every document parses, has the documented keys, and is consistent (the
# per-node figures add up to the totals, class rows to their bytes). With
# --workload N S START DURING AFTER, also checks that N blocks of S bytes
# show: in use grows by at least N*S and comes back to the start value.
# Exit 0 pass, 1 fail (message on stderr).
import json
import sys

KEYS = ["library", "version", "pid", "host", "rank", "ranks", "rank_from", "job", "peak_rss",
        "minor_faults", "major_faults", "requested", "in_use", "peak_in_use", "thread_cached", "mapped",
        "peak_mapped", "cached", "retained", "retain_max", "mmap_calls", "munmap_calls",
        "mremap_calls", "madvise_calls", "remote_frees_sent", "remote_frees_received",
        "threads_live", "threads_abandoned", "threads_adopted", "heaps", "huge_allocs",
        "huge_frees", "realloc_moves", "realloc_copied", "nodes", "classes"]


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: not valid JSON: %s" % (path, e))
    for k in KEYS:
        if k not in doc:
            fail("%s: no key %r" % (path, k))
    if doc["library"] != "libmpcalloc":
        fail("%s: library is %r" % (path, doc["library"]))
    if not isinstance(doc["host"], str) or not doc["host"]:
        fail("%s: no host name" % path)
    if doc["rank"] is not None and (not isinstance(doc["rank"], int) or doc["rank"] < 0 or not doc["rank_from"]):
        fail("%s: rank %r (from %r)" % (path, doc["rank"], doc["rank_from"]))
    if doc["peak_rss"] < 4096 or doc["minor_faults"] < 1:
        fail("%s: peak RSS %d bytes, %d minor faults" % (path, doc["peak_rss"], doc["minor_faults"]))
    nodes = doc["nodes"]
    if not nodes or nodes[0]["node"] != -1:
        fail("%s: the first node entry is not the unbound source (-1)" % path)
    ids = [n["node"] for n in nodes]
    if len(set(ids)) != len(ids) or any(i < -2 for i in ids):
        fail("%s: node entries %r" % (path, ids))
    for k in ("mapped", "in_use", "cached"):
        total = sum(n[k] for n in nodes)
        if total != doc[k]:
            fail("%s: nodes' %s add up to %d, total says %d" % (path, k, total, doc[k]))
    for c in doc["classes"]:
        if c["bytes"] != c["count"] * c["size"]:
            fail("%s: class %d: bytes != count * size" % (path, c["class"]))
        if not 0 <= c["utilisation"] <= 1:
            fail("%s: class %d: utilisation %s" % (path, c["class"], c["utilisation"]))
    small = sum(c["bytes"] for c in doc["classes"])
    if small > doc["in_use"]:
        fail("%s: small blocks alone (%d) exceed in_use (%d)" % (path, small, doc["in_use"]))
    if doc["peak_in_use"] < doc["in_use"] or doc["peak_mapped"] < doc["mapped"]:
        fail("%s: a peak is below its current value" % path)
    if doc["heaps"] == 0:  # a process that never allocated
        if doc["threads_live"] or doc["in_use"]:
            fail("%s: no heap, yet live threads or blocks in use" % path)
    elif doc["threads_live"] < 1:
        fail("%s: no live thread" % path)
    return doc


def main(argv):
    if len(argv) >= 6 and argv[1] == "--workload":
        n, s = int(argv[2]), int(argv[3])
        start, during, after = (load(p) for p in argv[4:7])
        if during["in_use"] - start["in_use"] < n * s:
            fail("%d blocks of %d bytes: in use grew by %d only" % (n, s, during["in_use"] - start["in_use"]))
        if after["in_use"] != start["in_use"]:
            fail("%d blocks of %d bytes freed: in use %d, was %d at start" % (n, s, after["in_use"], start["in_use"]))
        return 0
    if len(argv) < 2:
        fail("usage: check_json.py [--workload N S START DURING AFTER | FILE...]")
    for p in argv[1:]:
        load(p)
    return 0


sys.exit(main(sys.argv))
