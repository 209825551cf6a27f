#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_allocator.sh: LEAKCHECK_ALLOCATOR, end to end, on a real program.
#
#   (a) with the library's allocator (the default) and with `glibc`,
#       `leakcheck run` of a program that loses one block reports it at its
#       site, and its clean twin passes; the program's output is a plain
#       run's;
#   (b) a real Debian program (sort, on 20,000 lines) prints the same
#       output with either allocator as without the library;
#   (c) a value that is neither `spans` nor `glibc` leaves glibc's malloc in
#       charge with one line on stderr that names it, and the program runs
#       as it would.
#
# usage: bash tests/cli_allocator.sh [path/to/leakcheck]
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_allocator.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
lib=$(dirname "$leakcheck")/libleakcheck.so

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_allocator.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void *volatile sink;
static __attribute__((noinline)) void lose_one(void) {
    sink = malloc(40);
    sink = NULL;
}
int main(int argc, char **argv) {
    char *keep[1000];
    for (int i = 0; i < 1000; i++) {
        keep[i] = malloc(16 + (size_t)i % 300);
        snprintf(keep[i], 16, "%d", i);
    }
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        sum += atoi(keep[i]);
        keep[i] = realloc(keep[i], 400);
        free(keep[i]);
    }
    if (argc > 1 && strcmp(argv[1], "leak") == 0) lose_one();
    printf("sum %ld\n", sum);
    return 0;
}
EOF
cc -O0 -g -fno-omit-frame-pointer -o "$tmp/prog" "$tmp/prog.c"
plain=$("$tmp/prog")

# (a)
for alloc in "" glibc; do
    name=${alloc:-spans}
    status=0
    out=$(LEAKCHECK_ALLOCATOR=$alloc "$leakcheck" run -- "$tmp/prog" leak 2>"$tmp/leak.err") || status=$?
    if [ "$status" = 23 ] && [ "$out" = "$plain" ] && grep -q "lose_one" "$tmp/leak.err"; then
        pass "$name: the lost block is reported at lose_one, exit 23, output unchanged"
    else
        fail "$name: leak run gave exit $status, output '$out'"
        head -20 "$tmp/leak.err"
    fi
    status=0
    out=$(LEAKCHECK_ALLOCATOR=$alloc "$leakcheck" run -- "$tmp/prog" 2>"$tmp/clean.err") || status=$?
    if [ "$status" = 0 ] && [ "$out" = "$plain" ]; then
        pass "$name: the clean twin passes with the plain run's output"
    else
        fail "$name: clean run gave exit $status, output '$out'"
        head -20 "$tmp/clean.err"
    fi
done

# (b)
seq 20000 | awk '{ print ($1 * 7919) % 20011 }' >"$tmp/lines"
sort "$tmp/lines" >"$tmp/sorted.plain"
for alloc in "" glibc; do
    if LEAKCHECK_ALLOCATOR=$alloc LEAKCHECK_QUIET=1 LD_PRELOAD="$lib" sort "$tmp/lines" >"$tmp/sorted.lc" &&
        cmp -s "$tmp/sorted.plain" "$tmp/sorted.lc"; then
        pass "${alloc:-spans}: sort prints what it prints without the library"
    else
        fail "${alloc:-spans}: sort's output differs"
    fi
done

# (c)
status=0
out=$(LEAKCHECK_ALLOCATOR=tcmalloc LEAKCHECK_QUIET=1 LD_PRELOAD="$lib" "$tmp/prog" 2>"$tmp/bad.err") || status=$?
if [ "$status" = 0 ] && [ "$out" = "$plain" ] && [ "$(wc -l <"$tmp/bad.err")" = 1 ] &&
    grep -q "LEAKCHECK_ALLOCATOR=tcmalloc: is neither spans nor glibc" "$tmp/bad.err"; then
    pass "a bad LEAKCHECK_ALLOCATOR: one line on stderr, the program as it was"
else
    fail "a bad LEAKCHECK_ALLOCATOR: exit $status, stderr:"
    cat "$tmp/bad.err"
fi

[ "$failures" = 0 ] && echo "cli_allocator.sh: all passed" || echo "cli_allocator.sh: $failures failed"
[ "$failures" = 0 ]
