#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# MPCALLOC_STATS and MPCALLOC_STATS_FILE with the library preloaded in real
# programs: the report goes to stderr (text or JSON), or to the file named,
# "%p" replaced by the pid so that the processes of one job (MPI ranks, a
# shell pipeline) never overwrite each other's, "%r" by the rank a launcher's
# variables give and "%h" by the host; a bad value gets one line
# on stderr and no report. The programs are ones that allocate and end
# with exit(3) (sort, python3): dash ends with _exit(2), which runs no
# destructor, so it never reports. Exit 0 pass, 1 fail, 77 skip (no python3).

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../override/common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"
need python3
checker=$srcdir/tests/stats/check_json.py

# text on stderr, program output untouched
printf 'b\na\n' >"$tmp/in"
MPCALLOC_STATS=text preload sort "$tmp/in" >"$tmp/out" 2>"$tmp/err" || fail "sort under MPCALLOC_STATS=text failed"
[ "$(cat "$tmp/out")" = "$(printf 'a\nb')" ] || fail "program output changed by MPCALLOC_STATS=text"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/err" || fail "no text report on stderr: $(cat "$tmp/err")"

# JSON on stderr parses
# (one process: a python3 found through a wrapper script would add reports)
MPCALLOC_STATS=json preload sort "$tmp/in" >/dev/null 2>"$tmp/err.json" ||
	fail "sort under MPCALLOC_STATS=json failed"
python3 "$checker" "$tmp/err.json" || fail "JSON report on stderr (above)"

# %p: one file per process, named after its pid; %% is a percent sign
for f in pid1 pid2; do
	# shellcheck disable=SC2016 # $$ is for the shell under test, which execs sort
	MPCALLOC_STATS=json MPCALLOC_STATS_FILE="$tmp/stats.%p.100%%.json" \
		preload sh -c 'echo $$ >"$1"; exec sort "$2"' sh "$tmp/$f" "$tmp/in" >/dev/null 2>"$tmp/err" ||
		fail "sort with MPCALLOC_STATS_FILE failed"
	[ ! -s "$tmp/err" ] || fail "messages on stderr with MPCALLOC_STATS_FILE: $(cat "$tmp/err")"
done
[ "$(cat "$tmp/pid1")" != "$(cat "$tmp/pid2")" ] || skip "the two processes got the same pid"
for f in pid1 pid2; do
	pid=$(cat "$tmp/$f")
	[ -s "$tmp/stats.$pid.100%.json" ] || fail "no report in $tmp/stats.$pid.100%.json: $(ls "$tmp")"
	python3 "$checker" "$tmp/stats.$pid.100%.json" || fail "report of pid $pid"
done

# %r: the rank the launcher's variables give (here Open MPI's and Slurm's;
# the first in the documented order wins), %h: the host name
host=$(uname -n)
OMPI_COMM_WORLD_RANK=3 OMPI_COMM_WORLD_SIZE=4 SLURM_PROCID=9 MPCALLOC_STATS=json \
	MPCALLOC_STATS_FILE="$tmp/rank-%r-%h.json" preload sort "$tmp/in" >/dev/null 2>"$tmp/err" ||
	fail "sort with %r and %h failed"
[ -s "$tmp/rank-3-$host.json" ] || fail "no report in $tmp/rank-3-$host.json: $(ls "$tmp")"
python3 "$checker" "$tmp/rank-3-$host.json" || fail "report of rank 3"
python3 - "$tmp/rank-3-$host.json" "$host" <<'EOF_PY' || fail "rank 3: wrong job fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["rank"] == 3 and d["ranks"] == 4 and d["rank_from"] == "OMPI_COMM_WORLD_RANK", d
assert d["host"] == sys.argv[2] and d["job"] is None, d
EOF_PY
# no launcher: %r is the pid, the rank null, and the text report says the host
# shellcheck disable=SC2016 # $$ is for the shell under test, which execs sort
MPCALLOC_STATS=text MPCALLOC_STATS_FILE="$tmp/norank-%r.txt" \
	preload sh -c 'echo $$ >"$1"; exec sort "$2"' sh "$tmp/pid3" "$tmp/in" >/dev/null 2>"$tmp/err" ||
	fail "sort with %r and no rank failed"
pid=$(cat "$tmp/pid3")
[ -s "$tmp/norank-$pid.txt" ] || fail "no report in $tmp/norank-$pid.txt: $(ls "$tmp")"
grep -Eq "^  process        host $host; peak RSS [0-9]+ bytes; page faults [0-9]+ minor, [0-9]+ major$" \
	"$tmp/norank-$pid.txt" || fail "text report: no process line: $(head -3 "$tmp/norank-$pid.txt")"

# a file that cannot be opened: one message, the report goes to stderr
MPCALLOC_STATS=text MPCALLOC_STATS_FILE="$tmp/no/such/dir/%p" preload sort "$tmp/in" >/dev/null 2>"$tmp/err" ||
	fail "sort with an unwritable MPCALLOC_STATS_FILE failed"
grep -q 'cannot open MPCALLOC_STATS_FILE' "$tmp/err" || fail "no message about the unwritable file"
grep -q '^mpcalloc .* statistics' "$tmp/err" || fail "no report on stderr after the unwritable file"

# a bad value: exactly one line, no report
MPCALLOC_STATS=yaml preload sort "$tmp/in" >/dev/null 2>"$tmp/err" || fail "sort with MPCALLOC_STATS=yaml failed"
if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q 'MPCALLOC_STATS=' "$tmp/err"; then
	fail "MPCALLOC_STATS=yaml: expected one complaint, got: $(cat "$tmp/err")"
fi

# off (the default) prints nothing
MPCALLOC_STATS=off preload sort "$tmp/in" >/dev/null 2>"$tmp/err" || fail "sort with MPCALLOC_STATS=off failed"
[ ! -s "$tmp/err" ] || fail "MPCALLOC_STATS=off printed: $(cat "$tmp/err")"
echo "PASS: statistics at exit"
