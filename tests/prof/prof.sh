#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The heap profiler (MPCALLOC_PROF) on tests/prof/prof_sites, whose
# allocation sites and sizes are known (it prints what each site holds):
#  - at one sample every 16 KiB (seeded: the same samples every run), the
#    peak profile's estimate of each site's bytes is within 10 % of the
#    truth, for small, medium, huge and realloc'ed blocks, and its total
#    within 5 % of the peak the statistics report; the live profile dumped
#    at the peak by mpc_alloc_prof_dump says the same; the profile at exit
#    holds only what was left alive (the leak);
#  - at the default rate (one sample every 512 KiB), the bytes a site
#    allocated in all (1 GiB of blocks freed at once) are within 10 %;
#  - google-pprof reads the files: its top functions are the sites, with
#    their names, and none of the allocator's; the call graph (--dot) and
#    the stacks of a flame graph (--collapsed) name them too; pprof (go
#    tool pprof) when Go is installed;
#  - mpcalloc report --prof names the sites; the launcher's --prof,
#    --prof-file and --prof-sample; a bad value of MPCALLOC_PROF_SAMPLE and
#    an unwritable MPCALLOC_PROF_FILE get one line each; with profiling off
#    nothing is written and mpc_alloc_prof_dump fails with ENOTSUP.
# About 10 s on 2 cores. Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
need python3
prog=$top_builddir/tests/prof/prof_sites
launcher=$top_builddir/tools/mpcalloc
report="$launcher report --prof"
[ -x "$prog" ] || fail "$prog not built"
[ -x "$launcher" ] || fail "$launcher not built (configure makes it)"

# check_sites TRUTH REPORT.json WHAT COLUMN TOLERANCE: every site of
# prof_sites (but those with nothing in COLUMN: live or alloc) within
# TOLERANCE (a fraction) of the truth in the report's figures (bytes or
# alloc_bytes).
check_sites() {
	python3 - "$@" <<'EOF_PY'
import json, sys
truth_file, report_file, what, column, tol = sys.argv[1:6]
truth = {}
for line in open(truth_file):
    f = line.split()
    if f[0] == "site":
        truth[f[1]] = {"live": int(f[3]), "alloc": int(f[5])}
rep = json.load(open(report_file))
key = "bytes" if column == "live" else "alloc_bytes"
got = {}
for s in rep["sites"] + rep["allocated"]:
    name = s["site"].split(" ")[0]
    got.setdefault(name, {})[s["site"]] = s[key]
bad = 0
for name, t in sorted(truth.items()):
    want = t[column]
    have = sum(got.get(name, {}).values())
    if want == 0:
        continue
    err = have / want - 1
    print("%s %-12s %s: %12d estimated, %12d true, %+6.1f%%" % (what, name, column, have, want, 100 * err))
    if abs(err) > float(tol):
        bad += 1
sys.exit(1 if bad else 0)
EOF_PY
}

# 1. accuracy at one sample every 16 KiB; the live profile at the peak
env MPCALLOC_PROF=1 MPCALLOC_PROF_SAMPLE=16K MPCALLOC_PROF_SEED=1 MPCALLOC_PROF_FILE="$tmp/a" \
	MPCALLOC_STATS=json MPCALLOC_STATS_FILE="$tmp/a.json" LD_PRELOAD="$MPCA_TEST_LIB" \
	"$prog" 24 64 "$tmp/live-%p.heap" >"$tmp/truth" 2>"$tmp/err" || fail "prof_sites failed: $(cat "$tmp/err")"
clean_stderr "$tmp/err" "prof_sites with MPCALLOC_PROF=1"
for f in a.peak.heap a.exit.heap; do
	[ -s "$tmp/$f" ] || fail "no $f: $(ls "$tmp")"
done
live=$(ls "$tmp"/live-*.heap) || fail "mpc_alloc_prof_dump wrote no live-PID.heap: $(ls "$tmp")"
head -1 "$tmp/a.peak.heap" | grep -Eq '^heap profile: [0-9]+: [0-9]+ \[ *[0-9]+: [0-9]+\] @ heapprofile$' ||
	fail "not a heap profile's first line: $(head -1 "$tmp/a.peak.heap")"
