#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# peer-suites.sh: leakcheck and valgrind on valgrind's and LeakSanitizer's
# own leak tests, built as plain programs, against what each test expects.
#
#   bash scripts/peer-suites.sh VG_TESTS LSAN_TESTS [LEAKCHECK]
#
#   VG_TESTS    valgrind's memcheck/tests directory (leak-*.c, leak.h,
#               leakotron.c, leak_cpp_interior.cpp), e.g. from
#               `apt-get source valgrind` (with a deb-src line) or a clone of
#               https://sourceware.org/git/valgrind.git
#   LSAN_TESTS  compiler-rt/test/lsan/TestCases of a checkout of
#               https://github.com/llvm/llvm-project
#   LEAKCHECK   the tool (default build/leakcheck)
#
# This script neither downloads nor contains those tests: it reads them
# from where the user put them, builds each in a temporary directory with
# plain gcc/g++ (no -fsanitize, no valgrind), and runs each binary twice:
# `leakcheck run --format json` and `valgrind --leak-check=full`. It is not
# part of make check, since it needs the upstream sources.
#
# The expectation of each case is the one its suite states for a check at
# exit: valgrind's .stderr.exp and the blocks the program frees or drops
# (the client requests VALGRIND_DO_LEAK_CHECK and the like do nothing
# outside valgrind, so only the check at exit counts); LeakSanitizer's
# `%run` / `not %run` lines under its default options (runs with options
# such as use_stacks=0 have no leakcheck meaning and are left out; the
# LeakSanitizer interface a test calls mid-run finds nothing). A case
# expects "clean" (no block lost) or "leak N" (N bytes lost, directly and
# indirectly; "leak" alone when the test does not fix the figure).
#
# The heap verdict is compared: a thread still running at exit is a thread
# leak for leakcheck on purpose (the "threads" column), and reachable
# blocks count only with --strict. A "crash" is a checked program killed by
# a signal or a run leakcheck could not check (status 70); there must be
# none. Prints the table and the totals; exits 1 when leakcheck matches
# fewer expectations than valgrind or crashes a program.
set -uo pipefail

vg_dir=${1:-}
lsan_dir=${2:-}
leakcheck=${3:-build/leakcheck}
usage="usage: peer-suites.sh VG_TESTS LSAN_TESTS [LEAKCHECK]"
[ -f "$vg_dir/leak-cycle.c" ] || {
    echo "peer-suites.sh: '$vg_dir' holds no leak-cycle.c (valgrind's memcheck/tests)" >&2
    echo "$usage" >&2
    exit 2
}
[ -f "$lsan_dir/use_stacks.cpp" ] || {
    echo "peer-suites.sh: '$lsan_dir' holds no use_stacks.cpp (compiler-rt/test/lsan/TestCases)" >&2
    echo "$usage" >&2
    exit 2
}
case $leakcheck in /*) ;; *) leakcheck=$(pwd)/$leakcheck ;; esac
[ -x "$leakcheck" ] || {
    echo "peer-suites.sh: $leakcheck is not an executable (build it first)" >&2
    exit 2
}
command -v valgrind >/dev/null || {
    echo "peer-suites.sh: valgrind not found" >&2
    exit 2
}
[ -f /usr/include/valgrind/memcheck.h ] || {
    echo "peer-suites.sh: /usr/include/valgrind/memcheck.h not found (Debian package valgrind)" >&2
    exit 2
}
command -v python3 >/dev/null || {
    echo "peer-suites.sh: python3 not found (reads the JSON report)" >&2
    exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Stand-ins for the suites' own test headers, written here from what the
# tests call. "../memcheck.h" resolves against inc/x when the tree has no
# memcheck/memcheck.h next to the tests.
mkdir -p "$work/inc/x" "$work/inc/sanitizer_common"
ln -s /usr/include/valgrind/memcheck.h "$work/inc/memcheck.h"
cat >"$work/inc/sanitizer_common/print_address.h" <<'EOF'
#include <stdarg.h>
#include <stdio.h>
static inline void print_address(const char *what, int n, ...) {
  va_list ap;
  va_start(ap, n);
  fputs(what, stderr);
  while (n-- > 0)
    fprintf(stderr, "%p%s", va_arg(ap, void *), n ? " " : "\n");
  va_end(ap);
}
EOF
echo '#include <ucontext.h>' >"$work/inc/sanitizer_common/sanitizer_ucontext.h"
mkdir -p "$work/inc/sanitizer"
cat >"$work/inc/sanitizer/lsan_interface.h" <<'EOF'
/* A plain build has no LeakSanitizer to ask: no leak found mid-run. */
static inline int __lsan_do_recoverable_leak_check(void) { return 0; }
EOF
cflags=(-g -w -pthread -I"$work/inc/x" -I"$work/inc" -I/usr/include/valgrind)

