# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Sourced by the tests/mpi scripts after tests/override/common.sh: Open MPI
# in a sandbox (no network, root, 2 cores), set through OMPI_MCA_* variables
# so that the same settings reach every rank, and run_mpi to start a job.
#   btl self,vader (shared memory; "sm" in Open MPI 5) and pml ob1: no
#   network device is probed (TCP, InfiniBand, UCX), and nothing prints
#   warnings about missing ones;
#   btl_*_single_copy_mechanism none: CMA (process_vm_readv) needs ptrace
#   rights that containers often lack;
#   oversubscribe, no binding, and ranks that yield the CPU while they
#   wait (mpi_yield_when_idle): more ranks than cores, on a machine that
#   runs other tests at the same time (make -j);
#   --allow-run-as-root: CI runs as root.
# shellcheck shell=sh

for p in mpirun ompi_info; do
	command -v $p >/dev/null 2>&1 ||
		skip "$p is not installed (Open MPI: Debian packages openmpi-bin and libopenmpi-dev)"
done

if ompi_info 2>/dev/null | grep -q 'MCA btl: vader'; then
	OMPI_MCA_btl=self,vader
	OMPI_MCA_btl_vader_single_copy_mechanism=none
	export OMPI_MCA_btl_vader_single_copy_mechanism
else
	OMPI_MCA_btl=self,sm
	OMPI_MCA_btl_sm_single_copy_mechanism=none
	export OMPI_MCA_btl_sm_single_copy_mechanism
fi
OMPI_MCA_pml=ob1
OMPI_MCA_hwloc_base_binding_policy=none
OMPI_MCA_rmaps_base_oversubscribe=1
OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_btl OMPI_MCA_pml OMPI_MCA_hwloc_base_binding_policy OMPI_MCA_rmaps_base_oversubscribe \
	OMPI_MCA_mpi_yield_when_idle

# run_mpi NP COMMAND...: mpirun of NP ranks, at most 600 s (a hang detector); its exit status
# (124 on timeout).
run_mpi() {
	np=$1
	shift
	as_root=
	[ "$(id -u)" -ne 0 ] || as_root=--allow-run-as-root
	# shellcheck disable=SC2086 # empty or one option
	timeout 600 mpirun $as_root --oversubscribe -np "$np" "$@"
}

# mpi_program NAME [LIBS...]: tests/mpi/NAME.c built with mpicc into
# $tmp/NAME (the test skips without mpicc); python3 is needed, and
# $launcher is the build tree's launcher.
# shellcheck disable=SC2154 # srcdir, top_builddir, tmp: tests/override/common.sh
mpi_program() {
	command -v mpicc >/dev/null 2>&1 || skip "mpicc is not installed (Debian package libopenmpi-dev)"
	need python3
	launcher=$top_builddir/tools/mpcalloc
	[ -x "$launcher" ] || fail "$launcher not built (configure makes it)"
	name=$1
	shift
	mpicc -O2 -g -fno-builtin -o "$tmp/$name" "$srcdir/tests/mpi/$name.c" "$@" 2>"$tmp/cc.log" ||
		fail "mpicc failed: $(cat "$tmp/cc.log")"
}
