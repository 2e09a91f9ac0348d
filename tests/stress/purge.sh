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
	# at the default delay, a run of this length makes about 200 munmap calls
	# and no madvise call; with the delay at 0 or 1ms 600-900 munmap calls
	# (cached blocks) and 120-150 madvise calls (free runs and large free
	# chunks: since blocks up to 32 KiB live in runs, few medium chunks are
	# freed, and the owner's frees tick no clock)
	if [ "${munmaps:-0}" -lt 400 ] || [ "${madvises:-0}" -lt 50 ]; then
		echo "FAIL: MPCALLOC_PURGE_DELAY=$delay: too few purges ($calls)" >&2
		failures=$((failures + 1))
	fi
done
[ "$failures" -eq 0 ]
