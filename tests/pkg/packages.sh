#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Checks the distribution packages, all from the `make dist` tarball of this
# source tree, in a temporary directory removed at the end:
#   1. autoreconf, configure, make dist (the tarball carries debian/ and the
#      generated rpm/libmpcalloc.spec)
#   2. dpkg-buildpackage -us -uc (source package, whose orig tarball is the
#      dist tarball less debian/, and libmpcalloc1, libmpcalloc-dev,
#      mpcalloc, -dbgsym), with the symbols file checked at -c4 and shipped;
#      -dev has a section 3 page for every function of lib/libmpcalloc.map
#      and the static library libmpcalloc.a
#   3. lintian on the .changes: fails on any E: or W: tag (I:/P: shown)
#   4. apt-get install of the three .debs, `man -w 3` of every function,
#      then debian/tests/preload
#      (programs run with LD_PRELOAD=libmpcalloc.so.1), debian/tests/build
#      (a program built with pkg-config mpcalloc), debian/tests/launcher
#      (mpcalloc(1) runs programs on the installed library),
#      debian/tests/static (cc -static ... -lmpcalloc -lpthread)
#   5. rpmbuild --nodeps -ta on the tarball (source rpm, libmpcalloc,
#      -devel, mpcalloc), rpm -qp checks of SONAME, version node, License
#      and file lists (man3 pages of every function and libmpcalloc.a in
#      -devel)
# Packages this run installed are purged again at the end.
# Not part of `make check`; `./dev.sh test` (hence .ci/run) runs it with
# --check, as one counted result. Debian 12, as root, with:
#   build-essential autoconf automake libtool pkgconf check libnuma-dev
#   dpkg-dev debhelper lintian rpm (and, with --check, the test tools of
#   debian/control: abigail-tools git man-db mandoc python3)
# Usage: tests/pkg/packages.sh [--check] [--keep]
#   --check  also run `make check` in both builds (dh_auto_test, %check):
#            about 1.5 to 2.5 more minutes each on 2 cores
#   --keep   keep the temporary directory (its path is printed)
# Exit 0 pass, 1 fail, 77 skip (not root, or a tool is missing).

set -eu
LC_ALL=C
export LC_ALL

run_check=no
keep=no
for arg in "$@"; do
	case $arg in
	--check) run_check=yes ;;
	--keep) keep=yes ;;
	*)
		echo "usage: $0 [--check] [--keep]" >&2
		exit 2
		;;
	esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)

