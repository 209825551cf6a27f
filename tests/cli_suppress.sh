#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_suppress.sh: `leakcheck run --suppressions FILE`, end to end.
#
# A program leaks from two functions (and, when asked, leaves a thread
# blocked forever). A file suppressing one leak leaves the other failing
# the check; suppressing both gives the program's own exit status; a
# `thread:` rule suppresses the blocked thread; the JSON report lists what
# each pattern suppressed. A malformed file is an error naming FILE:LINE
# and an unreadable one an error naming the file, both with exit status 2
# before the program runs. Files are found after the program changes
# directory, add to LEAKCHECK_SUPPRESSIONS, and a malformed file given
# through the environment alone makes the check an error.
#
# usage: bash tests/cli_suppress.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_suppress.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
command -v jq >/dev/null || {
    echo "cli_suppress.sh: jq is required" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_suppress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# The program moves to / first, so that a suppression file given by a
# relative path is found at exit only if the tool made it absolute.
cat >"$tmp/leaky.c" <<'C'
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((noinline)) static char *make_cache(void) {
    char *c = malloc(64);
    memset(c, 1, 64);
    return c;
}
__attribute__((noinline)) static char *parse_config(void) {
    return strdup("port=8080");
}
static void *blocked_forever(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}
int main(int argc, char **argv) {
    if (chdir("/") != 0) return 1;
    make_cache();
    parse_config();
    if (argc > 1 && strcmp(argv[1], "thread") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, blocked_forever, NULL);
    }
    return 0; /* a failing program would keep its own status */
}
C
cc -g -O0 -fno-omit-frame-pointer -pthread -o "$tmp/leaky" "$tmp/leaky.c"

printf '# the cache lives as long as the process\nleak:make_cache\n' >"$tmp/cache.supp"
printf 'leak:^parse_config$\n' >"$tmp/config.supp"
printf 'leak:make_cache\nleak:parse_config\n\nthread:blocked_forever\n' >"$tmp/all.supp"

# --strict: both leaks count whether the scan finds them unreachable or
# still pointed to from a stale stack slot; suppression is what is tested.
# A short settle window: the blocked thread never ends.
run() { # output file, leakcheck run arguments...
    local out=$1
    shift
    status=0
    LEAKCHECK_SETTLE=0.2 "$leakcheck" run --strict "$@" >"$out" 2>&1 || status=$?
}

show() {
    sed 's/^/    /' "$1"
}

run "$tmp/none.out" -- "$tmp/leaky"
if [ "$status" -eq 23 ] && grep -q 'make_cache (' "$tmp/none.out" &&
    grep -q 'parse_config (' "$tmp/none.out"; then
    pass "without suppressions both leaks fail the check"
else
    fail "without suppressions (exit $status):"
    show "$tmp/none.out"
fi

run "$tmp/one.out" --suppressions "$tmp/cache.supp" -- "$tmp/leaky"
if [ "$status" -eq 23 ] && grep -q 'parse_config (' "$tmp/one.out" &&
    ! grep -q 'make_cache (' "$tmp/one.out" &&
    grep -q '^suppressed: 1 object (64 B)$' "$tmp/one.out" &&
    grep -q '^  1 object, 64 B: leak:make_cache$' "$tmp/one.out"; then
    pass "suppressing make_cache leaves parse_config failing the check"
else
    fail "one leak suppressed (exit $status):"
    show "$tmp/one.out"
fi

run "$tmp/both.out" --suppressions "$tmp/cache.supp" --suppressions "$tmp/config.supp" \
    -- "$tmp/leaky"
if [ "$status" -eq 0 ]; then
    pass "suppressing both leaks (two files) gives the program's own exit status"
else
    fail "both leaks suppressed (exit $status, want 0):"
    show "$tmp/both.out"
fi

status=$(
    cd "$tmp"
    s=0
    LEAKCHECK_SETTLE=0.2 "$leakcheck" run --strict --suppressions all.supp -- ./leaky \
        >"$tmp/relative.out" 2>&1 || s=$?
    echo $s
)
if [ "$status" -eq 0 ]; then
    pass "a relative file name still applies after the program changes directory"
else
    fail "relative suppression file (exit $status, want 0):"
    show "$tmp/relative.out"
fi

run "$tmp/thread.out" --suppressions "$tmp/all.supp" -- "$tmp/leaky" thread
if [ "$status" -eq 0 ] && grep -q '^  1 thread: thread:blocked_forever$' "$tmp/thread.out"; then
    pass "thread:blocked_forever suppresses the blocked thread"
else
    fail "blocked thread suppressed (exit $status, want 0):"
    show "$tmp/thread.out"
fi

run "$tmp/nothread.out" --suppressions "$tmp/cache.supp" --suppressions "$tmp/config.supp" \
    -- "$tmp/leaky" thread
if [ "$status" -eq 23 ] && grep -q 'blocked_forever (' "$tmp/nothread.out" &&
    grep -q '1 thread and 0 objects' "$tmp/nothread.out"; then
    pass "without a thread: rule the blocked thread fails the check"
