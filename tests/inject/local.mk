# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Failure injection (included from tests/local.mk, which adds
# $(INJECT_PROGS) to check_PROGRAMS and $(INJECT_TESTS) to TESTS):
#   inject_sweep     the workload of workload.h once per system call it
#                    makes, that call failing (mpca_os_fault_arm), then
#                    every call from it, then every k-th; links the internals
#   external.sh      the workload through the exported functions, failures
#                    from outside: a preloaded mmap (mmap_shim.so) that fails
#                    on command, and RLIMIT_AS (inject_external)
INJECT_PROGS = \
	tests/inject/inject_sweep \
	tests/inject/inject_external

INJECT_TESTS = \
	tests/inject/inject_sweep \
	tests/inject/external.sh

tests_inject_inject_sweep_SOURCES = tests/inject/inject_sweep.c tests/inject/workload.h tests/pattern.h
tests_inject_inject_sweep_CFLAGS = $(AM_CFLAGS)
tests_inject_inject_sweep_LDADD = lib/libmpcalloc_core.la -lpthread
tests_inject_inject_sweep_LDFLAGS = -no-install

tests_inject_inject_external_SOURCES = tests/inject/inject_external.c tests/inject/workload.h tests/pattern.h
tests_inject_inject_external_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS)
tests_inject_inject_external_LDADD = lib/libmpcalloc.la -lpthread -ldl
tests_inject_inject_external_LDFLAGS = -no-install

# Preloaded, never installed: -rpath only makes libtool build a shared object.
# (tests/local.mk adds $(INJECT_LIBS) to check_LTLIBRARIES.)
INJECT_LIBS = tests/inject/mmap_shim.la
tests_inject_mmap_shim_la_SOURCES = tests/inject/mmap_shim.c
tests_inject_mmap_shim_la_CFLAGS = $(AM_CFLAGS) $(MPCA_VISIBILITY_CFLAGS)
tests_inject_mmap_shim_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

EXTRA_DIST += tests/inject/external.sh
