#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_fault.sh: `leakcheck fault-sweep`, end to end.
#
# A program whose make_pair() forgets its first block when the second
# allocation fails must be reported at that failure point, with make_pair
# on the failed allocation's stack; its fixed twin must sweep clean; an
# unknown option is a one-line usage error with exit status 2.
#
# usage: bash tests/cli_fault.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_fault.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_fault.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

# FIXED=1 frees the first block on the error path.
cat >"$tmp/pair.c" <<'C'
#include <stdlib.h>
struct pair { char *a, *b; };
__attribute__((noinline)) static int make_pair(struct pair *p) {
    p->a = malloc(16);
    if (!p->a) return -1;
    p->b = malloc(32);
    if (!p->b) {
        if (FIXED) free(p->a);
        return -1;
    }
    return 0;
}
int main(void) {
    struct pair p;
    if (make_pair(&p) != 0) return 1;
    free(p.a);
    free(p.b);
    return 0;
}
C
cc -g -O0 -fno-omit-frame-pointer -DFIXED=0 -o "$tmp/leaky" "$tmp/pair.c"
cc -g -O0 -fno-omit-frame-pointer -DFIXED=1 -o "$tmp/fixed" "$tmp/pair.c"

# The scope keeps the sweep to make_pair's two allocations, whatever the C
# runtime allocates around main.
status=0
"$leakcheck" fault-sweep --scope make_pair -- "$tmp/leaky" >"$tmp/leaky.out" 2>&1 || status=$?
if [ "$status" -eq 1 ] && grep -q '^allocation 2 failing: leaked' "$tmp/leaky.out" &&
    grep -A3 '^allocation 2 failing' "$tmp/leaky.out" | grep -q 'make_pair' &&
    grep -q '1 failure points leaked' "$tmp/leaky.out"; then
    pass "the leaky error path is found at allocation 2 with make_pair on its stack"
else
    fail "leaky program (exit $status):"
    sed 's/^/    /' "$tmp/leaky.out"
fi

status=0
"$leakcheck" fault-sweep --scope make_pair -- "$tmp/fixed" >"$tmp/fixed.out" 2>&1 || status=$?
if [ "$status" -eq 0 ] && grep -q '3 runs, 0 failure points leaked, 0 crashed' "$tmp/fixed.out"; then
    pass "the fixed twin sweeps clean"
else
    fail "fixed program (exit $status):"
    sed 's/^/    /' "$tmp/fixed.out"
fi

# Without a scope every allocation of the process counts: the sweep is
# longer and still finds the leak.
status=0
"$leakcheck" fault-sweep -- "$tmp/leaky" >"$tmp/all.out" 2>&1 || status=$?
if [ "$status" -eq 1 ] && grep -q 'failing: leaked' "$tmp/all.out"; then
    pass "the unscoped sweep finds the leak too"
else
    fail "unscoped sweep (exit $status):"
    sed 's/^/    /' "$tmp/all.out"
fi

status=0
"$leakcheck" fault-sweep --bogus -- "$tmp/fixed" >"$tmp/usage.out" 2>&1 || status=$?
if [ "$status" -eq 2 ] && [ "$(wc -l <"$tmp/usage.out")" -eq 1 ]; then
    pass "an unknown option exits 2 with one line"
else
    fail "unknown option (exit $status):"
    sed 's/^/    /' "$tmp/usage.out"
fi

[ "$failures" -eq 0 ]
