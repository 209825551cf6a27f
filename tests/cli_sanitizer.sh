#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_sanitizer.sh: the library inside programs built with sanitizers.
#
# A program built with -fsanitize=address (or leak) calls the sanitizer's
# malloc, so the library tracks its blocks through the sanitizer's hooks:
# a leak must be reported once, at the program's function (not at a frame
# of the sanitizer runtime), its clean twin must pass, and every check must
# also run LeakSanitizer's recoverable search and show its verdict. A
# runtime that exports the hook API without replacing malloc (UBSan's) must
# leave the interposers in charge, and the block still counted once.
#
# The programs are built here with clang against the library as installed
# (not itself instrumented), as a project using it would build them.
#
# usage: bash tests/cli_sanitizer.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_sanitizer.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
libdir=$(dirname "$leakcheck")
incdir=$(cd "$(dirname "$0")/../include" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_sanitizer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! command -v clang >/dev/null || ! command -v jq >/dev/null; then
    echo "skip: clang or jq is not installed"
    exit 0
fi
if ! echo 'int main(void){return 0;}' | clang -fsanitize=address -x c - -o "$tmp/probe" 2>/dev/null ||
    ! "$tmp/probe"; then
    echo "skip: clang's AddressSanitizer runtime is missing (libclang-rt-dev)"
    exit 0
fi

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# LEAKY=1 loses one malloc'd block and one strdup'd string. The exit status
# is the check's verdict; the JSON report goes to stdout.
cat >"$tmp/prog.c" <<'C'
#include <leakcheck.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
char *volatile sink;
__attribute__((noinline)) static void lose_block(void) {
    sink = malloc(40);
    if (!LEAKY) free(sink);
    sink = NULL;
}
__attribute__((noinline)) static void lose_name(void) {
    sink = strdup("name");
    if (!LEAKY) free(sink);
    sink = NULL;
}
int main(void) {
    lc_baseline();
    lose_block();
    lose_name();
    int rc = LC_VERIFY_NONE();
    fputs(lc_last_report_json(), stdout);
    return rc;
}
C
build() { # output, sanitizer flags..., then -DLEAKY=N
    local out=$1
    shift
    clang -g -O1 -fno-omit-frame-pointer "$@" -I"$incdir" -o "$tmp/$out" "$tmp/prog.c" \
        -L"$libdir" -lleakcheck -Wl,-rpath,"$libdir"
}
build asan_leaky -fsanitize=address -DLEAKY=1
build asan_clean -fsanitize=address -DLEAKY=0

# The function heading the stack of the leaked site of `bytes` bytes.
site_function() { # bytes
    jq -r --argjson b "$1" '[.heap.sites[] | select(.bytes == $b)][0].stack[0].function' <<<"$out"
}

run() { # name, ASAN_OPTIONS, program: sets status, out (stdout), err (stderr)
    status=0
    ASAN_OPTIONS=$2 LSAN_OPTIONS=$2 "$tmp/$3" >"$tmp/$1.out" 2>"$tmp/$1.err" || status=$?
    out=$(cat "$tmp/$1.out")
    err=$(cat "$tmp/$1.err")
}
show() {
    sed 's/^/    /' "$tmp/$1.out" "$tmp/$1.err"
}

lsan_on=detect_leaks=1:leak_check_at_exit=0

run leaky "$lsan_on" asan_leaky
if [ "$status" -eq 1 ] && grep -q '"verdict": "leak"' <<<"$out" &&
    grep -q '"leaked_objects": 2,' <<<"$out" && [ "$(site_function 40)" = lose_block ] &&
    [ "$(site_function 5)" = lose_name ]; then
    pass "ASan: each lost block is reported once, at the program's function"
else
    fail "ASan leaky program (exit $status):"
    show leaky
fi
if grep -q '"lsan": {"ran": true, "leaks": true}' <<<"$out" &&
    grep -q '^LeakSanitizer (whole process, not only since the baseline): leaks found' <<<"$err" &&
    grep -q 'ERROR: LeakSanitizer: detected memory leaks' <<<"$err"; then
    pass "ASan: the check ran LeakSanitizer's search, which found the leak too"
else
    fail "ASan leaky program, LSan part (exit $status):"
    show leaky
fi
if ! grep -q '"function": "\(__interceptor_\|__asan\|_ZN6__asan\|malloc\|strdup\)' <<<"$out"; then
    pass "ASan: no stack starts in the sanitizer runtime"
else
    fail "ASan leaky program, a stack names the runtime:"
    show leaky
fi

run clean "$lsan_on" asan_clean
if [ "$status" -eq 0 ] && grep -q '"verdict": "clean"' <<<"$out" &&
    grep -q '"lsan": {"ran": true, "leaks": false}' <<<"$out"; then
    pass "ASan: the clean twin passes, and LeakSanitizer agrees"
else
    fail "ASan clean program (exit $status):"
    show clean
fi

run nolsan detect_leaks=0 asan_leaky
if [ "$status" -eq 1 ] && grep -q '"leaked_objects": 2,' <<<"$out" &&
    grep -q '"lsan": {"ran": false, "leaks": null}' <<<"$out" &&
    grep -q '^LeakSanitizer: its leak check is disabled (detect_leaks=0)' <<<"$err"; then
    pass "ASan with detect_leaks=0: the leak is still found, and LSan is shown as not run"
else
    fail "ASan leaky program, detect_leaks=0 (exit $status):"
    show nolsan
fi

if build lsan_leaky -fsanitize=leak -DLEAKY=1 2>"$tmp/lsan_build.err"; then
    run lsanonly "$lsan_on" lsan_leaky
    # LSan's own verdict is not asserted here: it scans the whole stack,
    # where the LSan-only build's code may leave a stale copy of a lost
    # pointer, so it can say "no leaks" for this program. That its search
    # ran is what this case shows.
    if [ "$status" -eq 1 ] && grep -q '"leaked_objects": 2,' <<<"$out" &&
        grep -q '"lsan": {"ran": true, "leaks": ' <<<"$out" &&
        [ "$(site_function 40)" = lose_block ]; then
        pass "LSan alone: the same report, through LeakSanitizer's hooks"
    else
        fail "LSan-only leaky program (exit $status):"
        show lsanonly
    fi
else
    fail "could not build with -fsanitize=leak:"
    sed 's/^/    /' "$tmp/lsan_build.err"
fi

# UBSan's runtime exports the hook API but leaves malloc alone: installing
# the hooks too would count every block twice.
if build ubsan_leaky -fsanitize=undefined -DLEAKY=1 2>"$tmp/ubsan_build.err"; then
    run ubsan "" ubsan_leaky
    if [ "$status" -eq 1 ] && grep -q '"leaked_objects": 2,' <<<"$out" &&
        ! grep -q '"lsan"' <<<"$out"; then
        pass "UBSan: the interposers track, and each block counts once"
    else
        fail "UBSan leaky program (exit $status):"
        show ubsan
    fi
else
    fail "could not build with -fsanitize=undefined:"
    sed 's/^/    /' "$tmp/ubsan_build.err"
fi

[ "$failures" -eq 0 ]
