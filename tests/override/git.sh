#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# git under LD_PRELOAD=libmpcalloc on a scratch repository: init, add files,
# 25 commits with fixed dates and identity, log, diff, gc and fsck. The same
# session run on glibc's allocator must give the same commit ids, the same
# log, trees and objects.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

need git
need awk
check_mapped

# No user or system configuration, fixed identity and dates.
HOME=$tmp/home
XDG_CONFIG_HOME=$tmp/home/.config
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME='Ada Tester'
GIT_AUTHOR_EMAIL='ada@example.org'
GIT_COMMITTER_NAME='Bob Committer'
GIT_COMMITTER_EMAIL='bob@example.org'
export HOME XDG_CONFIG_HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES || true
mkdir -p "$HOME"

# session DIR RUNNER: the whole scenario, every git command run by RUNNER.
# Meant for a subshell: the first failing command ends it with status 1.
session() {
	dir=$1
	run=$2
	mkdir -p "$dir/src"
	cd "$dir" || exit 1
	g() {
		$run git "$@" || {
			echo "git $* failed (status $?)" >&2
			exit 1
		}
	}
	g -c init.defaultBranch=main init -q .
	i=1
	while [ $i -le 25 ]; do
		GIT_AUTHOR_DATE="2026-01-$(printf %02d $((i % 28 + 1)))T10:00:00+0000"
		GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
		export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
		awk -v c=$i 'BEGIN {
			for (f = 0; f < 12; f++) {
				file = sprintf("src/file%02d.txt", (f * 7 + c) % 30)
				for (l = 0; l < 200 + c * 3; l++)
					printf "commit %d file %d line %d %s\n", c, f, l, (l * c) % 97 > file
				close(file)
			}
		}' || exit 1
		printf 'version %d\n' $i >VERSION
		g add -A
		g commit -q -m "commit number $i" -m "Body of commit $i."
		i=$((i + 1))
	done
	g log --format='%H %T %an <%ae> %ad %cn %cd %s' --date=iso-strict
	g log -p --stat >"../log-p.$run"
	cksum <"../log-p.$run"
	g cat-file -p HEAD
	g ls-tree -r HEAD
	g diff HEAD~10 HEAD --numstat
	g gc -q
	g fsck --full --strict 2>&1
	g rev-list --objects --all >"../objects.$run"
	sort "../objects.$run"
	g count-objects -v >"../count.$run"
	grep -e '^count' -e '^in-pack' "../count.$run"
}

direct() { "$@"; }

(session "$tmp/ref" direct) >"$tmp/ref.out" 2>"$tmp/ref.err" || {
	cat "$tmp/ref.err" >&2
	fail "the git session failed without libmpcalloc"
}
(session "$tmp/pre" preload) >"$tmp/pre.out" 2>"$tmp/pre.err" || {
	cat "$tmp/pre.err" >&2
	fail "the git session failed under libmpcalloc"
}
clean_stderr "$tmp/pre.err" git
same "$tmp/ref.out" "$tmp/pre.out" git
echo "git: same commits, log, trees and objects with libmpcalloc preloaded ($(wc -l <"$tmp/ref.out") lines)"
