# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Integration tests (included from tests/local.mk):
#   tests/api       every entry point through the real library (-lmpcalloc)
#   tests/override  real programs under LD_PRELOAD compared with glibc's
#                   allocator, libc-internal allocations, MPCALLOC_* handling
#   tests/stress    threads with cross-thread frees (also with the purge delay
#                   at 0 and 1ms), thread churn, fork from a threaded program,
#                   out of memory under RLIMIT_AS
# tests/local.mk adds $(INTEGRATION_PROGS) to check_PROGRAMS and
# $(INTEGRATION_TESTS) to TESTS.

INTEGRATION_PROGS = \
	tests/api/check_api \
	tests/api/check_cache \
	tests/override/libc_internal \
	tests/override/preload_probe \
	tests/override/early \
	tests/stress/stress_threads \
	tests/stress/stress_churn \
	tests/stress/stress_fork \
	tests/stress/stress_oom \
	tests/stress/soak

INTEGRATION_TESTS = \
	tests/api/check_api \
	tests/api/check_cache \
	tests/override/libc_internal \
	tests/override/env.sh \
	tests/override/on_error.sh \
	tests/override/early.sh \
	tests/override/python.sh \
	tests/override/perl.sh \
	tests/override/sort.sh \
	tests/override/cc.sh \
	tests/override/git.sh \
	tests/stress/stress_threads \
	tests/stress/purge.sh \
	tests/stress/stress_churn \
	tests/stress/stress_fork \
	tests/stress/stress_oom \
	tests/stress/soak

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

# What the scripts need. The library's path is not named MPCALLOC_* on
# purpose: the library reports every unknown MPCALLOC_* variable. Never put
# LD_PRELOAD here: each script sets it just before it runs a program.
AM_TESTS_ENVIRONMENT = \
	MPCA_TEST_LIB='$(abs_top_builddir)/lib/.libs/libmpcalloc.so'; export MPCA_TEST_LIB; \
	MPCA_TEST_CC='$(CC)'; export MPCA_TEST_CC; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	srcdir='$(abs_top_srcdir)'; export srcdir;

# Programs linked with the library: it replaces glibc's malloc for the
# whole process, exactly as an application linked with -lmpcalloc.
# No builtin malloc/free: the compiler may not elide the calls under test.
INTEGRATION_LINKED_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS) $(CHECK_CFLAGS)
INTEGRATION_LINKED_LIBS = lib/libmpcalloc.la $(CHECK_LIBS) -lpthread

tests_api_check_api_SOURCES = tests/api/check_api.c tests/pattern.h
tests_api_check_api_CFLAGS = $(INTEGRATION_LINKED_CFLAGS)
tests_api_check_api_LDADD = $(INTEGRATION_LINKED_LIBS)
tests_api_check_api_LDFLAGS = -no-install

tests_api_check_cache_SOURCES = tests/api/check_cache.c
tests_api_check_cache_CFLAGS = $(INTEGRATION_LINKED_CFLAGS)
tests_api_check_cache_LDADD = $(INTEGRATION_LINKED_LIBS)
tests_api_check_cache_LDFLAGS = -no-install

tests_override_libc_internal_SOURCES = tests/override/libc_internal.c
tests_override_libc_internal_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_libc_internal_LDADD = lib/libmpcalloc.la -lpthread
tests_override_libc_internal_LDFLAGS = -no-install

# Run under LD_PRELOAD only: must not link the library.
tests_override_early_SOURCES = tests/override/early.c
tests_override_early_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_early_LDFLAGS = -no-install

tests_override_preload_probe_SOURCES = tests/override/preload_probe.c
tests_override_preload_probe_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_preload_probe_LDADD = -lpthread
tests_override_preload_probe_LDFLAGS = -no-install

INTEGRATION_STRESS_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
INTEGRATION_STRESS_LIBS = lib/libmpcalloc.la -lpthread

tests_stress_stress_threads_SOURCES = tests/stress/stress_threads.c tests/stress/stress.h tests/pattern.h
tests_stress_stress_threads_CFLAGS = $(INTEGRATION_STRESS_CFLAGS)
tests_stress_stress_threads_LDADD = $(INTEGRATION_STRESS_LIBS)
tests_stress_stress_threads_LDFLAGS = -no-install
tests_stress_stress_churn_SOURCES = tests/stress/stress_churn.c tests/stress/stress.h tests/pattern.h
tests_stress_stress_churn_CFLAGS = $(INTEGRATION_STRESS_CFLAGS)
tests_stress_stress_churn_LDADD = $(INTEGRATION_STRESS_LIBS)
tests_stress_stress_churn_LDFLAGS = -no-install
tests_stress_stress_fork_SOURCES = tests/stress/stress_fork.c tests/stress/stress.h tests/pattern.h
tests_stress_stress_fork_CFLAGS = $(INTEGRATION_STRESS_CFLAGS)
tests_stress_stress_fork_LDADD = $(INTEGRATION_STRESS_LIBS)
tests_stress_stress_fork_LDFLAGS = -no-install
tests_stress_stress_oom_SOURCES = tests/stress/stress_oom.c tests/stress/stress.h tests/pattern.h
tests_stress_stress_oom_CFLAGS = $(INTEGRATION_STRESS_CFLAGS)
tests_stress_stress_oom_LDADD = $(INTEGRATION_STRESS_LIBS)
tests_stress_stress_oom_LDFLAGS = -no-install
tests_stress_soak_SOURCES = tests/stress/soak.c tests/stress/stress.h tests/pattern.h
tests_stress_soak_CFLAGS = $(INTEGRATION_STRESS_CFLAGS)
tests_stress_soak_LDADD = $(INTEGRATION_STRESS_LIBS)
tests_stress_soak_LDFLAGS = -no-install

# The soak for longer than make check's 45 s: make soak SOAK_TIME=1800
# (seconds; SOAK_ARGS: threads and CPUs, default 64 2).
SOAK_TIME = 600
SOAK_ARGS =
soak: tests/stress/soak$(EXEEXT)
	tests/stress/soak$(EXEEXT) $(SOAK_TIME) $(SOAK_ARGS)
.PHONY: soak

EXTRA_DIST += \
	tests/override/common.sh \
	tests/override/env.sh \
	tests/override/on_error.sh \
	tests/override/early.sh \
	tests/override/python.sh \
	tests/override/workload.py \
	tests/override/perl.sh \
	tests/override/workload.pl \
	tests/override/sort.sh \
	tests/override/cc.sh \
	tests/override/git.sh \
	tests/stress/purge.sh
