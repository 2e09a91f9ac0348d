#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Checks that no symbol libmpcalloc.so exports is also defined by GNU MPC's
# libmpc (libmpc3, installed with GCC), which owns the mpc_ prefix: a program
# that uses both (or GCC itself, run under LD_PRELOAD) must not get our
# function for one of theirs. Our public names start with mpc_alloc_.
# Exit 0 pass, 77 skip (no shared library, no objdump, no libmpc), 1 fail.

set -u
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"

lib=$top_builddir/lib/.libs/libmpcalloc.so
list=$srcdir/tests/abi/list-exports.sh

if [ ! -f "$lib" ]; then
	echo "SKIP: $lib not built (--disable-shared?)"
	exit 77
fi
if ! command -v "${OBJDUMP:-objdump}" >/dev/null 2>&1; then
	echo "SKIP: ${OBJDUMP:-objdump} (binutils) is not installed"
	exit 77
fi

# Where is libmpc.so.3? The loader's cache, the compiler's search path, then
# the usual directories.
libmpc=
for cand in \
	"$(/sbin/ldconfig -p 2>/dev/null | awk '$1 == "libmpc.so.3" { print $NF; exit }')" \
	"$(${MPCA_TEST_CC:-cc} -print-file-name=libmpc.so.3 2>/dev/null)" \
	/usr/lib/*/libmpc.so.3 /usr/lib64/libmpc.so.3 /usr/lib/libmpc.so.3 \
	/usr/local/lib/libmpc.so.3; do
	if [ -n "$cand" ] && [ -f "$cand" ]; then
		libmpc=$cand
		break
	fi
done
if [ -z "$libmpc" ]; then
	echo "SKIP: GNU MPC's libmpc.so.3 is not installed (Debian: libmpc3)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-mpc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

sh "$list" "$lib" | sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/ours" || exit 1
sh "$list" "$libmpc" | sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/theirs" || exit 1
if [ ! -s "$tmp/theirs" ] || ! grep -q '^mpc_' "$tmp/theirs"; then
	echo "FAIL: no mpc_* symbol read from $libmpc" >&2
	exit 1
fi

LC_ALL=C comm -12 "$tmp/ours" "$tmp/theirs" >"$tmp/both"
if [ -s "$tmp/both" ]; then
	echo "FAIL: libmpcalloc.so exports names that GNU MPC ($libmpc) defines:" >&2
	sed 's/^/    /' "$tmp/both" >&2
	exit 1
fi
echo "PASS: none of $(wc -l <"$tmp/ours") exported names is among the $(wc -l <"$tmp/theirs") that $libmpc defines"
exit 0
