#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Run the demo workload with the system allocator, then with libmpcalloc
# preloaded (and with jemalloc, tcmalloc and mimalloc when installed), and
# print the figures side by side. Usage: run-demo.sh BUILD_DIR [SCALE]
set -eu
build=${1:?usage: run-demo.sh BUILD_DIR [SCALE]}
scale=${2:-1}
demo="$build/demo/mpcalloc-demo"
lib="$build/lib/.libs/libmpcalloc.so"
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

run() {
  name=$1
  preload=$2
  if [ -n "$preload" ] && [ ! -e "$preload" ]; then
    return
  fi
  printf '\n== %s ==\n' "$name"
  if [ -n "$preload" ]; then
    # the library must really be mapped, or the comparison is a lie
    # shellcheck disable=SC2002 # cat is the preloaded process reading its own maps
    LD_PRELOAD=$preload cat /proc/self/maps | grep -q "$(basename "$preload")" || {
      echo "$preload is not mapped under LD_PRELOAD" >&2
      exit 1
    }
    LD_PRELOAD=$preload "$demo" "$scale"
  else
    "$demo" "$scale"
  fi
}

echo "libmpcalloc demo: the same program, five allocators (scale $scale)"
run "glibc (system malloc)" ""
run "libmpcalloc" "$lib"
run "jemalloc" "/usr/lib/$multiarch/libjemalloc.so.2"
run "tcmalloc" "/usr/lib/$multiarch/libtcmalloc_minimal.so.4"
run "mimalloc" "/usr/lib/$multiarch/libmimalloc.so.2"
