#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# A real MPI application: LAMMPS (Debian's lammps package, program lmp) runs
# the Lennard-Jones melt of tests/mpi/melt.lmp as two ranks under mpirun,
# once on glibc's allocator and once through the launcher with JSON
# statistics per rank. The thermodynamic output (every row from "Step" up
# to "Loop time") must be the same, digit for digit, and the two reports
# must make one job of two ranks for `mpcalloc report`. Open MPI's settings
# for a sandbox are in tests/mpi/common.sh. About 10 s on 2 cores.
# Exit 0 pass, 1 fail, 77 skip (no lmp, no Open MPI, no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
command -v lmp >/dev/null 2>&1 || skip "LAMMPS is not installed (Debian package lammps, program lmp)"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/mpi/common.sh"
need python3
launcher=$top_builddir/tools/mpcalloc
[ -x "$launcher" ] || fail "$launcher not built (configure makes it)"

# thermo: the rows of the thermodynamic output of a LAMMPS log
thermo() {
	sed -n '/^ *Step /,/^Loop time/p' "$1" | grep -v '^Loop time'
}

cd "$tmp" || fail "cannot enter $tmp"
for run in glibc mpcalloc; do
	rc=0
	if [ $run = glibc ]; then
		run_mpi 2 lmp -in "$srcdir/tests/mpi/melt.lmp" -var thermo 25 -var steps 200 -log none \
			>"$run.out" 2>"$run.err" || rc=$?
	else
		run_mpi 2 "$launcher" --stats=json --stats-file="$tmp/st-%r.json" -- \
			lmp -in "$srcdir/tests/mpi/melt.lmp" -var thermo 25 -var steps 200 -log none \
			>"$run.out" 2>"$run.err" || rc=$?
	fi
	if [ $rc -ne 0 ]; then
		cat "$run.out" "$run.err"
		fail "LAMMPS on $run failed (exit status $rc)"
	fi
	thermo "$run.out" >"$run.thermo"
	[ "$(wc -l <"$run.thermo")" -eq 10 ] || {
		cat "$run.out"
		fail "LAMMPS on $run: not the 9 rows of thermodynamics and their heading"
	}
done
cat mpcalloc.thermo
if ! cmp -s glibc.thermo mpcalloc.thermo; then
	diff -u glibc.thermo mpcalloc.thermo
	fail "the thermodynamic output of LAMMPS differs under libmpcalloc"
fi
grep 'mpcalloc:' mpcalloc.err && fail "the library complained (above)"

"$launcher" report st-0.json st-1.json >table 2>report.err || fail "mpcalloc report failed: $(cat report.err)"
cat table
[ ! -s report.err ] || fail "mpcalloc report complained: $(cat report.err)"
"$launcher" report --json st-0.json st-1.json >report.json || fail "mpcalloc report --json failed"
python3 - report.json <<'EOF_PY' || fail "the report of the LAMMPS job is wrong (above)"
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["rank"] for r in d["ranks"]] == [0, 1], d["ranks"]
assert d["job"] is not None and d["missing_ranks"] == [], d
assert all(r["peak_in_use"] > 1 << 20 and r["peak_rss"] > r["peak_in_use"] for r in d["ranks"]), d["ranks"]
EOF_PY
echo "PASS: LAMMPS gives the same thermodynamics under libmpcalloc (2 ranks)"
