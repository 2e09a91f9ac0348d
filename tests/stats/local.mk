# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Statistics tests (included from tests/local.mk, which adds $(STATS_PROGS)
# to check_PROGRAMS and $(STATS_TESTS) to TESTS). Conventions of
# tests/integration.mk: programs linked with the library, -no-install;
# scripts get MPCA_TEST_LIB, top_builddir and srcdir from
# AM_TESTS_ENVIRONMENT and source tests/override/common.sh.
#   check_stats   mpc_alloc_stats_get/print/reset, known workloads, threads
#   json.sh       the JSON parses (python3) and is consistent; text rows
#   atexit.sh     MPCALLOC_STATS / MPCALLOC_STATS_FILE (%p) in real programs
#   launcher.sh   tools/mpcalloc, mpcalloc(1), on real programs
#   report.sh     mpcalloc report on the files of four ranks, bad input

STATS_PROGS = \
	tests/stats/check_stats \
	tests/stats/stats_dump

STATS_TESTS = \
	tests/stats/check_stats \
	tests/stats/json.sh \
	tests/stats/atexit.sh \
	tests/stats/launcher.sh \
	tests/stats/report.sh

tests_stats_check_stats_SOURCES = tests/stats/check_stats.c
tests_stats_check_stats_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_stats_check_stats_LDADD = lib/libmpcalloc.la -lpthread
tests_stats_check_stats_LDFLAGS = -no-install

tests_stats_stats_dump_SOURCES = tests/stats/stats_dump.c
tests_stats_stats_dump_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_stats_stats_dump_LDADD = lib/libmpcalloc.la
tests_stats_stats_dump_LDFLAGS = -no-install

EXTRA_DIST += \
	tests/stats/json.sh \
	tests/stats/atexit.sh \
	tests/stats/launcher.sh \
	tests/stats/report.sh \
	tests/stats/check_json.py
