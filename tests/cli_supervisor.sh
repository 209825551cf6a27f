#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_supervisor.sh: `leakcheck run` owns the report, the deadline, the
# signals and the exit status; the program keeps its own behaviour.
#
# Every case runs tests/fixtures/supervised.c in one of its behaviours, each
# a way a program used to lose its report, change under the checker or
# escape it, with a twin of the opposite verdict where the verdict is what
# is tested.
#
# usage: bash tests/cli_supervisor.sh [path/to/leakcheck]   (default build/leakcheck)
set -uo pipefail
cd "$(dirname "$0")/.."

leakcheck=${1:-build/leakcheck}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
  echo "cli_supervisor.sh: $leakcheck is not an executable (build it first)" >&2
  exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_supervisor.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cc -g -O0 -fno-omit-frame-pointer -o "$tmp/prog" tests/fixtures/supervised.c || exit 1
prog=$tmp/prog

failures=0
pass() { echo "ok   $*"; }
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
show() { sed 's/^/    /' "$1" | head -30; }

# lc OUT ARGS...: leakcheck run ARGS with stdout+stderr into OUT; sets status.
lc() {
  local out=$1
  shift
  status=0
  LEAKCHECK_SETTLE=0.2 timeout -k 5 60 "$leakcheck" run "$@" >"$out" 2>&1 || status=$?
}

# 1. A program that closes stderr at exit still gets its report, on the
#    supervisor's stderr, and the leak's status.
lc "$tmp/close.out" -- "$prog" close-stderr-at-exit
if [ $status -eq 23 ] && grep -q '77 B in 1 object' "$tmp/close.out"; then
  pass "a program that closes stderr at exit still gets its report"
else
  fail "close-stderr-at-exit (status $status, want 23 and a report):"
  show "$tmp/close.out"
fi
lc "$tmp/close-clean.out" -- "$prog" close-stderr-at-exit clean
[ $status -eq 0 ] && grep -q 'within budget' "$tmp/close-clean.out" &&
  pass "its clean twin passes with a report" ||
  fail "close-stderr-at-exit clean (status $status)"

# 2. The report never lands in the program's data file on fd 2.
lc "$tmp/reuse.out" -- "$prog" reuse-fd2 leaky "$tmp/data.txt"
if [ $status -eq 23 ] && [ "$(cat "$tmp/data.txt")" = data ] && grep -q '77 B' "$tmp/reuse.out"; then
  pass "a data file opened on descriptor 2 holds only the program's data"
else
  fail "reuse-fd2 (status $status; data file: $(head -c 200 "$tmp/data.txt")):"
  show "$tmp/reuse.out"
fi

# 3. A relative --output is the caller's, whatever directory the program
#    moves to; an environment the program clears does not lose it.
for what in chdir clearenv; do
  (cd "$tmp" && lc "$tmp/$what.out" --output "rel-$what.txt" -- "$prog" "$what"
    echo $status >"$tmp/$what.status")
  if [ "$(cat "$tmp/$what.status")" -eq 23 ] && grep -q '77 B' "$tmp/rel-$what.txt" 2>/dev/null; then
    pass "--output by a relative path survives the program's $what"
  else
    fail "$what: status $(cat "$tmp/$what.status"), report file: $(ls "$tmp")"
  fi
done

# 4. A program killed by a signal: the report file is replaced whole by a
#    report that says it was not checked, and the status is 128+9.
echo "an earlier report" >"$tmp/killed.txt"
lc "$tmp/killed.out" --output "$tmp/killed.txt" -- "$prog" killed
if [ $status -eq 137 ] && grep -q 'not checked' "$tmp/killed.txt" && ! grep -q 'earlier' "$tmp/killed.txt"; then
  pass "a killed program: 128+9, and a whole report that says it was not checked"
else
  fail "killed (status $status):"
  show "$tmp/killed.txt"
fi

# 5. A report that cannot be written is an error of its own (74), never a
#    silent loss.
lc "$tmp/full.out" --output /dev/full -- "$prog" plain clean
if [ $status -eq 74 ] && grep -q "cannot write the report to '/dev/full'" "$tmp/full.out"; then
  pass "--output /dev/full: status 74 with the reason"
else
  fail "/dev/full (status $status):"
  show "$tmp/full.out"
fi

