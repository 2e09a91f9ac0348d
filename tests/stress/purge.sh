#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# The purge delay under concurrency: stress_threads (six threads, blocks of
# 1 B to 2 MiB, most freed or reallocated by another thread, every block's
# content checked) with MPCALLOC_PURGE_DELAY at 0 and 1ms, so that cached
# blocks are unmapped and free runs and chunks purged all the time, by every
# thread's tick, while other threads give blocks back, take them and merge
# them. The statistics report must show the purges happened.
# Exit 0 pass, 1 fail.

: "${top_builddir:=.}"
prog=$top_builddir/tests/stress/stress_threads
if [ ! -x "$prog" ]; then
	echo "FAIL: $prog not built" >&2
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

failures=0
for delay in 0 1ms; do
	if ! MPCALLOC_PURGE_DELAY=$delay MPCALLOC_STATS=text MPCALLOC_STATS_FILE="$tmp/stats.$delay" \
		"$prog" >"$tmp/out.$delay" 2>&1; then
		echo "FAIL: stress_threads with MPCALLOC_PURGE_DELAY=$delay:" >&2
		sed 's/^/    | /' "$tmp/out.$delay" >&2
		failures=$((failures + 1))
		continue
	fi
	echo "MPCALLOC_PURGE_DELAY=$delay: $(tail -n 1 "$tmp/out.$delay")"
	calls=$(grep 'system calls' "$tmp/stats.$delay")
	echo "    $calls"
	munmaps=$(echo "$calls" | sed -n 's/.*munmap \([0-9]*\).*/\1/p')
	madvises=$(echo "$calls" | sed -n 's/.*madvise \([0-9]*\).*/\1/p')
	# The run lasts a fixed time, so its work (and its purges) shrinks when
	# other tests load the machine: the bounds follow the operations done.
	# At these delays a run makes about one munmap per 50 to 80 operations
	# (cached blocks) and one madvise per 300 to 350 (free runs and large
	# free chunks: blocks up to 32 KiB live in runs, so few medium chunks
	# are freed); at the default delay about one munmap per 400 and no
	# madvise at all.
	ops=$(sed -n 's/.* threads, \([0-9]*\) operations.*/\1/p' "$tmp/out.$delay" | tail -n 1)
	least_unmap=$((${ops:-0} / 200))
	[ "$least_unmap" -ge 100 ] || least_unmap=100
	least_advise=$((${ops:-0} / 1000))
	# The hardened build has no medium chunks (its blocks of 32 KiB - 1 MiB
	# are guarded blocks, whose idle macro blocks go back whole: munmap),
	# so only free runs are purged: a few dozen madvise a run.
	[ "$least_advise" -ge 20 ] || least_advise=20
	[ "${MPCA_TEST_BUILD:-default}" = hardened ] && least_advise=10
	if [ "${munmaps:-0}" -lt "$least_unmap" ] || [ "${madvises:-0}" -lt "$least_advise" ]; then
		echo "FAIL: MPCALLOC_PURGE_DELAY=$delay: too few purges for $ops operations ($calls; at least $least_unmap munmap and $least_advise madvise)" >&2
		failures=$((failures + 1))
	fi
done
[ "$failures" -eq 0 ]
