# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# A deterministic Python workload for tests/override/python.sh: builds and
# sorts large lists and dicts, round-trips JSON, grows strings and bytes,
# and runs a few threads; prints results and digests that must be the same
# whatever allocator the interpreter runs on.
import hashlib
import json
import threading


def lcg(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield x >> 33


def words(n, seed):
    g = lcg(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(n):
        k = 1 + next(g) % 12
        out.append("".join(letters[next(g) % 26] for _ in range(k)))
    return out


def digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def main():
    w = words(150000, 1)
    counts = {}
    for x in w:
        counts[x] = counts.get(x, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    print("distinct words:", len(counts))
    print("top:", top)

    ordered = sorted(w)
    print("sorted digest:", digest(ordered[::997]))
    by_len = sorted(set(w), key=lambda s: (len(s), s[::-1]))
    print("by length:", by_len[:5], by_len[-3:])

    g = lcg(7)
    records = [
        {"id": i, "name": w[i], "tags": [w[(i * 7 + j) % len(w)] for j in range(i % 5)],
         "score": (next(g) % 100000) / 7.0, "nested": {"a": [i] * (i % 4), "b": str(i)}}
        for i in range(40000)
    ]
    text = json.dumps(records, sort_keys=True)
    back = json.loads(text)
    assert back == records
    print("json bytes:", len(text), "digest:", hashlib.sha256(text.encode()).hexdigest()[:16])

    index = {}
    for r in records:
        for t in r["tags"]:
            index.setdefault(t, []).append(r["id"])
    print("index keys:", len(index), "longest:", max(len(v) for v in index.values()))

    big = []
    for i in range(2000):
        big.append(("%d:" % i) * (i % 300))
    s = "|".join(big)
    b = bytearray()
    for i in range(3000):
        b += bytes([i % 256]) * (i % 700)
    print("string:", len(s), hashlib.md5(s.encode()).hexdigest()[:12], "bytes:", len(b),
          hashlib.md5(bytes(b)).hexdigest()[:12])

    nums = [next(g) for _ in range(300000)]
    nums.sort()
    print("numbers:", nums[0], nums[len(nums) // 2], nums[-1], sum(nums) % 1000003)

    results = [None] * 4

    def work(k):
        local = {}
        for x in words(30000, 100 + k):
            local.setdefault(len(x), []).append(x)
        results[k] = digest({str(n): sorted(v)[:50] for n, v in local.items()})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("threads:", results)


main()
