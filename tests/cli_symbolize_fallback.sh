#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_symbolize_fallback.sh: libdw is loaded at the first symbolization
# (harness/symbolize.c, docs/dependencies.md), and a report made where it
# cannot be loaded still finds the leak, keeps every frame's module and
# offset, names only the functions dladdr can vouch for (never a static
# function by its exported neighbour's name), and says why once.
#
# The library's .so does not list libdw or libelf as needed; a program that
# leaks through an exported and a static function is checked twice: as it
# is (names, files and lines), and with LD_LIBRARY_PATH holding a
# libdw.so.1 that defines none of libdw's functions.
#
# usage: bash tests/cli_symbolize_fallback.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
build=$(dirname "$leakcheck")
[ -e "$build/libleakcheck.so" ] || {
    echo "cli_symbolize_fallback.sh: no $build/libleakcheck.so (build it first)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_symfallback.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}

if readelf -d "$build/libleakcheck.so" | grep -qE 'NEEDED.*\[lib(dw|elf)\.so'; then
    fail "libleakcheck.so does not need libdw or libelf at load"
    readelf -d "$build/libleakcheck.so" | grep NEEDED | sed 's/^/    /'
else
    pass "libleakcheck.so does not need libdw or libelf at load"
fi

cat >"$tmp/leaky.c" <<'EOF'
#include "leakcheck.h"
#include <stdlib.h>
__attribute__((noinline)) void *exported_alloc(void) { return malloc(40); }
static __attribute__((noinline)) void *hidden_alloc(void) { return exported_alloc(); }
int main(void) {
    lc_baseline();
    void *volatile p = hidden_alloc();
    p = NULL;
    return LC_VERIFY_NONE() != 0;
}
EOF
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer -rdynamic -Iinclude -o "$tmp/leaky" "$tmp/leaky.c" \
    -L"$build" -lleakcheck -Wl,-rpath,"$build"
# A libdw.so.1 that loads but has none of libdw's functions.
echo 'int lc_not_libdw;' >"$tmp/empty.c"
mkdir "$tmp/fake"
cc -shared -fPIC -Wl,-soname,libdw.so.1 -o "$tmp/fake/libdw.so.1" "$tmp/empty.c"

status=0
"$tmp/leaky" >"$tmp/out" 2>&1 || status=$?
if [ $status -eq 1 ] && grep -q 'hidden_alloc (.*leaky.c:4)' "$tmp/out" &&
    grep -q 'exported_alloc (.*leaky.c:3)' "$tmp/out" && ! grep -q 'could not be loaded' "$tmp/out"; then
    pass "with libdw: the leak's frames have names, files and lines"
else
    fail "with libdw: the leak's frames have names, files and lines (exit $status)"
    sed 's/^/    /' "$tmp/out" | head -30
fi

status=0
LD_LIBRARY_PATH="$tmp/fake" "$tmp/leaky" >"$tmp/out" 2>&1 || status=$?
if [ $status -eq 1 ] && grep -q 'leak' "$tmp/out"; then
    pass "without libdw: the leak is still found"
else
    fail "without libdw: the leak is still found (exit $status)"
    sed 's/^/    /' "$tmp/out" | head -30
fi
if [ "$(grep -c 'libdw could not be loaded: libdw.so.1 has no dwfl_' "$tmp/out")" = 1 ]; then
    pass "without libdw: the report says why, once"
else
    fail "without libdw: the report says why, once"
    sed 's/^/    /' "$tmp/out" | head -30
fi
if grep -qE '^ *exported_alloc \(leaky\+0x[0-9a-f]+\)' "$tmp/out" &&
    grep -qE '^ *\?\? \(leaky\+0x[0-9a-f]+\)' "$tmp/out" &&
    [ "$(grep -c 'exported_alloc' "$tmp/out")" = 1 ] && ! grep -q 'hidden_alloc' "$tmp/out"; then
    pass "without libdw: frames keep module+offset; the static function is unnamed, not misnamed"
else
    fail "without libdw: frames keep module+offset; the static function is unnamed, not misnamed"
    sed 's/^/    /' "$tmp/out" | head -30
fi

[ "$failures" -eq 0 ]