# 6. The program's own failure keeps its status; so do its children.
lc "$tmp/exit5.out" -- "$prog" exit5
[ $status -eq 5 ] && grep -q '77 B' "$tmp/exit5.out" &&
  pass "a failing program keeps its status, and its leak is still reported" ||
  { fail "exit5 (status $status, want 5)"; show "$tmp/exit5.out"; }
lc "$tmp/child.out" -- "$prog" child-status clean
if [ $status -eq 0 ] && grep -q 'child exited 0' "$tmp/child.out" &&
  grep -q '== process [0-9]*: ' "$tmp/child.out"; then
  pass "a leaking child exits with its own status; text sections name each pid"
else
  fail "child-status (status $status):"
  show "$tmp/child.out"
fi

# 7. Several processes give one JSON document with a processes array.
lc "$tmp/child-json.out" --format json --output "$tmp/child.json" -- "$prog" child-status
n=$(jq -e '.processes | length' "$tmp/child.json" 2>/dev/null || echo invalid)
if [ $status -eq 23 ] && [ "$n" = 2 ] && [ "$(jq -r .verdict "$tmp/child.json")" = leak ]; then
  pass "two processes: one JSON document, two reports"
else
  fail "child-status json (status $status, processes: $n)"
  show "$tmp/child.json"
fi

# 8. A process that ends with _exit (as a shell does) is checked there, and
#    its report says so; where the check cannot run safely (a vfork child,
#    a signal handler that may have interrupted malloc) the process is
#    reported as not checked, with the reason.
lc "$tmp/uexit.out" -- "$prog" underscore-exit
if [ $status -eq 23 ] && grep -q '77 B in 1 object' "$tmp/uexit.out" &&
  grep -q 'ended with _exit(0): checked there' "$tmp/uexit.out"; then
  pass "_exit: checked there, its leak found (23)"
else
  fail "underscore-exit (status $status, want 23):"
  show "$tmp/uexit.out"
fi
lc "$tmp/uexit-clean.out" -- "$prog" underscore-exit clean
[ $status -eq 0 ] && grep -q 'within budget' "$tmp/uexit-clean.out" &&
  pass "its clean twin passes (0)" || { fail "underscore-exit clean (status $status)"; show "$tmp/uexit-clean.out"; }
lc "$tmp/uexit-sig.out" -- "$prog" underscore-exit-in-handler clean
if [ $status -eq 70 ] && grep -q 'not checked: ended with _exit(0) before its exit check, maybe in a signal handler' "$tmp/uexit-sig.out"; then
  pass "_exit in a signal handler: not checked, status 70, never a hang"
else
  fail "underscore-exit-in-handler (status $status, want 70):"
  show "$tmp/uexit-sig.out"
fi
lc "$tmp/uexit-blocked.out" -- "$prog" underscore-exit-all-blocked
if [ $status -eq 23 ] && grep -q 'ended with _exit(0): checked there' "$tmp/uexit-blocked.out"; then
  pass "_exit with every signal blocked but none handled by the program: checked (23)"
else
  fail "underscore-exit-all-blocked (status $status, want 23):"
  show "$tmp/uexit-blocked.out"
fi
for variant in leaky clean; do
  lc "$tmp/vfork-$variant.out" -- "$prog" vfork-exit $variant
  want=0; [ $variant = leaky ] && want=23
  if [ $status -eq $want ] && grep -q 'vfork child exited 3' "$tmp/vfork-$variant.out" &&
    grep -q 'not checked: ended with _exit(3) before its exit check, in a child made by vfork' "$tmp/vfork-$variant.out"; then
    pass "a vfork child's _exit is not checked in its parent's memory; the $variant parent: $want"
  else
    fail "vfork-exit $variant (status $status, want $want):"
    show "$tmp/vfork-$variant.out"
  fi
done

# 8b. The run directory goes where the system keeps runtime files in memory
#     (XDG_RUNTIME_DIR, then /dev/shm): creating a file per process there costs
#     a fraction of what it costs on a disk. An unusable XDG_RUNTIME_DIR is
#     passed over, and the run still checks.
mkdir -p "$tmp/xdg"
XDG_RUNTIME_DIR=$tmp/xdg lc "$tmp/xdg.out" -- "$prog" print-run-dir
if [ $status -eq 23 ] && grep -q "^run dir $tmp/xdg/leakcheck-run\." "$tmp/xdg.out" &&
  grep -q '77 B' "$tmp/xdg.out" && [ -z "$(ls -A "$tmp/xdg")" ]; then
  pass "the run directory is made in XDG_RUNTIME_DIR, and removed"