# suite|name|source (under the suite's directory)|args|expectation|build flags
cases=(
    "vg|leak-0|leak-0.c||clean|"
    "vg|leak-cycle|leak-cycle.c||leak 288|"
    "vg|leak-tree|leak-tree.c||leak 64|"
    "vg|leak-cases|leak-cases.c||leak 80|"
    "vg|leak-regroot|leak-regroot.c||clean|"
    "vg|leakotron|leakotron.c||leak|"
    "vg|leak_cpp_interior|leak_cpp_interior.cpp||clean|"
    "lsan|use_globals_initialized|use_globals_initialized.cpp||clean|"
    "lsan|use_globals_uninitialized|use_globals_uninitialized.cpp||clean|"
    "lsan|use_stacks|use_stacks.cpp||clean|"
    "lsan|use_stacks_threaded|use_stacks_threaded.cpp||clean|"
    "lsan|use_registers|use_registers.cpp||clean|"
    "lsan|use_registers_extra|use_registers_extra.cpp||clean|"
    "lsan|use_tls_static|Linux/use_tls_static.cpp||clean|"
    "lsan|use_tls_dynamic|Linux/use_tls_dynamic.cpp||clean|dso"
    "lsan|use_tls_pthread_specific_static|Linux/use_tls_pthread_specific_static.cpp||clean|"
    "lsan|use_tls_pthread_specific_dynamic|Linux/use_tls_pthread_specific_dynamic.cpp||clean|"
    "lsan|stale_stack_leak|stale_stack_leak.cpp||leak 1337|-O1"
    "lsan|swapcontext (heap stack)|swapcontext.cpp||clean|"
    "lsan|swapcontext (stack stack)|swapcontext.cpp|foo|leak 2664|"
    "lsan|guard-page|Linux/guard-page.c||clean|"
    "lsan|many_tls_keys_pthread|many_tls_keys_pthread.cpp||clean|"
    "lsan|leak_check_before_thread_started|leak_check_before_thread_started.cpp||clean|"
    "lsan|realloc_zero|realloc_zero.c||clean|"
    "lsan|create_thread_leak (arg)|create_thread_leak.cpp|10 1 0 0|leak 12300|"
    "lsan|create_thread_leak (retval)|create_thread_leak.cpp|10 0 1 0|leak 23400|"
    "lsan|create_thread_leak (detach)|create_thread_leak.cpp|10 0 0 1|leak|"
    "lsan|create_thread_leak (none)|create_thread_leak.cpp|10 0 0 0|clean|"
    "lsan|fork_and_leak|Linux/fork_and_leak.cpp||leak 13370|"
    "lsan|exit_atexit_stale_stack (return)|Linux/exit_atexit_stale_stack.cpp||leak 100|-fno-omit-frame-pointer"
    "lsan|exit_atexit_stale_stack (exit)|Linux/exit_atexit_stale_stack.cpp||leak 100|-DEXPLICIT_EXIT -fno-omit-frame-pointer"
)

# verdict BYTES_LOST OBJECTS_LOST -> "clean" or "leak N"
verdict() { if [ "$1" -gt 0 ] || [ "$2" -gt 0 ]; then echo "leak $1"; else echo clean; fi; }

# match EXPECTED ANSWER: "leak" alone matches any leak.
match() {
    case $1 in
        leak) case $2 in leak*) return 0 ;; esac; return 1 ;;
        *) [ "$1" = "$2" ] ;;
    esac
}

