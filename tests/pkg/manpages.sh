#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Checks that `man 3 NAME` works for every function of the public API once
# installed: installs the build tree with `make install DESTDIR=<temp dir>`,
# then for every mpc_alloc_* function of lib/libmpcalloc.map (the exported
# API) and of include/mpcalloc.h (the two lists must agree), $(man3dir)/NAME.3
# must be a page or a link to one (MAN3_LINKS of man/local.mk), and lexgrog
# must find NAME in that page's NAME line (what whatis, apropos and
# lintian's bad-whatis-entry read). Also the overview mpcalloc(7) and
# mpcalloc(1) must be installed.
# Exit 0 pass, 77 skip (no lexgrog: man-db), 1 fail.

set -u
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
failures=0

map=$srcdir/lib/libmpcalloc.map
header=$srcdir/include/mpcalloc.h
# Names listed in a version node: "    mpc_alloc_x;"
map_names=$(sed -n 's/^[[:space:]]*\(mpc_alloc_[A-Za-z0-9_]*\)[[:space:]]*;.*/\1/p' "$map" | LC_ALL=C sort -u)
# Prototypes: a line that starts with a type and declares mpc_alloc_x(...)
# (comments start with "/" or "*" and are left out).
header_names=$(sed -n 's/^[A-Za-z_].*[ *]\(mpc_alloc_[A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' "$header" | LC_ALL=C sort -u)
[ -n "$map_names" ] || {
	echo "FAIL: no mpc_alloc_* name found in $map" >&2
	exit 1
}
if [ "$map_names" != "$header_names" ]; then
	echo "FAIL: the functions of $map and $header differ:" >&2
	printf '%s\n' "$map_names" >"${TMPDIR:-/tmp}/mpca-man-map.$$"
	printf '%s\n' "$header_names" | diff "${TMPDIR:-/tmp}/mpca-man-map.$$" - | sed 's/^/    | /' >&2
	rm -f "${TMPDIR:-/tmp}/mpca-man-map.$$"
	exit 1
fi

if ! command -v lexgrog >/dev/null 2>&1; then
	echo "SKIP: lexgrog (man-db) is not installed"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
dest=$tmp/dest

# The test runs inside `make check`: the parent's MAKEFLAGS (jobserver,
# command-line variables) must not leak into this make. install-data
# installs the pages (install-man) and then the links (install-data-hook).
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$top_builddir" \
	install-data DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	sed 's/^/    | /' "$tmp/install.log" >&2
	echo "FAIL: make install-data DESTDIR=$dest failed" >&2
	exit 1
fi

man3=$(find "$dest" -type d -path '*/man/man3')
if [ -z "$man3" ] || [ "$(echo "$man3" | wc -l)" -ne 1 ]; then
	echo "FAIL: make install made no (or several) man3 directories: $man3" >&2
	exit 1
fi
mandir=${man3%/man3}
for page in man7/mpcalloc.7 man1/mpcalloc.1; do
	[ -f "$mandir/$page" ] || fail "$page is not installed"
done

count=0
for name in $map_names; do
	page=$man3/$name.3
	if [ ! -e "$page" ]; then
		if [ -L "$page" ]; then
			fail "$name.3 is a dangling link ($(readlink "$page"))"
		else
			fail "no section 3 page for $name (add a page or a MAN3_LINKS entry in man/local.mk)"
		fi
		continue
	fi
	how=page
	[ -L "$page" ] && how="link to $(readlink "$page")"
	rc=0
	lexgrog "$page" >"$tmp/whatis" 2>&1 || rc=$?
	# lexgrog prints: FILE: "name1, name2 - description"
	names=$(sed -n 's/^[^"]*"\(.*\) - .*/\1/p' "$tmp/whatis" | tr ',' ' ')
	found=no
	for n in $names; do
		[ "$n" = "$name" ] && found=yes
	done
	if [ "$rc" -ne 0 ] || [ "$found" = no ]; then
		fail "the NAME line of $name.3 ($how) does not name $name:"
		sed 's/^/    | /' "$tmp/whatis" >&2
		continue
	fi
	echo "    $name(3): $how"
	count=$((count + 1))
done

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "PASS: $count functions of the API have an installed section 3 page"
exit 0
