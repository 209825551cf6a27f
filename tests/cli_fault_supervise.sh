#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_fault_supervise.sh: `leakcheck fault-sweep` supervises every run as
# `leakcheck run` does, each behaviour with a twin of the opposite verdict:
#
#   - --timeout: a run that hangs on its error path is killed at the
#     deadline and reported as hung with every thread's stack, the sweep
#     goes on, and the status is 1; the twin that does not hang is clean;
#   - the verdict is the exit check's: a program that exits 23 when an
#     allocation fails and frees everything leaks nothing; its twin that
#     forgets a block leaks at that failure point;
#   - --format json: the outcome of every failure point, with the leak
#     report of the one that leaked (cli_schema.sh validates the document);
#   - a statically linked program is refused with one line and status 70;
#     the same program linked dynamically is swept;
#   - a progress line on stderr when it is a terminal, none otherwise;
#   - --timeout is validated as `leakcheck run`'s.
#
# usage: bash tests/cli_fault_supervise.sh [path/to/leakcheck]   (default build/leakcheck)
set -euo pipefail

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "cli_fault_supervise.sh: $leakcheck is not an executable (build it first)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_fault_supervise.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

failures=0
pass() { echo "ok   $*"; }
fail() {
    echo "FAIL $*"
    failures=$((failures + 1))
}
show() { sed 's/^/    /' "$1"; }

# load() makes two allocations. HANG=1 waits forever when the second one
# fails; EXIT23=1 makes main exit 23 when load fails; LEAK=1 forgets the
# first block when the second allocation fails.
cat >load.c <<'C'
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) static int load(void) {
    char *a = malloc(16);
    if (!a) return -1;
    char *b = malloc(32);
    if (!b) {
        if (!LEAK) free(a);
        if (HANG)
            for (;;)
                pause();
        return -1;
    }
    free(a);
    free(b);
    return 0;
}
int main(void) {
    if (load() != 0) return EXIT23 ? 23 : 1;
    return 0;
}
C
build() { cc -g -O0 -fno-omit-frame-pointer -DHANG="$2" -DEXIT23="$3" -DLEAK="$4" -o "$1" load.c; }
build hangs 1 0 0
build fixed 0 0 0
build exits23 0 1 0
build exits23-leaky 0 1 1

sweep() {
    status=0
    "$leakcheck" fault-sweep --scope load "$@" >out 2>err || status=$?
}

# ------------------------------------------------------------ --timeout

sweep --timeout 1 -- ./hangs
if [ "$status" = 1 ] && grep -q '^allocation 2 failing: hung, killed after 1 s' out &&
    grep -A2 '^allocation 2 failing' out | grep -q 'load (load.c:6)' &&
    grep -A1 'every thread at the deadline' out | grep -q '\[pause\]' &&
    grep -q '^ *load (load.c:1[01])' out &&
    grep -q '^leakcheck fault-sweep: 3 runs, 0 failure points leaked, 0 crashed, 1 hung$' out; then
    pass "a run that hangs on its error path is reported hung with its threads, and the sweep goes on"
else
    fail "hanging program (exit $status):"
    show out
    show err
fi

sweep --timeout 1 -- ./fixed
if [ "$status" = 0 ] && grep -q '^leakcheck fault-sweep: 3 runs, 0 failure points leaked, 0 crashed, 0 hung$' out; then
    pass "its twin that does not hang sweeps clean under the same --timeout"
else
    fail "fixed program with --timeout (exit $status):"
    show out
    show err
fi

# ------------------------------------------------------------ the verdict is the check's

sweep -- ./exits23
if [ "$status" = 0 ] && ! grep -q 'failing: leaked' out &&
    grep -q '^leakcheck fault-sweep: 3 runs, 0 failure points leaked, 0 crashed$' out; then
    pass "a program that exits 23 on an allocation failure and frees everything leaks nothing"
else
    fail "program exiting 23 without a leak (exit $status):"
    show out
    show err
fi

sweep -- ./exits23-leaky
if [ "$status" = 1 ] && grep -q '^allocation 2 failing: leaked' out &&
    ! grep -q '^allocation [13] failing' out && grep -q 'LEAK: 0 threads and 1 object (16 B)' out; then
    pass "its twin that forgets a block leaks at allocation 2 only"
else
    fail "program exiting 23 with a leak (exit $status):"
    show out
    show err
fi

# ------------------------------------------------------------ --format json

outcomes() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "leakcheck/1" and d["kind"] == "fault-sweep", d
print(d["verdict"], " ".join("%d:%s" % (p["allocation"], p["outcome"]) for p in d["points"]))
for p in d["points"]:
    if p["outcome"] == "leak":
        print("leak", p["report"]["verdict"], p["report"]["heap"]["leaked_objects"],
              p["report"]["heap"]["leaked_bytes"], p["exit_status"],
              p["failed_allocation"][0]["function"], p["failed_allocation"][0]["line"])' "$1"
}
sweep --format json -- ./exits23-leaky
got=$(outcomes out 2>&1 || true)
if [ "$status" = 1 ] && [ "$got" = "$(printf 'fail 1:clean 2:leak 3:clean\nleak leak 1 16 23 load 6')" ]; then
    pass "JSON: every failure point's outcome, and the leak report and stack of the one that leaked"
