#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# `mpcalloc report` (tools/mpcalloc-report through the launcher of the build
# tree) on the JSON reports of four "ranks" of one job: real processes run
# with the library preloaded and Open MPI's variables set, so that no MPI is
# needed here (tests/mpi/mpi.sh does it under mpirun). Checks the table
# (a row per rank, totals, min/median/max, the rank that stands out), the
# --json object, the plot (gnuplot, or the message without it), and bad
# input: a file that is not ours, a truncated one, a text report, a missing
# one, one of another job: one line each naming the file, exit status 1,
# the report of the others still printed.
# Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
need python3
launcher=$top_builddir/tools/mpcalloc
tool=$top_builddir/tools/mpcalloc-report
[ -x "$launcher" ] || fail "$launcher not built (configure makes it)"
[ -f "$tool" ] || fail "$tool not made (configure makes it)"

# Rank 2 holds ten times the memory of the others.
for r in 0 1 2 3; do
	n=2000
	[ "$r" -eq 2 ] && n=20000
	OMPI_COMM_WORLD_RANK=$r OMPI_COMM_WORLD_SIZE=4 OMPI_MCA_ess_base_jobid=4242 \
		"$launcher" --stats=json --stats-file="$tmp/st-%r.json" -- \
		python3 -c "x = [bytearray(1000) for _ in range($n)]" || fail "rank $r did not run"
	[ -s "$tmp/st-$r.json" ] || fail "no report of rank $r"
done

"$launcher" report "$tmp"/st-*.json >"$tmp/table" 2>"$tmp/err" || fail "report failed: $(cat "$tmp/err")"
cat "$tmp/table"
[ ! -s "$tmp/err" ] || fail "report of good files printed on stderr: $(cat "$tmp/err")"
host=$(uname -n)
grep -q "^libmpcalloc statistics of job 4242: 4 ranks on 1 host$" "$tmp/table" || fail "no heading"
for r in 0 1 2 3; do
	grep -Eq "^ +$r +$host +[0-9.]+ [KMG]iB" "$tmp/table" || fail "no row for rank $r"
done
for w in total min median max; do
	grep -Eq "^ *$w +[0-9.]+ [KMG]iB" "$tmp/table" || fail "no $w row"
done
grep -Eq "^  rank 2 \($host\): peak in use [0-9.]+ MiB, [0-9.]+x the median of the other ranks" "$tmp/table" ||
	fail "rank 2 does not stand out"
if grep -E '^  rank [013] ' "$tmp/table"; then
	fail "a rank like the others stands out (above)"
fi

# --json: every rank with rank and host, and totals that add up
"$launcher" report --json "$tmp"/st-*.json >"$tmp/report.json" || fail "report --json failed"
python3 - "$tmp/report.json" "$host" "$tmp" <<'EOF' || fail "report --json is wrong (above)"
import json, sys
d = json.load(open(sys.argv[1]))
ranks = d["ranks"]
assert [r["rank"] for r in ranks] == [0, 1, 2, 3], ranks
assert all(r["host"] == sys.argv[2] for r in ranks), ranks
assert d["job"] == "4242", d["job"]
for k in ("peak_in_use", "peak_mapped", "cached", "faults", "peak_rss"):
    files = [json.load(open("%s/st-%d.json" % (sys.argv[3], i))) for i in range(4)]
    if k != "faults":
        assert d["totals"][k] == sum(f[k] for f in files), k
    assert d["min"][k] <= d["median"][k] <= d["max"][k], k
    assert d["totals"][k] == sum(r[k] for r in ranks), k
assert [o["rank"] for o in d["stand_out"] if o["figure"] == "peak_in_use"] == [2], d["stand_out"]
assert d["missing_ranks"] == [] and d["left_out"] == [], d
EOF

# a missing rank is named
"$launcher" report "$tmp/st-0.json" "$tmp/st-1.json" "$tmp/st-3.json" >"$tmp/table3" || fail "report of 3 failed"
grep -q '^no report from rank 2$' "$tmp/table3" || fail "the missing rank 2 is not named: $(cat "$tmp/table3")"

# bad input: one line per file, the rest of the report printed, exit 1
echo 'not json at all' >"$tmp/garbage.json"
head -c 400 "$tmp/st-1.json" >"$tmp/truncated.json"
echo '{"hello": "world"}' >"$tmp/other-tool.json"
MPCALLOC_STATS=text MPCALLOC_STATS_FILE="$tmp/text.txt" preload sort /dev/null
OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=4 OMPI_MCA_ess_base_jobid=777 MPCALLOC_STATS=json \
	MPCALLOC_STATS_FILE="$tmp/job777.json" preload sort /dev/null
rc=0
"$launcher" report "$tmp"/st-*.json "$tmp/garbage.json" "$tmp/truncated.json" "$tmp/other-tool.json" \
	"$tmp/text.txt" "$tmp/job777.json" "$tmp/absent.json" >"$tmp/table-bad" 2>"$tmp/err-bad" || rc=$?
cat "$tmp/err-bad"
[ "$rc" -eq 1 ] || fail "bad files: exit status $rc, not 1"
cmp -s "$tmp/table" "$tmp/table-bad" || fail "bad files changed the report of the good ones"
[ "$(wc -l <"$tmp/err-bad")" -eq 6 ] || fail "bad files: not one line each"
expect() {
	grep -q "^mpcalloc report: $tmp/$1: $2.*; left out$" "$tmp/err-bad" || fail "$1: no line saying '$2'"
}
expect garbage.json "not a libmpcalloc report (not JSON"
expect truncated.json "truncated or damaged report"
expect other-tool.json "not a libmpcalloc report (no 'version'"
expect text.txt "a text report: only JSON reports are read"
expect job777.json "job 777 (rank 1), not job 4242 like 4 other files"
expect absent.json "cannot read it"
# only bad files: nothing to report, exit 2
rc=0
"$launcher" report "$tmp/garbage.json" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "only a bad file: exit status $rc, not 2"
rc=0
"$launcher" report >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no file: exit status $rc, not 2"
rc=0
"$launcher" report --bogus "$tmp/st-0.json" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "unknown option: exit status $rc, not 2"

# --plot: a PNG with gnuplot, a clear message and exit 1 without it
if command -v gnuplot >/dev/null 2>&1; then
	"$launcher" report --plot "$tmp/ranks.png" "$tmp"/st-*.json >/dev/null || fail "report --plot failed"
	[ "$(head -c 8 "$tmp/ranks.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "--plot did not write a PNG"
else
	echo "note: gnuplot is not installed: the plot itself is not checked"
fi
mkdir "$tmp/nobin"
python=$(python3 -c 'import sys; print(sys.executable)')
rc=0
env PATH="$tmp/nobin" "$python" "$tool" --plot "$tmp/none.png" "$tmp"/st-*.json \
	>"$tmp/table-noplot" 2>"$tmp/err-noplot" || rc=$?
[ "$rc" -eq 1 ] || fail "--plot without gnuplot: exit status $rc, not 1"
grep -q "^mpcalloc report: --plot: gnuplot is not installed (Debian package gnuplot-nox), so $tmp/none.png was not written$" \
	"$tmp/err-noplot" || fail "--plot without gnuplot: $(cat "$tmp/err-noplot")"
cmp -s "$tmp/table" "$tmp/table-noplot" || fail "--plot without gnuplot: the table changed"
[ ! -e "$tmp/none.png" ] || fail "--plot without gnuplot wrote a file"
echo "PASS: mpcalloc report"
