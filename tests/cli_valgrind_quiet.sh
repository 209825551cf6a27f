#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_valgrind_quiet.sh: under the recommended valgrind command line
# (docs/check.md, "Under valgrind"), memcheck lists none of the library's
# own memory, in either Check fork mode.
#
# tests/fixtures/vg_thread_report.c makes one check that reports a leaked
# thread, so the library symbolizes a stack and libdw fills its caches.
# memcheck's output (its ==PID== lines) must be empty: no record at exit in
# the parent or, as the forked children's output is kept here, in the test's
# child. Skipped, with a message, without valgrind.
#
# usage: bash tests/cli_valgrind_quiet.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
build=$(dirname "$leakcheck")
[ -e "$build/libleakcheck.so" ] || {
    echo "cli_valgrind_quiet.sh: no $build/libleakcheck.so (build it first)" >&2
    exit 1
}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP cli_valgrind_quiet.sh: valgrind is not installed"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_vg_quiet.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck disable=SC2046
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer -pthread -Iinclude -o "$tmp/suite" \
    tests/fixtures/vg_thread_report.c -L"$build" -lleakcheck -Wl,-rpath,"$build" \
    $(pkg-config --cflags --libs check)

vg=(valgrind -q --fair-sched=yes --soname-synonyms=somalloc=nouseroverride --suppressions=scripts/leakcheck.supp
    --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1)

failures=0
for fork in yes no; do
    status=0
    CK_FORK=$fork CK_DEFAULT_TIMEOUT=120 "${vg[@]}" "$tmp/suite" >"$tmp/out" 2>&1 || status=$?
    if [ $status -eq 0 ] && grep -q '^100%: Checks: 1, Failures: 0, Errors: 0' "$tmp/out" &&
        ! grep -q '^==[0-9]*==' "$tmp/out"; then
        echo "ok   CK_FORK=$fork: memcheck prints nothing about the library's memory"
    else
        echo "FAIL CK_FORK=$fork: exit $status:"
        sed 's/^/    /' "$tmp/out" | head -40
        failures=$((failures + 1))
    fi
done

[ "$failures" -eq 0 ]
