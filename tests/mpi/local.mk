# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# MPI tests (included from tests/local.mk, which adds $(MPI_TESTS) to
# TESTS). They need Open MPI (Debian: openmpi-bin, libopenmpi-dev) and skip
# without it; the library itself never links MPI: it learns the rank from
# the launcher's environment. Open MPI's settings for a sandbox (no network,
# root, 2 cores) are in tests/mpi/common.sh.
#   mpi.sh      mpi_check.c (built with mpicc at test time) as 4 ranks
#               through the launcher: point to point, collectives,
#               MPI_Alloc_mem on 1 B to 24 MiB buffers; the 4 reports
#               through mpcalloc report
#   lammps.sh   LAMMPS (lmp, Debian package lammps) on melt.lmp as 2 ranks:
#               the same thermodynamics as on glibc; skips without lmp
#   prof.sh     prof_mpi.c (mpicc) as 4 ranks with the heap profiler on
#               (--prof): the peak profiles merged by mpcalloc report --prof
# That MPI memory hooks see every munmap/mremap/madvise of the library is
# checked by tests/override/os_hooks (no MPI needed).

MPI_TESTS = \
	tests/mpi/mpi.sh \
	tests/mpi/lammps.sh \
	tests/mpi/prof.sh

EXTRA_DIST += \
	$(MPI_TESTS) \
	tests/mpi/common.sh \
	tests/mpi/mpi_check.c \
	tests/mpi/prof_mpi.c \
	tests/mpi/melt.lmp
