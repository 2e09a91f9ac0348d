# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Manual pages (included from Makefile.am). tests/local.mk adds $(MAN_TESTS)
# to TESTS; the scripts read the pages and lib/mpca_config.h under $srcdir.
#   tests/man/lint.sh     mandoc, man (lintian's groff check) and lexgrog
#   tests/man/options.sh  the ENVIRONMENT section of mpcalloc(7) against the
#                         option table of lib/mpca_config.h

dist_man_MANS = man/mpcalloc.7 man/mpc_alloc_release.3 man/mpc_alloc_version.3 \
	man/mpc_alloc_numa_rebind.3 \
	man/mpc_alloc_stats.3 man/mpcalloc.1

MAN_TESTS = tests/man/lint.sh tests/man/options.sh
EXTRA_DIST += $(MAN_TESTS)
