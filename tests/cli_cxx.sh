#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_cxx.sh: the C++ tests of mk/cxx.mk.
#
# tests/cxx_api.cc, built with g++ and clang++ in C++11, 17 and 20, passes
# in both Check fork modes; its leaky case (LC_CXX_LEAKY) fails exactly
# once, at the assertion's line, naming kv::Store::make(int). The
# GoogleTest program fails its leaky test at the test's line with the
# demangled summary, passes the clean twin and the fixture that frees in
# TearDown, prints reports with C++ names only, and writes a well-formed
# XML result. A C++ program under `leakcheck run` has its report, DOT graph
# and heap profile name functions and globals demangled.
#
# usage: bash tests/cli_cxx.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
build=$(cd "$(dirname "$leakcheck")" && pwd)
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_cxx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

for cc in gxx clangxx; do
    for std in 11 17 20; do
        prog=$build/tests/cxx_api_${cc}_$std
        if [ ! -x "$prog" ]; then
            fail "$prog is not built (make tests)"
            continue
        fi
        for mode in yes no; do
            if CK_FORK=$mode "$prog" >"$tmp/out" 2>&1; then
                pass "cxx_api ${cc/xx/++} -std=c++$std CK_FORK=$mode"
            else
                fail "cxx_api ${cc/xx/++} -std=c++$std CK_FORK=$mode: $(grep -E ':[FE]:' "$tmp/out" | head -3)"
            fi
        done
    done
done

line=$(grep -n 'held = kv::Store::make(11);' "$src/cxx_api.cc" | cut -d: -f1)
line=$((line + 2)) # the ck_assert_no_leaks() two lines below
for mode in yes no; do
    LC_CXX_LEAKY=1 CK_FORK=$mode "$build/tests/cxx_api_gxx_11" >"$tmp/out" 2>"$tmp/err" || true
    res=$(grep ':leaky:test_assert_no_leaks_fails_a_cxx_leak:' "$tmp/out" || true)
    if grep -q 'Checks: 11, Failures: 1, Errors: 0' "$tmp/out" &&
        [[ $res == *"cxx_api.cc:$line:F:leaky:"*"kv::Store::make(int)"* ]]; then
        pass "CK_FORK=$mode: ck_assert_no_leaks fails a C++ leak at its line, demangled"
    else
        fail "CK_FORK=$mode: leaky case: $(tail -2 "$tmp/out")"
    fi
done

gtest=$build/tests/cxx_gtest
if [ -x "$gtest" ]; then
    status=0
    "$gtest" --gtest_output="xml:$tmp/gtest.xml" >"$tmp/out" 2>"$tmp/err" || status=$?
    tline=$(grep -n '^TEST(LeakCheck, LeakyTestFails)' "$src/cxx_gtest.cc" | cut -d: -f1)
    if [ $status -eq 1 ] && grep -q '^\[  FAILED  \] LeakCheck.LeakyTestFails (' "$tmp/out" &&
        grep -q "cxx_gtest.cc:$tline: Failure" "$tmp/out" &&
        grep -q '^leakcheck: LeakCheck.LeakyTestFails .*widgets::make_widget(int)' "$tmp/out"; then
        pass "gtest: the leaky test fails at its line with the demangled summary"
    else
        fail "gtest: leaky test: status $status, $(grep -E 'FAILED|Failure|leakcheck' "$tmp/out" | head -4)"
    fi
    if grep -q '^\[       OK \] LeakCheck.CleanTwinPasses' "$tmp/out" &&
        grep -q '^\[       OK \] WidgetFixture.FixtureFreedInTearDownPasses' "$tmp/out"; then
        pass "gtest: the clean twin and the fixture freed in TearDown pass"
    else
        fail "gtest: clean tests: $(grep -E 'OK|FAILED' "$tmp/out" | head -4)"
    fi
    if grep -q 'LeakCheck_LeakyTestFails_Test::TestBody()' "$tmp/err" &&
        grep -q 'operator new(unsigned long)' "$tmp/err" && ! grep -q '_Z[A-Za-z0-9]' "$tmp/err"; then
        pass "gtest: the full report on stderr names C++ functions demangled"
    else
        fail "gtest: report: $(grep -m3 '_Z\|TestBody' "$tmp/err")"
    fi
    if xmllint --noout "$tmp/gtest.xml" &&
        [ "$(xmllint --xpath 'string(/testsuites/@failures)' "$tmp/gtest.xml")" = 1 ]; then
        pass "gtest: the XML result is well-formed, one failure"
    else
        fail "gtest: XML result"
    fi
