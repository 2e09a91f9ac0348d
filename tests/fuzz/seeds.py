#!/usr/bin/env python3
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Writes the hand-made seed inputs of fuzz_alloc.c into tests/fuzz/corpus
# (one per family of operations) and the regression inputs into
# tests/fuzz/regress, in the target's input format. Run it again after a
# change of that format (the operation list, the size or slot encoding):
# inputs kept in the old format would no longer mean what they meant.
# Usage: python3 tests/fuzz/seeds.py [DIR]   (DIR: tests/fuzz by default)
import os
import struct
import sys

# enum op of fuzz_alloc.c, in order
(MALLOC, CALLOC, ALIGNED, REALLOC, FREE, USABLE, TRIM, RFREE, RREALLOC, RALLOC, TEXIT, INJECT, CHECK,
 QUIESCE, BULK_MALLOC, BULK_FREE) = range(16)
# size kinds of pick_size
TINY, SMALL, MEDIUM, HUGE, EDGE, ABSURD = range(6)


def size(kind, v):
    return bytes([kind]) + struct.pack('<I', v)


def op(o, slot, *args):
    return bytes([o]) + struct.pack('<H', slot) + b''.join(args)


def count(n):  # bulk operations: 1 to 2048 blocks
    return struct.pack('<H', n - 1)


def helper(i):  # one of the six helper threads
    return bytes([i])


