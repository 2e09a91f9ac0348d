#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Compares the ABI of the built libmpcalloc.so with the committed baseline
# tests/abi/libmpcalloc.abi (abidw output, public types of include/ only)
# using libabigail's abidiff. Fails on an incompatible change (exit bit 8:
# a removed function or variable) and on a changed function or variable
# (exit bit 4 with something "Changed" or "Removed" in the summary); passes
# with a note when functions were only added. An intended change before a
# release: `make update-abi` rewrites the baseline.
# Exit 0 pass, 77 skip (no shared library, abigail-tools missing, library
# built without debug information), 1 fail.

set -u
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"

lib=$top_builddir/lib/.libs/libmpcalloc.so
baseline=$srcdir/tests/abi/libmpcalloc.abi

if [ ! -f "$lib" ]; then
	echo "SKIP: $lib not built (--disable-shared?)"
	exit 77
fi
if ! command -v abidiff >/dev/null 2>&1; then
	echo "SKIP: abidiff is not installed (Debian: abigail-tools)"
	exit 77
fi
if command -v "${OBJDUMP:-objdump}" >/dev/null 2>&1 &&
	! "${OBJDUMP:-objdump}" -h "$lib" | grep -q '[.]debug_info'; then
	echo "SKIP: $lib has no debug information (built without -g); abidiff needs it"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-abidiff.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# No --headers-dir2 here: the baseline carries no source locations (so that
# it does not depend on where it was built), and abidiff would then take its
# types for private ones and filter out every change to them. The baseline
# itself holds only the public types (abidw --headers-dir include).
rc=0
abidiff "$baseline" "$lib" >"$tmp/report" 2>&1 || rc=$?
cat "$tmp/report"

# Exit status of abidiff is a bit mask: 1 error, 2 usage error, 4 ABI
# change, 8 incompatible ABI change.
if [ $((rc & 3)) -ne 0 ]; then
	echo "FAIL: abidiff could not compare $baseline with $lib (exit $rc)" >&2
	exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
	echo "FAIL: incompatible ABI change against tests/abi/libmpcalloc.abi (abidiff exit $rc)" >&2
	echo "    If it is intended (before the first release only), run \`make update-abi' and commit." >&2
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	# "Functions changes summary: 0 Removed, 1 Changed (2 filtered out), 3 Added functions"
	if grep -Eq 'changes summary: ([1-9][0-9]* Removed|[0-9]+ Removed, [1-9][0-9]* Changed)' "$tmp/report"; then
		echo "FAIL: changed ABI against tests/abi/libmpcalloc.abi (abidiff exit $rc, report above)" >&2
		echo "    If it is intended (before the first release only), run \`make update-abi' and commit." >&2
		exit 1
	fi
	echo "PASS (compatible additions): update the baseline at the next release with \`make update-abi'"
	exit 0
fi
echo "PASS: ABI identical to tests/abi/libmpcalloc.abi"
exit 0
