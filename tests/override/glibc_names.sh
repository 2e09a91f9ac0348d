#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# glibc's internal allocation names and introspection calls under
# LD_PRELOAD (glibc_names.c, a program not linked with libmpcalloc):
#  - every name (__libc_malloc ... cfree, free_sized, free_aligned_sized,
#    mallinfo, mallinfo2, malloc_stats, malloc_info, mallopt) resolves to
#    libmpcalloc, and blocks of __libc_malloc & co. go to free() (and back)
#    without the "invalid pointer" abort that preloading used to cause;
#  - mallinfo2 counts the program's blocks; malloc_stats prints our report on
#    stderr; malloc_info writes XML that parses (python3, when installed)
#    with the elements and attributes of glibc's layout.
# The same program without the preload is the control: there glibc answers.

: "${srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$srcdir/tests/override/common.sh"

prog=$top_builddir/tests/override/glibc_names
[ -x "$prog" ] || fail "$prog not built"
check_mapped

# control: glibc alone
"$prog" >"$tmp/plain.out" 2>"$tmp/plain.err" || fail "glibc_names failed without the preload: $(cat "$tmp/plain.err")"
grep -qx '__libc_malloc libc.so.6' "$tmp/plain.out" || fail "control: __libc_malloc is not glibc's: $(head -5 "$tmp/plain.out")"
grep -q '^Arena 0:' "$tmp/plain.err" || fail "control: glibc's malloc_stats report missing: $(cat "$tmp/plain.err")"

preload "$prog" >"$tmp/out" 2>"$tmp/err" || fail "glibc_names failed under LD_PRELOAD: $(cat "$tmp/err")"
failures=0
for name in malloc __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign __libc_valloc \
	__libc_pvalloc __posix_memalign cfree free_sized free_aligned_sized mallinfo mallinfo2 malloc_stats \
	malloc_info mallopt; do
	line=$(grep "^$name " "$tmp/out") || line="$name (not printed)"
	case $line in
	"$name libmpcalloc.so"*) ;;
	*)
		echo "FAIL: under LD_PRELOAD: $line" >&2
		failures=$((failures + 1))
		;;
	esac
done
[ "$failures" -eq 0 ] || fail "$failures name(s) do not resolve to libmpcalloc"
grep -qx 'mixed names: ok' "$tmp/out" || fail "blocks of glibc's internal names and free() did not mix: $(cat "$tmp/err")"
grep -qx 'mallinfo2 uordblks counts a 200000-byte block: yes' "$tmp/out" ||
	fail "mallinfo2 did not count the block: $(grep mallinfo2 "$tmp/out")"
grep -qx 'mallinfo2 arena = uordblks + fordblks: yes' "$tmp/out" || fail "mallinfo2 is not consistent"
grep -q '^mpcalloc .* statistics, pid [0-9]' "$tmp/err" || fail "malloc_stats did not print our report: $(cat "$tmp/err")"
grep -q '^Arena 0:' "$tmp/err" && fail "glibc's malloc_stats answered under LD_PRELOAD"
echo "ok: every name resolves to libmpcalloc; mallinfo2, malloc_stats are ours"

sed -n '/^--- malloc_info$/,/^--- end$/p' "$tmp/out" | sed '1d;$d' >"$tmp/info.xml"
grep -q '^<malloc version="1">$' "$tmp/info.xml" || fail "malloc_info: no <malloc version=\"1\">: $(head -3 "$tmp/info.xml")"
if command -v python3 >/dev/null 2>&1; then
	python3 - "$tmp/info.xml" <<'EOF' || fail "malloc_info XML (above)"
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "malloc" and root.get("version") == "1", root.tag
heaps = root.findall("heap")
assert [h.get("nr") for h in heaps] == ["0"], heaps
sizes = heaps[0].find("sizes")
assert sizes is not None
for s in sizes.findall("size"):
    lo, hi, total, count = (int(s.get(k)) for k in ("from", "to", "total", "count"))
    assert 1 <= lo <= hi and total == hi * count and count > 0, s.attrib
def totals(node):
    return {t.get("type"): (int(t.get("count")), int(t.get("size"))) for t in node.findall("total")}
def system(node, tag):
    return {t.get("type"): int(t.get("size")) for t in node.findall(tag)}
assert set(totals(heaps[0])) == {"fast", "rest"}, totals(heaps[0])
t = totals(root)
assert set(t) == {"fast", "rest", "mmap"}, t
assert set(system(root, "system")) == {"current", "max"}
assert set(system(root, "aspace")) == {"total", "mprotect"}
assert system(root, "system")["current"] <= system(root, "system")["max"]
assert system(heaps[0], "system")["current"] + t["mmap"][1] == system(root, "system")["current"]
print("ok: malloc_info XML parses: %d size classes listed, mmap %s" % (len(sizes), t["mmap"]))
EOF
else
	echo "NOTE: python3 not installed: the malloc_info XML was not parsed"
fi
exit 0