def seeds():
    s = {}
    s['small_to_medium'] = (b''.join(op(MALLOC, i, size(SMALL, 17 * i + 3)) for i in range(8)) +
                            b''.join(op(REALLOC, i, size(MEDIUM, 1000 * i + 5)) for i in range(8)) +
                            b''.join(op(USABLE, i) + op(FREE, i) for i in range(8)))
    s['medium_resize'] = (op(MALLOC, 0, size(MEDIUM, 70000)) + op(MALLOC, 1, size(MEDIUM, 300)) +
                          op(REALLOC, 0, size(MEDIUM, 200000)) + op(FREE, 1) +
                          op(REALLOC, 0, size(MEDIUM, 500000)) + op(REALLOC, 0, size(MEDIUM, 1000)) +
                          op(USABLE, 0) + op(FREE, 0))
    s['huge_cache_mremap'] = (op(MALLOC, 0, size(HUGE, 3 << 20)) + op(REALLOC, 0, size(HUGE, 7 << 20)) +
                              op(REALLOC, 0, size(HUGE, 1 << 20)) + op(FREE, 0) +
                              op(MALLOC, 1, size(HUGE, 2 << 20)) + op(MALLOC, 2, size(HUGE, 6 << 20)) +
                              op(FREE, 1) + op(TRIM, 0, b'\x00') + op(MALLOC, 3, size(HUGE, 5 << 20)) +
                              op(REALLOC, 3, size(SMALL, 100)) + op(FREE, 2) + op(FREE, 3))
    s['aligned'] = (b''.join(op(ALIGNED, i, bytes([e]), size(i % 4, 5000 * i + 1))
                             for i, e in enumerate([0, 3, 4, 5, 6, 8, 12, 16, 21, 22, 25, 199, 230, 250])) +
                    op(CHECK, 0) + b''.join(op(FREE, i) for i in range(14)))
    s['calloc'] = (b''.join(op(CALLOC, i, size(i % 4, i * 12345 + 7)) for i in range(8)) + op(CHECK, 0) +
                   b''.join(op(FREE, i) + op(CALLOC, i, size(i % 4, i * 777 + 1)) for i in range(8)))
    s['remote'] = (op(MALLOC, 0, size(SMALL, 100)) + op(MALLOC, 1, size(MEDIUM, 5000)) +
                   op(MALLOC, 2, size(HUGE, 100000)) + op(RFREE, 0, helper(0)) +
                   op(RREALLOC, 1, helper(1), size(MEDIUM, 90000)) + op(RALLOC, 3, helper(2), size(SMALL, 40)) +
                   op(TEXIT, 0, helper(2)) + op(FREE, 3) + op(RREALLOC, 2, helper(3), size(SMALL, 8)) +
                   op(FREE, 1) + op(FREE, 2) + op(RALLOC, 4, helper(2), size(MEDIUM, 3000)) + op(FREE, 4))
    # small blocks of six threads' heaps, all freed by this one: its cache
    # flushes send them to many owners at once
    s['many_owners'] = (b''.join(op(RALLOC, 8 * t + i, helper(t), size(SMALL, 40)) for t in range(6) for i in range(8)) +
                        op(BULK_FREE, 0, count(48), b'\x00') +
                        b''.join(op(TEXIT, 0, helper(t)) for t in range(0, 6, 2)) + op(QUIESCE, 0))
    s['inject'] = (op(INJECT, 0, b'\x01', b'\x00') +
                   b''.join(op(MALLOC, i, size(i % 4, i * 99991)) for i in range(10)) +
                   op(INJECT, 0, b'\x00', b'\x00') + op(QUIESCE, 0) + op(INJECT, 0, b'\x05', b'\xff') +
                   op(MALLOC, 0, size(HUGE, 4 << 20)) + op(REALLOC, 0, size(HUGE, 9 << 20)) +
                   op(RALLOC, 1, helper(4), size(SMALL, 10)) + op(TRIM, 0, b'\x00') + op(QUIESCE, 0))
    # huge blocks resized while system calls fail: a shrink whose mremap
    # fails keeps the larger mapping; a growth whose mremap in place fails
    # (call 1) and whose move fails too (call 3 of every 3rd) stays put
    s['huge_resize_failures'] = (op(MALLOC, 0, size(HUGE, 7 << 20)) + op(INJECT, 0, b'\x10', b'\x00') +
                                 op(REALLOC, 0, size(HUGE, 2 << 20)) + op(INJECT, 0, b'\x00', b'\x00') +
                                 op(USABLE, 0) + op(MALLOC, 1, size(HUGE, 3 << 20)) +
                                 op(INJECT, 0, b'\x10', b'\x85') + op(REALLOC, 1, size(HUGE, 6 << 20)) +
                                 op(INJECT, 0, b'\x00', b'\x00') + op(REALLOC, 1, size(HUGE, 7 << 20)) +
                                 op(CHECK, 0) + op(QUIESCE, 0))
    s['quiesce'] = (b''.join(op(MALLOC, i, size(i % 4, i * 31337)) for i in range(16)) + op(RFREE, 3, helper(5)) +
                    op(QUIESCE, 0) + op(MALLOC, 0, size(SMALL, 8)) + op(QUIESCE, 0))
    s['absurd'] = (b''.join(op(MALLOC, i, size(ABSURD, i)) for i in range(7)) +
                   b''.join(op(ALIGNED, 8 + i, bytes([255 - i]), size(SMALL, i)) for i in range(4)) +
                   op(MALLOC, 0, size(SMALL, 3)) + op(REALLOC, 0, size(ABSURD, 2)) + op(USABLE, 0))
    s['edges'] = b''.join(op(MALLOC, 10 * i + j, size(EDGE, i * 7 + (d << 8)))
                          for i in range(7) for j, d in enumerate((0, 63, 64, 65, 128)))
    # whole runs of one class, half freed by other threads, then again;
    # then 2048 blocks of 1 KiB: a macro block of small runs fills up
    s['bulk'] = (op(BULK_MALLOC, 0, count(256), size(SMALL, 191)) +
                 op(BULK_MALLOC, 256, count(256), size(SMALL, 24)) + op(BULK_FREE, 0, count(256), b'\x55') +
                 op(BULK_MALLOC, 600, count(64), size(MEDIUM, 40000)) +
                 op(BULK_MALLOC, 0, count(256), size(SMALL, 180)) + op(CHECK, 0) + op(QUIESCE, 0) +
                 op(BULK_MALLOC, 0, count(2048), size(SMALL, 1024)) + op(BULK_FREE, 0, count(2048), b'\x11') +
                 op(QUIESCE, 0))
    return s


def regressions():
    r = {}
    # The second thread's first allocation under injected failures: its heap
    # cannot be made, and realloc(NULL, 0) returns NULL with ENOMEM (the
    # model first refused that; found by the fuzzer in its first minute).
    r['realloc-null-under-injection'] = op(INJECT, 0, b'\x60', b'\x60') + op(RREALLOC, 0, helper(0), size(TINY, 0))
    return r


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for sub, files in (('corpus', seeds()), ('regress', regressions())):
        os.makedirs(os.path.join(top, sub), exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(top, sub, name), 'wb') as f:
                f.write(data)


if __name__ == '__main__':
    main()
