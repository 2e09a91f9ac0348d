# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# NUMA placement tests (included from tests/local.mk, which adds
# $(NUMA_PROGS) to check_PROGRAMS and $(NUMA_TESTS) to TESTS):
#   check_numa_unit  topology parsing on fake sysfs trees, node of a CPU
#                    mask, placement entry points on this machine (internals)
#   check_numa_api   mpc_alloc_numa_rebind / mpc_alloc_on_node /
#                    mpc_alloc_numa_node through the real library
#   vm.sh            boots a two-node x86-64 machine under qemu and checks
#                    page placement there (77 when qemu or a kernel is missing)

NUMA_PROGS = \
	tests/numa/check_numa_unit \
	tests/numa/check_numa_api

NUMA_TESTS = \
	tests/numa/check_numa_unit \
	tests/numa/check_numa_api \
	tests/numa/vm.sh

tests_numa_check_numa_unit_SOURCES = tests/numa/check_numa_unit.c tests/unit/unit.h
tests_numa_check_numa_unit_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_numa_check_numa_unit_LDADD = lib/libmpcalloc_core.la $(CHECK_LIBS) -lpthread
tests_numa_check_numa_unit_LDFLAGS = -no-install

tests_numa_check_numa_api_SOURCES = tests/numa/check_numa_api.c
tests_numa_check_numa_api_CFLAGS = $(AM_CFLAGS) $(MPCA_NOBUILTIN_CFLAGS) $(CHECK_CFLAGS)
tests_numa_check_numa_api_LDADD = lib/libmpcalloc.la $(CHECK_LIBS) -lpthread
tests_numa_check_numa_api_LDFLAGS = -no-install

# vm.sh compiles numa_vm.c together with the allocator's sources into one
# static program, the /init of the virtual machine.
EXTRA_DIST += tests/numa/vm.sh tests/numa/numa_vm.c
