# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Heap profiler tests (included from tests/local.mk, which adds
# $(PROF_PROGS) to check_PROGRAMS and $(PROF_TESTS) to TESTS). The programs
# run with the library preloaded (they do not link it); the scripts source
# tests/override/common.sh. The unit tests are tests/unit/check_prof; the
# 4-rank MPI job is tests/mpi/prof.sh.
#   prof.sh      prof_sites: estimates per site within 10 %, the peak's total
#                within 5 % of the statistics', google-pprof and pprof, mpcalloc
#                report --prof, the launcher, bad input, profiling off
#   threads.sh   prof_threads: threads that exit, fork, dumps while other
#                threads allocate; the stress tests with profiling on

PROF_PROGS = \
	tests/prof/prof_sites \
	tests/prof/prof_threads

PROF_TESTS = \
	tests/prof/prof.sh \
	tests/prof/threads.sh

# not linked with the library: preloaded by the scripts
tests_prof_prof_sites_SOURCES = tests/prof/prof_sites.c tests/prof/sites.h
tests_prof_prof_sites_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS) -g
tests_prof_prof_sites_LDFLAGS = -no-install
tests_prof_prof_threads_SOURCES = tests/prof/prof_threads.c tests/prof/sites.h
tests_prof_prof_threads_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS) -g
tests_prof_prof_threads_LDADD = -lpthread
tests_prof_prof_threads_LDFLAGS = -no-install

EXTRA_DIST += $(PROF_TESTS)