else
    fail "blocked thread not suppressed (exit $status, want 23):"
    show "$tmp/nothread.out"
fi

run "$tmp/json.out" --format json --output "$tmp/report.json" --suppressions "$tmp/all.supp" \
    -- "$tmp/leaky" thread
want='[{"pattern":"leak:make_cache","objects":1,"bytes":64,"threads":0},{"pattern":"leak:parse_config","objects":1,"bytes":10,"threads":0},{"pattern":"thread:blocked_forever","objects":0,"bytes":0,"threads":1}]'
if [ "$status" -eq 0 ] && [ "$(jq -c .suppressed "$tmp/report.json")" = "$want" ] &&
    [ "$(jq -c '[.verdict, .threads.leaked, .threads.suppressed, .heap.leaked_objects]' \
        "$tmp/report.json")" = '["clean",0,1,0]' ]; then
    pass "the JSON report lists what each pattern suppressed"
else
    fail "JSON suppressed array (exit $status):"
    show "$tmp/json.out"
    show "$tmp/report.json"
fi

run "$tmp/json-none.out" --format json --output "$tmp/none.json" -- "$tmp/leaky"
if [ "$status" -eq 23 ] && [ "$(jq -c .suppressed "$tmp/none.json")" = '[]' ] &&
    [ "$(jq -c .threads.suppressed "$tmp/none.json")" = 0 ]; then
    pass "without suppressions the JSON report has an empty suppressed list"
else
    fail "JSON without suppressions (exit $status):"
    show "$tmp/none.json"
fi

status=0
LEAKCHECK_SUPPRESSIONS=$tmp/cache.supp LEAKCHECK_SETTLE=0.2 "$leakcheck" run --strict \
    --suppressions "$tmp/config.supp" -- "$tmp/leaky" >"$tmp/env.out" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
    pass "--suppressions adds to the files already in LEAKCHECK_SUPPRESSIONS"
else
    fail "LEAKCHECK_SUPPRESSIONS plus --suppressions (exit $status, want 0):"
    show "$tmp/env.out"
fi

printf 'leak:make_cache\n# fine so far\nfoo:bar\n' >"$tmp/bad.supp"
run "$tmp/bad.out" --suppressions "$tmp/bad.supp" -- touch "$tmp/ran"
if [ "$status" -eq 2 ] && [ "$(wc -l <"$tmp/bad.out")" -eq 1 ] &&
    grep -q "^leakcheck run: $tmp/bad.supp:3: unknown suppression kind 'foo'" "$tmp/bad.out" &&
    [ ! -e "$tmp/ran" ]; then
    pass "a malformed file is a one-line FILE:LINE error, exit 2, before the program runs"
else
    fail "malformed file (exit $status, want 2):"
    show "$tmp/bad.out"
fi

printf 'leak:\n' >"$tmp/empty-pattern.supp"
run "$tmp/empty.out" --suppressions "$tmp/empty-pattern.supp" -- "$tmp/leaky"
if [ "$status" -eq 2 ] && grep -q "empty-pattern.supp:1: empty pattern" "$tmp/empty.out"; then
    pass "an empty pattern is an error naming its line"
else
    fail "empty pattern (exit $status, want 2):"
    show "$tmp/empty.out"
fi

run "$tmp/missing.out" --suppressions "$tmp/absent.supp" -- "$tmp/leaky"
if [ "$status" -eq 2 ] &&
    grep -q "cannot read suppression file '$tmp/absent.supp': No such file or directory" \
        "$tmp/missing.out"; then
    pass "a missing file is an error naming it, exit 2"
else
    fail "missing file (exit $status, want 2):"
    show "$tmp/missing.out"
fi

run "$tmp/dir.out" --suppressions "$tmp" -- "$tmp/leaky"
if [ "$status" -eq 2 ] && grep -q "cannot read suppression file '$tmp': Is a directory" \
    "$tmp/dir.out"; then
    pass "a directory is an error naming it, exit 2"
else
    fail "directory as suppression file (exit $status, want 2):"
    show "$tmp/dir.out"
fi

# Given through the environment only, the file is read by the check itself:
# a malformed one turns the check into an error (status 70, "could not be
# checked"), not a silent pass.
status=0
LEAKCHECK_SUPPRESSIONS=$tmp/bad.supp LEAKCHECK_SETTLE=0.2 "$leakcheck" run --strict \
    -- "$tmp/leaky" >"$tmp/env-bad.out" 2>&1 || status=$?
if [ "$status" -eq 70 ] && grep -q "$tmp/bad.supp:3: unknown suppression kind" "$tmp/env-bad.out"
then
    pass "a malformed file in LEAKCHECK_SUPPRESSIONS makes the check an error"
else
    fail "malformed LEAKCHECK_SUPPRESSIONS (exit $status, want 70):"
    show "$tmp/env-bad.out"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failed"
    exit 1
fi
echo "all passed"