else
    fail "$gtest is not built (make tests)"
fi

# A C++ program under `leakcheck run`: the text report, the DOT graph and
# the heap profile name functions and globals as C++ writes them.
cat >"$tmp/kv.cc" <<'CXX'
namespace kv {
struct Node {
    Node *next;
    int v;
};
Node *registry;
__attribute__((noinline)) Node *make_node(int v) {
    return new Node{nullptr, v};
}
} // namespace kv
int main() {
    kv::registry = kv::make_node(1); // reachable from a global
    kv::make_node(2);                // lost
    return 0;
}
CXX
g++ -g -O0 -fno-omit-frame-pointer -o "$tmp/kv" "$tmp/kv.cc"
status=0
"$leakcheck" run --strict --pprof "$tmp/kv.pb.gz" --dot "$tmp/kv.dot" -- "$tmp/kv" 2>"$tmp/kv.err" || status=$?
if [ $status -eq 23 ] && grep -q '^    kv::make_node(int) (.*kv.cc:8)$' "$tmp/kv.err" &&
    grep -q 'global .kv::registry. ' "$tmp/kv.err" && ! grep -q '_ZN2kv' "$tmp/kv.err"; then
    pass "leakcheck run: the report names kv::make_node(int) and kv::registry"
else
    fail "leakcheck run: status $status, $(head -12 "$tmp/kv.err")"
fi
if grep -q 'global kv::registry' "$tmp/kv.dot" && grep -q 'kv::make_node(int)' "$tmp/kv.dot" &&
    ! grep -q '_ZN2kv' "$tmp/kv.dot"; then
    pass "leakcheck run --dot: the graph names the C++ global and function"
else
    fail "leakcheck run --dot: $(cat "$tmp/kv.dot")"
fi
if zcat "$tmp/kv.pb.gz" | strings | grep -q 'kv::make_node(int)' &&
    ! zcat "$tmp/kv.pb.gz" | strings | grep -q '_ZN2kv'; then
    pass "leakcheck run --pprof: the profile names kv::make_node(int)"
else
    fail "leakcheck run --pprof: $(zcat "$tmp/kv.pb.gz" | strings | grep -m3 make_node)"
fi

# A scenario program in C++20: LC_SCENARIO compiles clean under -Wall
# -Wextra -Werror with both compilers, and its twin variants run as declared
# with the body named as C++ names it.
cat >"$tmp/scen.cc" <<'CXX'
#include "leakcheck_scenario.h"
namespace cache {
int *kept;
__attribute__((noinline)) void remember(bool leaky) {
    int *v = new int[16]();
    if (leaky) kept = v; else delete[] v;
}
} // namespace cache
LC_SCENARIO(remembers, "a value kept in a global", .min_objects = 1, .min_bytes = 64,
            .must_name = "cache::remember(bool)") {
    cache::remember(leaky);
}
int main(int argc, char **argv) { return lc_scenarios_main(argc, argv); }
CXX
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || { fail "$cxx not found"; continue; }
    if ! $cxx -std=c++20 -Wall -Wextra -Werror -g -O0 -fno-omit-frame-pointer -I"$src/../include" \
        -o "$tmp/scen" "$tmp/scen.cc" -L"$build" -lleakcheck -Wl,-rpath,"$build" 2>"$tmp/scen.err"; then
        fail "LC_SCENARIO with $cxx -std=c++20: $(head -3 "$tmp/scen.err")"
    elif "$tmp/scen" run --format tap >"$tmp/scen.out" 2>&1 &&
        grep -q '^ok 1 - remembers leaky: leak' "$tmp/scen.out" &&
        grep -q '^ok 2 - remembers fixed: clean' "$tmp/scen.out"; then
        pass "LC_SCENARIO with $cxx -std=c++20 -Wextra -Werror: both variants as declared"
    else
        fail "LC_SCENARIO with $cxx: $(cat "$tmp/scen.out")"
    fi
done

if [ $failures -ne 0 ]; then
    echo "cli_cxx.sh: $failures failed"
    exit 1
fi
echo "cli_cxx.sh: all passed"
