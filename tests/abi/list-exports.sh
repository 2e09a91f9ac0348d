#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Prints the symbols a shared library defines in its dynamic symbol table,
# one "name@version" per line, sorted (C locale); unversioned symbols are
# "name@Base", a version node itself is "NODE@NODE". Used by
# tests/abi/exported.sh and by `make update-abi` (which writes
# tests/abi/exported-symbols.txt with it).
# Usage: list-exports.sh LIBRARY.so   (OBJDUMP overrides objdump)

set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 LIBRARY.so" >&2
	exit 2
fi
objdump=${OBJDUMP:-objdump}
out=$("$objdump" -T "$1") || {
	echo "$0: $objdump -T $1 failed" >&2
	exit 1
}
# objdump -T: "VALUE FLAGS SECTION<TAB>SIZE [VERSION] NAME"; the version is
# "(VER)" for a hidden (non-default) one and missing when the file has no
# version information at all.
printf '%s\n' "$out" | awk -F '\t' '
	NF < 2 { next }
	{
		n = split($1, head, " ")
		section = head[n]
		if (section == "*UND*") next
		m = split($2, rest, " ")
		if (m == 2) { version = "Base"; name = rest[2] }
		else if (m == 3) { version = rest[2]; name = rest[3] }
		else next
		gsub(/[()]/, "", version)
		print name "@" version
	}' | LC_ALL=C sort -u
