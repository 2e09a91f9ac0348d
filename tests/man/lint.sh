#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Lints every manual page under $srcdir/man: mandoc -Tlint -W warning must be
# silent; lintian's groff check (man --warnings ... -Z) must print nothing on
# stderr; lexgrog must parse the NAME line (lintian's bad-whatis-entry).
# Exit 0 pass, 77 skip (mandoc missing, after the other checks), 1 fail.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

pages=
for page in "$srcdir"/man/*.[1-9]; do
	[ -f "$page" ] && pages="$pages $page"
done
if [ -z "$pages" ]; then
	echo "FAIL: no manual page found in $srcdir/man" >&2
	exit 1
fi

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }

# lintian runs man-db's man; another man(1) may not know these options.
use_man=no
if have man && man --version 2>/dev/null | grep -q '^man 2'; then
	use_man=yes
else
	echo "SKIP (part): man-db's man is not installed; groff check not run"
fi
have lexgrog || echo "SKIP (part): lexgrog (man-db) is not installed; NAME check not run"

for page in $pages; do
	name=${page#"$srcdir"/}

	if have mandoc; then
		rc=0
		mandoc -Tlint -W warning "$page" >"$out" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ] || [ -s "$out" ]; then
			fail "mandoc -Tlint -W warning $name (exit $rc):"
			sed 's/^/    | /' "$out" >&2
		fi
	fi

	if [ "$use_man" = yes ]; then
		rc=0
		MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" \
			2>"$out" >/dev/null || rc=$?
		if [ "$rc" -ne 0 ] || [ -s "$out" ]; then
			fail "man --warnings $name (exit $rc):"
			sed 's/^/    | /' "$out" >&2
		fi
	fi

	if have lexgrog; then
		rc=0
		lexgrog "$page" >"$out" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ] || ! grep -q ': ".* - ' "$out"; then
			fail "lexgrog cannot parse the NAME line of $name (exit $rc):"
			sed 's/^/    | /' "$out" >&2
		fi
	fi
done

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
if ! have mandoc; then
	echo "SKIP: mandoc is not installed (apt-get install mandoc)"
	exit 77
fi
echo "PASS: $(echo "$pages" | wc -w) manual pages"
exit 0
