#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The heap profiles of an MPI job: tests/mpi/prof_mpi.c, built with mpicc,
# runs as four ranks under Open MPI's mpirun through the launcher of the
# build tree (--prof --prof-file=prof-%r --prof-sample=4K), each rank
# writing prof-R.peak.heap and prof-R.exit.heap; `mpcalloc report --prof`
# merges the peak profiles: one job of four ranks on one host, site_field
# the top call site summed over the ranks, largest on rank 2, which peaks
# highest and whose top site it is too, within 10 % of what the program
# held; the NUMA node of each site named; --json and --plot.
#
# Open MPI's settings for a sandbox are in tests/mpi/common.sh. About 20 s
# on a 2-core machine. Exit 0 pass, 1 fail, 77 skip (Open MPI or python3
# missing).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/mpi/common.sh"
mpi_program prof_mpi
np=4

rc=0
run_mpi $np "$launcher" --prof --prof-file="$tmp/prof-%r" --prof-sample=4K -- "$tmp/prof_mpi" \
	>"$tmp/out" 2>"$tmp/err" || rc=$?
cat "$tmp/out"
if [ $rc -ne 0 ]; then
	cat "$tmp/err"
	[ $rc -ne 124 ] || fail "the MPI job did not end within 120 s"
	fail "the MPI job failed (exit status $rc)"
fi
grep 'mpcalloc:' "$tmp/err" && fail "the library complained (above)"
for r in 0 1 2 3; do
	grep -Eq "^rank $r: field [0-9]+ halo [0-9]+$" "$tmp/out" || fail "rank $r did not finish"
	[ -s "$tmp/prof-$r.peak.heap" ] && [ -s "$tmp/prof-$r.exit.heap" ] || fail "no profiles of rank $r: $(ls "$tmp")"
done

"$launcher" report --prof "$tmp"/prof-*.peak.heap >"$tmp/table" 2>"$tmp/report.err" ||
	fail "mpcalloc report --prof failed: $(cat "$tmp/report.err")"
cat "$tmp/table"
[ ! -s "$tmp/report.err" ] || fail "mpcalloc report --prof complained: $(cat "$tmp/report.err")"
grep -Eq '^libmpcalloc heap profiles of job [^ ]+ \(at the peak of bytes in use\): 4 ranks on 1 host, one sample every 4.0 KiB$' \
	"$tmp/table" || fail "no heading naming the job, 4 ranks, 1 host"
grep -Eq '^top call sites of rank 2 \(' "$tmp/table" || fail "rank 2 is not the rank that peaks highest"
grep -Eq '^ +largest on rank 2 \(' "$tmp/table" || fail "no site is named largest on rank 2"

"$launcher" report --prof --json "$tmp"/prof-*.peak.heap >"$tmp/report.json" || fail "mpcalloc report --prof --json failed"
python3 - "$tmp/report.json" "$tmp/out" "$np" <<'EOF_PY' || fail "the merged profile of the job is wrong (above)"
import json, re, sys
d = json.load(open(sys.argv[1]))
held = {int(m.group(1)): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"^rank (\d+): field (\d+) halo (\d+)$", open(sys.argv[2]).read(), re.M)}
np = int(sys.argv[3])
assert [r["rank"] for r in d["ranks"]] == list(range(np)), d["ranks"]
assert d["job"] is not None and all(r["job"] == d["job"] for r in d["ranks"]), d["job"]
assert d["kind"] == "peak" and d["missing_ranks"] == [] and d["left_out"] == [], d
top = d["sites"][0]
assert top["site"].startswith("site_field "), top["site"]
truth = sum(f for f, h in held.values())
print("site_field over the job: %d estimated, %d true (%+.1f%%)" % (top["bytes"], truth, 100.0 * (top["bytes"] / truth - 1)))
assert abs(top["bytes"] / truth - 1) <= 0.10
assert top["ranks"][0]["rank"] == 2 and len(top["ranks"]) == np, top["ranks"]
per_rank = {r["rank"]: r["bytes"] for r in top["ranks"]}
for r, (f, h) in held.items():
    assert abs(per_rank[r] / f - 1) <= 0.15, (r, per_rank[r], f)
assert top["nodes"] and all("node" in n and n["bytes"] > 0 for n in top["nodes"]), top["nodes"]
assert d["highest"]["rank"] == 2 and d["highest"]["sites"][0]["site"].startswith("site_field "), d["highest"]
halo = [s for s in d["sites"] if s["site"].startswith("site_halo ")]
assert halo and abs(halo[0]["bytes"] / sum(h for f, h in held.values()) - 1) <= 0.10, halo
print("merged profile of the job: %d ranks, job %s, rank 2 peaks highest" % (np, d["job"]))
EOF_PY
if command -v gnuplot >/dev/null 2>&1; then
	"$launcher" report --prof --plot "$tmp/sites.png" "$tmp"/prof-*.peak.heap >/dev/null || fail "--plot failed"
	[ -s "$tmp/sites.png" ] || fail "--plot wrote no picture"
fi
echo "PASS: heap profiles of an MPI job of $np ranks, merged by mpcalloc report --prof"