else
  fail "run directory in XDG_RUNTIME_DIR (status $status; left: $(ls -A "$tmp/xdg")):"
  show "$tmp/xdg.out"
fi
XDG_RUNTIME_DIR=$tmp/no-such-dir lc "$tmp/xdg-bad.out" -- "$prog" print-run-dir clean
if [ $status -eq 0 ] && grep -q '^run dir /' "$tmp/xdg-bad.out" &&
  ! grep -q no-such-dir "$tmp/xdg-bad.out"; then
  pass "an unusable XDG_RUNTIME_DIR is passed over; the clean run passes"
else
  fail "unusable XDG_RUNTIME_DIR (status $status):"
  show "$tmp/xdg-bad.out"
fi

# 8c. A daemon the program leaves running (it left the process group) is not
#     waited for: the run ends with the program and lists it as still
#     running. A background job still in the group is waited for and checked.
start=$(date +%s%N)
lc "$tmp/daemon.out" -- "$prog" daemon
ms=$((($(date +%s%N) - start) / 1000000))
daemon=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$tmp/daemon.out")
if [ $status -eq 23 ] && [ $ms -lt 30000 ] && grep -q '77 B' "$tmp/daemon.out" &&
  grep -q "== process $daemon: .*" "$tmp/daemon.out" &&
  grep -q 'not checked: still running when the program ended' "$tmp/daemon.out"; then
  pass "a daemon left running: not waited for (${ms} ms), listed as still running"
else
  fail "daemon (status $status after ${ms} ms, want 23 at once):"
  show "$tmp/daemon.out"
