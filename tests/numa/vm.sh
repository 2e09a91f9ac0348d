#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# NUMA placement on a real two-node machine: boots an x86-64 virtual machine
# with two NUMA nodes (one CPU and 512 MiB each) under qemu-system-x86_64,
# whose /init is tests/numa/numa_vm.c linked statically with the allocator's
# sources, and checks the lines it prints on the serial console:
#   NUMA-TEST <name> PASS|FAIL <detail>   ...   NUMA-TESTS-DONE
# The kernel is Debian's linux-image-*-amd64 (CONFIG_NUMA=y), downloaded
# once with apt-get download and extracted (never installed) under
# ${MPCA_NUMA_CACHE:-/var/tmp/mpcalloc-numa} (boot/ only, about 8 MB);
# MPCA_NUMA_KERNEL names another bzImage. Never touches the source tree or
# the host's packages.
# Exit 0 pass, 1 fail, 77 skip (no qemu, cpio, static libc or kernel).

# Package builds (dpkg-buildpackage, rpmbuild) must not reach the network,
# which fetching a kernel would need.
if [ -n "${DEB_BUILD_OPTIONS+x}${DEB_HOST_ARCH:-}${RPM_BUILD_ROOT:-}" ]; then
	echo "SKIP: package build: no kernel download allowed" >&2
	exit 77
fi

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
cc=${MPCA_TEST_CC:-${CC:-cc}}
cache=${MPCA_NUMA_CACHE:-/var/tmp/mpcalloc-numa}
timeout_s=${MPCA_NUMA_TIMEOUT:-120}

skip() {
	echo "SKIP: $*"
	exit 77
}

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	skip "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
command -v cpio >/dev/null 2>&1 || skip "cpio is not installed (Debian package cpio)"
[ "$(uname -m)" = x86_64 ] || skip "the test machine is x86-64: only run on x86-64 hosts"
[ -r "$top_builddir/config.h" ] || skip "no config.h under top_builddir=$top_builddir"

# ---- the kernel -------------------------------------------------------------
find_kernel() {
	for k in "$cache"/kernel/boot/vmlinuz-*-amd64; do
		if [ -r "$k" ]; then
			echo "$k"
			return 0
		fi
	done
	return 1
}

kernel=${MPCA_NUMA_KERNEL:-}
if [ -z "$kernel" ]; then
	if ! kernel=$(find_kernel); then
		if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
			skip "no kernel cached in $cache and no apt-get/dpkg-deb to download one"
		fi
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
		[ -n "$pkg" ] || skip "no kernel cached in $cache and apt knows no linux-image-amd64"
		mkdir -p "$cache" || skip "cannot create the cache directory $cache"
		echo "downloading $pkg into $cache (once)"
		if ! (cd "$cache" && apt-get download -q "$pkg" >download.log 2>&1); then
			skip "could not download $pkg (see $cache/download.log)"
		fi
		# Only the kernel image: the modules (400 MB) are not needed.
		mkdir -p "$cache/kernel"
		for deb in "$cache"/"$pkg"_*.deb; do
			dpkg-deb --fsys-tarfile "$deb" | (cd "$cache/kernel" && tar -xf - ./boot) ||
				skip "could not extract $deb"
			rm -f "$deb"
		done
		kernel=$(find_kernel) || skip "no vmlinuz in $pkg"
	fi
fi
[ -r "$kernel" ] || skip "cannot read the kernel $kernel"

# ---- the init program and the initramfs -------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/mpca-numa-vm.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"

# Every source of the library, plus the test, in one static program.
set -- "$srcdir"/lib/*.c
if ! "$cc" -std=gnu11 -O2 -g0 -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
	-static -pthread -DHAVE_LIBNUMA=1 \
	-I"$top_builddir" -I"$srcdir/include" -I"$srcdir/lib" \
	-o "$work/root/init" "$srcdir/tests/numa/numa_vm.c" "$@" 2>"$work/cc.log"; then
	if grep -q 'cannot find -lc' "$work/cc.log"; then
		cat "$work/cc.log"
		skip "no static C library (Debian package libc6-dev)"
	fi
	cat "$work/cc.log"
	echo "FAIL: cannot build the static test program"
	exit 1
fi

(cd "$work/root" && echo init | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.gz" ||
	{ echo "FAIL: cannot make the initramfs"; exit 1; }

# ---- boot -------------------------------------------------------------------
echo "booting $kernel (2 NUMA nodes, TCG, timeout ${timeout_s} s)"
start=$(date +%s)
timeout "$timeout_s" qemu-system-x86_64 \
	-m 1024 -smp 2 \
	-object memory-backend-ram,id=m0,size=512M \
	-object memory-backend-ram,id=m1,size=512M \
	-numa node,nodeid=0,cpus=0,memdev=m0 \
	-numa node,nodeid=1,cpus=1,memdev=m1 \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-nographic -no-reboot -monitor none -serial stdio \
	-append "console=ttyS0 quiet panic=-1 ${MPCA_NUMA_VM_APPEND:-}" </dev/null >"$work/console.log" 2>&1
rc=$?
end=$(date +%s)
echo "machine ran $((end - start)) s (qemu exit status $rc)"

tr -d '\r' <"$work/console.log" | grep -o 'NUMA-TEST .*' >"$work/results" || true
# The child run with MPCALLOC_NUMA_NODE=5 warns once, before its main runs.
warning="mpcalloc: MPCALLOC_NUMA_NODE='5': no such NUMA node is online; using the default none"
n=$(tr -d '\r' <"$work/console.log" | grep -cxF "$warning")
if [ "$n" -eq 1 ]; then
	echo "NUMA-TEST badnode-warning PASS one line: $warning" >>"$work/results"
else
	echo "NUMA-TEST badnode-warning FAIL $n lines of: $warning" >>"$work/results"
fi
cat "$work/results"
if ! grep -q 'NUMA-TESTS-DONE' "$work/console.log"; then
	echo "--- console (last 40 lines) ---"
	tail -n 40 "$work/console.log"
	if [ "$rc" -eq 124 ]; then
		echo "FAIL: the machine did not finish within ${timeout_s} s"
	else
		echo "FAIL: the machine stopped before NUMA-TESTS-DONE"
	fi
	exit 1
fi
passed=$(grep -c '^NUMA-TEST [^ ]* PASS' "$work/results")
failed=$(grep -c '^NUMA-TEST [^ ]* FAIL' "$work/results")
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
	exit 1
fi
exit 0
