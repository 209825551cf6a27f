#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_build_systems.sh: the CMake and Meson examples of docs/examples/check-suite
# build against the library and run as their build systems run tests.
#
# A pkg-config file for the checkout (headers in include/, the library in
# the build directory) stands in for the installed one. Each build system
# finds leakcheck and Check through pkg-config, builds the example suite and
# runs it: it passes, and with CACHE_TEST_LEAK set its leaky test fails (so
# the check does run). Meson reads the suite's results as TAP and must
# report the leaky test as failed without a TAP parse error. Skipped, with
# a message, when cmake or meson is missing.
#
# usage: bash tests/cli_build_systems.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

leakcheck=${1:-build/leakcheck}
build=$(cd "$(dirname "$leakcheck")" && pwd)
[ -e "$build/libleakcheck.so" ] || {
    echo "cli_build_systems.sh: no $build/libleakcheck.so (build it first)" >&2
    exit 1
}
example=$repo/docs/examples/check-suite

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_build_systems.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

mkdir -p "$tmp/pc"
cat >"$tmp/pc/leakcheck.pc" <<PC
libdir=$build
includedir=$repo/include

Name: leakcheck
Description: leak-detection harness for C tests (threads and heap)
Version: 0.1.0
Libs: -L\${libdir} -lleakcheck
Cflags: -I\${includedir} -fno-omit-frame-pointer
PC
export PKG_CONFIG_PATH=$tmp/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

if command -v cmake >/dev/null; then
    if cmake -S "$example" -B "$tmp/cmake" >"$tmp/cmake.log" 2>&1 &&
        cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1; then
        pass "cmake: pkg_check_modules finds leakcheck; the example builds"
    else
        fail "cmake: $(tail -5 "$tmp/cmake.log")"
    fi
    if (cd "$tmp/cmake" && ctest --output-on-failure >"$tmp/ctest.log" 2>&1); then
        pass "cmake: ctest passes the clean suite"
    else
        fail "cmake: ctest: $(tail -5 "$tmp/ctest.log")"
    fi
    if (cd "$tmp/cmake" && CACHE_TEST_LEAK=1 ctest --output-on-failure >"$tmp/ctest.log" 2>&1); then
        fail "cmake: ctest passes the leaky suite"
    elif grep -q 'not ok 1 - .*test_entry_round_trip: leakcheck: ' "$tmp/ctest.log"; then
        pass "cmake: ctest fails the leaky suite, the leak named"
    else
        fail "cmake: leaky run: $(tail -5 "$tmp/ctest.log")"
    fi
else
    echo "SKIP cmake: not installed"
fi

if command -v meson >/dev/null; then
    if meson setup "$tmp/meson" "$example" >"$tmp/meson.log" 2>&1 &&
        meson compile -C "$tmp/meson" >>"$tmp/meson.log" 2>&1; then
        pass "meson: dependency('leakcheck') is found; the example builds"
    else
        fail "meson: $(tail -5 "$tmp/meson.log")"
    fi
    if meson test -C "$tmp/meson" >"$tmp/mtest.log" 2>&1; then
        pass "meson: the clean suite passes as TAP"
    else
        fail "meson: $(tail -5 "$tmp/mtest.log")"
    fi
    if CACHE_TEST_LEAK=1 meson test -C "$tmp/meson" >"$tmp/mtest.log" 2>&1; then
        fail "meson: the leaky suite passes"
    else
        log=$tmp/meson/meson-logs/testlog.txt
        if grep -q '^Fail: *1 *$' "$tmp/mtest.log" && grep -q 'not ok 1 - .*leakcheck: ' "$log" &&
            ! grep -qi 'unknown TAP output\|TAP parsing error\|bail out' "$log" "$tmp/mtest.log"; then
            pass "meson: the leaky suite fails, its TAP read without error"
        else
            fail "meson: leaky run: $(tail -8 "$tmp/mtest.log")"
        fi
    fi
else
    echo "SKIP meson: not installed"
fi

if [ $failures -ne 0 ]; then
    echo "cli_build_systems.sh: $failures failed"
    exit 1
fi
echo "cli_build_systems.sh: all passed"