printf '%-34s %-10s %-10s %-24s %-5s %-5s %s\n' test expected valgrind leakcheck vg lc notes
vg_ok=0 lc_ok=0 crashes=0 n=0
for c in "${cases[@]}"; do
    IFS='|' read -r suite name src args expect extra <<<"$c"
    dir=$vg_dir
    [ "$suite" = lsan ] && dir=$lsan_dir
    if [ ! -f "$dir/$src" ]; then
        printf '%-34s %s\n' "$name" "(not in $dir: skipped)"
        continue
    fi
    bin=$work/$(echo "$name" | tr -c 'A-Za-z0-9_\n-' _)
    cc=gcc
    case $src in *.cpp) cc=g++ ;; esac
    opt=(-O0)
    case $extra in -*) read -ra opt <<<"-O0 $extra" ;; esac
    if [ "$extra" = dso ]; then
        g++ "${cflags[@]}" -DBUILD_DSO -fPIC -shared -o "$bin-so.so" "$dir/$src" || continue
    fi
    if ! $cc "${cflags[@]}" "${opt[@]}" -o "$bin" "$dir/$src" -ldl 2>"$work/cc.err"; then
        printf '%-34s build failed: %s\n' "$name" "$(head -1 "$work/cc.err")"
        continue
    fi
    n=$((n + 1))
    read -ra argv <<<"$args"

    # valgrind: definitely + indirectly lost bytes of its last LEAK
    # SUMMARY (the one at exit), possibly lost noted apart.
    timeout 300 valgrind --leak-check=full "$bin" "${argv[@]}" >/dev/null 2>"$work/vg.err"
    vg_rc=$?
    # Keep the checks at exit, from HEAP SUMMARY to ERROR SUMMARY, one per
    # process (valgrind follows forks); the checks the program requests
    # print a LEAK SUMMARY of their own, outside those.
    awk '/HEAP SUMMARY:/ { on = 1 } on { print } /ERROR SUMMARY:/ { on = 0 }' \
        "$work/vg.err" >"$work/vg.exit"
    vg_b=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$work/vg.exit" | tr -d , | awk '{ t += $1 } END { print t + 0 }')
    vg_i=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$work/vg.exit" | tr -d , | awk '{ t += $1 } END { print t + 0 }')
    vg_p=$(sed -n 's/.*possibly lost: \([0-9,]*\) bytes.*/\1/p' "$work/vg.exit" | tr -d , | awk '{ t += $1 } END { print t + 0 }')
    vg=$(verdict $((${vg_b:-0} + ${vg_i:-0})) 0)
    notes=""
    [ "${vg_p:-0}" -gt 0 ] && notes="valgrind possibly lost ${vg_p} B;"
    [ $vg_rc -ge 128 ] && notes="$notes valgrind status $vg_rc;"

    # leakcheck: heap.unreachable_bytes (lost directly and indirectly);
    # what leaked threads hold and the threads themselves are noted apart.
    timeout 300 "$leakcheck" run --format json -o "$work/lc.json" -- "$bin" "${argv[@]}" \
        >/dev/null 2>"$work/lc.err"
    lc_rc=$?
    if [ $lc_rc -ge 128 ] || [ $lc_rc -eq 70 ] || [ ! -s "$work/lc.json" ]; then
        lc=crash
        crashes=$((crashes + 1))
        notes="$notes leakcheck status $lc_rc: $(head -1 "$work/lc.err");"
    else
        read -r lc_b lc_o lc_t lc_h < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
procs = d.get("processes", [d])
print(*(sum(k(r) for r in procs) for k in (
    lambda r: r["heap"]["unreachable_bytes"], lambda r: r["heap"]["unreachable_objects"],
    lambda r: r["threads"]["leaked"], lambda r: r["heap"]["thread_bytes"])))
' "$work/lc.json")
        lc=$(verdict "$lc_b" "$lc_o")
        [ "${lc_t:-0}" -gt 0 ] &&
            notes="$notes leakcheck: $lc_t thread(s) alive at exit holding $lc_h B;"
    fi

    vm=no lm=no
    match "$expect" "$vg" && { vm=yes; vg_ok=$((vg_ok + 1)); }
    match "$expect" "$lc" && { lm=yes; lc_ok=$((lc_ok + 1)); }
    printf '%-34s %-10s %-10s %-24s %-5s %-5s %s\n' "$name" "$expect" "$vg" "$lc" "$vm" "$lm" "$notes"
done
echo
echo "cases: $n; expectations met: valgrind $vg_ok, leakcheck $lc_ok; leakcheck crashes: $crashes"
[ "$crashes" -eq 0 ] && [ "$lc_ok" -ge "$vg_ok" ]