else
    fail "JSON of the leaky program (exit $status): $got"
    show err
fi

sweep --format json -- ./exits23
got=$(outcomes out 2>&1 || true)
if [ "$status" = 0 ] && [ "$got" = "clean 1:clean 2:clean 3:clean" ]; then
    pass "JSON: its fixed twin has every failure point clean"
else
    fail "JSON of the fixed program (exit $status): $got"
    show err
fi

sweep --timeout 1 --format json -- ./hangs
got=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = [p for p in d["points"] if p["outcome"] == "hung"]
print(d["hung"], d["timeout_seconds"], [q["allocation"] for q in p], "pause" in p[0]["thread_dump"])' out 2>&1 || true)
if [ "$status" = 1 ] && [ "$got" = "1 1 [2] True" ]; then
    pass "JSON: the hung failure point with its thread dump"
else
    fail "JSON of the hanging program (exit $status): $got"
    show err
fi

# ------------------------------------------------------------ a program the library cannot reach

if cc -static -g -O0 -DHANG=0 -DEXIT23=0 -DLEAK=1 -o static load.c 2>/dev/null; then
    sweep -- ./static
    if [ "$status" = 70 ] && [ ! -s out ] && [ "$(grep -c '' err)" = 1 ] &&
        grep -q "cannot check './static': the library was not loaded into it" err; then
        pass "a statically linked program is refused with one line and status 70"
    else
        fail "static program (exit $status):"
        show out
        show err
    fi
else
    fail "cc -static cannot link here (libc6-dev's libc.a): the refusal is untested"
fi
build dynamic 0 0 1
sweep -- ./dynamic
if [ "$status" = 1 ] && grep -q '^allocation 2 failing: leaked' out; then
    pass "the same program linked dynamically is swept (and leaks at allocation 2)"
else
    fail "dynamic twin (exit $status):"
    show out
    show err
fi

# ------------------------------------------------------------ progress

sweep -- ./fixed
if [ "$status" = 0 ] && [ ! -s err ]; then
    pass "no progress line when stderr is not a terminal"
else
    fail "stderr not a terminal (exit $status):"
    show err
fi
if command -v script >/dev/null; then
    # script(1) gives the sweep a terminal; its stdout and stderr both land
    # in the typescript.
    script -qec "$leakcheck fault-sweep --scope load -- ./fixed" /dev/null >tty.out 2>&1 || true
    if grep -qF $'\r\e[Kfault-sweep: run 3 (allocation 3 fails)...' tty.out &&
        grep -q 'fault-sweep: run 1 (allocation 1 fails)' tty.out &&
        grep -q '3 runs, 0 failure points leaked' tty.out; then
        pass "on a terminal, a progress line per run, rewritten in place"
    else
        fail "progress on a terminal:"
        od -c tty.out | head -20 | sed 's/^/    /'
    fi
else
    fail "script(1) (util-linux) is missing: the progress line is untested"
fi

# ------------------------------------------------------------ a signal to the sweep

# Without --timeout the hanging run waits; SIGTERM to the sweep reaches the
# run's process group, stops the sweep, and is its status (128+15).
"$leakcheck" fault-sweep --scope load -- ./hangs >out 2>err &
sweeper=$!
# Run 2 has started once the sweep's child has exec'd with allocation 2.
for _ in $(seq 100); do
    child=$(pgrep -P "$sweeper" || true)
    [ -n "$child" ] && tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null |
        grep -qx LEAKCHECK_FAIL_ALLOC=2 && break
    sleep 0.1
done
kill -TERM "$sweeper"
status=0
wait "$sweeper" || status=$?
if [ "$status" = 143 ] && grep -q '^allocation 2 failing: not checked: stopped by signal 15' out &&
    grep -q 'stopped by signal 15' err && ! pgrep -f "^./hangs$" >/dev/null; then
    pass "SIGTERM to the sweep ends the run's processes and the sweep with status 143"
else
    fail "SIGTERM to the sweep (exit $status):"
    show out
    show err
fi

# ------------------------------------------------------------ --timeout validation

for bad in inf nan 0 -1 1e11 1s ''; do
    sweep --timeout "$bad" -- ./fixed
    if [ "$status" = 2 ] && [ "$(grep -c '' err)" = 1 ] &&
        grep -q "is not a finite number of seconds between 0 and" err; then
        :
    else
        fail "--timeout '$bad' (exit $status): $(cat err)"
    fi
done
pass "--timeout inf, nan, 0, -1, 1e11, 1s and '' are one-line usage errors (status 2)"

[ "$failures" -eq 0 ]