say() { printf '== %s [%ss]\n' "$*" "$(($(date +%s) - start))"; }
die() {
	echo "FAIL: $*" >&2
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: run as root (apt-get install of the built packages)"
	exit 77
fi
missing=
for tool in autoreconf make gcc dpkg-buildpackage dh lintian rpmbuild apt-get; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "SKIP: missing:$missing (apt-get install autoconf automake libtool dpkg-dev debhelper lintian rpm)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpcalloc-packages.XXXXXX")
installed_here=
cleanup() {
	rc=$?
	trap - EXIT HUP INT TERM
	if [ -n "$installed_here" ]; then
		echo "== purging$installed_here (installed by this run)"
		# shellcheck disable=SC2086 # one word per package
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $installed_here >/dev/null 2>&1 ||
			echo "WARNING: apt-get purge$installed_here failed" >&2
	fi
	if [ "$keep" = yes ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# log NAME COMMAND...: run COMMAND with its output in $tmp/NAME.log, shown
# (the end of it) only on failure.
log() {
	name=$1
	shift
	if ! "$@" >"$tmp/$name.log" 2>&1; then
		tail -n 60 "$tmp/$name.log" >&2
		die "$name: $* (full log: $tmp/$name.log; use --keep to keep it)"
	fi
}

# ---- 1. the tarball ---------------------------------------------------------
say "1. make dist"
mkdir "$tmp/src" "$tmp/build"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked and untracked-but-not-ignored files: what the next commit holds
	(cd "$top" && git ls-files -z -c -o --exclude-standard | xargs -0 tar cf - --no-recursion) |
		(cd "$tmp/src" && tar xf -)
else
	(cd "$top" && tar cf - .) | (cd "$tmp/src" && tar xf -)
fi
[ -x "$tmp/src/configure" ] || log autoreconf sh -c "cd '$tmp/src' && autoreconf -fi"
log configure sh -c "cd '$tmp/build' && '$tmp/src/configure' --disable-tests"
log dist make -C "$tmp/build" dist
set -- "$tmp"/build/libmpcalloc-*.tar.gz
[ -f "$1" ] || die "make dist made no tarball"
tarball=$1
version=${tarball##*/libmpcalloc-}
version=${version%.tar.gz}
echo "   $(basename "$tarball")"
# Every packaging file of the tree must be in the tarball (EXTRA_DIST of
# packaging.mk).
tar tzf "$tarball" | sed -n "s|^libmpcalloc-$version/||p" | sort >"$tmp/dist.list"
(cd "$tmp/src" && find debian tests/abi tests/pkg rpm -type f ! -name libmpcalloc.spec) | sort >"$tmp/pkg.list"
if [ -n "$(comm -23 "$tmp/pkg.list" "$tmp/dist.list")" ]; then
	comm -23 "$tmp/pkg.list" "$tmp/dist.list" | sed 's/^/   not in the tarball: /' >&2
	die "packaging files missing from EXTRA_DIST (packaging.mk)"
fi

# ---- 2. Debian packages -----------------------------------------------------
say "2. dpkg-buildpackage (make check: $run_check)"
mkdir "$tmp/deb"
tar xzf "$tarball" -C "$tmp/deb"
debsrc=$tmp/deb/libmpcalloc-$version
# Debian's upstream tarball is ours without debian/ (shipped upstream, it
# would make the Debian diff empty: lintian's no-debian-changes); the
# debian/ of the tarball becomes the source package's debian.tar.
tar czf "$tmp/deb/libmpcalloc_$version.orig.tar.gz" -C "$tmp/deb" \
	--exclude="libmpcalloc-$version/debian" "libmpcalloc-$version"
deb_opts="parallel=$jobs"
profiles=
if [ "$run_check" = no ]; then
	deb_opts="$deb_opts nocheck"
	profiles=nocheck
fi
log dpkg-buildpackage sh -c "cd '$debsrc' && DEB_BUILD_OPTIONS='$deb_opts' DEB_BUILD_PROFILES='$profiles' dpkg-buildpackage -us -uc"
set -- "$tmp"/deb/libmpcalloc_*.changes
[ -f "$1" ] || die "dpkg-buildpackage made no .changes file"
changes=$1
for f in "$tmp"/deb/*.deb; do echo "   ${f##*/}"; done
arch=$(dpkg --print-architecture)
for pkg in libmpcalloc1 libmpcalloc1-dbgsym libmpcalloc-dev mpcalloc; do
	[ -f "$tmp/deb/${pkg}_${version}-1_$arch.deb" ] || die "dpkg-buildpackage made no $pkg .deb"
done
[ -f "$tmp/deb/libmpcalloc_$version-1.dsc" ] || die "dpkg-buildpackage made no source package"
# The committed symbols file (checked at -c4 by debian/rules) is shipped.
dpkg-deb -I "$tmp/deb/libmpcalloc1_${version}-1_$arch.deb" symbols >"$tmp/symbols" 2>&1 ||
	die "libmpcalloc1 has no symbols control file"
grep -q '^libmpcalloc\.so\.1 libmpcalloc1 ' "$tmp/symbols" || die "the symbols file is not for libmpcalloc.so.1"
grep -q '^ mpc_alloc_version@MPCALLOC_1\.0 ' "$tmp/symbols" || die "the symbols file lacks the MPCALLOC_1.0 node"
grep -q -- '-c4' "$tmp/dpkg-buildpackage.log" || die "dh_makeshlibs did not run with -c4"
# Every function of the API has its section 3 page in -dev (a page or a
# link, see MAN3_LINKS in man/local.mk).
api=$(sed -n 's/^[[:space:]]*\(mpc_alloc_[A-Za-z0-9_]*\)[[:space:]]*;.*/\1/p' "$debsrc/lib/libmpcalloc.map")
[ -n "$api" ] || die "no mpc_alloc_* function in lib/libmpcalloc.map"
dpkg-deb -c "$tmp/deb/libmpcalloc-dev_${version}-1_$arch.deb" >"$tmp/dev.list"
for name in $api; do
	grep -q "/usr/share/man/man3/$name\.3\.gz\( \|$\)" "$tmp/dev.list" ||
		die "libmpcalloc-dev has no manual page $name(3)"
done
grep -q "/usr/lib/[^/]*/libmpcalloc\.a\( \|$\)" "$tmp/dev.list" || die "libmpcalloc-dev has no libmpcalloc.a"
echo "   symbols file checked at -c4; -dev has a manual page for each of the $(echo "$api" | wc -w) functions, and libmpcalloc.a"

# ---- 3. lintian -------------------------------------------------------------
say "3. lintian"
rc=0
lintian -I --pedantic --fail-on error,warning "$changes" >"$tmp/lintian.log" 2>&1 || rc=$?
sed 's/^/   /' "$tmp/lintian.log"
if [ "$rc" -ne 0 ] || grep -q '^[EW]: ' "$tmp/lintian.log"; then
	die "lintian reported errors or warnings (exit $rc)"
fi

# ---- 4. install and use ----------------------------------------------------
say "4. apt-get install, debian/tests"
for pkg in libmpcalloc1 libmpcalloc-dev mpcalloc; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
		installed_here="$installed_here $pkg"
done
log apt-get-install env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"$tmp/deb/libmpcalloc1_${version}-1_$arch.deb" "$tmp/deb/libmpcalloc-dev_${version}-1_$arch.deb" \
	"$tmp/deb/mpcalloc_${version}-1_$arch.deb"
dpkg-query -W -f='   ${Package} ${Version}\n' libmpcalloc1 libmpcalloc-dev mpcalloc
# `man 3 NAME` finds each function's page (unless dpkg's path-exclude
# drops manual pages on this system).
if [ -e /usr/share/man/man3/mpc_alloc_version.3.gz ]; then
	for name in $api; do
		man -w 3 "$name" >/dev/null 2>&1 || die "man 3 $name: no page found after apt-get install"
	done
	echo "   man 3 finds the $(echo "$api" | wc -w) functions"
else
	echo "   (manual pages excluded by dpkg's path-exclude here: man 3 not checked)"
fi
mkdir "$tmp/adt"
for t in preload build launcher static; do
	if ! (cd "$debsrc" && AUTOPKGTEST_TMP=$tmp/adt sh "debian/tests/$t") >"$tmp/adt-$t.log" 2>&1; then
		cat "$tmp/adt-$t.log" >&2
		die "debian/tests/$t failed with the installed packages"
	fi
	sed 's/^/   /' "$tmp/adt-$t.log"
done

# ---- 5. RPM -----------------------------------------------------------------
say "5. rpmbuild (make check: $run_check)"
rpm_opts=
[ "$run_check" = yes ] || rpm_opts=--nocheck
# shellcheck disable=SC2086 # empty or one option
log rpmbuild rpmbuild --define "_topdir $tmp/rpmbuild" --define "_smp_mflags -j$jobs" \
	--nodeps $rpm_opts -ta "$tarball"
rpm_main=''
rpm_devel=''
rpm_tool=''
for f in "$tmp"/rpmbuild/RPMS/*/*.rpm; do
	echo "   ${f##*/}"
	case ${f##*/} in
	libmpcalloc-"$version"-*) rpm_main=$f ;;
	libmpcalloc-devel-"$version"-*) rpm_devel=$f ;;
	mpcalloc-"$version"-*) rpm_tool=$f ;;
	esac
