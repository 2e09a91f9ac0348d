# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Workload "python": a real program under LD_PRELOAD. The runner starts the
# system python3 with PYTHONMALLOC=malloc (so every object goes through the
# preloaded malloc instead of CPython's own small-object arenas) on this
# script, which builds records (dicts, lists, strings), serialises them to
# JSON and back, sorts, indexes and slices them: the allocation pattern of a
# typical scripting workload. It checks that the JSON round trip gives the
# same data, and prints one result line with a checksum that does not depend
# on the allocator.
"""Python allocation workload for the libmpcalloc benchmark suite."""

import json
import os
import sys
import time
import zlib


def check_provider():
    """Fail if the library named in BENCH_EXPECT_MALLOC is not mapped.

    The executable may be non-PIE (then the address of malloc seen from here
    is its own PLT entry), so this checks the mapping; the runner's probe
    with a C program checks which object really serves malloc."""
    expect = os.environ.get("BENCH_EXPECT_MALLOC", "")
    if "/" not in expect:
        return
    want = os.path.realpath(expect)
    with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and os.path.realpath(fields[5]) == want:
                return
    sys.stderr.write(f"bench: {expect} is not mapped in this process\n")
    sys.exit(3)


def make_records(n, seed):
    """n nested records, deterministic for a given seed."""
    state = seed
    out = []
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        r = state >> 33
        name = f"user-{r % 100000:05d}-{i}"
        out.append({
            "id": i,
            "name": name,
            "email": name.replace("-", ".") + "@example.org",
            "score": (r % 10007) / 7.0,
            "tags": [f"t{(r >> k) & 63}" for k in range(0, 30, 5)],
            "history": [[j, (r >> j) & 255] for j in range(r % 12)],
            "meta": {"group": f"g{r % 17}", "active": bool(r & 1),
                     "note": "x" * (r % 200)},
        })
    return out


def one_round(n, seed):
    recs = make_records(n, seed)
    text = json.dumps(recs, sort_keys=True)
    back = json.loads(text)
    if back != recs:
        sys.stderr.write("bench: verification failed: JSON round trip differs\n")
        sys.exit(2)
    by_group = {}
    for rec in back:
        by_group.setdefault(rec["meta"]["group"], []).append(rec)
    for group in by_group.values():
        group.sort(key=lambda rec: (rec["score"], rec["name"]))
    index = {rec["email"]: rec for rec in back}
    words = " ".join(rec["name"] for rec in back).split("-")
    joined = "|".join(sorted(set(words)))
    crc = zlib.crc32(text.encode())
    crc = zlib.crc32(joined.encode(), crc)
    crc = zlib.crc32(repr(sorted(len(g) for g in by_group.values())).encode(), crc)
    return crc ^ len(index)


def main():
    quick = "--quick" in sys.argv[1:]
    rounds = 1 if quick else 2
    n = 2000 if quick else 14000
    for arg in sys.argv[1:]:
        if arg.startswith("--rounds="):
            rounds = int(arg.split("=", 1)[1])
        elif arg.startswith("--records="):
            n = int(arg.split("=", 1)[1])
        elif arg not in ("--quick",):
            sys.stderr.write(f"usage: {sys.argv[0]} [--quick] [--rounds=N] [--records=N]\n")
            sys.exit(64)
    check_provider()
    t0 = time.monotonic()
    checksum = 0
    for r in range(rounds):
        checksum = (checksum * 31 + one_round(n, 42 + r)) & 0xFFFFFFFF
    secs = time.monotonic() - t0
    print(f"python rounds={rounds} records={n} checksum=0x{checksum:08x} secs={secs:.3f}")


if __name__ == "__main__":
    main()
