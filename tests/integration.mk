# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Integration tests (included from tests/local.mk):
#   tests/api       every entry point through the real library (-lmpcalloc),
#                   glibc's names and introspection calls, sized frees
#   tests/override  real programs under LD_PRELOAD compared with glibc's
#                   allocator, libc-internal allocations, MPCALLOC_* handling,
#                   mmap/munmap/mremap/madvise reach an interposed symbol
#                   (what MPI memory hooks need, os_hooks), glibc's internal
#                   names, start-up in a program that never allocates,
#                   dlopen/dlclose and ctypes, valgrind's memcheck
#   tests/stress    threads with cross-thread frees (also with the purge delay
#                   at 0 and 1ms), thread churn, fork from a threaded program,
#                   out of memory under RLIMIT_AS
#   tests/static    a program linked with cc -static and libmpcalloc.a
# tests/local.mk adds $(INTEGRATION_PROGS) to check_PROGRAMS,
# $(INTEGRATION_LIBS) to check_LTLIBRARIES and $(INTEGRATION_TESTS) to TESTS.

INTEGRATION_PROGS = \
	tests/api/check_api \
	tests/api/check_cache \
	tests/api/check_glibc \
	tests/override/libc_internal \
	tests/override/preload_probe \
	tests/override/glibc_names \
	tests/override/dlopen \
	tests/override/planted \
	tests/override/planted_linked \
	tests/override/early \
	tests/override/os_hooks \
	tests/stress/stress_threads \
	tests/stress/stress_churn \
	tests/stress/stress_fork \
	tests/stress/stress_oom \
	tests/stress/soak

# Shared libraries the scripts preload beside libmpcalloc.
INTEGRATION_LIBS = tests/override/libearly_ctor.la

# (INTEGRATION_CORE_TESTS: also run by the hardened build, tests/local.mk)
INTEGRATION_CORE_TESTS = \
	tests/api/check_api \
	tests/api/check_cache \
	tests/api/check_glibc \
	tests/override/libc_internal \
	tests/override/os_hooks \
	tests/override/env.sh \
	tests/override/on_error.sh \
	tests/override/glibc_names.sh \
	tests/override/early.sh \
	tests/override/startup.sh \
	tests/override/dlopen.sh \
	tests/override/python.sh \
	tests/override/perl.sh \
	tests/override/sort.sh \
	tests/override/cc.sh \
	tests/override/git.sh \
	tests/static/static.sh \
	tests/stress/stress_threads \
	tests/stress/stress_churn \
	tests/stress/stress_fork \
	tests/stress/stress_oom

INTEGRATION_TESTS = \
	$(INTEGRATION_CORE_TESTS) \
	tests/override/valgrind.sh \
	tests/stress/purge.sh \
	tests/stress/soak

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

# What the scripts need. The library's path is not named MPCALLOC_* on
# purpose: the library reports every unknown MPCALLOC_* variable. Never put
# LD_PRELOAD here: each script sets it just before it runs a program.
# Check's timeouts (4 s by default) are hang detectors, as the stress tests'
# watchdogs: scaled so that a loaded machine does not trip them (the
# caller's values win; check-valgrind sets its own multiplier).
AM_TESTS_ENVIRONMENT = \
	: "$${CK_DEFAULT_TIMEOUT:=30}"; export CK_DEFAULT_TIMEOUT; \
	: "$${CK_TIMEOUT_MULTIPLIER:=4}"; export CK_TIMEOUT_MULTIPLIER; \
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

tests_api_check_glibc_SOURCES = tests/api/check_glibc.c tests/pattern.h
tests_api_check_glibc_CFLAGS = $(INTEGRATION_LINKED_CFLAGS)
tests_api_check_glibc_LDADD = $(INTEGRATION_LINKED_LIBS)
tests_api_check_glibc_LDFLAGS = -no-install

tests_override_libc_internal_SOURCES = tests/override/libc_internal.c
tests_override_libc_internal_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_libc_internal_LDADD = lib/libmpcalloc.la -lpthread
tests_override_libc_internal_LDFLAGS = -no-install

# Run under LD_PRELOAD only: must not link the library.
tests_override_early_SOURCES = tests/override/early.c
tests_override_early_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_early_LDADD = $(NUMA_LIBS)
tests_override_early_LDFLAGS = -no-install

# Defines mmap/munmap/mremap/madvise and exports them (-export-dynamic) so
# that they interpose libc's for the library, as MPI memory hooks do.
tests_override_os_hooks_SOURCES = tests/override/os_hooks.c
tests_override_os_hooks_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_os_hooks_LDADD = lib/libmpcalloc.la
tests_override_os_hooks_LDFLAGS = -no-install -export-dynamic

tests_override_preload_probe_SOURCES = tests/override/preload_probe.c
tests_override_preload_probe_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_preload_probe_LDADD = -lpthread
tests_override_preload_probe_LDFLAGS = -no-install

tests_override_glibc_names_SOURCES = tests/override/glibc_names.c
tests_override_glibc_names_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_glibc_names_LDFLAGS = -no-install

# Preloaded after libmpcalloc by startup.sh: its constructor allocates
# before libmpcalloc's own runs. -rpath makes libtool build a shared library.
tests_override_libearly_ctor_la_SOURCES = tests/override/early_ctor.c
tests_override_libearly_ctor_la_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_libearly_ctor_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

# Loads the library with dlopen: must not link it.
tests_override_dlopen_SOURCES = tests/override/dlopen.c
tests_override_dlopen_CFLAGS = $(AM_CFLAGS)
tests_override_dlopen_LDADD = -lpthread
tests_override_dlopen_LDFLAGS = -no-install

# The planted bugs of valgrind.sh, preloaded (planted) and linked.
tests_override_planted_SOURCES = tests/override/planted.c
tests_override_planted_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_planted_LDFLAGS = -no-install
tests_override_planted_linked_SOURCES = tests/override/planted.c
tests_override_planted_linked_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_override_planted_linked_LDADD = lib/libmpcalloc.la
tests_override_planted_linked_LDFLAGS = -no-install

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

# C++ operator new/delete (lib/cxx.c) through the real library.
if HAVE_CXX
INTEGRATION_PROGS += tests/cxx/new_delete
INTEGRATION_CORE_TESTS += tests/cxx/new_delete
endif
tests_cxx_new_delete_SOURCES = tests/cxx/new_delete.cc
tests_cxx_new_delete_CXXFLAGS = -std=c++17 $(MPCA_WARN_CFLAGS) $(MPCA_CXX_TEST_FLAGS)
tests_cxx_new_delete_LDADD = lib/libmpcalloc.la -ldl
tests_cxx_new_delete_LDFLAGS = -no-install

EXTRA_DIST += \
	tests/override/common.sh \
	tests/override/env.sh \
	tests/override/on_error.sh \
	tests/override/glibc_names.sh \
	tests/override/early.sh \
	tests/override/startup.sh \
	tests/override/dlopen.sh \
	tests/override/valgrind.sh \
	tests/override/python.sh \
	tests/override/workload.py \
	tests/override/perl.sh \
	tests/override/workload.pl \
	tests/override/sort.sh \
	tests/override/cc.sh \
	tests/override/git.sh \
	tests/static/static.sh \
	tests/static/static_prog.c \
	tests/stress/purge.sh