done
if [ -z "$rpm_main" ] || [ -z "$rpm_devel" ] || [ -z "$rpm_tool" ]; then
	die "rpmbuild did not make libmpcalloc, libmpcalloc-devel and mpcalloc"
fi
rpm -qp --provides "$rpm_main" >"$tmp/provides"
grep -q '^libmpcalloc\.so\.1()' "$tmp/provides" || die "$rpm_main does not provide libmpcalloc.so.1"
grep -q '^libmpcalloc\.so\.1(MPCALLOC_1\.0)' "$tmp/provides" ||
	die "$rpm_main does not provide libmpcalloc.so.1(MPCALLOC_1.0)"
rpm -qlp "$rpm_main" >"$tmp/files-main"
rpm -qlp "$rpm_devel" >"$tmp/files-devel"
grep -q '/libmpcalloc\.so\.1$' "$tmp/files-main" || die "no libmpcalloc.so.1 in $rpm_main"
for f in /mpcalloc.h /libmpcalloc.so /libmpcalloc.a /pkgconfig/mpcalloc.pc /man7/mpcalloc.7 /man3/mpc_alloc_version.3; do
	grep -q "$f" "$tmp/files-devel" || die "no $f in $rpm_devel"
done
for name in $api; do
	grep -q "/man3/$name\.3\(\.gz\)\{0,1\}$" "$tmp/files-devel" || die "no manual page $name(3) in $rpm_devel"
done
rpm -qlp "$rpm_tool" | grep -q '/bin/mpcalloc$' || die "no bin/mpcalloc in $rpm_tool"
rpm -qlp "$rpm_tool" | grep -q '/libexec/libmpcalloc/mpcalloc-report$' || die "no mpcalloc-report in $rpm_tool"
rpm -qp --requires "$rpm_tool" | grep -q '^python3' || die "$rpm_tool does not require python3"
set -- "$tmp"/rpmbuild/SRPMS/libmpcalloc-"$version"-*.src.rpm
[ -f "$1" ] || die "rpmbuild made no source rpm"
echo "   ${1##*/}"
rpm -qp --qf '%{LICENSE}\n' "$rpm_main" | grep -qx 'CECILL-C' || die "$rpm_main: License is not CECILL-C"
sed 's/^/   provides: /' "$tmp/provides"

say "all package checks passed (libmpcalloc $version)"
