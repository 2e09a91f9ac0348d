# SPDX-License-Identifier: CECILL-C
# Test suite (included from the top Makefile.am).
#   tests/unit      Check tests of one concept each, linked to the internals
#   tests/api       Check tests of every entry point, linked with -lmpcalloc
#   tests/override  real programs under LD_PRELOAD, output compared with glibc
#   tests/stress    threads, thread churn, fork, out of memory
#   tests/numa      placement (fake topologies, a two-node qemu machine)
#   tests/stats     statistics, reports at exit, the launcher, mpcalloc report
#   tests/mpi       MPI jobs under the launcher (Open MPI), LAMMPS
#   tests/prof      the heap profiler: known sites, pprof, threads and fork
#   tests/layers    the include graph of lib/ has no cycle (doc/DESIGN.md)
#   tests/planted   planted heap bugs, each with the outcome the build promises
UNIT_TESTS = \
	tests/unit/check_size_classes \
	tests/unit/check_run \
	tests/unit/check_medium \
	tests/unit/check_registry \
	tests/unit/check_remote \
	tests/unit/check_source \
	tests/unit/check_config \
	tests/unit/check_heap \
	tests/unit/check_realloc \
	tests/unit/check_stats_count \
	tests/unit/check_report \
	tests/unit/check_os_fault \
	tests/unit/check_huge \
	tests/unit/check_guarded \
	tests/unit/check_prof \
	tests/fuzz/replay

UNIT_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
UNIT_TEST_LIBS = lib/libmpcalloc_core.la $(CHECK_LIBS) -lpthread
UNIT_TEST_LINKFLAGS = -no-install

tests_unit_check_size_classes_SOURCES = tests/unit/check_size_classes.c tests/unit/unit.h
tests_unit_check_size_classes_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_size_classes_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_size_classes_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_run_SOURCES = tests/unit/check_run.c tests/unit/unit.h
tests_unit_check_run_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_run_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_run_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_medium_SOURCES = tests/unit/check_medium.c tests/unit/unit.h
tests_unit_check_medium_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_medium_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_medium_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_registry_SOURCES = tests/unit/check_registry.c tests/unit/unit.h
tests_unit_check_registry_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_registry_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_registry_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_remote_SOURCES = tests/unit/check_remote.c tests/unit/unit.h
tests_unit_check_remote_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_remote_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_remote_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_source_SOURCES = tests/unit/check_source.c tests/unit/unit.h
tests_unit_check_source_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_source_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_source_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_config_SOURCES = tests/unit/check_config.c tests/unit/unit.h
tests_unit_check_config_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_config_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_config_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_heap_SOURCES = tests/unit/check_heap.c tests/unit/unit.h
tests_unit_check_heap_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_heap_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_heap_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_realloc_SOURCES = tests/unit/check_realloc.c tests/unit/unit.h
tests_unit_check_realloc_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_realloc_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_realloc_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_stats_count_SOURCES = tests/unit/check_stats_count.c tests/unit/unit.h
tests_unit_check_stats_count_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_stats_count_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_stats_count_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_report_SOURCES = tests/unit/check_report.c tests/unit/unit.h
tests_unit_check_report_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_report_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_report_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_os_fault_SOURCES = tests/unit/check_os_fault.c tests/unit/unit.h
tests_unit_check_os_fault_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_os_fault_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_os_fault_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_huge_SOURCES = tests/unit/check_huge.c tests/unit/unit.h
tests_unit_check_huge_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_huge_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_huge_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_guarded_SOURCES = tests/unit/check_guarded.c tests/unit/unit.h
tests_unit_check_guarded_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_guarded_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_guarded_LDFLAGS = $(UNIT_TEST_LINKFLAGS)
tests_unit_check_prof_SOURCES = tests/unit/check_prof.c tests/unit/unit.h
tests_unit_check_prof_CFLAGS = $(UNIT_TEST_CFLAGS)
tests_unit_check_prof_LDADD = $(UNIT_TEST_LIBS)
tests_unit_check_prof_LDFLAGS = $(UNIT_TEST_LINKFLAGS)

include tests/integration.mk
include tests/numa/local.mk
include tests/stats/local.mk
include tests/mpi/local.mk
include tests/prof/local.mk
include tests/inject/local.mk
include tests/fuzz/local.mk
include tests/planted/local.mk

LAYER_TESTS = tests/layers/layers.sh
EXTRA_DIST += $(LAYER_TESTS)

if ENABLE_TESTS
check_PROGRAMS = $(UNIT_TESTS) $(INTEGRATION_PROGS) $(NUMA_PROGS) $(STATS_PROGS) $(INJECT_PROGS) $(PLANTED_PROGS) \
	$(PROF_PROGS)
check_LTLIBRARIES = $(INTEGRATION_LIBS) $(INJECT_LIBS)
TESTS = $(UNIT_TESTS) $(INTEGRATION_TESTS) $(MAN_TESTS) $(NUMA_TESTS) $(STATS_TESTS) $(MPI_TESTS) $(PKG_TESTS) \
	$(LAYER_TESTS) $(INJECT_TESTS) $(FUZZ_TESTS) $(PLANTED_TESTS) $(PROF_TESTS)
endif

# The long tests (2 minutes of fuzzing, the 64-thread soak) start after the
# stress tests that are bounded in time and count what they did in that
# time, so that they do not take the CPU from them in make -j2 check.
TIME_BOUNDED_LOGS = tests/stress/stress_threads.log tests/stress/purge.log tests/stress/stress_churn.log \
	tests/stress/stress_oom.log
tests/fuzz/fuzz.log tests/stress/soak.log: $(TIME_BOUNDED_LOGS)

# Unit tests only (for sanitizer and valgrind builds, where the malloc entry
# points must stay the tool's own). check-unit adds the failure-injection
# sweep, which links the internals too: every 7th N (MPCA_CHECK_QUICK), so
# that the failure paths also run under the sanitizers.
check-unit:
	MPCA_CHECK_QUICK=1 $(MAKE) $(AM_MAKEFLAGS) check TESTS="$(UNIT_TESTS) tests/inject/inject_sweep"

# The hardened build (configure --enable-hardened, in a build tree of its
# own): the unit tests and every test of the real library but the long and
# the machine-level ones (soak, fuzzing, purge counts, valgrind, NUMA VM,
# MPI, packaging).
# (not the heap profiler's: the hardened build ignores MPCALLOC_PROF)
HARDENED_TESTS = $(UNIT_TESTS) $(INTEGRATION_CORE_TESTS) tests/inject/inject_sweep $(PLANTED_TESTS)
check-hardened:
	@grep -q -- '-DMPCA_HARDENED' Makefile || { echo "check-hardened: configure with --enable-hardened first" >&2; exit 1; }
	MPCA_CHECK_QUICK=1 $(MAKE) $(AM_MAKEFLAGS) check TESTS="$(HARDENED_TESTS)"

check-valgrind: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do \
	  echo "valgrind $$t"; \
	  CK_TIMEOUT_MULTIPLIER=10 valgrind -q --error-exitcode=99 --leak-check=no ./$$t >/dev/null || exit 1; \
	done
.PHONY: check-unit check-valgrind check-hardened
