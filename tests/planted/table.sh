#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The planted heap bugs of tests/planted/bugs.c under several allocators,
# as one Markdown table (for bench/RESULTS.md):
#
#   tests/planted/table.sh BUGS NAME=LIB [NAME=LIB ...]
#
# BUGS is the built program (build/tests/planted/bugs); each NAME=LIB runs
# it with LD_PRELOAD=LIB (an empty LIB: no preload, glibc's allocator).
# Each column says what became of each bug: caught (a message, and the
# process stopped), reported (a message, and it went on), stopped (killed
# by a signal without a word), silent, hung, n/a (see bugs.c). The last
# row counts the bugs caught.
set -eu
[ $# -ge 2 ] || {
	echo "usage: $0 BUGS NAME=LIB [NAME=LIB ...]" >&2
	exit 64
}
bugs=$1
shift
[ -x "$bugs" ] || {
	echo "$0: $bugs is not an executable" >&2
	exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/planted-table.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$bugs" --list | awk '{ print $1 }' >"$tmp/names"
header="| bug |"
rule="|---|"
i=0
for spec in "$@"; do
	name=${spec%%=*}
	lib=${spec#*=}
	i=$((i + 1))
	if [ -n "$lib" ]; then
		[ -f "$lib" ] || {
			echo "$0: $lib not found" >&2
			exit 1
		}
		env LD_PRELOAD="$lib" "$bugs" --markdown >"$tmp/col$i" 2>"$tmp/err$i" || true
	else
		"$bugs" --markdown >"$tmp/col$i" 2>"$tmp/err$i" || true
	fi
	header="$header $name |"
	rule="$rule---|"
done
echo "$header"
echo "$rule"
while read -r bug; do
	row="| $bug |"
	j=1
	while [ "$j" -le "$i" ]; do
		cell=$(awk -F' [|] ' -v b="$bug" '$1 == "| " b { sub(/ [|]$/, "", $2); print $2 }' "$tmp/col$j")
		row="$row ${cell:-?} |"
		j=$((j + 1))
	done
	echo "$row"
done <"$tmp/names"
row="| **caught** |"
j=1
while [ "$j" -le "$i" ]; do
	row="$row **$(grep -c '| caught |$' "$tmp/col$j" || true)** of $(wc -l <"$tmp/names") |"
	j=$((j + 1))
done
echo "$row"
