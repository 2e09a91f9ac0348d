#!/bin/bash
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Runs the libmpcalloc benchmark suite: every workload under glibc and, by
# LD_PRELOAD, libmpcalloc, jemalloc, tcmalloc and mimalloc, alternating the
# allocators round after round; prints a table of medians and ratios and
# writes CSV files and charts. The work is done by run.py next to this
# script (Python 3 standard library only). `bench/run.sh --help` lists the
# options; bench/README.md explains the workloads and the output.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "bench/run.sh: $python not found; set PYTHON to a Python 3 interpreter" >&2
  exit 1
fi
exec "$python" "$here/run.py" "$@"
