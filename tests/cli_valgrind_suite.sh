#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_valgrind_suite.sh: a Check suite under the recommended valgrind command
# line (docs/ci.md, "Valgrind"), in both Check fork modes.
#
# tests/fixtures/vg_suite.c has one test that loses a block and one that
# frees its block, both under lc_tcase_add_leak_check. In each fork mode
# exactly the leaky test must fail, both engines (leakcheck's own tracking
# and memcheck's per-test delta) must name its loss, and memcheck must say
# nothing about the clean test. Skipped, with a message, without valgrind.
#
# usage: bash tests/cli_valgrind_suite.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
build=$(dirname "$leakcheck")
[ -e "$build/libleakcheck.so" ] || {
    echo "cli_valgrind_suite.sh: no $build/libleakcheck.so (build it first)" >&2
    exit 1
}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP cli_valgrind_suite.sh: valgrind is not installed"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_vg_suite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck disable=SC2046
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer -Iinclude -o "$tmp/vg_suite" tests/fixtures/vg_suite.c \
    -L"$build" -lleakcheck -Wl,-rpath,"$build" $(pkg-config --cflags --libs check)

# The recommended command line for suites using leakcheck.
vg=(valgrind -q --fair-sched=yes --child-silent-after-fork=yes --soname-synonyms=somalloc=nouseroverride
    --suppressions=scripts/leakcheck.supp --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=1)

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

for fork in yes no; do
    out=$tmp/out.$fork
    status=0
    CK_FORK=$fork "${vg[@]}" "$tmp/vg_suite" >"$out" 2>&1 || status=$?
    if [ "$status" -ne 0 ] && grep -q '^50%: Checks: 2, Failures: 1, Errors: 0' "$out" &&
        grep -q ':F:leaks:test_leaky_loses_a_block:\|:S:leaks:test_leaky_loses_a_block:' "$out" &&
        ! grep -q 'test_clean_frees_its_block' "$out"; then
        pass "CK_FORK=$fork: exactly the leaky test fails"
    else
        fail "CK_FORK=$fork: want the leaky test alone to fail (exit $status):"
        sed 's/^/    /' "$out"
    fi
    if grep -q 'lose_a_block' "$out" &&
        grep -q 'valgrind memcheck, since the baseline: 48 bytes in 1 block definitely or indirectly lost (over budget)' "$out" &&
        grep -q 'lost memory found by: both (the engines agree)' "$out"; then
        pass "CK_FORK=$fork: both engines find the 48 lost bytes, judged since the test's baseline"
    else
        fail "CK_FORK=$fork: the report does not show both engines' findings:"
        sed 's/^/    /' "$out"
    fi
    # memcheck's own lines (==PID==) may name only the leaky test's block.
    if ! grep '^==[0-9]*==' "$out" | grep -q 'test_clean'; then
        pass "CK_FORK=$fork: memcheck says nothing about the clean test"
    else
        fail "CK_FORK=$fork: memcheck reported something in the clean test:"
        sed 's/^/    /' "$out"
    fi
done

[ "$failures" -eq 0 ]