fi
[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
start=$(date +%s%N)
lc "$tmp/background.out" -- "$prog" background clean
ms=$((($(date +%s%N) - start) / 1000000))
child=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$tmp/background.out")
if [ $status -eq 0 ] && [ $ms -ge 900 ] && [ -n "$child" ] &&
  grep -A1 "== process $child: " "$tmp/background.out" | grep -q 'within budget'; then
  pass "its twin, a background job in the group: waited for (${ms} ms) and checked"
else
  fail "background (status $status after ${ms} ms):"
  show "$tmp/background.out"
fi

# 9. The deadline: a JSON report with every thread, status 124; not
#    restarted by exec; a hanging orphan is killed too.
lc "$tmp/hang.out" --timeout 1 --format json --output "$tmp/hang.json" -- "$prog" hang
if [ $status -eq 124 ] && [ "$(jq -r .timed_out "$tmp/hang.json" 2>/dev/null)" = true ] &&
  jq -e '.thread_dumps[0].dump | test("main")' "$tmp/hang.json" >/dev/null 2>&1; then
  pass "--timeout with --format json: one JSON document with the thread dump"
else
  fail "hang (status $status):"
  show "$tmp/hang.json"
fi
start=$(date +%s%N)
lc "$tmp/exec.out" --timeout 1 -- "$prog" exec-chain clean 3
ms=$((($(date +%s%N) - start) / 1000000))
if [ $status -eq 124 ]; then
  pass "an exec does not restart the deadline (${ms} ms)"
else
  fail "exec-chain (status $status after ${ms} ms, want 124)"
  show "$tmp/exec.out"
fi
lc "$tmp/exec-ok.out" --timeout 10 -- "$prog" exec-chain clean 3
[ $status -eq 0 ] && pass "its twin, within the deadline, passes" || fail "exec-chain within deadline (status $status)"
lc "$tmp/orphan.out" --timeout 1 -- "$prog" orphan-hangs clean
if [ $status -eq 124 ] && ! pgrep -f "$prog orphan-hangs" >/dev/null; then
  pass "a hanging orphan is waited for and killed at the deadline"
else
  fail "orphan-hangs (status $status; left: $(pgrep -f "$prog orphan-hangs"))"
  pkill -9 -f "$prog orphan-hangs"
fi

lc "$tmp/child-hangs.out" --timeout 1 -- "$prog" child-hangs
child=$(grep -o '== process [0-9]*' "$tmp/child-hangs.out" | sed -n 2p | grep -o '[0-9]*$')
if [ $status -eq 124 ] && [ -n "$child" ] &&
  awk -v c="== process $child:" 'index($0, c) == 1 { p = 1 } p' "$tmp/child-hangs.out" |
  grep -q 'child_waits_forever'; then
  pass "a forked child (no exec) leaves its own thread dump at the deadline"
else
  fail "child-hangs (status $status, want 124 and the child's dump):"
  show "$tmp/child-hangs.out"
fi

# 10. SIGTERM to leakcheck reaches the program; the status says so.
LEAKCHECK_SETTLE=0.2 "$leakcheck" run -- "$prog" wait-for-term clean >"$tmp/term.out" 2>&1 &
sup=$!
for _ in $(seq 100); do grep -q waiting "$tmp/term.out" && break; sleep 0.05; done
kill -TERM $sup
status=0
wait $sup || status=$?
if [ $status -eq 143 ] && ! pgrep -f "$prog wait-for-term" >/dev/null; then
  pass "SIGTERM to leakcheck is forwarded: the program ends, status 143"
else
  fail "SIGTERM (status $status)"
  pkill -9 -f "$prog wait-for-term"
  show "$tmp/term.out"
fi

# 11. A static program cannot be checked: said so, status 70, never a pass.
if cc -static -O0 -o "$tmp/static" tests/fixtures/supervised.c 2>/dev/null; then
  lc "$tmp/static.out" -- "$tmp/static" plain clean
  if [ $status -eq 70 ] && grep -q 'library was not loaded' "$tmp/static.out"; then
    pass "a static program: not checked, status 70"
  else
    fail "static (status $status, want 70):"
    show "$tmp/static.out"
  fi
else
  fail "cannot build a static program (libc6-dev's libc.a)"
fi

# 12. Symbolizing a frame of a library without debug information loads
#     nothing into the program (no libdebuginfod, no libcurl) at exit.
cat >"$tmp/zl.c" <<'C'
#include <stdlib.h>
#include <zlib.h>
int main(void) {
    z_stream *z = calloc(1, sizeof *z);
    deflateInit(z, 6);
    z = NULL;
    return 0;
}
C
if cc -g -o "$tmp/zl" "$tmp/zl.c" -lz; then
  status=0
  LD_DEBUG=files LEAKCHECK_SETTLE=0.2 "$leakcheck" run -- "$tmp/zl" >"$tmp/zl.out" 2>&1 || status=$?
  if [ $status -eq 23 ] && grep -q deflateInit "$tmp/zl.out" &&
    ! grep -q 'debuginfod\|libcurl' "$tmp/zl.out"; then
    pass "symbolizing at exit loads no library into the program"
  else
    fail "zlib leak (status $status; loaded: $(grep -o 'file=[^ ]*debuginfod[^ ]*\|file=[^ ]*libcurl[^ ]*' "$tmp/zl.out" | sort -u | tr '\n' ' '))"
  fi
else
  fail "cannot build the zlib program"
fi

# 13. The check runs after every shared library's destructor: memory a
#     library frees there is not a leak, output it writes there is kept.
cat >"$tmp/plugmain.c" <<'C'
#include <stdio.h>
extern char *plugin_buffer;
int main(void) {
    printf("main %d\n", plugin_buffer != NULL);
    return 0;
}
C
for variant in free keep; do
  flag=; [ $variant = keep ] && flag=-DKEEP
  mkdir -p "$tmp/$variant"
  cc -g -fPIC -shared $flag -o "$tmp/$variant/libplugin.so" tests/fixtures/plugin.c &&
    cc -g -o "$tmp/$variant/prog" "$tmp/plugmain.c" -L"$tmp/$variant" -lplugin -Wl,-rpath,"$tmp/$variant" ||
    fail "cannot build the plugin program"
  lc "$tmp/$variant.out" --strict -- "$tmp/$variant/prog"
  want=0; [ $variant = keep ] && want=23
  if [ $status -eq $want ] && grep -q 'plugin fini' "$tmp/$variant.out"; then
    pass "library destructor that ${variant}s its block: status $want, its output kept"
  else
    fail "plugin $variant (status $status, want $want):"
    show "$tmp/$variant.out"
  fi
done

# 14. Allocation-failure injection is for the program, never for the tool:
#     the program's first allocation fails, where an injection the tool took
#     itself left the program running untouched.
status=0
LEAKCHECK_FAIL_ALLOC=1 LEAKCHECK_SETTLE=0.2 "$leakcheck" run -- "$prog" first-allocation >"$tmp/fa.out" 2>&1 || status=$?
if grep -q 'first allocation failed' "$tmp/fa.out"; then
  pass "LEAKCHECK_FAIL_ALLOC reaches the program, not the tool"
else
  fail "LEAKCHECK_FAIL_ALLOC=1 (status $status): the program's first allocation did not fail"
  show "$tmp/fa.out"
fi
LEAKCHECK_SETTLE=0.2 "$leakcheck" run -- "$prog" first-allocation >"$tmp/fa0.out" 2>&1
grep -q 'first allocation succeeded' "$tmp/fa0.out" && pass "its twin without injection allocates" ||
  fail "first-allocation without injection: $(cat "$tmp/fa0.out")"

# 15. A program whose malloc is its own (an allocator linked in) is not
#     checked: said so, status 70, never a pass; the program keeps its output.
if cc -g -O0 -o "$tmp/own" tests/fixtures/own_malloc.c; then
  lc "$tmp/own.out" -- "$tmp/own"
  if [ $status -eq 70 ] && grep -q "malloc is its own" "$tmp/own.out" &&
    grep -q '^own allocator$' "$tmp/own.out"; then
    pass "a program with its own malloc: not checked, status 70"
  else
    fail "own malloc (status $status, want 70):"
    show "$tmp/own.out"
  fi
else
  fail "cannot build tests/fixtures/own_malloc.c"
fi

# 15b. Its twin: a program whose executable only takes malloc's address
#      (its symbol table then lists "malloc" with the address of its PLT
#      entry, as pigz and python3) calls leakcheck's malloc: checked, and
#      its leak found.
if cc -g -O0 -fno-pie -no-pie -o "$tmp/addr" tests/fixtures/malloc_address.c; then
  lc "$tmp/addr.out" -- "$tmp/addr"
  if [ $status -eq 23 ] && ! grep -q "malloc is its own" "$tmp/addr.out" &&
    grep -q '^1 leaked object (32 B)' "$tmp/addr.out" &&
    grep -q '^malloc through its address$' "$tmp/addr.out"; then
    pass "a program that takes malloc's address: checked, its leak found (status 23)"
  else
    fail "malloc's address taken (status $status, want 23):"
    show "$tmp/addr.out"
  fi
else
  fail "cannot build tests/fixtures/malloc_address.c"
fi

# 16. A scan that runs out of memory (the address space full at exit) has
#     no verdict: said so, status 70, never "within budget".
lc "$tmp/oom.out" -- "$prog" address-space-full
if [ $status -eq 70 ] && grep -q 'NOT CHECKED: out of memory while scanning' "$tmp/oom.out" &&
  ! grep -q 'within budget' "$tmp/oom.out"; then
  pass "a scan out of memory: not checked, status 70"
else
  fail "address-space-full (status $status, want 70):"
  show "$tmp/oom.out"
fi

# 17. --check-on-failure=skip: a process that fails on its own is not
#     checked (said so, with its status), and its status stands; the same
#     program succeeding is checked, and its leak fails it (the twin).
lc "$tmp/skip.out" --check-on-failure=skip -- "$prog" exit5
if [ $status -eq 5 ] && grep -q 'not checked: it failed on its own (exit status 5)' "$tmp/skip.out" &&
  ! grep -q '77 B' "$tmp/skip.out"; then
  pass "--check-on-failure=skip: a failing process is not checked, status 5"
else
  fail "skip exit5 (status $status, want 5):"
  show "$tmp/skip.out"
fi
lc "$tmp/skip0.out" --check-on-failure=skip -- "$prog" leak
if [ $status -eq 23 ] && ! grep -q 'not checked' "$tmp/skip0.out"; then
  pass "--check-on-failure=skip: a succeeding process is checked, its leak fails it"
else
  fail "skip leak (status $status, want 23):"
  show "$tmp/skip0.out"
fi
lc "$tmp/skipbad.out" --check-on-failure=never -- "$prog" leak
[ $status -eq 2 ] && grep -q "'never' is not report or skip" "$tmp/skipbad.out" &&
  pass "--check-on-failure=never: a usage error" ||
  { fail "check-on-failure=never (status $status, want 2)"; show "$tmp/skipbad.out"; }

if [ $failures -ne 0 ]; then
  echo "cli_supervisor.sh: $failures failed"
  exit 1
fi
echo "cli_supervisor.sh: all passed"
