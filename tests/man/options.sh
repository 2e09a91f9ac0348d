#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Tests that the ENVIRONMENT section of man/mpcalloc.7 and the option table
# of lib/mpca_config.h (the X(NAME, ...) entries of MPCA_OPTIONS) never
# drift: every option has an entry (a .TP tag ".B MPCALLOC_<NAME>") in the
# section, and every MPCALLOC_<NAME> the section mentions is in the table.
# Exit 0 pass, 1 fail.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

table=$srcdir/lib/mpca_config.h
page=$srcdir/man/mpcalloc.7
for f in "$table" "$page"; do
	if [ ! -r "$f" ]; then
		echo "FAIL: cannot read $f" >&2
		exit 1
	fi
done

# Option names, one a line, in table order.
options=$(awk '
	/^#define[ \t]+MPCA_OPTIONS\(X\)/ { inside = 1; sub(/^#define[ \t]+MPCA_OPTIONS\(X\)/, "") }
	inside {
		line = $0
		while (match(line, /(^|[^A-Za-z0-9_])X\([ \t]*[A-Z][A-Z0-9_]*[ \t]*,/)) {
			name = substr(line, RSTART, RLENGTH)
			sub(/^.*X\([ \t]*/, "", name)
			sub(/[ \t]*,$/, "", name)
			print name
			line = substr(line, RSTART + RLENGTH)
		}
		if ($0 !~ /\\$/)
			exit
	}' "$table")
if [ -z "$options" ]; then
	echo "FAIL: no X(NAME, ...) entry found in #define MPCA_OPTIONS(X) of $table" >&2
	exit 1
fi

# The ENVIRONMENT section, up to the next .SH.
section=$(awk '
	/^\.SH[ \t]/ { inside = ($0 ~ /^\.SH[ \t]+"?ENVIRONMENT"?[ \t]*$/) }
	inside' "$page")
if [ -z "$section" ]; then
	echo "FAIL: no ENVIRONMENT section in $page" >&2
	exit 1
fi
# Names that head an entry: the line after .TP or .TQ is ".B MPCALLOC_NAME".
entries=$(printf '%s\n' "$section" | awk '
	tag && /^\.BR?[ \t]+MPCALLOC_[A-Z]/ { sub(/^\.BR?[ \t]+MPCALLOC_/, ""); print $1 }
	{ tag = ($0 ~ /^\.T[PQ]([ \t]|$)/) }')
mentioned=$(printf '%s\n' "$section" | grep -o 'MPCALLOC_[A-Z][A-Z0-9_]*' | sed 's/^MPCALLOC_//' | sort -u)

failures=0
for o in $options; do
	if ! printf '%s\n' "$entries" | grep -qx "$o"; then
		echo "FAIL: MPCALLOC_$o is in the option table ($table) but has no entry in the ENVIRONMENT section of $page" >&2
		failures=$((failures + 1))
	fi
done
for m in $mentioned; do
	if ! printf '%s\n' "$options" | grep -qx "$m"; then
		echo "FAIL: the ENVIRONMENT section of $page names MPCALLOC_$m, which is not in the option table ($table)" >&2
		failures=$((failures + 1))
	fi
done

if [ "$failures" -ne 0 ]; then
	exit 1
fi
echo "PASS: $(echo "$options" | wc -l) options documented: $(echo "$options" | tr '\n' ' ')"
exit 0
