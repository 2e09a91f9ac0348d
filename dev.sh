#!/bin/sh
# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# One entry point for developers and CI, from a clean clone on Debian 12:
#   ./dev.sh demo    install build dependencies, build, run the demo beside
#                    the system allocator (and jemalloc/tcmalloc/mimalloc)
#   ./dev.sh test    install dependencies, build, run the whole test suite:
#                    make check (unit, API, override, stress), the unit tests
#                    under ASan+UBSan and under valgrind; prints a summary
#                    ending in "N passed, N failed"
#   ./dev.sh deps    only install the Debian packages
#   ./dev.sh build   only build (in ./build)
# Installing packages needs root (or sudo).
set -eu
cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

BUILD_PKGS="build-essential autoconf automake libtool pkgconf check libnuma-dev"
TEST_PKGS="valgrind python3 perl git mandoc man-db qemu-system-x86 cpio"
PEER_PKGS="libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0"

deps() {
  missing=""
  for p in $BUILD_PKGS $TEST_PKGS $PEER_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "dev.sh: installing:$missing"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

build() {
  [ -x configure ] || ./autogen.sh
  mkdir -p build
  (cd build && { [ -f Makefile ] || ../configure -q; } && make -s -j"$jobs")
}

# Count results: Check suites by their checks, other tests one each.
summary() {
  passed=0 failed=0 skipped=0
  for trs in "$@"; do
    [ -f "$trs" ] || continue
    log=${trs%.trs}.log
    res=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" 2>/dev/null | tail -n 1 || true)
    if [ -n "$line" ]; then
      echo "  ${log#"$top"/}: $line"
      checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
      nfail=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
      nerr=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
      bad=$((nfail + nerr))
      passed=$((passed + checks - bad))
      failed=$((failed + bad))
      # a crash after the suite's own summary still fails the test
      [ "$res" = PASS ] || [ "$bad" -ne 0 ] || failed=$((failed + 1))
    else
      echo "  ${log#"$top"/}: $res"
      case $res in
      PASS | XFAIL) passed=$((passed + 1)) ;;
      SKIP) skipped=$((skipped + 1)) ;;
      *) failed=$((failed + 1)) ;;
      esac
    fi
  done
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped))
}

run_tests() {
  status=0
  TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0
  echo "== make check =="
  (cd build && make -j"$jobs" check) || status=1
  echo "== unit tests under ASan + UBSan =="
  mkdir -p build-asan
  (cd build-asan && { [ -f Makefile ] || ../configure -q \
      CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
      LDFLAGS="-fsanitize=address,undefined"; } && make -s -j"$jobs" check-unit) || status=1
  echo "== unit tests under valgrind =="
  (cd build && make -s check-valgrind) || status=1
  echo
  echo "== summary =="
  # shellcheck disable=SC2046 # paths have no spaces (we made them)
  summary $(find "$top/build/tests" -name '*.trs' | sort)
  # shellcheck disable=SC2046
  summary $(find "$top/build-asan/tests" -name '*.trs' | sort)
  [ $status -eq 0 ] || TOTAL_FAILED=$((TOTAL_FAILED + 1)) # a step failed outside the counted tests
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
  [ $status -eq 0 ] && [ $TOTAL_FAILED -eq 0 ]
}

case ${1:-demo} in
deps) deps ;;
build) deps && build ;;
demo) deps && build && sh demo/run-demo.sh build ;;
test) deps && build && run_tests ;;
*) echo "usage: $0 [demo|test|deps|build]" >&2; exit 2 ;;
esac