grep -q '^MAPPED_LIBRARIES:$' "$tmp/a.peak.heap" || fail "no MAPPED_LIBRARIES in the profile"
$report --json --top 50 "$tmp/a.peak.heap" >"$tmp/peak.json" || fail "mpcalloc report --prof failed"
check_sites "$tmp/truth" "$tmp/peak.json" peak live 0.10 || fail "a site's bytes at the peak are off by more than 10 % (above)"
$report --json --top 50 "$live" >"$tmp/live.json" || fail "mpcalloc report --prof on the dump failed"
check_sites "$tmp/truth" "$tmp/live.json" dump live 0.10 || fail "a site's bytes in the dump are off by more than 10 % (above)"
python3 - "$tmp/truth" "$tmp/peak.json" "$tmp/a.json" <<'EOF_PY' || fail "the peak profile's total is off (above)"
import json, sys
truth = {l.split()[0]: int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("peak ")}
est = json.load(open(sys.argv[2]))["total"]
stats = json.load(open(sys.argv[3]))["peak_in_use"]
err = est / stats - 1
print("peak profile: %d bytes estimated, statistics' peak %d (%+.1f%%), the sites' own %d" % (est, stats, 100 * err, truth["peak"]))
sys.exit(0 if abs(err) <= 0.05 else 1)
EOF_PY
# the leak report: what was left alive at exit is the leak, and only it
$report --json --top 50 "$tmp/a.exit.heap" >"$tmp/exit.json" || fail "mpcalloc report --prof on the exit profile failed"
python3 - "$tmp/truth" "$tmp/exit.json" <<'EOF_PY' || fail "the profile at exit is not the leak (above)"
import json, sys
truth = {l.split()[1]: int(l.split()[3]) for l in open(sys.argv[1]) if l.startswith("site ")}
d = json.load(open(sys.argv[2]))
assert d["kind"] == "exit", d["kind"]
top = d["sites"][0]
assert top["site"].startswith("site_leak "), top["site"]
assert abs(top["bytes"] / truth["site_leak"] - 1) <= 0.10, (top["bytes"], truth["site_leak"])
others = sum(s["bytes"] for s in d["sites"][1:] if s["site"].startswith("site_"))
assert others == 0, d["sites"][1:]
print("exit profile: site_leak %d bytes estimated, %d true; no other site left" % (top["bytes"], truth["site_leak"]))
EOF_PY

# 2. the bytes allocated in all, at the default rate
env MPCALLOC_PROF=1 MPCALLOC_PROF_SEED=2 MPCALLOC_PROF_FILE="$tmp/b" LD_PRELOAD="$MPCA_TEST_LIB" \
	"$prog" 4 1024 >"$tmp/truth-b" 2>"$tmp/err" || fail "prof_sites at the default rate failed: $(cat "$tmp/err")"
$report --json --top 50 "$tmp/b.exit.heap" >"$tmp/b.json" || fail "mpcalloc report --prof failed"
grep '^site site_churn ' "$tmp/truth-b" >"$tmp/truth-churn"
check_sites "$tmp/truth-churn" "$tmp/b.json" total alloc 0.10 ||
	fail "the bytes site_churn allocated are off by more than 10 % at the default rate (above)"
grep -q '"sample": 524288,' "$tmp/b.exit.heap" || fail "the default rate is not 512 KiB"

# 3. pprof
if command -v google-pprof >/dev/null 2>&1; then
	google-pprof --text "$prog" "$tmp/a.peak.heap" >"$tmp/pprof.txt" 2>"$tmp/pprof.err" ||
		fail "google-pprof --text failed: $(cat "$tmp/pprof.err")"
	cat "$tmp/pprof.txt"
	for s in site_small site_page site_medium site_huge site_grow site_leak; do
		grep -Eq "^ +[0-9.]+ +[0-9.]+% .* $s$" "$tmp/pprof.txt" || fail "google-pprof does not name $s"
	done
	if grep -E ' (mpca_|sample_|malloc$|calloc$|realloc$)' "$tmp/pprof.txt"; then
		fail "google-pprof shows the allocator's own functions (above)"
	fi
	google-pprof --dot "$prog" "$tmp/a.peak.heap" 2>/dev/null | grep -q 'site_medium' ||
		fail "google-pprof --dot (the call graph) does not name site_medium"
	google-pprof --collapsed "$prog" "$tmp/a.peak.heap" 2>/dev/null |
		grep -Eq '(^|;)main(<[0-9a-f]+>)?;keep(<[0-9a-f]+>)?;site_small(<[0-9a-f]+>)? [0-9]+$' ||
		fail "google-pprof --collapsed (flame graph stacks) has no main;keep;site_small"
	echo "ok: google-pprof names the sites (text, graph, flame graph stacks)"
