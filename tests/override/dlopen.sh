#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# libmpcalloc loaded with dlopen() instead of preloaded or linked:
#  - dlopen.c: use through dlsym from several threads, dlclose, then the
#    threads exit, the process forks and exits, with no crash (the library
#    is linked with -z nodelete, so dlclose never unmaps it); also with
#    MPCALLOC_STATS=text, whose report is printed at exit;
#  - Python's ctypes (when python3 is installed): CDLL, malloc, free,
#    malloc_usable_size, the statistics API, from several threads.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

prog=$top_builddir/tests/override/dlopen
[ -x "$prog" ] || fail "$prog not built"
if command -v readelf >/dev/null 2>&1; then
	readelf -d "$MPCA_TEST_LIB" | grep -q 'FLAGS_1.*NODELETE' || fail "$MPCA_TEST_LIB is not linked with -z nodelete"
fi

"$prog" "$MPCA_TEST_LIB" >"$tmp/out" 2>"$tmp/err" || fail "dlopen test failed: $(cat "$tmp/err")"
grep -qx 'dlopen: ok' "$tmp/out" || fail "dlopen test: $(cat "$tmp/out")"
[ -s "$tmp/err" ] && fail "dlopen test wrote on stderr: $(cat "$tmp/err")"
env MPCALLOC_STATS=text "$prog" "$MPCA_TEST_LIB" >"$tmp/out" 2>"$tmp/err" ||
	fail "dlopen test with MPCALLOC_STATS=text failed: $(cat "$tmp/err")"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/err" || fail "no report at exit after dlclose: $(cat "$tmp/err")"
grep -q 'threads .*heaps [1-9]' "$tmp/err" || fail "the report does not show the threads' heaps: $(cat "$tmp/err")"
echo "ok: dlopen, threads, dlclose, thread exit, fork, exit"

if ! command -v python3 >/dev/null 2>&1; then
	echo "NOTE: python3 not installed: ctypes not checked"
	exit 0
fi
python3 - "$MPCA_TEST_LIB" >"$tmp/py.out" 2>"$tmp/py.err" <<'EOF2' || fail "ctypes: $(cat "$tmp/py.err")"
import ctypes
import sys
import threading

lib = ctypes.CDLL(sys.argv[1])
lib.malloc.restype = ctypes.c_void_p
lib.malloc.argtypes = [ctypes.c_size_t]
lib.free.argtypes = [ctypes.c_void_p]
lib.malloc_usable_size.restype = ctypes.c_size_t
lib.malloc_usable_size.argtypes = [ctypes.c_void_p]
lib.mpc_alloc_version.restype = ctypes.c_char_p
lib.mpc_alloc_stats_get.argtypes = [ctypes.c_void_p]

def in_use():
    st = (ctypes.c_uint64 * 1024)()
    st[0] = ctypes.sizeof(st)  # the library fills what it knows of
    assert lib.mpc_alloc_stats_get(st) == 0
    return st[2]  # size, requested, in_use

before = in_use()
p = lib.malloc(1 << 20)
assert p and lib.malloc_usable_size(p) >= 1 << 20
ctypes.memset(p, 7, 1 << 20)
assert in_use() >= before + (1 << 20), (before, in_use())
lib.free(p)

def work():
    blocks = [lib.malloc(16 << (i % 14)) for i in range(2000)]
    assert all(blocks)
    for b in blocks:
        lib.free(b)

threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ctypes: ok", lib.mpc_alloc_version().decode())
EOF2
grep -q '^ctypes: ok [0-9]' "$tmp/py.out" || fail "ctypes: $(cat "$tmp/py.out" "$tmp/py.err")"
[ -s "$tmp/py.err" ] && fail "ctypes: stderr: $(cat "$tmp/py.err")"
echo "ok: $(cat "$tmp/py.out")"
exit 0
