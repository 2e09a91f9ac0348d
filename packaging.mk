# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Packaging (included from Makefile.am): ABI and pkg-config checks, and the
# Debian (debian/) and RPM (rpm/) packaging files, distributed so that the
# `make dist` tarball builds both packages. tests/local.mk adds $(PKG_TESTS)
# to TESTS:
#   tests/abi/exported.sh  exported symbols (objdump -T) against
#                          tests/abi/exported-symbols.txt, naming rules
#   tests/abi/gnu-mpc.sh   no exported name is also defined by GNU MPC
#   tests/abi/abidiff.sh   abidiff against the baseline tests/abi/libmpcalloc.abi
#   tests/pkg/pkgconfig.sh make install DESTDIR=..., then a program built
#                          with pkg-config mpcalloc runs on that library
#   tests/pkg/manpages.sh  make install-data DESTDIR=...: every mpc_alloc_*
#                          function has a section 3 page (or a link to one,
#                          MAN3_LINKS in man/local.mk) whose NAME line names it
# Not in `make check` (`./dev.sh test`, hence .ci/run, runs it with --check):
# tests/pkg/packages.sh builds the .deb and .rpm packages from the make dist
# tarball, runs lintian, installs the .debs.
#
# After an intended change of the public API (lib/libmpcalloc.map,
# include/mpcalloc.h), run `make update-abi` in a build tree: it rewrites
# tests/abi/exported-symbols.txt and tests/abi/libmpcalloc.abi in the source
# tree and prints how to regenerate debian/libmpcalloc1.symbols.

PKG_TESTS = \
	tests/abi/exported.sh \
	tests/abi/gnu-mpc.sh \
	tests/abi/abidiff.sh \
	tests/pkg/pkgconfig.sh \
	tests/pkg/manpages.sh

EXTRA_DIST += \
	$(PKG_TESTS) \
	tests/abi/list-exports.sh \
	tests/abi/update-abi.sh \
	tests/abi/exported-symbols.txt \
	tests/abi/libmpcalloc.abi \
	tests/pkg/consumer.c \
	tests/pkg/packages.sh \
	rpm/libmpcalloc.spec.in \
	rpm/libmpcalloc.spec \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/libmpcalloc-dev.docs \
	debian/libmpcalloc-dev.install \
	debian/libmpcalloc-dev.lintian-overrides \
	debian/libmpcalloc1.install \
	debian/libmpcalloc1.lintian-overrides \
	debian/libmpcalloc1.symbols \
	debian/mpcalloc.install \
	debian/mpcalloc.lintian-overrides \
	debian/not-installed \
	debian/rules \
	debian/source/format \
	debian/tests/build \
	debian/tests/control \
	debian/tests/launcher \
	debian/tests/preload \
	debian/tests/static \
	debian/upstream/metadata \
	debian/watch

update-abi: lib/libmpcalloc.la
	$(SHELL) $(srcdir)/tests/abi/update-abi.sh '$(srcdir)' \
	  lib/.libs/libmpcalloc.so '$(PACKAGE_VERSION)'
.PHONY: update-abi
CLEANFILES += libmpcalloc1.symbols.new
