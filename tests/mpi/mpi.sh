#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# An MPI job under libmpcalloc: tests/mpi/mpi_check.c, built with mpicc,
# runs as four ranks under Open MPI's mpirun through the launcher of the
# build tree (mpirun ... tools/mpcalloc --stats=json --stats-file=st-%r.json
# -- mpi_check), checks its messages and collectives on buffers of 1 byte
# to 24 MiB, and the four reports are put together with `mpcalloc report`:
# one row per rank 0-3, one host, one job, the ranks named by Open MPI's
# variables, remote frees and huge blocks counted.
#
# Open MPI's settings for a sandbox are in tests/mpi/common.sh.
# A minute at most on a 2-core machine (about 10 s here).
# Exit 0 pass, 1 fail, 77 skip (Open MPI or python3 missing).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/mpi/common.sh"
mpi_program mpi_check -lpthread
np=4

rc=0
run_mpi $np "$launcher" --stats=json --stats-file="$tmp/st-%r.json" -- "$tmp/mpi_check" >"$tmp/out" 2>"$tmp/err" || rc=$?
cat "$tmp/out"
if [ $rc -ne 0 ]; then
	cat "$tmp/err"
	[ $rc -ne 124 ] || fail "the MPI job did not end within 120 s"
	fail "the MPI job failed (exit status $rc)"
fi
if grep -v '^$' "$tmp/err" | grep -qv 'mpcalloc'; then
	echo "(stderr of the job:)"
	cat "$tmp/err"
fi
grep 'mpcalloc:' "$tmp/err" && fail "the library complained (above)"
for r in 0 1 2 3; do
	grep -Eq "^rank $r: OK [0-9]+ buffers checked$" "$tmp/out" || fail "rank $r did not check its data"
	[ -s "$tmp/st-$r.json" ] || fail "no report of rank $r: $(ls "$tmp")"
done

"$launcher" report "$tmp"/st-*.json >"$tmp/table" 2>"$tmp/report.err" ||
	fail "mpcalloc report failed: $(cat "$tmp/report.err")"
cat "$tmp/table"
[ ! -s "$tmp/report.err" ] || fail "mpcalloc report complained: $(cat "$tmp/report.err")"
"$launcher" report --json "$tmp"/st-*.json >"$tmp/report.json" || fail "mpcalloc report --json failed"
python3 - "$tmp/report.json" "$tmp" "$np" <<'EOF' || fail "the report of the job is wrong (above)"
import json, sys
d = json.load(open(sys.argv[1]))
np = int(sys.argv[3])
ranks = d["ranks"]
assert [r["rank"] for r in ranks] == list(range(np)), [r["rank"] for r in ranks]
assert len({r["host"] for r in ranks}) == 1 and ranks[0]["host"], [r["host"] for r in ranks]
assert d["job"] is not None and all(r["job"] == d["job"] for r in ranks), d["job"]
assert d["missing_ranks"] == [] and d["left_out"] == [] and d["duplicate_ranks"] == {}, d
for r in ranks:
    f = json.load(open("%s/st-%d.json" % (sys.argv[2], r["rank"])))
    assert f["ranks"] == np and f["rank_from"] in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK"), f["rank_from"]
    # two buffers of 24 MiB at once (ring: the send and the receive buffer)
    assert r["peak_in_use"] >= 48 << 20, (r["rank"], r["peak_in_use"])
    assert f["huge_allocs"] > 0 and f["remote_frees_sent"] > 0, (r["rank"], f["huge_allocs"], f["remote_frees_sent"])
    assert r["peak_rss"] >= r["peak_in_use"] // 2 and r["faults"] > 0, r
for k in ("peak_in_use", "peak_mapped", "cached", "peak_rss"):
    assert d["totals"][k] == sum(r[k] for r in ranks), k
print("report of the job: %d ranks, job %s, peak in use %.1f MiB in all"
      % (len(ranks), d["job"], d["totals"]["peak_in_use"] / 1048576))
EOF
echo "PASS: MPI job of $np ranks under the launcher, and its report"
