#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_thread_profile.sh: lc_threads_write_pprof, the thread profile, end to
# end.
#
# tests/thread_profile.c writes the profile of its threads before and after
# it parks three threads in park_three() and one in park_one(). The profiles
# must tell what a user would look for:
#   (a) `leakcheck diff BEFORE AFTER` shows +3 threads on park_three's stack
#       and +1 on park_one's, and --fail-on-growth fails on it;
#   (b) the twin: AFTER against itself shows no growth, and the gate passes;
#   (c) `go tool pprof -top` reads AFTER as a "threads" profile of 5 threads,
#       3 of them under park_three (skipped without go).
#
# usage: bash tests/cli_thread_profile.sh [path/to/leakcheck]
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_thread_profile.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}
build=$(dirname "$leakcheck")
root=$(cd "$(dirname "$0")/.." && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_thread_profile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}

cc -g -O0 -fno-omit-frame-pointer -I"$root/include" "$root/tests/thread_profile.c" \
    -L"$build" -lleakcheck -Wl,-rpath,"$build" -pthread -o "$tmp/thread_profile"
if ! "$tmp/thread_profile" "$tmp/before.pb.gz" "$tmp/after.pb.gz" 2>"$tmp/run.err"; then
    fail "thread_profile failed: $(cat "$tmp/run.err")"
fi

# The growth (first line of a stack) of the stack whose frames name $1.
growth_of() {
    awk -v fn="$1" '/^[-+][0-9]+ / { head = $0; next }
                    $1 == fn { print head; exit }' "$tmp/diff.out"
}

# ------------------------------------------------------------------- (a)
status=0
"$leakcheck" diff --fail-on-growth "$tmp/before.pb.gz" "$tmp/after.pb.gz" >"$tmp/diff.out" 2>&1 ||
    status=$?
three=$(growth_of park_three)
one=$(growth_of park_one)
if [ "$status" -eq 1 ] && [ "$three" = "+3 count" ] && [ "$one" = "+1 count" ]; then
    pass "(a) diff: park_three $three, park_one $one, --fail-on-growth exit 1"
else
    fail "(a) diff (exit $status): park_three '$three', park_one '$one': $(cat "$tmp/diff.out")"
fi

# ------------------------------------------------------------------- (b)
status=0
"$leakcheck" diff --fail-on-growth "$tmp/after.pb.gz" "$tmp/after.pb.gz" >"$tmp/diff.out" 2>&1 ||
    status=$?
if [ "$status" -eq 0 ] && grep -q "0 stacks changed" "$tmp/diff.out"; then
    pass "(b) a profile against itself: no growth, exit 0"
else
    fail "(b) a profile against itself (exit $status): $(cat "$tmp/diff.out")"
fi

# ------------------------------------------------------------------- (c)
if command -v go >/dev/null 2>&1; then
    export GOCACHE=$tmp/gocache GOPATH=$tmp/gopath GOPROXY=off GOFLAGS=-mod=mod \
        GOTOOLCHAIN=local PPROF_TMPDIR=$tmp
    if go tool pprof -top -nodecount=1000 "$tmp/after.pb.gz" >"$tmp/top.out" 2>&1; then
        type=$(sed -n 's/^Type: //p' "$tmp/top.out")
        total=$(sed -n 's/^Showing nodes accounting for .* of \([0-9]*\) total$/\1/p' "$tmp/top.out")
        cum=$(awk '$6 == "park_three" { print $4 }' "$tmp/top.out")
        if [ "$type" = threads ] && [ "$total" = 5 ] && [ "$cum" = 3 ]; then
            pass "(c) go tool pprof: type $type, $total threads, park_three $cum"
        else
            fail "(c) go tool pprof: type '$type', total '$total', park_three '$cum': $(cat "$tmp/top.out")"
        fi
    else
        fail "(c) go tool pprof cannot read the profile: $(cat "$tmp/top.out")"
    fi
else
    echo "skip (c) go is not on PATH"
fi

if [ "$failures" -ne 0 ]; then
    echo "cli_thread_profile.sh: $failures failure(s)"
    exit 1
fi
echo "cli_thread_profile.sh: all passed"
