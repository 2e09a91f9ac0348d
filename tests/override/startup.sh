#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Start-up in the library's constructor: a program that never allocates
# (/bin/true) under LD_PRELOAD still gets the documented behaviour of the
# MPCALLOC_* variables: the "did you mean" line for a misspelt name, the
# configuration with MPCALLOC_PRINT_CONFIG=1, the report at exit with
# MPCALLOC_STATS (text and JSON, "heaps 0": nothing was allocated). And the
# lazy path still works when an allocation comes before that constructor
# (the constructor of libearly_ctor.so, preloaded after libmpcalloc, runs
# first): the set-up happens inside that first malloc, once.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

true_prog=$(command -v true) || true
case $true_prog in
/*) ;;
*) true_prog=/bin/true ;; # the shell builtin: use the program
esac
[ -x "$true_prog" ] || skip "no true program"
check_mapped
ctor_lib=$top_builddir/tests/override/.libs/libearly_ctor.so
[ -f "$ctor_lib" ] || fail "$ctor_lib not built"

failures=0
bad() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# a misspelt name: one line, with the hint
rc=0
env MPCALLOC_KEEP_MAXX=8M LD_PRELOAD="$MPCA_TEST_LIB" "$true_prog" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 0 ] || bad "true with MPCALLOC_KEEP_MAXX: exit status $rc"
if [ "$(awk 'END { print NR }' "$tmp/err")" -ne 1 ] || ! grep -q 'did you mean MPCALLOC_KEEP_MAX?' "$tmp/err"; then
	bad "MPCALLOC_KEEP_MAXX=8M with true: expected one 'did you mean MPCALLOC_KEEP_MAX?' line, got: $(cat "$tmp/err")"
else
	echo "ok: $(cat "$tmp/err")"
fi

# the configuration: one line per option of lib/mpca_config.h
env MPCALLOC_PRINT_CONFIG=1 LD_PRELOAD="$MPCA_TEST_LIB" "$true_prog" 2>"$tmp/err" || bad "true with MPCALLOC_PRINT_CONFIG=1 failed"
options=$(grep -c '^  X([A-Z_]*,' "$srcdir/lib/mpca_config.h")
lines=$(grep -c '^mpcalloc: MPCALLOC_[A-Z_]*=.*  (' "$tmp/err" || true)
[ "$lines" -eq "$options" ] && [ "$options" -gt 0 ] ||
	bad "MPCALLOC_PRINT_CONFIG=1 with true: $lines configuration lines for $options options: $(cat "$tmp/err")"
[ "$failures" -ne 0 ] || echo "ok: MPCALLOC_PRINT_CONFIG=1 prints $lines lines for a program that never allocates"

# the report at exit
env MPCALLOC_STATS=text LD_PRELOAD="$MPCA_TEST_LIB" "$true_prog" 2>"$tmp/err" || bad "true with MPCALLOC_STATS=text failed"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/err" || bad "MPCALLOC_STATS=text with true: no report: $(cat "$tmp/err")"
grep -q 'heaps 0$' "$tmp/err" || bad "MPCALLOC_STATS=text with true: not 'heaps 0' (did true allocate?): $(cat "$tmp/err")"
if command -v python3 >/dev/null 2>&1; then
	env MPCALLOC_STATS=json LD_PRELOAD="$MPCA_TEST_LIB" "$true_prog" 2>"$tmp/err.json" || bad "true with MPCALLOC_STATS=json failed"
	python3 "$srcdir/tests/stats/check_json.py" "$tmp/err.json" || bad "MPCALLOC_STATS=json with true: report (above)"
fi
[ "$failures" -ne 0 ] || echo "ok: MPCALLOC_STATS reports for a program that never allocates"

# an allocation before libmpcalloc's constructor: the lazy path, once
env MPCALLOC_PRINT_CONFIG=1 LD_PRELOAD="$MPCA_TEST_LIB $ctor_lib" "$true_prog" 2>"$tmp/err" ||
	bad "true with libearly_ctor.so failed: $(cat "$tmp/err")"
first=$(grep -n 'early_ctor: calling malloc' "$tmp/err" | cut -d: -f1)
config=$(grep -n '^mpcalloc: MPCALLOC_PRINT_CONFIG=1  (' "$tmp/err" | cut -d: -f1)
last=$(grep -n 'early_ctor: malloc returned' "$tmp/err" | cut -d: -f1)
if [ -z "$first" ] || [ -z "$last" ] || [ "$(printf '%s\n' "$config" | grep -c .)" -ne 1 ]; then
	bad "libearly_ctor.so: expected its two lines and one configuration: $(cat "$tmp/err")"
elif [ "$config" -lt "$first" ]; then
	bad "libmpcalloc's constructor ran before libearly_ctor.so's: the lazy path was not exercised: $(cat "$tmp/err")"
elif [ "$config" -gt "$last" ]; then
	bad "the configuration came after the first malloc returned: $(cat "$tmp/err")"
else
	echo "ok: a malloc before libmpcalloc's constructor set it up (configuration at line $config, between $first and $last), once"
fi

[ "$failures" -eq 0 ] || fail "$failures check(s) failed"
exit 0
