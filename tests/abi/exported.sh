#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Checks the exported symbols of the built libmpcalloc.so ("name@version"
# from objdump -T, see list-exports.sh) against the committed list
# tests/abi/exported-symbols.txt, then the naming rules that list must obey:
#   - our own functions are mpc_alloc_* and sit in an MPCALLOC_x.y node;
#   - everything exported unversioned (Base) is a name glibc's libc also
#     exports (malloc, free, ...), or one of the C++ runtime's operator new
#     and delete (_Znwm, _ZdlPv, ...): an interposition, never a new name; or
#     one of the few standard names this glibc may not have yet (see
#     not_in_libc below);
#   - version nodes are named MPCALLOC_x.y.
# An intended change of the API: `make update-abi` rewrites the list.
# Exit 0 pass, 77 skip (no shared library, no objdump), 1 fail.

set -u
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"

lib=$top_builddir/lib/.libs/libmpcalloc.so
expected=$srcdir/tests/abi/exported-symbols.txt
list=$srcdir/tests/abi/list-exports.sh

if [ ! -f "$lib" ]; then
	echo "SKIP: $lib not built (--disable-shared?)"
	exit 77
fi
if ! command -v "${OBJDUMP:-objdump}" >/dev/null 2>&1; then
	echo "SKIP: ${OBJDUMP:-objdump} (binutils) is not installed"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-abi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

sh "$list" "$lib" >"$tmp/actual" || exit 1
grep -v '^#' "$expected" | sed '/^$/d' >"$tmp/expected" || exit 1

# Built without a version script (configure --disable-symvers or a linker
# without one): compare the names only, and skip the rules on versions.
versioned=yes
if ! grep -q '^MPCALLOC_[0-9.]*@MPCALLOC_' "$tmp/actual"; then
	versioned=no
	echo "NOTE: $lib has no MPCALLOC_ version node; comparing names only"
	sed 's/@.*//' "$tmp/actual" | grep -v '^MPCALLOC_' | LC_ALL=C sort -u >"$tmp/a"
	sed 's/@.*//' "$tmp/expected" | grep -v '^MPCALLOC_' | LC_ALL=C sort -u >"$tmp/e"
	mv "$tmp/a" "$tmp/actual"
	mv "$tmp/e" "$tmp/expected"
fi

if ! diff -u "$tmp/expected" "$tmp/actual" >"$tmp/diff"; then
	fail "exported symbols differ from tests/abi/exported-symbols.txt (- committed, + built):"
	sed 's/^/    | /' "$tmp/diff" >&2
	echo "    If the change is intended, run \`make update-abi' and commit the files it rewrites." >&2
fi

# Standard names exported at Base although an older glibc lacks them: C23's
# sized frees (glibc 2.43) and glibc's internal name of posix_memalign
# (never exported by glibc; tcmalloc and mimalloc export it too).
not_in_libc='free_sized free_aligned_sized __posix_memalign'

# Names libc exports, for the Base rule (the libc this shell's awk uses).
libc=$(awk '$6 ~ /\/libc\.so/ { print $6; exit }' /proc/self/maps 2>/dev/null)
if [ -n "$libc" ] && [ -f "$libc" ]; then
	{
		sh "$list" "$libc" | sed 's/@.*//'
		# shellcheck disable=SC2086 # one name per word
		printf '%s\n' $not_in_libc
	} | LC_ALL=C sort -u >"$tmp/libc"
else
	echo "NOTE: glibc's libc.so not found; Base names not checked against it"
	: >"$tmp/libc"
fi

if [ "$versioned" = yes ]; then
	cp "$tmp/actual" "$tmp/actual.rules"
else
	: >"$tmp/actual.rules"
fi
while IFS=@ read -r name version; do
	case $name@$version in
	MPCALLOC_*@"$name") ;; # a version node
	mpc_alloc_*@MPCALLOC_[0-9]*) ;;
	mpc_alloc_*@*)
		fail "$name is exported at $version: list it in a MPCALLOC_x.y node of lib/libmpcalloc.map" ;;
	_Znwm*@Base | _Znam*@Base | _ZdlPv*@Base | _ZdaPv*@Base) ;; # C++ operators new/delete (lib/cxx.c)
	*@Base)
		if [ -s "$tmp/libc" ] && ! grep -qx "$name" "$tmp/libc"; then
			fail "$name is exported unversioned but is not a libc function it could replace (internal symbol leaked? new API without the mpc_alloc_ prefix?)"
		fi ;;
	*)
		fail "$name@$version: only mpc_alloc_* may be versioned; standard names must stay at Base (PACKAGING §0.1)" ;;
	esac
done <"$tmp/actual.rules"

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "PASS: $(wc -l <"$tmp/actual") exported symbols match tests/abi/exported-symbols.txt"
exit 0
