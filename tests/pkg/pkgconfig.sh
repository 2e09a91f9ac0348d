#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Checks the installed mpcalloc.pc the way a user's build uses it: installs
# the build tree with `make install DESTDIR=<temp dir>`, then with
# PKG_CONFIG_PATH pointing there (PKG_CONFIG_SYSROOT_DIR maps the configured
# prefix into the temp dir) validates the file, compiles and links
# tests/pkg/consumer.c with `pkg-config --cflags --libs mpcalloc`, runs it
# with LD_LIBRARY_PATH on the installed library and checks that this very
# file is mapped and provides malloc, and that --static adds no -lnuma (the
# library makes its NUMA system calls itself).
# Exit 0 pass, 77 skip (no shared library, no pkg-config, no compiler),
# 1 fail.

set -u
: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}

[ -f "$top_builddir/lib/.libs/libmpcalloc.so" ] ||
	skip "$top_builddir/lib/.libs/libmpcalloc.so not built (--disable-shared?)"
pkgconfig=${PKG_CONFIG:-}
if [ -z "$pkgconfig" ]; then
	for p in pkg-config pkgconf; do
		if command -v "$p" >/dev/null 2>&1; then
			pkgconfig=$p
			break
		fi
	done
fi
[ -n "$pkgconfig" ] || skip "pkg-config is not installed (Debian: pkgconf)"
: "${MPCA_TEST_CC:=cc}"
# shellcheck disable=SC2086 # the first word of CC is the program
set -- $MPCA_TEST_CC
command -v "$1" >/dev/null 2>&1 || skip "no C compiler ($MPCA_TEST_CC)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-pc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
dest=$tmp/dest

# The test runs inside `make check`: the parent's MAKEFLAGS (jobserver,
# command-line variables) must not leak into this make.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$top_builddir" \
	install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	sed 's/^/    | /' "$tmp/install.log" >&2
	fail "make install DESTDIR=$dest failed"
fi

pc=$(find "$dest" -path '*/pkgconfig/mpcalloc.pc')
[ -n "$pc" ] || fail "make install did not install mpcalloc.pc"
[ "$(echo "$pc" | wc -l)" -eq 1 ] || fail "several mpcalloc.pc installed: $pc"
pcdir=$(dirname "$pc")
case $pcdir in
*/lib/pkgconfig | */lib/*/pkgconfig | */lib64/pkgconfig) ;;
*) fail "mpcalloc.pc installed in $pcdir, not in \$(libdir)/pkgconfig" ;;
esac

PKG_CONFIG_PATH=$pcdir
PKG_CONFIG_SYSROOT_DIR=$dest
# Keep -I/usr/include and -L/usr/lib/<triplet> (prefix /usr): without them
# the system's copy, if any, would be used instead of the one under test.
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS

"$pkgconfig" --validate mpcalloc >"$tmp/validate" 2>&1 || {
	sed 's/^/    | /' "$tmp/validate" >&2
	fail "$pkgconfig --validate mpcalloc"
}
if [ -s "$tmp/validate" ]; then
	sed 's/^/    | /' "$tmp/validate" >&2
	fail "$pkgconfig --validate mpcalloc printed warnings"
fi
[ "$("$pkgconfig" --variable=pcfiledir mpcalloc)" = "$pcdir" ] ||
	fail "$pkgconfig finds another mpcalloc.pc than $pc"
version=$("$pkgconfig" --modversion mpcalloc) || fail "$pkgconfig --modversion mpcalloc"
cflags=$("$pkgconfig" --cflags mpcalloc) || fail "$pkgconfig --cflags mpcalloc"
libs=$("$pkgconfig" --libs mpcalloc) || fail "$pkgconfig --libs mpcalloc"
echo "mpcalloc.pc $version: --cflags '$cflags' --libs '$libs'"

# The -L directory must be the installed library's, under $dest.
libdir=
for word in $libs; do
	case $word in
	-L"$dest"/*) libdir=${word#-L} ;;
	esac
done
[ -n "$libdir" ] || fail "--libs has no -L under $dest"
[ -f "$libdir/libmpcalloc.so" ] || fail "no libmpcalloc.so in $libdir"
case " $cflags " in
*" -I$dest/"*) ;;
*) fail "--cflags has no -I under $dest" ;;
esac

# --static: the private libraries. The library makes its NUMA system calls
# itself (lib/numa.c): libnuma is never needed, with or without it at
# configure time, and a static program linked with libmpcalloc.a must not
# be told to link it.
static=$("$pkgconfig" --static --libs mpcalloc) || fail "$pkgconfig --static --libs mpcalloc"
case " $static " in
*" -lnuma "*) fail "--static --libs is '$static': libmpcalloc never calls libnuma" ;;
esac

# Build and run a consumer exactly as a user would. $cflags and $libs are
# lists of words.
# shellcheck disable=SC2086
if ! $MPCA_TEST_CC $cflags -o "$tmp/consumer" "$srcdir/tests/pkg/consumer.c" $libs -ldl \
	>"$tmp/cc.log" 2>&1; then
	sed 's/^/    | /' "$tmp/cc.log" >&2
	fail "cannot build a program with \`pkg-config --cflags --libs mpcalloc'"
fi
if ! env LD_LIBRARY_PATH="$libdir" "$tmp/consumer" "$version" >"$tmp/out" 2>&1; then
	sed 's/^/    | /' "$tmp/out" >&2
	fail "the consumer program failed"
fi
sed 's/^/    /' "$tmp/out"
mapped=$(sed -n 's/^mapped //p' "$tmp/out")
malloc_from=$(sed -n 's/^malloc //p' "$tmp/out")
case $mapped in
"$libdir"/libmpcalloc.so*) ;;
*) fail "the consumer mapped $mapped, not the library installed in $libdir" ;;
esac
case $malloc_from in
"$libdir"/libmpcalloc.so*) ;;
*) fail "the consumer's malloc comes from $malloc_from, not from $libdir" ;;
esac
echo "PASS: mpcalloc.pc valid; a program built with it runs on $mapped"
exit 0
