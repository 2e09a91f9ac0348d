#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Bounded fuzzing in make check: the libFuzzer build of fuzz_alloc.c runs
# for MPCA_FUZZ_SECONDS seconds (default 120) from the committed seed corpus
# and the regression inputs (new inputs go to a scratch copy). A model
# violation, a sanitizer report, a crash or a hang fails the test; the
# input is kept in tests/fuzz/ of the build tree (crash-*, timeout-*) and
# belongs, once fixed, in tests/fuzz/regress. Skips (77) when configure
# found no clang with libFuzzer, or with MPCA_CHECK_QUICK=1 or
# MPCA_FUZZ_SECONDS=0 (the package builds: the corpus is still replayed by
# tests/fuzz/replay). Exit 0 pass, 1 fail.
# shellcheck source=tests/override/common.sh
. "$srcdir/tests/override/common.sh"

bin=$top_builddir/tests/fuzz/fuzz_alloc
[ -x "$bin" ] || skip "no fuzz target: configure found no clang with libFuzzer (Debian: clang libclang-rt-14-dev)"
seconds=120
case ${MPCA_CHECK_QUICK:-0} in 0 | "") ;; *) seconds=0 ;; esac
seconds=${MPCA_FUZZ_SECONDS:-$seconds}
[ "$seconds" -gt 0 ] || skip "fuzzing off (MPCA_CHECK_QUICK or MPCA_FUZZ_SECONDS=0); tests/fuzz/replay still replays the corpus"

mkdir "$tmp/corpus"
cp "$srcdir"/tests/fuzz/corpus/* "$tmp/corpus/"
out=$top_builddir/tests/fuzz
# A hang is a failure: one input may take at most 60 s (-timeout).
if ! "$bin" -max_total_time="$seconds" -timeout=60 -print_final_stats=1 -artifact_prefix="$out/" \
	"$tmp/corpus" "$srcdir/tests/fuzz/regress" >"$tmp/log" 2>&1; then
	tail -n 60 "$tmp/log" >&2
	fail "the fuzzer found a problem; its input is in $out (replay: $bin FILE, or tests/fuzz/replay FILE)"
fi
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$tmp/log" || true
grep '^stat::' "$tmp/log" || true
