#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_paths.sh: retention paths from `leakcheck run`, as text, JSON and
# Graphviz.
#
# One program leaves a block behind three ways: in a hash table hanging off
# a global (`registry`, reachable), in the frame of a thread blocked on a
# condition variable (`worker_main`, held by a leaked thread), and in a
# thread-local of that thread; its twin frees all three and joins the
# thread. The report must name each root (the global with its file, the
# thread with its state and frame, the thread-local by name) and the blocks
# on the way with the offsets of the pointers; the twin must show no path.
# `--dot FILE` must write a graph that Graphviz reads, and an unwritable
# FILE is a one-line error before the program runs.
#
# usage: bash tests/cli_paths.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_paths.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_paths.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}
expect() { # description, jq filter that must print true, file
    if [ "$(jq -r "$2" "$3")" = true ]; then pass "$1"; else
        fail "$1"
        jq . "$3" | head -80
    fi
}

# The program is the one docs/run.md shows (docs/examples/dispatch.c).
cp "$(dirname "${BASH_SOURCE[0]}")/../docs/examples/dispatch.c" "$tmp/dispatch.c"
cc -g -O0 -pthread -o "$tmp/dispatch" "$tmp/dispatch.c"
cd "$tmp"

# ---------------------------------------------------------------- leaky
status=0
"$leakcheck" run --strict --format json --output leaky.json --dot leaky.dot -- ./dispatch || status=$?
[ "$status" = 23 ] && pass "leaky program exits 23 with --strict" || fail "leaky exit $status, want 23"

expect "global root named with its file" \
    '[.heap.sites[] | select(.stack[0].function == "registry_put" and .class == "reachable") | .path[0]]
     | .[0] | .kind == "global" and .name == "registry" and .site.file == "dispatch.c"' leaky.json
expect "path goes through the table's bucket array at offset 8" \
    '[.heap.sites[] | select(.stack[0].function == "registry_put" and .class == "reachable") | .path]
     | .[0] | length == 2 and .[1].kind == "block" and .[1].site.function == "main" and .[1].offset == 8' leaky.json
expect "strdup value path ends with the entry, pointer at offset 16" \
    '[.heap.sites[] | select(.class == "reachable") | select(any(.stack[]; .function == "registry_put"))
      | select(.stack[0].function != "registry_put") | .path | .[-1]]
     | .[0] | .site.function == "registry_put" and .offset == 16' leaky.json
expect "block in a blocked thread's frame: class thread, root the thread and frame worker_main" \
    '[.heap.sites[] | select(.bytes == 1000) | .class == "thread" and .path[0].kind == "thread"
      and (.path[0].name | test("^thread [0-9]+ \".*\" \\[blocked")) and .path[0].site.function == "worker_main"] == [true]' leaky.json
expect "thread-local root named by its variable" \
    '[.heap.sites[] | select(.bytes == 77) | .path[0] | .kind == "tls" and .name == "scratch"] == [true]' leaky.json
expect "the leaked thread retains its frame's block and its thread-local" \
    '.threads.list[0].retained_bytes == 1077' leaky.json

"$leakcheck" run --strict --output leaky.txt -- ./dispatch || true
if grep -q 'global `registry` (dispatch.c:' leaky.txt &&
    grep -q -- '-> 72-byte block allocated in main (dispatch.c:' leaky.txt &&
    grep -q 'stack of frame worker_main (dispatch.c:' leaky.txt; then
    pass "text report shows the paths"
else
    fail "text report paths"
    cat leaky.txt
fi

if [ -s leaky.dot ] && grep -q 'digraph leakcheck' leaky.dot && grep -q '"global:registry' leaky.dot; then
    pass "--dot writes the retention graph"
else
    fail "--dot output"
    cat leaky.dot || true
fi
if command -v dot >/dev/null; then
    if dot -Tsvg leaky.dot -o leaky.svg 2>dot.err && [ -s leaky.svg ]; then
        pass "Graphviz reads the graph"
    else
        fail "Graphviz rejects the graph: $(cat dot.err)"
    fi
else
    echo "SKIP Graphviz not installed (scripts/install-deps.sh installs it)"
fi

# ---------------------------------------------------------------- the twin
status=0
"$leakcheck" run --strict --format json --output fixed.json --dot fixed.dot -- ./dispatch fixed || status=$?
[ "$status" = 0 ] && pass "fixed program exits 0" || fail "fixed exit $status, want 0"
expect "fixed program: no site, no path" '(.heap.sites | length) == 0 and .verdict == "clean"' fixed.json
if ! grep -q -- '->' fixed.dot; then pass "fixed program: empty retention graph"; else fail "fixed graph has edges"; fi

# ---------------------------------------------------------------- bad input
status=0
"$leakcheck" run --dot /nonexistent-dir/x.dot -- ./dispatch 2>err.txt || status=$?
if [ "$status" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -q "retention graph" err.txt; then
    pass "unwritable --dot path is a one-line error"
else
    fail "unwritable --dot: exit $status: $(cat err.txt)"
fi

[ "$failures" = 0 ] || {
    echo "cli_paths.sh: $failures failure(s)"
    exit 1
}
echo "cli_paths.sh: all passed"