else
	echo "note: google-pprof is not installed (Debian package google-perftools): not checked"
fi
if command -v go >/dev/null 2>&1; then
	timeout 300 go tool pprof -top "$prog" "$tmp/a.peak.heap" >"$tmp/gopprof.txt" 2>"$tmp/gopprof.err" ||
		fail "go tool pprof failed: $(cat "$tmp/gopprof.err")"
	grep -q ' site_huge$' "$tmp/gopprof.txt" || fail "go tool pprof does not name site_huge: $(cat "$tmp/gopprof.txt")"
	echo "ok: go tool pprof names the sites"
fi

# 4. the report's text
$report "$tmp/a.peak.heap" >"$tmp/table" || fail "mpcalloc report --prof (text) failed"
cat "$tmp/table"
for s in site_small site_page site_medium site_huge site_grow site_leak; do
	grep -Eq "^ +[0-9.]+ [KMG]iB +[0-9.]+%.* $s \(prof_sites\.c:[0-9]+\)$" "$tmp/table" || fail "the report does not name $s"
done

# 5. the launcher, bad values, profiling off
"$launcher" --prof-file="$tmp/l-%p" --prof-sample=64K -- "$prog" 2 0 >/dev/null 2>"$tmp/err" ||
	fail "the launcher with --prof-file failed: $(cat "$tmp/err")"
ls "$tmp"/l-[0-9]*.peak.heap "$tmp"/l-[0-9]*.exit.heap >/dev/null || fail "--prof-file: no l-PID.*.heap: $(ls "$tmp")"
grep -q '"sample": 65536,' "$tmp"/l-*.peak.heap || fail "--prof-sample=64K not used"
(cd "$tmp" && "$launcher" --prof -- "$prog" 1 0 >/dev/null) || fail "the launcher with --prof failed"
ls "$tmp"/mpcalloc-prof.[0-9]*.peak.heap >/dev/null || fail "--prof: no mpcalloc-prof.PID.peak.heap: $(ls "$tmp")"

env MPCALLOC_PROF=1 MPCALLOC_PROF_SAMPLE=lots MPCALLOC_PROF_FILE="$tmp/c" LD_PRELOAD="$MPCA_TEST_LIB" \
	"$prog" 1 0 >/dev/null 2>"$tmp/err" || fail "prof_sites with a bad MPCALLOC_PROF_SAMPLE failed"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^mpcalloc: MPCALLOC_PROF_SAMPLE='lots': not a number; using the default 512K$" "$tmp/err" ||
	fail "MPCALLOC_PROF_SAMPLE=lots: not the one line expected: $(cat "$tmp/err")"
env MPCALLOC_PROF=1 MPCALLOC_PROF_FILE="$tmp/no/such/dir/p" LD_PRELOAD="$MPCA_TEST_LIB" \
	"$prog" 1 0 >/dev/null 2>"$tmp/err" || fail "prof_sites with an unwritable MPCALLOC_PROF_FILE failed"
[ "$(wc -l <"$tmp/err")" -eq 1 ] &&
	grep -q "^mpcalloc: cannot write the heap profiles $tmp/no/such/dir/p.peak.heap and $tmp/no/such/dir/p.exit.heap (errno 2); MPCALLOC_PROF_FILE names their prefix$" "$tmp/err" ||
	fail "unwritable MPCALLOC_PROF_FILE: not the one line expected: $(cat "$tmp/err")"

mkdir "$tmp/off"
rc=0
(cd "$tmp/off" && env LD_PRELOAD="$MPCA_TEST_LIB" "$prog" 1 0 "$tmp/off/dump.heap" >/dev/null 2>"$tmp/err") || rc=$?
[ $rc -eq 3 ] && grep -q 'mpc_alloc_prof_dump: Operation not supported' "$tmp/err" ||
	fail "with profiling off, mpc_alloc_prof_dump did not fail with ENOTSUP (exit $rc): $(cat "$tmp/err")"
[ -z "$(ls "$tmp/off")" ] || fail "with profiling off, files were written: $(ls "$tmp/off")"

# a file that is not a profile: one line, the others still reported
echo 'hello' >"$tmp/not.heap"
rc=0
$report "$tmp/not.heap" "$tmp/a.peak.heap" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "not.heap: not a heap profile" "$tmp/err" ||
	fail "mpcalloc report --prof on a bad file (exit $rc): $(cat "$tmp/err")"
echo "PASS: heap profiles: estimates per site, pprof, mpcalloc report --prof, the launcher, bad input"
