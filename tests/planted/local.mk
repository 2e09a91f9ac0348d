# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Planted heap bugs (included from tests/local.mk, which adds $(PLANTED_PROGS)
# to check_PROGRAMS and $(PLANTED_TESTS) to TESTS and to the hardened
# build's tests). Conventions of tests/integration.mk.
#   bugs      each bug in a child process, run under LD_PRELOAD (not linked
#             with the library): double and invalid frees, writes after
#             free, overflows and underflows, ...; `bugs --list` names them
#   bugs.sh   under the library just built, every bug must have the outcome
#             this build promises (mpcalloc(7), HARDENED BUILD)
#   table.sh  the same program under any allocators, as a Markdown table
#             (bench/RESULTS.md); not run by make check

PLANTED_PROGS = tests/planted/bugs
PLANTED_TESTS = tests/planted/bugs.sh

# Not linked with libmpcalloc, no builtin malloc/free: the planted calls
# must reach the allocator as written.
tests_planted_bugs_SOURCES = tests/planted/bugs.c
tests_planted_bugs_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_planted_bugs_LDADD = -lpthread -ldl
tests_planted_bugs_LDFLAGS = -no-install

# Which of the library's builds bugs.sh checks against.
if HARDENED
AM_TESTS_ENVIRONMENT += MPCA_TEST_BUILD=hardened; export MPCA_TEST_BUILD;
else
AM_TESTS_ENVIRONMENT += MPCA_TEST_BUILD=default; export MPCA_TEST_BUILD;
endif

EXTRA_DIST += tests/planted/bugs.sh tests/planted/table.sh
